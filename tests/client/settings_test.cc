#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/api_client.h"
#include "testing/status_testing.h"
#include "testing/temp_dir.h"

namespace edl::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kFileToken = "edl_file";
const std::string kEnvToken = "edl_env";
const std::string kFlagToken = "edl_flag";

class ResolveSettingsTest : public ::testing::Test {
 protected:
  SettingsEnvironment Env() const {
    SettingsEnvironment env;
    env.home = home_.path().string();
    return env;
  }
  std::filesystem::path WriteConfig(std::string_view yaml) const {
    return home_.WriteFile(".config/edl/config.yaml", yaml);
  }
  std::string ConfigPath() const { return UserConfigPath(home_.path().string()).string(); }

  testing::TempDir home_;
};

TEST_F(ResolveSettingsTest, DefaultsToLoopbackUrlWithTokenFromEnvironment) {
  SettingsEnvironment env = Env();
  env.token = kEnvToken;
  ASSERT_OK_AND_ASSIGN(ClientSettings settings, ResolveSettings({}, env));
  EXPECT_EQ(settings.url, "http://127.0.0.1:8080");
  EXPECT_EQ(settings.token, kEnvToken);
  EXPECT_EQ(settings.token_source, "EDL_TOKEN");
  EXPECT_EQ(settings.ca_cert, "");
}

TEST_F(ResolveSettingsTest, FlagsBeatEnvironmentBeatsFile) {
  std::filesystem::path file_ca = home_.WriteFile("file-ca.pem", "x");
  std::filesystem::path flag_ca = home_.WriteFile("flag-ca.pem", "x");
  WriteConfig("url: https://file.example:8443\ntoken: " + kFileToken + "\nca_cert: " + file_ca.string() + "\n");
  SettingsEnvironment env = Env();
  env.url = "https://env.example";
  env.token = kEnvToken;

  SettingsFlags flags;
  flags.url = "https://flag.example";
  flags.token = kFlagToken;
  flags.ca_cert = flag_ca.string();
  ASSERT_OK_AND_ASSIGN(ClientSettings from_flags, ResolveSettings(flags, env));
  EXPECT_EQ(from_flags.url, "https://flag.example");
  EXPECT_EQ(from_flags.token, kFlagToken);
  EXPECT_EQ(from_flags.token_source, "--token");
  EXPECT_EQ(from_flags.ca_cert, flag_ca.string());

  ASSERT_OK_AND_ASSIGN(ClientSettings from_env, ResolveSettings({}, env));
  EXPECT_EQ(from_env.url, "https://env.example");
  EXPECT_EQ(from_env.token, kEnvToken);
  EXPECT_EQ(from_env.ca_cert, file_ca.string());  // there is no environment variable for it

  ASSERT_OK_AND_ASSIGN(ClientSettings from_file, ResolveSettings({}, Env()));
  EXPECT_EQ(from_file.url, "https://file.example:8443");
  EXPECT_EQ(from_file.token, kFileToken);
  EXPECT_EQ(from_file.token_source, ConfigPath());
}

TEST_F(ResolveSettingsTest, EmptyValuesCountAsNotGiven) {
  WriteConfig("token: " + kFileToken + "\n");
  SettingsEnvironment env = Env();
  env.token = "";
  SettingsFlags flags;
  flags.token = "";
  flags.url = "";
  ASSERT_OK_AND_ASSIGN(ClientSettings settings, ResolveSettings(flags, env));
  EXPECT_EQ(settings.token, kFileToken);
  EXPECT_EQ(settings.url, "http://127.0.0.1:8080");
}

TEST_F(ResolveSettingsTest, RelativeCaCertInFileIsRelativeToTheFile) {
  home_.WriteFile(".config/edl/ca.pem", "x");
  WriteConfig("token: " + kFileToken + "\nca_cert: ca.pem\n");
  ASSERT_OK_AND_ASSIGN(ClientSettings settings, ResolveSettings({}, Env()));
  EXPECT_EQ(settings.ca_cert, (home_.path() / ".config/edl/ca.pem").string());
}

TEST_F(ResolveSettingsTest, TildeInCaCertIsHome) {
  home_.WriteFile("certs/ca.pem", "x");
  SettingsFlags flags;
  flags.token = kFlagToken;
  flags.ca_cert = "~/certs/ca.pem";
  ASSERT_OK_AND_ASSIGN(ClientSettings settings, ResolveSettings(flags, Env()));
  EXPECT_EQ(settings.ca_cert, home_.path().string() + "/certs/ca.pem");
}

TEST_F(ResolveSettingsTest, MissingCaCertIsNotFound) {
  SettingsFlags flags;
  flags.token = kFlagToken;
  flags.ca_cert = (home_.path() / "nope.pem").string();
  Result<ClientSettings> settings = ResolveSettings(flags, Env());
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(settings.status().message(), HasSubstr("nope.pem"));
}

TEST_F(ResolveSettingsTest, EmptyConfigFileIsFine) {
  WriteConfig("");
  SettingsEnvironment env = Env();
  env.token = kEnvToken;
  EXPECT_OK(ResolveSettings({}, env).status());
}

TEST_F(ResolveSettingsTest, NoHomeReadsNoFile) {
  SettingsEnvironment env;
  env.token = kEnvToken;
  ASSERT_OK_AND_ASSIGN(ClientSettings settings, ResolveSettings({}, env));
  EXPECT_EQ(settings.url, "http://127.0.0.1:8080");
}

TEST_F(ResolveSettingsTest, BadYamlNamesTheFileAndLine) {
  WriteConfig("url: [http://x\n");
  Result<ClientSettings> settings = ResolveSettings({}, Env());
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(settings.status().message(), HasSubstr(ConfigPath() + ":"));
  EXPECT_THAT(settings.status().message(), HasSubstr("invalid YAML"));
}

TEST_F(ResolveSettingsTest, ConfigThatIsNotAMappingIsRejected) {
  WriteConfig("- url\n- token\n");
  Result<ClientSettings> settings = ResolveSettings({}, Env());
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(settings.status().message(), HasSubstr("expected a mapping"));
}

TEST_F(ResolveSettingsTest, UnknownKeyNamesFileAndKey) {
  WriteConfig("url: http://x\nsecret_token: abc\n");
  SettingsEnvironment env = Env();
  env.token = kEnvToken;  // an unknown key is an error even when nothing else is missing
  Result<ClientSettings> settings = ResolveSettings({}, env);
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(settings.status().message(), HasSubstr(ConfigPath() + ":2"));
  EXPECT_THAT(settings.status().message(), HasSubstr("unknown key 'secret_token'"));
  EXPECT_THAT(settings.status().message(), HasSubstr("url, token, ca_cert"));
}

TEST_F(ResolveSettingsTest, ValueThatIsNotTextIsRejected) {
  WriteConfig("url: {host: x}\n");
  Result<ClientSettings> settings = ResolveSettings({}, Env());
  ASSERT_FALSE(settings.ok());
  EXPECT_THAT(settings.status().message(), HasSubstr("'url' must be text"));
}

TEST_F(ResolveSettingsTest, MissingTokenFailsBeforeAnyRequest) {
  WriteConfig("url: http://x:1\n");
  Result<ClientSettings> settings = ResolveSettings({}, Env());
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(settings.status().message(), HasSubstr("no API token"));
  EXPECT_THAT(settings.status().message(), HasSubstr("EDL_TOKEN"));
  EXPECT_THAT(settings.status().message(), HasSubstr(ConfigPath()));
}

TEST_F(ResolveSettingsTest, UrlMustBeHttpAndLosesTrailingSlash) {
  SettingsFlags flags;
  flags.token = kFlagToken;
  flags.url = "https://edl.example:8443/";
  ASSERT_OK_AND_ASSIGN(ClientSettings settings, ResolveSettings(flags, Env()));
  EXPECT_EQ(settings.url, "https://edl.example:8443");

  flags.url = "edl.example:8443";
  Result<ClientSettings> bad = ResolveSettings(flags, Env());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("--url"));

  flags.url = "https://edl.example/?token=x";
  EXPECT_FALSE(ResolveSettings(flags, Env()).ok());
}

TEST_F(ResolveSettingsTest, MalformedTokenIsRejectedWithoutQuotingIt) {
  SettingsEnvironment env = Env();
  env.token = "edl_secret\r\nX-Injected: 1";
  Result<ClientSettings> settings = ResolveSettings({}, env);
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(settings.status().message(), HasSubstr("EDL_TOKEN"));
  EXPECT_THAT(settings.status().message(), Not(HasSubstr("edl_secret")));
}

}  // namespace
}  // namespace edl::client
