#include "access/audit_writer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "catalog/catalog.h"

namespace edl {

AuditWriter::AuditWriter(Catalog& catalog, AuditWriterOptions options)
    : catalog_(catalog), options_(std::move(options)), thread_([this] { Run(); }) {}

AuditWriter::~AuditWriter() {
  (void)Flush(std::chrono::seconds(10));
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void AuditWriter::Record(AuditEvent event) {
  std::unique_lock<std::mutex> lock(mu_);
  room_.wait(lock, [&] { return queue_.size() < options_.max_queue || stopping_; });
  queue_.push_back(std::move(event));
  ++recorded_;
  if (queue_.size() == 1) wake_.notify_one();
}

Status AuditWriter::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  int64_t target = recorded_;
  ++flush_waiters_;
  wake_.notify_one();
  bool done = room_.wait_for(lock, timeout, [&] { return written_ >= target; });
  --flush_waiters_;
  if (!done) return Unavailable("the audit log did not take the queued access decisions in time");
  return Status::Ok();
}

int64_t AuditWriter::Written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_;
}

void AuditWriter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return;  // stopping, nothing left
    // Let a batch gather unless it is already full (or we are stopping).
    if (queue_.size() < options_.max_batch && !stopping_ && flush_waiters_ == 0) {
      wake_.wait_for(lock, options_.interval,
                     [&] { return queue_.size() >= options_.max_batch || stopping_ || flush_waiters_ > 0; });
    }
    size_t n = std::min(queue_.size(), options_.max_batch);
    std::vector<AuditEvent> batch(std::make_move_iterator(queue_.begin()),
                                  std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
    lock.unlock();
    Status status = catalog_.Write([&](CatalogTransaction& tx) -> Status {
      for (const AuditEvent& event : batch) RETURN_IF_ERROR(tx.AppendAudit(event).status());
      return Status::Ok();
    });
    lock.lock();
    if (status.ok()) {
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      written_ += static_cast<int64_t>(n);
      room_.notify_all();
      continue;
    }
    if (status.code() == StatusCode::kInvalidArgument) {
      // An event the catalog can never take (a caller's bug) must not stall the log: write the
      // batch one event at a time and report, then drop, only the events refused as invalid.
      lock.unlock();
      for (const AuditEvent& event : batch) {
        Status one = catalog_.Write([&](CatalogTransaction& tx) { return tx.AppendAudit(event).status(); });
        if (!one.ok() && options_.on_error) options_.on_error(one);
      }
      lock.lock();
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      written_ += static_cast<int64_t>(n);
      room_.notify_all();
      continue;
    }
    // The batch stays queued (nothing is dropped); try again after a pause. Its events were moved
    // out of the first n slots, which only this thread removes: move them back.
    std::move(batch.begin(), batch.end(), queue_.begin());
    if (options_.on_error) {
      lock.unlock();
      options_.on_error(status);
      lock.lock();
    }
    if (stopping_) return;  // the destructor gave up waiting; what is queued is lost with the process
    wake_.wait_for(lock, options_.retry, [&] { return stopping_; });
  }
}

}  // namespace edl
