#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalog/sqlite_catalog.h"
#include "catalog/sqlite_connection.h"
#include "catalog_test_support.h"
#include "testing/temp_dir.h"

namespace edl {
namespace {

using edl::testing::FixedClock;
using edl::testing::ReadValue;
using edl::testing::SimpleDataset;
using edl::testing::TempDir;
using ::testing::HasSubstr;

class SqliteCatalogTransactions : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<SqliteCatalog>> opened = SqliteCatalog::Open(file_, clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    catalog_ = std::move(opened).value();
  }

  // Everything a transaction could have left behind, as one string.
  std::string Contents() {
    std::string out;
    Status status = catalog_->Read([&](CatalogTransaction& txn) -> Status {
      ASSIGN_OR_RETURN(auto buckets, txn.ListBuckets());
      ASSIGN_OR_RETURN(auto datasets, txn.ListDatasets());
      ASSIGN_OR_RETURN(auto setting, txn.GetSetting("instance"));
      ASSIGN_OR_RETURN(auto audit, txn.ListAudit({}));
      ASSIGN_OR_RETURN(auto principals, txn.ListPrincipals());
      out = "buckets=" + std::to_string(buckets.size()) + " datasets=" + std::to_string(datasets.size()) +
            " setting=" + setting.value_or("-") + " audit=" + std::to_string(audit.size()) +
            " principals=" + std::to_string(principals.size());
      return Status::Ok();
    });
    EXPECT_OK(status);
    return out;
  }

  TempDir dir_;
  FixedClock clock_;
  std::filesystem::path file_ = dir_.path() / "catalog.db";
  std::unique_ptr<SqliteCatalog> catalog_;
};

Status WriteEverything(CatalogTransaction& txn) {
  RETURN_IF_ERROR(txn.InsertBucket({"datalake-dev01-internal-eu-west-1", false, Tier::kInternal, "eu-west-1"}));
  RETURN_IF_ERROR(txn.InsertDataset(SimpleDataset("orders")));
  RETURN_IF_ERROR(txn.PutSetting("instance", "dev01"));
  RETURN_IF_ERROR(txn.EnsurePrincipal({PrincipalKind::kUser, "alice"}).status());
  return txn.AppendAudit({0, "", "user:alice", "dataset.create", "dataset:orders", "{}"}).status();
}

TEST_F(SqliteCatalogTransactions, CommitsWhenTheCallbackSucceeds) {
  ASSERT_OK(catalog_->Write(WriteEverything));
  EXPECT_EQ(Contents(), "buckets=1 datasets=1 setting=dev01 audit=1 principals=1");
}

TEST_F(SqliteCatalogTransactions, RollsBackWhenCallbackFails) {
  Status status = catalog_->Write([](CatalogTransaction& txn) -> Status {
    RETURN_IF_ERROR(WriteEverything(txn));
    return Conflict("changed my mind");
  });
  EXPECT_EQ(status.code(), StatusCode::kConflict);
  EXPECT_EQ(status.message(), "changed my mind");
  EXPECT_EQ(Contents(), "buckets=0 datasets=0 setting=- audit=0 principals=0");
}

TEST_F(SqliteCatalogTransactions, RollsBackWhenAStatementFailsMidway) {
  Status status = catalog_->Write([](CatalogTransaction& txn) -> Status {
    RETURN_IF_ERROR(WriteEverything(txn));
    RETURN_IF_ERROR(txn.InsertDataset(SimpleDataset("orders")));  // taken: AlreadyExists
    return txn.PutSetting("never", "reached");
  });
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(), "dataset 'orders' already exists");
  EXPECT_EQ(Contents(), "buckets=0 datasets=0 setting=- audit=0 principals=0");
}

TEST_F(SqliteCatalogTransactions, RollsBackWhenTheCallbackThrows) {
  Status status = catalog_->Write([](CatalogTransaction& txn) -> Status {
    RETURN_IF_ERROR(WriteEverything(txn));
    throw std::runtime_error("boom");
  });
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("boom"));
  EXPECT_EQ(Contents(), "buckets=0 datasets=0 setting=- audit=0 principals=0");
  ASSERT_OK(catalog_->Write(WriteEverything));  // the connection is usable again
  EXPECT_EQ(Contents(), "buckets=1 datasets=1 setting=dev01 audit=1 principals=1");
}

TEST_F(SqliteCatalogTransactions, ReadTransactionsRefuseWrites) {
  Status status = catalog_->Read([](CatalogTransaction& txn) { return txn.PutSetting("instance", "dev01"); });
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("PutSetting needs a write transaction"));
  EXPECT_EQ(Contents(), "buckets=0 datasets=0 setting=- audit=0 principals=0");
}

TEST_F(SqliteCatalogTransactions, RefusesANestedWriteInsteadOfDeadlocking) {
  Status inner;
  ASSERT_OK(catalog_->Write([&](CatalogTransaction& txn) {
    inner = catalog_->Write([](CatalogTransaction& nested) { return nested.PutSetting("a", "b"); });
    return txn.PutSetting("instance", "dev01");
  }));
  EXPECT_EQ(inner.code(), StatusCode::kInternal);
  EXPECT_THAT(inner.message(), HasSubstr("nested write transactions are not supported"));
  EXPECT_EQ(Contents(), "buckets=0 datasets=0 setting=dev01 audit=0 principals=0");
}

TEST_F(SqliteCatalogTransactions, ConcurrentWritesAllLand) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 10;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  std::vector<Status> failures(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string name = "dataset-" + std::to_string(t) + "-" + std::to_string(i);
        Status status =
            catalog_->Write([&](CatalogTransaction& txn) { return txn.InsertDataset(SimpleDataset(name)); });
        if (!status.ok()) failures[t] = status;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const Status& status : failures) EXPECT_OK(status);
  auto datasets = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.ListDatasets(); });
  ASSERT_TRUE(datasets.ok()) << datasets.status().ToString();
  EXPECT_EQ(datasets->size(), static_cast<size_t>(kThreads * kPerThread));
}

// Two Catalog objects on one file behave like two EDL processes: SQLite's file lock serializes
// their writes, so read-modify-write cycles never lose an increment.
TEST_F(SqliteCatalogTransactions, TwoCatalogsOnOneFileSerializeWrites) {
  Result<std::unique_ptr<SqliteCatalog>> other = SqliteCatalog::Open(file_, clock_);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  constexpr int kIncrements = 25;
  auto increment = [](Catalog& catalog) {
    for (int i = 0; i < kIncrements; ++i) {
      Status status = catalog.Write([](CatalogTransaction& txn) -> Status {
        ASSIGN_OR_RETURN(std::optional<std::string> value, txn.GetSetting("counter"));
        int next = std::stoi(value.value_or("0")) + 1;
        return txn.PutSetting("counter", std::to_string(next));
      });
      EXPECT_OK(status);
    }
  };
  std::vector<std::thread> threads;
  threads.emplace_back(increment, std::ref(*catalog_));
  threads.emplace_back(increment, std::ref(**other));
  threads.emplace_back(increment, std::ref(*catalog_));
  threads.emplace_back(increment, std::ref(**other));
  for (std::thread& thread : threads) thread.join();
  auto counter = ReadValue(**other, [](CatalogTransaction& txn) { return txn.GetSetting("counter"); });
  ASSERT_TRUE(counter.ok()) << counter.status().ToString();
  EXPECT_EQ(*counter, std::optional<std::string>(std::to_string(4 * kIncrements)));
}

TEST_F(SqliteCatalogTransactions, WaitingTooLongForAWriterIsUnavailable) {
  SqliteCatalogOptions impatient;
  impatient.busy_timeout = std::chrono::milliseconds(100);
  Result<std::unique_ptr<SqliteCatalog>> other = SqliteCatalog::Open(file_, clock_, impatient);
  ASSERT_TRUE(other.ok()) << other.status().ToString();

  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::thread holder([&] {
    EXPECT_OK(catalog_->Write([&](CatalogTransaction& txn) {
      entered.set_value();
      released.wait();
      return txn.PutSetting("instance", "dev01");
    }));
  });
  entered.get_future().wait();
  Status status = (*other)->Write([](CatalogTransaction& txn) { return txn.PutSetting("instance", "uat"); });
  release.set_value();
  holder.join();

  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("catalog '" + file_.string() + "' is busy"));
  EXPECT_THAT(status.message(), HasSubstr("100 ms"));
  EXPECT_EQ(Contents(), "buckets=0 datasets=0 setting=dev01 audit=0 principals=0");
}

TEST_F(SqliteCatalogTransactions, ReadsDoNotWaitForAWriter) {
  ASSERT_OK(catalog_->Write([](CatalogTransaction& txn) { return txn.PutSetting("instance", "dev01"); }));
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::thread writer([&] {
    EXPECT_OK(catalog_->Write([&](CatalogTransaction& txn) -> Status {
      RETURN_IF_ERROR(txn.PutSetting("instance", "uat"));
      entered.set_value();
      released.wait();
      return Status::Ok();
    }));
  });
  entered.get_future().wait();
  // The write is open and uncommitted: a read neither blocks nor sees it.
  auto during = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.GetSetting("instance"); });
  release.set_value();
  writer.join();
  ASSERT_TRUE(during.ok()) << during.status().ToString();
  EXPECT_EQ(*during, std::optional<std::string>("dev01"));
  auto after = ReadValue(*catalog_, [](CatalogTransaction& txn) { return txn.GetSetting("instance"); });
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, std::optional<std::string>("uat"));
}

// The data epoch moves with every change of a dataset or an update, whoever writes it, and stands
// still otherwise; the access epoch is read with it.
TEST_F(SqliteCatalogTransactions, DataEpochMovesWithDatasetsAndUpdatesOnly) {
  auto epochs = [&] {
    CatalogEpochs out;
    EXPECT_OK(catalog_->Read([&](CatalogTransaction& txn) -> Status {
      ASSIGN_OR_RETURN(out, txn.Epochs());
      ASSIGN_OR_RETURN(int64_t access, txn.AccessEpoch());
      EXPECT_EQ(access, out.access);
      return Status::Ok();
    }));
    return out;
  };
  CatalogEpochs start = epochs();
  EXPECT_OK(catalog_->Write([](CatalogTransaction& txn) { return WriteEverything(txn); }));
  CatalogEpochs created = epochs();
  EXPECT_GT(created.data, start.data);
  EXPECT_GT(created.access, start.access);
  // Settings and the audit log are not data.
  EXPECT_OK(catalog_->Write([](CatalogTransaction& txn) -> Status {
    RETURN_IF_ERROR(txn.PutSetting("motd", "hello"));
    return txn.AppendAudit({0, "", "user:alice", "dataset.read", "dataset:orders", "{}"}).status();
  }));
  EXPECT_EQ(epochs().data, created.data);
  // An update reserved, then completed: two moves.
  int64_t number = 0;
  EXPECT_OK(catalog_->Write([&](CatalogTransaction& txn) -> Status {
    ASSIGN_OR_RETURN(number, txn.ReserveUpdate("orders", UpdateKind::kSnapshot, "user:alice", "w1",
                                               "2030-01-01T00:00:00.000Z"));
    return Status::Ok();
  }));
  CatalogEpochs reserved = epochs();
  EXPECT_GT(reserved.data, created.data);
  EXPECT_OK(catalog_->Write([&](CatalogTransaction& txn) { return txn.CompleteUpdate("orders", number, "{}", {}); }));
  EXPECT_GT(epochs().data, reserved.data);
  // Another connection (another process) sees the same counters.
  auto other = SqliteCatalog::Open(file_, clock_);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  CatalogEpochs seen;
  EXPECT_OK((*other)->Read([&](CatalogTransaction& txn) -> Status {
    ASSIGN_OR_RETURN(seen, txn.Epochs());
    return Status::Ok();
  }));
  EXPECT_EQ(seen.data, epochs().data);
}

// RecentEpochs answers from memory while its last reading is younger than the age asked for and
// no write of this process committed since; a write of another process (here: a bare SQLite
// connection, which Catalog::Write never sees) is seen once the reading is old enough.
TEST_F(SqliteCatalogTransactions, RecentEpochsAreReadAgainWhenOldOrAfterOwnWrite) {
  using std::chrono::hours;
  auto other_process = sqlite::Connection::Open(file_.string(), sqlite::Connection::Mode::kReadWrite,
                                                std::chrono::milliseconds(5000));
  ASSERT_TRUE(other_process.ok()) << other_process.status().ToString();
  auto bump = [&] {
    EXPECT_OK((*other_process)->Exec("UPDATE access_epoch SET epoch = epoch + 1 WHERE id = 1", "bump the epoch"));
  };
  auto fresh = [&] {
    CatalogEpochs out;
    EXPECT_OK(catalog_->Read([&](CatalogTransaction& txn) -> Status {
      ASSIGN_OR_RETURN(out, txn.Epochs());
      return Status::Ok();
    }));
    return out.access;
  };
  auto recent = [&](std::chrono::microseconds max_age) {
    Result<CatalogEpochs> epochs = catalog_->RecentEpochs(max_age);
    EXPECT_TRUE(epochs.ok()) << epochs.status().ToString();
    return epochs.ok() ? epochs->access : -1;
  };

  int64_t first = recent(hours(1));
  EXPECT_EQ(first, fresh());
  bump();
  EXPECT_EQ(fresh(), first + 1);
  EXPECT_EQ(recent(hours(1)), first) << "young enough: from memory";
  EXPECT_EQ(recent(std::chrono::microseconds(0)), first + 1) << "age 0: always read";

  bump();
  EXPECT_EQ(recent(hours(1)), first + 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(recent(std::chrono::milliseconds(10)), first + 2) << "older than 10 ms: read again";

  bump();
  EXPECT_EQ(recent(hours(1)), first + 2);
  // A write of this process (one that moves no epoch itself) makes the next answer a fresh read.
  EXPECT_OK(catalog_->Write([](CatalogTransaction& txn) { return txn.PutSetting("motd", "hello"); }));
  EXPECT_EQ(recent(hours(1)), first + 3);
  // A failed write commits nothing and forces no read.
  bump();
  EXPECT_FALSE(catalog_->Write([](CatalogTransaction&) { return InvalidArgument("no"); }).ok());
  EXPECT_EQ(recent(hours(1)), first + 3);
}

}  // namespace
}  // namespace edl
