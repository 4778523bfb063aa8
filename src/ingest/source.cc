#include "ingest/source.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <system_error>


#include "ingest/source_internal.h"

namespace edl {

Status Source::AfterCommit(int64_t) {
  return Status::Ok();
}

namespace {

// "scheme" of "scheme://rest", or empty when `uri` has no such prefix (a local path).
std::string_view SchemeOf(std::string_view uri) {
  size_t colon = uri.find("://");
  if (colon == std::string_view::npos || colon == 0) return {};
  std::string_view scheme = uri.substr(0, colon);
  if (!std::isalpha(static_cast<unsigned char>(scheme[0]))) return {};
  for (char c : scheme) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return {};
  }
  return scheme;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Result<std::unique_ptr<Source>> OpenSource(std::string_view uri) {
  if (uri.empty()) return InvalidArgument("empty source");
  std::string_view scheme = SchemeOf(uri);
  if (scheme.empty()) return ingest_internal::OpenLocalSource(std::string(uri));
  std::string lower = Lower(scheme);
  if (lower == "http" || lower == "https") return ingest_internal::OpenHttpSource(uri);
  if (lower == "file") {
    std::string_view rest = uri.substr(scheme.size() + 3);
    // file:///abs/path or file://localhost/abs/path; other hosts are not local.
    if (rest.rfind("localhost/", 0) == 0) rest.remove_prefix(std::string_view("localhost").size());
    if (rest.empty() || rest[0] != '/') {
      return InvalidArgument("file URL '" + std::string(uri) + "' must name an absolute local path (file:///path)");
    }
    size_t cut = rest.find_first_of("?#");
    if (cut != std::string_view::npos) rest = rest.substr(0, cut);
    return ingest_internal::OpenLocalSource(ingest_internal::PercentDecode(rest));
  }
  return InvalidArgument("unsupported source scheme '" + std::string(scheme) +
                         "' (supported: local paths, file://, http://, https://)");
}

std::optional<std::string> LocalSourcePath(std::string_view uri) {
  if (uri.empty()) return std::nullopt;
  std::string_view scheme = SchemeOf(uri);
  if (scheme.empty()) return std::string(uri);
  if (Lower(scheme) != "file") return std::nullopt;
  std::string_view rest = uri.substr(scheme.size() + 3);
  if (rest.rfind("localhost/", 0) == 0) rest.remove_prefix(std::string_view("localhost").size());
  if (rest.empty() || rest[0] != '/') return std::nullopt;
  size_t cut = rest.find_first_of("?#");
  if (cut != std::string_view::npos) rest = rest.substr(0, cut);
  return ingest_internal::PercentDecode(rest);
}

namespace ingest_internal {


Status WriteAll(int fd, const char* bytes, size_t size, const std::filesystem::path& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, bytes, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write", path.string());
    }
    bytes += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<int> CreateExclusive(const std::filesystem::path& path) {
  std::error_code ec;
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) return ErrnoStatus(ec.value(), "create folder", path.parent_path().string());
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return ErrnoStatus(errno, "create", path.string());
  return fd;
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

int Fd::Release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

Status Fd::Close(const std::filesystem::path& path) {
  int fd = Release();
  if (fd >= 0 && ::close(fd) != 0 && errno != EINTR) return ErrnoStatus(errno, "close", path.string());
  return Status::Ok();
}

FetchProgress::FetchProgress(ProgressReporter& reporter, int64_t files_total, uint64_t bytes_total)
    : reporter_(reporter) {
  event_.phase = IngestPhase::kFetch;
  event_.files_total = files_total;
  event_.bytes_total = bytes_total;
}

void FetchProgress::AddBytes(uint64_t bytes) {
  event_.bytes_done += bytes;
  if (event_.bytes_done >= next_report_) {
    reporter_.Report(event_);
    next_report_ = (event_.bytes_done / kReportEveryBytes + 1) * kReportEveryBytes;
  }
}

void FetchProgress::Rewind(uint64_t bytes) {
  event_.bytes_done = bytes > event_.bytes_done ? 0 : event_.bytes_done - bytes;
  next_report_ = (event_.bytes_done / kReportEveryBytes + 1) * kReportEveryBytes;
  reporter_.Report(event_);
}

void FetchProgress::FileDone() {
  ++event_.files_done;
  reporter_.Report(event_);
}

std::string PercentDecode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace ingest_internal
}  // namespace edl
