// ObjectStore: buckets of objects named by '/'-separated keys, with the semantics of S3
// (design.md §3, §6), plus sealing, which freezes a finished update's folder forever.
// Two real implementations: LocalObjectStore (a folder per bucket) and an S3 one.
// Ownership: callers borrow the store (ObjectStore&); the readers and writers it returns are owned
// by the caller and must not outlive the store.
// Thread-safety: implementations must be thread-safe; one ObjectReader/ObjectWriter is not.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace edl {

inline constexpr size_t kMaxObjectKeyLength = 1024;        // bytes, as S3
inline constexpr size_t kMaxObjectKeySegmentLength = 255;  // bytes, a file name on most file systems
inline constexpr int kMaxListKeys = 1000;                  // per List page, as S3
// Keys whose first segment is ".edl" belong to the store itself (temp files, seal markers).
inline constexpr std::string_view kReservedKeySegment = ".edl";

// Each returns InvalidArgument naming the bucket or key and the rule it breaks.
// Bucket: 3–63 characters of [a-z0-9-], starting and ending with a letter or digit.
Status ValidateBucketName(std::string_view bucket);
// Key: 1–1024 bytes of valid UTF-8 without control characters (C0, DEL, C1) or '\'; segments
// between '/' are 1–255 bytes and not "." or ".."; no leading or trailing '/'; not under ".edl/".
Status ValidateObjectKey(std::string_view key);
// Folder prefix, as taken by Seal: a valid key followed by '/', e.g. "sales/data/update-00000001/".
Status ValidateObjectPrefix(std::string_view prefix);

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::chrono::system_clock::time_point modified;
};

// S3 ListObjectsV2. Keys are compared as bytes (for UTF-8: code point order).
struct ListOptions {
  std::string prefix;              // only keys starting with this (any string)
  std::string delimiter;           // "" lists every key; "/" rolls keys up into common_prefixes
  std::string start_after;         // only entries after this key; ignored with continuation_token
  std::string continuation_token;  // the previous page's next_token; opaque
  int max_keys = kMaxListKeys;     // objects + common prefixes per page; above 1000 means 1000
};

struct ListPage {
  std::vector<ObjectInfo> objects;           // sorted by key
  std::vector<std::string> common_prefixes;  // sorted; each ends with the delimiter
  std::string next_token;                    // empty when this is the last page
};

// A streaming upload of one object. Nothing is visible until Commit, which publishes the whole
// object atomically (replacing an older one). Destroying a writer without a successful Commit
// aborts the upload and leaves no trace. After a failed Write, or any Commit, the writer is spent:
// later calls fail.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual Status Write(std::string_view bytes) = 0;
  // Makes the object durable and visible. Conflict if the key was sealed meanwhile.
  virtual Status Commit() = 0;
};

// A streaming download of one object as it was when Get returned: a later overwrite or delete
// either does not affect the reader or makes Read fail; versions are never mixed.
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  // Reads up to `n` bytes into `buf`; returns how many, 0 at the end of the object.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  virtual uint64_t size() const = 0;
};

// Every method validates its bucket name and key (InvalidArgument), and returns NotFound naming
// the bucket when the bucket does not exist.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // OK if the bucket already exists.
  virtual Status CreateBucket(std::string_view bucket) = 0;
  virtual Result<bool> BucketExists(std::string_view bucket) = 0;
  // Sorted by name.
  virtual Result<std::vector<std::string>> ListBuckets() = 0;

  // Starts an upload. Conflict if `key` is sealed (checked again at Commit).
  virtual Result<std::unique_ptr<ObjectWriter>> Put(std::string_view bucket, std::string_view key) = 0;
  virtual Result<std::unique_ptr<ObjectReader>> Get(std::string_view bucket, std::string_view key) = 0;
  virtual Result<ObjectInfo> Head(std::string_view bucket, std::string_view key) = 0;
  virtual Result<ListPage> List(std::string_view bucket, const ListOptions& options) = 0;
  // NotFound if the object does not exist; Conflict if it is sealed.
  virtual Status Delete(std::string_view bucket, std::string_view key) = 0;

  // Makes every key under `prefix` (a folder, ending in '/') immutable forever: afterwards Put,
  // Commit and Delete of such keys fail with Conflict. Idempotent. Sibling folders are unaffected
  // ("update-00000002/" stays writable when "update-00000001/" is sealed).
  virtual Status Seal(std::string_view bucket, std::string_view prefix) = 0;
  // Whether `key` (or a folder prefix ending in '/') lies under a sealed prefix.
  virtual Result<bool> IsSealed(std::string_view bucket, std::string_view key) = 0;

  // Removes what uploads that never committed left behind (a writer that crashed) when it was last
  // touched before `older_than`; a live upload keeps writing and so stays newer. Returns how many.
  virtual Result<int64_t> RemoveAbandonedUploads(std::chrono::system_clock::time_point older_than) = 0;

  // Escape hatch for the engine, which reads files by path: the local file of `key` (or the local
  // folder of a prefix ending in '/') when this store keeps objects as local files; nullopt when it
  // does not (S3) or the bucket or key is invalid. The path may not exist. Read-only use: writing
  // through it bypasses atomic commits and sealing.
  virtual std::optional<std::filesystem::path> LocalPath(std::string_view bucket, std::string_view key) const = 0;

  // Publishes the local file `local_file` as `key` and consumes it: on success the local file is
  // gone (a local store moves it when it is on the same file system, others upload and delete it);
  // on failure it is left in place. Same refusals as Put/Commit.
  virtual Status PutFile(std::string_view bucket, std::string_view key, const std::filesystem::path& local_file);

  // Put + Write + Commit.
  Status PutBytes(std::string_view bucket, std::string_view key, std::string_view bytes);
  // Get + Read to the end.
  Result<std::string> GetBytes(std::string_view bucket, std::string_view key);
};

}  // namespace edl
