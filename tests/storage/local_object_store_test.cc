#include "storage/local_object_store.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/names.h"
#include "storage/store_test_support.h"
#include "testing/temp_dir.h"

namespace edl {
namespace {

namespace fs = std::filesystem;
using ::edl::testing::kBucket;
using ::edl::testing::ReadFile;
using ::edl::testing::StoreInTempDir;
using ::edl::testing::TempDir;

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// Every regular file under `folder`, as paths relative to it.
std::vector<std::string> FilesUnder(const fs::path& folder) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (entry.is_regular_file()) files.push_back(entry.path().lexically_relative(folder).string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// ---- Create and buckets ----

TEST(LocalObjectStore, CreateMakesMissingRoot) {
  TempDir dir;
  auto store = LocalObjectStore::Create(dir.path() / "a" / "b" / "root");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE(fs::is_directory(dir.path() / "a" / "b" / "root"));
  EXPECT_EQ((*store)->root(), dir.path() / "a" / "b" / "root");
}

TEST(LocalObjectStore, CreateLeavesNoProbeFileInRoot) {
  TempDir dir;
  auto store = LocalObjectStore::Create(dir.path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(LocalObjectStore, CreateRefusesRootUnderRegularFile) {
  TempDir dir;
  fs::path file = dir.WriteFile("plain-file", "x");
  auto store = LocalObjectStore::Create(file / "root");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Contains(store.status().message(), (file / "root").string())) << store.status().ToString();
}

TEST(LocalObjectStore, CreateRefusesRootThatCannotBeCreated) {
  // /proc refuses new folders even to root, unlike a chmod'ed folder.
  auto store = LocalObjectStore::Create("/proc/edl-not-writable");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Contains(store.status().message(), "/proc/edl-not-writable")) << store.status().ToString();
}

TEST(LocalObjectStore, CreateRefusesExistingUnwritableRoot) {
  TempDir dir;
  fs::path root = dir.path() / "read-only";
  if (::geteuid() != 0) {
    fs::create_directory(root);
    fs::permissions(root, fs::perms::owner_read | fs::perms::owner_exec);
  } else {
    // Root writes through permission bits; /proc is an existing folder that root cannot write to.
    ASSERT_TRUE(fs::is_directory("/proc"));
    root = "/proc";
  }
  auto store = LocalObjectStore::Create(root);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Contains(store.status().message(), "storage root '" + root.string() + "' is not writable"))
      << store.status().ToString();
}

TEST(LocalObjectStore, CreateRefusesRootThatIsAFile) {
  TempDir dir;
  fs::path file = dir.WriteFile("plain-file", "x");
  auto store = LocalObjectStore::Create(file);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
}

TEST(LocalObjectStore, CreateBucketIsIdempotent) {
  StoreInTempDir s;
  EDL_EXPECT_OK(s.store().CreateBucket(kBucket));
  EDL_EXPECT_OK(s.store().CreateBucket(kBucket));
  EXPECT_TRUE(fs::is_directory(s.bucket_folder()));
  EXPECT_TRUE(s.store().BucketExists(kBucket).value());
  EXPECT_FALSE(s.store().BucketExists("other-bucket").value());
}

TEST(LocalObjectStore, CreateBucketRejectsInvalidName) {
  StoreInTempDir s;
  EXPECT_EQ(s.store().CreateBucket("../escape").code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(s.root().parent_path() / "escape"));
}

TEST(LocalObjectStore, ListBucketsIgnoresOtherEntriesInRoot) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().CreateBucket("datalake-drop-dev01-internal-eu-west-1"));
  std::ofstream(s.root() / "catalog.db") << "sqlite";
  fs::create_directory(s.root() / "Not_A_Bucket");
  auto buckets = s.store().ListBuckets();
  ASSERT_TRUE(buckets.ok()) << buckets.status().ToString();
  EXPECT_EQ(*buckets,
            (std::vector<std::string>{"datalake-dev01-internal-eu-west-1", "datalake-drop-dev01-internal-eu-west-1"}));
}

TEST(LocalObjectStore, MissingBucketIsNotFound) {
  StoreInTempDir s;
  constexpr std::string_view kMissing = "no-such-bucket";
  auto expect_not_found = [&](const Status& status, std::string_view operation) {
    EXPECT_EQ(status.code(), StatusCode::kNotFound) << operation << ": " << status.ToString();
    EXPECT_TRUE(Contains(status.message(), "bucket 'no-such-bucket'")) << operation << ": " << status.ToString();
  };
  expect_not_found(s.store().Put(kMissing, "a.csv").status(), "put");
  expect_not_found(s.store().PutBytes(kMissing, "a.csv", "x"), "put bytes");
  expect_not_found(s.store().Get(kMissing, "a.csv").status(), "get");
  expect_not_found(s.store().Head(kMissing, "a.csv").status(), "head");
  expect_not_found(s.store().List(kMissing, {}).status(), "list");
  expect_not_found(s.store().Delete(kMissing, "a.csv"), "delete");
  expect_not_found(s.store().Seal(kMissing, "a/"), "seal");
  expect_not_found(s.store().IsSealed(kMissing, "a/b").status(), "is sealed");
  EXPECT_FALSE(fs::exists(s.root() / kMissing));
}

// ---- Objects ----

TEST(LocalObjectStore, RoundTrip) {
  StoreInTempDir s;
  const std::string key = "sales/raw/update-00000001/file1.csv";
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, key, "id,amount\n1,10\n"));

  auto bytes = s.store().GetBytes(kBucket, key);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(*bytes, "id,amount\n1,10\n");

  auto info = s.store().Head(kBucket, key);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->key, key);
  EXPECT_EQ(info->size, 15u);

  auto page = s.store().List(kBucket, {});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].key, key);
  EXPECT_EQ(page->objects[0].size, 15u);
  EXPECT_TRUE(page->next_token.empty());

  EDL_ASSERT_OK(s.store().Delete(kBucket, key));
  EXPECT_EQ(s.store().Head(kBucket, key).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.store().GetBytes(kBucket, key).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(s.AllKeys().empty());
}

TEST(LocalObjectStore, StoresObjectsAsPlainFilesUnderTheBucket) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "sales/data/update-00000001/part-0.parquet", "PAR1"));
  EXPECT_EQ(ReadFile(s.bucket_folder() / "sales/data/update-00000001/part-0.parquet"), "PAR1");
  auto path = s.store().LocalPath(kBucket, "sales/data/update-00000001/part-0.parquet");
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(*path, s.bucket_folder() / "sales/data/update-00000001/part-0.parquet");
  EXPECT_EQ(s.store().LocalPath(kBucket, "sales/data/update-00000001/"),
            s.bucket_folder() / "sales/data/update-00000001");
  EXPECT_FALSE(s.store().LocalPath(kBucket, "../outside").has_value());
  EXPECT_FALSE(s.store().LocalPath("../x", "a").has_value());
}

TEST(LocalObjectStore, EmptyObject) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "empty", ""));
  EXPECT_EQ(s.store().GetBytes(kBucket, "empty").value(), "");
  EXPECT_EQ(s.store().Head(kBucket, "empty")->size, 0u);
}

TEST(LocalObjectStore, HeadReportsModifiedTime) {
  StoreInTempDir s;
  auto before = std::chrono::system_clock::now() - std::chrono::seconds(2);
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "a.csv", "x"));
  auto after = std::chrono::system_clock::now() + std::chrono::seconds(2);
  auto info = s.store().Head(kBucket, "a.csv");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_GT(info->modified, before);
  EXPECT_LT(info->modified, after);
}

TEST(LocalObjectStore, MissingObjectIsNotFound) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "folder/a.csv", "x"));
  for (std::string_view key : {"nothing.csv", "folder", "folder/a.csv/deeper"}) {
    Status get = s.store().Get(kBucket, key).status();
    EXPECT_EQ(get.code(), StatusCode::kNotFound) << key << ": " << get.ToString();
    EXPECT_TRUE(Contains(get.message(), std::string(key))) << get.ToString();
    EXPECT_EQ(s.store().Head(kBucket, key).status().code(), StatusCode::kNotFound) << key;
    EXPECT_EQ(s.store().Delete(kBucket, key).code(), StatusCode::kNotFound) << key;
  }
}

TEST(LocalObjectStore, InvalidKeyIsRefusedByEveryOperation) {
  StoreInTempDir s;
  constexpr std::string_view kBad = "../../etc/passwd";
  EXPECT_EQ(s.store().Put(kBucket, kBad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.store().Get(kBucket, kBad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.store().Head(kBucket, kBad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.store().Delete(kBucket, kBad).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.store().PutBytes(kBucket, ".edl/sealed/1/x", "").code(), StatusCode::kInvalidArgument);
}

TEST(LocalObjectStore, PutOverwrites) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "a.csv", "first version"));
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "a.csv", "second"));
  EXPECT_EQ(s.store().GetBytes(kBucket, "a.csv").value(), "second");
  EXPECT_EQ(s.store().Head(kBucket, "a.csv")->size, 6u);
}

TEST(LocalObjectStore, CommitIsAtomic) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "a.csv", "old"));
  auto writer = s.store().Put(kBucket, "a.csv");
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  auto fresh = s.store().Put(kBucket, "b.csv");
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EDL_ASSERT_OK((*writer)->Write("new "));
  EDL_ASSERT_OK((*fresh)->Write("b"));
  EDL_ASSERT_OK((*writer)->Write("content"));

  // Before Commit: the old object whole, the new one absent.
  EXPECT_EQ(s.store().GetBytes(kBucket, "a.csv").value(), "old");
  EXPECT_EQ(s.store().Head(kBucket, "b.csv").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.AllKeys(), std::vector<std::string>{"a.csv"});

  EDL_ASSERT_OK((*writer)->Commit());
  EDL_ASSERT_OK((*fresh)->Commit());
  EXPECT_EQ(s.store().GetBytes(kBucket, "a.csv").value(), "new content");
  EXPECT_EQ(s.store().GetBytes(kBucket, "b.csv").value(), "b");
  EXPECT_TRUE(s.TempFiles().empty());
}

TEST(LocalObjectStore, WriterIsSpentAfterCommit) {
  StoreInTempDir s;
  auto writer = s.store().Put(kBucket, "a.csv");
  ASSERT_TRUE(writer.ok());
  EDL_ASSERT_OK((*writer)->Write("x"));
  EDL_ASSERT_OK((*writer)->Commit());
  EXPECT_FALSE((*writer)->Write("more").ok());
  EXPECT_FALSE((*writer)->Commit().ok());
  writer->reset();
  EXPECT_EQ(s.store().GetBytes(kBucket, "a.csv").value(), "x");
}

TEST(LocalObjectStore, StreamsSeveralMegabytesInChunks) {
  StoreInTempDir s;
  constexpr size_t kSize = 5 * 1024 * 1024 + 123;
  std::string expected(kSize, '\0');
  for (size_t i = 0; i < kSize; ++i) expected[i] = static_cast<char>((i * 7919) % 251);

  auto writer = s.store().Put(kBucket, "big/blob.bin");
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  constexpr size_t kChunk = 64 * 1024 + 7;
  for (size_t offset = 0; offset < kSize; offset += kChunk) {
    EDL_ASSERT_OK((*writer)->Write(std::string_view(expected).substr(offset, kChunk)));
  }
  EDL_ASSERT_OK((*writer)->Commit());

  auto reader = s.store().Get(kBucket, "big/blob.bin");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->size(), kSize);
  std::string actual;
  std::vector<char> buffer(100 * 1000 + 3);
  while (true) {
    auto n = (*reader)->Read(buffer.data(), buffer.size());
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    actual.append(buffer.data(), *n);
  }
  EXPECT_EQ(actual.size(), kSize);
  EXPECT_TRUE(actual == expected);
  EXPECT_EQ(s.store().Head(kBucket, "big/blob.bin")->size, kSize);
}

TEST(LocalObjectStore, AbandonedWriterLeavesNothing) {
  StoreInTempDir s;
  {
    auto writer = s.store().Put(kBucket, "sales/raw/update-00000001/file1.csv");
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    EDL_ASSERT_OK((*writer)->Write(std::string(100000, 'x')));
    EXPECT_EQ(s.TempFiles().size(), 1u);  // the bytes went somewhere, invisibly
    EXPECT_TRUE(s.AllKeys().empty());
  }
  EXPECT_TRUE(s.TempFiles().empty());
  EXPECT_TRUE(s.AllKeys().empty());
  EXPECT_EQ(s.store().Head(kBucket, "sales/raw/update-00000001/file1.csv").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(s.bucket_folder() / "sales"));
}

// A writer that crashed leaves its temp file; recovery removes those untouched for long enough, and
// never one that a live writer is still filling.
TEST(LocalObjectStore, RemovesAbandonedUploadsButNotLiveOnes) {
  StoreInTempDir s;
  auto live = s.store().Put(kBucket, "sales/raw/update-00000002/live.csv");
  ASSERT_TRUE(live.ok());
  EDL_ASSERT_OK((*live)->Write("still writing"));
  fs::path crashed = s.bucket_folder() / ".edl/tmp/put-crashed";
  { std::ofstream(crashed) << "half of a file"; }
  auto two_hours_ago = fs::file_time_type::clock::now() - std::chrono::hours(2);
  fs::last_write_time(crashed, two_hours_ago);
  ASSERT_EQ(s.TempFiles().size(), 2u);

  auto removed = s.store().RemoveAbandonedUploads(std::chrono::system_clock::now() - std::chrono::hours(1));
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE(fs::exists(crashed));
  EXPECT_EQ(s.TempFiles().size(), 1u);
  EDL_ASSERT_OK((*live)->Commit());
  auto bytes = s.store().GetBytes(kBucket, "sales/raw/update-00000002/live.csv");
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, "still writing");
}

TEST(LocalObjectStore, ReaderKeepsWhatItOpened) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "a.csv", "version one"));
  auto reader = s.store().Get(kBucket, "a.csv");
  ASSERT_TRUE(reader.ok());
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "a.csv", "version two, longer"));
  EDL_ASSERT_OK(s.store().Delete(kBucket, "a.csv"));
  char buffer[64];
  auto n = (*reader)->Read(buffer, sizeof(buffer));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buffer, *n), "version one");
}

TEST(LocalObjectStore, ObjectAndFolderOfTheSameNameConflict) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "a", "object"));
  Status under_object = s.store().PutBytes(kBucket, "a/b", "x");
  EXPECT_EQ(under_object.code(), StatusCode::kConflict) << under_object.ToString();
  EXPECT_TRUE(Contains(under_object.message(), "'a/b'")) << under_object.ToString();

  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "x/y", "object"));
  Status over_folder = s.store().PutBytes(kBucket, "x", "x");
  EXPECT_EQ(over_folder.code(), StatusCode::kConflict) << over_folder.ToString();

  EXPECT_TRUE(s.TempFiles().empty());
  EXPECT_EQ(s.AllKeys(), (std::vector<std::string>{"a", "x/y"}));
}

TEST(LocalObjectStore, DeleteRemovesFoldersItEmptied) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "d/keep.csv", "x"));
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "d/e/f/g.csv", "x"));
  EDL_ASSERT_OK(s.store().Delete(kBucket, "d/e/f/g.csv"));
  EXPECT_FALSE(fs::exists(s.bucket_folder() / "d" / "e"));
  EXPECT_TRUE(fs::exists(s.bucket_folder() / "d" / "keep.csv"));
  // The folder may now hold an object of that name.
  EDL_EXPECT_OK(s.store().PutBytes(kBucket, "d/e", "now an object"));
}

TEST(LocalObjectStore, ConcurrentPutsToDifferentKeysAllLand) {
  StoreInTempDir s;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  std::vector<Status> failures(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&s, &failures, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Shared and private folders, so folder creation races too.
        std::string key = "shared/" + std::to_string(i % 5) + "/t" + std::to_string(t) + "-" + std::to_string(i);
        Status put = s.store().PutBytes(kBucket, key, key);
        if (!put.ok()) failures[t] = put;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const Status& failure : failures) EDL_EXPECT_OK(failure);

  std::vector<std::string> keys = s.AllKeys();
  EXPECT_EQ(keys.size(), static_cast<size_t>(kThreads * kPerThread));
  for (const std::string& key : keys) EXPECT_EQ(s.store().GetBytes(kBucket, key).value(), key);
  EXPECT_TRUE(s.TempFiles().empty());
}

TEST(LocalObjectStore, ConcurrentPutsToOneKeyLeaveOneWholeVersion) {
  StoreInTempDir s;
  constexpr int kThreads = 6;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&s, t] {
      for (int i = 0; i < 10; ++i) {
        s.store().PutBytes(kBucket, "contended.bin", std::string(200000, static_cast<char>('a' + t))).IgnoreError();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::string bytes = s.store().GetBytes(kBucket, "contended.bin").value();
  ASSERT_EQ(bytes.size(), 200000u);
  EXPECT_EQ(std::count(bytes.begin(), bytes.end(), bytes[0]), 200000);
}

TEST(LocalObjectStore, ConcurrentPutsAndDeletesInOneFolder) {
  // Delete prunes emptied folders while puts create them: no put may lose its folder.
  StoreInTempDir s;
  std::vector<std::thread> threads;
  std::vector<Status> failures(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&s, &failures, t] {
      for (int i = 0; i < 50; ++i) {
        std::string key = "churn/deep/t" + std::to_string(t);
        Status status = s.store().PutBytes(kBucket, key, "x");
        if (status.ok()) status = s.store().Delete(kBucket, key);
        if (!status.ok()) failures[t] = status;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const Status& failure : failures) EDL_EXPECT_OK(failure);
  EXPECT_TRUE(s.AllKeys().empty());
}

// ---- Sealing ----

constexpr std::string_view kUpdate1 = "sales/data/update-00000001/";

TEST(LocalObjectStore, SealRefusesPutUnderThePrefix) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "sales/data/update-00000001/part-0.parquet", "PAR1"));
  EDL_ASSERT_OK(s.store().Seal(kBucket, kUpdate1));
  Status put = s.store().Put(kBucket, "sales/data/update-00000001/late.parquet").status();
  EXPECT_EQ(put.code(), StatusCode::kConflict) << put.ToString();
  EXPECT_TRUE(Contains(put.message(), "'sales/data/update-00000001/late.parquet'")) << put.ToString();
  EXPECT_TRUE(Contains(put.message(), "update is complete")) << put.ToString();
  Status nested = s.store().PutBytes(kBucket, "sales/data/update-00000001/sub/x", "x");
  EXPECT_EQ(nested.code(), StatusCode::kConflict) << nested.ToString();
}

TEST(LocalObjectStore, SealRefusesCommitOfUploadStartedBefore) {
  StoreInTempDir s;
  auto writer = s.store().Put(kBucket, "sales/data/update-00000001/part-1.parquet");
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  EDL_ASSERT_OK((*writer)->Write("PAR1"));
  EDL_ASSERT_OK(s.store().Seal(kBucket, kUpdate1));
  Status commit = (*writer)->Commit();
  EXPECT_EQ(commit.code(), StatusCode::kConflict) << commit.ToString();
  EXPECT_TRUE(Contains(commit.message(), "update is complete")) << commit.ToString();
  EXPECT_TRUE(s.TempFiles().empty());
  EXPECT_TRUE(s.AllKeys().empty());
}

TEST(LocalObjectStore, SealRefusesDelete) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "sales/data/update-00000001/part-0.parquet", "PAR1"));
  EDL_ASSERT_OK(s.store().Seal(kBucket, kUpdate1));
  Status deleted = s.store().Delete(kBucket, "sales/data/update-00000001/part-0.parquet");
  EXPECT_EQ(deleted.code(), StatusCode::kConflict) << deleted.ToString();
  EXPECT_TRUE(Contains(deleted.message(), "'sales/data/update-00000001/part-0.parquet'"));
  EXPECT_EQ(s.store().GetBytes(kBucket, "sales/data/update-00000001/part-0.parquet").value(), "PAR1");
}

TEST(LocalObjectStore, SealRefusesOverwrite) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "sales/data/update-00000001/part-0.parquet", "PAR1"));
  EDL_ASSERT_OK(s.store().Seal(kBucket, kUpdate1));
  EXPECT_EQ(s.store().PutBytes(kBucket, "sales/data/update-00000001/part-0.parquet", "changed").code(),
            StatusCode::kConflict);
  EXPECT_EQ(s.store().GetBytes(kBucket, "sales/data/update-00000001/part-0.parquet").value(), "PAR1");
}

TEST(LocalObjectStore, SealAllowsSiblingPrefixes) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().Seal(kBucket, kUpdate1));
  EDL_EXPECT_OK(s.store().PutBytes(kBucket, "sales/data/update-00000002/part-0.parquet", "PAR1"));
  // A folder whose name merely starts with the sealed one's is a different folder.
  EDL_EXPECT_OK(s.store().PutBytes(kBucket, "sales/data/update-000000010/part-0.parquet", "PAR1"));
  EDL_EXPECT_OK(s.store().PutBytes(kBucket, "sales/raw/update-00000001/file1.csv", "a,b"));
  EDL_EXPECT_OK(s.store().PutBytes(kBucket, "sales/data/_schema.json", "{}"));
  EXPECT_FALSE(s.store().IsSealed(kBucket, "sales/data/update-00000002/part-0.parquet").value());
  EXPECT_FALSE(s.store().IsSealed(kBucket, "sales/data/update-000000010/part-0.parquet").value());
}

TEST(LocalObjectStore, IsSealedCoversEverythingUnderThePrefix) {
  StoreInTempDir s;
  EXPECT_FALSE(s.store().IsSealed(kBucket, "sales/data/update-00000001/a").value());
  EDL_ASSERT_OK(s.store().Seal(kBucket, kUpdate1));
  EXPECT_TRUE(s.store().IsSealed(kBucket, "sales/data/update-00000001/a").value());
  EXPECT_TRUE(s.store().IsSealed(kBucket, "sales/data/update-00000001/x/y/z").value());
  EXPECT_TRUE(s.store().IsSealed(kBucket, "sales/data/update-00000001/").value());
  EXPECT_FALSE(s.store().IsSealed(kBucket, "sales/data/update-00000001").value());  // the object
  EXPECT_FALSE(s.store().IsSealed(kBucket, "sales/data/").value());
}

TEST(LocalObjectStore, SealingAParentSealsChildrenSealedBefore) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().Seal(kBucket, "a/b/c/"));
  EDL_ASSERT_OK(s.store().Seal(kBucket, "a/"));
  EDL_ASSERT_OK(s.store().Seal(kBucket, "a/b/"));  // already covered
  EXPECT_TRUE(s.store().IsSealed(kBucket, "a/x").value());
  EXPECT_TRUE(s.store().IsSealed(kBucket, "a/b/c/d").value());
  EXPECT_EQ(s.store().PutBytes(kBucket, "a/b/x", "x").code(), StatusCode::kConflict);
}

TEST(LocalObjectStore, SealIsIdempotentAndSurvivesReopening) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().Seal(kBucket, kUpdate1));
  EDL_ASSERT_OK(s.store().Seal(kBucket, kUpdate1));
  auto reopened = LocalObjectStore::Create(s.root());
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE((*reopened)->IsSealed(kBucket, "sales/data/update-00000001/x").value());
  EXPECT_EQ((*reopened)->PutBytes(kBucket, "sales/data/update-00000001/x", "x").code(), StatusCode::kConflict);
}

TEST(LocalObjectStore, SealRequiresAFolderPrefix) {
  StoreInTempDir s;
  EXPECT_EQ(s.store().Seal(kBucket, "sales/data/update-00000001").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.store().Seal(kBucket, "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.store().Seal(kBucket, "/").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.store().Seal(kBucket, "../").code(), StatusCode::kInvalidArgument);
}

TEST(LocalObjectStore, SealMarkersStayOutOfDatasetFolders) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "sales/data/update-00000001/part-0.parquet", "PAR1"));
  EDL_ASSERT_OK(s.store().Seal(kBucket, kUpdate1));
  EXPECT_EQ(FilesUnder(s.bucket_folder() / "sales"), std::vector<std::string>{"data/update-00000001/part-0.parquet"});
  EXPECT_EQ(s.AllKeys(), std::vector<std::string>{"sales/data/update-00000001/part-0.parquet"});
}

// The storage contract (design.md §3, §6): raw files, Parquet, manifest last, then the update's
// folders are sealed, and the next update goes next to them.
TEST(Storage, UpdateFoldersFollowTheContract) {
  StoreInTempDir s;
  std::string raw = RawUpdatePrefix("sales", 1);
  std::string data = DataUpdatePrefix("sales", 1);
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, raw + "file1.csv", "id\n1\n"));
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, data + "file1.parquet", "PAR1"));
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, data + "_manifest.json", "{}"));
  EDL_ASSERT_OK(s.store().Seal(kBucket, raw));
  EDL_ASSERT_OK(s.store().Seal(kBucket, data));
  EXPECT_EQ(s.store().PutBytes(kBucket, data + "_manifest.json", "{\"changed\":1}").code(), StatusCode::kConflict);
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, DataUpdatePrefix("sales", 2) + "file1.parquet", "PAR1"));

  ListOptions options;
  options.prefix = "sales/data/";
  options.delimiter = "/";
  auto page = s.store().List(kBucket, options);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_EQ(page->common_prefixes,
            (std::vector<std::string>{"sales/data/update-00000001/", "sales/data/update-00000002/"}));
}

}  // namespace
}  // namespace edl
