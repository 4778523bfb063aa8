#include "core/status.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace edl {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int half, Half(x));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(Status, PropagatesFirstErrorThroughAssignOrReturn) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> bad = Quarter(6);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(Status, WithContextPrefixesMessageAndKeepsCode) {
  Status s = NotFound("key 'a'").WithContext("bucket b");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "bucket b: key 'a'");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
}

TEST(Status, ErrnoStatusNamesPathAndMapsCodes) {
  Status s = ErrnoStatus(ENOSPC, "write", "/data/x");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("/data/x"), std::string::npos);
  EXPECT_EQ(ErrnoStatus(ENOENT, "open", "/x").code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus(EACCES, "open", "/x").code(), StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace edl
