// AuditWriter: events recorded from many threads reach the catalog exactly once, in order per
// thread, in a valid hash chain; a catalog locked by another connection delays events but loses
// none, also while a batch with an invalid event is written one event at a time; a full queue
// makes Record wait; a batch's worth is written without waiting for the interval; the destructor
// writes what is queued.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "access_test_support.h"

namespace edl {
namespace {

using edl::testing::AllAudit;
using edl::testing::FixedClock;
using edl::testing::TempDir;
using namespace std::chrono_literals;

AuditEvent Decision(int thread, int n) {
  AuditEvent event;
  event.actor = fmt::format("user:t{}", thread);
  event.action = "access.read";
  event.target = "dataset:orders";
  event.decision = n % 2 == 0 ? "allow" : "deny";
  event.reason = fmt::format("event {} of thread {}", n, thread);
  event.request_id = fmt::format("req-{}-{}", thread, n);
  return event;
}

// Another connection (as another process would hold it) with the catalog's write lock.
class WriteLock {
 public:
  explicit WriteLock(const std::filesystem::path& file) {
    EXPECT_EQ(sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    Exec("BEGIN IMMEDIATE");
  }
  ~WriteLock() { Release(); }
  void Release() {
    if (db_ == nullptr) return;
    Exec("COMMIT");
    sqlite3_close(db_);
    db_ = nullptr;
  }

 private:
  void Exec(const char* sql) {
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql, nullptr, nullptr, &error), SQLITE_OK) << sql << ": " << (error ? error : "");
    sqlite3_free(error);
  }
  sqlite3* db_ = nullptr;
};

class AuditWriterTest : public ::testing::Test {
 protected:
  void Open(SqliteCatalogOptions options = {}) {
    Result<std::unique_ptr<SqliteCatalog>> opened = SqliteCatalog::Open(file_, clock_, options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    catalog_ = std::move(opened).value();
  }
  void SetUp() override { Open(); }

  // The request ids of the stored events, oldest first.
  std::vector<std::string> StoredRequestIds() {
    std::vector<std::string> ids;
    for (const AuditEvent& event : AllAudit(*catalog_)) ids.push_back(event.request_id);
    return ids;
  }

  void ExpectValidChain() {
    Status verified = catalog_->Read([](CatalogTransaction& tx) { return tx.VerifyAudit(); });
    EXPECT_TRUE(verified.ok()) << verified.ToString();
  }

  TempDir dir_;
  FixedClock clock_;
  std::filesystem::path file_ = dir_.path() / "catalog.db";
  std::unique_ptr<SqliteCatalog> catalog_;
};

TEST_F(AuditWriterTest, ConcurrentRecordsAreWrittenExactlyOnceInAValidChain) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 300;
  AuditWriterOptions options;
  options.max_batch = 64;  // many batches, so batches and Records interleave
  options.interval = 1ms;
  AuditWriter writer(*catalog_, options);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&writer, t] {
      for (int n = 0; n < kPerThread; ++n) writer.Record(Decision(t, n));
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_OK(writer.Flush());
  EXPECT_EQ(writer.Written(), kThreads * kPerThread);

  std::vector<AuditEvent> events = AllAudit(*catalog_);
  ASSERT_EQ(events.size(), static_cast<size_t>(kThreads * kPerThread));
  std::set<std::string> request_ids;
  std::map<std::string, int> next_of_thread;  // actor -> the n expected next (order per thread)
  int64_t previous_seq = 0;
  for (const AuditEvent& event : events) {
    EXPECT_GT(event.seq, previous_seq);
    previous_seq = event.seq;
    EXPECT_TRUE(request_ids.insert(event.request_id).second) << "twice: " << event.request_id;
    int& next = next_of_thread[event.actor];
    EXPECT_EQ(event.reason, fmt::format("event {} of thread {}", next, event.actor.substr(6)));
    ++next;
  }
  EXPECT_EQ(request_ids.size(), static_cast<size_t>(kThreads * kPerThread));
  ExpectValidChain();
}

TEST_F(AuditWriterTest, EventsRecordedWhileAnotherConnectionHoldsTheWriteLockAreNotLost) {
  // A short busy timeout, so the writer's batches are refused while the lock is held and retried.
  SqliteCatalogOptions catalog_options;
  catalog_options.busy_timeout = 100ms;
  Open(catalog_options);
  std::atomic<int> refusals{0};
  AuditWriterOptions options;
  options.retry = 50ms;
  options.on_error = [&](const Status& status) {
    EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.ToString();
    ++refusals;
  };
  AuditWriter writer(*catalog_, options);

  auto start = std::chrono::steady_clock::now();
  WriteLock lock(file_);
  for (int n = 0; n < 100; ++n) writer.Record(Decision(0, n));
  Status early = writer.Flush(300ms);
  EXPECT_EQ(early.code(), StatusCode::kUnavailable) << early.ToString();
  EXPECT_EQ(writer.Written(), 0);
  std::this_thread::sleep_until(start + 1s);
  for (int n = 100; n < 150; ++n) writer.Record(Decision(0, n));
  lock.Release();

  ASSERT_OK(writer.Flush());
  EXPECT_GE(refusals.load(), 1);
  EXPECT_EQ(writer.Written(), 150);
  std::vector<AuditEvent> events = AllAudit(*catalog_);
  ASSERT_EQ(events.size(), 150u);
  for (int n = 0; n < 150; ++n) EXPECT_EQ(events[n].request_id, fmt::format("req-0-{}", n));
  ExpectValidChain();
}

TEST_F(AuditWriterTest, RecordWaitsWhileTheQueueIsFullAndDropsNothing) {
  SqliteCatalogOptions catalog_options;
  catalog_options.busy_timeout = 50ms;
  Open(catalog_options);
  AuditWriterOptions options;
  options.max_queue = 10;
  options.retry = 20ms;
  AuditWriter writer(*catalog_, options);
  WriteLock lock(file_);
  std::atomic<int> recorded{0};
  std::thread recorder([&] {
    for (int n = 0; n < 25; ++n) {
      writer.Record(Decision(1, n));
      ++recorded;
    }
  });
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (recorded.load() < 10 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(recorded.load(), 10);  // the 11th waits for room
  lock.Release();
  recorder.join();
  ASSERT_OK(writer.Flush());
  EXPECT_EQ(AllAudit(*catalog_).size(), 25u);
  ExpectValidChain();
}

TEST_F(AuditWriterTest, DestructorWritesEverythingQueued) {
  AuditWriterOptions options;
  options.interval = 1s;  // nothing is written on its own before the writer is destroyed
  {
    AuditWriter writer(*catalog_, options);
    for (int n = 0; n < 40; ++n) writer.Record(Decision(2, n));
    EXPECT_EQ(writer.Written(), 0);
  }
  std::vector<AuditEvent> events = AllAudit(*catalog_);
  ASSERT_EQ(events.size(), 40u);
  EXPECT_EQ(events.front().request_id, "req-2-0");
  EXPECT_EQ(events.back().request_id, "req-2-39");
  ExpectValidChain();
}

TEST_F(AuditWriterTest, AnEventTheCatalogCanNeverTakeIsReportedAndDoesNotStallTheOthers) {
  std::vector<std::string> errors;
  std::mutex errors_mutex;
  AuditWriterOptions options;
  options.interval = 1s;  // the three events go in one batch
  options.on_error = [&](const Status& status) {
    std::lock_guard<std::mutex> lock(errors_mutex);
    errors.push_back(status.message());
  };
  AuditWriter writer(*catalog_, options);
  writer.Record(Decision(3, 0));
  AuditEvent broken = Decision(3, 1);
  broken.actor.clear();  // a caller's bug
  writer.Record(broken);
  writer.Record(Decision(3, 2));
  ASSERT_OK(writer.Flush(10s));
  EXPECT_THAT(StoredRequestIds(), ::testing::ElementsAre("req-3-0", "req-3-2"));
  std::lock_guard<std::mutex> lock(errors_mutex);
  ASSERT_FALSE(errors.empty());
  EXPECT_THAT(errors.back(), ::testing::HasSubstr("needs an actor and an action"));
  ExpectValidChain();
}

// While a batch holding an invalid event is written one event at a time, the catalog can refuse an
// event for another reason (here: another connection holds the write lock): that event and the
// ones after it are kept and retried, not dropped with the invalid one.
TEST_F(AuditWriterTest, AnEventRefusedAsBusyWhileWritingOneAtATimeIsRetried) {
  SqliteCatalogOptions catalog_options;
  catalog_options.busy_timeout = 50ms;
  Open(catalog_options);
  std::optional<WriteLock> lock;  // used by the writer thread only (in on_error)
  std::vector<StatusCode> heard;
  std::mutex heard_mutex;
  AuditWriterOptions options;
  options.interval = 1s;  // the four events go in one batch
  options.retry = 20ms;
  options.on_error = [&](const Status& status) {
    {
      std::lock_guard<std::mutex> guard(heard_mutex);
      heard.push_back(status.code());
    }
    if (status.code() == StatusCode::kInvalidArgument) lock.emplace(file_);  // the next event finds it locked
    if (status.code() == StatusCode::kUnavailable) lock.reset();
  };
  AuditWriter writer(*catalog_, options);
  writer.Record(Decision(4, 0));
  AuditEvent broken = Decision(4, 1);
  broken.action.clear();  // a caller's bug
  writer.Record(broken);
  writer.Record(Decision(4, 2));
  writer.Record(Decision(4, 3));
  ASSERT_OK(writer.Flush(10s));
  EXPECT_THAT(StoredRequestIds(), ::testing::ElementsAre("req-4-0", "req-4-2", "req-4-3"));
  std::lock_guard<std::mutex> guard(heard_mutex);
  EXPECT_THAT(heard, ::testing::ElementsAre(StatusCode::kInvalidArgument, StatusCode::kUnavailable));
  ExpectValidChain();
}

// Record wakes the writer when a batch's worth is queued; it does not sit out the interval.
TEST_F(AuditWriterTest, AFullBatchIsWrittenWithoutWaitingForTheInterval) {
  AuditWriterOptions options;
  options.max_batch = 10;
  options.interval = 30s;
  AuditWriter writer(*catalog_, options);
  writer.Record(Decision(5, 0));
  std::this_thread::sleep_for(100ms);  // the writer is gathering a batch now
  for (int n = 1; n < 10; ++n) writer.Record(Decision(5, n));
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (writer.Written() < 10 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(writer.Written(), 10);
  writer.Record(Decision(5, 10));  // the start of the next batch waits for the interval or a Flush
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(writer.Written(), 10);
  ASSERT_OK(writer.Flush(10s));
  EXPECT_EQ(AllAudit(*catalog_).size(), 11u);
  ExpectValidChain();
}

TEST_F(AuditWriterTest, ABatchSizeOfZeroWritesOneEventPerBatch) {
  AuditWriterOptions options;
  options.max_batch = 0;
  AuditWriter writer(*catalog_, options);
  for (int n = 0; n < 3; ++n) writer.Record(Decision(6, n));
  ASSERT_OK(writer.Flush(10s));
  EXPECT_EQ(AllAudit(*catalog_).size(), 3u);
}

TEST_F(AuditWriterTest, EventsKeepTheirFieldsAndGetTheCatalogsTime) {
  {
    AuditWriter writer(*catalog_);
    writer.Record(Decision(3, 0));
    ASSERT_OK(writer.Flush());
  }
  std::vector<AuditEvent> events = AllAudit(*catalog_);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].actor, "user:t3");
  EXPECT_EQ(events[0].action, "access.read");
  EXPECT_EQ(events[0].target, "dataset:orders");
  EXPECT_EQ(events[0].decision, "allow");
  EXPECT_EQ(events[0].reason, "event 0 of thread 3");
  EXPECT_EQ(events[0].request_id, "req-3-0");
  EXPECT_EQ(events[0].at, clock_.NowText());
}

}  // namespace
}  // namespace edl
