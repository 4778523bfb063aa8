// Where access decisions go: an AuditSink takes audit events from the Authorizer (and anyone else
// recording decisions) and appends them to the catalog's hash-chained audit log.
//
// AuditWriter is the server's sink: a request thread only queues its event; one writer thread
// appends queued events in batches, one catalog transaction per batch, so auditing every decision
// costs a request no catalog write. Nothing is dropped: when the queue is full, Record waits; when
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
#include <thread>

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
  size_t max_batch = 2000;       // events per transaction
  size_t max_queue = 200000;     // Record waits beyond this
  std::chrono::milliseconds interval{20};  // longest an event waits before its batch is written
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

  Catalog& catalog_;
  AuditWriterOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;   // the writer: events queued, or stopping
  std::condition_variable room_;   // Record: queue has room; Flush: progress
  std::deque<AuditEvent> queue_;
  int64_t recorded_ = 0;           // events ever queued
  int64_t written_ = 0;            // events ever written
  int flush_waiters_ = 0;          // Flush calls waiting: write without gathering a batch first
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace edl
