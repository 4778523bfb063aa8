#include "storage/fault_injecting_object_store.h"

namespace edl::testing {

class FaultInjectingObjectStore::Writer final : public ObjectWriter {
 public:
  Writer(FaultInjectingObjectStore& store, std::unique_ptr<ObjectWriter> target)
      : store_(store), target_(std::move(target)) {}

  Status Write(std::string_view bytes) override {
    RETURN_IF_ERROR(failure_);
    return ForwardUnlessInjected(StoreOperation::kWrite, [&] { return target_->Write(bytes); });
  }
  Status Commit() override {
    RETURN_IF_ERROR(failure_);
    return ForwardUnlessInjected(StoreOperation::kCommit, [&] { return target_->Commit(); });
  }

 private:
  // Runs `forward` unless this call to `operation` is to fail, in which case the upload is aborted.
  template <typename Forward>
  Status ForwardUnlessInjected(StoreOperation operation, Forward forward) {
    Status injected = store_.Enter(operation);
    if (injected.ok()) return forward();
    failure_ = injected;
    target_.reset();  // the wrapped writer aborts
    return injected;
  }

  FaultInjectingObjectStore& store_;
  std::unique_ptr<ObjectWriter> target_;
  Status failure_;
};

class FaultInjectingObjectStore::Reader final : public ObjectReader {
 public:
  Reader(FaultInjectingObjectStore& store, std::unique_ptr<ObjectReader> target)
      : store_(store), target_(std::move(target)) {}

  Result<size_t> Read(char* buf, size_t n) override {
    RETURN_IF_ERROR(store_.Enter(StoreOperation::kRead));
    return target_->Read(buf, n);
  }
  uint64_t size() const override { return target_->size(); }

 private:
  FaultInjectingObjectStore& store_;
  std::unique_ptr<ObjectReader> target_;
};

void FaultInjectingObjectStore::FailNth(StoreOperation operation, int n, Status status) {
  std::lock_guard<std::mutex> lock(mutex_);
  rules_[static_cast<size_t>(operation)] = {n, std::move(status)};
}

int FaultInjectingObjectStore::Calls(StoreOperation operation) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return calls_[static_cast<size_t>(operation)];
}

Status FaultInjectingObjectStore::Enter(StoreOperation operation) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto index = static_cast<size_t>(operation);
  ++calls_[index];
  Rule& rule = rules_[index];
  if (rule.remaining == 0 || --rule.remaining > 0) return Status::Ok();
  return rule.status;
}

Result<std::unique_ptr<ObjectWriter>> FaultInjectingObjectStore::Put(std::string_view bucket, std::string_view key) {
  RETURN_IF_ERROR(Enter(StoreOperation::kPut));
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> writer, target_.Put(bucket, key));
  return std::unique_ptr<ObjectWriter>(std::make_unique<Writer>(*this, std::move(writer)));
}

Result<std::unique_ptr<ObjectReader>> FaultInjectingObjectStore::Get(std::string_view bucket, std::string_view key) {
  RETURN_IF_ERROR(Enter(StoreOperation::kGet));
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectReader> reader, target_.Get(bucket, key));
  return std::unique_ptr<ObjectReader>(std::make_unique<Reader>(*this, std::move(reader)));
}

Result<ObjectInfo> FaultInjectingObjectStore::Head(std::string_view bucket, std::string_view key) {
  RETURN_IF_ERROR(Enter(StoreOperation::kHead));
  return target_.Head(bucket, key);
}

Result<ListPage> FaultInjectingObjectStore::List(std::string_view bucket, const ListOptions& options) {
  RETURN_IF_ERROR(Enter(StoreOperation::kList));
  return target_.List(bucket, options);
}

Status FaultInjectingObjectStore::Delete(std::string_view bucket, std::string_view key) {
  RETURN_IF_ERROR(Enter(StoreOperation::kDelete));
  return target_.Delete(bucket, key);
}

Status FaultInjectingObjectStore::Seal(std::string_view bucket, std::string_view prefix) {
  RETURN_IF_ERROR(Enter(StoreOperation::kSeal));
  return target_.Seal(bucket, prefix);
}

}  // namespace edl::testing
