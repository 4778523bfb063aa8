#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalog/sqlite_catalog.h"
#include "catalog_test_support.h"
#include "testing/temp_dir.h"

namespace edl {
namespace {

using edl::testing::FixedClock;
using edl::testing::ReadValue;
using edl::testing::TempDir;
using edl::testing::WriteValue;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

UserRecord User(std::string name, std::vector<std::string> groups = {}) {
  UserRecord user;
  user.name = std::move(name);
  user.created_by = "user:root";
  user.groups = std::move(groups);
  return user;
}

TokenRecord Token(std::string user, std::string secret_sha256) {
  TokenRecord token;
  token.user = std::move(user);
  token.description = "laptop";
  token.secret_sha256 = std::move(secret_sha256);
  token.created_by = "user:root";
  return token;
}

class SqliteCatalogUsers : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<SqliteCatalog>> opened = SqliteCatalog::Open(file_, clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    catalog_ = std::move(opened).value();
  }

  Status Insert(const UserRecord& user) {
    return catalog_->Write([&](CatalogTransaction& txn) { return txn.InsertUser(user); });
  }

  std::optional<UserRecord> Get(std::string_view name) {
    auto user = ReadValue(*catalog_, [&](CatalogTransaction& txn) { return txn.GetUser(name); });
    EXPECT_TRUE(user.ok()) << user.status().ToString();
    return user.ok() ? *user : std::nullopt;
  }

  std::vector<std::string> Members(std::string_view group) {
    auto members = ReadValue(*catalog_, [&](CatalogTransaction& txn) { return txn.ListGroupMembers(group); });
    EXPECT_TRUE(members.ok()) << members.status().ToString();
    return members.ok() ? *members : std::vector<std::string>{};
  }

  Result<int64_t> InsertToken(const TokenRecord& token) {
    return WriteValue(*catalog_, [&](CatalogTransaction& txn) { return txn.InsertToken(token); });
  }

  TempDir dir_;
  FixedClock clock_;
  std::filesystem::path file_ = dir_.path() / "catalog.db";
  std::unique_ptr<SqliteCatalog> catalog_;
};

// ---- users ----

TEST_F(SqliteCatalogUsers, InsertedUserReadsBackWithSortedGroupsAndItsPrincipal) {
  UserRecord alice = User("alice", {"finance", "analysts", "finance"});
  alice.admin = true;
  ASSERT_OK(Insert(alice));

  std::optional<UserRecord> read = Get("alice");
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->name, "alice");
  EXPECT_TRUE(read->admin);
  EXPECT_FALSE(read->disabled);
  EXPECT_EQ(read->created_at, clock_.NowText());
  EXPECT_EQ(read->created_by, "user:root");
  EXPECT_THAT(read->groups, ElementsAre("analysts", "finance"));
  for (const Principal& principal :
       {Principal{PrincipalKind::kUser, "alice"}, Principal{PrincipalKind::kGroup, "finance"}}) {
    auto exists = ReadValue(*catalog_, [&](CatalogTransaction& txn) { return txn.PrincipalExists(principal); });
    ASSERT_TRUE(exists.ok()) << exists.status().ToString();
    EXPECT_TRUE(*exists) << PrincipalRef(principal);
  }
  EXPECT_EQ(Get("bob"), std::nullopt);
}

TEST_F(SqliteCatalogUsers, KeepsAGivenCreationTime) {
  UserRecord alice = User("alice");
  alice.created_at = "2025-12-31T23:59:59.000Z";
  ASSERT_OK(Insert(alice));
  EXPECT_EQ(Get("alice")->created_at, "2025-12-31T23:59:59.000Z");
}

TEST_F(SqliteCatalogUsers, DuplicateUserIsAlreadyExistsAndChangesNothing) {
  ASSERT_OK(Insert(User("alice", {"finance"})));
  Status again = Insert(User("alice", {"hr"}));
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "user 'alice' already exists");
  EXPECT_THAT(Get("alice")->groups, ElementsAre("finance"));
  EXPECT_THAT(Members("hr"), IsEmpty());
}

TEST_F(SqliteCatalogUsers, AnEmptyNameIsRefused) {
  EXPECT_EQ(Insert(User("")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Insert(User("alice", {""})).code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteCatalogUsers, ListsUsersByNameWithTheirGroups) {
  ASSERT_OK(Insert(User("carol", {"hr"})));
  ASSERT_OK(Insert(User("alice", {"finance", "analysts"})));
  ASSERT_OK(Insert(User("bob")));
  auto users = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.ListUsers(); });
  ASSERT_TRUE(users.ok()) << users.status().ToString();
  ASSERT_EQ(users->size(), 3u);
  EXPECT_EQ((*users)[0].name, "alice");
  EXPECT_THAT((*users)[0].groups, ElementsAre("analysts", "finance"));
  EXPECT_EQ((*users)[1].name, "bob");
  EXPECT_THAT((*users)[1].groups, IsEmpty());
  EXPECT_EQ((*users)[2].name, "carol");
  EXPECT_THAT((*users)[2].groups, ElementsAre("hr"));
}

TEST_F(SqliteCatalogUsers, UpdateSetsAdminAndDisabledOnly) {
  ASSERT_OK(Insert(User("alice", {"finance"})));
  UserRecord change = User("alice", {"hr"});
  change.admin = true;
  change.disabled = true;
  change.created_by = "user:mallory";
  ASSERT_OK(catalog_->Write([&](CatalogTransaction& txn) { return txn.UpdateUser(change); }));
  std::optional<UserRecord> read = Get("alice");
  ASSERT_TRUE(read.has_value());
  EXPECT_TRUE(read->admin);
  EXPECT_TRUE(read->disabled);
  EXPECT_EQ(read->created_by, "user:root");
  EXPECT_THAT(read->groups, ElementsAre("finance"));
}

TEST_F(SqliteCatalogUsers, UpdatingAnUnknownUserIsNotFound) {
  Status status = catalog_->Write([](CatalogTransaction& txn) { return txn.UpdateUser(User("ghost")); });
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "user 'ghost' does not exist");
}

// ---- groups ----

TEST_F(SqliteCatalogUsers, AddingAndRemovingMembersIsIdempotent) {
  ASSERT_OK(Insert(User("bob")));
  ASSERT_OK(Insert(User("alice")));
  // "true", "false" or the error.
  auto text = [](const Result<bool>& changed) {
    return changed.ok() ? std::string(*changed ? "true" : "false") : changed.status().ToString();
  };
  auto add = [&](std::string_view group, std::string_view user) {
    return text(WriteValue(*catalog_, [&](CatalogTransaction& txn) { return txn.AddGroupMember(group, user); }));
  };
  auto remove = [&](std::string_view group, std::string_view user) {
    return text(WriteValue(*catalog_, [&](CatalogTransaction& txn) { return txn.RemoveGroupMember(group, user); }));
  };
  EXPECT_EQ(add("finance", "bob"), "true");
  EXPECT_EQ(add("finance", "bob"), "false");
  EXPECT_EQ(add("finance", "alice"), "true");
  EXPECT_THAT(Members("finance"), ElementsAre("alice", "bob"));
  EXPECT_THAT(Get("bob")->groups, ElementsAre("finance"));

  EXPECT_EQ(remove("finance", "bob"), "true");
  EXPECT_EQ(remove("finance", "bob"), "false");
  EXPECT_EQ(remove("no-such-group", "alice"), "false");
  EXPECT_EQ(remove("finance", "ghost"), "false");
  EXPECT_THAT(Members("finance"), ElementsAre("alice"));
  EXPECT_THAT(Get("bob")->groups, IsEmpty());
}

TEST_F(SqliteCatalogUsers, AddingAnUnknownUserIsNotFoundAndCreatesNoGroup) {
  auto added = WriteValue(*catalog_, [](CatalogTransaction& txn) { return txn.AddGroupMember("finance", "ghost"); });
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(added.status().message(), "cannot add user 'ghost' to group 'finance': the user does not exist");
  auto exists = ReadValue(*catalog_, [](CatalogTransaction& txn) {
    return txn.PrincipalExists({PrincipalKind::kGroup, "finance"});
  });
  ASSERT_TRUE(exists.ok()) << exists.status().ToString();
  EXPECT_FALSE(*exists);
}

TEST_F(SqliteCatalogUsers, AnUnknownGroupHasNoMembers) {
  EXPECT_THAT(Members("nobody"), IsEmpty());
}

// ---- tokens ----

TEST_F(SqliteCatalogUsers, TokensAreFoundByHashAndByIdAndListedPerUser) {
  ASSERT_OK(Insert(User("alice")));
  ASSERT_OK(Insert(User("bob")));
  TokenRecord first = Token("alice", std::string(64, 'a'));
  first.expires_at = "2027-01-01T00:00:00.000Z";
  ASSERT_OK_AND_ASSIGN(int64_t first_id, InsertToken(first));
  ASSERT_OK_AND_ASSIGN(int64_t second_id, InsertToken(Token("bob", std::string(64, 'b'))));
  ASSERT_OK_AND_ASSIGN(int64_t third_id, InsertToken(Token("alice", std::string(64, 'c'))));
  EXPECT_EQ(first_id, 1);
  EXPECT_EQ(second_id, 2);
  EXPECT_EQ(third_id, 3);

  auto found =
      ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.FindTokenBySecretHash(std::string(64, 'a')); });
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_TRUE(found->has_value());
  const TokenRecord& token = **found;
  EXPECT_EQ(token.id, first_id);
  EXPECT_EQ(token.user, "alice");
  EXPECT_EQ(token.description, "laptop");
  EXPECT_EQ(token.secret_sha256, std::string(64, 'a'));
  EXPECT_EQ(token.created_at, clock_.NowText());
  EXPECT_EQ(token.created_by, "user:root");
  EXPECT_EQ(token.expires_at, std::optional<std::string>("2027-01-01T00:00:00.000Z"));
  EXPECT_EQ(token.revoked_at, std::nullopt);
  EXPECT_EQ(token.revoked_by, "");

  auto missing =
      ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.FindTokenBySecretHash(std::string(64, 'f')); });
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_EQ(*missing, std::nullopt);

  auto by_id = ReadValue(*catalog_, [&](CatalogTransaction& txn) { return txn.GetToken(second_id); });
  ASSERT_TRUE(by_id.ok()) << by_id.status().ToString();
  ASSERT_TRUE(by_id->has_value());
  EXPECT_EQ((*by_id)->user, "bob");
  auto no_id = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.GetToken(99); });
  ASSERT_TRUE(no_id.ok()) << no_id.status().ToString();
  EXPECT_EQ(*no_id, std::nullopt);

  auto ids = [&](std::optional<std::string_view> user) {
    auto tokens = ReadValue(*catalog_, [&](CatalogTransaction& txn) { return txn.ListTokens(user); });
    EXPECT_TRUE(tokens.ok()) << tokens.status().ToString();
    std::vector<int64_t> out;
    if (tokens.ok()) {
      for (const TokenRecord& t : *tokens) out.push_back(t.id);
    }
    return out;
  };
  EXPECT_THAT(ids(std::nullopt), ElementsAre(first_id, second_id, third_id));
  EXPECT_THAT(ids("alice"), ElementsAre(first_id, third_id));
  EXPECT_THAT(ids("bob"), ElementsAre(second_id));
  EXPECT_THAT(ids("ghost"), IsEmpty());
}

TEST_F(SqliteCatalogUsers, ATokenForAnUnknownUserIsRefused) {
  Result<int64_t> id = InsertToken(Token("ghost", std::string(64, 'a')));
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(id.status().message(), "cannot create a token for user 'ghost': the user does not exist");
}

TEST_F(SqliteCatalogUsers, ATakenSecretHashIsAlreadyExists) {
  ASSERT_OK(Insert(User("alice")));
  ASSERT_OK(Insert(User("bob")));
  ASSERT_TRUE(InsertToken(Token("alice", std::string(64, 'a'))).ok());
  Result<int64_t> again = InsertToken(Token("bob", std::string(64, 'a')));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "cannot create a token for user 'bob': a token with the same secret hash exists");
  EXPECT_EQ(InsertToken(Token("alice", "")).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteCatalogUsers, RevokingATokenTwiceIsConflict) {
  ASSERT_OK(Insert(User("alice")));
  ASSERT_OK_AND_ASSIGN(int64_t id, InsertToken(Token("alice", std::string(64, 'a'))));
  ASSERT_OK(catalog_->Write([&](CatalogTransaction& txn) { return txn.RevokeToken(id, "user:root"); }));
  auto token = ReadValue(*catalog_, [&](CatalogTransaction& txn) { return txn.GetToken(id); });
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  ASSERT_TRUE(token->has_value());
  EXPECT_EQ((*token)->revoked_at, std::optional<std::string>(clock_.NowText()));
  EXPECT_EQ((*token)->revoked_by, "user:root");

  Status again = catalog_->Write([&](CatalogTransaction& txn) { return txn.RevokeToken(id, "user:alice"); });
  EXPECT_EQ(again.code(), StatusCode::kConflict);
  EXPECT_EQ(again.message(), "token 1 was already revoked at " + clock_.NowText() + " by 'user:root'");

  Status missing = catalog_->Write([](CatalogTransaction& txn) { return txn.RevokeToken(42, "user:root"); });
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "token 42 does not exist");
}

TEST_F(SqliteCatalogUsers, WritesAreRefusedInsideARead) {
  Status status = catalog_->Read([](CatalogTransaction& txn) { return txn.InsertUser(User("alice")); });
  EXPECT_EQ(status.code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace edl
