// SHA-256 for lineage, manifests, tokens and the audit chain: incremental (for streaming copies)
// and of whole files; and cryptographic random bytes for secrets and ids. A Sha256 object is used by one thread at a time; the free functions are thread-safe.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

struct evp_md_ctx_st;

namespace edl {

class Sha256 {
 public:
  static Result<Sha256> Create();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  ~Sha256();

  void Update(const void* data, size_t size);
  void Update(std::string_view bytes) { Update(bytes.data(), bytes.size()); }
  // Lower-case hex of everything passed to Update. Ends the hash: call once, then Reset to hash
  // anew.
  std::string HexDigest();
  // Starts a new hash on the same context: what hashing many small inputs one after another
  // wants, since Create costs more than hashing a few hundred bytes.
  void Reset();

 private:
  explicit Sha256(evp_md_ctx_st* context) : context_(context) {}
  evp_md_ctx_st* context_ = nullptr;  // owned
};

// The lower-case hex SHA-256 of `bytes`.
Result<std::string> Sha256Hex(std::string_view bytes);

// `count` bytes from the operating system's cryptographic random source (OpenSSL RAND_bytes).
// Unavailable if it cannot deliver.
Result<std::string> RandomBytes(size_t count);

// Reads the file; the ErrnoStatus of the failing call otherwise.
Result<std::string> Sha256File(const std::filesystem::path& path);

}  // namespace edl
