// Integration tests of `edl ingest`, `updates`, `update`, `recover`: the real binary, a real
// instance in a temporary folder, kill -9 in the middle of ingests, and a disk that fills up.
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/subprocess.h"
#include "testing/temp_dir.h"

namespace edl {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::CommandResult;
using testing::RunCommand;

std::string UpdateDigits(int64_t n) {
  std::string digits = std::to_string(n);
  return std::string(8 - digits.size(), '0') + digits;
}

class IngestCli : public ::testing::Test {
 protected:
  void SetUp() override { WriteConfig("./data", "sqlite:./data/catalog.db"); }

  void WriteConfig(const std::string& root, const std::string& catalog) {
    config_ = dir_.WriteFile("edl.yaml", "instance: dev01\nregions: [eu-west-1]\nengine: {memory_limit: 1GB, threads: 2}\n"
                                         "storage: {backend: local, root: " + root + "}\ncatalog: {url: '" + catalog + "'}\n");
  }
  void DeployDataset(const std::string& yaml) {
    ASSERT_EQ(Edl({"deploy"}).exit_code, 0);
    fs::path file = dir_.WriteFile("ds.yaml", yaml);
    CommandResult r = Edl({"deploy-dataset", file.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  CommandResult Edl(std::vector<std::string> args) {
    args.insert(args.begin(), {testing::EdlBinary(), "-c", config_.string()});
    return RunCommand(args);
  }
  nlohmann::json EdlJson(std::vector<std::string> args) {
    args.insert(args.end(), {"-o", "json"});
    CommandResult r = Edl(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out.empty() ? "null" : r.out);
  }
  // A CSV of about `rows` * 60 bytes.
  fs::path BigCsv(const std::string& name, int rows) {
    fs::path path = dir_.path() / name;
    std::ofstream out(path);
    out << "id,amount,day,label,note\n";
    for (int i = 0; i < rows; ++i) {
      out << i << ',' << (i % 1000) * 1.25 << ",2026-01-" << (1 + i % 28 < 10 ? "0" : "") << 1 + i % 28 << ",label-"
          << i % 97 << ",some text that makes the row longer " << i * 7 << "\n";
    }
    return path;
  }

  testing::TempDir dir_;
  fs::path config_;
};

TEST_F(IngestCli, IngestsListsAndShowsUpdates) {
  DeployDataset("name: orders\ntier: internal\nowners: [alice]\nqc: [{check: not_null, column: id}]\n");
  fs::path csv = dir_.WriteFile("orders.csv", "id,amount\n1,2.5\n2,3.5\n");
  CommandResult r = Edl({"ingest", "orders", csv.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Update 1 of orders is complete"));
  EXPECT_THAT(r.out, HasSubstr("2 rows"));
  EXPECT_THAT(r.out, HasSubstr("MB/s"));
  nlohmann::json second = EdlJson({"ingest", "orders", csv.string()});
  EXPECT_EQ(second["update"], 2);
  EXPECT_EQ(second["rows"], 2);

  nlohmann::json updates = EdlJson({"updates", "orders"});
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(updates[0]["state"], "complete");
  CommandResult table = Edl({"updates", "orders"});
  EXPECT_THAT(table.out, HasSubstr("complete"));

  CommandResult show = Edl({"update", "orders", "1"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("orders/data/update-00000001/orders.parquet"));
  EXPECT_THAT(show.out, HasSubstr("amount"));
  EXPECT_THAT(show.out, HasSubstr("pass not_null(id)"));
  nlohmann::json detail = EdlJson({"update", "orders", "1"});
  EXPECT_EQ(detail["files"].size(), 2u);
  EXPECT_EQ(Edl({"update", "orders", "9"}).exit_code, 4);
  EXPECT_EQ(Edl({"updates", "nope"}).exit_code, 4);
}

// Information flow (docs/security.md): files inside the lake's storage carry their bucket's tier and
// may not be ingested into a dataset of a lower tier, however they are named.
TEST_F(IngestCli, FilesOfAHigherTierBucketCannotBeIngestedIntoALowerTierDataset) {
  DeployDataset("name: patients\ntier: sensitive\nowners: [alice]\n");
  fs::path internal_file = dir_.WriteFile("public.yaml", "name: public-stats\ntier: internal\nowners: [alice]\n");
  ASSERT_EQ(Edl({"deploy-dataset", internal_file.string()}).exit_code, 0);
  fs::path csv = dir_.WriteFile("patients.csv", "id,diagnosis\n1,flu\n2,cold\n");
  ASSERT_EQ(Edl({"ingest", "patients", csv.string()}).exit_code, 0);

  fs::path sensitive_bucket = (dir_.path() / "data") / "datalake-dev01-sensitive-eu-west-1";
  ASSERT_TRUE(fs::is_directory(sensitive_bucket / "patients")) << sensitive_bucket;
  for (const std::string& source : {(sensitive_bucket / "patients").string(),
                                    (sensitive_bucket / "patients" / "data").string() + "/*",
                                    "file://" + (sensitive_bucket / "patients").string(),
                                    ((dir_.path() / "data") / "datalake-dev01-internal-eu-west-1" / ".." /
                                     "datalake-dev01-sensitive-eu-west-1" / "patients")
                                        .string()}) {
    CommandResult r = Edl({"ingest", "public-stats", source});
    EXPECT_NE(r.exit_code, 0) << source;
    EXPECT_THAT(r.err, HasSubstr("sensitive tier")) << source;
    EXPECT_THAT(r.err, HasSubstr("may not be written to dataset 'public-stats' (internal tier)")) << source;
  }
  // A symbolic link outside the lake pointing into the bucket is followed, and refused the same way.
  fs::create_directory_symlink(sensitive_bucket / "patients", dir_.path() / "innocent-looking");
  CommandResult linked = Edl({"ingest", "public-stats", (dir_.path() / "innocent-looking").string()});
  EXPECT_NE(linked.exit_code, 0);
  EXPECT_THAT(linked.err, HasSubstr("may not be written to dataset 'public-stats'"));
  // Nothing was reserved in the lower-tier dataset, and each refusal is in the audit log.
  EXPECT_TRUE(EdlJson({"updates", "public-stats"}).empty() || EdlJson({"updates", "public-stats"})["updates"].empty());
  CommandResult audit = Edl({"audit", "-o", "json"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  int refusals = 0;
  for (const auto& event : nlohmann::json::parse(audit.out)) {
    if (event.value("action", "") == "ingest.flow" && event.value("decision", "") == "deny") ++refusals;
  }
  EXPECT_EQ(refusals, 5);

  // Data may flow up: internal files into the sensitive dataset are fine.
  fs::path stats = dir_.WriteFile("stats.csv", "id,diagnosis\n3,none\n");
  ASSERT_EQ(Edl({"ingest", "public-stats", stats.string()}).exit_code, 0);
  CommandResult up = Edl({"ingest", "patients", ((dir_.path() / "data") / "datalake-dev01-internal-eu-west-1" /
                                                 "public-stats" / "data" / "update-00000001" / "stats.parquet")
                                                    .string()});
  EXPECT_EQ(up.exit_code, 0) << up.err;
  // Folders of the lake that are no bucket have no tier: refused.
  CommandResult work = Edl({"ingest", "patients", (dir_.path() / "data").string()});
  EXPECT_NE(work.exit_code, 0);
  EXPECT_THAT(work.err, HasSubstr("storage root"));
}

TEST_F(IngestCli, BadInputFailsTheUpdateAndKeepsTheDataset) {
  DeployDataset("name: orders\ntier: internal\nowners: [alice]\n");
  fs::path good = dir_.WriteFile("good.csv", "id,amount\n1,2\n");
  ASSERT_EQ(Edl({"ingest", "orders", good.string()}).exit_code, 0);
  fs::path empty = dir_.WriteFile("empty.csv", "");
  CommandResult r = Edl({"ingest", "orders", empty.string()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("update 2 of dataset 'orders' failed"));
  EXPECT_THAT(r.err, HasSubstr("empty.csv"));
  CommandResult missing = Edl({"ingest", "orders", (dir_.path() / "nope.csv").string()});
  EXPECT_EQ(missing.exit_code, 4);
  EXPECT_THAT(missing.err, HasSubstr("nope.csv"));
  nlohmann::json updates = EdlJson({"updates", "orders"});
  ASSERT_EQ(updates.size(), 3u);
  EXPECT_EQ(updates[0]["state"], "complete");
  EXPECT_EQ(updates[1]["state"], "failed");
  EXPECT_EQ(updates[2]["state"], "failed");
  EXPECT_EQ(Edl({"ingest", "orders", good.string(), "--kind", "sideways"}).exit_code, 2);
}

// The commit protocol under kill -9: whenever the ingest dies, no partial update is visible,
// recovery cleans up, and the next ingest gets the next number.
TEST_F(IngestCli, KillNineAtAnyPointLeavesNoPartialUpdate) {
  DeployDataset("name: big\ntier: internal\nowners: [alice]\n");
  fs::path csv = BigCsv("big.csv", 600000);
  int killed = 0;
  for (int delay_ms : {30, 120, 250, 450, 700, 1000, 1500}) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      freopen("/dev/null", "w", stdout);
      freopen("/dev/null", "w", stderr);
      std::string binary = testing::EdlBinary();
      execl(binary.c_str(), binary.c_str(), "-c", config_.c_str(), "ingest", "big", csv.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    if (kill(pid, SIGKILL) == 0) ++killed;
    int status = 0;
    waitpid(pid, &status, 0);

    // Whatever happened, every complete update is whole: its manifest lists files that exist.
    for (const auto& u : EdlJson({"updates", "big"})) {
      if (u["state"] != "complete") continue;
      nlohmann::json detail = EdlJson({"update", "big", std::to_string(u["number"].get<int64_t>())});
      ASSERT_FALSE(detail["files"].empty());
      for (const auto& f : detail["files"]) {
        fs::path file = dir_.path() / "data/datalake-dev01-internal-eu-west-1" / f["key"].get<std::string>();
        ASSERT_TRUE(fs::exists(file)) << file;
        EXPECT_EQ(fs::file_size(file), f["size"].get<uint64_t>()) << file;
      }
    }
    CommandResult recovered = Edl({"recover"});
    ASSERT_EQ(recovered.exit_code, 0) << recovered.err;
    for (const auto& u : EdlJson({"updates", "big"})) {
      EXPECT_NE(u["state"], "staging") << "after recover, update " << u["number"];
      if (u["state"] != "failed") continue;
      std::string folder = "update-" + UpdateDigits(u["number"].get<int64_t>());
      for (const char* area : {"raw", "data"}) {
        fs::path p = dir_.path() / "data/datalake-dev01-internal-eu-west-1/big" / area / folder;
        EXPECT_TRUE(!fs::exists(p) || fs::is_empty(p)) << p;
      }
    }
    fs::path work = dir_.path() / "data/.work";
    EXPECT_TRUE(!fs::exists(work) || fs::is_empty(work));
  }
  EXPECT_GE(killed, 3) << "the ingest finished too fast to be killed; make the input larger";
  nlohmann::json before = EdlJson({"updates", "big"});
  int64_t last = before.empty() ? 0 : before.back()["number"].get<int64_t>();
  fs::path small = dir_.WriteFile("small.csv", "id,amount,day,label,note\n1,2,2026-01-01,a,b\n");
  nlohmann::json next = EdlJson({"ingest", "big", small.string()});
  EXPECT_EQ(next["update"], last + 1);
  EXPECT_EQ(next["state"], "complete");
}

// The disk filling up while writing: a tiny tmpfs as the storage root (the catalog lives
// elsewhere). The update fails with a clear message, nothing is lost, and the next ingest works.
TEST_F(IngestCli, DiskFullFailsCleanly) {
  fs::path mount_point = dir_.path() / "small";
  fs::create_directories(mount_point);
  ASSERT_EQ(mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=6m"), 0) << "mounting a tmpfs needs root";
  struct Unmount {
    fs::path path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{mount_point};
  WriteConfig("./small/data", "sqlite:./catalog.db");
  DeployDataset("name: big\ntier: internal\nowners: [alice]\n");
  fs::path csv = BigCsv("big.csv", 150000);  // about 9 MB: more than the disk holds
  CommandResult r = Edl({"ingest", "big", csv.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("update 1 of dataset 'big' failed"));
  EXPECT_THAT(r.err, ::testing::AnyOf(HasSubstr("No space left on device"), HasSubstr("disk is full")));
  nlohmann::json updates = EdlJson({"updates", "big"});
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0]["state"], "failed");
  EXPECT_TRUE(fs::exists(csv));
  fs::path small = dir_.WriteFile("small.csv", "id,amount,day,label,note\n1,2,2026-01-01,a,b\n");
  CommandResult next = Edl({"ingest", "big", small.string()});
  EXPECT_EQ(next.exit_code, 0) << next.err;
  EXPECT_THAT(next.out, HasSubstr("Update 2 of big is complete"));
}

}  // namespace
}  // namespace edl
