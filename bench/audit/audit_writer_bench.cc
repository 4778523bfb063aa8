// Audit writer benchmark (not part of the test run): access decisions recorded through AuditWriter
// into a real SQLite catalog in a fresh temporary folder, wired as `edl serve` wires it (default
// AuditWriterOptions, default SqliteCatalogOptions, the system clock). Reports records/s and the
// process's CPU per record end to end: building the event as Authorizer::Authorize does, Record()
// on the recording threads, the writer thread's SHA-256 chain and SQLite inserts, the commits.
// The parts are measured alone too (one catalog batch, one chain hash), and the audit queries of
// GET /v1/audit over a filled log. Run: bench/audit/run, or build-*/bench/audit_writer_bench.
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "access/audit_writer.h"
#include "catalog/audit_chain.h"
#include "catalog/sqlite_catalog.h"
#include "core/clock.h"

namespace edl {
namespace {

double CpuSeconds(clockid_t clock) {
  timespec now{};
  clock_gettime(clock, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// A fresh folder under $TMPDIR (or /tmp), removed with the object.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = fmt::format("{}/edl-audit-bench-XXXXXX", tmp != nullptr ? tmp : "/tmp");
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::unique_ptr<SqliteCatalog> OpenCatalog(const ScratchDir& dir, const Clock& clock) {
  Result<std::unique_ptr<SqliteCatalog>> opened = SqliteCatalog::Open(dir.path() / "catalog.db", clock);
  if (!opened.ok()) {
    fmt::print(stderr, "cannot open the catalog: {}\n", opened.status().ToString());
    std::abort();
  }
  return std::move(opened).value();
}

// The decision of GET /v1/datasets/ds-NNNNN by an employee, with the fields Authorizer::Authorize
// fills in (their sizes are what the server's records have).
struct DecisionSource {
  std::string user = "reader";
  std::string reason = "the default role grant 1 to group:employees (internal-read)";
  std::string request_prefix = "5f1c2a9e";
};

AuditEvent MakeDecision(const DecisionSource& source, const Clock& clock, int64_t n, int64_t datasets = 10000) {
  AuditEvent event;
  event.at = FormatTimestamp(clock.Now());
  event.actor = "user:" + source.user;
  event.action = "access.read";
  event.target = fmt::format("dataset:ds-{:05d}", n % datasets);
  event.decision = "allow";
  event.reason = source.reason;
  event.request_id = fmt::format("{}-{:06x}", source.request_prefix, n);
  return event;
}

// End to end: `threads` request threads record `per_iteration` decisions in all, on `datasets`
// datasets in turn (1: the wrk benchmark's one URL; 10,000: decisions spread over a large lake),
// then Flush waits until the writer has committed them. Manual time is the wall time of that.
void BM_AuditWriterEndToEnd(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const int64_t per_iteration = state.range(1);
  const int64_t datasets = state.range(2);
  ScratchDir dir;
  SystemClock clock;
  std::unique_ptr<SqliteCatalog> catalog = OpenCatalog(dir, clock);
  std::atomic<int64_t> refusals{0};
  AuditWriterOptions options;
  options.on_error = [&](const Status&) { ++refusals; };
  AuditWriter writer(*catalog, options);
  DecisionSource source;
  double process_cpu = 0;
  double record_cpu = 0;  // the recording threads' own CPU: building events and Record()
  int64_t next = 0;
  for (auto _ : state) {
    auto wall_start = std::chrono::steady_clock::now();
    double cpu_start = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
    std::atomic<int64_t> claimed{next};
    std::vector<double> thread_cpu(static_cast<size_t>(threads), 0.0);
    std::vector<std::thread> workers;
    const int64_t end = next + per_iteration;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        double start = CpuSeconds(CLOCK_THREAD_CPUTIME_ID);
        constexpr int64_t kChunk = 256;
        while (true) {
          int64_t first = claimed.fetch_add(kChunk);
          if (first >= end) break;
          for (int64_t n = first; n < std::min(first + kChunk, end); ++n)
            writer.Record(MakeDecision(source, clock, n, datasets));
        }
        thread_cpu[static_cast<size_t>(t)] = CpuSeconds(CLOCK_THREAD_CPUTIME_ID) - start;
      });
    }
    for (std::thread& worker : workers) worker.join();
    Status flushed = writer.Flush(std::chrono::minutes(5));
    if (!flushed.ok()) state.SkipWithError(flushed.ToString().c_str());
    process_cpu += CpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
    for (double cpu : thread_cpu) record_cpu += cpu;
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count());
    next = end;
  }
  const double records = static_cast<double>(next);
  state.SetItemsProcessed(next);
  state.counters["cpu_us_per_record"] = process_cpu / records * 1e6;
  state.counters["record_cpu_us"] = record_cpu / records * 1e6;
  state.counters["writer_cpu_us"] = (process_cpu - record_cpu) / records * 1e6;
  state.counters["refused_batches"] = static_cast<double>(refusals.load());
  if (writer.Written() != next) state.SkipWithError("the writer did not write every record");
  Status verified = catalog->Read([](CatalogTransaction& tx) { return tx.VerifyAudit(); });
  if (!verified.ok()) state.SkipWithError(verified.ToString().c_str());
}
BENCHMARK(BM_AuditWriterEndToEnd)
    ->ArgNames({"threads", "records", "datasets"})
    ->Args({1, 100000, 1})
    ->Args({1, 100000, 10000})
    ->Args({4, 100000, 1})
    ->Args({4, 100000, 10000})
    ->Iterations(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// The catalog alone: one write transaction appending a batch of decisions (what the writer thread
// does per batch). CPU time is this thread's.
void BM_CatalogAppendBatch(benchmark::State& state) {
  const int64_t batch = state.range(0);
  ScratchDir dir;
  SystemClock clock;
  std::unique_ptr<SqliteCatalog> catalog = OpenCatalog(dir, clock);
  DecisionSource source;
  int64_t next = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<AuditEvent> events;
    events.reserve(static_cast<size_t>(batch));
    for (int64_t i = 0; i < batch; ++i) events.push_back(MakeDecision(source, clock, next + i));
    state.ResumeTiming();
    Status status = catalog->Write([&](CatalogTransaction& tx) { return tx.AppendAuditBatch(events).status(); });
    if (!status.ok()) state.SkipWithError(status.ToString().c_str());
    next += batch;
  }
  state.SetItemsProcessed(next);
}
BENCHMARK(BM_CatalogAppendBatch)->ArgNames({"batch"})->Arg(2000)->Unit(benchmark::kMicrosecond);

// The chain hash of one decision.
void BM_AuditHash(benchmark::State& state) {
  SystemClock clock;
  DecisionSource source;
  AuditEvent event = MakeDecision(source, clock, 1);
  event.seq = 123456789;
  std::string prev(kAuditGenesisHash);
  for (auto _ : state) {
    Result<std::string> hash = AuditHash(prev, event);
    benchmark::DoNotOptimize(hash);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuditHash);

// Record() alone on the calling thread, the writer draining in the background. Building the event
// is outside the timing; the CPU time is the recording thread's.
void BM_Record(benchmark::State& state) {
  ScratchDir dir;
  SystemClock clock;
  std::unique_ptr<SqliteCatalog> catalog = OpenCatalog(dir, clock);
  AuditWriter writer(*catalog);
  DecisionSource source;
  constexpr int64_t kBatch = 1000;
  std::vector<AuditEvent> events;
  int64_t next = 0;
  for (auto _ : state) {
    state.PauseTiming();
    events.clear();
    for (int64_t i = 0; i < kBatch; ++i) events.push_back(MakeDecision(source, clock, next + i));
    state.ResumeTiming();
    for (AuditEvent& event : events) writer.Record(std::move(event));
    next += kBatch;
  }
  state.SetItemsProcessed(next);
  Status flushed = writer.Flush(std::chrono::minutes(5));
  if (!flushed.ok()) state.SkipWithError(flushed.ToString().c_str());
}
BENCHMARK(BM_Record)->Unit(benchmark::kMicrosecond);

// GET /v1/audit's queries (limit 1000, the API's page) over a log of 200,000 records: decisions by
// 50 users on 100 datasets over about 22 hours, every 20th denied, every 50th a change (grant.add
// on a role). Filled once, when the first query benchmark runs.
class QueryLog {
 public:
  QueryLog() : catalog_(OpenCatalog(dir_, clock_)) {
    constexpr int64_t kRecords = 200000;
    constexpr int64_t kBatch = 5000;
    auto base = std::chrono::system_clock::now() - std::chrono::hours(24);
    for (int64_t first = 0; first < kRecords; first += kBatch) {
      Status status = catalog_->Write([&](CatalogTransaction& tx) -> Status {
        for (int64_t n = first; n < first + kBatch; ++n) {
          AuditEvent event;
          event.at = FormatTimestamp(base + std::chrono::milliseconds(n * 400));
          event.actor = fmt::format("user:u{:02d}", n % 50);
          if (n % 50 == 0) {
            event.action = "grant.add";
            event.target = fmt::format("role:ds-{:03d}:read", n % 100);
            event.details_json = R"({"principal":"user:u01"})";
          } else {
            event.action = "access.read";
            event.target = fmt::format("dataset:ds-{:03d}", n % 100);
            event.decision = n % 20 == 0 ? "deny" : "allow";
            event.reason = "the default role grant 1 to group:employees (internal-read)";
            event.request_id = fmt::format("5f1c2a9e-{:06x}", n);
          }
          RETURN_IF_ERROR(tx.AppendAudit(event).status());
        }
        return Status::Ok();
      });
      if (!status.ok()) {
        fmt::print(stderr, "cannot fill the audit log: {}\n", status.ToString());
        std::abort();
      }
    }
    hour_start_ = FormatTimestamp(base + std::chrono::hours(12));
    hour_end_ = FormatTimestamp(base + std::chrono::hours(13));
  }

  const std::string& hour_start() const { return hour_start_; }
  const std::string& hour_end() const { return hour_end_; }

  void Run(benchmark::State& state, const AuditQuery& query) {
    size_t rows = 0;
    for (auto _ : state) {
      Status status = catalog_->Read([&](CatalogTransaction& tx) -> Status {
        ASSIGN_OR_RETURN(std::vector<AuditEvent> events, tx.ListAudit(query));
        rows = events.size();
        return Status::Ok();
      });
      if (!status.ok()) state.SkipWithError(status.ToString().c_str());
    }
    state.counters["rows"] = static_cast<double>(rows);
  }

 private:
  ScratchDir dir_;
  SystemClock clock_;
  std::unique_ptr<SqliteCatalog> catalog_;
  std::string hour_start_;
  std::string hour_end_;
};

void RegisterQueryBenchmarks(std::unique_ptr<QueryLog>& log) {
  auto add = [&log](const char* name, std::function<AuditQuery(const QueryLog&)> make) {
    benchmark::RegisterBenchmark(name, [&log, make](benchmark::State& state) {
      if (log == nullptr) log = std::make_unique<QueryLog>();
      log->Run(state, make(*log));
    })->Unit(benchmark::kMicrosecond);
  };
  add("AuditQuery/all", [](const QueryLog&) { return AuditQuery{}; });
  add("AuditQuery/actor", [](const QueryLog&) {
    AuditQuery query;
    query.actor = "user:u07";
    return query;
  });
  add("AuditQuery/dataset", [](const QueryLog&) {
    AuditQuery query;
    query.dataset = "ds-042";
    return query;
  });
  add("AuditQuery/target", [](const QueryLog&) {
    AuditQuery query;
    query.target = "dataset:ds-042";
    return query;
  });
  add("AuditQuery/action_prefix", [](const QueryLog&) {
    AuditQuery query;
    query.action = "grant.";
    return query;
  });
  add("AuditQuery/denied_in_one_hour", [](const QueryLog& filled) {
    AuditQuery query;
    query.decision = "deny";
    query.since = filled.hour_start();
    query.until = filled.hour_end();
    return query;
  });
  // No record matches: the worst case, every candidate is read.
  add("AuditQuery/actor_dataset_denied_none", [](const QueryLog&) {
    AuditQuery query;
    query.actor = "user:u07";
    query.dataset = "ds-007";
    query.decision = "deny";
    return query;
  });
}

}  // namespace
}  // namespace edl

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::unique_ptr<edl::QueryLog> log;  // outlives the runs; its folder is removed at the end
  edl::RegisterQueryBenchmarks(log);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
