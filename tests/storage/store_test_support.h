// Test support for storage tests: a LocalObjectStore in a private temp folder with one bucket,
// status assertions, and looks at the store's own files. Not thread-safe; one per test.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/local_object_store.h"
#include "testing/temp_dir.h"

#define EDL_EXPECT_OK(expr)                                                \
  do {                                                                     \
    const ::edl::Status edl_expect_status_ = (expr);                       \
    EXPECT_TRUE(edl_expect_status_.ok()) << edl_expect_status_.ToString(); \
  } while (0)

#define EDL_ASSERT_OK(expr)                                                \
  do {                                                                     \
    const ::edl::Status edl_assert_status_ = (expr);                       \
    ASSERT_TRUE(edl_assert_status_.ok()) << edl_assert_status_.ToString(); \
  } while (0)

namespace edl::testing {

inline constexpr std::string_view kBucket = "datalake-dev01-internal-eu-west-1";

class StoreInTempDir {
 public:
  StoreInTempDir() {
    auto created = LocalObjectStore::Create(dir_.path() / "storage");
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    store_ = std::move(created).value();
    Status bucket = store_->CreateBucket(kBucket);
    EXPECT_TRUE(bucket.ok()) << bucket.ToString();
  }

  LocalObjectStore& store() { return *store_; }
  const std::filesystem::path& root() const { return store_->root(); }
  std::filesystem::path bucket_folder() const { return root() / kBucket; }

  // Names of the upload temp files in the bucket.
  std::vector<std::string> TempFiles() const {
    std::vector<std::string> names;
    std::error_code ignored;
    for (const auto& entry : std::filesystem::directory_iterator(bucket_folder() / ".edl" / "tmp", ignored)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

  // Every key in the bucket, following continuation tokens.
  std::vector<std::string> AllKeys(std::string prefix = "") {
    std::vector<std::string> keys;
    ListOptions options;
    options.prefix = std::move(prefix);
    while (true) {
      Result<ListPage> page = store_->List(kBucket, options);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) break;
      for (const ObjectInfo& object : page->objects) keys.push_back(object.key);
      if (page->next_token.empty()) break;
      options.continuation_token = page->next_token;
    }
    return keys;
  }

 private:
  TempDir dir_;
  std::unique_ptr<LocalObjectStore> store_;
};

}  // namespace edl::testing
