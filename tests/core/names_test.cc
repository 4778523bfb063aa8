#include "core/names.h"

#include <gtest/gtest.h>

#include "core/model.h"

namespace edl {
namespace {

TEST(Names, AcceptsValidDatasetNames) {
  EXPECT_TRUE(ValidateDatasetName("sales-orders").ok());
  EXPECT_TRUE(ValidateDatasetName("a").ok());
  EXPECT_TRUE(ValidateDatasetName("0x1").ok());
  EXPECT_TRUE(ValidateDatasetName(std::string(63, 'a')).ok());
}

TEST(Names, RejectsBadDatasetNamesNamingTheProblem) {
  struct Case {
    std::string name;
    std::string expected;
  };
  for (const Case& c : {Case{"", "empty"}, Case{"Sales", "upper-case 'S'"}, Case{"sales orders", "a space"},
                        Case{"..", "must start"}, Case{"a..b", "'.'"}, Case{"-a", "must start"},
                        Case{"a-", "must not end"}, Case{std::string(64, 'a'), "64 characters"},
                        Case{"a/b", "'/'"}, Case{"a_b", "'_'"}, Case{std::string("a\x01", 2), "control"}}) {
    Status s = ValidateDatasetName(c.name);
    ASSERT_FALSE(s.ok()) << c.name;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(c.expected), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("dataset name"), std::string::npos) << s.message();
  }
}

TEST(Names, InstanceNamesAllowNoHyphen) {
  EXPECT_TRUE(ValidateInstanceName("dev01").ok());
  EXPECT_FALSE(ValidateInstanceName("dev-01").ok());
  EXPECT_FALSE(ValidateInstanceName("Dev").ok());
}

TEST(Names, BucketNamesFollowTheSeed) {
  EXPECT_EQ(BucketName("datalake", "dev01", Tier::kRestricted, "eu-west-1"), "datalake-dev01-restricted-eu-west-1");
  EXPECT_EQ(DropBucketName("datalake", "dev01", Tier::kSensitive, "eu-west-1"),
            "datalake-drop-dev01-sensitive-eu-west-1");
}

TEST(Names, UpdateFoldersAreZeroPadded) {
  EXPECT_EQ(UpdateFolderName(1), "update-00000001");
  EXPECT_EQ(RawUpdatePrefix("sales", 12), "sales/raw/update-00000012/");
  EXPECT_EQ(DataUpdatePrefix("sales", 12), "sales/data/update-00000012/");
}

TEST(Names, EditDistance) {
  EXPECT_EQ(EditDistance("tier", "tierr"), 1u);
  EXPECT_EQ(EditDistance("owners", "owner"), 1u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

TEST(RedactUri, RemovesUserInfoQueryAndFragment) {
  EXPECT_EQ(RedactUri("https://bob:s3cret@example.com/data/a.csv?X-Amz-Signature=abc#top"),
            "https://example.com/data/a.csv");
  EXPECT_EQ(RedactUri("http://token@host:8080"), "http://host:8080");
  EXPECT_EQ(RedactUri("https://host/p@th/a.csv"), "https://host/p@th/a.csv");
  EXPECT_EQ(RedactUri("drop:"), "drop:");
  EXPECT_EQ(RedactUri("upload:0123"), "upload:0123");
  EXPECT_EQ(RedactUri("/data/a.csv"), "/data/a.csv");
}

TEST(Model, ParsesPrincipalRefs) {
  auto p = ParsePrincipalRef("group:finance");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->kind, PrincipalKind::kGroup);
  EXPECT_EQ(p->name, "finance");
  EXPECT_FALSE(ParsePrincipalRef("finance").ok());
  EXPECT_FALSE(ParsePrincipalRef("team:finance").ok());
  EXPECT_FALSE(ParsePrincipalRef("user:Bob").ok());
}

}  // namespace
}  // namespace edl
