// DatasetTextMemo: the memoized text of a dataset is always what DatasetJson prints for the same
// inputs, whatever input changed; the page body is what nlohmann prints for the same tree; the
// memory limits hold. (tests/http/dataset_text_test.cc checks the same through the real server.)
#include "http/render_memo.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace edl::http {
namespace {

using nlohmann::json;

const std::vector<std::string> kAccessLevels = {"none", "read", "write", "admin"};

DatasetSummary Summary(const std::string& name, std::string description = "A dataset") {
  DatasetSummary summary;
  DatasetRecord& record = summary.record;
  record.spec.name = name;
  record.spec.tier = Tier::kRestricted;
  record.spec.region = "eu-west-1";
  record.spec.description = std::move(description);
  record.spec.owners = {"alice", "bob"};
  record.spec.policy.classification = "confidential";
  record.spec.policy.retention_days = 3650;
  record.spec.policy.allowed_purposes = {"analytics"};
  QcCheck not_null;
  not_null.check = "not_null";
  not_null.columns = {"order_id"};
  record.spec.qc.push_back(not_null);
  record.bucket = "datalake-dev01-restricted-eu-west-1";
  record.generation = 3;
  record.created_at = "2026-11-29T08:00:00.000Z";
  record.updated_at = "2026-11-29T09:00:00.000Z";
  summary.updates = 7;
  return summary;
}

// Datasets whose texts need every kind of escaping and non-ASCII text nlohmann prints.
std::vector<DatasetSummary> VariedSummaries() {
  std::vector<DatasetSummary> out;
  out.push_back(Summary("plain"));
  out.push_back(Summary("unicode", "Café ☕ — 日本語 — 𝄞 (U+1D11E)"));
  out.push_back(Summary("escaped", std::string("quote \" backslash \\ slash / newline \n tab \t bell \x07 nul ") +
                                       '\0' + " del \x7f end"));
  DatasetSummary full = Summary("full", "");
  DatasetSpec& spec = full.record.spec;
  spec.tier = Tier::kSensitive;
  spec.policy.contains_pii = true;
  spec.policy.max_grant_days = 30;
  spec.policy.two_person_approval = true;
  spec.updates.kind = UpdateKind::kDelta;
  spec.updates.keys = {"order_id"};
  spec.updates.op_column = "op";
  spec.format.type = "csv";
  spec.format.delimiter = ";";
  spec.format.column_types = {{"amount", "DECIMAL(10,2)"}, {"day", "DATE"}};
  QcCheck range;
  range.check = "range";
  range.columns = {"amount"};
  range.min = 0.5;
  range.max = 1e9;
  spec.qc.push_back(range);
  QcCheck sql;
  sql.check = "sql";
  sql.sql = "SELECT * FROM data WHERE note LIKE '%\"%'";
  spec.qc.push_back(sql);
  spec.grants.push_back({.principal = {PrincipalKind::kUser, "carol"},
                         .level = AccessLevel::kRead,
                         .justification = "audit 2026",
                         .until = "2026-12-31"});
  spec.triggers.push_back({"daily-rollup"});
  full.updates = 0;
  out.push_back(std::move(full));
  return out;
}

std::string MemoText(DatasetTextMemo& memo, const DatasetSummary& summary, std::string_view access) {
  std::string out = "prefix:";  // AppendText appends
  memo.AppendText(summary, access, out);
  EXPECT_EQ(out.rfind("prefix:", 0), 0u);
  return out.substr(7);
}

TEST(DatasetTextMemo, TextIsTheDumpOfDatasetJsonForEveryAccess) {
  DatasetTextMemo memo;
  for (const DatasetSummary& summary : VariedSummaries()) {
    for (const std::string& access : kAccessLevels) {
      std::string expected = DatasetJson(summary, access).dump();
      EXPECT_EQ(MemoText(memo, summary, access), expected) << summary.record.spec.name << " " << access;  // printed
      EXPECT_EQ(MemoText(memo, summary, access), expected) << summary.record.spec.name << " " << access;  // memoized
    }
  }
  EXPECT_EQ(memo.Entries(), 4u);  // one per dataset, holding the texts of every access level

  // The two views differ as docs/security.md says: the limited one hides contents and counts.
  DatasetSummary summary = Summary("plain");
  json limited = json::parse(MemoText(memo, summary, "none"));
  EXPECT_EQ(limited["access"], "none");
  EXPECT_EQ(limited["description"], "A dataset");
  for (const char* hidden : {"bucket", "generation", "qc", "updates_count", "grants", "format"}) {
    EXPECT_FALSE(limited.contains(hidden)) << hidden;
  }
  json readable = json::parse(MemoText(memo, summary, "read"));
  EXPECT_EQ(readable["access"], "read");
  EXPECT_EQ(readable["updates_count"], 7);
  EXPECT_EQ(readable["generation"], 3);
  EXPECT_EQ(readable["qc"].size(), 1u);

  // Non-ASCII text is printed as UTF-8, control characters escaped, as nlohmann does.
  std::string unicode = MemoText(memo, VariedSummaries()[1], "read");
  EXPECT_NE(unicode.find("Café ☕ — 日本語 — 𝄞"), std::string::npos) << unicode;
  std::string escaped = MemoText(memo, VariedSummaries()[2], "read");
  EXPECT_NE(escaped.find(R"(quote \" backslash \\ slash / newline \n tab \t bell \u0007 nul \u0000 del)"),
            std::string::npos)
      << escaped;
}

TEST(DatasetTextMemo, AnAccessItDoesNotKnowIsPrintedNotKept) {
  DatasetTextMemo memo;
  DatasetSummary summary = Summary("plain");
  EXPECT_EQ(MemoText(memo, summary, "owner"), DatasetJson(summary, "owner").dump());
  EXPECT_EQ(memo.Entries(), 0u);
}

TEST(DatasetTextMemo, EveryInputTheTextDependsOnGivesTheNewText) {
  const DatasetSummary base = Summary("orders");
  std::vector<std::pair<std::string, DatasetSummary>> changes;
  auto change = [&](std::string what, auto edit) {
    DatasetSummary changed = base;
    edit(changed);
    changes.emplace_back(std::move(what), std::move(changed));
  };
  change("generation", [](DatasetSummary& s) { ++s.record.generation; });
  change("updates", [](DatasetSummary& s) { ++s.updates; });
  change("created_at", [](DatasetSummary& s) { s.record.created_at = "2026-11-30T08:00:00.000Z"; });
  change("updated_at", [](DatasetSummary& s) { s.record.updated_at = "2026-11-30T09:00:00.000Z"; });
  change("bucket", [](DatasetSummary& s) { s.record.bucket = "datalake-dev01-restricted-us-east-1"; });
  // Deleted and created again within the same millisecond, or edited behind the catalog's back:
  // generation and times are the old ones, only the spec differs.
  change("description alone", [](DatasetSummary& s) { s.record.spec.description = "Another dataset"; });
  change("owners alone", [](DatasetSummary& s) { s.record.spec.owners.push_back("carol"); });
  change("a QC check alone", [](DatasetSummary& s) { s.record.spec.qc[0].columns = {"id"}; });
  change("a trigger alone", [](DatasetSummary& s) { s.record.spec.triggers.push_back({"p"}); });

  DatasetTextMemo memo;
  for (const auto& [what, changed] : changes) {
    for (const std::string& access : kAccessLevels) {
      std::string before = MemoText(memo, base, access);
      ASSERT_EQ(before, DatasetJson(base, access).dump());
      std::string after = MemoText(memo, changed, access);
      EXPECT_EQ(after, DatasetJson(changed, access).dump()) << what << ", " << access;
      // The limited view leaves out what some of these change; the full views show all of them.
      if (access != "none") {
        EXPECT_NE(after, before) << what << " did not change the " << access << " text";
      }
      EXPECT_EQ(MemoText(memo, base, access), before) << what << ", " << access << ": and back";
    }
  }
  // The caller's access is an input too.
  std::string as_reader = MemoText(memo, base, "read");
  std::string as_admin = MemoText(memo, base, "admin");
  EXPECT_NE(as_reader, as_admin);
  EXPECT_EQ(json::parse(as_admin)["access"], "admin");
  EXPECT_EQ(json::parse(MemoText(memo, base, "read"))["access"], "read");
}

TEST(DatasetTextMemo, PageTextIsWhatNlohmannPrintsForTheSameTree) {
  std::vector<DatasetSummary> page = VariedSummaries();
  for (int i = 0; i < 46; ++i) {
    page.push_back(Summary("ds-" + std::to_string(i), "Dataset number " + std::to_string(i)));
  }
  // Access levels spread over the page, as a caller with grants on some datasets sees them.
  auto access_of = [&](const DatasetRecord& record) -> std::string_view {
    return kAccessLevels[std::hash<std::string>{}(record.spec.name) % kAccessLevels.size()];
  };
  auto expected_text = [&](const std::vector<DatasetSummary>& datasets, const std::optional<std::string>& token) {
    // What the route built before the memo.
    json out = {{"datasets", json::array()}};
    for (const DatasetSummary& summary : datasets) {
      out["datasets"].push_back(DatasetJson(summary, access_of(summary.record)));
    }
    out["next_page_token"] = token ? json(*token) : json(nullptr);
    return out.dump();
  };

  DatasetTextMemo memo;
  for (int round = 0; round < 2; ++round) {  // printed, then memoized
    EXPECT_EQ(DatasetPageText(memo, page, access_of, std::string("ds-45")), expected_text(page, "ds-45"));
    EXPECT_EQ(DatasetPageText(memo, page, access_of, std::nullopt), expected_text(page, std::nullopt));
    std::vector<DatasetSummary> one(page.begin(), page.begin() + 1);
    EXPECT_EQ(DatasetPageText(memo, one, access_of, std::nullopt), expected_text(one, std::nullopt));
    EXPECT_EQ(DatasetPageText(memo, {}, access_of, std::nullopt), R"({"datasets":[],"next_page_token":null})");
    EXPECT_EQ(DatasetPageText(memo, {}, access_of, std::nullopt), expected_text({}, std::nullopt));
  }
  EXPECT_EQ(memo.Entries(), page.size());
}

TEST(DatasetTextMemo, StaysWithinItsLimits) {
  // 16 shards. First the count binds (4 datasets a shard, 32 KiB is room for more), then the bytes
  // (4 KiB a shard, room for one or two datasets with their texts).
  for (DatasetTextMemo::Limits limits : {DatasetTextMemo::Limits{.max_entries = 64, .max_bytes = 512 * 1024},
                                         DatasetTextMemo::Limits{.max_entries = 10000, .max_bytes = 64 * 1024}}) {
    DatasetTextMemo memo(limits);
    size_t most_entries = 0, most_bytes = 0;
    for (int i = 0; i < 500; ++i) {
      DatasetSummary summary = Summary("ds-" + std::to_string(i), std::string(static_cast<size_t>(i % 7) * 100, 'x'));
      for (const std::string& access : kAccessLevels) {
        ASSERT_EQ(MemoText(memo, summary, access), DatasetJson(summary, access).dump()) << i << " " << access;
        ASSERT_LE(memo.Entries(), limits.max_entries) << i;
        ASSERT_LE(memo.Bytes(), limits.max_bytes) << i;
      }
      most_entries = std::max(most_entries, memo.Entries());
      most_bytes = std::max(most_bytes, memo.Bytes());
    }
    // It does keep texts up to its limits (shards fill unevenly, hence "half").
    if (limits.max_entries == 64) {
      EXPECT_GT(most_entries, limits.max_entries / 2);
    } else {
      EXPECT_GT(most_bytes, limits.max_bytes / 2);
    }
  }

  DatasetTextMemo::Limits limits{.max_entries = 64, .max_bytes = 512 * 1024};
  // The bytes count what is kept: four texts of a dataset weigh more than one.
  DatasetTextMemo memo(limits);
  DatasetSummary summary = Summary("orders");
  MemoText(memo, summary, "read");
  size_t one = memo.Bytes();
  EXPECT_GT(one, DatasetJson(summary, "read").dump().size());
  for (const std::string& access : kAccessLevels) MemoText(memo, summary, access);
  size_t four = memo.Bytes();
  EXPECT_GT(four, one + 2 * DatasetJson(summary, "none").dump().size());

  // A dataset larger than a shard's share (32 KiB) is printed every time, never kept.
  DatasetSummary huge = Summary("huge", std::string(40 * 1024, 'y'));
  EXPECT_EQ(MemoText(memo, huge, "read"), DatasetJson(huge, "read").dump());
  EXPECT_EQ(MemoText(memo, huge, "read"), DatasetJson(huge, "read").dump());
  EXPECT_LE(memo.Bytes(), four);
  EXPECT_LE(memo.Entries(), 1u);

  // No room at all: nothing is kept, everything is still printed.
  DatasetTextMemo none(DatasetTextMemo::Limits{.max_entries = 0, .max_bytes = 0});
  EXPECT_EQ(MemoText(none, summary, "admin"), DatasetJson(summary, "admin").dump());
  EXPECT_EQ(none.Entries(), 0u);
  EXPECT_EQ(none.Bytes(), 0u);
}

TEST(DatasetTextMemo, ConcurrentCallersAlwaysGetTheirInputsText) {
  // 8 threads over 24 datasets in 3 generations and 4 access levels, so entries are replaced,
  // filled and read concurrently; small limits so shards are also cleared under them.
  std::vector<DatasetSummary> inputs;
  for (int d = 0; d < 24; ++d) {
    for (int generation = 1; generation <= 3; ++generation) {
      DatasetSummary summary = Summary("ds-" + std::to_string(d), "generation " + std::to_string(generation));
      summary.record.generation = generation;
      inputs.push_back(std::move(summary));
    }
  }
  std::vector<std::vector<std::string>> expected;
  for (const DatasetSummary& summary : inputs) {
    std::vector<std::string> texts;
    for (const std::string& access : kAccessLevels) texts.push_back(DatasetJson(summary, access).dump());
    expected.push_back(std::move(texts));
  }
  DatasetTextMemo memo(DatasetTextMemo::Limits{.max_entries = 32, .max_bytes = 1 << 20});
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3000; ++i) {
        size_t input = static_cast<size_t>(i * 7 + t * 13) % inputs.size();
        size_t access = static_cast<size_t>(i + t) % kAccessLevels.size();
        std::string out;
        memo.AppendText(inputs[input], kAccessLevels[access], out);
        if (out != expected[input][access]) ++wrong;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(memo.Entries(), 32u);
}

}  // namespace
}  // namespace edl::http
