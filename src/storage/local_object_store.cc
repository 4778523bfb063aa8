#include "storage/local_object_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>

namespace edl {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kTmpFolder = "tmp";
constexpr std::string_view kSealedFolder = "sealed";
constexpr std::string_view kLockFile = "lock";

// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

fs::path MetaFolder(const fs::path& bucket_folder) {
  return bucket_folder / ".edl";
}

Status FsyncFolder(const fs::path& folder) {
  UniqueFd fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, "open folder", folder.native());
  if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "fsync folder", folder.native());
  return Status::Ok();
}

// mkdir that accepts an existing folder. Sets *created when it made one.
Status MakeFolder(const fs::path& folder, bool* created = nullptr) {
  if (created != nullptr) *created = false;
  if (::mkdir(folder.c_str(), 0755) == 0) {
    if (created != nullptr) *created = true;
    return Status::Ok();
  }
  int err = errno;
  struct stat st {};
  if (err == EEXIST && ::stat(folder.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::Ok();
  return ErrnoStatus(err == EEXIST ? ENOTDIR : err, "create folder", folder.native());
}

// Creates the folders of `relative` (a '/'-separated path) under `base`, which exists. Appends the
// folders it made to `created`, so their parents can be fsynced. A file standing where a folder
// must go is returned as NotFound (ENOTDIR); callers turn it into a better message.
Status MakeFolders(const fs::path& base, std::string_view relative, std::vector<fs::path>* created) {
  fs::path folder = base;
  for (size_t start = 0; start < relative.size();) {
    size_t end = relative.find('/', start);
    if (end == std::string_view::npos) end = relative.size();
    folder /= relative.substr(start, end - start);
    bool made = false;
    RETURN_IF_ERROR(MakeFolder(folder, &made));
    if (made) created->push_back(folder);
    start = end + 1;
  }
  return Status::Ok();
}

// For fsyncs after the bucket lock is released: a concurrent Delete may have emptied and removed
// the folder meanwhile, and made that durable itself.
Status FsyncFolderIfPresent(const fs::path& folder) {
  Status synced = FsyncFolder(folder);
  if (synced.code() == StatusCode::kNotFound) return Status::Ok();
  return synced;
}

// Fsyncs what makes new names durable: the folder holding `path`, and the parent of each folder
// created for it.
Status FsyncNewNames(const fs::path& path, const std::vector<fs::path>& created) {
  RETURN_IF_ERROR(FsyncFolderIfPresent(path.parent_path()));
  for (const fs::path& folder : created) {
    if (folder != path.parent_path()) RETURN_IF_ERROR(FsyncFolderIfPresent(folder.parent_path()));
  }
  return Status::Ok();
}

// Serializes name changes in one bucket across threads and processes: an exclusive flock on
// <bucket>/.edl/lock, held while the object lives. Each lock opens its own file description, so
// two threads of one process exclude each other too.
class BucketLock {
 public:
  static Result<BucketLock> Acquire(const fs::path& bucket_folder) {
    fs::path meta = MetaFolder(bucket_folder);
    RETURN_IF_ERROR(MakeFolder(meta));
    fs::path path = meta / kLockFile;
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd.valid()) return ErrnoStatus(errno, "open lock", path.native());
    while (::flock(fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR) return ErrnoStatus(errno, "lock", path.native());
    }
    return BucketLock(std::move(fd));
  }

 private:
  explicit BucketLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing it releases the lock
};

// strerror without its shared buffer.
std::string ErrorText(int err) {
  return std::error_code(err, std::generic_category()).message();
}

std::chrono::system_clock::time_point ModifiedTime(const struct stat& st) {
  auto since_epoch = std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(since_epoch));
}

Status ObjectNotFound(std::string_view bucket, std::string_view key) {
  return NotFound(fmt::format("object '{}' not found in bucket '{}'", key, bucket));
}

Status SealedConflict(std::string_view key, std::string_view sealed_prefix) {
  return Conflict(
      fmt::format("object key '{}' is under sealed prefix '{}': the update is complete and can no longer change", key,
                  sealed_prefix));
}

Status FolderObjectConflict(std::string_view key, std::string_view what) {
  return Conflict(
      fmt::format("object key '{}' cannot be stored: {}; the local store cannot hold an object and a folder of "
                  "the same name",
                  key, what));
}

// Seal marker of a folder prefix "a/b/": <bucket>/.edl/sealed/2/a/b. Markers of different depths
// live in different trees, so a marker file never stands where another marker needs a folder.
fs::path SealMarker(const fs::path& bucket_folder, std::string_view folder_prefix) {
  std::string_view folder = folder_prefix.substr(0, folder_prefix.size() - 1);
  auto depth = std::count(folder.begin(), folder.end(), '/') + 1;
  return MetaFolder(bucket_folder) / kSealedFolder / std::to_string(depth) / folder;
}

// The sealed folder prefix that `key` lies under, if any. `key` is a key or a folder prefix (which
// counts as under itself).
Result<std::optional<std::string>> FindSealedPrefix(const fs::path& bucket_folder, std::string_view key) {
  for (size_t slash = key.find('/'); slash != std::string_view::npos; slash = key.find('/', slash + 1)) {
    std::string_view prefix = key.substr(0, slash + 1);
    fs::path marker = SealMarker(bucket_folder, prefix);
    struct stat st {};
    if (::stat(marker.c_str(), &st) == 0) return std::optional<std::string>(prefix);
    if (errno != ENOENT && errno != ENOTDIR) return ErrnoStatus(errno, "check seal", marker.native());
  }
  return std::optional<std::string>();
}

Status CheckNotSealed(const fs::path& bucket_folder, std::string_view key) {
  ASSIGN_OR_RETURN(std::optional<std::string> sealed, FindSealedPrefix(bucket_folder, key));
  if (sealed) return SealedConflict(key, *sealed);
  return Status::Ok();
}

// A folder entry, typed without following symlinks.
struct FolderEntry {
  std::string name;
  enum class Kind { kFile, kFolder, kOther } kind;
};

// The entries of `folder`; empty if it vanished (a concurrent delete may prune it).
Result<std::vector<FolderEntry>> ReadFolder(const fs::path& folder) {
  std::vector<FolderEntry> entries;
  DIR* dir = ::opendir(folder.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return entries;
    return ErrnoStatus(errno, "list folder", folder.native());
  }
  std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, ::closedir);
  while (true) {
    errno = 0;
    // Thread-safe: each call has its own DIR stream (glibc; POSIX.1-2024 readdir).
    struct dirent* entry = ::readdir(dir);  // NOLINT(concurrency-mt-unsafe)
    if (entry == nullptr) {
      if (errno != 0) return ErrnoStatus(errno, "list folder", folder.native());
      break;
    }
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    unsigned char type = entry->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st {};
      if (::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      type = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : DT_UNKNOWN;
    }
    FolderEntry::Kind kind = type == DT_REG   ? FolderEntry::Kind::kFile
                             : type == DT_DIR ? FolderEntry::Kind::kFolder
                                              : FolderEntry::Kind::kOther;
    entries.push_back({std::string(name), kind});
  }
  return entries;
}

// One walk of List: visits the bucket's keys in byte order, skipping subtrees that cannot matter.
class Listing {
 public:
  Listing(const ListOptions& options, size_t limit)
      : prefix_(options.prefix),
        rollup_(!options.delimiter.empty()),
        token_mode_(!options.continuation_token.empty()),
        marker_(token_mode_ ? options.continuation_token : options.start_after),
        limit_(limit) {}

  struct Entry {
    bool is_prefix = false;
    ObjectInfo object;          // when !is_prefix
    std::string common_prefix;  // when is_prefix
  };

  // Walks `folder`, whose keys start with `rel` ("" or ending in '/').
  Status Walk(const fs::path& folder, const std::string& rel) {
    ASSIGN_OR_RETURN(std::vector<FolderEntry> children, ReadFolder(folder));
    // A folder "a" holds keys "a/…", which sort after a file "a-b": order by name + '/'.
    std::vector<std::pair<std::string, const FolderEntry*>> ordered;
    for (const FolderEntry& child : children) {
      if (child.kind == FolderEntry::Kind::kOther) continue;
      if (rel.empty() && child.name == kReservedKeySegment) continue;
      std::string key = rel + child.name;
      if (child.kind == FolderEntry::Kind::kFolder) key += '/';
      ordered.emplace_back(std::move(key), &child);
    }
    std::sort(ordered.begin(), ordered.end());
    for (const auto& [key, child] : ordered) {
      if (entries_.size() >= limit_) break;
      fs::path path = folder / child->name;
      if (child->kind == FolderEntry::Kind::kFile) {
        RETURN_IF_ERROR(VisitFile(path, key));
      } else {
        RETURN_IF_ERROR(VisitFolder(path, key));
      }
    }
    return Status::Ok();
  }

  std::vector<Entry>& entries() { return entries_; }

 private:
  Status VisitFile(const fs::path& path, const std::string& key) {
    if (!key.starts_with(prefix_) || key <= marker_ || !ValidateObjectKey(key).ok()) {
      return Status::Ok();
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::Ok();  // deleted meanwhile
      return ErrnoStatus(errno, "stat", path.native());
    }
    if (!S_ISREG(st.st_mode)) return Status::Ok();
    Entry entry;
    entry.object = {key, static_cast<uint64_t>(st.st_size), ModifiedTime(st)};
    entries_.push_back(std::move(entry));
    return Status::Ok();
  }

  // `folder_key` is the folder's key prefix, ending in '/'.
  Status VisitFolder(const fs::path& path, const std::string& folder_key) {
    // Every key below sorts before the marker: nothing to return.
    if (folder_key < marker_ && !marker_.starts_with(folder_key)) return Status::Ok();
    if (!ValidateObjectKey(std::string_view(folder_key).substr(0, folder_key.size() - 1)).ok()) {
      return Status::Ok();
    }
    bool leads_to_prefix = std::string_view(prefix_).starts_with(folder_key);
    if (!leads_to_prefix && !folder_key.starts_with(prefix_)) return Status::Ok();
    if (leads_to_prefix || !rollup_) return Walk(path, folder_key);
    // With the delimiter, a folder below the prefix is one common prefix: walks only descend
    // along the prefix, so the folder's key ends at the first '/' after the prefix.
    if (token_mode_ && folder_key <= marker_) return Status::Ok();
    ASSIGN_OR_RETURN(bool has_keys, HasKeyAfterMarker(path, folder_key));
    if (has_keys) {
      Entry entry;
      entry.is_prefix = true;
      entry.common_prefix = folder_key;
      entries_.push_back(std::move(entry));
    }
    return Status::Ok();
  }

  // Whether the subtree of `folder` holds a listable key after the marker. Empty folders left
  // behind (e.g. by a crash) do not make a common prefix.
  Result<bool> HasKeyAfterMarker(const fs::path& folder, const std::string& rel) {
    ASSIGN_OR_RETURN(std::vector<FolderEntry> children, ReadFolder(folder));
    for (const FolderEntry& child : children) {
      std::string key = rel + child.name;
      if (child.kind == FolderEntry::Kind::kFile) {
        if (key > marker_ && ValidateObjectKey(key).ok()) return true;
      } else if (child.kind == FolderEntry::Kind::kFolder) {
        key += '/';
        if (key < marker_ && !marker_.starts_with(key)) continue;
        ASSIGN_OR_RETURN(bool found, HasKeyAfterMarker(folder / child.name, key));
        if (found) return true;
      }
    }
    return false;
  }

  const std::string& prefix_;
  const bool rollup_;
  const bool token_mode_;
  const std::string& marker_;
  const size_t limit_;
  std::vector<Entry> entries_;
};

}  // namespace

// ---- Writer ----

class LocalObjectStore::Writer final : public ObjectWriter {
 public:
  Writer(LocalObjectStore& store, std::string bucket, fs::path bucket_folder, std::string key, fs::path tmp,
         UniqueFd fd)
      : store_(store),
        bucket_(std::move(bucket)),
        bucket_folder_(std::move(bucket_folder)),
        key_(std::move(key)),
        tmp_(std::move(tmp)),
        fd_(std::move(fd)) {}
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  ~Writer() override { Abort(); }

  Status Write(std::string_view bytes) override {
    RETURN_IF_ERROR(CheckUsable());
    while (!bytes.empty()) {
      ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Fail(ErrnoStatus(errno, "write", tmp_.native()));
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  }

  Status Commit() override {
    RETURN_IF_ERROR(CheckUsable());
    if (::fsync(fd_.get()) != 0) return Fail(ErrnoStatus(errno, "fsync", tmp_.native()));
    if (::close(fd_.release()) != 0) return Fail(ErrnoStatus(errno, "close", tmp_.native()));
    bool renamed = false;
    Status published = store_.Publish(bucket_folder_, key_, tmp_, &renamed);
    // Once renamed, the temp name is free for other uploads and must not be unlinked.
    committed_ = renamed;
    if (!published.ok()) return Fail(published);
    return Status::Ok();
  }

 private:
  Status CheckUsable() const {
    if (committed_) return Internal(fmt::format("upload of '{}' was already committed", key_));
    return failure_;
  }

  // Aborts the upload; every later call returns `status`.
  Status Fail(const Status& status) {
    failure_ = status.WithContext(fmt::format("put '{}' in bucket '{}'", key_, bucket_));
    Abort();
    return failure_;
  }

  void Abort() {
    if (committed_ || aborted_) return;
    aborted_ = true;
    fd_.reset();
    // Best effort: a leftover temp file is invisible and harmless apart from its space.
    ::unlink(tmp_.c_str());
  }

  LocalObjectStore& store_;
  const std::string bucket_;
  const fs::path bucket_folder_;
  const std::string key_;
  const fs::path tmp_;
  UniqueFd fd_;
  Status failure_;
  bool committed_ = false;
  bool aborted_ = false;
};

// ---- Reader ----

namespace {

class LocalReader final : public ObjectReader {
 public:
  LocalReader(UniqueFd fd, uint64_t size, fs::path path) : fd_(std::move(fd)), size_(size), path_(std::move(path)) {}

  Result<size_t> Read(char* buf, size_t n) override {
    while (true) {
      ssize_t got = ::read(fd_.get(), buf, n);
      if (got >= 0) return static_cast<size_t>(got);
      if (errno != EINTR) return ErrnoStatus(errno, "read", path_.native());
    }
  }
  uint64_t size() const override { return size_; }

 private:
  UniqueFd fd_;
  const uint64_t size_;
  const fs::path path_;
};

}  // namespace

// ---- LocalObjectStore ----

Result<std::unique_ptr<LocalObjectStore>> LocalObjectStore::Create(const fs::path& root) {
  std::error_code ec;
  fs::path absolute = fs::absolute(root, ec).lexically_normal();
  if (ec) return InvalidArgument(fmt::format("storage root '{}': {}", root.string(), ec.message()));
  if (absolute.has_parent_path() && !absolute.has_filename()) absolute = absolute.parent_path();
  std::string shown = absolute.string();

  struct stat st {};
  if (::stat(absolute.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return InvalidArgument(fmt::format("storage root '{}' exists but is not a folder", shown));
    }
  } else {
    fs::create_directories(absolute, ec);
    if (ec) {
      return PermissionDenied(
          fmt::format("storage root '{}' does not exist and cannot be created: {}", shown, ec.message()));
    }
  }
  // access() alone is not enough: root passes it everywhere, yet cannot write to /proc or a
  // read-only mount. A probe file settles it.
  if (::access(absolute.c_str(), W_OK | X_OK) != 0) {
    return PermissionDenied(fmt::format("storage root '{}' is not writable: {}", shown, ErrorText(errno)));
  }
  std::string probe = (absolute / ".edl-probe-XXXXXX").string();
  int fd = ::mkstemp(probe.data());
  if (fd < 0) {
    return PermissionDenied(fmt::format("storage root '{}' is not writable: {}", shown, ErrorText(errno)));
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return std::make_unique<LocalObjectStore>(CreateTag(), std::move(absolute));
}

Result<fs::path> LocalObjectStore::BucketFolder(std::string_view bucket) const {
  RETURN_IF_ERROR(ValidateBucketName(bucket));
  fs::path folder = root_ / bucket;
  struct stat st {};
  if (::stat(folder.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return NotFound(fmt::format("bucket '{}' does not exist", bucket));
    }
    return ErrnoStatus(errno, "stat bucket", folder.native());
  }
  if (!S_ISDIR(st.st_mode)) return NotFound(fmt::format("bucket '{}' does not exist", bucket));
  return folder;
}

Status LocalObjectStore::CreateBucket(std::string_view bucket) {
  RETURN_IF_ERROR(ValidateBucketName(bucket));
  fs::path folder = root_ / bucket;
  bool created = false;
  Status made = MakeFolder(folder, &created);
  if (!made.ok()) return made.WithContext(fmt::format("create bucket '{}'", bucket));
  fs::path meta = MetaFolder(folder);
  RETURN_IF_ERROR(MakeFolder(meta));
  RETURN_IF_ERROR(MakeFolder(meta / kTmpFolder));
  RETURN_IF_ERROR(MakeFolder(meta / kSealedFolder));
  if (created) {
    RETURN_IF_ERROR(FsyncFolder(folder));
    RETURN_IF_ERROR(FsyncFolder(root_));
  }
  return Status::Ok();
}

Result<bool> LocalObjectStore::BucketExists(std::string_view bucket) {
  Result<fs::path> folder = BucketFolder(bucket);
  if (folder.ok()) return true;
  if (folder.status().code() == StatusCode::kNotFound) return false;
  return folder.status();
}

Result<std::vector<std::string>> LocalObjectStore::ListBuckets() {
  ASSIGN_OR_RETURN(std::vector<FolderEntry> entries, ReadFolder(root_));
  std::vector<std::string> buckets;
  for (const FolderEntry& entry : entries) {
    // The root may hold other things (the catalog database): only valid bucket names count.
    if (entry.kind == FolderEntry::Kind::kFolder && ValidateBucketName(entry.name).ok()) {
      buckets.push_back(entry.name);
    }
  }
  std::sort(buckets.begin(), buckets.end());
  return buckets;
}

Result<std::unique_ptr<ObjectWriter>> LocalObjectStore::Put(std::string_view bucket, std::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  ASSIGN_OR_RETURN(fs::path bucket_folder, BucketFolder(bucket));
  // Refuse early so an ingest does not upload gigabytes into a complete update; Commit checks again.
  RETURN_IF_ERROR(CheckNotSealed(bucket_folder, key));

  fs::path tmp_folder = MetaFolder(bucket_folder) / kTmpFolder;
  std::string tmp = (tmp_folder / "put-XXXXXX").string();
  int fd = ::mkstemp(tmp.data());
  if (fd < 0 && errno == ENOENT) {  // a bucket folder made by hand, without .edl/
    RETURN_IF_ERROR(MakeFolder(MetaFolder(bucket_folder)));
    RETURN_IF_ERROR(MakeFolder(tmp_folder));
    fd = ::mkstemp(tmp.data());
  }
  if (fd < 0) return ErrnoStatus(errno, "create temp file", tmp);
  ::fchmod(fd, 0644);  // mkstemp makes 0600; objects are as readable as any other file here
  return std::unique_ptr<ObjectWriter>(std::make_unique<Writer>(*this, std::string(bucket), std::move(bucket_folder),
                                                                std::string(key), fs::path(tmp), UniqueFd(fd)));
}

Status LocalObjectStore::Publish(const fs::path& bucket_folder, std::string_view key, const fs::path& tmp,
                                 bool* renamed) {
  fs::path target = bucket_folder / key;
  std::vector<fs::path> created;
  {
    ASSIGN_OR_RETURN(BucketLock lock, BucketLock::Acquire(bucket_folder));
    RETURN_IF_ERROR(CheckNotSealed(bucket_folder, key));
    size_t last_slash = key.rfind('/');
    if (last_slash != std::string_view::npos) {
      Status made = MakeFolders(bucket_folder, key.substr(0, last_slash), &created);
      if (made.code() == StatusCode::kNotFound || made.code() == StatusCode::kAlreadyExists) {
        return FolderObjectConflict(key, "a folder on its path is an object");
      }
      RETURN_IF_ERROR(made);
    }
    if (::rename(tmp.c_str(), target.c_str()) != 0) {
      int err = errno;
      // An empty folder left behind may stand in the way; a folder with objects is a real clash.
      if (err == EISDIR && ::rmdir(target.c_str()) == 0 && ::rename(tmp.c_str(), target.c_str()) == 0) {
        err = 0;
      } else if (err == EISDIR) {
        return FolderObjectConflict(key, fmt::format("'{}/' already holds objects", key));
      }
      if (err != 0) return ErrnoStatus(err, "rename into", target.native());
    }
    *renamed = true;
  }
  return FsyncNewNames(target, created);
}

Result<int64_t> LocalObjectStore::RemoveAbandonedUploads(std::chrono::system_clock::time_point older_than) {
  ASSIGN_OR_RETURN(std::vector<std::string> buckets, ListBuckets());
  int64_t removed = 0;
  for (const std::string& bucket : buckets) {
    fs::path tmp_folder = root_ / bucket / std::string(kReservedKeySegment) / std::string(kTmpFolder);
    std::error_code ec;
    for (fs::directory_iterator it(tmp_folder, ec), end; !ec && it != end; it.increment(ec)) {
      struct stat info {};
      if (::lstat(it->path().c_str(), &info) != 0 || !S_ISREG(info.st_mode)) continue;
      auto modified = std::chrono::system_clock::from_time_t(info.st_mtim.tv_sec);
      if (modified >= older_than) continue;
      if (::unlink(it->path().c_str()) == 0) ++removed;
    }
  }
  return removed;
}

Status LocalObjectStore::PutFile(std::string_view bucket, std::string_view key, const fs::path& local_file) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  ASSIGN_OR_RETURN(fs::path bucket_folder, BucketFolder(bucket));
  struct stat file_stat {};
  struct stat bucket_stat {};
  if (::stat(local_file.c_str(), &file_stat) != 0) return ErrnoStatus(errno, "stat", local_file.native());
  if (!S_ISREG(file_stat.st_mode)) return InvalidArgument(fmt::format("'{}' is not a regular file", local_file.native()));
  if (::stat(bucket_folder.c_str(), &bucket_stat) != 0) return ErrnoStatus(errno, "stat", bucket_folder.native());
  if (file_stat.st_dev != bucket_stat.st_dev) return ObjectStore::PutFile(bucket, key, local_file);
  {
    UniqueFd fd(::open(local_file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return ErrnoStatus(errno, "open", local_file.native());
    if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "fsync", local_file.native());
  }
  bool renamed = false;
  return Publish(bucket_folder, key, local_file, &renamed);
}

Result<std::unique_ptr<ObjectReader>> LocalObjectStore::Get(std::string_view bucket, std::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  ASSIGN_OR_RETURN(fs::path bucket_folder, BucketFolder(bucket));
  fs::path path = bucket_folder / key;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) return ObjectNotFound(bucket, key);
    return ErrnoStatus(errno, "open", path.native());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat", path.native());
  if (!S_ISREG(st.st_mode)) return ObjectNotFound(bucket, key);
  return std::unique_ptr<ObjectReader>(
      std::make_unique<LocalReader>(std::move(fd), static_cast<uint64_t>(st.st_size), path));
}

Result<ObjectInfo> LocalObjectStore::Head(std::string_view bucket, std::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  ASSIGN_OR_RETURN(fs::path bucket_folder, BucketFolder(bucket));
  fs::path path = bucket_folder / key;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return ObjectNotFound(bucket, key);
    return ErrnoStatus(errno, "stat", path.native());
  }
  if (!S_ISREG(st.st_mode)) return ObjectNotFound(bucket, key);
  return ObjectInfo{std::string(key), static_cast<uint64_t>(st.st_size), ModifiedTime(st)};
}

Result<ListPage> LocalObjectStore::List(std::string_view bucket, const ListOptions& options) {
  if (!options.delimiter.empty() && options.delimiter != "/") {
    return InvalidArgument(fmt::format("list delimiter '{}' is not supported; use '/' or none", options.delimiter));
  }
  if (options.max_keys < 0) {
    return InvalidArgument(fmt::format("list max_keys is {}; it must be 0 or more", options.max_keys));
  }
  ASSIGN_OR_RETURN(fs::path bucket_folder, BucketFolder(bucket));
  auto max_keys = static_cast<size_t>(std::min(options.max_keys, kMaxListKeys));
  ListPage page;
  if (max_keys == 0) return page;

  // One entry more than the page holds tells whether another page follows.
  Listing listing(options, max_keys + 1);
  Status walked = listing.Walk(bucket_folder, "");
  if (!walked.ok()) return walked.WithContext(fmt::format("list bucket '{}'", bucket));
  std::vector<Listing::Entry>& entries = listing.entries();
  if (entries.size() > max_keys) {
    entries.resize(max_keys);
    const Listing::Entry& last = entries.back();
    page.next_token = last.is_prefix ? last.common_prefix : last.object.key;
  }
  for (Listing::Entry& entry : entries) {
    if (entry.is_prefix) {
      page.common_prefixes.push_back(std::move(entry.common_prefix));
    } else {
      page.objects.push_back(std::move(entry.object));
    }
  }
  return page;
}

Status LocalObjectStore::Delete(std::string_view bucket, std::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  ASSIGN_OR_RETURN(fs::path bucket_folder, BucketFolder(bucket));
  fs::path path = bucket_folder / key;
  fs::path kept_folder = path.parent_path();  // the deepest folder that still holds something
  {
    ASSIGN_OR_RETURN(BucketLock lock, BucketLock::Acquire(bucket_folder));
    RETURN_IF_ERROR(CheckNotSealed(bucket_folder, key));
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return ObjectNotFound(bucket, key);
      return ErrnoStatus(errno, "stat", path.native());
    }
    if (!S_ISREG(st.st_mode)) return ObjectNotFound(bucket, key);
    if (::unlink(path.c_str()) != 0) return ErrnoStatus(errno, "delete", path.native());
    // S3 has no folders: remove the ones this delete emptied, so they do not linger in listings
    // of the folder tree. Under the lock, so a concurrent Publish cannot lose its new folder.
    while (kept_folder != bucket_folder && ::rmdir(kept_folder.c_str()) == 0) {
      kept_folder = kept_folder.parent_path();
    }
  }
  Status synced = FsyncFolderIfPresent(kept_folder);
  if (!synced.ok()) return synced.WithContext(fmt::format("delete '{}' in bucket '{}'", key, bucket));
  return Status::Ok();
}

Status LocalObjectStore::Seal(std::string_view bucket, std::string_view prefix) {
  RETURN_IF_ERROR(ValidateObjectPrefix(prefix));
  ASSIGN_OR_RETURN(fs::path bucket_folder, BucketFolder(bucket));
  fs::path marker = SealMarker(bucket_folder, prefix);
  std::vector<fs::path> created;
  {
    ASSIGN_OR_RETURN(BucketLock lock, BucketLock::Acquire(bucket_folder));
    ASSIGN_OR_RETURN(std::optional<std::string> sealed, FindSealedPrefix(bucket_folder, prefix));
    if (sealed) return Status::Ok();
    fs::path marker_base = MetaFolder(bucket_folder);
    std::string relative = marker.lexically_relative(marker_base).parent_path().string();
    RETURN_IF_ERROR(MakeFolders(marker_base, relative, &created));
    UniqueFd fd(::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (!fd.valid()) return ErrnoStatus(errno, "create seal marker", marker.native());
    std::string content = std::string(prefix) + "\n";
    if (::write(fd.get(), content.data(), content.size()) < 0) {
      return ErrnoStatus(errno, "write seal marker", marker.native());
    }
    if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "fsync seal marker", marker.native());
  }
  Status synced = FsyncNewNames(marker, created);
  if (!synced.ok()) return synced.WithContext(fmt::format("seal '{}' in bucket '{}'", prefix, bucket));
  return Status::Ok();
}

Result<bool> LocalObjectStore::IsSealed(std::string_view bucket, std::string_view key) {
  if (!key.empty() && key.back() == '/') {
    RETURN_IF_ERROR(ValidateObjectPrefix(key));
  } else {
    RETURN_IF_ERROR(ValidateObjectKey(key));
  }
  ASSIGN_OR_RETURN(fs::path bucket_folder, BucketFolder(bucket));
  ASSIGN_OR_RETURN(std::optional<std::string> sealed, FindSealedPrefix(bucket_folder, key));
  return sealed.has_value();
}

std::optional<fs::path> LocalObjectStore::LocalPath(std::string_view bucket, std::string_view key) const {
  if (!ValidateBucketName(bucket).ok()) return std::nullopt;
  if (!key.empty() && key.back() == '/') {
    if (!ValidateObjectPrefix(key).ok()) return std::nullopt;
    key.remove_suffix(1);
  } else if (!ValidateObjectKey(key).ok()) {
    return std::nullopt;
  }
  return root_ / bucket / key;
}

}  // namespace edl
