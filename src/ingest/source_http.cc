// http(s):// sources through libcurl's easy API: redirects followed (http and https only), TLS
// verified, connect and idle timeouts, the size limit enforced up front (Content-Length) and while
// streaming, transient failures (5xx, 408, 429, resets, timeouts) retried with doubling backoff.
// The body streams to disk; credentials in the URL reach curl but never a message or Describe().
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <curl/curl.h>

#include "ingest/source_internal.h"

namespace edl::ingest_internal {
namespace {

namespace fs = std::filesystem;

Status InitCurl() {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (rc != CURLE_OK) return Internal(std::string("cannot initialise libcurl: ") + curl_easy_strerror(rc));
  return Status::Ok();
}

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlDeleter>;

struct CurlEasyDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};

std::string GetPart(CURLU* url, CURLUPart part, unsigned flags = 0) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, flags) != CURLUE_OK || value == nullptr) return {};
  std::string out(value);
  curl_free(value);
  return out;
}

// The last path segment, decoded and reduced to [A-Za-z0-9._-]; "download" when nothing is left.
std::string FileNameFromPath(const std::string& url_path) {
  std::string segment =
      url_path.substr(url_path.find_last_of('/') == std::string::npos ? 0 : url_path.find_last_of('/') + 1);
  std::string decoded = PercentDecode(segment);
  std::string name;
  for (char c : decoded) {
    bool safe =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    name.push_back(safe ? c : '_');
  }
  if (name.size() > 200) name = name.substr(name.size() - 200);
  if (name.empty() || std::all_of(name.begin(), name.end(), [](char c) { return c == '.'; })) return "download";
  return name;
}

// What one attempt produced: a file, or an error that may be worth another attempt.
struct Attempt {
  Status status;
  bool transient = false;
};

// State shared with curl's write callback during one attempt.
struct Transfer {
  CURL* curl = nullptr;
  int fd = -1;
  const fs::path* path = nullptr;
  Sha256* sha = nullptr;
  FetchProgress* progress = nullptr;
  uint64_t max_bytes = 0;
  uint64_t bytes = 0;
  bool headers_checked = false;
  bool over_limit = false;
  Status write_error;
  // Idle detection: curl's low-speed check averages over several seconds, so a trickle of bytes
  // before a stall would stretch the timeout; this ends the transfer idle_timeout after the last byte.
  std::chrono::steady_clock::duration idle_timeout{};
  std::chrono::steady_clock::time_point last_activity = std::chrono::steady_clock::now();
  curl_off_t last_bytes = 0;
  bool idle = false;
  bool cancelled = false;
  bool refuse_private_addresses = false;
  std::string refused_address;  // set when the connection went to a refused address
};

// Addresses an API user must not reach through the server: loopback, private, link-local (cloud
// metadata), carrier-grade NAT, unspecified, multicast, and IPv4 mapped into IPv6 of the same.
bool IsPrivateAddress(const std::string& ip) {
  unsigned char v6[16];
  unsigned char v4[4];
  if (inet_pton(AF_INET, ip.c_str(), v4) == 1) {
    return v4[0] == 0 || v4[0] == 10 || v4[0] == 127 || (v4[0] == 169 && v4[1] == 254) ||
           (v4[0] == 172 && (v4[1] & 0xF0) == 16) || (v4[0] == 192 && v4[1] == 168) ||
           (v4[0] == 100 && (v4[1] & 0xC0) == 64) || v4[0] >= 224;
  }
  if (inet_pton(AF_INET6, ip.c_str(), v6) != 1) return true;  // unknown form: refuse
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (std::memcmp(v6, kMapped, 12) == 0) {
    return IsPrivateAddress(std::to_string(v6[12]) + "." + std::to_string(v6[13]) + "." + std::to_string(v6[14]) +
                            "." + std::to_string(v6[15]));
  }
  bool all_zero_but_last = std::all_of(v6, v6 + 15, [](unsigned char b) { return b == 0; });
  if (all_zero_but_last && (v6[15] == 0 || v6[15] == 1)) return true;  // :: and ::1
  return (v6[0] & 0xFE) == 0xFC || (v6[0] == 0xFE && (v6[1] & 0xC0) == 0x80) || v6[0] == 0xFF;
}

// Called by libcurl once a connection stands, before the request goes out (also after redirects).
int OnConnected(void* user, char* primary_ip, char*, int, int) {
  auto& transfer = *static_cast<Transfer*>(user);
  if (!transfer.refuse_private_addresses) return CURL_PREREQFUNC_OK;
  std::string ip(primary_ip != nullptr ? primary_ip : "");
  if (!IsPrivateAddress(ip)) return CURL_PREREQFUNC_OK;
  transfer.refused_address = ip;
  return CURL_PREREQFUNC_ABORT;
}

int OnProgress(void* user, curl_off_t, curl_off_t downloaded, curl_off_t, curl_off_t uploaded) {
  auto& transfer = *static_cast<Transfer*>(user);
  if (transfer.progress != nullptr && transfer.progress->Cancelled()) {
    transfer.cancelled = true;
    return 1;  // aborts the transfer
  }
  auto now = std::chrono::steady_clock::now();
  if (downloaded + uploaded != transfer.last_bytes) {
    transfer.last_bytes = downloaded + uploaded;
    transfer.last_activity = now;
    return 0;
  }
  if (now - transfer.last_activity > transfer.idle_timeout) {
    transfer.idle = true;
    return 1;  // aborts the transfer
  }
  return 0;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto& transfer = *static_cast<Transfer*>(user);
  const size_t length = size * count;
  try {  // a C callback: nothing may escape into libcurl
    if (!transfer.headers_checked) {
      transfer.headers_checked = true;
      curl_off_t content_length = -1;
      if (curl_easy_getinfo(transfer.curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &content_length) == CURLE_OK &&
          content_length > 0) {
        if (static_cast<uint64_t>(content_length) > transfer.max_bytes) {
          transfer.over_limit = true;
          return 0;
        }
        transfer.progress->SetBytesTotal(static_cast<uint64_t>(content_length));
      }
    }
    if (transfer.bytes + length > transfer.max_bytes) {
      transfer.over_limit = true;
      return 0;
    }
    Status written = WriteAll(transfer.fd, data, length, *transfer.path);
    if (!written.ok()) {
      transfer.write_error = written;
      return 0;
    }
    transfer.sha->Update(data, length);
    transfer.bytes += length;
    transfer.progress->AddBytes(length);
    return length;
  } catch (...) {
    transfer.write_error = Internal("unexpected exception while writing '" + transfer.path->string() + "'");
    return 0;
  }
}

class HttpSource final : public Source {
 public:
  HttpSource(std::string url, std::string described, std::string name, std::vector<std::string> secrets)
      : url_(std::move(url)), described_(std::move(described)), name_(std::move(name)), secrets_(std::move(secrets)) {}

  std::string Describe() const override { return described_; }

  Result<std::vector<FetchedFile>> Fetch(const fs::path& dest_dir, const FetchOptions& options,
                                         ProgressReporter& progress) override {
    RETURN_IF_ERROR(InitCurl());
    FetchedFile file;
    file.name = name_;
    file.path = dest_dir / name_;
    file.uri = described_;
    ASSIGN_OR_RETURN(int fd, CreateExclusive(file.path));
    Fd out(fd);
    FetchProgress fetch_progress(progress, 1, 0);
    const int attempts = std::max(1, options.max_attempts);
    Status last;
    for (int attempt = 1; attempt <= attempts; ++attempt) {
      if (attempt > 1) {
        std::this_thread::sleep_for(options.retry_backoff * (1LL << std::min(attempt - 2, 20)));
        if (::ftruncate(out.get(), 0) != 0 || ::lseek(out.get(), 0, SEEK_SET) != 0) {
          return ErrnoStatus(errno, "truncate", file.path.string());
        }
      }
      ASSIGN_OR_RETURN(Sha256 sha, Sha256::Create());
      Transfer transfer;
      transfer.fd = out.get();
      transfer.path = &file.path;
      transfer.sha = &sha;
      transfer.progress = &fetch_progress;
      transfer.max_bytes = options.max_bytes;
      transfer.refuse_private_addresses = options.refuse_private_addresses;
      Attempt result = Get(transfer, options);
      if (result.status.ok()) {
        RETURN_IF_ERROR(out.Close(file.path));
        file.size = transfer.bytes;
        file.sha256 = sha.HexDigest();
        fetch_progress.FileDone();
        return std::vector<FetchedFile>{std::move(file)};
      }
      fetch_progress.Rewind(transfer.bytes);
      if (!result.transient) return result.status.WithContext("GET " + described_);
      last = result.status;
    }
    return Unavailable("GET " + described_ + ": failed after " + std::to_string(attempts) +
                       (attempts == 1 ? " attempt: " : " attempts: ") + last.message());
  }

 private:
  Attempt Get(Transfer& transfer, const FetchOptions& options) const {
    std::unique_ptr<CURL, CurlEasyDeleter> curl(curl_easy_init());
    if (!curl) return {Internal("cannot create a libcurl handle"), false};
    CURL* c = curl.get();
    transfer.curl = c;
    char error[CURL_ERROR_SIZE] = {0};
    const long idle_seconds = std::max<long>(1, static_cast<long>(options.idle_timeout.count()));
    transfer.idle_timeout = std::chrono::seconds(idle_seconds);
    transfer.last_activity = std::chrono::steady_clock::now();
    const long connect_ms =
        std::max<long>(1, static_cast<long>(std::chrono::milliseconds(options.connect_timeout).count()));
    bool setup_ok =
        curl_easy_setopt(c, CURLOPT_URL, url_.c_str()) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, static_cast<long>(std::max(0, options.max_redirects))) == CURLE_OK &&
        // TLS verification stays on, always.
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) == CURLE_OK &&
        // Less than one byte per second for idle_timeout seconds ends the transfer (a backstop
        // for OnProgress, which is exact).
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, idle_seconds) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                         static_cast<curl_off_t>(std::min<uint64_t>(options.max_bytes, uint64_t{1} << 62))) ==
            CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_USERAGENT, "edl-ingest") == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, OnConnected) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_PREREQDATA, &transfer) == CURLE_OK;
    if (!setup_ok) return {Internal("cannot configure libcurl for " + described_), false};

    CURLcode rc = curl_easy_perform(c);
    if (transfer.cancelled) return {Conflict("cancelled"), false};
    if (!transfer.refused_address.empty()) {
      return {PermissionDenied("refused to fetch from " + transfer.refused_address +
                               ": loopback, private and link-local addresses are not reachable for ingests "
                               "submitted through the API (ingest.allow_private_addresses)"),
              false};
    }
    if (transfer.over_limit || rc == CURLE_FILESIZE_EXCEEDED) {
      return {InvalidArgument("over the size limit of " + std::to_string(options.max_bytes) + " bytes"), false};
    }
    if (!transfer.write_error.ok()) return {transfer.write_error, false};
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_OK) return {Status::Ok(), false};
    if (transfer.idle) {
      return {Unavailable("timed out (no data for " + std::to_string(idle_seconds) + " s)"), true};
    }
    std::string detail = Scrub(error[0] != '\0' ? std::string(error) : std::string(curl_easy_strerror(rc)));
    switch (rc) {
      case CURLE_HTTP_RETURNED_ERROR: {
        std::string status = "HTTP " + std::to_string(code);
        if (code == 404 || code == 410) return {NotFound(status), false};
        if (code == 401 || code == 403 || code == 407) return {PermissionDenied(status), false};
        if (code == 408 || code == 429 || code >= 500) return {Unavailable(status), true};
        return {InvalidArgument(status), false};
      }
      case CURLE_TOO_MANY_REDIRECTS:
        return {InvalidArgument("more than " + std::to_string(options.max_redirects) + " redirects"), false};
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_URL_MALFORMAT: return {InvalidArgument(detail), false};
      case CURLE_OPERATION_TIMEDOUT: return {Unavailable("timed out (" + detail + ")"), true};
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
      case CURLE_COULDNT_CONNECT:
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
      case CURLE_GOT_NOTHING:
      case CURLE_PARTIAL_FILE:
      case CURLE_HTTP2:
      case CURLE_HTTP2_STREAM:
      case CURLE_SSL_CONNECT_ERROR: return {Unavailable(detail), true};
      case CURLE_PEER_FAILED_VERIFICATION:
        return {Unavailable("TLS certificate verification failed (" + detail + ")"), false};
      default: return {Unavailable(detail), false};
    }
  }

  // libcurl's messages should not hold the URL's credentials; make sure.
  std::string Scrub(std::string text) const {
    for (const std::string& secret : secrets_) {
      for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
        text.replace(at, secret.size(), "***");
      }
    }
    return text;
  }

  const std::string url_;        // as given, credentials included: only for libcurl
  const std::string described_;  // without credentials, query or fragment
  const std::string name_;
  const std::vector<std::string> secrets_;
};

}  // namespace

Result<std::unique_ptr<Source>> OpenHttpSource(std::string_view url) {
  RETURN_IF_ERROR(InitCurl());
  CurlUrl parsed(curl_url());
  if (!parsed) return Internal("cannot allocate a URL");
  const std::string text(url);
  if (curl_url_set(parsed.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    // The URL may hold credentials: name only its scheme.
    return InvalidArgument("malformed " + text.substr(0, text.find(':')) + " URL");
  }
  std::vector<std::string> secrets;
  for (CURLUPart part : {CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS}) {
    std::string value = GetPart(parsed.get(), part);
    std::string decoded = GetPart(parsed.get(), part, CURLU_URLDECODE);
    // Scrubbing a one- or two-letter secret would mangle messages; libcurl does not print them anyway.
    for (std::string* secret : {&value, &decoded}) {
      if (secret->size() >= 3) secrets.push_back(*secret);
    }
  }
  std::string path = GetPart(parsed.get(), CURLUPART_PATH);
  for (CURLUPart part : {CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS, CURLUPART_QUERY, CURLUPART_FRAGMENT}) {
    curl_url_set(parsed.get(), part, nullptr, 0);
  }
  std::string described = GetPart(parsed.get(), CURLUPART_URL);
  if (GetPart(parsed.get(), CURLUPART_HOST).empty() || described.empty()) {
    return InvalidArgument("URL '" + described + "' names no host");
  }
  return std::unique_ptr<Source>(
      std::make_unique<HttpSource>(text, std::move(described), FileNameFromPath(path), std::move(secrets)));
}

}  // namespace edl::ingest_internal
