// Local sources: a file, a folder (recursive, names relative to it) or a glob (names relative to the
// pattern's fixed leading folders). Files are streamed into the work folder, hashed on the way; a
// file whose size or mtime moves during the copy, or that yields other than its size, is a Conflict.
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <cerrno>
#include <system_error>
#include <utility>
#include <vector>

#include "ingest/source_internal.h"

namespace edl::ingest_internal {
namespace {

namespace fs = std::filesystem;

bool HasGlobMeta(std::string_view text) {
  return text.find_first_of("*?[") != std::string_view::npos;
}

bool IsWithin(const fs::path& path, const fs::path& folder) {
  auto [folder_end, path_it] = std::mismatch(folder.begin(), folder.end(), path.begin(), path.end());
  return folder_end == folder.end();
}

struct Item {
  fs::path source;
  std::string name;
};

// glob(3) reports unreadable folders through a callback without a user pointer.
thread_local int glob_errno = 0;
thread_local std::string glob_error_path;
int OnGlobError(const char* path, int err) {
  glob_errno = err;
  glob_error_path = path;
  return 1;  // abort: an unreadable folder must not shrink the match silently
}

// Hashes a file that is being written, on its own thread, up to the length the writer says is
// there (CopiedUpTo), reading it back from the page cache. Finish() waits and returns the digest.
class CopyHasher {
 public:
  CopyHasher(int fd, fs::path path, Sha256 hash)
      : fd_(fd), path_(std::move(path)), hash_(std::move(hash)), thread_([this] { Run(); }) {}
  ~CopyHasher() { Stop(); }
  CopyHasher(const CopyHasher&) = delete;
  CopyHasher& operator=(const CopyHasher&) = delete;

  void CopiedUpTo(uint64_t length) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      available_ = length;
    }
    changed_.notify_all();
  }

  Result<std::string> Finish() {
    Stop();
    RETURN_IF_ERROR(status_);
    return hash_.HexDigest();
  }

 private:
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void Run() {
    std::vector<char> block(1 << 20);
    uint64_t hashed = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      changed_.wait(lock, [&] { return available_ > hashed || done_; });
      if (available_ <= hashed) return;  // done and caught up
      uint64_t until = available_;
      lock.unlock();
      while (hashed < until) {
        size_t want = static_cast<size_t>(std::min<uint64_t>(block.size(), until - hashed));
        ssize_t n = ::pread(fd_, block.data(), want, static_cast<off_t>(hashed));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          lock.lock();
          status_ = n < 0 ? ErrnoStatus(errno, "read back", path_.string())
                          : Internal("the copy '" + path_.string() + "' is shorter than what was written");
          return;
        }
        hash_.Update(block.data(), static_cast<size_t>(n));
        hashed += static_cast<uint64_t>(n);
      }
      lock.lock();
    }
  }

  const int fd_;
  const fs::path path_;
  Sha256 hash_;
  std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t available_ = 0;
  bool done_ = false;
  Status status_;
  std::thread thread_;  // last: starts after every member it uses exists
};

class LocalSource final : public Source {
 public:
  LocalSource(std::string spec, LocalReadHooks hooks) : spec_(std::move(spec)), hooks_(std::move(hooks)) {
    if (hooks_.buffer_size == 0) hooks_.buffer_size = 1;
  }

  std::string Describe() const override { return spec_; }

  Result<std::vector<FetchedFile>> Fetch(const fs::path& dest_dir, const FetchOptions& options,
                                         ProgressReporter& progress) override {
    ASSIGN_OR_RETURN(std::vector<Item> items, Collect());
    // Sizes as listed; the copy checks again against what it reads.
    uint64_t listed = 0;
    for (const Item& item : items) {
      struct stat st {};
      if (::stat(item.source.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", item.source.string());
      listed += static_cast<uint64_t>(st.st_size);
    }
    if (listed > options.max_bytes) {
      return InvalidArgument("source '" + spec_ + "' holds " + std::to_string(listed) + " bytes, over the limit of " +
                             std::to_string(options.max_bytes));
    }
    FetchProgress fetch_progress(progress, static_cast<int64_t>(items.size()), listed);
    std::vector<FetchedFile> fetched;
    fetched.reserve(items.size());
    uint64_t total = 0;
    std::vector<char> buffer(hooks_.buffer_size);
    for (const Item& item : items) {
      ASSIGN_OR_RETURN(FetchedFile file, Copy(item, dest_dir, options.max_bytes, total, buffer, fetch_progress));
      fetched.push_back(std::move(file));
      fetch_progress.FileDone();
    }
    return fetched;
  }

 private:
  Result<std::vector<Item>> Collect() const {
    std::vector<Item> items;
    struct stat lst {};
    bool exists_literally = ::lstat(spec_.c_str(), &lst) == 0;
    int lstat_errno = errno;
    if (!exists_literally && HasGlobMeta(spec_)) {
      RETURN_IF_ERROR(Glob(items));
    } else {
      if (!exists_literally) {
        if (lstat_errno == ENOENT || lstat_errno == ENOTDIR) {
          return NotFound("local source '" + spec_ + "' does not exist");
        }
        return ErrnoStatus(lstat_errno, "stat", spec_);
      }
      // A folder named directly gives names relative to it: "in/" holding "a/b.csv" gives "a/b.csv".
      RETURN_IF_ERROR(AddPath(spec_, "", items));
    }
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.name < b.name; });
    return items;
  }

  // A path the user named (directly or through a glob): a file is taken as it is (symlinks
  // followed), a folder recursively with names under `name`.
  Status AddPath(const fs::path& path, const std::string& name, std::vector<Item>& items) const {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return NotFound("local source '" + path.string() + "' is a dangling symlink");
      return ErrnoStatus(errno, "stat", path.string());
    }
    if (S_ISREG(st.st_mode)) {
      items.push_back({path, name.empty() ? path.filename().string() : name});
      return Status::Ok();
    }
    if (S_ISDIR(st.st_mode)) {
      size_t before = items.size();
      RETURN_IF_ERROR(Walk(path, name.empty() ? "" : name + "/", items));
      if (items.size() == before) return NotFound("local folder '" + path.string() + "' holds no files");
      return Status::Ok();
    }
    return InvalidArgument("local source '" + path.string() + "' is neither a regular file nor a folder");
  }

  Status Walk(const fs::path& folder, const std::string& prefix, std::vector<Item>& items) const {
    std::error_code ec;
    fs::path root = fs::canonical(folder, ec);
    if (ec) return ErrnoStatus(ec.value(), "resolve", folder.string());
    fs::recursive_directory_iterator it(folder, fs::directory_options::none, ec);
    if (ec) return ErrnoStatus(ec.value(), "list", folder.string());
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const fs::path& path = it->path();
      std::string name = prefix + path.lexically_relative(folder).generic_string();
      fs::file_status status = it->symlink_status(ec);
      if (ec) return ErrnoStatus(ec.value(), "stat", path.string());
      if (fs::is_directory(status)) continue;
      if (fs::is_regular_file(status)) {
        items.push_back({path, name});
        continue;
      }
      if (fs::is_symlink(status)) {
        fs::path target = fs::canonical(path, ec);
        if (ec) return NotFound("symlink '" + path.string() + "' in local source '" + spec_ + "' is dangling");
        if (!IsWithin(target, root)) {
          return InvalidArgument("symlink '" + path.string() + "' points outside the source folder '" +
                                 folder.string() + "'");
        }
        if (fs::is_regular_file(target, ec)) {
          items.push_back({path, name});
          continue;
        }
        return InvalidArgument("symlink '" + path.string() + "' points to a folder; folder symlinks are not followed");
      }
      return InvalidArgument("'" + path.string() + "' in local source '" + spec_ + "' is not a regular file");
    }
    if (ec) return ErrnoStatus(ec.value(), "list", folder.string());
    return Status::Ok();
  }

  Status Glob(std::vector<Item>& items) const {
    // Names are relative to the pattern's leading folders without wildcards: "in/*/x.csv" gives "a/x.csv".
    fs::path pattern = fs::path(spec_).lexically_normal();
    fs::path base;
    for (const fs::path& part : pattern) {
      if (HasGlobMeta(part.string())) break;
      base /= part;
    }
    glob_t matches{};
    glob_errno = 0;
    // glob(3) is unsafe only against concurrent changes of the environment or locale.
    int rc = ::glob(spec_.c_str(), GLOB_ERR, OnGlobError, &matches);  // NOLINT(concurrency-mt-unsafe)
    std::vector<std::string> paths;
    if (rc == 0) paths.assign(matches.gl_pathv, matches.gl_pathv + matches.gl_pathc);
    globfree(&matches);
    if (rc == GLOB_NOMATCH) return NotFound("no file matches the pattern '" + spec_ + "'");
    if (rc == GLOB_ABORTED) return ErrnoStatus(glob_errno, "list", glob_error_path);
    if (rc != 0) return Unavailable("glob '" + spec_ + "' failed (out of memory)");
    for (const std::string& match : paths) {
      fs::path normal = fs::path(match).lexically_normal();
      std::string name = (base.empty() ? normal : normal.lexically_relative(base)).generic_string();
      if (name.empty() || name == "." || name.rfind("..", 0) == 0) name = normal.filename().generic_string();
      RETURN_IF_ERROR(AddPath(match, name, items));
    }
    return Status::Ok();
  }

  Result<FetchedFile> Copy(const Item& item, const fs::path& dest_dir, uint64_t max_bytes, uint64_t& total,
                           std::vector<char>& buffer, FetchProgress& progress) const {
    const std::string source = item.source.string();
    Fd in(::open(item.source.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0) return ErrnoStatus(errno, "open", source);
    struct stat before {};
    if (::fstat(in.get(), &before) != 0) return ErrnoStatus(errno, "stat", source);
    if (!S_ISREG(before.st_mode)) return InvalidArgument("'" + source + "' is not a regular file");
    const uint64_t expected = static_cast<uint64_t>(before.st_size);

    FetchedFile file;
    file.name = item.name;
    file.path = dest_dir / item.name;
    file.uri = fs::absolute(item.source).lexically_normal().string();
    ASSIGN_OR_RETURN(int out_fd, CreateExclusive(file.path));
    Fd out(out_fd);
    // The kernel copies (copy_file_range: no trip through this process) while a helper thread
    // hashes the copy's bytes as they land, so the hash is exactly of what was stored.
    Fd reader(::open(file.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (reader.get() < 0) return ErrnoStatus(errno, "open", file.path.string());
    ASSIGN_OR_RETURN(Sha256 hash, Sha256::Create());
    CopyHasher hasher(reader.get(), file.path, std::move(hash));
    bool kernel_copy = true;
    uint64_t copied = 0;
    while (true) {
      ssize_t n = 0;
      if (kernel_copy) {
        n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, buffer.size(), 0);
        if (n < 0 && copied == 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
          kernel_copy = false;  // e.g. across file systems on older kernels: copy through a buffer
          continue;
        }
      } else {
        n = ::read(in.get(), buffer.data(), buffer.size());
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, kernel_copy ? "copy" : "read", source);
      }
      if (n == 0) break;
      const uint64_t got = static_cast<uint64_t>(n);
      copied += got;
      // Stops a file that keeps growing from being read forever.
      if (copied > expected) {
        return Conflict("local file '" + source + "' changed while it was read (grew past its size of " +
                        std::to_string(expected) + " bytes)");
      }
      if (total + got > max_bytes) {
        return InvalidArgument("source '" + spec_ + "' is over the limit of " + std::to_string(max_bytes) + " bytes");
      }
      total += got;
      if (!kernel_copy) RETURN_IF_ERROR(WriteAll(out.get(), buffer.data(), got, file.path));
      hasher.CopiedUpTo(copied);
      progress.AddBytes(got);
      if (progress.Cancelled()) return Conflict("cancelled");
      if (hooks_.after_read) hooks_.after_read(item.source, copied);
    }
    struct stat after {};
    if (::fstat(in.get(), &after) != 0) return ErrnoStatus(errno, "stat", source);
    if (copied != expected || after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
        after.st_mtim.tv_nsec != before.st_mtim.tv_nsec) {
      return Conflict("local file '" + source + "' changed while it was read (size " + std::to_string(expected) +
                      " before, " + std::to_string(after.st_size) + " after, " + std::to_string(copied) + " read)");
    }
    // Start writing the copy to disk now, while it is converted, so the fsync that publishes it
    // later has little left to do. Best effort: publishing fsyncs anyway.
    ::sync_file_range(out.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
    RETURN_IF_ERROR(out.Close(file.path));
    file.size = copied;
    ASSIGN_OR_RETURN(file.sha256, hasher.Finish());
    return file;
  }

  const std::string spec_;
  LocalReadHooks hooks_;
};

}  // namespace

std::unique_ptr<Source> OpenLocalSource(std::string path_or_glob, LocalReadHooks hooks) {
  return std::make_unique<LocalSource>(std::move(path_or_glob), std::move(hooks));
}

}  // namespace edl::ingest_internal
