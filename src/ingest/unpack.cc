// Unpacking with libarchive. A fetched file is probed by content: an archive (zip or tar, under any
// supported compression), a single compressed file, or a plain file. Archive entries and
// decompressed files are first written to a private staging folder inside out_dir under
// meaningless names, checked and counted while they stream, and moved to their final names only
// when the whole fetched file has unpacked cleanly; a refusal removes the staging folder, so
// nothing of a refused archive is left behind.
#include "ingest/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <exception>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#include "ingest/source_internal.h"

namespace edl {
namespace {

namespace fs = std::filesystem;
using ingest_internal::Fd;
using ingest_internal::Sha256;

constexpr uint64_t kRatioFloorBytes = 1 << 20;  // below this much output the ratio is not judged
constexpr size_t kReadBlockBytes = size_t{64} * 1024;
constexpr size_t kDataBufferBytes = size_t{256} * 1024;
constexpr int kMaxDepth = 2;  // the fetched file's archive, and archives directly inside it

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchiveReader = std::unique_ptr<archive, ArchiveDeleter>;

enum class Kind { kPlain, kArchive, kCompressed };

// "a" + separator + "b", e.g. "data.zip:inner.zip" (an archive label) or "data/a.csv" (a name).
std::string Join(std::string_view a, char separator, std::string_view b) {
  std::string out;
  out.reserve(a.size() + 1 + b.size());
  out.append(a);
  out.push_back(separator);
  out.append(b);
  return out;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// `name` without the first of `suffixes` it ends with (case-insensitive); unchanged when none
// matches or nothing would remain of the file name.
std::string StripSuffix(const std::string& name, std::initializer_list<std::string_view> suffixes) {
  const std::string lower = Lower(name);
  for (std::string_view suffix : suffixes) {
    if (lower.size() > suffix.size() && lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string stripped = name.substr(0, name.size() - suffix.size());
      if (!stripped.empty() && stripped.back() != '/') return stripped;
    }
  }
  return name;
}

// "x.csv.gz" -> "x.csv".
std::string StripCompression(const std::string& name) {
  return StripSuffix(name, {".gz", ".gzip", ".bz2", ".bz", ".xz", ".lzma", ".lz", ".zst", ".zstd", ".lz4", ".z"});
}

// "data.zip" -> "data", "d.tar.gz" -> "d", "d.tgz" -> "d".
std::string ArchiveStem(const std::string& name) {
  std::string stem = StripSuffix(name, {".zip", ".tgz", ".tbz2", ".tbz", ".txz", ".tzst", ".tar"});
  if (stem != name) return stem;
  return StripSuffix(StripCompression(name), {".tar", ".zip"});
}

// Compression filters built into libarchive, named one by one: support_filter_all would also
// decode uuencoded text and run external programs (lrzip, lzop, grzip) on untrusted input.
void SupportFilters(archive* a) {
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_lzma(a);
  archive_read_support_filter_lzip(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_filter_lz4(a);
  archive_read_support_filter_compress(a);
}

// A reader for `path`: archive formats (zip, tar) or, with `raw`, one compressed stream. A failed
// open leaves the reader in its fatal state, which the first read reports.
Result<ArchiveReader> OpenReader(const fs::path& path, bool raw, int* open_rc = nullptr) {
  ArchiveReader reader(archive_read_new());
  if (!reader) return Internal("cannot create an archive reader");
  SupportFilters(reader.get());
  if (raw) {
    archive_read_support_format_raw(reader.get());
  } else {
    archive_read_support_format_zip(reader.get());
    archive_read_support_format_tar(reader.get());
  }
  int rc = archive_read_open_filename(reader.get(), path.c_str(), kReadBlockBytes);
  if (open_rc != nullptr) *open_rc = rc;
  return reader;
}

std::string ArchiveError(archive* a) {
  const char* text = archive_error_string(a);
  return text != nullptr ? text : "unknown error";
}

// What `path` holds, judged by its first bytes (and, for zip, its central directory).
Result<Kind> Probe(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", path.string());
  if (st.st_size == 0) return Kind::kPlain;
  {
    // Opening chooses the format: success means an archive, even one broken further on. Except
    // one without entries: zeros look like an empty tar, and their bytes must not vanish.
    int rc = ARCHIVE_FATAL;
    ASSIGN_OR_RETURN(ArchiveReader reader, OpenReader(path, false, &rc));
    if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN) {
      archive_entry* entry = nullptr;
      if (archive_read_next_header(reader.get(), &entry) != ARCHIVE_EOF) return Kind::kArchive;
    }
  }
  ASSIGN_OR_RETURN(ArchiveReader reader, OpenReader(path, true));
  if (archive_filter_count(reader.get()) > 0 && archive_filter_code(reader.get(), 0) != ARCHIVE_FILTER_NONE) {
    return Kind::kCompressed;
  }
  return Kind::kPlain;
}

// rename(2) that never replaces `to`. 0 or an errno value.
int RenameNoReplace(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  // File systems without RENAME_NOREPLACE: link(2) refuses an existing name too.
  if (::link(from.c_str(), to.c_str()) != 0) return errno;
  if (::unlink(from.c_str()) != 0) return errno;
  return 0;
}

// Creates the folders of `folder` below `root` that are missing, recording each one created.
Status MakeFolders(const fs::path& root, const fs::path& relative_folder, std::vector<fs::path>& created) {
  fs::path current = root;
  for (const fs::path& part : relative_folder) {
    current /= part;
    if (::mkdir(current.c_str(), 0755) == 0) {
      created.push_back(current);
      continue;
    }
    if (errno != EEXIST) return ErrnoStatus(errno, "create folder", current.string());
    struct stat st {};
    if (::lstat(current.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", current.string());
    if (!S_ISDIR(st.st_mode)) return AlreadyExists("'" + current.string() + "' exists and is not a folder");
  }
  return Status::Ok();
}

// Removes `folder` and everything in it when it goes out of scope.
class StagingFolder {
 public:
  explicit StagingFolder(fs::path path) : path_(std::move(path)) {}
  StagingFolder(const StagingFolder&) = delete;
  StagingFolder& operator=(const StagingFolder&) = delete;
  ~StagingFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class Unpacker {
 public:
  Unpacker(const FetchedFile& file, const fs::path& out_dir, const fs::path& staging, const UnpackLimits& limits,
           uint64_t packed_bytes)
      : file_(file),
        out_dir_(out_dir),
        staging_(staging),
        limits_(limits),
        packed_bytes_(packed_bytes),
        buffer_(kDataBufferBytes) {}

  // Unpacks the archive at `path` (called `label` in messages) with its entries named under `base`.
  Status UnpackArchive(const fs::path& path, const std::string& label, const std::string& base, int depth) {
    ASSIGN_OR_RETURN(ArchiveReader reader, OpenReader(path, false));
    archive* a = reader.get();
    while (true) {
      archive_entry* entry = nullptr;
      int rc = archive_read_next_header(a, &entry);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return Corrupt(a, label, "");
      const char* raw_name = archive_entry_pathname_utf8(entry);
      if (raw_name == nullptr) raw_name = archive_entry_pathname(entry);
      const std::string shown = raw_name != nullptr ? raw_name : "";
      if (++entries_ > limits_.max_entries) {
        return Refuse(label, shown, "the archive has more than " + std::to_string(limits_.max_entries) + " entries");
      }
      ASSIGN_OR_RETURN(std::string entry_path, CleanEntryPath(label, shown));
      const mode_t type = archive_entry_filetype(entry);
      if (type == AE_IFDIR && archive_entry_hardlink(entry) == nullptr) continue;  // folders follow from file names
      if (entry_path.empty()) return Refuse(label, shown, "the entry has no file name");
      if (IsJunk(entry_path)) {
        skipped_.push_back(Join(label, ':', shown));
        continue;
      }
      if (archive_entry_hardlink(entry) != nullptr) return Refuse(label, shown, "hard links are not allowed");
      if (type == AE_IFLNK || archive_entry_symlink(entry) != nullptr) {
        return Refuse(label, shown, "symlinks are not allowed");
      }
      if (type != AE_IFREG) return Refuse(label, shown, "only regular files are allowed (device, fifo or socket)");
      if (archive_entry_is_encrypted(entry)) return Refuse(label, shown, "encrypted entries are not supported");
      // Declared sizes fail early; the bytes themselves are counted while streaming.
      if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > 0 &&
          total_bytes_ + static_cast<uint64_t>(archive_entry_size(entry)) > limits_.max_total_bytes) {
        return Refuse(label, shown, TooLarge());
      }
      ASSIGN_OR_RETURN(Leaf leaf, Extract(a, label, shown));
      leaf.name = Join(base, '/', entry_path);
      RETURN_IF_ERROR(Place(std::move(leaf), Join(label, ':', shown), depth));
    }
    return Status::Ok();
  }

  // Decompresses the single compressed file at `path` into the file `name`.
  Status Decompress(const fs::path& path, const std::string& label, const std::string& name, int depth) {
    ASSIGN_OR_RETURN(ArchiveReader reader, OpenReader(path, true));
    archive* a = reader.get();
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a, &entry);
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return Corrupt(a, label, "");
    if (++entries_ > limits_.max_entries) {
      return Refuse(label, "", "more than " + std::to_string(limits_.max_entries) + " entries");
    }
    ASSIGN_OR_RETURN(Leaf leaf, Extract(a, label, ""));
    leaf.name = name;
    return Place(std::move(leaf), label + ":" + fs::path(name).filename().string(), depth);
  }

  // Moves every unpacked file to its name under out_dir; on failure removes what it moved.
  Status Publish(UnpackResult& result) {
    std::set<std::string> names;
    for (const Leaf& leaf : leaves_) {
      if (!names.insert(leaf.name).second) {
        return InvalidArgument("'" + file_.name + "' unpacks to '" + leaf.name + "' twice; nothing was unpacked");
      }
    }
    for (const Leaf& leaf : leaves_) {
      for (fs::path folder = fs::path(leaf.name).parent_path(); !folder.empty(); folder = folder.parent_path()) {
        if (names.count(folder.generic_string()) > 0) {
          return InvalidArgument("'" + file_.name + "' unpacks to '" + folder.generic_string() +
                                 "' both as a file and as a folder; nothing was unpacked");
        }
      }
    }
    std::vector<fs::path> created;
    std::vector<fs::path> moved;
    Status status;
    for (const Leaf& leaf : leaves_) {
      fs::path target = out_dir_ / leaf.name;
      status = MakeFolders(out_dir_, fs::path(leaf.name).parent_path(), created);
      if (status.ok()) {
        int err = RenameNoReplace(leaf.staged, target);
        if (err == EEXIST) {
          status = AlreadyExists("'" + target.string() + "' exists");
        } else if (err != 0) {
          status = ErrnoStatus(err, "move to", target.string());
        }
      }
      if (!status.ok()) break;
      moved.push_back(target);
      result.files.push_back({leaf.name, target, leaf.size, leaf.sha256, file_.name});
    }
    if (!status.ok()) {
      for (auto it = moved.rbegin(); it != moved.rend(); ++it) ::unlink(it->c_str());
      for (auto it = created.rbegin(); it != created.rend(); ++it) ::rmdir(it->c_str());
      result.files.clear();
      if (status.code() == StatusCode::kAlreadyExists) {
        return InvalidArgument("'" + file_.name + "' unpacks to a name that another file already took (" +
                               status.message() + "); nothing was unpacked");
      }
      return status.WithContext("unpacking '" + file_.name + "'");
    }
    result.skipped = std::move(skipped_);
    return Status::Ok();
  }

 private:
  struct Leaf {
    std::string name;  // final name under out_dir
    fs::path staged;
    uint64_t size = 0;
    std::string sha256;
  };

  // Streams the current entry's data into a new staged file.
  Result<Leaf> Extract(archive* a, const std::string& label, const std::string& shown) {
    Leaf leaf;
    leaf.staged = staging_ / std::to_string(next_staged_++);
    ASSIGN_OR_RETURN(int fd, ingest_internal::CreateExclusive(leaf.staged));
    Fd out(fd);
    ASSIGN_OR_RETURN(Sha256 sha, Sha256::Create());
    while (true) {
      la_ssize_t n = archive_read_data(a, buffer_.data(), buffer_.size());
      if (n < 0) return Corrupt(a, label, shown);
      if (n == 0) break;
      const uint64_t got = static_cast<uint64_t>(n);
      total_bytes_ += got;
      if (total_bytes_ > limits_.max_total_bytes) return Refuse(label, shown, TooLarge());
      if (total_bytes_ > kRatioFloorBytes &&
          static_cast<double>(total_bytes_) > limits_.max_ratio * static_cast<double>(packed_bytes_)) {
        return Refuse(label, shown,
                      "it expands more than " + std::to_string(static_cast<uint64_t>(limits_.max_ratio)) + " times (" +
                          std::to_string(packed_bytes_) + " packed bytes; a zip bomb?)");
      }
      RETURN_IF_ERROR(ingest_internal::WriteAll(out.get(), buffer_.data(), got, leaf.staged));
      sha.Update(buffer_.data(), got);
      leaf.size += got;
    }
    RETURN_IF_ERROR(out.Close(leaf.staged));
    leaf.sha256 = sha.HexDigest();
    return leaf;
  }

  // Keeps `leaf`, or unpacks it once more when it is itself an archive and the depth allows.
  Status Place(Leaf leaf, const std::string& label, int depth) {
    if (depth < kMaxDepth) {
      ASSIGN_OR_RETURN(Kind kind, Probe(leaf.staged));
      if (kind == Kind::kArchive) return UnpackArchive(leaf.staged, label, ArchiveStem(leaf.name), depth + 1);
      if (kind == Kind::kCompressed) return Decompress(leaf.staged, label, StripCompression(leaf.name), depth + 1);
    }
    leaves_.push_back(std::move(leaf));
    return Status::Ok();
  }

  // The entry's path made relative and clean, or a refusal when it would leave out_dir.
  Result<std::string> CleanEntryPath(const std::string& label, const std::string& raw) const {
    std::string path = raw;
    std::replace(path.begin(), path.end(), '\\', '/');
    if (path.empty()) return Refuse(label, raw, "the entry has no name");
    if (path[0] == '/' || (path.size() >= 2 && std::isalpha(static_cast<unsigned char>(path[0])) && path[1] == ':')) {
      return Refuse(label, raw, "absolute paths are not allowed");
    }
    std::string clean;
    size_t start = 0;
    while (start <= path.size()) {
      size_t end = path.find('/', start);
      if (end == std::string::npos) end = path.size();
      std::string_view segment(path.data() + start, end - start);
      if (segment == "..") return Refuse(label, raw, "'..' would leave the output folder");
      if (!segment.empty() && segment != ".") {
        if (!clean.empty()) clean += '/';
        clean += segment;
      }
      start = end + 1;
    }
    for (char c : clean) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        return Refuse(label, raw, "control characters in the name");
    }
    return clean;
  }

  static bool IsJunk(const std::string& path) {
    const std::string base = fs::path(path).filename().string();
    if (base == ".DS_Store" || Lower(base) == "thumbs.db") return true;
    return path == "__MACOSX" || path.rfind("__MACOSX/", 0) == 0 || path.find("/__MACOSX/") != std::string::npos;
  }

  std::string TooLarge() const {
    return "it unpacks to more than " + std::to_string(limits_.max_total_bytes) + " bytes";
  }

  static Status Refuse(const std::string& label, const std::string& entry, const std::string& why) {
    std::string where = "archive '" + label + "'";
    if (!entry.empty()) where += ": entry '" + entry + "'";
    return InvalidArgument(where + " refused: " + why);
  }

  static Status Corrupt(archive* a, const std::string& label, const std::string& entry) {
    std::string where = "archive '" + label + "'";
    if (!entry.empty()) where += ": entry '" + entry + "'";
    return InvalidArgument(where + " is truncated or corrupt (" + ArchiveError(a) + ")");
  }

  const FetchedFile& file_;
  const fs::path out_dir_;
  const fs::path staging_;
  const UnpackLimits limits_;
  const uint64_t packed_bytes_;
  std::vector<char> buffer_;
  uint64_t total_bytes_ = 0;  // written, at every depth
  uint64_t entries_ = 0;      // read, at every depth, junk and folders included
  uint64_t next_staged_ = 0;
  std::vector<Leaf> leaves_;
  std::vector<std::string> skipped_;
};

// A plain file: renamed into out_dir (copied and removed across file systems).
Result<UnpackResult> MovePlain(const FetchedFile& file, const fs::path& out_dir) {
  fs::path target = out_dir / file.name;
  std::vector<fs::path> created;
  RETURN_IF_ERROR(MakeFolders(out_dir, fs::path(file.name).parent_path(), created));
  int err = RenameNoReplace(file.path, target);
  if (err == EXDEV) {
    std::error_code ec;
    if (!fs::copy_file(file.path, target, fs::copy_options::none, ec)) {
      return ErrnoStatus(ec.value(), "copy to", target.string());
    }
    fs::remove(file.path, ec);
    err = 0;
  }
  if (err == EEXIST)
    return InvalidArgument("'" + target.string() + "' already exists; cannot place '" + file.name + "'");
  if (err != 0) return ErrnoStatus(err, "move to", target.string());
  UnpackResult result;
  result.files.push_back({file.name, target, file.size, file.sha256, ""});
  return result;
}

Result<UnpackResult> UnpackFile(const FetchedFile& file, const fs::path& out_dir, const UnpackLimits& limits) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return ErrnoStatus(ec.value(), "create folder", out_dir.string());
  ASSIGN_OR_RETURN(Kind kind, Probe(file.path));
  if (kind == Kind::kPlain) return MovePlain(file, out_dir);

  struct stat st {};
  if (::stat(file.path.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", file.path.string());
  std::string pattern = (out_dir / ".edl-unpack-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return ErrnoStatus(errno, "create folder", pattern);
  StagingFolder staging{fs::path(pattern)};

  Unpacker unpacker(file, out_dir, staging.path(), limits, static_cast<uint64_t>(st.st_size));
  if (kind == Kind::kArchive) {
    RETURN_IF_ERROR(unpacker.UnpackArchive(file.path, file.name, ArchiveStem(file.name), 1));
  } else {
    RETURN_IF_ERROR(unpacker.Decompress(file.path, file.name, StripCompression(file.name), 1));
  }
  UnpackResult result;
  RETURN_IF_ERROR(unpacker.Publish(result));
  return result;
}

}  // namespace

Result<UnpackResult> Unpack(const FetchedFile& file, const fs::path& out_dir, const UnpackLimits& limits) {
  try {
    return UnpackFile(file, out_dir, limits);
  } catch (const std::exception& e) {
    return Internal("unpacking '" + file.name + "': " + e.what());
  }
}

}  // namespace edl
