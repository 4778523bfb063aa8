#include "cli/progress_bar.h"

#include <unistd.h>

#include <string>

#include <fmt/format.h>

#include "cli/render.h"

namespace edl::cli {

TerminalProgress::TerminalProgress(std::FILE* out) : out_(out), enabled_(isatty(fileno(out)) == 1) {}

TerminalProgress::~TerminalProgress() { Finish(); }

void TerminalProgress::Report(const ProgressEvent& event) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  bool phase_changed = event.phase != last_phase_;
  if (!phase_changed && drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  last_phase_ = event.phase;
  constexpr int kWidth = 24;
  double fraction = 0;
  if (event.bytes_total > 0) {
    fraction = static_cast<double>(event.bytes_done) / static_cast<double>(event.bytes_total);
  } else if (event.files_total > 0) {
    fraction = static_cast<double>(event.files_done) / static_cast<double>(event.files_total);
  }
  int filled = static_cast<int>(fraction * kWidth + 0.5);
  if (filled > kWidth) filled = kWidth;
  std::string bar = std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(kWidth - filled), '.');
  std::string bytes = event.bytes_total > 0 ? fmt::format("{} / {}", HumanBytes(event.bytes_done), HumanBytes(event.bytes_total))
                                            : (event.bytes_done > 0 ? HumanBytes(event.bytes_done) : "");
  std::string files = event.files_total > 0 ? fmt::format("{}/{} files", event.files_done, event.files_total) : "";
  fmt::print(out_, "\r\033[K{:<8}[{}] {}  {}", IngestPhaseName(event.phase), bar, bytes, files);
  std::fflush(out_);
  drawn_ = true;
}

void TerminalProgress::Finish() {
  if (!enabled_ || !drawn_) return;
  fmt::print(out_, "\r\033[K");
  std::fflush(out_);
  drawn_ = false;
}

}  // namespace edl::cli
