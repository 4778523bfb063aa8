// Test support for the `edl-api` integration tests: runs the real binary with exactly the settings
// a test gives, and checks every run for leaked secrets. Used from one thread.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "testing/subprocess.h"

namespace edl::testing {

// The built `edl-api` binary, beside `edl`.
std::string ApiBinary();

// Runs edl-api with HOME set to a folder of the test's (no config file unless the test writes one)
// and EDL_URL/EDL_TOKEN always set, empty meaning "not set". Every run is checked: no secret in
// `secrets` appears on stdout or stderr (a gtest failure names the command), except that a `tokens
// create` may print the new one alone on stdout.
class ApiRunner {
 public:
  explicit ApiRunner(std::filesystem::path home);

  void AddSecret(const std::string& secret) { secrets_.insert(secret); }
  const std::set<std::string>& secrets() const { return secrets_; }

  CommandResult Run(const std::string& url, const std::string& token, const std::vector<std::string>& args) const;

 private:
  std::filesystem::path home_;
  std::set<std::string> secrets_;
};

}  // namespace edl::testing
