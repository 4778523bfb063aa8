// List (S3 ListObjectsV2 semantics) of LocalObjectStore, checked against a reference model.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "storage/local_object_store.h"
#include "storage/store_test_support.h"

namespace edl {
namespace {

namespace fs = std::filesystem;
using ::edl::testing::kBucket;
using ::edl::testing::StoreInTempDir;

struct Listed {
  std::vector<std::string> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;

  bool operator==(const Listed&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Listed& listed) {
  out << "objects [";
  for (const std::string& key : listed.objects) out << key << " ";
  out << "] prefixes [";
  for (const std::string& prefix : listed.common_prefixes) out << prefix << " ";
  return out << "]" << (listed.truncated ? " truncated" : "");
}

Listed FromPage(const ListPage& page) {
  Listed listed;
  for (const ObjectInfo& object : page.objects) listed.objects.push_back(object.key);
  listed.common_prefixes = page.common_prefixes;
  listed.truncated = !page.next_token.empty();
  return listed;
}

// ListObjectsV2 over a sorted key set, written the obvious way. Continuation tokens are the last
// entry returned, as LocalObjectStore's are.
Listed ReferenceList(const std::set<std::string>& keys, const ListOptions& options) {
  bool token_mode = !options.continuation_token.empty();
  const std::string& marker = token_mode ? options.continuation_token : options.start_after;
  std::vector<std::pair<bool, std::string>> entries;  // (is common prefix, name), in order
  for (const std::string& key : keys) {
    if (!key.starts_with(options.prefix) || key <= marker) continue;
    size_t slash = options.delimiter.empty() ? std::string::npos : key.find('/', options.prefix.size());
    if (slash == std::string::npos) {
      entries.emplace_back(false, key);
      continue;
    }
    std::string common_prefix = key.substr(0, slash + 1);
    if (token_mode && common_prefix <= marker) continue;
    if (!entries.empty() && entries.back().second == common_prefix) continue;
    entries.emplace_back(true, common_prefix);
  }
  Listed listed;
  auto max_keys = static_cast<size_t>(std::min(options.max_keys, kMaxListKeys));
  for (size_t i = 0; i < entries.size() && i < max_keys; ++i) {
    (entries[i].first ? listed.common_prefixes : listed.objects).push_back(entries[i].second);
  }
  listed.truncated = entries.size() > max_keys;
  return listed;
}

// Keys with the awkward neighbours: '-' and '.' sort before '/', upper before lower case, UTF-8
// after ASCII. No key is also a folder of another (a local store cannot hold both).
const std::set<std::string>& SampleKeys() {
  static const std::set<std::string> keys = {"a-b",
                                             "a.txt",
                                             "a/b/c",
                                             "a/b2",
                                             "a/c",
                                             "ab",
                                             "b/x/y/z",
                                             "b/x/y2",
                                             "b0",
                                             "Z",
                                             "z",
                                             "~tilde",
                                             "é/1",
                                             "ü",
                                             "A b/c d",
                                             "sales/data/update-00000001/_manifest.json",
                                             "sales/data/update-00000001/part-0.parquet",
                                             "sales/data/update-00000002/part-0.parquet",
                                             "sales/raw/update-00000001/file1.csv"};
  return keys;
}

class SampleStore : public StoreInTempDir {
 public:
  SampleStore() {
    for (const std::string& key : SampleKeys()) {
      Status put = store().PutBytes(kBucket, key, key);
      EXPECT_TRUE(put.ok()) << put.ToString();
    }
  }

  Listed Page(const ListOptions& options) {
    auto page = store().List(kBucket, options);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    return page.ok() ? FromPage(*page) : Listed{};
  }
};

ListOptions Options(std::string prefix, std::string delimiter, int max_keys = kMaxListKeys) {
  ListOptions options;
  options.prefix = std::move(prefix);
  options.delimiter = std::move(delimiter);
  options.max_keys = max_keys;
  return options;
}

TEST(LocalObjectStore, ListOrdersKeysByBytes) {
  SampleStore s;
  Listed all = s.Page({});
  EXPECT_EQ(all.objects, std::vector<std::string>(SampleKeys().begin(), SampleKeys().end()));
  EXPECT_EQ(all.objects.front(), "A b/c d");
  EXPECT_EQ(all.objects.back(), "ü");
  auto a_b = std::find(all.objects.begin(), all.objects.end(), "a-b");
  EXPECT_EQ(*(a_b + 1), "a.txt");
  EXPECT_EQ(*(a_b + 2), "a/b/c");  // '-' < '.' < '/'
}

TEST(LocalObjectStore, ListWithPrefix) {
  SampleStore s;
  EXPECT_EQ(s.Page(Options("sales/data/", "")).objects,
            (std::vector<std::string>{"sales/data/update-00000001/_manifest.json",
                                      "sales/data/update-00000001/part-0.parquet",
                                      "sales/data/update-00000002/part-0.parquet"}));
  // A prefix is a string, not a folder.
  EXPECT_EQ(s.Page(Options("a", "")).objects, (std::vector<std::string>{"a-b", "a.txt", "a/b/c", "a/b2", "a/c", "ab"}));
  EXPECT_TRUE(s.Page(Options("nothing", "")).objects.empty());
}

TEST(LocalObjectStore, ListWithDelimiter) {
  SampleStore s;
  Listed top = s.Page(Options("", "/"));
  EXPECT_EQ(top.objects, (std::vector<std::string>{"Z", "a-b", "a.txt", "ab", "b0", "z", "~tilde", "ü"}));
  EXPECT_EQ(top.common_prefixes, (std::vector<std::string>{"A b/", "a/", "b/", "sales/", "é/"}));

  Listed data = s.Page(Options("sales/data/", "/"));
  EXPECT_TRUE(data.objects.empty());
  EXPECT_EQ(data.common_prefixes,
            (std::vector<std::string>{"sales/data/update-00000001/", "sales/data/update-00000002/"}));

  Listed partial = s.Page(Options("a/b", "/"));
  EXPECT_EQ(partial.objects, std::vector<std::string>{"a/b2"});
  EXPECT_EQ(partial.common_prefixes, std::vector<std::string>{"a/b/"});
}

TEST(LocalObjectStore, ListPagesWithMaxKeys) {
  SampleStore s;
  ListOptions options = Options("sales/", "", 2);
  auto first = s.store().List(kBucket, options);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->objects.size(), 2u);
  ASSERT_FALSE(first->next_token.empty());
  options.continuation_token = first->next_token;
  auto second = s.store().List(kBucket, options);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->objects.size(), 2u);
  EXPECT_TRUE(second->next_token.empty());  // exactly four keys: no empty third page
}

TEST(LocalObjectStore, ListPagesConcatenateToFullListing) {
  SampleStore s;
  for (std::string prefix : {"", "a", "a/", "b/x/", "sales/", "sales/data/", "é", "zz"}) {
    for (std::string delimiter : {"", "/"}) {
      Listed full = s.Page(Options(prefix, delimiter));
      ASSERT_FALSE(full.truncated);
      for (int max_keys : {1, 2, 3, 7}) {
        Listed joined;
        ListOptions options = Options(prefix, delimiter, max_keys);
        for (int pages = 0;; ++pages) {
          ASSERT_LT(pages, 100) << "paging does not end";
          auto page = s.store().List(kBucket, options);
          ASSERT_TRUE(page.ok()) << page.status().ToString();
          EXPECT_LE(page->objects.size() + page->common_prefixes.size(), static_cast<size_t>(max_keys));
          Listed listed = FromPage(*page);
          joined.objects.insert(joined.objects.end(), listed.objects.begin(), listed.objects.end());
          joined.common_prefixes.insert(joined.common_prefixes.end(), listed.common_prefixes.begin(),
                                        listed.common_prefixes.end());
          if (page->next_token.empty()) break;
          options.continuation_token = page->next_token;
        }
        EXPECT_EQ(joined, full) << "prefix '" << prefix << "' delimiter '" << delimiter << "' max_keys " << max_keys;
      }
    }
  }
}

TEST(LocalObjectStore, ListMatchesReferenceModel) {
  SampleStore s;
  for (std::string prefix : {"", "a", "a/", "a/b", "a/b/", "b/x/", "s", "sales/data/update-00000001/", "é"}) {
    for (std::string delimiter : {"", "/"}) {
      for (std::string start_after : {"", "a", "a/", "a/b", "a/b/c", "b", "b/x/y", "sales/", "zzz", "ü"}) {
        for (int max_keys : {1, 2, 3, 1000}) {
          ListOptions options = Options(prefix, delimiter, max_keys);
          options.start_after = start_after;
          for (int pages = 0; pages < 100; ++pages) {
            auto page = s.store().List(kBucket, options);
            ASSERT_TRUE(page.ok()) << page.status().ToString();
            ASSERT_EQ(FromPage(*page), ReferenceList(SampleKeys(), options))
                << "prefix '" << prefix << "' delimiter '" << delimiter << "' start_after '" << start_after
                << "' token '" << options.continuation_token << "' max_keys " << max_keys;
            if (page->next_token.empty()) break;
            options.continuation_token = page->next_token;
          }
        }
      }
    }
  }
}

TEST(LocalObjectStore, ListStartAfter) {
  SampleStore s;
  ListOptions options = Options("sales/", "");
  options.start_after = "sales/data/update-00000001/part-0.parquet";
  EXPECT_EQ(s.Page(options).objects, (std::vector<std::string>{"sales/data/update-00000002/part-0.parquet",
                                                               "sales/raw/update-00000001/file1.csv"}));
  // A common prefix is listed when keys after start_after roll up into it.
  options = Options("sales/data/", "/");
  options.start_after = "sales/data/update-00000001/_manifest.json";
  EXPECT_EQ(s.Page(options).common_prefixes,
            (std::vector<std::string>{"sales/data/update-00000001/", "sales/data/update-00000002/"}));
}

TEST(LocalObjectStore, ListNeverShowsTheEdlFolder) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "sales/data/update-00000001/part-0.parquet", "PAR1"));
  EDL_ASSERT_OK(s.store().Seal(kBucket, "sales/data/update-00000001/"));
  auto pending = s.store().Put(kBucket, "sales/data/update-00000002/part-0.parquet");  // a temp file
  ASSERT_TRUE(pending.ok());
  ASSERT_TRUE(fs::exists(s.bucket_folder() / ".edl"));

  EXPECT_EQ(s.AllKeys(), std::vector<std::string>{"sales/data/update-00000001/part-0.parquet"});
  EXPECT_TRUE(s.AllKeys(".edl").empty());
  auto top = s.store().List(kBucket, Options("", "/"));
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->common_prefixes, std::vector<std::string>{"sales/"});
  EXPECT_TRUE(top->objects.empty());
}

TEST(LocalObjectStore, ListSkipsEmptyFoldersAndForeignFiles) {
  StoreInTempDir s;
  EDL_ASSERT_OK(s.store().PutBytes(kBucket, "real/object.csv", "x"));
  // What a crash or a person may leave in the folder: none of it is an object.
  fs::create_directories(s.bucket_folder() / "empty" / "deeper");
  std::ofstream(s.bucket_folder() / "real" / "back\\slash.csv") << "x";
  fs::create_symlink("/etc/passwd", s.bucket_folder() / "real" / "link.csv");

  EXPECT_EQ(s.AllKeys(), std::vector<std::string>{"real/object.csv"});
  auto top = s.store().List(kBucket, Options("", "/"));
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->common_prefixes, std::vector<std::string>{"real/"});
  EXPECT_EQ(s.store().Get(kBucket, "real/link.csv").status().code(), StatusCode::kNotFound);
}

TEST(LocalObjectStore, ListClampsMaxKeysTo1000) {
  StoreInTempDir s;
  // Files made directly: 1005 committed puts would mostly time fsync.
  fs::create_directory(s.bucket_folder() / "many");
  for (int i = 0; i < 1005; ++i) std::ofstream(s.bucket_folder() / "many" / std::to_string(i)) << i;
  ListOptions options;
  options.max_keys = 5000;
  auto page = s.store().List(kBucket, options);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->objects.size(), 1000u);
  EXPECT_FALSE(page->next_token.empty());
  EXPECT_EQ(s.AllKeys().size(), 1005u);
}

TEST(LocalObjectStore, ListWithZeroMaxKeysIsEmpty) {
  SampleStore s;
  auto page = s.store().List(kBucket, Options("", "", 0));
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->objects.empty());
  EXPECT_TRUE(page->common_prefixes.empty());
  EXPECT_TRUE(page->next_token.empty());
}

TEST(LocalObjectStore, ListRejectsBadOptions) {
  StoreInTempDir s;
  EXPECT_EQ(s.store().List(kBucket, Options("", ",")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.store().List(kBucket, Options("", "", -1)).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace edl
