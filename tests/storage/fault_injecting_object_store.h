// FaultInjectingObjectStore: an ObjectStore that forwards every call to another one, except the
// calls a test told it to fail (cf. RocksDB's FaultInjectionTestFS). For tests of failure paths.
// Borrows the wrapped store, which must outlive it and every reader/writer it hands out.
// Thread-safe.
#pragma once

#include <array>
#include <mutex>

#include "storage/object_store.h"

namespace edl::testing {

enum class StoreOperation { kPut, kWrite, kCommit, kGet, kRead, kHead, kList, kDelete, kSeal };
inline constexpr size_t kStoreOperationCount = static_cast<size_t>(StoreOperation::kSeal) + 1;

class FaultInjectingObjectStore final : public ObjectStore {
 public:
  explicit FaultInjectingObjectStore(ObjectStore& target) : target_(target) {}

  // The `n`th call (1-based, counted from now) to `operation` returns `status` instead of reaching
  // the wrapped store. A writer whose Write or Commit fails this way is aborted, as a real one
  // would be, and returns `status` from then on. Replaces an earlier rule for `operation`.
  void FailNth(StoreOperation operation, int n, Status status);
  // Calls to `operation` so far, failed ones included.
  int Calls(StoreOperation operation) const;

  Status CreateBucket(std::string_view bucket) override { return target_.CreateBucket(bucket); }
  Result<bool> BucketExists(std::string_view bucket) override { return target_.BucketExists(bucket); }
  Result<std::vector<std::string>> ListBuckets() override { return target_.ListBuckets(); }

  Result<std::unique_ptr<ObjectWriter>> Put(std::string_view bucket, std::string_view key) override;
  Result<std::unique_ptr<ObjectReader>> Get(std::string_view bucket, std::string_view key) override;
  Result<ObjectInfo> Head(std::string_view bucket, std::string_view key) override;
  Result<ListPage> List(std::string_view bucket, const ListOptions& options) override;
  Status Delete(std::string_view bucket, std::string_view key) override;

  Status Seal(std::string_view bucket, std::string_view prefix) override;
  Result<bool> IsSealed(std::string_view bucket, std::string_view key) override {
    return target_.IsSealed(bucket, key);
  }

  Result<int64_t> RemoveAbandonedUploads(std::chrono::system_clock::time_point older_than) override {
    return target_.RemoveAbandonedUploads(older_than);
  }

  std::optional<std::filesystem::path> LocalPath(std::string_view bucket, std::string_view key) const override {
    return target_.LocalPath(bucket, key);
  }

 private:
  class Writer;
  class Reader;

  // Counts a call to `operation`; returns the injected error if this call is to fail.
  Status Enter(StoreOperation operation);

  struct Rule {
    int remaining = 0;  // calls until the failing one; 0: no rule
    Status status;
  };

  ObjectStore& target_;
  mutable std::mutex mutex_;
  std::array<Rule, kStoreOperationCount> rules_;   // guarded by mutex_
  std::array<int, kStoreOperationCount> calls_{};  // guarded by mutex_
};

}  // namespace edl::testing
