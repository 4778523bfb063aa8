// Sources: where an ingest copies raw data from (design.md §2, the seed's "copy raw data from an
// external source"). A Source copies every file it names into a local work folder, measuring size
// and SHA-256 of exactly the bytes it fetched (lineage). Implementations: local paths (file, folder,
// glob, file://), http(s):// through libcurl, and the dataset's drop bucket; s3:// comes with the S3
// issue through the same interface. A Source is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace edl {

class ObjectStore;
class ProgressReporter;

struct FetchOptions {
  uint64_t max_bytes = 1ULL << 40;                   // per source; more is InvalidArgument
  std::chrono::seconds connect_timeout{10};          // http
  std::chrono::seconds idle_timeout{60};             // http: no byte for this long fails the transfer
  int max_attempts = 3;                              // http: transient errors (5xx, resets, timeouts)
  std::chrono::milliseconds retry_backoff{500};      // doubled per attempt
  int max_redirects = 5;
  // http: refuse to connect to loopback, private, link-local and other non-public addresses (also
  // after redirects). Set for ingests submitted through the API, so a user cannot make the server
  // fetch from its own network.
  bool refuse_private_addresses = false;
};

struct FetchedFile {
  std::string name;            // relative name for the update's raw/ folder, e.g. "orders.csv", "sub/a.csv"
  std::filesystem::path path;  // the local copy in the work folder
  uint64_t size = 0;
  std::string sha256;          // lower-case hex of the fetched bytes
  std::string uri;             // where it came from, without credentials
};

class Source {
 public:
  virtual ~Source() = default;
  // The source as given, safe to record and print (no credentials, no query strings with secrets).
  virtual std::string Describe() const = 0;
  // Copies every file into `dest_dir` (which exists and is empty). NotFound when the source does
  // not exist or names no file; InvalidArgument over the size limit; Unavailable for I/O or network
  // failures after retries; Conflict when a file changed while it was read. On error, partial
  // copies may remain in dest_dir (the caller owns and removes it).
  virtual Result<std::vector<FetchedFile>> Fetch(const std::filesystem::path& dest_dir, const FetchOptions& options,
                                                 ProgressReporter& progress) = 0;
  // Called once the update holding the fetched files is complete; the drop bucket moves its files
  // to processed/ here. Default: nothing.
  virtual Status AfterCommit(int64_t update_number);
};

// Opens a source from what a user typed: a local path, a folder (recursive), a glob ("data/*.csv"),
// "file:///abs/path", or "http(s)://…". InvalidArgument for unsupported schemes (naming them).
Result<std::unique_ptr<Source>> OpenSource(std::string_view uri);

// The local path a source names (a path, a glob, or a file:// URL, decoded), for checks on where
// data comes from; nullopt for remote sources and for what OpenSource would refuse.
std::optional<std::string> LocalSourcePath(std::string_view uri);

// The dataset's area in its drop bucket: every object under "<dataset>/" except "<dataset>/processed/".
// After the update completes they move to "<dataset>/processed/update-NNNNNNNN/".
std::unique_ptr<Source> OpenDropBucketSource(ObjectStore& store, std::string drop_bucket, std::string dataset);

}  // namespace edl
