// A one-line progress bar on a terminal for ingests: phase, bytes and files. Draws on the stream it
// is given, at most ten times a second; draws nothing when the stream is not a terminal.
// Used from one thread.
#pragma once

#include <chrono>
#include <cstdio>

#include "ingest/progress.h"

namespace edl::cli {

class TerminalProgress final : public ProgressReporter {
 public:
  explicit TerminalProgress(std::FILE* out);
  ~TerminalProgress() override;
  void Report(const ProgressEvent& event) override;
  // Clears the line so the summary starts clean.
  void Finish();

 private:
  std::FILE* out_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
  IngestPhase last_phase_ = IngestPhase::kFetch;
};

}  // namespace edl::cli
