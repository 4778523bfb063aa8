// Progress of one ingest, reported phase by phase to whoever watches (a terminal progress bar, the
// job table later). Reporters are called from the ingesting thread; implementations need not lock.
#pragma once

#include <cstdint>
#include <string_view>

namespace edl {

enum class IngestPhase { kFetch, kUnpack, kConvert, kQc, kCommit };
std::string_view IngestPhaseName(IngestPhase phase);

struct ProgressEvent {
  IngestPhase phase = IngestPhase::kFetch;
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;  // 0 when unknown
  int64_t files_done = 0;
  int64_t files_total = 0;   // 0 when unknown
};

class ProgressReporter {
 public:
  virtual ~ProgressReporter() = default;
  virtual void Report(const ProgressEvent& event) = 0;
  // Called once the ingest has reserved its update number (a job records it to stay idempotent).
  virtual void UpdateReserved(int64_t /*number*/) {}
  // Polled between files and phases; true stops the ingest, which fails its update with the reason
  // "cancelled". Never polled once the update is being committed.
  virtual bool Cancelled() const { return false; }
};

// Reports nothing.
class NoProgress final : public ProgressReporter {
 public:
  void Report(const ProgressEvent&) override {}
};

}  // namespace edl
