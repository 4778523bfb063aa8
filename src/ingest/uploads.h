// Uploads: files a remote user sends through the API before asking for an ingest of them. An
// upload is a private folder "<uploads root>/<id>/" on the storage root's file system holding the
// files as received, streamed to disk (never held whole in memory), and "upload:<id>" is the ingest
// source that reads them. Each upload belongs to the user who created it. Files are written to a
// temporary name and renamed only when every byte arrived, so a cut-off upload leaves no file.
// Thread-safe: different uploads may be written at once; one file is written by one caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace edl {

class Clock;

struct UploadInfo {
  std::string id;           // 32 lower-case hex characters
  std::string owner;        // "user:alice"
  std::string created_at;
  struct File {
    std::string name;
    uint64_t size = 0;
    std::string sha256;
  };
  std::vector<File> files;  // by name
};

struct UploadedFile {
  std::string name;
  uint64_t size = 0;
  std::string sha256;
};

// Reads the next piece of the body into `buffer` (up to `capacity` bytes); returns the number of
// bytes read, 0 at the end, or an error (a client that went away).
using BodyReader = std::function<Result<size_t>(char* buffer, size_t capacity)>;

// One file being received, for callers that are handed the body piece by piece (an HTTP server's
// content receiver). Destroying it before Commit() removes the partial file.
class UploadFileWriter {
 public:
  virtual ~UploadFileWriter() = default;
  // InvalidArgument once more than the allowed bytes arrived; Unavailable on a write error.
  virtual Status Write(std::string_view bytes) = 0;
  // Checks the expected size (InvalidArgument "cut off after N of M bytes"), fsyncs and publishes.
  virtual Result<UploadedFile> Commit() = 0;
};

class UploadStore {
 public:
  UploadStore(std::filesystem::path root, const Clock& clock);

  Result<UploadInfo> Create(std::string_view owner);
  // NotFound for an unknown id and for an upload of another owner (no existence leak).
  Result<UploadInfo> Get(std::string_view id, std::string_view owner) const;
  // Streams one file. `name` must be a plain file name (no '/', '\\', "..", control characters,
  // leading '.', at most 255 bytes, UTF-8): InvalidArgument otherwise. AlreadyExists if the upload
  // has a file of that name. When `expected_size` is given, fewer or more bytes fail with
  // InvalidArgument ("cut off after N of M bytes") and leave nothing; more than `max_bytes` fails too.
  Result<UploadedFile> AddFile(std::string_view id, std::string_view owner, std::string_view name,
                               std::optional<uint64_t> expected_size, uint64_t max_bytes, const BodyReader& read);
  // The same checks as AddFile, for pushing the bytes through the returned writer.
  Result<std::unique_ptr<UploadFileWriter>> OpenFile(std::string_view id, std::string_view owner, std::string_view name,
                                                     std::optional<uint64_t> expected_size, uint64_t max_bytes);
  Status Remove(std::string_view id, std::string_view owner);
  // The folder holding the upload's files, for the ingest source "upload:<id>". NotFound if absent.
  Result<std::filesystem::path> FilesFolder(std::string_view id) const;
  // Removes uploads created more than `older_than` ago; returns how many.
  Result<int64_t> RemoveOlderThan(std::chrono::seconds older_than);

 private:
  std::filesystem::path root_;
  const Clock& clock_;
};

// Checks that `name` is a plain file name an upload may hold (see AddFile).
Status ValidateUploadFileName(std::string_view name);

}  // namespace edl
