// Where access decisions go: an AuditSink takes audit events from the Authorizer (and anyone else
// recording decisions) and appends them to the catalog's hash-chained audit log.
//
// AuditWriter is the server's sink: a request thread only queues its event (a move into a chunk of
// the queue under a short lock); one writer thread takes a whole chunk at a time and appends it as
// one batch, one catalog transaction per batch, so auditing every decision costs a request no
// catalog write. Nothing is dropped: when the queue is full, Record waits; when
// the catalog refuses a batch, the writer keeps it and tries again (an event refused as invalid —
// a caller's bug — is reported through on_error and dropped, so it cannot stall the log). Events queued but not yet
// written when the process is killed (-9) are lost — at most one batch interval's worth; Flush and
// the destructor write everything queued. Record never touches the catalog itself, so it may be
// called inside a catalog transaction. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace edl {

class Catalog;

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual void Record(AuditEvent event) = 0;
  // Waits until every event recorded so far is in the catalog (readers of the log call it first,
  // so they see their own decisions). Unavailable after `timeout`.
  virtual Status Flush(std::chrono::milliseconds timeout) = 0;
};

struct AuditWriterOptions {
  size_t max_batch = 2000;       // events per transaction (at least 1)
  size_t max_queue = 200000;     // Record waits beyond this
  std::chrono::milliseconds interval{20};  // longest an event waits before its batch is written,
                                           // unless max_batch events are queued sooner
  std::chrono::milliseconds retry{200};    // pause after the catalog refused a batch
  std::function<void(const Status&)> on_error;  // hears about refused batches (they are retried)
};

class AuditWriter : public AuditSink {
 public:
  explicit AuditWriter(Catalog& catalog, AuditWriterOptions options = {});
  ~AuditWriter() override;  // writes what is queued (retrying for up to 10 s), then stops
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  void Record(AuditEvent event) override;
  // Waits until every event recorded before the call is in the catalog. Unavailable after
  // `timeout` (the events stay queued).
  Status Flush(std::chrono::milliseconds timeout = std::chrono::seconds(30)) override;
  int64_t Written() const;

 private:
  void Run();
  // An empty chunk for the queue: a spare one (which keeps its capacity) when there is one. mu_ held.
  std::vector<AuditEvent> NewChunk();
  // Appends `events` in one transaction; if the catalog refuses one as invalid, one at a time,
  // reporting and dropping the invalid ones. Sets `done` to how many of them are written or
  // dropped (the rest stay to be retried) and returns what stopped it early.
  Status Append(std::span<const AuditEvent> events, size_t& done);

  Catalog& catalog_;
  AuditWriterOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;   // the writer: first event queued, a batch's worth, a Flush, or stopping
  std::condition_variable room_;   // Record: queue has room; Flush: progress
  // Recorded, not yet taken by the writer, oldest first, in chunks of up to max_batch events: the
  // writer takes one chunk as one batch, and neither side copies events under the lock.
  std::deque<std::vector<AuditEvent>> queue_;
  std::vector<std::vector<AuditEvent>> spare_;  // chunks the writer emptied, for reuse
  size_t queued_ = 0;                           // events in queue_
  size_t taken_ = 0;                            // taken by the writer, not yet written: still counts as queued
  int64_t recorded_ = 0;           // events ever queued
  int64_t written_ = 0;            // events ever written (or dropped as invalid)
  int flush_waiters_ = 0;          // Flush calls waiting: write without gathering a batch first
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace edl
