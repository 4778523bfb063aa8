#include "storage/object_store.h"

#include <cerrno>
#include <fstream>
#include <vector>

#include <fmt/format.h>

namespace edl {
namespace {

constexpr size_t kShownKeyBytes = 80;

// The key as it can safely appear in a message: bytes outside printable ASCII and valid UTF-8
// escaped as \xNN, long keys shortened.
std::string Shown(std::string_view key) {
  std::string out;
  for (size_t i = 0; i < key.size() && i < kShownKeyBytes; ++i) {
    auto c = static_cast<unsigned char>(key[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (key.size() > kShownKeyBytes) out += fmt::format("... ({} bytes)", key.size());
  return out;
}

// Decodes one UTF-8 sequence at `text[*pos]`, advancing `*pos`. Returns nullopt for an invalid,
// overlong or truncated sequence, a surrogate, or a code point above U+10FFFF.
std::optional<char32_t> DecodeUtf8(std::string_view text, size_t* pos) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(*pos);
  size_t length = 0;
  char32_t code = 0;
  char32_t min = 0;
  if (lead < 0x80) {
    ++*pos;
    return lead;
  } else if ((lead & 0xe0) == 0xc0) {
    length = 2, code = lead & 0x1f, min = 0x80;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3, code = lead & 0x0f, min = 0x800;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4, code = lead & 0x07, min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (*pos + length > text.size()) return std::nullopt;
  for (size_t i = 1; i < length; ++i) {
    unsigned char next = byte(*pos + i);
    if ((next & 0xc0) != 0x80) return std::nullopt;
    code = (code << 6) | (next & 0x3f);
  }
  if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return std::nullopt;
  *pos += length;
  return code;
}

bool IsControl(char32_t c) {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

Status BadKey(std::string_view key, std::string_view rule) {
  return InvalidArgument(fmt::format("object key '{}' {}", Shown(key), rule));
}

}  // namespace

Status ValidateBucketName(std::string_view bucket) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (bucket.size() < 3 || bucket.size() > 63) {
    return InvalidArgument(
        fmt::format("bucket name '{}' is {} characters long; it must be 3 to 63", Shown(bucket), bucket.size()));
  }
  for (char c : bucket) {
    if (!alnum(c) && c != '-') {
      return InvalidArgument(
          fmt::format("bucket name '{}' contains '{}'; only lower-case letters, digits and '-' are allowed",
                      Shown(bucket), Shown(std::string_view(&c, 1))));
    }
  }
  if (!alnum(bucket.front()) || !alnum(bucket.back())) {
    return InvalidArgument(
        fmt::format("bucket name '{}' must start and end with a lower-case letter or digit", bucket));
  }
  return Status::Ok();
}

Status ValidateObjectKey(std::string_view key) {
  if (key.empty()) return InvalidArgument("object key is empty");
  if (key.size() > kMaxObjectKeyLength) {
    return BadKey(key, fmt::format("is longer than {} bytes", kMaxObjectKeyLength));
  }
  // Character rules first: they make the later messages safe to read.
  for (size_t pos = 0; pos < key.size();) {
    size_t at = pos;
    std::optional<char32_t> c = DecodeUtf8(key, &pos);
    if (!c) return BadKey(key, fmt::format("is not valid UTF-8 (at byte {})", at));
    if (*c == 0) return BadKey(key, fmt::format("contains a NUL byte (at byte {})", at));
    if (IsControl(*c)) {
      return BadKey(key,
                    fmt::format("contains control character U+{:04X} (at byte {})", static_cast<uint32_t>(*c), at));
    }
    if (*c == '\\') return BadKey(key, "contains a backslash; use '/' to separate folders");
  }
  if (key.front() == '/') return BadKey(key, "is absolute (starts with '/'); keys are relative");
  if (key.back() == '/') return BadKey(key, "ends with '/'; a key names an object, not a folder");
  bool first = true;
  for (size_t start = 0; start <= key.size();) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    std::string_view segment = key.substr(start, end - start);
    if (segment.empty()) return BadKey(key, "has an empty segment ('//')");
    if (segment == "." || segment == "..") {
      return BadKey(key, fmt::format("has a '{}' segment; keys must not navigate folders", segment));
    }
    if (segment.size() > kMaxObjectKeySegmentLength) {
      return BadKey(key, fmt::format("has a segment longer than {} bytes", kMaxObjectKeySegmentLength));
    }
    if (first && segment == kReservedKeySegment) {
      return BadKey(key,
                    fmt::format("is under '{}/', which is reserved for the store's own metadata", kReservedKeySegment));
    }
    first = false;
    start = end + 1;
  }
  return Status::Ok();
}

Status ValidateObjectPrefix(std::string_view prefix) {
  if (prefix.empty() || prefix.back() != '/') {
    return InvalidArgument(fmt::format(
        "prefix '{}' must name a folder: a key followed by '/', e.g. 'sales/data/update-00000001/'", Shown(prefix)));
  }
  Status status = ValidateObjectKey(prefix.substr(0, prefix.size() - 1));
  if (!status.ok()) return status.WithContext(fmt::format("prefix '{}'", Shown(prefix)));
  return Status::Ok();
}

Status ObjectStore::PutFile(std::string_view bucket, std::string_view key, const std::filesystem::path& local_file) {
  std::ifstream in(local_file, std::ios::binary);
  if (!in) return ErrnoStatus(errno, "open", local_file.native());
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> writer, Put(bucket, key));
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    std::streamsize got = in.gcount();
    if (got > 0) RETURN_IF_ERROR(writer->Write(std::string_view(buffer.data(), static_cast<size_t>(got))));
  }
  if (in.bad()) return ErrnoStatus(errno, "read", local_file.native());
  RETURN_IF_ERROR(writer->Commit());
  std::error_code ec;
  std::filesystem::remove(local_file, ec);
  return Status::Ok();
}

Status ObjectStore::PutBytes(std::string_view bucket, std::string_view key, std::string_view bytes) {
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> writer, Put(bucket, key));
  RETURN_IF_ERROR(writer->Write(bytes));
  return writer->Commit();
}

Result<std::string> ObjectStore::GetBytes(std::string_view bucket, std::string_view key) {
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectReader> reader, Get(bucket, key));
  std::string bytes;
  bytes.reserve(reader->size());
  constexpr size_t kChunk = 1 << 16;
  while (true) {
    size_t old_size = bytes.size();
    bytes.resize(old_size + kChunk);
    ASSIGN_OR_RETURN(size_t n, reader->Read(bytes.data() + old_size, kChunk));
    bytes.resize(old_size + n);
    if (n == 0) break;
  }
  return bytes;
}

}  // namespace edl
