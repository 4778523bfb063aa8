// Private to src/ingest (and its tests): the pieces the sources and the unpacker share: a streaming
// SHA-256, fetch progress throttling, and the concrete sources behind OpenSource, with the hooks
// tests use to change a file while it is read. Not thread-safe; each object serves one fetch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/hash.h"
#include "ingest/progress.h"
#include "ingest/source.h"

namespace edl::ingest_internal {

// Streaming SHA-256 lives in core.
using ::edl::Sha256;

// Writes all of `bytes` to `fd`; the error names `path`.
Status WriteAll(int fd, const char* bytes, size_t size, const std::filesystem::path& path);

// Creates `path` for writing (its folders too); AlreadyExists when it exists. Returns the fd.
Result<int> CreateExclusive(const std::filesystem::path& path);

// Owns a file descriptor; closes it when destroyed.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.Release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  int Release();
  // close(2) with its error, naming `path`.
  Status Close(const std::filesystem::path& path);

 private:
  int fd_ = -1;
};

// Fetch progress for one source: reports phase kFetch each time another kReportEveryBytes have
// arrived and at the end of every file, so a fast copy does not flood the reporter.
class FetchProgress {
 public:
  static constexpr uint64_t kReportEveryBytes = 1 << 20;

  FetchProgress(ProgressReporter& reporter, int64_t files_total, uint64_t bytes_total);
  void SetBytesTotal(uint64_t bytes_total) { event_.bytes_total = bytes_total; }
  void AddBytes(uint64_t bytes);
  // Forgets `bytes` already counted (an HTTP attempt that is retried) and reports.
  void Rewind(uint64_t bytes);
  void FileDone();
  // Whether whoever watches asked the ingest to stop (checked inside long copies and downloads).
  bool Cancelled() const { return reporter_.Cancelled(); }

 private:
  ProgressReporter& reporter_;
  ProgressEvent event_;
  uint64_t next_report_ = kReportEveryBytes;
};

// Percent-decodes `text`; malformed escapes stay as they are.
std::string PercentDecode(std::string_view text);

// Local sources: a file, a folder (recursive) or a glob. `hooks` let tests act between reads.
struct LocalReadHooks {
  size_t buffer_size = 1 << 20;
  // Called after each block read from a source file, with that file and the bytes read from it so far.
  std::function<void(const std::filesystem::path& file, uint64_t bytes_read)> after_read;
};
std::unique_ptr<Source> OpenLocalSource(std::string path_or_glob, LocalReadHooks hooks = {});

// http(s):// URLs; InvalidArgument when `url` cannot be parsed.
Result<std::unique_ptr<Source>> OpenHttpSource(std::string_view url);

}  // namespace edl::ingest_internal
