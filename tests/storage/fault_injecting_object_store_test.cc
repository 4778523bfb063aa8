#include "storage/fault_injecting_object_store.h"

#include <gtest/gtest.h>

#include "storage/store_test_support.h"

namespace edl::testing {
namespace {

constexpr std::string_view kKey = "sales/data/update-00000001/part-0.parquet";

TEST(FaultInjectingObjectStore, FailedCommitLeavesNoObjectAndNoTempFile) {
  StoreInTempDir s;
  FaultInjectingObjectStore faulty(s.store());
  faulty.FailNth(StoreOperation::kCommit, 1, Unavailable("injected: no space left on device"));

  auto writer = faulty.Put(kBucket, kKey);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  EDL_ASSERT_OK((*writer)->Write("PAR1 and more"));
  ASSERT_EQ(s.TempFiles().size(), 1u);
  Status commit = (*writer)->Commit();
  EXPECT_EQ(commit.code(), StatusCode::kUnavailable);

  EXPECT_TRUE(s.TempFiles().empty());
  EXPECT_EQ(s.store().Head(kBucket, kKey).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(s.AllKeys().empty());
  EXPECT_EQ((*writer)->Commit().code(), StatusCode::kUnavailable);  // no second chance
}

TEST(FaultInjectingObjectStore, FailedWriteFailsTheUpload) {
  StoreInTempDir s;
  FaultInjectingObjectStore faulty(s.store());
  faulty.FailNth(StoreOperation::kWrite, 3, Unavailable("injected: disk gone"));

  auto writer = faulty.Put(kBucket, kKey);
  ASSERT_TRUE(writer.ok());
  EDL_ASSERT_OK((*writer)->Write("one"));
  EDL_ASSERT_OK((*writer)->Write("two"));
  EXPECT_EQ((*writer)->Write("three").code(), StatusCode::kUnavailable);
  EXPECT_EQ((*writer)->Commit().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(s.TempFiles().empty());
  EXPECT_TRUE(s.AllKeys().empty());
}

TEST(FaultInjectingObjectStore, FailsOnlyTheNthCall) {
  StoreInTempDir s;
  FaultInjectingObjectStore faulty(s.store());
  faulty.FailNth(StoreOperation::kCommit, 2, Internal("injected"));
  EDL_EXPECT_OK(faulty.PutBytes(kBucket, "first", "1"));
  EXPECT_EQ(faulty.PutBytes(kBucket, "second", "2").code(), StatusCode::kInternal);
  EDL_EXPECT_OK(faulty.PutBytes(kBucket, "third", "3"));
  EXPECT_EQ(s.AllKeys(), (std::vector<std::string>{"first", "third"}));
  EXPECT_EQ(faulty.Calls(StoreOperation::kCommit), 3);
}

TEST(FaultInjectingObjectStore, FailsReadsDeletesAndSeals) {
  StoreInTempDir s;
  FaultInjectingObjectStore faulty(s.store());
  EDL_ASSERT_OK(faulty.PutBytes(kBucket, kKey, "PAR1"));
  faulty.FailNth(StoreOperation::kRead, 1, Unavailable("injected read"));
  faulty.FailNth(StoreOperation::kDelete, 1, Unavailable("injected delete"));
  faulty.FailNth(StoreOperation::kSeal, 1, Unavailable("injected seal"));
  EXPECT_EQ(faulty.GetBytes(kBucket, kKey).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(faulty.Delete(kBucket, kKey).code(), StatusCode::kUnavailable);
  EXPECT_EQ(faulty.Seal(kBucket, "sales/data/update-00000001/").code(), StatusCode::kUnavailable);
  // Nothing reached the wrapped store; the next calls do.
  EXPECT_FALSE(s.store().IsSealed(kBucket, kKey).value());
  EXPECT_EQ(faulty.GetBytes(kBucket, kKey).value(), "PAR1");
  EDL_EXPECT_OK(faulty.Seal(kBucket, "sales/data/update-00000001/"));
  EXPECT_EQ(faulty.Delete(kBucket, kKey).code(), StatusCode::kConflict);
}

}  // namespace
}  // namespace edl::testing
