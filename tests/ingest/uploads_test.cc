#include "ingest/uploads.h"

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/hash.h"
#include "ingest/lake_test_support.h"
#include "testing/status_testing.h"
#include "testing/temp_dir.h"

namespace edl {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr char kAlice[] = "user:alice";

class UploadStoreTest : public ::testing::Test {
 protected:
  fs::path Root() const { return dir_.path() / "uploads"; }

  // Every name under the upload's folder except upload.json and the three folders themselves.
  std::vector<std::string> Litter(const std::string& id) const {
    std::vector<std::string> out;
    for (const char* sub : {"files", "parts", "sha256"}) {
      for (const auto& entry : fs::directory_iterator(Root() / id / sub)) {
        out.push_back(std::string(sub) + "/" + entry.path().filename().string());
      }
    }
    return out;
  }

  testing::TempDir dir_;
  testing::FixedClock clock_;
  UploadStore uploads_{Root(), clock_};
};

TEST(UploadFileName, RefusesAnythingButAPlainName) {
  const std::string refused[] = {
      "../x", "a/b",      ".hidden", "", std::string("a\0b", 3), std::string(256, 'a'), "a\r\n",
      "a\\b", "\xff.csv", "..",      "."};
  for (const std::string& name : refused) {
    Status status = ValidateUploadFileName(name);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << "'" << name << "'";
  }
  const std::string allowed[] = {"orders.csv", std::string(255, 'a'), "caf\xc3\xa9 2026.csv", "a..b"};
  for (const std::string& name : allowed) EXPECT_OK(ValidateUploadFileName(name));
}

TEST_F(UploadStoreTest, StreamsFilesAndListsThemWithSizeAndHash) {
  ASSERT_OK_AND_ASSIGN(UploadInfo created, uploads_.Create(kAlice));
  EXPECT_EQ(created.id.size(), 32u);
  EXPECT_EQ(created.id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(created.created_at, clock_.NowText());
  const std::string content = "id,name\n1,alice\n2,bob\n";
  ASSERT_OK_AND_ASSIGN(UploadedFile file,
                       testing::AddUploadFile(uploads_, created.id, kAlice, "b.csv", content, /*piece=*/3));
  ASSERT_OK_AND_ASSIGN(std::string sha, Sha256Hex(content));
  EXPECT_EQ(file.size, content.size());
  EXPECT_EQ(file.sha256, sha);
  ASSERT_OK(testing::AddUploadFile(uploads_, created.id, kAlice, std::string(255, 'a'), "x").status());

  ASSERT_OK_AND_ASSIGN(UploadInfo info, uploads_.Get(created.id, kAlice));
  EXPECT_EQ(info.owner, kAlice);
  ASSERT_EQ(info.files.size(), 2u);
  EXPECT_EQ(info.files[0].name, std::string(255, 'a'));
  EXPECT_EQ(info.files[1].name, "b.csv");
  EXPECT_EQ(info.files[1].size, content.size());
  EXPECT_EQ(info.files[1].sha256, sha);
  ASSERT_OK_AND_ASSIGN(fs::path folder, uploads_.FilesFolder(created.id));
  EXPECT_EQ(testing::ReadFile(folder / "b.csv"), content);
  // Two uploads never share an id.
  ASSERT_OK_AND_ASSIGN(UploadInfo other, uploads_.Create(kAlice));
  EXPECT_NE(other.id, created.id);
}

TEST_F(UploadStoreTest, AWrongSizeOrTooManyBytesLeaveNothing) {
  ASSERT_OK_AND_ASSIGN(UploadInfo upload, uploads_.Create(kAlice));
  std::string body = "id\n1\n";
  size_t offset = 0;
  BodyReader read = [&](char* buffer, size_t capacity) -> Result<size_t> {
    size_t n = std::min(capacity, body.size() - offset);
    std::copy_n(body.data() + offset, n, buffer);
    offset += n;
    return n;
  };
  auto short_body = uploads_.AddFile(upload.id, kAlice, "a.csv", 10, 100, read);
  EXPECT_EQ(short_body.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(short_body.status().message(), HasSubstr("cut off after 5 of 10 bytes"));

  offset = 0;
  auto long_body = uploads_.AddFile(upload.id, kAlice, "a.csv", 3, 100, read);
  EXPECT_EQ(long_body.status().code(), StatusCode::kInvalidArgument);

  offset = 0;
  auto over_limit = uploads_.AddFile(upload.id, kAlice, "a.csv", std::nullopt, 4, read);
  EXPECT_EQ(over_limit.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(over_limit.status().message(), HasSubstr("over the limit of 4 bytes"));

  auto announced_over_limit = uploads_.AddFile(upload.id, kAlice, "a.csv", 5, 4, read);
  EXPECT_EQ(announced_over_limit.status().code(), StatusCode::kInvalidArgument);

  // A client that goes away mid-body.
  BodyReader gone = [calls = 0](char* buffer, size_t) mutable -> Result<size_t> {
    if (calls++ > 0) return Unavailable("the client went away");
    buffer[0] = 'x';
    return size_t{1};
  };
  EXPECT_EQ(uploads_.AddFile(upload.id, kAlice, "a.csv", std::nullopt, 100, gone).status().code(),
            StatusCode::kUnavailable);

  ASSERT_OK_AND_ASSIGN(UploadInfo info, uploads_.Get(upload.id, kAlice));
  EXPECT_TRUE(info.files.empty());
  EXPECT_THAT(Litter(upload.id), ::testing::IsEmpty());
}

TEST_F(UploadStoreTest, WriterTakesPiecesAndAnAbandonedOneLeavesNothing) {
  ASSERT_OK_AND_ASSIGN(UploadInfo upload, uploads_.Create(kAlice));
  ASSERT_OK_AND_ASSIGN(auto writer, uploads_.OpenFile(upload.id, kAlice, "a.csv", 5, 100));
  ASSERT_OK(writer->Write("id\n"));
  // One writer per name at a time.
  EXPECT_EQ(uploads_.OpenFile(upload.id, kAlice, "a.csv", 5, 100).status().code(), StatusCode::kConflict);
  writer.reset();  // the client went away
  EXPECT_THAT(Litter(upload.id), ::testing::IsEmpty());

  ASSERT_OK_AND_ASSIGN(writer, uploads_.OpenFile(upload.id, kAlice, "a.csv", 5, 100));
  ASSERT_OK(writer->Write("id\n"));
  ASSERT_OK(writer->Write("1\n"));
  EXPECT_EQ(writer->Write("2").code(), StatusCode::kInvalidArgument);  // over the announced size
  writer.reset();
  ASSERT_OK_AND_ASSIGN(writer, uploads_.OpenFile(upload.id, kAlice, "a.csv", 5, 100));
  ASSERT_OK(writer->Write("id\n1\n"));
  ASSERT_OK_AND_ASSIGN(UploadedFile file, writer->Commit());
  EXPECT_EQ(file.size, 5u);
  writer.reset();
  EXPECT_EQ(testing::ReadFile(Root() / upload.id / "files/a.csv"), "id\n1\n");
  EXPECT_EQ(uploads_.OpenFile(upload.id, kAlice, "a.csv", 5, 100).status().code(), StatusCode::kAlreadyExists);
}

TEST_F(UploadStoreTest, DuplicateNamesAndBadNamesAreRefused) {
  ASSERT_OK_AND_ASSIGN(UploadInfo upload, uploads_.Create(kAlice));
  ASSERT_OK(testing::AddUploadFile(uploads_, upload.id, kAlice, "a.csv", "id\n1\n").status());
  auto again = testing::AddUploadFile(uploads_, upload.id, kAlice, "a.csv", "id\n2\n");
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(testing::AddUploadFile(uploads_, upload.id, kAlice, "../a.csv", "x").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(testing::ReadFile(Root() / upload.id / "files/a.csv"), "id\n1\n");
}

TEST_F(UploadStoreTest, OtherOwnersAndUnknownIdsSeeNothing) {
  ASSERT_OK_AND_ASSIGN(UploadInfo upload, uploads_.Create(kAlice));
  const std::string bob = "user:bob";
  EXPECT_EQ(uploads_.Get(upload.id, bob).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(testing::AddUploadFile(uploads_, upload.id, bob, "a.csv", "x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(uploads_.Remove(upload.id, bob).code(), StatusCode::kNotFound);
  auto unknown = uploads_.Get(std::string(32, 'f'), kAlice);
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  // The message of another owner's upload is the one of an unknown upload.
  EXPECT_EQ(uploads_.Get(upload.id, bob).status().message(), "upload " + upload.id + " does not exist");
  for (const std::string id : {"../uploads", "ABCDEF00000000000000000000000000", "", "1234"}) {
    EXPECT_EQ(uploads_.Get(id, kAlice).status().code(), StatusCode::kNotFound) << id;
    EXPECT_EQ(uploads_.FilesFolder(id).status().code(), StatusCode::kNotFound) << id;
  }
  ASSERT_OK(uploads_.Get(upload.id, kAlice).status());
}

TEST_F(UploadStoreTest, RemoveAndRemoveOlderThan) {
  ASSERT_OK_AND_ASSIGN(UploadInfo old_upload, uploads_.Create(kAlice));
  ASSERT_OK(testing::AddUploadFile(uploads_, old_upload.id, kAlice, "a.csv", "id\n1\n").status());
  clock_.Advance(std::chrono::hours(2));
  ASSERT_OK_AND_ASSIGN(UploadInfo new_upload, uploads_.Create(kAlice));
  ASSERT_OK_AND_ASSIGN(UploadInfo removed, uploads_.Create(kAlice));
  ASSERT_OK(uploads_.Remove(removed.id, kAlice));
  EXPECT_EQ(uploads_.Get(removed.id, kAlice).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(Root() / removed.id));

  ASSERT_OK_AND_ASSIGN(int64_t count, uploads_.RemoveOlderThan(std::chrono::hours(1)));
  EXPECT_EQ(count, 1);
  EXPECT_EQ(uploads_.Get(old_upload.id, kAlice).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(Root() / old_upload.id));
  ASSERT_OK(uploads_.Get(new_upload.id, kAlice).status());
}

}  // namespace
}  // namespace edl
