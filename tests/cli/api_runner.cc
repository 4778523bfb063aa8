#include "cli/api_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace edl::testing {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string ApiBinary() { return (fs::path(EdlBinary()).parent_path() / "edl-api").string(); }

ApiRunner::ApiRunner(fs::path home) : home_(std::move(home)) { fs::create_directories(home_); }

CommandResult ApiRunner::Run(const std::string& url, const std::string& token,
                             const std::vector<std::string>& args) const {
  std::string command = "edl-api";
  for (const std::string& arg : args) command += " " + arg;
  // Through env(1): RunCommand appends its variables after the inherited ones, and getenv() finds
  // the first, so an inherited HOME or EDL_TOKEN would win.
  std::vector<std::string> argv = {"/usr/bin/env", "HOME=" + home_.string(), "EDL_URL=" + url, "EDL_TOKEN=" + token,
                                   ApiBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = RunCommand(argv);
  for (const std::string& secret : secrets_) {
    EXPECT_THAT(r.out, Not(HasSubstr(secret))) << "a token on stdout of: " << command;
    EXPECT_THAT(r.err, Not(HasSubstr(secret))) << "a token on stderr of: " << command;
  }
  return r;
}

}  // namespace edl::testing
