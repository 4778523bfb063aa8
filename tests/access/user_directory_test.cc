// UserDirectory::Authenticate and its cache: answers come from the cache only while the access
// epoch stands still, so a token revoked, a user disabled or a group changed by another process
// (another Catalog on the same file) counts at the next call; expiry is compared with the clock at
// every call, cached or not. Refusals never repeat the secret.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "access_test_support.h"

namespace edl {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class Authenticate : public testing::AccessTest {
 protected:
  void SetUp() override {
    AccessTest::SetUp();
    if (HasFatalFailure()) return;
    AddUser("pat");
    AddUser("ada", {"ops"}, /*admin=*/true);
  }

  IssuedToken Token(const std::string& user, std::optional<int64_t> days) {
    Result<IssuedToken> issued = users_->CreateToken(user, "laptop", days, "user:root");
    EXPECT_TRUE(issued.ok()) << issued.status().ToString();
    return issued.ok() ? *issued : IssuedToken();
  }

  // Runs `fn` in a write transaction on a second Catalog opened on the same file.
  void WriteElsewhere(const std::function<Status(CatalogTransaction&)>& fn) {
    std::unique_ptr<SqliteCatalog> other = OpenSecondCatalog();
    ASSERT_NE(other, nullptr);
    ASSERT_OK(other->Write(fn));
  }

  void ExpectRefused(const IssuedToken& token, const std::string& why) {
    Result<Identity> identity = users_->Authenticate(token.secret);
    EXPECT_EQ(identity.status().code(), StatusCode::kPermissionDenied) << why;
    EXPECT_THAT(identity.status().message(), HasSubstr(why));
    EXPECT_THAT(identity.status().message(), Not(HasSubstr(token.secret)));
  }
};

TEST_F(Authenticate, ReturnsTheUsersIdentity) {
  IssuedToken token = Token("ada", 30);
  ASSERT_OK_AND_ASSIGN(Identity identity, users_->Authenticate(token.secret));
  EXPECT_EQ(identity.user, "ada");
  EXPECT_TRUE(identity.admin);
  EXPECT_THAT(identity.groups, ElementsAre("employees", "ops"));
  EXPECT_EQ(identity.token_id, token.record.id);
  EXPECT_EQ(identity.token_expires_at, InDays(30));
  ASSERT_OK_AND_ASSIGN(Identity cached, users_->Authenticate(token.secret));
  EXPECT_EQ(cached, identity);
}

TEST_F(Authenticate, RefusesATokenRevokedByAnotherProcessAtTheNextCall) {
  IssuedToken token = Token("pat", 30);
  ASSERT_OK(users_->Authenticate(token.secret).status());
  ASSERT_OK(users_->Authenticate(token.secret).status());  // now from the cache
  WriteElsewhere([&](CatalogTransaction& tx) { return tx.RevokeToken(token.record.id, "user:root"); });
  ExpectRefused(token, "was revoked");
  ExpectRefused(token, "was revoked");
}

TEST_F(Authenticate, RefusesAnExpiredTokenThoughItIsCached) {
  IssuedToken token = Token("pat", 1);
  ASSERT_OK(users_->Authenticate(token.secret).status());
  clock_.Advance(std::chrono::hours(24) - std::chrono::milliseconds(1));
  ASSERT_OK(users_->Authenticate(token.secret).status());  // cached, one millisecond to go
  clock_.Advance(std::chrono::milliseconds(1));
  ExpectRefused(token, "expired at " + *token.record.expires_at);
}

TEST_F(Authenticate, RefusesAUserDisabledByAnotherProcess) {
  IssuedToken token = Token("pat", std::nullopt);
  ASSERT_OK(users_->Authenticate(token.secret).status());
  WriteElsewhere([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::optional<UserRecord> user, tx.GetUser("pat"));
    if (!user) return NotFound("pat");
    user->disabled = true;
    return tx.UpdateUser(*user);
  });
  ExpectRefused(token, "user 'pat' is disabled");
}

TEST_F(Authenticate, SeesGroupChangesMadeByAnotherProcess) {
  IssuedToken token = Token("pat", 30);
  ASSERT_OK_AND_ASSIGN(Identity before, users_->Authenticate(token.secret));
  EXPECT_THAT(before.groups, ElementsAre("employees"));
  WriteElsewhere([&](CatalogTransaction& tx) -> Status {
    RETURN_IF_ERROR(tx.AddGroupMember("analysts", "pat").status());
    return tx.RemoveGroupMember("employees", "pat").status();
  });
  ASSERT_OK_AND_ASSIGN(Identity after, users_->Authenticate(token.secret));
  EXPECT_THAT(after.groups, ElementsAre("analysts"));
  // And the Authorizer follows: no default role any more.
  AddDataset("wiki", Tier::kInternal, {"olga"});
  ASSERT_OK_AND_ASSIGN(AccessScope scope, authorizer_->ScopeFor(after));
  EXPECT_FALSE(Decide(scope, GetDataset("wiki"), DatasetAction::kRead, authorizer_->Now()).allowed);
}

TEST_F(Authenticate, RefusesMalformedAndUnknownTokensWithoutRepeatingThem) {
  IssuedToken token = Token("pat", 30);
  IssuedToken unknown = token;
  unknown.secret.back() = unknown.secret.back() == 'A' ? 'B' : 'A';
  ExpectRefused(unknown, "the token is unknown");
  IssuedToken malformed = token;
  malformed.secret = "edl_short";
  ExpectRefused(malformed, "the token is malformed");
  malformed.secret = token.secret + "x";
  ExpectRefused(malformed, "the token is malformed");
  ASSERT_OK(users_->Authenticate(token.secret).status());
}

TEST_F(Authenticate, RevokingOneTokenLeavesTheUsersOtherTokens) {
  IssuedToken laptop = Token("pat", 30);
  IssuedToken ci = Token("pat", 30);
  ASSERT_OK(users_->Authenticate(laptop.secret).status());
  ASSERT_OK(users_->Authenticate(ci.secret).status());
  ASSERT_OK(users_->RevokeToken(laptop.record.id, "user:root").status());
  ExpectRefused(laptop, "was revoked");
  ASSERT_OK(users_->Authenticate(ci.secret).status());
  EXPECT_THAT(FlushedAudit(), Contains(::testing::Field(&AuditEvent::action, "token.revoke")));
}

}  // namespace
}  // namespace edl
