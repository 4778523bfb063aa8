// Test support: a private temporary folder removed with everything in it when the object dies.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace edl::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `content` to `relative` (creating folders) and returns the full path.
  std::filesystem::path WriteFile(std::string_view relative, std::string_view content) const;

 private:
  std::filesystem::path path_;
};

std::string ReadFile(const std::filesystem::path& path);

}  // namespace edl::testing
