#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalog/audit_chain.h"
#include "catalog/sqlite_catalog.h"
#include "catalog_test_support.h"
#include "testing/temp_dir.h"

namespace edl {
namespace {

using edl::testing::FixedClock;
using edl::testing::RawExec;
using edl::testing::RawExecError;
using edl::testing::RawQuery;
using edl::testing::ReadValue;
using edl::testing::TempDir;
using edl::testing::WriteValue;
using ::testing::HasSubstr;

AuditEvent GrantEvent() {
  AuditEvent event;
  event.seq = 1;
  event.at = "2026-01-02T03:04:05.678Z";
  event.actor = "user:alice";
  event.action = "grant.add";
  event.target = "dataset:orders";
  event.details_json = R"({"role":"orders:read"})";
  return event;
}

// The hash is a contract shared with other catalog implementations and outside verifiers; this
// value was computed independently (Python hashlib over the documented canonical form).
TEST(Audit, HashFollowsTheDocumentedCanonicalForm) {
  EXPECT_EQ(
      CanonicalAuditFields(GrantEvent()),
      R"(1:1,24:2026-01-02T03:04:05.678Z,10:user:alice,9:grant.add,14:dataset:orders,22:{"role":"orders:read"},)");
  Result<std::string> hash = AuditHash(kAuditGenesisHash, GrantEvent());
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_EQ(*hash, "0d257765ef2459bcc2db6444d1693361df593d2a7b26f9c39c4f9b86b39c63e1");
}

TEST(Audit, FieldBoundariesAreUnambiguous) {
  AuditEvent a = GrantEvent();
  AuditEvent b = GrantEvent();
  a.actor = "user:alice,";
  a.action = "x";
  b.actor = "user:alice";
  b.action = ",x";
  EXPECT_NE(*AuditHash(kAuditGenesisHash, a), *AuditHash(kAuditGenesisHash, b));
}

// AuditHasher serves one event after another with one context and buffer; each value must still be
// AuditHash's, whatever came before (longer or shorter fields, with or without decision fields).
TEST(Audit, HasherGivesAuditHashForEveryEventInTurn) {
  Result<AuditHasher> hasher = AuditHasher::Create();
  ASSERT_TRUE(hasher.ok()) << hasher.status().ToString();
  AuditEvent change = GrantEvent();
  AuditEvent decision = GrantEvent();
  decision.seq = 123456789012;
  decision.details_json = "{}";
  decision.decision = "deny";
  decision.reason = std::string(300, 'r');
  decision.request_id = "req-1";
  AuditEvent short_one = GrantEvent();
  short_one.actor = "s";
  std::string prev(kAuditGenesisHash);
  for (const AuditEvent& event : {decision, change, short_one, decision, change}) {
    std::string hash = hasher->Hash(prev, event);
    EXPECT_EQ(hash, *AuditHash(prev, event)) << event.seq << " " << event.actor;
    prev = hash;
  }
  EXPECT_EQ(hasher->Hash(kAuditGenesisHash, GrantEvent()),
            "0d257765ef2459bcc2db6444d1693361df593d2a7b26f9c39c4f9b86b39c63e1");
}

AuditQuery Query(int64_t after_seq, int64_t limit = 1000, std::optional<std::string> target = std::nullopt) {
  AuditQuery query;
  query.after_seq = after_seq;
  query.limit = limit;
  query.target = std::move(target);
  return query;
}

class SqliteCatalogAudit : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<SqliteCatalog>> opened = SqliteCatalog::Open(file_, clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    catalog_ = std::move(opened).value();
  }

  Result<int64_t> Append(std::string action, std::string target, std::string details = "{}") {
    AuditEvent event;
    event.actor = "user:alice";
    event.action = std::move(action);
    event.target = std::move(target);
    event.details_json = std::move(details);
    return WriteValue(*catalog_, [&](CatalogTransaction& txn) { return txn.AppendAudit(event); });
  }

  void AppendSeveral() {
    ASSERT_TRUE(Append("dataset.create", "dataset:orders", R"({"tier":"restricted"})").ok());
    ASSERT_TRUE(Append("grant.add", "dataset:orders", R"({"role":"orders:read","principal":"user:bob"})").ok());
    ASSERT_TRUE(Append("dataset.create", "dataset:customers").ok());
    ASSERT_TRUE(Append("grant.revoke", "dataset:orders").ok());
  }

  Status Verify() {
    return catalog_->Read([](CatalogTransaction& txn) { return txn.VerifyAudit(); });
  }

  TempDir dir_;
  FixedClock clock_;
  std::filesystem::path file_ = dir_.path() / "catalog.db";
  std::unique_ptr<SqliteCatalog> catalog_;
};

TEST_F(SqliteCatalogAudit, AppendAssignsSequenceTimeAndChain) {
  auto first = Append("dataset.create", "dataset:orders");
  clock_.Advance(std::chrono::seconds(1));
  auto second = Append("grant.add", "dataset:orders", R"({"role":"orders:read"})");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(*first, 1);
  EXPECT_EQ(*second, 2);

  auto events = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.ListAudit({}); });
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].seq, 2);
  EXPECT_EQ((*events)[1].at, clock_.NowText());
  EXPECT_EQ((*events)[1].actor, "user:alice");
  EXPECT_EQ((*events)[1].action, "grant.add");
  EXPECT_EQ((*events)[1].target, "dataset:orders");
  EXPECT_EQ((*events)[1].details_json, R"({"role":"orders:read"})");

  EXPECT_EQ(RawQuery(file_, "SELECT prev_hash FROM audit WHERE seq = 1"), kAuditGenesisHash);
  EXPECT_EQ(RawQuery(file_, "SELECT prev_hash FROM audit WHERE seq = 2"),
            RawQuery(file_, "SELECT hash FROM audit WHERE seq = 1"));
  EXPECT_EQ(RawQuery(file_, "SELECT hash FROM audit WHERE seq = 2"),
            *AuditHash(RawQuery(file_, "SELECT hash FROM audit WHERE seq = 1"), (*events)[1]));
}

// A transaction keeps the chain's head after its first append (the writer appends whole batches of
// access decisions in one): each event still chains on the one before it.
TEST_F(SqliteCatalogAudit, ABatchInOneTransactionChainsEachEventOnThePrevious) {
  constexpr int kEvents = 50;
  std::vector<int64_t> seqs;
  ASSERT_OK(catalog_->Write([&](CatalogTransaction& txn) -> Status {
    for (int i = 0; i < kEvents; ++i) {
      AuditEvent event;
      event.actor = "user:alice";
      event.action = i % 3 == 0 ? "grant.add" : "access.read";
      event.target = "dataset:orders";
      if (i % 3 == 0) {
        event.details_json = R"({"role":"orders:read"})";
      } else {
        event.decision = "allow";
        event.reason = std::string(static_cast<size_t>(i), 'x');  // fields of changing length
        event.request_id = "req-" + std::to_string(i);
      }
      ASSIGN_OR_RETURN(int64_t seq, txn.AppendAudit(event));
      seqs.push_back(seq);
    }
    return Status::Ok();
  }));
  ASSERT_EQ(seqs.size(), static_cast<size_t>(kEvents));
  for (int i = 0; i < kEvents; ++i) EXPECT_EQ(seqs[static_cast<size_t>(i)], i + 1);
  EXPECT_EQ(
      RawQuery(file_, "SELECT COUNT(*) FROM audit a JOIN audit b ON b.seq = a.seq + 1 WHERE b.prev_hash = a.hash"),
      std::to_string(kEvents - 1));
  EXPECT_OK(Verify());
}

// AppendAuditBatch writes several events per INSERT: every field, the defaults (time, "{}") and the
// chain come out as AppendAudit one by one would make them, whatever the batch's length.
TEST_F(SqliteCatalogAudit, ABatchIsStoredAsAppendingEachEventWould) {
  ASSERT_TRUE(Append("dataset.create", "dataset:orders").ok());  // seq 1, before the batch
  std::vector<AuditEvent> batch;
  for (int i = 0; i < 37; ++i) {  // two INSERTs of several rows, then single rows
    AuditEvent event;
    event.actor = "user:u" + std::to_string(i);
    event.action = "access.read";
    event.target = "dataset:orders";
    if (i % 4 == 0) event.at = "2025-06-01T00:00:00.000Z";
    if (i % 5 == 0) event.details_json = R"({"i":)" + std::to_string(i) + "}";
    event.decision = i % 2 == 0 ? "allow" : "deny";
    event.reason = std::string(static_cast<size_t>(i), 'x');
    event.request_id = "req-" + std::to_string(i);
    batch.push_back(event);
  }
  auto last = WriteValue(*catalog_, [&](CatalogTransaction& txn) { return txn.AppendAuditBatch(batch); });
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(*last, 38);
  auto events = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.ListAudit({}); });
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 38u);
  for (size_t i = 0; i < batch.size(); ++i) {
    const AuditEvent& stored = (*events)[i + 1];
    EXPECT_EQ(stored.seq, static_cast<int64_t>(i + 2));
    EXPECT_EQ(stored.at, batch[i].at.empty() ? clock_.NowText() : batch[i].at);
    EXPECT_EQ(stored.actor, batch[i].actor);
    EXPECT_EQ(stored.details_json, batch[i].details_json.empty() ? "{}" : batch[i].details_json);
    EXPECT_EQ(stored.decision, batch[i].decision);
    EXPECT_EQ(stored.reason, batch[i].reason);
    EXPECT_EQ(stored.request_id, batch[i].request_id);
  }
  EXPECT_EQ(
      RawQuery(file_, "SELECT COUNT(*) FROM audit a JOIN audit b ON b.seq = a.seq + 1 WHERE b.prev_hash = a.hash"),
      "37");
  EXPECT_OK(Verify());
  auto head = WriteValue(*catalog_, [](CatalogTransaction& txn) { return txn.AppendAuditBatch({}); });
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(*head, 38);
}

// A batch is checked whole before anything is appended.
TEST_F(SqliteCatalogAudit, ABatchWithAnInvalidEventAppendsNone) {
  std::vector<AuditEvent> batch(20);
  for (AuditEvent& event : batch) {
    event.actor = "user:alice";
    event.action = "access.read";
  }
  batch[17].details_json = "{not json";
  Status refused;
  ASSERT_OK(catalog_->Write([&](CatalogTransaction& txn) {
    refused = txn.AppendAuditBatch(batch).status();
    return Status::Ok();  // commit whatever was appended
  }));
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RawQuery(file_, "SELECT COUNT(*) FROM audit"), "0");
}

// The head is read anew by each transaction: another connection (another process) may have
// appended in between.
TEST_F(SqliteCatalogAudit, AppendingFollowsEventsAnotherConnectionAppended) {
  AppendSeveral();  // seq 1-4
  Result<std::unique_ptr<SqliteCatalog>> other = SqliteCatalog::Open(file_, clock_);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  AuditEvent event;
  event.actor = "system";
  event.action = "instance.deploy";
  ASSERT_OK((*other)->Write([&](CatalogTransaction& txn) -> Status {
    RETURN_IF_ERROR(txn.AppendAudit(event).status());
    return txn.AppendAudit(event).status();
  }));
  auto seq = Append("grant.revoke", "dataset:orders");
  ASSERT_TRUE(seq.ok()) << seq.status().ToString();
  EXPECT_EQ(*seq, 7);
  EXPECT_OK(Verify());
}

// An event refused in the middle of a transaction leaves the head where it was: the next one
// takes the next seq and chains on the last stored event.
TEST_F(SqliteCatalogAudit, ARefusedEventInATransactionLeavesTheChainIntact) {
  std::vector<int64_t> seqs;
  ASSERT_OK(catalog_->Write([&](CatalogTransaction& txn) -> Status {
    AuditEvent good;
    good.actor = "user:alice";
    good.action = "grant.add";
    good.target = "dataset:orders";
    AuditEvent bad = good;
    bad.details_json = "{not json";
    ASSIGN_OR_RETURN(int64_t first, txn.AppendAudit(good));
    Result<int64_t> refused = txn.AppendAudit(bad);
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
    ASSIGN_OR_RETURN(int64_t second, txn.AppendAudit(good));
    seqs = {first, second};
    return Status::Ok();
  }));
  EXPECT_EQ(seqs, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(RawQuery(file_, "SELECT COUNT(*) FROM audit"), "2");
  EXPECT_OK(Verify());
}

TEST_F(SqliteCatalogAudit, KeepsAGivenTimeAndDefaultsEmptyDetails) {
  AuditEvent event;
  event.at = "2025-06-01T00:00:00.000Z";
  event.actor = "system";
  event.action = "instance.deploy";
  auto seq = WriteValue(*catalog_, [&](CatalogTransaction& txn) { return txn.AppendAudit(event); });
  ASSERT_TRUE(seq.ok()) << seq.status().ToString();
  auto events = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.ListAudit({}); });
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].at, "2025-06-01T00:00:00.000Z");
  EXPECT_EQ((*events)[0].details_json, "{}");
  EXPECT_OK(Verify());
}

TEST_F(SqliteCatalogAudit, RejectsDetailsThatAreNotJson) {
  auto seq = Append("grant.add", "dataset:orders", "{not json");
  EXPECT_EQ(seq.status().code(), StatusCode::kInvalidArgument);
  auto no_action = Append("", "dataset:orders");
  EXPECT_EQ(no_action.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RawQuery(file_, "SELECT COUNT(*) FROM audit"), "0");
}

TEST_F(SqliteCatalogAudit, ListsByTargetAfterASequenceNumberWithALimit) {
  AppendSeveral();
  auto seqs = [&](const AuditQuery& query) {
    std::vector<int64_t> out;
    auto events = ReadValue(*catalog_, [&](CatalogTransaction& txn) { return txn.ListAudit(query); });
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    if (events.ok()) {
      for (const AuditEvent& event : *events) out.push_back(event.seq);
    }
    return out;
  };
  EXPECT_EQ(seqs({}), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(seqs(Query(2)), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(seqs(Query(0, 2)), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(seqs(Query(0, 1000, "dataset:orders")), (std::vector<int64_t>{1, 2, 4}));
  EXPECT_EQ(seqs(Query(1, 1, "dataset:orders")), (std::vector<int64_t>{2}));
  EXPECT_TRUE(seqs(Query(0, 0)).empty());
  auto negative = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.ListAudit(Query(0, -1)); });
  EXPECT_EQ(negative.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteCatalogAudit, VerifiesAnIntactLog) {
  EXPECT_OK(Verify());  // empty
  AppendSeveral();
  EXPECT_OK(Verify());
}

// The catalog refuses edits and deletions itself; someone with the file can drop those triggers,
// which is what the tampering tests below do first. The hash chain catches them anyway.
void DropAppendOnlyTriggers(const std::string& file) {
  RawExec(file, "DROP TRIGGER audit_no_update");
  RawExec(file, "DROP TRIGGER audit_no_delete");
}

TEST_F(SqliteCatalogAudit, TheCatalogRefusesToEditOrDeleteEvents) {
  AppendSeveral();
  std::string error = RawExecError(file_, "UPDATE audit SET actor = 'user:mallory' WHERE seq = 2");
  EXPECT_THAT(error, HasSubstr("the audit log is append-only"));
  error = RawExecError(file_, "DELETE FROM audit WHERE seq = 2");
  EXPECT_THAT(error, HasSubstr("the audit log is append-only"));
  EXPECT_OK(Verify());
}

TEST_F(SqliteCatalogAudit, DecisionFieldsAreCoveredByTheChain) {
  AuditEvent decision;
  decision.actor = "user:bob";
  decision.action = "access.read";
  decision.target = "dataset:orders";
  decision.decision = "deny";
  decision.reason = "no grant";
  decision.request_id = "req-1";
  ASSERT_OK(catalog_->Write([&](CatalogTransaction& txn) { return txn.AppendAudit(decision).status(); }));
  auto events = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.ListAudit({}); });
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].decision, "deny");
  EXPECT_EQ((*events)[0].reason, "no grant");
  EXPECT_EQ((*events)[0].request_id, "req-1");
  EXPECT_OK(Verify());
  DropAppendOnlyTriggers(file_);
  RawExec(file_, "UPDATE audit SET decision = 'allow' WHERE seq = 1");
  Status status = Verify();
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("audit log broken at seq 1"));
}

TEST_F(SqliteCatalogAudit, VerifyFindsEditedDetails) {
  AppendSeveral();
  DropAppendOnlyTriggers(file_);
  RawExec(file_, R"(UPDATE audit SET details_json = '{"role":"orders:admin","principal":"user:bob"}' WHERE seq = 2)");
  Status status = Verify();
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("audit log broken at seq 2"));
}

TEST_F(SqliteCatalogAudit, VerifyFindsARecomputedHash) {
  AppendSeveral();
  // A careful forger recomputes the edited event's hash; the next event's prev_hash still differs.
  auto events = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.ListAudit({}); });
  ASSERT_TRUE(events.ok());
  AuditEvent forged = (*events)[1];
  forged.actor = "user:mallory";
  std::string prev = RawQuery(file_, "SELECT hash FROM audit WHERE seq = 1");
  DropAppendOnlyTriggers(file_);
  RawExec(file_, "UPDATE audit SET actor = 'user:mallory', hash = '" + *AuditHash(prev, forged) + "' WHERE seq = 2");
  Status status = Verify();
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("audit log broken at seq 3"));
}

TEST_F(SqliteCatalogAudit, VerifyFindsADeletedEvent) {
  AppendSeveral();
  DropAppendOnlyTriggers(file_);
  RawExec(file_, "DELETE FROM audit WHERE seq = 2");
  Status status = Verify();
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("audit log broken at seq 2"));
}

TEST_F(SqliteCatalogAudit, AppendingContinuesTheChainAcrossReopen) {
  AppendSeveral();
  catalog_.reset();
  Result<std::unique_ptr<SqliteCatalog>> reopened = SqliteCatalog::Open(file_, clock_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  catalog_ = std::move(reopened).value();
  auto seq = Append("dataset.update", "dataset:orders");
  ASSERT_TRUE(seq.ok()) << seq.status().ToString();
  EXPECT_EQ(*seq, 5);
  EXPECT_OK(Verify());
}

}  // namespace
}  // namespace edl
