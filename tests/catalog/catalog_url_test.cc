#include "catalog/catalog_url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalog/catalog.h"
#include "catalog_test_support.h"
#include "testing/temp_dir.h"

namespace edl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(CatalogUrl, ParsesSqlitePath) {
  Result<CatalogUrl> url = ParseCatalogUrl("sqlite:./edl-data/catalog.db");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->scheme, "sqlite");
  EXPECT_EQ(url->path, "./edl-data/catalog.db");
}

TEST(CatalogUrl, ParsesSqliteAbsolutePathWithSlashes) {
  Result<CatalogUrl> url = ParseCatalogUrl("sqlite:///srv/edl/catalog.db");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->path, "/srv/edl/catalog.db");
}

TEST(CatalogUrl, RejectsSqliteWithHost) {
  Result<CatalogUrl> url = ParseCatalogUrl("sqlite://server/catalog.db");
  EXPECT_EQ(url.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(url.status().message(), HasSubstr("local file"));
}

TEST(CatalogUrl, RejectsSqliteWithoutPath) {
  Result<CatalogUrl> url = ParseCatalogUrl("sqlite:");
  EXPECT_EQ(url.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(url.status().message(), HasSubstr("names no file"));
}

TEST(CatalogUrl, RejectsPostgresWithoutShowingCredentials) {
  Result<CatalogUrl> url = ParseCatalogUrl("postgresql://bob:s3cret@db.example.com:5432/edl?password=hunter2");
  ASSERT_EQ(url.status().code(), StatusCode::kInvalidArgument);
  const std::string message = url.status().message();
  EXPECT_THAT(message, HasSubstr("postgresql:// is not supported yet"));
  EXPECT_THAT(message, HasSubstr("'postgresql://db.example.com:5432/edl'"));
  EXPECT_THAT(message, HasSubstr("sqlite:PATH"));
  EXPECT_THAT(message, Not(HasSubstr("s3cret")));
  EXPECT_THAT(message, Not(HasSubstr("bob")));
  EXPECT_THAT(message, Not(HasSubstr("hunter2")));
}

TEST(CatalogUrl, RejectsUnknownSchemeNamingIt) {
  Result<CatalogUrl> url = ParseCatalogUrl("mysql://root:pw@localhost/edl");
  ASSERT_EQ(url.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(url.status().message(), HasSubstr("scheme 'mysql' is not supported"));
  EXPECT_THAT(url.status().message(), HasSubstr("sqlite:PATH"));
  EXPECT_THAT(url.status().message(), Not(HasSubstr("pw")));
}

TEST(CatalogUrl, RejectsPathWithoutScheme) {
  Result<CatalogUrl> url = ParseCatalogUrl("./catalog.db");
  ASSERT_EQ(url.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(url.status().message(), HasSubstr("has no scheme; write sqlite:./catalog.db"));
}

TEST(CatalogUrl, DoesNotEchoKeywordConnectionStrings) {
  Result<CatalogUrl> url = ParseCatalogUrl("host=db user=edl password=s3cret");
  ASSERT_EQ(url.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(url.status().message(), Not(HasSubstr("s3cret")));
}

TEST(CatalogUrl, RedactsUserInformationAndQuery) {
  EXPECT_EQ(RedactCatalogUrl("postgresql://bob:secret@db:5432/edl?sslmode=require"), "postgresql://db:5432/edl");
  EXPECT_EQ(RedactCatalogUrl("postgresql://bob:p/a@ss@db/edl"), "postgresql://db/edl");
  EXPECT_EQ(RedactCatalogUrl("postgresql://db/edl"), "postgresql://db/edl");
  EXPECT_EQ(RedactCatalogUrl("sqlite:/srv/edl/catalog.db"), "sqlite:/srv/edl/catalog.db");
}

TEST(OpenCatalog, OpensSqliteUrl) {
  edl::testing::TempDir dir;
  edl::testing::FixedClock clock;
  std::string path = (dir.path() / "catalog.db").string();
  Result<std::unique_ptr<Catalog>> catalog = OpenCatalog("sqlite:" + path, clock);
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  EXPECT_EQ((*catalog)->Describe(), "sqlite:" + path);
  EXPECT_EQ((*catalog)->SchemaVersion(), kCatalogSchemaVersion);
  ASSERT_OK((*catalog)->Write([](CatalogTransaction& txn) { return txn.PutSetting("instance", "dev01"); }));
}

TEST(OpenCatalog, RefusesPostgresql) {
  edl::testing::FixedClock clock;
  Result<std::unique_ptr<Catalog>> catalog = OpenCatalog("postgresql://edl:pw@db/edl", clock);
  EXPECT_EQ(catalog.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(catalog.status().message(), HasSubstr("postgresql:// is not supported yet"));
}

}  // namespace
}  // namespace edl
