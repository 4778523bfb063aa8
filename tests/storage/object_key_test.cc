#include <string>

#include <gtest/gtest.h>

#include "storage/object_store.h"

namespace edl {
namespace {

// One assertion: `key` is refused with InvalidArgument, naming the rule through `rule_words`.
void ExpectRejected(std::string_view key, std::string_view rule_words) {
  Status status = ValidateObjectKey(key);
  EXPECT_TRUE(status.code() == StatusCode::kInvalidArgument && status.message().find(rule_words) != std::string::npos)
      << "key '" << key << "': " << status.ToString();
}

TEST(ObjectKey, AcceptsOrdinaryKeys) {
  for (std::string_view key : {"a", "file1.csv", "sales/data/update-00000001/file1.parquet", "with space.csv",
                               "名前/ファイル.csv", "a/.edl/inner", ".edlx/a", "..a/b..", "a.b/.hidden"}) {
    EXPECT_TRUE(ValidateObjectKey(key).ok()) << key << ": " << ValidateObjectKey(key).ToString();
  }
}

TEST(ObjectKey, AcceptsLimits) {
  std::string segment(kMaxObjectKeySegmentLength, 's');
  std::string key = segment + "/" + segment + "/" + segment + "/" + std::string(200, 'k') + "/";
  key += std::string(kMaxObjectKeyLength - key.size(), 'k');
  ASSERT_EQ(key.size(), kMaxObjectKeyLength);
  EXPECT_TRUE(ValidateObjectKey(key).ok()) << ValidateObjectKey(key).ToString();
}

TEST(ObjectKey, RejectsEmpty) {
  ExpectRejected("", "empty");
}

TEST(ObjectKey, RejectsLongerThan1024Bytes) {
  std::string key;
  while (key.size() <= kMaxObjectKeyLength) key += "abcdefgh/";
  key += "x";
  ExpectRejected(key, "longer than 1024 bytes");
}

TEST(ObjectKey, RejectsSegmentLongerThan255Bytes) {
  ExpectRejected("a/" + std::string(256, 'x') + "/b", "segment longer than 255 bytes");
}

TEST(ObjectKey, RejectsAbsoluteKey) {
  ExpectRejected("/etc/passwd", "absolute");
}

TEST(ObjectKey, RejectsEmptySegment) {
  ExpectRejected("a//b", "empty segment");
}

TEST(ObjectKey, RejectsTrailingSlash) {
  ExpectRejected("a/b/", "ends with '/'");
}

TEST(ObjectKey, RejectsDotSegment) {
  ExpectRejected("a/./b", "'.' segment");
}

TEST(ObjectKey, RejectsDotDotSegment) {
  ExpectRejected("a/../../etc/passwd", "'..' segment");
}

TEST(ObjectKey, RejectsLoneDotDot) {
  ExpectRejected("..", "'..' segment");
}

TEST(ObjectKey, RejectsNul) {
  ExpectRejected(std::string_view("a\0b", 3), "NUL");
}

TEST(ObjectKey, RejectsControlCharacter) {
  ExpectRejected("a\nb", "control character U+000A");
}

TEST(ObjectKey, RejectsDelete) {
  ExpectRejected("a\x7f", "control character U+007F");
}

TEST(ObjectKey, RejectsC1ControlCharacter) {
  ExpectRejected("a\xc2\x85", "control character U+0085");
}

TEST(ObjectKey, RejectsBackslash) {
  ExpectRejected("a\\b", "backslash");
}

TEST(ObjectKey, RejectsInvalidUtf8) {
  ExpectRejected("caf\xe9.csv", "not valid UTF-8");
}

TEST(ObjectKey, RejectsTruncatedUtf8) {
  ExpectRejected("a\xc3", "not valid UTF-8");
}

TEST(ObjectKey, RejectsOverlongUtf8) {
  ExpectRejected("a\xc0\xaf", "not valid UTF-8");
}

TEST(ObjectKey, RejectsUtf8Surrogate) {
  ExpectRejected("a\xed\xa0\x80", "not valid UTF-8");
}

TEST(ObjectKey, RejectsReservedEdlArea) {
  ExpectRejected(".edl/sealed/x", "reserved");
}

TEST(ObjectKey, RejectsReservedEdlFolderItself) {
  ExpectRejected(".edl", "reserved");
}

TEST(ObjectKey, MessageNamesTheKey) {
  EXPECT_EQ(ValidateObjectKey("sales/../x").message(),
            "object key 'sales/../x' has a '..' segment; keys must not navigate folders");
}

TEST(ObjectKey, MessageEscapesUnprintableBytes) {
  EXPECT_EQ(ValidateObjectKey(std::string_view("a\0b", 3)).message(),
            "object key 'a\\x00b' contains a NUL byte (at byte 1)");
}

TEST(ObjectKeyPrefix, AcceptsFolder) {
  EXPECT_TRUE(ValidateObjectPrefix("sales/data/update-00000001/").ok());
}

TEST(ObjectKeyPrefix, RequiresTrailingSlash) {
  EXPECT_EQ(ValidateObjectPrefix("sales/data/update-00000001").code(), StatusCode::kInvalidArgument);
}

TEST(ObjectKeyPrefix, RejectsEmpty) {
  EXPECT_EQ(ValidateObjectPrefix("").code(), StatusCode::kInvalidArgument);
}

TEST(ObjectKeyPrefix, RejectsInvalidFolder) {
  EXPECT_EQ(ValidateObjectPrefix("a/../").code(), StatusCode::kInvalidArgument);
}

TEST(StorageBucketName, AcceptsValidNames) {
  const std::string longest = "a" + std::string(62, '0');
  for (std::string_view name :
       {std::string_view("abc"), std::string_view("datalake-dev01-internal-eu-west-1"),
        std::string_view("datalake-drop-dev01-sensitive-eu-west-1"), std::string_view(longest)}) {
    EXPECT_TRUE(ValidateBucketName(name).ok()) << name << ": " << ValidateBucketName(name).ToString();
  }
}

TEST(StorageBucketName, RejectsTooShort) {
  EXPECT_EQ(ValidateBucketName("ab").code(), StatusCode::kInvalidArgument);
}

TEST(StorageBucketName, RejectsTooLong) {
  EXPECT_EQ(ValidateBucketName(std::string(64, 'a')).code(), StatusCode::kInvalidArgument);
}

TEST(StorageBucketName, RejectsUpperCase) {
  EXPECT_EQ(ValidateBucketName("DataLake").code(), StatusCode::kInvalidArgument);
}

TEST(StorageBucketName, RejectsDotsAndUnderscores) {
  EXPECT_EQ(ValidateBucketName("data.lake").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateBucketName("data_lake").code(), StatusCode::kInvalidArgument);
}

TEST(StorageBucketName, RejectsHyphenAtEitherEnd) {
  EXPECT_EQ(ValidateBucketName("-datalake").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateBucketName("datalake-").code(), StatusCode::kInvalidArgument);
}

TEST(StorageBucketName, RejectsPathTricks) {
  EXPECT_EQ(ValidateBucketName("../etc").code(), StatusCode::kInvalidArgument);
}

TEST(StorageBucketName, MessageNamesTheBucketAndTheRule) {
  EXPECT_EQ(ValidateBucketName("Sales").message(),
            "bucket name 'Sales' contains 'S'; only lower-case letters, digits and '-' are allowed");
}

}  // namespace
}  // namespace edl
