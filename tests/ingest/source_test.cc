// Sources against real things: local files in a temp folder, a python HTTP server on a loopback
// port (tests/ingest/http_test_server.py), and a LocalObjectStore as the drop bucket.
#include "ingest/source.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "ingest/progress.h"
#include "ingest/source_internal.h"
#include "storage/fault_injecting_object_store.h"
#include "storage/local_object_store.h"
#include "testing/status_testing.h"
#include "testing/subprocess.h"
#include "testing/temp_dir.h"

extern char** environ;

// Declares `lhs` from a Result, or fails the test. (Local: status_testing.h has only ASSERT_OK.)

namespace edl {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;

constexpr char kAbcSha256[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kFileCsv[] = "id,name\n1,alice\n2,bob\n";  // what the test server's /file.csv returns
constexpr char kFileCsvSha256[] = "e0af2be21679d859fa60c48fb33da4de8f26582b08fddc711059172ef378af37";

class RecordingProgress final : public ProgressReporter {
 public:
  void Report(const ProgressEvent& event) override { events.push_back(event); }
  std::vector<ProgressEvent> events;
};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> Names(const std::vector<FetchedFile>& files) {
  std::vector<std::string> names;
  for (const FetchedFile& file : files) names.push_back(file.name);
  return names;
}

// ---------------------------------------------------------------------------------------------
// Local sources

class LocalSourceTest : public ::testing::Test {
 protected:
  Result<std::vector<FetchedFile>> FetchFrom(const std::string& uri, const FetchOptions& options = {}) {
    auto source = OpenSource(uri);
    if (!source.ok()) return source.status();
    return (*source)->Fetch(dest_, options, progress_);
  }

  void SetUp() override { fs::create_directories(dest_); }

  TempDir temp_;
  fs::path dest_ = temp_.path() / "dest";
  RecordingProgress progress_;
};

TEST_F(LocalSourceTest, CopiesOneFileWithSizeAndSha256) {
  fs::path file = temp_.WriteFile("src/orders.csv", "abc");
  ASSERT_OK_AND_ASSIGN(std::vector<FetchedFile> files, FetchFrom(file.string()));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].name, "orders.csv");
  EXPECT_EQ(files[0].path, dest_ / "orders.csv");
  EXPECT_EQ(files[0].size, 3u);
  EXPECT_EQ(files[0].sha256, kAbcSha256);
  EXPECT_EQ(files[0].uri, file.string());
  EXPECT_EQ(ReadFile(dest_ / "orders.csv"), "abc");
  EXPECT_EQ(ReadFile(file), "abc");  // a copy: the source stays
}

TEST_F(LocalSourceTest, CopiesFolderRecursivelyWithRelativeNames) {
  temp_.WriteFile("in/a/b.csv", "abc");
  temp_.WriteFile("in/c.csv", "c");
  temp_.WriteFile("in/a/deeper/d.json", "{}");
  for (const std::string& spec : {(temp_.path() / "in").string(), (temp_.path() / "in").string() + "/"}) {
    fs::remove_all(dest_);
    fs::create_directories(dest_);
    ASSERT_OK_AND_ASSIGN(std::vector<FetchedFile> files, FetchFrom(spec));
    EXPECT_EQ(Names(files), (std::vector<std::string>{"a/b.csv", "a/deeper/d.json", "c.csv"})) << spec;
    EXPECT_EQ(ReadFile(dest_ / "a/b.csv"), "abc");
    EXPECT_EQ(files[0].sha256, kAbcSha256);
    EXPECT_EQ(files[0].uri, (temp_.path() / "in/a/b.csv").string());
  }
}

TEST_F(LocalSourceTest, GlobMatchesFilesNamedRelativeToThePatternFolder) {
  temp_.WriteFile("dir/x.csv", "abc");
  temp_.WriteFile("dir/y.csv", "y");
  temp_.WriteFile("dir/z.txt", "z");
  ASSERT_OK_AND_ASSIGN(std::vector<FetchedFile> files, FetchFrom((temp_.path() / "dir/*.csv").string()));
  EXPECT_EQ(Names(files), (std::vector<std::string>{"x.csv", "y.csv"}));
  EXPECT_EQ(files[0].sha256, kAbcSha256);
  EXPECT_FALSE(fs::exists(dest_ / "z.txt"));
}

TEST_F(LocalSourceTest, GlobWithWildcardFolderKeepsDistinctNames) {
  temp_.WriteFile("in/a/x.csv", "a");
  temp_.WriteFile("in/b/x.csv", "b");
  ASSERT_OK_AND_ASSIGN(std::vector<FetchedFile> files, FetchFrom((temp_.path() / "in/*/x.csv").string()));
  EXPECT_EQ(Names(files), (std::vector<std::string>{"a/x.csv", "b/x.csv"}));
  EXPECT_EQ(ReadFile(dest_ / "b/x.csv"), "b");
}

TEST_F(LocalSourceTest, FileUrl) {
  fs::path file = temp_.WriteFile("src/a b.csv", "abc");
  ASSERT_OK_AND_ASSIGN(std::vector<FetchedFile> files,
                       FetchFrom("file://" + (temp_.path() / "src/a%20b.csv").string()));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].name, "a b.csv");
  EXPECT_EQ(files[0].sha256, kAbcSha256);
  ASSERT_OK_AND_ASSIGN(auto localhost, OpenSource("file://localhost" + file.string()));
  EXPECT_EQ(localhost->Describe(), file.string());
}

TEST_F(LocalSourceTest, FileUrlOfFolder) {
  temp_.WriteFile("in/a/b.csv", "abc");
  ASSERT_OK_AND_ASSIGN(std::vector<FetchedFile> files, FetchFrom("file://" + (temp_.path() / "in").string()));
  EXPECT_EQ(Names(files), std::vector<std::string>{"a/b.csv"});
}

TEST_F(LocalSourceTest, MissingPathIsNotFoundNamingIt) {
  std::string missing = (temp_.path() / "nope.csv").string();
  Result<std::vector<FetchedFile>> result = FetchFrom(missing);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(result.status().message(), missing)) << result.status().message();
}

TEST_F(LocalSourceTest, GlobWithoutMatchIsNotFound) {
  temp_.WriteFile("dir/x.txt", "x");
  std::string pattern = (temp_.path() / "dir/*.csv").string();
  Result<std::vector<FetchedFile>> result = FetchFrom(pattern);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(result.status().message(), pattern)) << result.status().message();
}

TEST_F(LocalSourceTest, EmptyFolderIsNotFound) {
  fs::create_directories(temp_.path() / "empty/sub");
  Result<std::vector<FetchedFile>> result = FetchFrom((temp_.path() / "empty").string());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound) << result.status().ToString();
}

TEST_F(LocalSourceTest, OverSizeLimitIsInvalidArgument) {
  temp_.WriteFile("in/a.csv", std::string(600, 'a'));
  temp_.WriteFile("in/b.csv", std::string(600, 'b'));
  FetchOptions options;
  options.max_bytes = 1000;
  Result<std::vector<FetchedFile>> result = FetchFrom((temp_.path() / "in").string(), options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(result.status().message(), "1000")) << result.status().message();
  options.max_bytes = 1200;
  EXPECT_TRUE(FetchFrom((temp_.path() / "in").string(), options).ok());
}

TEST_F(LocalSourceTest, FileGrowingWhileReadIsConflict) {
  // A writer thread appends to the file after the first block was read and before the next read;
  // the hook makes the interleaving certain.
  fs::path file = temp_.WriteFile("src/log.csv", std::string(64 * 1024, 'x'));
  std::promise<void> first_block_read;
  std::promise<void> appended;
  std::thread writer([&] {
    first_block_read.get_future().wait();
    std::ofstream out(file, std::ios::app | std::ios::binary);
    out << std::string(100, 'y');
    out.close();
    appended.set_value();
  });
  bool signalled = false;
  ingest_internal::LocalReadHooks hooks;
  hooks.buffer_size = 4096;
  hooks.after_read = [&](const fs::path&, uint64_t) {
    if (signalled) return;
    signalled = true;
    first_block_read.set_value();
    appended.get_future().wait();
  };
  auto source = ingest_internal::OpenLocalSource(file.string(), hooks);
  Result<std::vector<FetchedFile>> result = source->Fetch(dest_, {}, progress_);
  writer.join();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kConflict) << result.status().ToString();
  EXPECT_TRUE(Contains(result.status().message(), file.string())) << result.status().message();
}

TEST_F(LocalSourceTest, FileShrinkingWhileReadIsConflict) {
  fs::path file = temp_.WriteFile("src/data.csv", std::string(64 * 1024, 'x'));
  ingest_internal::LocalReadHooks hooks;
  hooks.buffer_size = 4096;
  hooks.after_read = [&](const fs::path& path, uint64_t bytes_read) {
    if (bytes_read == 4096) fs::resize_file(path, 1000);
  };
  auto source = ingest_internal::OpenLocalSource(file.string(), hooks);
  Result<std::vector<FetchedFile>> result = source->Fetch(dest_, {}, progress_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kConflict) << result.status().ToString();
  EXPECT_TRUE(Contains(result.status().message(), file.string()));
}

TEST_F(LocalSourceTest, SymlinkOutsideTheFolderIsRefused) {
  fs::path outside = temp_.WriteFile("secret.txt", "secret");
  temp_.WriteFile("in/a.csv", "abc");
  fs::create_symlink(outside, temp_.path() / "in/link.csv");
  Result<std::vector<FetchedFile>> result = FetchFrom((temp_.path() / "in").string());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(result.status().message(), "link.csv")) << result.status().message();
}

TEST_F(LocalSourceTest, SymlinkInsideTheFolderIsCopied) {
  temp_.WriteFile("in/a.csv", "abc");
  fs::create_symlink("a.csv", temp_.path() / "in/alias.csv");
  ASSERT_OK_AND_ASSIGN(std::vector<FetchedFile> files, FetchFrom((temp_.path() / "in").string()));
  EXPECT_EQ(Names(files), (std::vector<std::string>{"a.csv", "alias.csv"}));
  EXPECT_EQ(files[1].sha256, kAbcSha256);
}

TEST_F(LocalSourceTest, DanglingSymlinkIsNotFound) {
  temp_.WriteFile("in/a.csv", "abc");
  fs::create_symlink("gone.csv", temp_.path() / "in/dangling.csv");
  Result<std::vector<FetchedFile>> result = FetchFrom((temp_.path() / "in").string());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(result.status().message(), "dangling.csv"));
}

TEST_F(LocalSourceTest, UnreadableFileIsPermissionDenied) {
  fs::path file = temp_.WriteFile("src/locked.csv", "abc");
  fs::permissions(file, fs::perms::none);
  fs::permissions(temp_.path(), fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  fs::permissions(temp_.path() / "src", fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  // Root reads every file, so the fetch runs in a child process as the unprivileged user nobody.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) _exit(2);
    char dest[] = "/tmp/edl-source-test-XXXXXX";
    if (::mkdtemp(dest) == nullptr) _exit(3);
    RecordingProgress progress;
    auto source = OpenSource(file.string());
    if (!source.ok()) _exit(4);
    Result<std::vector<FetchedFile>> result = (*source)->Fetch(dest, {}, progress);
    fs::remove_all(dest);
    bool as_expected = !result.ok() && result.status().code() == StatusCode::kPermissionDenied &&
                       Contains(result.status().message(), file.string());
    _exit(as_expected ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: wrong error; 2: cannot become nobody; 3-4: set-up failed";
}

TEST_F(LocalSourceTest, FifoInFolderIsRefusedNotSkipped) {
  temp_.WriteFile("in/a.csv", "abc");
  ASSERT_EQ(::mkfifo((temp_.path() / "in/pipe").c_str(), 0600), 0);
  Result<std::vector<FetchedFile>> result = FetchFrom((temp_.path() / "in").string());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(result.status().message(), "pipe"));
}

TEST_F(LocalSourceTest, ReportsProgressPerMegabyteAndPerFileNotPerBlock) {
  const uint64_t size = 3 * 1024 * 1024 + 512 * 1024;
  temp_.WriteFile("in/big.csv", std::string(size, 'x'));
  temp_.WriteFile("in/small.csv", "abc");
  ingest_internal::LocalReadHooks hooks;
  hooks.buffer_size = 4096;
  auto source = ingest_internal::OpenLocalSource((temp_.path() / "in").string(), hooks);
  ASSERT_OK_AND_ASSIGN(std::vector<FetchedFile> files, source->Fetch(dest_, {}, progress_));
  // 3 megabyte marks + 2 file ends.
  ASSERT_EQ(progress_.events.size(), 5u);
  for (const ProgressEvent& event : progress_.events) {
    EXPECT_EQ(event.phase, IngestPhase::kFetch);
    EXPECT_EQ(event.files_total, 2);
    EXPECT_EQ(event.bytes_total, size + 3);
  }
  EXPECT_EQ(progress_.events.back().bytes_done, size + 3);
  EXPECT_EQ(progress_.events.back().files_done, 2);
}

TEST(OpenSource, RejectsUnsupportedSchemesNamingThem) {
  for (const std::string uri : {"s3://bucket/key.csv", "ftp://host/x.csv"}) {
    auto result = OpenSource(uri);
    ASSERT_FALSE(result.ok()) << uri;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(result.status().message(), uri.substr(0, uri.find(':')))) << result.status().message();
  }
  auto remote_file = OpenSource("file://otherhost/x.csv");
  ASSERT_FALSE(remote_file.ok());
  EXPECT_EQ(remote_file.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(OpenSource("").ok());
}

TEST(SourceProgress, IngestPhaseNames) {
  EXPECT_EQ(IngestPhaseName(IngestPhase::kFetch), "fetch");
  EXPECT_EQ(IngestPhaseName(IngestPhase::kUnpack), "unpack");
  EXPECT_EQ(IngestPhaseName(IngestPhase::kConvert), "convert");
  EXPECT_EQ(IngestPhaseName(IngestPhase::kQc), "qc");
  EXPECT_EQ(IngestPhaseName(IngestPhase::kCommit), "commit");
}

// ---------------------------------------------------------------------------------------------
// HTTP

// tests/ingest/http_test_server.py as a child process on a loopback port; killed at destruction.
class HttpTestServer {
 public:
  HttpTestServer() = default;
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;
  ~HttpTestServer() { Stop(); }

  // Returns the port, or 0 (with a test failure) when the server did not come up.
  int Start(const std::vector<std::string>& extra_args = {}) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return 0;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    std::string script = (testing::SourceDir() / "tests/ingest/http_test_server.py").string();
    std::vector<std::string> argv = {"/usr/bin/python3", "-u", script};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> args;
    for (std::string& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      pid_ = -1;
      ADD_FAILURE() << "cannot start " << script;
      return 0;
    }
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{fds[0], POLLIN, 0};
      if (::poll(&pfd, 1, 200) <= 0) continue;
      char buffer[64];
      ssize_t n = ::read(fds[0], buffer, sizeof buffer);
      if (n <= 0) break;
      line.append(buffer, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    port_ = std::atoi(line.c_str());
    if (port_ <= 0) ADD_FAILURE() << "the test HTTP server printed no port: '" << line << "'";
    return port_;
  }

  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

class HttpSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Loopback requests must not go to a proxy from the environment.
    ::setenv("no_proxy", "*", 1);
    ::setenv("NO_PROXY", "*", 1);
    ASSERT_GT(server_.Start(), 0);
    fs::create_directories(dest_);
    options_.max_attempts = 3;
    options_.retry_backoff = std::chrono::milliseconds(10);
    options_.connect_timeout = std::chrono::seconds(5);
    options_.idle_timeout = std::chrono::seconds(2);
  }

  std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(server_.port()) + path; }

  Result<std::vector<FetchedFile>> FetchFrom(const std::string& uri) {
    auto source = OpenSource(uri);
    if (!source.ok()) return source.status();
    return (*source)->Fetch(dest_, options_, progress_);
  }

  // How many requests the server has seen for `path`.
  int Hits(const std::string& path) {
    TempDir dir;
    auto source = OpenSource(Url("/hits?path=" + path));
    if (!source.ok()) return -1;
    NoProgress none;
    auto files = (*source)->Fetch(dir.path(), {}, none);
    if (!files.ok() || files->size() != 1) return -1;
    return std::atoi(ReadFile((*files)[0].path).c_str());
  }

  HttpTestServer server_;
  TempDir temp_;
  fs::path dest_ = temp_.path() / "dest";
  FetchOptions options_;
  RecordingProgress progress_;
};

TEST_F(HttpSourceTest, FetchesFileWithSizeAndSha256) {
  ASSERT_OK_AND_ASSIGN(std::vector<FetchedFile> files, FetchFrom(Url("/file.csv")));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].name, "file.csv");
  EXPECT_EQ(files[0].path, dest_ / "file.csv");
  EXPECT_EQ(ReadFile(files[0].path), kFileCsv);
  EXPECT_EQ(files[0].size, std::string(kFileCsv).size());
  EXPECT_EQ(files[0].sha256, kFileCsvSha256);
  EXPECT_EQ(files[0].uri, Url("/file.csv"));
  ASSERT_FALSE(progress_.events.empty());
  EXPECT_EQ(progress_.events.back().files_done, 1);
  EXPECT_EQ(progress_.events.back().bytes_done, files[0].size);
}

TEST_F(HttpSourceTest, FollowsRedirects) {
  ASSERT_OK_AND_ASSIGN(std::vector<FetchedFile> files, FetchFrom(Url("/redirect")));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].name, "redirect");  // named after the URL the user gave
  EXPECT_EQ(ReadFile(files[0].path), kFileCsv);
}

TEST_F(HttpSourceTest, TooManyRedirectsIsInvalidArgument) {
  Result<std::vector<FetchedFile>> result = FetchFrom(Url("/redirect-loop"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().ToString();
  EXPECT_TRUE(Contains(result.status().message(), "redirects"));
}

TEST_F(HttpSourceTest, NotFoundIsNotFoundWithoutRetry) {
  Result<std::vector<FetchedFile>> result = FetchFrom(Url("/missing"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound) << result.status().ToString();
  EXPECT_TRUE(Contains(result.status().message(), "404"));
  EXPECT_TRUE(Contains(result.status().message(), Url("/missing")));
  EXPECT_EQ(Hits("/missing"), 1);
}

TEST_F(HttpSourceTest, ForbiddenIsPermissionDeniedWithoutRetry) {
  Result<std::vector<FetchedFile>> result = FetchFrom(Url("/auth"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kPermissionDenied) << result.status().ToString();
  EXPECT_EQ(Hits("/auth"), 1);
}

TEST_F(HttpSourceTest, RetriesServerErrorsThenSucceeds) {
  ASSERT_OK_AND_ASSIGN(std::vector<FetchedFile> files, FetchFrom(Url("/flaky")));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(ReadFile(files[0].path), kFileCsv);
  EXPECT_EQ(files[0].size, std::string(kFileCsv).size());
  EXPECT_EQ(Hits("/flaky"), 3);
}

TEST_F(HttpSourceTest, AlwaysFailingServerIsUnavailableAfterMaxAttempts) {
  Result<std::vector<FetchedFile>> result = FetchFrom(Url("/always500"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable) << result.status().ToString();
  EXPECT_TRUE(Contains(result.status().message(), "3 attempts")) << result.status().message();
  EXPECT_TRUE(Contains(result.status().message(), "HTTP 500")) << result.status().message();
  EXPECT_EQ(Hits("/always500"), 3);
}

TEST_F(HttpSourceTest, IdleTimeoutIsUnavailableWithinBoundedTime) {
  options_.idle_timeout = std::chrono::seconds(1);
  options_.max_attempts = 2;
  auto start = std::chrono::steady_clock::now();
  Result<std::vector<FetchedFile>> result = FetchFrom(Url("/slow"));
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable) << result.status().ToString();
  EXPECT_TRUE(Contains(result.status().message(), "timed out")) << result.status().message();
  EXPECT_LT(elapsed, std::chrono::seconds(10));
  EXPECT_EQ(Hits("/slow"), 2);
}

TEST_F(HttpSourceTest, ConnectionRefusedIsUnavailable) {
  // A port that was free a moment ago.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  ::close(fd);
  options_.max_attempts = 2;
  Result<std::vector<FetchedFile>> result =
      FetchFrom("http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/file.csv");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable) << result.status().ToString();
  EXPECT_TRUE(Contains(result.status().message(), "2 attempts")) << result.status().message();
}

TEST_F(HttpSourceTest, OverLimitByContentLengthIsInvalidArgument) {
  options_.max_bytes = 100000;
  Result<std::vector<FetchedFile>> result = FetchFrom(Url("/big?bytes=200000"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().ToString();
  EXPECT_TRUE(Contains(result.status().message(), "100000"));
  EXPECT_EQ(Hits("/big"), 1);
}

TEST_F(HttpSourceTest, OverLimitWhileStreamingIsInvalidArgument) {
  // No Content-Length: only counting while streaming catches it.
  options_.max_bytes = 1000000;
  Result<std::vector<FetchedFile>> result = FetchFrom(Url("/big-stream?bytes=3000000"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().ToString();
  EXPECT_LE(fs::file_size(dest_ / "big-stream"), 1000000u);
  EXPECT_EQ(Hits("/big-stream"), 1);
}

TEST_F(HttpSourceTest, StreamsLargeBodyReportingProgressPerMegabyte) {
  const uint64_t size = 3 * 1024 * 1024 + 100;
  ASSERT_OK_AND_ASSIGN(std::vector<FetchedFile> files, FetchFrom(Url("/big?bytes=" + std::to_string(size))));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].name, "big");
  EXPECT_EQ(files[0].size, size);
  EXPECT_EQ(fs::file_size(files[0].path), size);
  ASSERT_EQ(progress_.events.size(), 4u);  // 3 megabyte marks + the end
  EXPECT_EQ(progress_.events.front().bytes_total, size);
  EXPECT_EQ(progress_.events.back().bytes_done, size);
  EXPECT_EQ(progress_.events.back().files_done, 1);
}

TEST_F(HttpSourceTest, DescribeStripsCredentialsAndQuery) {
  std::string with_secrets =
      "http://alice:s3cr3t-pass@127.0.0.1:" + std::to_string(server_.port()) + "/file.csv?token=t0k3n#frag";
  ASSERT_OK_AND_ASSIGN(auto source, OpenSource(with_secrets));
  EXPECT_EQ(source->Describe(), Url("/file.csv"));
  ASSERT_OK_AND_ASSIGN(std::vector<FetchedFile> files, source->Fetch(dest_, options_, progress_));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].name, "file.csv");
  EXPECT_EQ(files[0].uri, Url("/file.csv"));
  // Errors do not leak them either.
  fs::remove_all(dest_);
  fs::create_directories(dest_);
  std::string missing = "http://alice:s3cr3t-pass@127.0.0.1:" + std::to_string(server_.port()) + "/missing?token=t0k3n";
  Result<std::vector<FetchedFile>> result = FetchFrom(missing);
  ASSERT_FALSE(result.ok());
  EXPECT_FALSE(Contains(result.status().message(), "s3cr3t")) << result.status().message();
  EXPECT_FALSE(Contains(result.status().message(), "t0k3n")) << result.status().message();
  EXPECT_FALSE(Contains(result.status().message(), "alice")) << result.status().message();
}

TEST_F(HttpSourceTest, FileNameComesFromTheLastPathSegment) {
  struct Case {
    std::string path;
    std::string name;
  };
  for (const Case& c : std::vector<Case>{{"/file.csv?x=1", "file.csv"},
                                         {"/", "download"},
                                         {"/a/b/", "download"},
                                         {"/d/r%20a%2Fw%3F.csv", "r_a_w_.csv"},
                                         {"/d/..", "download"}}) {
    ASSERT_OK_AND_ASSIGN(auto source, OpenSource(Url(c.path)));
    TempDir dir;
    Result<std::vector<FetchedFile>> result = source->Fetch(dir.path(), options_, progress_);
    // The server answers 404 for most of these; the name shows in the file left behind.
    if (result.ok()) {
      EXPECT_EQ((*result)[0].name, c.name) << c.path;
    } else {
      EXPECT_TRUE(fs::exists(dir.path() / c.name)) << c.path << ": " << result.status().ToString();
    }
  }
}

TEST_F(HttpSourceTest, TlsCertificateIsVerified) {
  // A self-signed certificate: the fetch must fail, never silently accept it.
  testing::CommandResult made =
      testing::RunCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                           "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "cert.pem"},
                          {}, temp_.path());
  ASSERT_EQ(made.exit_code, 0) << made.err;
  HttpTestServer tls;
  int port = tls.Start({"--tls", (temp_.path() / "cert.pem").string(), (temp_.path() / "key.pem").string()});
  ASSERT_GT(port, 0);
  Result<std::vector<FetchedFile>> result = FetchFrom("https://127.0.0.1:" + std::to_string(port) + "/file.csv");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable) << result.status().ToString();
  EXPECT_TRUE(Contains(result.status().message(), "certificate")) << result.status().message();
}

TEST(HttpSource, MalformedUrlIsInvalidArgumentWithoutEchoingIt) {
  auto result = OpenSource("http://user:pw-secret@[bad/x.csv");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(Contains(result.status().message(), "pw-secret")) << result.status().message();
}

// ---------------------------------------------------------------------------------------------
// Drop bucket

constexpr char kDrop[] = "datalake-drop-dev01-internal-eu-west-1";

class DropBucketSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = LocalObjectStore::Create(temp_.path() / "store");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    ASSERT_OK(store_->CreateBucket(kDrop));
    fs::create_directories(dest_);
  }

  std::vector<std::string> Keys(const std::string& prefix) {
    ListOptions options;
    options.prefix = prefix;
    auto page = store_->List(kDrop, options);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> keys;
    if (page.ok()) {
      for (const ObjectInfo& object : page->objects) keys.push_back(object.key);
    }
    return keys;
  }

  TempDir temp_;
  std::unique_ptr<LocalObjectStore> store_;
  fs::path dest_ = temp_.path() / "dest";
  RecordingProgress progress_;
};

TEST_F(DropBucketSourceTest, FetchesDroppedFilesAndMovesThemToProcessedAfterCommit) {
  ASSERT_OK(store_->PutBytes(kDrop, "sales/a.csv", "abc"));
  ASSERT_OK(store_->PutBytes(kDrop, "sales/sub/b.csv", "b"));
  ASSERT_OK(store_->PutBytes(kDrop, "sales/processed/update-00000001/old.csv", "old"));
  ASSERT_OK(store_->PutBytes(kDrop, "other/c.csv", "c"));
  auto source = OpenDropBucketSource(*store_, kDrop, "sales");
  EXPECT_EQ(source->Describe(), std::string("drop://") + kDrop + "/sales/");
  ASSERT_OK_AND_ASSIGN(std::vector<FetchedFile> files, source->Fetch(dest_, {}, progress_));
  EXPECT_EQ(Names(files), (std::vector<std::string>{"a.csv", "sub/b.csv"}));
  EXPECT_EQ(files[0].sha256, kAbcSha256);
  EXPECT_EQ(files[0].size, 3u);
  EXPECT_EQ(files[0].uri, std::string("drop://") + kDrop + "/sales/a.csv");
  EXPECT_EQ(ReadFile(dest_ / "sub/b.csv"), "b");
  EXPECT_EQ(progress_.events.back().files_done, 2);
  // Nothing moves before the update is complete.
  EXPECT_EQ(Keys("sales/").size(), 3u);

  ASSERT_OK(source->AfterCommit(2));
  EXPECT_EQ(Keys("sales/"), (std::vector<std::string>{"sales/processed/update-00000001/old.csv",
                                                      "sales/processed/update-00000002/a.csv",
                                                      "sales/processed/update-00000002/sub/b.csv"}));
  EXPECT_EQ(store_->GetBytes(kDrop, "sales/processed/update-00000002/a.csv").value(), "abc");
  EXPECT_EQ(Keys("other/"), std::vector<std::string>{"other/c.csv"});
  // Called again (a retried commit step): nothing left to do, still fine.
  EXPECT_OK(source->AfterCommit(2));
}

TEST_F(DropBucketSourceTest, NothingDroppedIsNotFound) {
  ASSERT_OK(store_->PutBytes(kDrop, "sales/processed/update-00000001/old.csv", "old"));
  auto source = OpenDropBucketSource(*store_, kDrop, "sales");
  Result<std::vector<FetchedFile>> result = source->Fetch(dest_, {}, progress_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(result.status().message(), "sales/"));
}

TEST_F(DropBucketSourceTest, OverSizeLimitIsInvalidArgument) {
  ASSERT_OK(store_->PutBytes(kDrop, "sales/a.csv", std::string(2000, 'a')));
  auto source = OpenDropBucketSource(*store_, kDrop, "sales");
  FetchOptions options;
  options.max_bytes = 1000;
  Result<std::vector<FetchedFile>> result = source->Fetch(dest_, options, progress_);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(DropBucketSourceTest, FailedCopyToProcessedDeletesNothing) {
  testing::FaultInjectingObjectStore faulty(*store_);
  ASSERT_OK(store_->PutBytes(kDrop, "sales/a.csv", "abc"));
  ASSERT_OK(store_->PutBytes(kDrop, "sales/b.csv", "b"));
  auto source = OpenDropBucketSource(faulty, kDrop, "sales");
  ASSERT_OK_AND_ASSIGN(std::vector<FetchedFile> files, source->Fetch(dest_, {}, progress_));
  ASSERT_EQ(files.size(), 2u);
  faulty.FailNth(testing::StoreOperation::kCommit, 1, Unavailable("disk full"));
  Status status = source->AfterCommit(7);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.ToString();
  // a.csv's copy failed: the original stays. b.csv moved.
  EXPECT_EQ(Keys("sales/"), (std::vector<std::string>{"sales/a.csv", "sales/processed/update-00000007/b.csv"}));
  EXPECT_EQ(faulty.Calls(testing::StoreOperation::kDelete), 1);
  // A retry finishes the move.
  ASSERT_OK(source->AfterCommit(7));
  EXPECT_EQ(Keys("sales/"), (std::vector<std::string>{"sales/processed/update-00000007/a.csv",
                                                      "sales/processed/update-00000007/b.csv"}));
}

TEST_F(DropBucketSourceTest, FileReplacedAfterFetchStaysForTheNextIngest) {
  ASSERT_OK(store_->PutBytes(kDrop, "sales/a.csv", "abc"));
  auto source = OpenDropBucketSource(*store_, kDrop, "sales");
  ASSERT_OK_AND_ASSIGN(std::vector<FetchedFile> files, source->Fetch(dest_, {}, progress_));
  ASSERT_OK(store_->PutBytes(kDrop, "sales/a.csv", "newer"));
  Status status = source->AfterCommit(3);
  EXPECT_EQ(status.code(), StatusCode::kConflict) << status.ToString();
  EXPECT_EQ(Keys("sales/"), std::vector<std::string>{"sales/a.csv"});
  EXPECT_EQ(store_->GetBytes(kDrop, "sales/a.csv").value(), "newer");
}

}  // namespace
}  // namespace edl
