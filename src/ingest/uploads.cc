// Layout of one upload under the root:
//   <id>/upload.json      {"owner": ..., "created_at": ...}; written last by Create, removed first by
//                          Remove, so a folder without it is not an upload (litter of a crash)
//   <id>/files/<name>     the files as received; only whole files ever appear here
//   <id>/parts/<name>     a file being received (locked with flock by its writer)
//   <id>/sha256/<name>    the file's SHA-256 in hex, written before the file is linked into files/
// Parts live beside files/ rather than as files/.<name>.part so that a 255-byte name still fits
// and files/ never holds anything but whole files (the ingest source reads the folder as it is).
#include "ingest/uploads.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/hash.h"
#include "ingest/source_internal.h"
#include "storage/object_store.h"

namespace edl {
namespace {

namespace fs = std::filesystem;
using ingest_internal::Fd;
using ingest_internal::WriteAll;
using nlohmann::json;

constexpr size_t kIdBytes = 16;
constexpr size_t kMaxFileName = 255;
constexpr size_t kBufferBytes = 1 << 20;
constexpr char kUploadFile[] = "upload.json";
constexpr char kFilesFolder[] = "files";
constexpr char kPartsFolder[] = "parts";
constexpr char kSumsFolder[] = "sha256";

bool IsUploadId(std::string_view id) {
  return id.size() == 2 * kIdBytes &&
         std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Status NoSuchUpload(std::string_view id) {
  // Only a well-formed id is echoed: anything else came from outside and may be anything.
  return NotFound(IsUploadId(id) ? fmt::format("upload {} does not exist", id) : "upload does not exist");
}

Status FsyncPath(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, "open", path.native());
  if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "fsync", path.native());
  return Status::Ok();
}

// Writes `content` to `path` (replacing it) and fsyncs it.
Status WriteSmallFile(const fs::path& path, std::string_view content) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (fd.get() < 0) return ErrnoStatus(errno, "create", path.native());
  RETURN_IF_ERROR(WriteAll(fd.get(), content.data(), content.size(), path));
  if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "fsync", path.native());
  return fd.Close(path);
}

Result<std::string> ReadSmallFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoStatus(errno, "open", path.native());
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return ErrnoStatus(errno, "read", path.native());
  return out.str();
}

struct Header {
  std::string owner;
  std::string created_at;
};

// The upload's upload.json; NotFound when the upload does not exist (or is being removed).
Result<Header> ReadHeader(const fs::path& folder, std::string_view id) {
  fs::path path = folder / kUploadFile;
  std::error_code ec;
  if (!fs::exists(path, ec)) return NoSuchUpload(id);
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
  json parsed = json::parse(text, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("owner") || !parsed["owner"].is_string() ||
      !parsed.contains("created_at") || !parsed["created_at"].is_string()) {
    return Internal(fmt::format("'{}' is damaged", path.native()));
  }
  return Header{parsed["owner"].get<std::string>(), parsed["created_at"].get<std::string>()};
}

// The folder of upload `id` if it exists and belongs to `owner`; NotFound alike otherwise.
Result<fs::path> OwnedFolder(const fs::path& root, std::string_view id, std::string_view owner, Header* header) {
  if (!IsUploadId(id)) return NoSuchUpload(id);
  fs::path folder = root / std::string(id);
  ASSIGN_OR_RETURN(Header found, ReadHeader(folder, id));
  if (found.owner != owner) return NoSuchUpload(id);
  if (header) *header = std::move(found);
  return folder;
}

// One file being received into parts/<name>, which it holds locked. Destroyed without a successful
// Commit, it removes the part (while still holding the lock, so no other writer's part is hit).
class PartWriter final : public UploadFileWriter {
 public:
  PartWriter(std::string id, std::string name, fs::path folder, std::optional<uint64_t> expected_size,
             uint64_t max_bytes, Fd fd, Sha256 hash)
      : id_(std::move(id)),
        name_(std::move(name)),
        folder_(std::move(folder)),
        expected_size_(expected_size),
        max_bytes_(max_bytes),
        fd_(std::move(fd)),
        hash_(std::move(hash)) {}
  ~PartWriter() override { ::unlink(PartPath().c_str()); }
  PartWriter(const PartWriter&) = delete;
  PartWriter& operator=(const PartWriter&) = delete;

  fs::path PartPath() const { return folder_ / kPartsFolder / name_; }
  fs::path Target() const { return folder_ / kFilesFolder / name_; }
  Status Taken() const { return AlreadyExists(fmt::format("upload {} already has a file named '{}'", id_, name_)); }

  Status Write(std::string_view bytes) override {
    if (!status_.ok()) return status_;
    size_ += bytes.size();
    if (size_ > max_bytes_) {
      status_ = InvalidArgument(fmt::format("'{}' is over the limit of {} bytes", name_, max_bytes_));
    } else if (expected_size_ && size_ > *expected_size_) {
      status_ = InvalidArgument(fmt::format("'{}' is longer than the announced {} bytes", name_, *expected_size_));
    } else {
      hash_.Update(bytes);
      status_ = WriteAll(fd_.get(), bytes.data(), bytes.size(), PartPath());
    }
    return status_;
  }

  Result<UploadedFile> Commit() override {
    RETURN_IF_ERROR(status_);
    if (expected_size_ && size_ != *expected_size_) {
      return InvalidArgument(fmt::format("'{}' was cut off after {} of {} bytes", name_, size_, *expected_size_));
    }
    if (::fsync(fd_.get()) != 0) return ErrnoStatus(errno, "fsync", PartPath().native());
    UploadedFile file{name_, size_, hash_.HexDigest()};
    status_ = Conflict(fmt::format("'{}' was committed already", name_));  // HexDigest ends the hash
    RETURN_IF_ERROR(WriteSmallFile(folder_ / kSumsFolder / name_, file.sha256 + "\n"));
    // link(2), unlike rename(2), refuses to replace a file another writer finished meanwhile; the
    // part's own name goes with the destructor.
    if (::link(PartPath().c_str(), Target().c_str()) != 0) {
      if (errno == EEXIST) return Taken();
      return ErrnoStatus(errno, "link", Target().native());
    }
    RETURN_IF_ERROR(FsyncPath(folder_ / kFilesFolder));
    return file;
  }

 private:
  const std::string id_;
  const std::string name_;
  const fs::path folder_;
  const std::optional<uint64_t> expected_size_;
  const uint64_t max_bytes_;
  Fd fd_;
  Sha256 hash_;
  uint64_t size_ = 0;
  Status status_;  // the first failure; every later call returns it
};

}  // namespace

Status ValidateUploadFileName(std::string_view name) {
  if (name.empty()) return InvalidArgument("the file name is empty");
  if (name.size() > kMaxFileName) {
    return InvalidArgument(
        fmt::format("the file name is {} bytes long; at most {} are allowed", name.size(), kMaxFileName));
  }
  if (name.find('/') != std::string_view::npos) {
    return InvalidArgument("the file name contains '/'; send a plain file name, not a path");
  }
  if (name.front() == '.') return InvalidArgument("the file name starts with '.'; hidden names are not allowed");
  // UTF-8, control characters, backslashes: the object key rules, since the file becomes raw/<name>.
  Status as_key = ValidateObjectKey(name);
  if (!as_key.ok()) return InvalidArgument("the file name is not allowed: " + as_key.message());
  return Status::Ok();
}

UploadStore::UploadStore(std::filesystem::path root, const Clock& clock) : root_(std::move(root)), clock_(clock) {}

Result<UploadInfo> UploadStore::Create(std::string_view owner) {
  if (owner.empty()) return InvalidArgument("an upload needs an owner");
  ASSIGN_OR_RETURN(std::string random, RandomBytes(kIdBytes));
  UploadInfo info;
  for (unsigned char byte : random) info.id += fmt::format("{:02x}", byte);
  info.owner = std::string(owner);
  info.created_at = FormatTimestamp(clock_.Now());
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) return ErrnoStatus(ec.value(), "create folder", root_.native());
  fs::path folder = root_ / info.id;
  if (::mkdir(folder.c_str(), 0700) != 0) return ErrnoStatus(errno, "create folder", folder.native());
  for (const char* sub : {kFilesFolder, kPartsFolder, kSumsFolder}) {
    if (::mkdir((folder / sub).c_str(), 0700) != 0) return ErrnoStatus(errno, "create folder", (folder / sub).native());
  }
  json header = {{"owner", info.owner}, {"created_at", info.created_at}};
  RETURN_IF_ERROR(WriteSmallFile(folder / kUploadFile, header.dump() + "\n"));
  RETURN_IF_ERROR(FsyncPath(folder));
  RETURN_IF_ERROR(FsyncPath(root_));
  return info;
}

Result<UploadInfo> UploadStore::Get(std::string_view id, std::string_view owner) const {
  Header header;
  ASSIGN_OR_RETURN(fs::path folder, OwnedFolder(root_, id, owner, &header));
  UploadInfo info;
  info.id = std::string(id);
  info.owner = header.owner;
  info.created_at = header.created_at;
  std::error_code ec;
  for (fs::directory_iterator it(folder / kFilesFolder, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code stat_ec;
    if (!it->is_regular_file(stat_ec)) continue;
    UploadInfo::File file;
    file.name = it->path().filename().string();
    file.size = it->file_size(stat_ec);
    if (stat_ec) return ErrnoStatus(stat_ec.value(), "stat", it->path().native());
    auto sum = ReadSmallFile(folder / kSumsFolder / file.name);
    if (sum.ok()) file.sha256 = sum->substr(0, 64);
    info.files.push_back(std::move(file));
  }
  if (ec) return ErrnoStatus(ec.value(), "list", (folder / kFilesFolder).native());
  std::sort(info.files.begin(), info.files.end(),
            [](const UploadInfo::File& a, const UploadInfo::File& b) { return a.name < b.name; });
  return info;
}

Result<std::unique_ptr<UploadFileWriter>> UploadStore::OpenFile(std::string_view id, std::string_view owner,
                                                                std::string_view name,
                                                                std::optional<uint64_t> expected_size,
                                                                uint64_t max_bytes) {
  RETURN_IF_ERROR(ValidateUploadFileName(name));
  ASSIGN_OR_RETURN(fs::path folder, OwnedFolder(root_, id, owner, nullptr));
  if (expected_size && *expected_size > max_bytes) {
    return InvalidArgument(
        fmt::format("'{}' would be {} bytes, over the limit of {}", name, *expected_size, max_bytes));
  }
  auto exists = [](const fs::path& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
  };
  const fs::path part = folder / kPartsFolder / std::string(name);
  ASSIGN_OR_RETURN(Sha256 hash, Sha256::Create());
  Fd fd(::open(part.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return ErrnoStatus(errno, "create", part.native());
  // The lock tells a concurrent writer of the same name apart from a part a crash left behind. A
  // part that moved away between open and lock (its writer finished) is not ours either.
  struct stat locked {
  }, current{};
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0 || ::fstat(fd.get(), &locked) != 0 ||
      ::lstat(part.c_str(), &current) != 0 || locked.st_ino != current.st_ino || locked.st_dev != current.st_dev) {
    return Conflict(fmt::format("'{}' is being uploaded to upload {} already", name, id));
  }
  if (::ftruncate(fd.get(), 0) != 0) return ErrnoStatus(errno, "truncate", part.native());
  // From here on the part is ours: the writer removes it unless it is committed.
  auto writer = std::make_unique<PartWriter>(std::string(id), std::string(name), folder, expected_size, max_bytes,
                                             std::move(fd), std::move(hash));
  if (exists(writer->Target())) return writer->Taken();
  return std::unique_ptr<UploadFileWriter>(std::move(writer));
}

Result<UploadedFile> UploadStore::AddFile(std::string_view id, std::string_view owner, std::string_view name,
                                          std::optional<uint64_t> expected_size, uint64_t max_bytes,
                                          const BodyReader& read) {
  ASSIGN_OR_RETURN(std::unique_ptr<UploadFileWriter> writer, OpenFile(id, owner, name, expected_size, max_bytes));
  std::vector<char> buffer(kBufferBytes);
  while (true) {
    ASSIGN_OR_RETURN(size_t n, read(buffer.data(), buffer.size()));
    if (n == 0) break;
    RETURN_IF_ERROR(writer->Write(std::string_view(buffer.data(), n)));
  }
  return writer->Commit();
}

Status UploadStore::Remove(std::string_view id, std::string_view owner) {
  ASSIGN_OR_RETURN(fs::path folder, OwnedFolder(root_, id, owner, nullptr));
  // Without its upload.json the folder is no longer an upload, even if removing the rest fails.
  if (::unlink((folder / kUploadFile).c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "remove", (folder / kUploadFile).native());
  }
  std::error_code ec;
  fs::remove_all(folder, ec);
  if (ec) return ErrnoStatus(ec.value(), "remove", folder.native());
  return Status::Ok();
}

Result<std::filesystem::path> UploadStore::FilesFolder(std::string_view id) const {
  if (!IsUploadId(id)) return NoSuchUpload(id);
  fs::path folder = root_ / std::string(id);
  RETURN_IF_ERROR(ReadHeader(folder, id).status());
  return folder / kFilesFolder;
}

Result<int64_t> UploadStore::RemoveOlderThan(std::chrono::seconds older_than) {
  const auto cutoff = clock_.Now() - older_than;
  const std::string cutoff_text = FormatTimestamp(cutoff);
  int64_t removed = 0;
  std::error_code ec;
  if (!fs::exists(root_, ec)) return removed;
  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string id = it->path().filename().string();
    if (!IsUploadId(id)) continue;
    bool old = false;
    auto header = ReadHeader(it->path(), id);
    if (header.ok()) {
      old = header->created_at < cutoff_text;
    } else {
      // No (readable) upload.json: a crashed Create or Remove. Judged by the folder's age.
      struct stat st {};
      if (::stat(it->path().c_str(), &st) != 0) continue;
      old = std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec) < cutoff;
    }
    if (!old) continue;
    ::unlink((it->path() / kUploadFile).c_str());
    std::error_code remove_ec;
    fs::remove_all(it->path(), remove_ec);
    if (remove_ec) return ErrnoStatus(remove_ec.value(), "remove", it->path().native());
    ++removed;
  }
  if (ec) return ErrnoStatus(ec.value(), "list", root_.native());
  return removed;
}

}  // namespace edl
