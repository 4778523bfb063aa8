// SHA-256 for lineage and manifests: incremental (for streaming copies) and of whole files.
// A Sha256 object is used by one thread at a time; the free functions are thread-safe.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace edl {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  // Lower-case hex digest; the object is spent afterwards.
  std::string HexDigest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string Sha256Hex(std::string_view bytes);
// Reads the file; the ErrnoStatus of the failing call otherwise.
Result<std::string> Sha256File(const std::filesystem::path& path);

}  // namespace edl
