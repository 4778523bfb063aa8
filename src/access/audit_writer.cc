#include "access/audit_writer.h"

#include <algorithm>
#include <utility>

#include "catalog/catalog.h"

namespace edl {
namespace {

// Emptied chunks kept for reuse: the writer holds one while request threads fill the next.
constexpr size_t kSpareChunks = 4;

AuditWriterOptions Checked(AuditWriterOptions options) {
  options.max_batch = std::max<size_t>(options.max_batch, 1);
  return options;
}

}  // namespace

AuditWriter::AuditWriter(Catalog& catalog, AuditWriterOptions options)
    : catalog_(catalog), options_(Checked(std::move(options))), thread_([this] { Run(); }) {}

AuditWriter::~AuditWriter() {
  (void)Flush(std::chrono::seconds(10));
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::vector<AuditEvent> AuditWriter::NewChunk() {
  if (spare_.empty()) return {};
  std::vector<AuditEvent> chunk = std::move(spare_.back());
  spare_.pop_back();
  return chunk;
}

void AuditWriter::Record(AuditEvent event) {
  std::unique_lock<std::mutex> lock(mu_);
  if (queued_ + taken_ >= options_.max_queue) {
    room_.wait(lock, [&] { return queued_ + taken_ < options_.max_queue || stopping_; });
  }
  if (queue_.empty() || queue_.back().size() >= options_.max_batch) queue_.push_back(NewChunk());
  queue_.back().push_back(std::move(event));
  ++recorded_;
  const size_t queued = ++queued_;
  lock.unlock();
  // The writer waits for a first event, then gathers more for up to `interval` unless a batch's
  // worth comes sooner: only those two moments need to wake it.
  if (queued == 1 || queued == options_.max_batch) wake_.notify_one();
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

Status AuditWriter::Append(std::span<const AuditEvent> events, size_t& done) {
  done = 0;
  Status status = catalog_.Write([&](CatalogTransaction& tx) { return tx.AppendAuditBatch(events).status(); });
  if (status.ok()) {
    done = events.size();
    return status;
  }
  if (status.code() != StatusCode::kInvalidArgument) return status;
  // An event the catalog can never take (a caller's bug) must not stall the log: write the batch
  // one event at a time and report, then drop, only the events refused as invalid. Any other
  // refusal stops here; the events from that one on are retried.
  for (const AuditEvent& event : events) {
    Status one = catalog_.Write([&](CatalogTransaction& tx) { return tx.AppendAudit(event).status(); });
    if (!one.ok() && one.code() != StatusCode::kInvalidArgument) return one;
    if (!one.ok() && options_.on_error) options_.on_error(one);
    ++done;
  }
  return Status::Ok();
}

void AuditWriter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [&] { return queued_ > 0 || stopping_; });
    if (queued_ == 0) return;  // stopping, nothing left
    // Let a batch gather unless it is already full (or we are stopping).
    if (queued_ < options_.max_batch && !stopping_ && flush_waiters_ == 0) {
      wake_.wait_for(lock, options_.interval,
                     [&] { return queued_ >= options_.max_batch || stopping_ || flush_waiters_ > 0; });
    }
    std::vector<AuditEvent> batch = std::move(queue_.front());
    queue_.pop_front();
    queued_ -= batch.size();
    taken_ = batch.size();
    lock.unlock();
    // A refused batch stays (nothing is dropped) and is tried again after a pause, before anything
    // queued after it.
    size_t next = 0;
    while (next < batch.size()) {
      size_t done = 0;
      Status status = Append(std::span<const AuditEvent>(batch).subspan(next), done);
      next += done;
      if (!status.ok() && options_.on_error) options_.on_error(status);
      lock.lock();
      taken_ -= done;
      written_ += static_cast<int64_t>(done);
      if (done > 0) room_.notify_all();
      if (!status.ok()) {
        if (stopping_) return;  // the destructor gave up waiting; what is queued is lost with the process
        wake_.wait_for(lock, options_.retry, [&] { return stopping_; });
      }
      lock.unlock();
    }
    batch.clear();
    lock.lock();
    if (spare_.size() < kSpareChunks) spare_.push_back(std::move(batch));
  }
}

}  // namespace edl
