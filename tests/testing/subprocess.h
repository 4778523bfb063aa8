// Test support: runs a program (the real `edl` binary) and captures its exit code and output.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace edl::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv[0] with the arguments, environment additions "K=V", in `cwd` (if not empty).
CommandResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                         const std::filesystem::path& cwd = {});

// The built `edl` binary, found where CMake built it.
std::string EdlBinary();
// The source tree.
std::filesystem::path SourceDir();

}  // namespace edl::testing
