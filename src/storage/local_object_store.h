// LocalObjectStore: the ObjectStore kept in a local folder (storage: {backend: local, root: …}).
// A bucket is the folder <root>/<bucket>, an object the file <root>/<bucket>/<key>. The store's own
// files live in <root>/<bucket>/.edl/ (tmp/ for uploads in progress, sealed/ for seal markers,
// lock), never listed, so dataset folders hold only data.
// Thread-safe, and safe for several processes sharing one root: changes to a bucket's names
// (commit, delete, seal) are serialized by an flock on <root>/<bucket>/.edl/lock.
#pragma once

#include <filesystem>
#include <memory>

#include "storage/object_store.h"

namespace edl {

class LocalObjectStore final : public ObjectStore {
 public:
  // Creates `root` (and its parents) if needed. PermissionDenied naming the root if it cannot be
  // created or written; InvalidArgument if it exists but is not a folder.
  static Result<std::unique_ptr<LocalObjectStore>> Create(const std::filesystem::path& root);

  // Only for Create (the tag is private); use Create.
  struct CreateTag {
    explicit CreateTag() = default;
  };
  LocalObjectStore(CreateTag, std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }

  Status CreateBucket(std::string_view bucket) override;
  // Temp files under <bucket>/.edl/tmp/ last modified before `older_than`.
  Result<int64_t> RemoveAbandonedUploads(std::chrono::system_clock::time_point older_than) override;
  // Moves the file into place (after fsyncing it) when it is on the store's file system.
  Status PutFile(std::string_view bucket, std::string_view key, const std::filesystem::path& local_file) override;
  Result<bool> BucketExists(std::string_view bucket) override;
  Result<std::vector<std::string>> ListBuckets() override;

  Result<std::unique_ptr<ObjectWriter>> Put(std::string_view bucket, std::string_view key) override;
  Result<std::unique_ptr<ObjectReader>> Get(std::string_view bucket, std::string_view key) override;
  Result<ObjectInfo> Head(std::string_view bucket, std::string_view key) override;
  Result<ListPage> List(std::string_view bucket, const ListOptions& options) override;
  Status Delete(std::string_view bucket, std::string_view key) override;

  Status Seal(std::string_view bucket, std::string_view prefix) override;
  Result<bool> IsSealed(std::string_view bucket, std::string_view key) override;

  std::optional<std::filesystem::path> LocalPath(std::string_view bucket, std::string_view key) const override;

 private:
  class Writer;

  // The bucket's folder, after checking the name (InvalidArgument) and existence (NotFound).
  Result<std::filesystem::path> BucketFolder(std::string_view bucket) const;
  // Publishes the finished temp file `tmp` as `key`; called by Writer::Commit. Sets *renamed once
  // `tmp` is gone (an error after that is a failed fsync of the folder).
  Status Publish(const std::filesystem::path& bucket_folder, std::string_view key, const std::filesystem::path& tmp,
                 bool* renamed);

  const std::filesystem::path root_;
};

}  // namespace edl
