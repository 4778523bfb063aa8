// The server's life: SIGKILL in the middle of an ingest job and a restart, SIGTERM with a running
// job (finish within the grace, or release it), `edl worker` beside a server without workers, TLS,
// and curl as a real client.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/server_fixture.h"

namespace edl {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using nlohmann::json;
using testing::CommandResult;
using testing::Reply;
using testing::RunCommand;
using testing::ServerProcess;
using testing::ServerTest;

constexpr char kDataset[] = "name: sales-orders\ntier: restricted\nowners: [admin]\n";

// A CSV of `rows` lines, big enough that converting it takes a noticeable time.
std::string BigCsv(int rows) {
  std::string out = "order_id,customer,amount,note\n";
  out.reserve(static_cast<size_t>(rows) * 48);
  for (int i = 0; i < rows; ++i) {
    out += std::to_string(i) + ",customer-" + std::to_string(i % 977) + "," + std::to_string(i % 1000) +
           ".25,some words to make the row longer\n";
  }
  return out;
}

int64_t SubmitUpload(ServerTest& t, const std::string& content) {
  Reply created = t.Send("POST", "/v1/uploads", t.admin_token, "");
  std::string id = created.Json()["id"];
  Reply put = t.Send("PUT", "/v1/uploads/" + id + "/files/orders.csv", t.admin_token, content, "text/csv");
  EXPECT_EQ(put.status, 201) << put.body;
  Reply job = t.Send("POST", "/v1/datasets/sales-orders/ingest", t.admin_token,
                     json{{"sources", {"upload:" + id}}}.dump());
  EXPECT_EQ(job.status, 202) << job.body;
  return job.Json()["id"];
}

// Waits until the job is running with its update reserved.
json WaitUntilRunning(ServerTest& t, int64_t id) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  json job;
  while (std::chrono::steady_clock::now() < deadline) {
    job = t.Get("/v1/jobs/" + std::to_string(id), t.admin_token).Json();
    if (job.value("state", "") == "running" && !job["update"].is_null()) return job;
    if (job.value("state", "") == "succeeded") return job;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return job;
}

std::vector<json> Updates(ServerTest& t) {
  json list = t.Get("/v1/datasets/sales-orders/updates", t.admin_token).Json();
  return list["updates"].get<std::vector<json>>();
}

size_t CountComplete(const std::vector<json>& updates) {
  return static_cast<size_t>(std::count_if(updates.begin(), updates.end(),
                                           [](const json& u) { return u["state"] == "complete"; }));
}

TEST(ServerLifecycle, SigkillMidIngestThenRestartCompletesTheJobWithExactlyOneUpdate) {
  ServerTest t("jobs: {workers: 1, lease_seconds: 30}\n");
  t.DeployDataset(kDataset);
  t.StartServer();
  int64_t id = SubmitUpload(t, BigCsv(600000));
  json running = WaitUntilRunning(t, id);
  ASSERT_EQ(running["state"], "running") << "the job finished before it could be killed: " << running.dump();
  EXPECT_EQ(t.server->Signal(SIGKILL), 128 + SIGKILL);
  t.server.reset();

  // The restarted server sees the dead worker's pid, releases its job at once (no lease wait) and
  // runs it again; recovery failed the half-written update.
  auto restart = std::chrono::steady_clock::now();
  t.StartServer();
  json done = t.WaitForJob(id, t.admin_token, std::chrono::seconds(120));
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_LT(std::chrono::steady_clock::now() - restart, std::chrono::seconds(30));  // well under the lease
  EXPECT_EQ(done["attempts"], 2);
  EXPECT_EQ(done["result"]["rows"], 600000);
  std::vector<json> updates = Updates(t);
  EXPECT_EQ(CountComplete(updates), 1u);
  for (const json& u : updates) {
    if (u["number"] == done["update"]) {
      EXPECT_EQ(u["state"], "complete");
    } else {
      EXPECT_EQ(u["state"], "failed") << u.dump();
    }
  }
  t.StopServer();
}

TEST(ServerLifecycle, SigtermLetsARunningJobFinish) {
  ServerTest t("jobs: {workers: 1}\nserver: {shutdown_grace_seconds: 60}\n");
  t.DeployDataset(kDataset);
  t.StartServer();
  int64_t id = SubmitUpload(t, BigCsv(300000));
  json running = WaitUntilRunning(t, id);
  EXPECT_EQ(t.server->Signal(SIGTERM, std::chrono::seconds(90)), 0);
  t.server.reset();
  // Read the outcome through the catalog with the edl binary: the server is gone.
  CommandResult updates = t.Edl({"updates", "sales-orders", "-o", "json"});
  ASSERT_EQ(updates.exit_code, 0) << updates.err;
  json list = json::parse(updates.out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["state"], "complete");
  EXPECT_THAT(t.ServerLog(), HasSubstr("SIGTERM received"));
}

TEST(ServerLifecycle, SigtermWithNoGraceReleasesTheJobAndARestartRunsItOnce) {
  ServerTest t("jobs: {workers: 1}\nserver: {shutdown_grace_seconds: 0}\n");
  t.DeployDataset(kDataset);
  t.StartServer();
  int64_t id = SubmitUpload(t, BigCsv(600000));
  json running = WaitUntilRunning(t, id);
  ASSERT_EQ(running["state"], "running") << running.dump();
  EXPECT_EQ(t.server->Signal(SIGTERM), 0);
  t.server.reset();
  t.StartServer();
  json done = t.WaitForJob(id, t.admin_token, std::chrono::seconds(120));
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["attempts"], 1);  // a release is not a failed attempt
  EXPECT_EQ(CountComplete(Updates(t)), 1u);
  t.StopServer();
}

TEST(ServerLifecycle, EdlWorkerRunsJobsQueuedThroughAServerWithoutWorkers) {
  ServerTest t("jobs: {workers: 0}\n");
  t.DeployDataset(kDataset);
  t.StartServer();
  int64_t id = SubmitUpload(t, "order_id,amount\n1,2\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_EQ(t.Get("/v1/jobs/" + std::to_string(id), t.admin_token).Json()["state"], "queued");
  // Same instance, one worker.
  std::string text = testing::ReadFile(t.config);
  fs::path worker_config = t.dir.WriteFile("worker.yaml", text.substr(0, text.find("jobs:")) + "jobs: {workers: 1}\n");
  auto worker = ServerProcess::Start(worker_config, {"worker"}, t.dir.path() / "worker.log", /*wait_for_url=*/false);
  json done = t.WaitForJob(id, t.admin_token);
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(worker->Signal(SIGTERM), 0);
  t.StopServer();
}

// A job runs with its creator's rights as they are when it starts: a grant revoked while the job
// waited in the queue stops it.
TEST(ServerLifecycle, AQueuedJobWhoseCreatorLostWriteAccessFailsWhenItStarts) {
  ServerTest t("jobs: {workers: 0}\n");
  t.DeployDataset(kDataset);
  t.StartServer();
  Reply grant = t.Send("POST", "/v1/datasets/sales-orders/grants", t.admin_token,
                       json{{"principal", "user:alice"}, {"level", "write"}}.dump());
  ASSERT_EQ(grant.status, 201) << grant.body;
  Reply created = t.Send("POST", "/v1/uploads", t.alice_token, "");
  std::string upload = created.Json()["id"];
  ASSERT_EQ(t.Send("PUT", "/v1/uploads/" + upload + "/files/orders.csv", t.alice_token, "order_id\n1\n", "text/csv")
                .status,
            201);
  Reply job = t.Send("POST", "/v1/datasets/sales-orders/ingest", t.alice_token,
                     json{{"sources", {"upload:" + upload}}}.dump());
  ASSERT_EQ(job.status, 202) << job.body;
  int64_t id = job.Json()["id"];
  Reply revoked = t.Send("POST", "/v1/grants/" + std::to_string(grant.Json()["id"].get<int64_t>()) + "/revoke",
                         t.admin_token, json{{"reason", "left the team"}}.dump());
  ASSERT_EQ(revoked.status, 200) << revoked.body;

  std::string text = testing::ReadFile(t.config);
  fs::path worker_config = t.dir.WriteFile("worker.yaml", text.substr(0, text.find("jobs:")) + "jobs: {workers: 1}\n");
  auto worker = ServerProcess::Start(worker_config, {"worker"}, t.dir.path() / "worker.log", /*wait_for_url=*/false);
  json done = t.WaitForJob(id, t.alice_token);
  EXPECT_EQ(done["state"], "failed") << done.dump();
  EXPECT_THAT(done.value("error", ""), HasSubstr("the job may no longer run"));
  EXPECT_THAT(done.value("error", ""), HasSubstr("sales-orders:write"));
  EXPECT_TRUE(done["update"].is_null()) << done.dump();
  EXPECT_EQ(worker->Signal(SIGTERM), 0);
  EXPECT_TRUE(Updates(t).empty());
  json audit = t.Get("/v1/audit?action=ingest.run&decision=deny", t.admin_token).Json();
  ASSERT_EQ(audit["events"].size(), 1u) << audit.dump();
  EXPECT_EQ(audit["events"][0]["actor"], "user:alice");
  t.StopServer();
}

TEST(ServerLifecycle, ServesHttpsWithTheConfiguredCertificate) {
  testing::TempDir certs;
  CommandResult made = RunCommand(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
       (certs.path() / "key.pem").string(), "-out", (certs.path() / "cert.pem").string(), "-days", "2", "-subj",
       "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  ServerTest t("server: {tls_cert: " + (certs.path() / "cert.pem").string() +
               ", tls_key: " + (certs.path() / "key.pem").string() + "}\n");
  t.StartServer();
  ASSERT_EQ(t.server->url().rfind("https://", 0), 0u) << t.server->url();
  std::string url = t.server->url();
  CommandResult ok = RunCommand({"/usr/bin/curl", "-sS", "--cacert", (certs.path() / "cert.pem").string(),
                                 "-H", "Authorization: Bearer " + t.alice_token, url + "/v1/whoami"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(json::parse(ok.out)["user"], "alice");
  // Without trusting the certificate, curl refuses; plain HTTP gets no answer it understands.
  EXPECT_NE(RunCommand({"/usr/bin/curl", "-sS", url + "/healthz"}).exit_code, 0);
  std::string plain = "http://" + url.substr(std::string("https://").size()) + "/healthz";
  CommandResult http = RunCommand({"/usr/bin/curl", "-sS", "-m", "5", plain});
  EXPECT_THAT(http.out, Not(HasSubstr("\"ok\"")));
  t.StopServer();
}

TEST(ServerLifecycle, RefusesToStartWithAnUnusableCertificate) {
  ServerTest t("server: {tls_cert: /nonexistent/cert.pem, tls_key: /nonexistent/key.pem}\n");
  CommandResult r = t.Edl({"serve", "--http", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("/nonexistent/cert.pem"));
}

TEST(ServerLifecycle, CurlDrivesUploadIngestAndReads) {
  ServerTest t;
  t.DeployDataset(kDataset);
  t.StartServer();
  fs::path csv = t.dir.WriteFile("orders.csv", "order_id,amount\n1,10\n2,20\n");
  std::string auth = "Authorization: Bearer " + t.admin_token;
  auto curl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/curl", "-sS", "-H", auth});
    CommandResult r = RunCommand(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out.empty() ? "null" : r.out, nullptr, false);
  };
  std::string url = t.server->url();
  json upload = curl({"-X", "POST", url + "/v1/uploads"});
  std::string id = upload["id"];
  json file = curl({"-T", csv.string(), url + "/v1/uploads/" + id + "/files/orders.csv"});
  EXPECT_EQ(file["size"], 26);
  json job = curl({"-H", "Content-Type: application/json", "-d", R"({"sources":["upload:)" + id + R"("]})",
                   url + "/v1/datasets/sales-orders/ingest"});
  json done = t.WaitForJob(job["id"], t.admin_token);
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  json dataset = curl({url + "/v1/datasets/sales-orders"});
  EXPECT_EQ(dataset["updates_count"], 1);
  // curl's own error output for a refused request carries the JSON error.
  CommandResult missing = RunCommand({"/usr/bin/curl", "-sS", "-w", "%{http_code}", url + "/v1/datasets"});
  EXPECT_THAT(missing.out, HasSubstr("401"));
  EXPECT_THAT(missing.out, HasSubstr("\"unauthenticated\""));
  t.StopServer();
}

}  // namespace
}  // namespace edl
