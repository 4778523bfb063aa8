// GrantService and the grant rules: the tier rules checked when a grant is made (CheckGrantRules),
// who may add and revoke grants and how refusals are audited, two-person approval, self-service
// requests and their approval races, revocation seen at the next request (also when another process
// revoked), effective roles, request visibility, and the information-flow rule (CheckFlow).
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "access_test_support.h"
#include "core/clock.h"

namespace edl {
namespace {

using edl::testing::FixedClock;
using edl::testing::MakeDataset;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

Principal User(std::string name) {
  return {PrincipalKind::kUser, std::move(name)};
}
Principal Group(std::string name) {
  return {PrincipalKind::kGroup, std::move(name)};
}

// ---- CheckGrantRules and MaxGrantDays: the tier rules, as pure functions.

class GrantRules : public ::testing::Test {
 protected:
  static DatasetRecord Sensitive(std::optional<int64_t> max_grant_days = std::nullopt) {
    DatasetPolicy policy;
    policy.max_grant_days = max_grant_days;
    return MakeDataset("payroll", Tier::kSensitive, {"olga"}, policy);
  }
  static DatasetRecord Restricted() { return MakeDataset("orders", Tier::kRestricted, {"olga"}); }

  std::string In(std::chrono::system_clock::duration d) const { return FormatTimestamp(clock_.Now() + d); }
  std::string InDays(int64_t days) const { return In(std::chrono::hours(24) * days); }

  // A grant every tier accepts: to a user, justified, for 30 days, by another admin.
  GrantProposal Proposal() const {
    return {User("pat"), AccessLevel::kRead, "quarterly report", InDays(30), "user:olga"};
  }

  Status Check(const DatasetRecord& dataset, const GrantProposal& proposal) const {
    return CheckGrantRules(dataset, proposal, clock_.Now());
  }

  FixedClock clock_;
};

TEST_F(GrantRules, AcceptAJustifiedPersonalGrantWithinTheLimit) {
  EXPECT_OK(Check(Sensitive(), Proposal()));
  EXPECT_OK(Check(Restricted(), Proposal()));
}

TEST_F(GrantRules, RefuseGroupGrantsOnSensitiveDatasetsOnly) {
  GrantProposal proposal = Proposal();
  proposal.grantee = Group("analysts");
  Status status = Check(Sensitive(), proposal);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("payroll:read can be granted to individual users only, not to group:analysts"));
  EXPECT_OK(Check(Restricted(), proposal));
}

TEST_F(GrantRules, RefuseSensitiveGrantsWithoutJustification) {
  GrantProposal proposal = Proposal();
  proposal.justification = "";
  Status status = Check(Sensitive(), proposal);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("needs a justification"));
  EXPECT_OK(Check(Restricted(), proposal));
}

TEST_F(GrantRules, RefuseSensitiveGrantsWithoutExpiry) {
  GrantProposal proposal = Proposal();
  proposal.expires_at = std::nullopt;
  Status status = Check(Sensitive(), proposal);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("needs an expiry of at most 90 days"));
  EXPECT_OK(Check(Restricted(), proposal));  // until revoked
}

TEST_F(GrantRules, LimitSensitiveGrantsToNinetyDaysByDefault) {
  EXPECT_EQ(MaxGrantDays(Sensitive()), 90);
  GrantProposal proposal = Proposal();
  proposal.expires_at = InDays(90);
  EXPECT_OK(Check(Sensitive(), proposal));
  proposal.expires_at = In(std::chrono::hours(24 * 90) + std::chrono::milliseconds(1));
  Status status = Check(Sensitive(), proposal);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("longer than the 90 days its policy allows"));
}

TEST_F(GrantRules, LimitSensitiveGrantsToThePolicysMaxGrantDays) {
  EXPECT_EQ(MaxGrantDays(Sensitive(7)), 7);
  GrantProposal proposal = Proposal();
  proposal.expires_at = InDays(7);
  EXPECT_OK(Check(Sensitive(7), proposal));
  proposal.expires_at = InDays(8);
  Status status = Check(Sensitive(7), proposal);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("longer than the 7 days"));
  // A longer policy is a longer limit, not the default.
  EXPECT_OK(Check(Sensitive(365), [&] {
    GrantProposal p = Proposal();
    p.expires_at = InDays(200);
    return p;
  }()));
}

TEST_F(GrantRules, SetNoLimitOnOtherTiers) {
  EXPECT_EQ(MaxGrantDays(Restricted()), std::nullopt);
  EXPECT_EQ(MaxGrantDays(MakeDataset("wiki", Tier::kInternal, {"olga"})), std::nullopt);
  GrantProposal proposal = Proposal();
  proposal.expires_at = InDays(1000);
  EXPECT_OK(Check(Restricted(), proposal));
}

TEST_F(GrantRules, RefuseSelfGrantsOnSensitiveDatasets) {
  GrantProposal proposal = Proposal();
  proposal.grantor = "user:pat";
  Status status = Check(Sensitive(), proposal);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("user:pat cannot grant payroll:read to themselves"));
  EXPECT_OK(Check(Restricted(), proposal));
}

TEST_F(GrantRules, RefuseExpiryThatIsNotInTheFuture) {
  for (const DatasetRecord& dataset : {Sensitive(), Restricted()}) {
    GrantProposal proposal = Proposal();
    proposal.expires_at = InDays(-1);
    Status status = Check(dataset, proposal);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << dataset.spec.name;
    EXPECT_THAT(status.message(), HasSubstr("which is not in the future"));
    proposal.expires_at = clock_.NowText();
    EXPECT_EQ(Check(dataset, proposal).code(), StatusCode::kInvalidArgument) << dataset.spec.name;
  }
}

// ---- CheckFlow: data never flows to a lower tier.

TEST(CheckFlow, RefusesSensitiveDataIntoAnInternalDataset) {
  Status status = CheckFlow({MakeDataset("payroll", Tier::kSensitive, {})}, MakeDataset("wiki", Tier::kInternal, {}));
  EXPECT_EQ(status.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(status.message(), HasSubstr("data from dataset 'payroll' (sensitive tier) may not be written to dataset "
                                          "'wiki' (internal tier)"));
}

TEST(CheckFlow, AllowsFlowsUpwardAndWithinATier) {
  EXPECT_OK(CheckFlow({MakeDataset("wiki", Tier::kInternal, {})}, MakeDataset("payroll", Tier::kSensitive, {})));
  EXPECT_OK(CheckFlow({MakeDataset("a", Tier::kRestricted, {})}, MakeDataset("b", Tier::kRestricted, {})));
  EXPECT_OK(CheckFlow({MakeDataset("a", Tier::kSensitive, {})}, MakeDataset("b", Tier::kSensitive, {})));
  EXPECT_OK(CheckFlow({}, MakeDataset("b", Tier::kInternal, {})));
}

TEST(CheckFlow, NamesTheFirstInputOfAHigherTier) {
  Status status = CheckFlow({MakeDataset("wiki", Tier::kInternal, {}), MakeDataset("orders", Tier::kRestricted, {}),
                             MakeDataset("payroll", Tier::kSensitive, {})},
                            MakeDataset("report", Tier::kRestricted, {}));
  EXPECT_EQ(status.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(status.message(), HasSubstr("dataset 'payroll'"));
  status = CheckFlow({MakeDataset("orders", Tier::kRestricted, {})}, MakeDataset("wiki", Tier::kInternal, {}));
  EXPECT_EQ(status.code(), StatusCode::kPermissionDenied);
}

// ---- GrantService against a real catalog.
//
// Datasets: wiki (internal), orders (restricted), payroll (sensitive), all owned by olga;
// hr-data (restricted, owned by otto); medical (sensitive, two-person approval, owned by olga and
// otto). Users: olga and otto (owners), ada and adam (instance admins), pat (employee), gus (in
// group analysts), nora (not an employee).
class Grants : public testing::AccessTest {
 protected:
  void SetUp() override {
    AccessTest::SetUp();
    if (HasFatalFailure()) return;
    for (const char* name : {"olga", "otto", "pat"}) AddUser(name);
    AddUser("ada", {}, /*admin=*/true);
    AddUser("adam", {}, /*admin=*/true);
    AddUser("gus", {"analysts"});
    AddUser("nora", {}, false, /*employee=*/false);
    AddDataset("wiki", Tier::kInternal, {"olga"});
    AddDataset("orders", Tier::kRestricted, {"olga"});
    AddDataset("payroll", Tier::kSensitive, {"olga"});
    AddDataset("hr-data", Tier::kRestricted, {"otto"});
    DatasetPolicy two_person;
    two_person.two_person_approval = true;
    AddDataset("medical", Tier::kSensitive, {"olga", "otto"}, two_person);
  }

  static NewGrant Grant(std::string dataset, Principal grantee, AccessLevel level = AccessLevel::kRead,
                        std::optional<int64_t> days = std::nullopt, std::string justification = "quarterly report") {
    NewGrant grant;
    grant.dataset = std::move(dataset);
    grant.grantee = std::move(grantee);
    grant.level = level;
    grant.days = days;
    grant.justification = std::move(justification);
    return grant;
  }

  // What `user` may do with `dataset` now, decided on a freshly asked scope (not audited).
  Decision DecideFor(const std::string& user, const std::string& dataset, DatasetAction action) {
    return Decide(ScopeOf(user), GetDataset(dataset), action, authorizer_->Now());
  }

  // The newest audit record with this action.
  AuditEvent LastAudit(const std::string& action) {
    AuditQuery query;
    query.action = action;
    std::vector<AuditEvent> events = FlushedAudit(query);
    EXPECT_FALSE(events.empty()) << "no audit record " << action;
    return events.empty() ? AuditEvent() : events.back();
  }

  std::vector<GrantRecord> DatasetGrants(const std::string& dataset, bool include_revoked = false) {
    std::vector<GrantRecord> grants;
    Status status = catalog_->Read([&](CatalogTransaction& tx) -> Status {
      GrantFilter filter;
      filter.dataset = dataset;
      filter.include_revoked = include_revoked;
      ASSIGN_OR_RETURN(grants, tx.ListGrants(filter));
      return Status::Ok();
    });
    EXPECT_OK(status);
    return grants;
  }

  GrantRecord AddedGrant(const std::string& actor, const NewGrant& grant) {
    Result<GrantOutcome> outcome = grants_->AddGrant(ScopeOf(actor), grant, {"req-add", ""});
    EXPECT_TRUE(outcome.ok()) << outcome.status().ToString();
    if (!outcome.ok() || !outcome->grant) {
      ADD_FAILURE() << "no grant made";
      return GrantRecord();
    }
    return *outcome->grant;
  }

  AccessRequestRecord Requested(const std::string& actor, const NewGrant& request) {
    Result<AccessRequestRecord> record = grants_->RequestAccess(ScopeOf(actor), request, {"req-ask", ""});
    EXPECT_TRUE(record.ok()) << record.status().ToString();
    return record.ok() ? *record : AccessRequestRecord();
  }
};

TEST_F(Grants, OwnerGrantsReadOnARestrictedDatasetAndBothDecisionAndChangeAreAudited) {
  EXPECT_FALSE(DecideFor("pat", "orders", DatasetAction::kRead).allowed);
  Result<GrantOutcome> outcome = grants_->AddGrant(ScopeOf("olga"), Grant("orders", User("pat")), {"req-1", ""});
  ASSERT_OK(outcome.status());
  ASSERT_TRUE(outcome->grant.has_value());
  EXPECT_FALSE(outcome->pending.has_value());
  EXPECT_EQ(outcome->grant->role, "orders:read");
  EXPECT_EQ(outcome->grant->principal, User("pat"));
  EXPECT_EQ(outcome->grant->granted_by, "user:olga");
  EXPECT_EQ(outcome->grant->reason, "quarterly report");
  EXPECT_EQ(outcome->grant->expires_at, std::nullopt);
  EXPECT_TRUE(DecideFor("pat", "orders", DatasetAction::kRead).allowed);

  AuditQuery query;
  query.action = "grant.add";
  std::vector<AuditEvent> events = FlushedAudit(query);
  ASSERT_EQ(events.size(), 2u);
  // The change, written in the grant's own transaction ...
  const AuditEvent* change = events[0].decision.empty() ? &events[0] : &events[1];
  const AuditEvent* decision = events[0].decision.empty() ? &events[1] : &events[0];
  EXPECT_EQ(change->actor, "user:olga");
  EXPECT_EQ(change->target, "dataset:orders");
  EXPECT_EQ(change->request_id, "req-1");
  EXPECT_THAT(change->details_json, HasSubstr("orders:read"));
  // ... and the admin decision that allowed it, through the audit writer.
  EXPECT_EQ(decision->decision, "allow");
  EXPECT_EQ(decision->actor, "user:olga");
  EXPECT_EQ(decision->reason, "owner of the dataset");
  EXPECT_EQ(decision->request_id, "req-1");
}

TEST_F(Grants, AddGrantWithDaysSetsTheExpiryFromTheClock) {
  GrantRecord grant = AddedGrant("olga", Grant("payroll", User("pat"), AccessLevel::kRead, 30));
  EXPECT_EQ(grant.expires_at, InDays(30));
  EXPECT_TRUE(DecideFor("pat", "payroll", DatasetAction::kRead).allowed);
  clock_.Advance(std::chrono::hours(24 * 30));
  EXPECT_FALSE(DecideFor("pat", "payroll", DatasetAction::kRead).allowed);
}

TEST_F(Grants, AddGrantWithoutAdminIsRefusedAndTheRefusalAudited) {
  // gus can see orders (restricted) but does not administer it.
  Result<GrantOutcome> outcome = grants_->AddGrant(ScopeOf("gus"), Grant("orders", User("gus")), {"req-2", ""});
  EXPECT_EQ(outcome.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(outcome.status().message(), HasSubstr("may not administer dataset 'orders'"));
  EXPECT_THAT(DatasetGrants("orders"), IsEmpty());
  AuditEvent last = LastAudit("grant.add");
  EXPECT_EQ(last.actor, "user:gus");
  EXPECT_EQ(last.target, "dataset:orders");
  EXPECT_EQ(last.decision, "deny");
  EXPECT_THAT(last.reason, HasSubstr("gus holds no active grant of orders:admin"));
  EXPECT_EQ(last.request_id, "req-2");
}

TEST_F(Grants, AddGrantOnAHiddenDatasetAnswersNotFoundAndIsAudited) {
  Result<GrantOutcome> outcome =
      grants_->AddGrant(ScopeOf("gus"), Grant("payroll", User("gus"), AccessLevel::kRead, 30), {"req-3", ""});
  EXPECT_EQ(outcome.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(outcome.status().message(), "dataset 'payroll' does not exist");
  AuditEvent last = LastAudit("grant.add");
  EXPECT_EQ(last.actor, "user:gus");
  EXPECT_EQ(last.target, "dataset:payroll");
  EXPECT_EQ(last.decision, "deny");
  EXPECT_EQ(last.request_id, "req-3");
}

TEST_F(Grants, AddGrantForAnUnknownDatasetOrGranteeIsNotFound) {
  EXPECT_EQ(grants_->AddGrant(ScopeOf("olga"), Grant("nope", User("pat")), {}).status().code(), StatusCode::kNotFound);
  Result<GrantOutcome> outcome = grants_->AddGrant(ScopeOf("olga"), Grant("orders", User("nobody")), {});
  EXPECT_EQ(outcome.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(outcome.status().message(), HasSubstr("user:nobody does not exist"));
  EXPECT_THAT(DatasetGrants("orders"), IsEmpty());
}

TEST_F(Grants, AddGrantBreakingATierRuleIsRefusedAndAudited) {
  struct Case {
    NewGrant grant;
    const char* message;
  };
  const Case cases[] = {
      {Grant("payroll", Group("analysts"), AccessLevel::kRead, 30), "individual users only, not to group:analysts"},
      {Grant("payroll", User("pat"), AccessLevel::kRead, 30, ""), "needs a justification"},
      {Grant("payroll", User("pat")), "needs an expiry of at most 90 days"},
      {Grant("payroll", User("pat"), AccessLevel::kRead, 91), "longer than the 90 days"},
      {Grant("orders", User("pat"), AccessLevel::kRead, 0), "days must be from 1 to 3650"},
      {Grant("orders", User("pat"), AccessLevel::kRead, 3651), "days must be from 1 to 3650"},
  };
  for (const Case& c : cases) {
    Result<GrantOutcome> outcome = grants_->AddGrant(ScopeOf("olga"), c.grant, {"req-rule", ""});
    EXPECT_EQ(outcome.status().code(), StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(outcome.status().message(), HasSubstr(c.message));
    AuditEvent last = LastAudit("grant.add");
    EXPECT_EQ(last.decision, "deny") << c.message;
    EXPECT_EQ(last.actor, "user:olga");
    EXPECT_EQ(last.target, "dataset:" + c.grant.dataset);
    EXPECT_THAT(last.reason, HasSubstr(c.message));
  }
  EXPECT_THAT(DatasetGrants("payroll"), IsEmpty());
  EXPECT_THAT(DatasetGrants("orders"), IsEmpty());
}

TEST_F(Grants, CustomMaxGrantDaysIsEnforcedWhenGranting) {
  DatasetPolicy policy;
  policy.max_grant_days = 7;
  AddDataset("lab", Tier::kSensitive, {"olga"}, policy);
  Result<GrantOutcome> refused =
      grants_->AddGrant(ScopeOf("olga"), Grant("lab", User("pat"), AccessLevel::kRead, 8), {});
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("the 7 days its policy allows"));
  GrantRecord grant = AddedGrant("olga", Grant("lab", User("pat"), AccessLevel::kRead, 7));
  EXPECT_EQ(grant.expires_at, InDays(7));
}

TEST_F(Grants, InstanceAdminCannotGrantThemselvesSensitiveData) {
  Result<GrantOutcome> outcome =
      grants_->AddGrant(ScopeOf("ada"), Grant("payroll", User("ada"), AccessLevel::kRead, 30), {});
  EXPECT_EQ(outcome.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(outcome.status().message(), HasSubstr("cannot grant payroll:read to themselves"));
  EXPECT_FALSE(DecideFor("ada", "payroll", DatasetAction::kRead).allowed);
  // Another admin may.
  AddedGrant("adam", Grant("payroll", User("ada"), AccessLevel::kRead, 30));
  EXPECT_TRUE(DecideFor("ada", "payroll", DatasetAction::kRead).allowed);
}

// ---- Two-person approval.

TEST_F(Grants, TwoPersonApprovalMakesTheGrantOnlyWithASecondAdmin) {
  Result<GrantOutcome> outcome = grants_->AddGrant(
      ScopeOf("olga"), Grant("medical", User("pat"), AccessLevel::kRead, 30, "clinical study"), {"req-2p", ""});
  ASSERT_OK(outcome.status());
  EXPECT_FALSE(outcome->grant.has_value());
  ASSERT_TRUE(outcome->pending.has_value());
  const AccessRequestRecord& pending = *outcome->pending;
  EXPECT_EQ(pending.state, AccessRequestState::kPending);
  EXPECT_EQ(pending.first_approved_by, "user:olga");
  EXPECT_EQ(pending.requested_by, "user:olga");
  EXPECT_THAT(DatasetGrants("medical"), IsEmpty());
  EXPECT_TRUE(DecideFor("pat", "medical", DatasetAction::kRead).hidden);

  // The same admin twice is not two persons.
  Result<AccessRequestRecord> again = grants_->Approve(ScopeOf("olga"), pending.id, {});
  EXPECT_EQ(again.status().code(), StatusCode::kConflict);
  EXPECT_THAT(again.status().message(), HasSubstr("needs a second, different admin"));
  EXPECT_THAT(DatasetGrants("medical"), IsEmpty());

  Result<AccessRequestRecord> approved = grants_->Approve(ScopeOf("otto"), pending.id, {"req-2nd", ""});
  ASSERT_OK(approved.status());
  EXPECT_EQ(approved->state, AccessRequestState::kApproved);
  EXPECT_EQ(approved->decided_by, "user:otto");
  ASSERT_TRUE(approved->grant_id.has_value());
  std::vector<GrantRecord> grants = DatasetGrants("medical");
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].id, *approved->grant_id);
  EXPECT_EQ(grants[0].principal, User("pat"));
  EXPECT_EQ(grants[0].granted_by, "user:otto");
  EXPECT_EQ(grants[0].expires_at, InDays(30));
  Decision decision = DecideFor("pat", "medical", DatasetAction::kRead);
  EXPECT_TRUE(decision.allowed) << decision.reason;
  // The grant is recorded as made by the second admin (decisions are written by the audit writer
  // a little later than changes, so look the record up rather than taking the newest).
  AuditQuery query;
  query.actor = "user:otto";
  std::vector<AuditEvent> events = FlushedAudit(query);
  std::vector<std::string> seen;
  for (const AuditEvent& event : events) {
    EXPECT_EQ(event.request_id, "req-2nd");
    EXPECT_EQ(event.target, "dataset:medical");
    seen.push_back(event.action + "/" + event.decision);
  }
  // The admin decision, the approval and the grant it made.
  EXPECT_THAT(seen, UnorderedElementsAre("access_request.approve/allow", "access_request.approve/", "grant.add/"));
}

TEST_F(Grants, GranteeCannotGiveTheSecondApprovalOfTheirOwnGrant) {
  // ada administers every dataset, but reading sensitive data takes a grant that others approve.
  Result<GrantOutcome> outcome =
      grants_->AddGrant(ScopeOf("olga"), Grant("medical", User("ada"), AccessLevel::kRead, 30, "audit"), {});
  ASSERT_OK(outcome.status());
  ASSERT_TRUE(outcome->pending.has_value());
  Result<AccessRequestRecord> own = grants_->Approve(ScopeOf("ada"), outcome->pending->id, {"req-own", ""});
  EXPECT_EQ(own.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(own.status().message(), HasSubstr("it is for themselves"));
  EXPECT_THAT(DatasetGrants("medical"), IsEmpty());
  AuditEvent last = LastAudit("access_request.approve");
  EXPECT_EQ(last.actor, "user:ada");
  EXPECT_EQ(last.decision, "deny");
  EXPECT_EQ(last.request_id, "req-own");

  ASSERT_OK(grants_->Approve(ScopeOf("adam"), outcome->pending->id, {}).status());
  EXPECT_TRUE(DecideFor("ada", "medical", DatasetAction::kRead).allowed);
}

TEST_F(Grants, SelfServiceRequestOnATwoPersonDatasetNeedsTwoDifferentApprovers) {
  // ada may see medical (instance admin) and so may ask for its data.
  AccessRequestRecord request = Requested("ada", Grant("medical", User("ada"), AccessLevel::kRead, 14, "audit"));
  EXPECT_EQ(request.state, AccessRequestState::kPending);
  EXPECT_EQ(request.first_approved_by, "");

  Result<AccessRequestRecord> first = grants_->Approve(ScopeOf("olga"), request.id, {});
  ASSERT_OK(first.status());
  EXPECT_EQ(first->state, AccessRequestState::kPending);
  EXPECT_EQ(first->first_approved_by, "user:olga");
  EXPECT_EQ(first->grant_id, std::nullopt);
  EXPECT_THAT(DatasetGrants("medical"), IsEmpty());

  EXPECT_EQ(grants_->Approve(ScopeOf("olga"), request.id, {}).status().code(), StatusCode::kConflict);
  EXPECT_EQ(grants_->Approve(ScopeOf("ada"), request.id, {}).status().code(), StatusCode::kPermissionDenied);
  Result<AccessRequestRecord> second = grants_->Approve(ScopeOf("otto"), request.id, {});
  ASSERT_OK(second.status());
  EXPECT_EQ(second->state, AccessRequestState::kApproved);
  EXPECT_EQ(second->first_approved_by, "user:olga");
  EXPECT_EQ(second->decided_by, "user:otto");
  EXPECT_TRUE(DecideFor("ada", "medical", DatasetAction::kRead).allowed);
}

// ---- Self-service requests.

TEST_F(Grants, RequestAccessNeedsAJustificationAndTheRefusalIsAudited) {
  Result<AccessRequestRecord> refused =
      grants_->RequestAccess(ScopeOf("pat"), Grant("orders", User("pat"), AccessLevel::kRead, 30, ""), {"req-j", ""});
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("needs a justification"));
  AuditEvent last = LastAudit("access_request.create");
  EXPECT_EQ(last.actor, "user:pat");
  EXPECT_EQ(last.decision, "deny");
  EXPECT_EQ(last.request_id, "req-j");
  Result<std::vector<AccessRequestRecord>> listed = grants_->ListRequests(ScopeOf("olga"), {});
  ASSERT_OK(listed.status());
  EXPECT_THAT(*listed, IsEmpty());
}

TEST_F(Grants, ASecondPendingRequestForTheSameLevelIsAConflict) {
  AccessRequestRecord first = Requested("pat", Grant("orders", User("pat")));
  EXPECT_EQ(first.grantee, User("pat"));
  EXPECT_EQ(first.requested_by, "user:pat");
  Result<AccessRequestRecord> again = grants_->RequestAccess(ScopeOf("pat"), Grant("orders", User("pat")), {});
  EXPECT_EQ(again.status().code(), StatusCode::kConflict);
  EXPECT_THAT(again.status().message(), HasSubstr(fmt::format("request {}, pending", first.id)));
  // Another level is another request; so is the same level once the first was decided.
  Requested("pat", Grant("orders", User("pat"), AccessLevel::kWrite));
  ASSERT_OK(grants_->Deny(ScopeOf("olga"), first.id, "use the aggregate", {}).status());
  Requested("pat", Grant("orders", User("pat")));
}

TEST_F(Grants, RequestAccessOnAHiddenDatasetIsNotFound) {
  Result<AccessRequestRecord> request =
      grants_->RequestAccess(ScopeOf("pat"), Grant("payroll", User("pat"), AccessLevel::kRead, 30), {"req-h", ""});
  EXPECT_EQ(request.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(request.status().message(), "dataset 'payroll' does not exist");
  AuditEvent last = LastAudit("access_request.create");
  EXPECT_EQ(last.decision, "deny");
  EXPECT_EQ(last.actor, "user:pat");
}

TEST_F(Grants, RequestAccessOnSensitiveDataFollowsTheTierRules) {
  Result<AccessRequestRecord> no_expiry = grants_->RequestAccess(ScopeOf("ada"), Grant("payroll", User("ada")), {});
  EXPECT_EQ(no_expiry.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(no_expiry.status().message(), HasSubstr("needs an expiry"));
  Result<AccessRequestRecord> too_long =
      grants_->RequestAccess(ScopeOf("ada"), Grant("payroll", User("ada"), AccessLevel::kRead, 91), {});
  EXPECT_EQ(too_long.status().code(), StatusCode::kInvalidArgument);
  // A request is not a grant made by the grantee: it is approved by another admin.
  AccessRequestRecord ok = Requested("ada", Grant("payroll", User("ada"), AccessLevel::kRead, 90));
  ASSERT_OK(grants_->Approve(ScopeOf("olga"), ok.id, {}).status());
  EXPECT_TRUE(DecideFor("ada", "payroll", DatasetAction::kRead).allowed);
}

TEST_F(Grants, ApprovalMakesTheRequestedGrant) {
  AccessRequestRecord request = Requested("pat", Grant("orders", User("pat"), AccessLevel::kWrite, 10));
  Result<AccessRequestRecord> approved = grants_->Approve(ScopeOf("olga"), request.id, {"req-ok", ""});
  ASSERT_OK(approved.status());
  EXPECT_EQ(approved->state, AccessRequestState::kApproved);
  ASSERT_TRUE(approved->grant_id.has_value());
  std::vector<GrantRecord> grants = DatasetGrants("orders");
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].role, "orders:write");
  EXPECT_EQ(grants[0].expires_at, InDays(10));
  EXPECT_THAT(grants[0].reason, HasSubstr(fmt::format("access request {}: quarterly report", request.id)));
  EXPECT_TRUE(DecideFor("pat", "orders", DatasetAction::kWrite).allowed);
}

TEST_F(Grants, ApproveOrDenyNeedsAdminOnTheDataset) {
  AccessRequestRecord request = Requested("pat", Grant("orders", User("pat")));
  // Someone else's request on a dataset gus does not administer: as if it did not exist.
  Result<AccessRequestRecord> by_gus = grants_->Approve(ScopeOf("gus"), request.id, {});
  EXPECT_EQ(by_gus.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(grants_->Deny(ScopeOf("gus"), request.id, "no", {}).status().code(), StatusCode::kNotFound);
  // The requester knows the request exists, but may not approve it.
  EXPECT_EQ(grants_->Approve(ScopeOf("pat"), request.id, {}).status().code(), StatusCode::kPermissionDenied);
  // otto administers hr-data, not orders.
  EXPECT_EQ(grants_->Approve(ScopeOf("otto"), request.id, {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(grants_->Approve(ScopeOf("olga"), 9999, {}).status().code(), StatusCode::kNotFound);
  EXPECT_THAT(DatasetGrants("orders"), IsEmpty());
}

TEST_F(Grants, ApproveAfterDenyIsAConflictAndMakesNoGrant) {
  AccessRequestRecord request = Requested("pat", Grant("orders", User("pat")));
  Result<AccessRequestRecord> denied = grants_->Deny(ScopeOf("olga"), request.id, "use the aggregate", {});
  ASSERT_OK(denied.status());
  EXPECT_EQ(denied->state, AccessRequestState::kDenied);
  EXPECT_EQ(denied->decision_reason, "use the aggregate");
  Result<AccessRequestRecord> approved = grants_->Approve(ScopeOf("ada"), request.id, {});
  EXPECT_EQ(approved.status().code(), StatusCode::kConflict);
  EXPECT_THAT(approved.status().message(), HasSubstr("was already denied by 'user:olga'"));
  EXPECT_THAT(DatasetGrants("orders"), IsEmpty());
}

TEST_F(Grants, DenyAfterApproveIsAConflictAndKeepsTheGrant) {
  AccessRequestRecord request = Requested("pat", Grant("orders", User("pat")));
  ASSERT_OK(grants_->Approve(ScopeOf("olga"), request.id, {}).status());
  Result<AccessRequestRecord> denied = grants_->Deny(ScopeOf("ada"), request.id, "too late", {});
  EXPECT_EQ(denied.status().code(), StatusCode::kConflict);
  EXPECT_THAT(denied.status().message(), HasSubstr("was already approved"));
  EXPECT_EQ(DatasetGrants("orders").size(), 1u);
}

TEST_F(Grants, DenyNeedsAReason) {
  AccessRequestRecord request = Requested("pat", Grant("orders", User("pat")));
  EXPECT_EQ(grants_->Deny(ScopeOf("olga"), request.id, "", {}).status().code(), StatusCode::kInvalidArgument);
  ASSERT_OK(grants_->Approve(ScopeOf("olga"), request.id, {}).status());
}

// Two admins in two processes approving the same request at once: one wins, one gets Conflict, and
// exactly one grant is made.
TEST_F(Grants, ConcurrentApprovalsFromTwoProcessesMakeOneGrant) {
  std::unique_ptr<SqliteCatalog> other = OpenSecondCatalog();
  ASSERT_NE(other, nullptr);
  AuditWriter other_audit(*other);
  Authorizer other_authorizer(*other, clock_, &other_audit);
  GrantService other_grants(*other, clock_, other_authorizer);
  for (int round = 0; round < 5; ++round) {
    AccessRequestRecord request = Requested("pat", Grant("orders", User("pat"), AccessLevel::kRead, round + 1));
    AccessScope olga = ScopeOf("olga");
    Result<AccessScope> ada = other_authorizer.ScopeFor(IdentityOf("ada"));
    ASSERT_OK(ada.status());
    std::atomic<bool> go{false};
    Status first;
    Status second;
    std::thread a([&] {
      while (!go) std::this_thread::yield();
      first = grants_->Approve(olga, request.id, {}).status();
    });
    std::thread b([&] {
      while (!go) std::this_thread::yield();
      second = other_grants.Approve(*ada, request.id, {}).status();
    });
    go = true;
    a.join();
    b.join();
    EXPECT_NE(first.ok(), second.ok()) << first.ToString() << " / " << second.ToString();
    EXPECT_EQ((first.ok() ? second : first).code(), StatusCode::kConflict);
    std::vector<GrantRecord> grants = DatasetGrants("orders");
    ASSERT_EQ(grants.size(), 1u) << "round " << round;
    ASSERT_OK(grants_->RevokeGrant(olga, grants[0].id, "next round", {}).status());
  }
  EXPECT_OK(other_audit.Flush());
}

// ---- Revocation.

TEST_F(Grants, RevokedGrantIsGoneFromTheNextScope) {
  GrantRecord grant = AddedGrant("olga", Grant("orders", User("pat")));
  Result<AccessScope> before = authorizer_->ScopeFor(IdentityOf("pat"));
  ASSERT_OK(before.status());
  EXPECT_TRUE(Decide(*before, GetDataset("orders"), DatasetAction::kRead, authorizer_->Now()).allowed);

  Result<GrantRecord> revoked = grants_->RevokeGrant(ScopeOf("olga"), grant.id, "project over", {"req-rv", ""});
  ASSERT_OK(revoked.status());
  EXPECT_TRUE(revoked->revoked_at.has_value());
  EXPECT_EQ(revoked->revoked_by, "user:olga");
  EXPECT_EQ(revoked->revoke_reason, "project over");

  Result<AccessScope> after = authorizer_->ScopeFor(IdentityOf("pat"));
  ASSERT_OK(after.status());
  EXPECT_GT(after->epoch(), before->epoch());
  for (const HeldGrant& held : after->grants()) EXPECT_NE(held.id, grant.id);
  EXPECT_FALSE(Decide(*after, GetDataset("orders"), DatasetAction::kRead, authorizer_->Now()).allowed);

  AuditEvent change = LastAudit("grant.revoke");
  EXPECT_EQ(change.actor, "user:olga");
  EXPECT_EQ(change.target, "dataset:orders");
  EXPECT_EQ(change.request_id, "req-rv");

  Result<GrantRecord> again = grants_->RevokeGrant(ScopeOf("olga"), grant.id, "twice", {});
  EXPECT_EQ(again.status().code(), StatusCode::kConflict);
  EXPECT_EQ(DatasetGrants("orders", /*include_revoked=*/true).size(), 1u);  // revocation keeps the row
}

TEST_F(Grants, RevokeNeedsAdminOnTheGrantsDataset) {
  GrantRecord orders = AddedGrant("olga", Grant("orders", User("pat")));
  GrantRecord payroll = AddedGrant("olga", Grant("payroll", User("nora"), AccessLevel::kRead, 30));
  Result<GrantRecord> own = grants_->RevokeGrant(ScopeOf("pat"), orders.id, "mine", {"req-p", ""});
  EXPECT_EQ(own.status().code(), StatusCode::kPermissionDenied);
  AuditEvent last = LastAudit("grant.revoke");
  EXPECT_EQ(last.decision, "deny");
  EXPECT_EQ(last.actor, "user:pat");
  EXPECT_EQ(last.request_id, "req-p");
  // Whoever cannot see the dataset learns nothing about its grants.
  Result<GrantRecord> hidden = grants_->RevokeGrant(ScopeOf("pat"), payroll.id, "x", {});
  EXPECT_EQ(hidden.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(hidden.status().message(), fmt::format("grant {} does not exist", payroll.id));
  EXPECT_EQ(grants_->RevokeGrant(ScopeOf("olga"), 9999, "x", {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(DatasetGrants("orders").size(), 1u);
  EXPECT_EQ(DatasetGrants("payroll").size(), 1u);
}

TEST_F(Grants, OnlyInstanceAdminsRevokeTheDefaultRole) {
  EXPECT_TRUE(DecideFor("pat", "wiki", DatasetAction::kRead).allowed);
  Result<GrantRecord> by_owner = grants_->RevokeGrant(ScopeOf("olga"), default_grant_id_, "x", {"req-d", ""});
  EXPECT_EQ(by_owner.status().code(), StatusCode::kPermissionDenied);
  AuditEvent last = LastAudit("grant.revoke");
  EXPECT_EQ(last.decision, "deny");
  EXPECT_EQ(last.target, "role:internal-read");
  EXPECT_TRUE(DecideFor("pat", "wiki", DatasetAction::kRead).allowed);

  ASSERT_OK(grants_->RevokeGrant(ScopeOf("ada"), default_grant_id_, "lockdown", {}).status());
  Decision decision = DecideFor("pat", "wiki", DatasetAction::kRead);
  EXPECT_FALSE(decision.allowed);
  EXPECT_THAT(decision.reason, HasSubstr("not in a group holding the default role internal-read"));
}

// Another process (here: another Catalog on the same file, as `edl grants revoke` would open it)
// revokes; this process's Authorizer, whose cached scope still holds the grant, must not use it.
TEST_F(Grants, RevocationByAnotherProcessIsSeenAtTheNextScope) {
  GrantRecord grant = AddedGrant("olga", Grant("orders", User("pat")));
  ASSERT_OK_AND_ASSIGN(AccessScope cached, authorizer_->ScopeFor(IdentityOf("pat")));
  ASSERT_OK_AND_ASSIGN(AccessScope again, authorizer_->ScopeFor(IdentityOf("pat")));
  EXPECT_EQ(again.epoch(), cached.epoch());
  EXPECT_TRUE(Decide(again, GetDataset("orders"), DatasetAction::kRead, authorizer_->Now()).allowed);
  {
    std::unique_ptr<SqliteCatalog> other = OpenSecondCatalog();
    ASSERT_NE(other, nullptr);
    AuditWriter other_audit(*other);
    Authorizer other_authorizer(*other, clock_, &other_audit);
    GrantService other_grants(*other, clock_, other_authorizer);
    ASSERT_OK_AND_ASSIGN(AccessScope olga, other_authorizer.ScopeFor(IdentityOf("olga")));
    ASSERT_OK(other_grants.RevokeGrant(olga, grant.id, "revoked elsewhere", {}).status());
  }
  ASSERT_OK_AND_ASSIGN(AccessScope after, authorizer_->ScopeFor(IdentityOf("pat")));
  for (const HeldGrant& held : after.grants()) EXPECT_NE(held.id, grant.id);
  Decision decision = Decide(after, GetDataset("orders"), DatasetAction::kRead, authorizer_->Now());
  EXPECT_FALSE(decision.allowed) << decision.reason;
}

// ---- Listings.

MATCHER_P3(RoleIs, role, via, expires_at, "") {
  return arg.role == role && arg.via == via && arg.expires_at == expires_at;
}

TEST_F(Grants, EffectiveRolesListEachRoleWithWhereItComesFrom) {
  GrantRecord direct = AddedGrant("olga", Grant("orders", User("pat"), AccessLevel::kRead, 30));
  GrantRecord group = AddedGrant("olga", Grant("wiki", Group("analysts"), AccessLevel::kWrite));
  AddedGrant("otto", Grant("hr-data", User("gus"), AccessLevel::kRead, 1));
  ASSERT_OK(users_->AddGroupMember("analysts", "pat", "user:root").status());
  clock_.Advance(std::chrono::hours(48));  // gus's hr-data grant has expired

  ASSERT_OK_AND_ASSIGN(std::vector<EffectiveRole> pat, grants_->EffectiveRoles(ScopeOf("pat")));
  EXPECT_THAT(
      pat, UnorderedElementsAre(
               RoleIs("orders:read", fmt::format("grant {} to user:pat", direct.id), direct.expires_at),
               RoleIs("wiki:write", fmt::format("grant {} to group:analysts", group.id), std::nullopt),
               RoleIs("internal-read", fmt::format("grant {} to group:employees", default_grant_id_), std::nullopt)));
  ASSERT_OK_AND_ASSIGN(std::vector<EffectiveRole> gus, grants_->EffectiveRoles(ScopeOf("gus")));
  EXPECT_THAT(
      gus, UnorderedElementsAre(
               RoleIs("wiki:write", fmt::format("grant {} to group:analysts", group.id), std::nullopt),
               RoleIs("internal-read", fmt::format("grant {} to group:employees", default_grant_id_), std::nullopt)));
  ASSERT_OK_AND_ASSIGN(std::vector<EffectiveRole> olga, grants_->EffectiveRoles(ScopeOf("olga")));
  EXPECT_THAT(
      olga, UnorderedElementsAre(
                RoleIs("medical:admin", "owner of the dataset", std::nullopt),
                RoleIs("orders:admin", "owner of the dataset", std::nullopt),
                RoleIs("payroll:admin", "owner of the dataset", std::nullopt),
                RoleIs("wiki:admin", "owner of the dataset", std::nullopt),
                RoleIs("internal-read", fmt::format("grant {} to group:employees", default_grant_id_), std::nullopt)));
  ASSERT_OK_AND_ASSIGN(std::vector<EffectiveRole> ada, grants_->EffectiveRoles(ScopeOf("ada")));
  EXPECT_THAT(ada, Contains(RoleIs("instance-admin", "the user is an instance admin", std::nullopt)));
  ASSERT_OK_AND_ASSIGN(std::vector<EffectiveRole> nora, grants_->EffectiveRoles(ScopeOf("nora")));
  EXPECT_THAT(nora, IsEmpty());
}

TEST_F(Grants, ListRequestsShowsOwnRequestsAndThoseOnAdministeredDatasets) {
  AccessRequestRecord pats = Requested("pat", Grant("orders", User("pat")));
  AccessRequestRecord noras = Requested("nora", Grant("hr-data", User("nora")));
  auto ids = [&](const std::string& user) {
    std::vector<int64_t> out;
    Result<std::vector<AccessRequestRecord>> listed = grants_->ListRequests(ScopeOf(user), {});
    EXPECT_TRUE(listed.ok()) << listed.status().ToString();
    if (listed.ok()) {
      for (const AccessRequestRecord& r : *listed) out.push_back(r.id);
    }
    return out;
  };
  EXPECT_THAT(ids("pat"), ElementsAre(pats.id));
  EXPECT_THAT(ids("nora"), ElementsAre(noras.id));
  EXPECT_THAT(ids("olga"), ElementsAre(pats.id));
  EXPECT_THAT(ids("otto"), ElementsAre(noras.id));
  EXPECT_THAT(ids("ada"), ElementsAre(pats.id, noras.id));
  EXPECT_THAT(ids("gus"), IsEmpty());
  AccessRequestFilter pending_on_orders;
  pending_on_orders.dataset = "orders";
  pending_on_orders.state = AccessRequestState::kPending;
  ASSERT_OK_AND_ASSIGN(std::vector<AccessRequestRecord> filtered,
                       grants_->ListRequests(ScopeOf("ada"), pending_on_orders));
  ASSERT_EQ(filtered.size(), 1u);
  EXPECT_EQ(filtered[0].id, pats.id);
}

TEST_F(Grants, ListRequestsFillsEachPageWithVisibleRequests) {
  // Requests olga cannot see lie between those she can; each page still holds `limit` of hers.
  std::vector<int64_t> hers;
  for (AccessLevel level : {AccessLevel::kRead, AccessLevel::kWrite, AccessLevel::kAdmin}) {
    Requested("nora", Grant("hr-data", User("nora"), level));
    hers.push_back(Requested("pat", Grant("orders", User("pat"), level)).id);
  }
  AccessRequestFilter page;
  page.limit = 2;
  ASSERT_OK_AND_ASSIGN(std::vector<AccessRequestRecord> first, grants_->ListRequests(ScopeOf("olga"), page));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id, hers[0]);
  EXPECT_EQ(first[1].id, hers[1]);
  page.after_id = first.back().id;
  ASSERT_OK_AND_ASSIGN(std::vector<AccessRequestRecord> second, grants_->ListRequests(ScopeOf("olga"), page));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id, hers[2]);
  page.after_id = second.back().id;
  ASSERT_OK_AND_ASSIGN(std::vector<AccessRequestRecord> none, grants_->ListRequests(ScopeOf("olga"), page));
  EXPECT_TRUE(none.empty());
}

TEST_F(Grants, JustificationsAndReasonsAreBoundedAndOnOneLine) {
  const std::string long_text(2001, 'x');
  for (const std::string& bad : {long_text, std::string("line one\nline two"), std::string("bell\x07"),
                                 std::string("esc\x1b[2J")}) {
    Result<GrantOutcome> grant =
        grants_->AddGrant(ScopeOf("olga"), Grant("orders", User("pat"), AccessLevel::kRead, std::nullopt, bad), {});
    EXPECT_EQ(grant.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(grant.status().message(), HasSubstr("justification")) << bad;
    Result<AccessRequestRecord> request =
        grants_->RequestAccess(ScopeOf("pat"), Grant("orders", User("pat"), AccessLevel::kRead, 30, bad), {});
    EXPECT_EQ(request.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  GrantRecord kept = AddedGrant("olga", Grant("orders", User("pat")));
  Result<GrantRecord> revoked = grants_->RevokeGrant(ScopeOf("olga"), kept.id, "gone\r\nforged line", {});
  EXPECT_EQ(revoked.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(revoked.status().message(), HasSubstr("reason"));
  // Nothing was recorded: the grant is still active, and no request exists.
  ASSERT_OK_AND_ASSIGN(std::vector<GrantRecord> active, grants_->ListDatasetGrants(ScopeOf("olga"), "orders", false, {}));
  EXPECT_THAT(active, Contains(Field(&GrantRecord::id, kept.id)));
  ASSERT_OK_AND_ASSIGN(std::vector<AccessRequestRecord> requests, grants_->ListRequests(ScopeOf("olga"), {}));
  EXPECT_TRUE(requests.empty());
  // At the limit, and with any printable text, it is fine.
  EXPECT_OK(grants_->AddGrant(ScopeOf("olga"),
                              Grant("orders", User("nora"), AccessLevel::kRead, std::nullopt, std::string(2000, 'y')),
                              {})
                .status());
}

TEST_F(Grants, DatasetGrantsAreListedForItsAdminsOnly) {
  GrantRecord kept = AddedGrant("olga", Grant("orders", User("pat")));
  GrantRecord gone = AddedGrant("olga", Grant("orders", Group("analysts"), AccessLevel::kWrite));
  ASSERT_OK(grants_->RevokeGrant(ScopeOf("olga"), gone.id, "x", {}).status());
  ASSERT_OK_AND_ASSIGN(std::vector<GrantRecord> active,
                       grants_->ListDatasetGrants(ScopeOf("olga"), "orders", false, {}));
  EXPECT_THAT(active, ElementsAre(Field(&GrantRecord::id, kept.id)));
  ASSERT_OK_AND_ASSIGN(std::vector<GrantRecord> all, grants_->ListDatasetGrants(ScopeOf("ada"), "orders", true, {}));
  EXPECT_THAT(all, ElementsAre(Field(&GrantRecord::id, kept.id), Field(&GrantRecord::id, gone.id)));
  EXPECT_EQ(grants_->ListDatasetGrants(ScopeOf("pat"), "orders", false, {}).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(grants_->ListDatasetGrants(ScopeOf("pat"), "payroll", false, {}).status().code(), StatusCode::kNotFound);
}

TEST_F(Grants, PrincipalGrantsAreOwnOnlyUnlessInstanceAdmin) {
  GrantRecord pats = AddedGrant("olga", Grant("orders", User("pat")));
  GrantRecord analysts = AddedGrant("olga", Grant("orders", Group("analysts")));
  ASSERT_OK_AND_ASSIGN(std::vector<GrantRecord> gus, grants_->ListPrincipalGrants(ScopeOf("gus"), std::nullopt));
  EXPECT_THAT(gus, Contains(Field(&GrantRecord::id, analysts.id)));
  EXPECT_THAT(gus, Not(Contains(Field(&GrantRecord::id, pats.id))));
  EXPECT_EQ(grants_->ListPrincipalGrants(ScopeOf("gus"), User("pat")).status().code(), StatusCode::kPermissionDenied);
  ASSERT_OK_AND_ASSIGN(std::vector<GrantRecord> by_admin, grants_->ListPrincipalGrants(ScopeOf("ada"), User("pat")));
  EXPECT_THAT(by_admin, ElementsAre(Field(&GrantRecord::id, pats.id)));
}

}  // namespace
}  // namespace edl
