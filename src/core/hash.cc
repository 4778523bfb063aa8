#include "core/hash.h"

#include <cerrno>
#include <fstream>
#include <optional>
#include <vector>

#include <openssl/evp.h>
#include <openssl/rand.h>

namespace edl {

Result<Sha256> Sha256::Create() {
  // Fetched once: OpenSSL 3 looks the algorithm up again on every init given EVP_sha256(), which
  // costs more than hashing a token.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  if (context == nullptr) return Internal("cannot allocate a SHA-256 context");
  if (EVP_DigestInit_ex(context, kSha256 != nullptr ? kSha256 : EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(context);
    return Internal("cannot initialise SHA-256");
  }
  return Sha256(context);
}

Sha256::Sha256(Sha256&& other) noexcept : context_(other.context_) {
  other.context_ = nullptr;
}

Sha256& Sha256::operator=(Sha256&& other) noexcept {
  if (this != &other) {
    EVP_MD_CTX_free(context_);
    context_ = other.context_;
    other.context_ = nullptr;
  }
  return *this;
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(context_);
}

void Sha256::Update(const void* data, size_t size) {
  // Cannot fail for SHA-256 on an initialised context.
  EVP_DigestUpdate(context_, data, size);
}

void Sha256::Reset() {
  // No algorithm given: the context keeps the one it has, with no new lookup. Cannot fail on an
  // initialised context.
  EVP_DigestInit_ex2(context_, nullptr, nullptr);
}

std::string Sha256::HexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context_, digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(static_cast<size_t>(length) * 2, '\0');
  for (unsigned int i = 0; i < length; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return hex;
}

Result<std::string> Sha256Hex(std::string_view bytes) {
  // One context per thread, reset for each use: making one costs more than hashing a token, and
  // the server hashes one per request.
  thread_local std::optional<Sha256> hash;
  if (hash) {
    hash->Reset();
  } else {
    ASSIGN_OR_RETURN(Sha256 made, Sha256::Create());
    hash.emplace(std::move(made));
  }
  hash->Update(bytes);
  return hash->HexDigest();
}

Result<std::string> RandomBytes(size_t count) {
  std::string out(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
    return Unavailable("the operating system's random source gave no bytes");
  }
  return out;
}

Result<std::string> Sha256File(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoStatus(errno, "open", path.native());
  ASSIGN_OR_RETURN(Sha256 hash, Sha256::Create());
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) hash.Update(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return ErrnoStatus(errno, "read", path.native());
  return hash.HexDigest();
}

}  // namespace edl
