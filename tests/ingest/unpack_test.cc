// Unpack against real archives written by python3's zipfile/tarfile/gzip/bz2/lzma, the zstd CLI and
// the zip CLI (encrypted entries), in a temp folder per test.
#include "ingest/unpack.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/status_testing.h"
#include "testing/subprocess.h"
#include "testing/temp_dir.h"

// Declares `lhs` from a Result, or fails the test. (Local: status_testing.h has only ASSERT_OK.)

namespace edl {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::RunCommand;
using testing::TempDir;

constexpr char kAbcSha256[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

class UnpackTest : public ::testing::Test {
 protected:
  // Runs a python3 program in the work folder `in/`; the program sees `import` lines for the
  // archive modules already done.
  void Python(const std::string& program) {
    std::string script =
        "import zipfile, tarfile, gzip, bz2, lzma, io, os\n"
        "def tar_add(t, name, data, **kw):\n"
        "    info = tarfile.TarInfo(name)\n"
        "    info.size = len(data)\n"
        "    for k, v in kw.items(): setattr(info, k, v)\n"
        "    t.addfile(info, io.BytesIO(data))\n" +
        program;
    testing::CommandResult result = RunCommand({"/usr/bin/python3", "-c", script}, {}, in_);
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }

  void Run(const std::vector<std::string>& argv) {
    testing::CommandResult result = RunCommand(argv, {}, in_);
    ASSERT_EQ(result.exit_code, 0) << argv[0] << ": " << result.err;
  }

  FetchedFile Fetched(const std::string& name) {
    FetchedFile file;
    file.name = name;
    file.path = in_ / name;
    file.size = fs::file_size(file.path);
    file.uri = file.path.string();
    return file;
  }

  Result<UnpackResult> UnpackNamed(const std::string& name, const UnpackLimits& limits = {}) {
    return Unpack(Fetched(name), out_, limits);
  }

  // Every path under out/, relative, sorted.
  std::vector<std::string> OutTree() const {
    std::vector<std::string> paths;
    for (const auto& entry : fs::recursive_directory_iterator(out_)) {
      paths.push_back(entry.path().lexically_relative(out_).generic_string());
    }
    std::sort(paths.begin(), paths.end());
    return paths;
  }

  static std::vector<std::string> Names(const UnpackResult& result) {
    std::vector<std::string> names;
    for (const UnpackedFile& file : result.files) names.push_back(file.name);
    std::sort(names.begin(), names.end());
    return names;
  }

  static const UnpackedFile& File(const UnpackResult& result, const std::string& name) {
    for (const UnpackedFile& file : result.files) {
      if (file.name == name) return file;
    }
    static UnpackedFile none;
    ADD_FAILURE() << "no unpacked file " << name;
    return none;
  }

  void ExpectRefused(const Result<UnpackResult>& result, const std::vector<std::string>& fragments) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().ToString();
    for (const std::string& fragment : fragments) {
      EXPECT_NE(result.status().message().find(fragment), std::string::npos)
          << "'" << fragment << "' not in: " << result.status().message();
    }
    EXPECT_TRUE(OutTree().empty()) << "left behind: " << ::testing::PrintToString(OutTree());
  }

  void SetUp() override {
    fs::create_directories(in_);
    fs::create_directories(out_);
  }

  TempDir temp_;
  fs::path in_ = temp_.path() / "in";
  fs::path out_ = temp_.path() / "out";
};

TEST_F(UnpackTest, PlainFileIsMovedUnderItsName) {
  temp_.WriteFile("in/orders.csv", "abc");
  FetchedFile file = Fetched("orders.csv");
  file.sha256 = kAbcSha256;
  ASSERT_OK_AND_ASSIGN(UnpackResult result, Unpack(file, out_, {}));
  ASSERT_EQ(result.files.size(), 1u);
  EXPECT_EQ(result.files[0].name, "orders.csv");
  EXPECT_EQ(result.files[0].path, out_ / "orders.csv");
  EXPECT_EQ(result.files[0].size, 3u);
  EXPECT_EQ(result.files[0].sha256, kAbcSha256);
  EXPECT_EQ(result.files[0].from_archive, "");
  EXPECT_EQ(ReadFile(out_ / "orders.csv"), "abc");
  EXPECT_FALSE(fs::exists(in_ / "orders.csv"));
}

TEST_F(UnpackTest, PlainFileInSubfolderKeepsItsRelativeName) {
  temp_.WriteFile("in/sub/a.csv", "abc");
  ASSERT_OK_AND_ASSIGN(UnpackResult result, UnpackNamed("sub/a.csv"));
  ASSERT_EQ(Names(result), std::vector<std::string>{"sub/a.csv"});
  EXPECT_EQ(ReadFile(out_ / "sub/a.csv"), "abc");
}

TEST_F(UnpackTest, EmptyFileIsPlain) {
  temp_.WriteFile("in/empty.csv", "");
  ASSERT_OK_AND_ASSIGN(UnpackResult result, UnpackNamed("empty.csv"));
  EXPECT_EQ(Names(result), std::vector<std::string>{"empty.csv"});
}

TEST_F(UnpackTest, ZipEntriesGoUnderTheArchiveStemWithSizeAndSha256) {
  Python(
      "with zipfile.ZipFile('data.zip', 'w', zipfile.ZIP_DEFLATED) as z:\n"
      "    z.writestr('a.csv', 'abc')\n"
      "    z.writestr('sub/', '')\n"
      "    z.writestr('sub/b.csv', 'x,y\\n1,2\\n')\n");
  ASSERT_OK_AND_ASSIGN(UnpackResult result, UnpackNamed("data.zip"));
  EXPECT_EQ(Names(result), (std::vector<std::string>{"data/a.csv", "data/sub/b.csv"}));
  const UnpackedFile& a = File(result, "data/a.csv");
  EXPECT_EQ(a.size, 3u);
  EXPECT_EQ(a.sha256, kAbcSha256);
  EXPECT_EQ(a.from_archive, "data.zip");
  EXPECT_EQ(a.path, out_ / "data/a.csv");
  EXPECT_EQ(ReadFile(out_ / "data/sub/b.csv"), "x,y\n1,2\n");
  EXPECT_TRUE(result.skipped.empty());
  // Only the unpacked files remain in out/: no staging leftovers.
  EXPECT_EQ(OutTree(), (std::vector<std::string>{"data", "data/a.csv", "data/sub", "data/sub/b.csv"}));
}

TEST_F(UnpackTest, Tar) {
  Python(
      "with tarfile.open('d.tar', 'w') as t:\n"
      "    tar_add(t, 'a.csv', b'abc')\n"
      "    tar_add(t, 'x/y.csv', b'1\\n')\n");
  ASSERT_OK_AND_ASSIGN(UnpackResult result, UnpackNamed("d.tar"));
  EXPECT_EQ(Names(result), (std::vector<std::string>{"d/a.csv", "d/x/y.csv"}));
  EXPECT_EQ(File(result, "d/a.csv").sha256, kAbcSha256);
}

TEST_F(UnpackTest, TarGz) {
  Python(
      "with tarfile.open('d.tar.gz', 'w:gz') as t:\n"
      "    tar_add(t, 'a.csv', b'abc')\n");
  ASSERT_OK_AND_ASSIGN(UnpackResult result, UnpackNamed("d.tar.gz"));
  EXPECT_EQ(Names(result), std::vector<std::string>{"d/a.csv"});
  EXPECT_EQ(ReadFile(out_ / "d/a.csv"), "abc");
}

TEST_F(UnpackTest, Tgz) {
  Python(
      "with tarfile.open('d.tgz', 'w:gz') as t:\n"
      "    tar_add(t, 'a.csv', b'abc')\n");
  ASSERT_OK_AND_ASSIGN(UnpackResult result, UnpackNamed("d.tgz"));
  EXPECT_EQ(Names(result), std::vector<std::string>{"d/a.csv"});
}

TEST_F(UnpackTest, TarXzAndTarBz2) {
  Python(
      "for mode, name in (('w:xz', 'x.tar.xz'), ('w:bz2', 'b.tar.bz2')):\n"
      "    with tarfile.open(name, mode) as t:\n"
      "        tar_add(t, 'a.csv', b'abc')\n");
  ASSERT_OK_AND_ASSIGN(UnpackResult xz, UnpackNamed("x.tar.xz"));
  EXPECT_EQ(Names(xz), std::vector<std::string>{"x/a.csv"});
  ASSERT_OK_AND_ASSIGN(UnpackResult bz2, UnpackNamed("b.tar.bz2"));
  EXPECT_EQ(Names(bz2), std::vector<std::string>{"b/a.csv"});
}

TEST_F(UnpackTest, TarZst) {
  Python(
      "with tarfile.open('z.tar', 'w') as t:\n"
      "    tar_add(t, 'a.csv', b'abc')\n");
  Run({"/usr/bin/zstd", "-q", "--rm", "z.tar", "-o", "z.tar.zst"});
  ASSERT_OK_AND_ASSIGN(UnpackResult result, UnpackNamed("z.tar.zst"));
  EXPECT_EQ(Names(result), std::vector<std::string>{"z/a.csv"});
}

TEST_F(UnpackTest, Gz) {
  Python("open('x.csv.gz', 'wb').write(gzip.compress(b'abc'))\n");
  ASSERT_OK_AND_ASSIGN(UnpackResult result, UnpackNamed("x.csv.gz"));
  ASSERT_EQ(Names(result), std::vector<std::string>{"x.csv"});
  EXPECT_EQ(result.files[0].sha256, kAbcSha256);
  EXPECT_EQ(result.files[0].size, 3u);
  EXPECT_EQ(result.files[0].from_archive, "x.csv.gz");
  EXPECT_EQ(ReadFile(out_ / "x.csv"), "abc");
}

TEST_F(UnpackTest, Bz2) {
  Python("open('x.csv.bz2', 'wb').write(bz2.compress(b'abc'))\n");
  ASSERT_OK_AND_ASSIGN(UnpackResult result, UnpackNamed("x.csv.bz2"));
  ASSERT_EQ(Names(result), std::vector<std::string>{"x.csv"});
  EXPECT_EQ(result.files[0].sha256, kAbcSha256);
}

TEST_F(UnpackTest, Xz) {
  Python("open('x.csv.xz', 'wb').write(lzma.compress(b'abc'))\n");
  ASSERT_OK_AND_ASSIGN(UnpackResult result, UnpackNamed("x.csv.xz"));
  ASSERT_EQ(Names(result), std::vector<std::string>{"x.csv"});
  EXPECT_EQ(ReadFile(out_ / "x.csv"), "abc");
}

TEST_F(UnpackTest, Zst) {
  temp_.WriteFile("in/x.csv", "abc");
  Run({"/usr/bin/zstd", "-q", "--rm", "x.csv", "-o", "x.csv.zst"});
  ASSERT_OK_AND_ASSIGN(UnpackResult result, UnpackNamed("x.csv.zst"));
  ASSERT_EQ(Names(result), std::vector<std::string>{"x.csv"});
  EXPECT_EQ(result.files[0].sha256, kAbcSha256);
}

TEST_F(UnpackTest, RecognisesArchivesByContentNotName) {
  Python(
      "with zipfile.ZipFile('download', 'w') as z:\n"
      "    z.writestr('a.csv', 'abc')\n"
      "open('blob.bin', 'wb').write(gzip.compress(b'abc'))\n"
      "open('fake.zip', 'w').write('id\\n1\\n')\n");
  ASSERT_OK_AND_ASSIGN(UnpackResult zip, UnpackNamed("download"));
  EXPECT_EQ(Names(zip), std::vector<std::string>{"download/a.csv"});
  ASSERT_OK_AND_ASSIGN(UnpackResult gz, UnpackNamed("blob.bin"));
  EXPECT_EQ(Names(gz), std::vector<std::string>{"blob.bin"});
  EXPECT_EQ(ReadFile(out_ / "blob.bin"), "abc");
  ASSERT_OK_AND_ASSIGN(UnpackResult plain, UnpackNamed("fake.zip"));
  EXPECT_EQ(Names(plain), std::vector<std::string>{"fake.zip"});
  EXPECT_EQ(plain.files[0].from_archive, "");
  EXPECT_EQ(ReadFile(out_ / "fake.zip"), "id\n1\n");
}

TEST_F(UnpackTest, ZerosAreDataNotAnEmptyTar) {
  // Zero blocks read as the end of an empty tar; their bytes must still arrive.
  Python(
      "open('zeros.bin', 'wb').write(bytes(20000))\n"
      "open('zeros.csv.gz', 'wb').write(gzip.compress(bytes(20000)))\n");
  ASSERT_OK_AND_ASSIGN(UnpackResult plain, UnpackNamed("zeros.bin"));
  EXPECT_EQ(Names(plain), std::vector<std::string>{"zeros.bin"});
  EXPECT_EQ(fs::file_size(out_ / "zeros.bin"), 20000u);
  ASSERT_OK_AND_ASSIGN(UnpackResult gz, UnpackNamed("zeros.csv.gz"));
  ASSERT_EQ(Names(gz), std::vector<std::string>{"zeros.csv"});
  EXPECT_EQ(gz.files[0].size, 20000u);
}

TEST_F(UnpackTest, NestedArchivesOneLevelDeepAreUnpacked) {
  Python(
      "inner = io.BytesIO()\n"
      "with zipfile.ZipFile(inner, 'w') as z:\n"
      "    z.writestr('a.csv', 'abc')\n"
      "with zipfile.ZipFile('outer.zip', 'w') as z:\n"
      "    z.writestr('inner.zip', inner.getvalue())\n"
      "    z.writestr('sub/c.csv.gz', gzip.compress(b'abc'))\n"
      "    z.writestr('top.csv', 'abc')\n");
  ASSERT_OK_AND_ASSIGN(UnpackResult result, UnpackNamed("outer.zip"));
  EXPECT_EQ(Names(result), (std::vector<std::string>{"outer/inner/a.csv", "outer/sub/c.csv", "outer/top.csv"}));
  for (const UnpackedFile& file : result.files) {
    EXPECT_EQ(file.sha256, kAbcSha256) << file.name;
    EXPECT_EQ(file.from_archive, "outer.zip");
  }
  // The inner archive itself is not kept.
  EXPECT_FALSE(fs::exists(out_ / "outer/inner.zip"));
}

TEST_F(UnpackTest, ArchivesTwoLevelsDeepStayFiles) {
  Python(
      "def zip_of(name, data):\n"
      "    b = io.BytesIO()\n"
      "    with zipfile.ZipFile(b, 'w') as z:\n"
      "        z.writestr(name, data)\n"
      "    return b.getvalue()\n"
      "deep = zip_of('x.csv', 'abc')\n"
      "mid = zip_of('deep.zip', deep)\n"
      "open('outer.zip', 'wb').write(zip_of('mid.zip', mid))\n"
      "open('deep.zip', 'wb').write(deep)\n");
  ASSERT_OK_AND_ASSIGN(UnpackResult result, UnpackNamed("outer.zip"));
  ASSERT_EQ(Names(result), std::vector<std::string>{"outer/mid/deep.zip"});
  EXPECT_EQ(ReadFile(out_ / "outer/mid/deep.zip"), ReadFile(in_ / "deep.zip"));
}

TEST_F(UnpackTest, CompressedArchiveInsideCompressionCountsAsOneLevel) {
  Python(
      "b = io.BytesIO()\n"
      "with zipfile.ZipFile(b, 'w') as z:\n"
      "    z.writestr('a.csv', 'abc')\n"
      "open('x.zip.gz', 'wb').write(gzip.compress(b.getvalue()))\n");
  ASSERT_OK_AND_ASSIGN(UnpackResult result, UnpackNamed("x.zip.gz"));
  EXPECT_EQ(Names(result), std::vector<std::string>{"x/a.csv"});
}

TEST_F(UnpackTest, RefusesZipSlipAndLeavesNothing) {
  Python(
      "with zipfile.ZipFile('data.zip', 'w') as z:\n"
      "    z.writestr('good.csv', 'abc')\n"
      "    z.writestr('../../etc/x', 'evil')\n");
  ExpectRefused(UnpackNamed("data.zip"), {"data.zip", "../../etc/x", ".."});
  EXPECT_FALSE(fs::exists(temp_.path() / "etc"));
}

TEST_F(UnpackTest, RefusesAbsoluteEntry) {
  Python(
      "with tarfile.open('t.tar', 'w') as t:\n"
      "    tar_add(t, 'ok.csv', b'abc')\n"
      "    tar_add(t, '/etc/x', b'evil')\n");
  ExpectRefused(UnpackNamed("t.tar"), {"t.tar", "/etc/x", "absolute"});
}

TEST_F(UnpackTest, RefusesTarWithSymlink) {
  Python(
      "with tarfile.open('t.tar', 'w') as t:\n"
      "    tar_add(t, 'ok.csv', b'abc')\n"
      "    tar_add(t, 'link', b'', type=tarfile.SYMTYPE, linkname='/etc/passwd')\n");
  ExpectRefused(UnpackNamed("t.tar"), {"t.tar", "'link'", "symlink"});
}

TEST_F(UnpackTest, RefusesZipWithSymlink) {
  Python(
      "with zipfile.ZipFile('data.zip', 'w') as z:\n"
      "    info = zipfile.ZipInfo('link')\n"
      "    info.create_system = 3\n"
      "    info.external_attr = (0o120777 << 16)\n"
      "    z.writestr(info, '/etc/passwd')\n");
  ExpectRefused(UnpackNamed("data.zip"), {"data.zip", "link", "symlink"});
}

TEST_F(UnpackTest, RefusesTarWithHardLink) {
  Python(
      "with tarfile.open('t.tar', 'w') as t:\n"
      "    tar_add(t, 'ok.csv', b'abc')\n"
      "    tar_add(t, 'hard', b'', type=tarfile.LNKTYPE, linkname='ok.csv')\n");
  ExpectRefused(UnpackNamed("t.tar"), {"t.tar", "'hard'", "hard link"});
}

TEST_F(UnpackTest, RefusesTarWithFifoOrDevice) {
  Python(
      "with tarfile.open('f.tar', 'w') as t:\n"
      "    tar_add(t, 'pipe', b'', type=tarfile.FIFOTYPE)\n"
      "with tarfile.open('d.tar', 'w') as t:\n"
      "    tar_add(t, 'null', b'', type=tarfile.CHRTYPE, devmajor=1, devminor=3)\n");
  ExpectRefused(UnpackNamed("f.tar"), {"f.tar", "pipe", "regular"});
  ExpectRefused(UnpackNamed("d.tar"), {"d.tar", "null", "regular"});
}

TEST_F(UnpackTest, RefusesZipBombByRatioWhileStreaming) {
  // 8 MB of zeros deflate to about 8 KB: a ratio near 1000.
  Python(
      "with zipfile.ZipFile('bomb.zip', 'w', zipfile.ZIP_DEFLATED) as z:\n"
      "    z.writestr('zeros.csv', bytes(8 << 20))\n");
  UnpackLimits limits;
  limits.max_ratio = 100;
  ExpectRefused(UnpackNamed("bomb.zip", limits), {"bomb.zip", "zeros.csv", "expands more than 100"});
}

TEST_F(UnpackTest, RefusesArchiveOverTotalBytes) {
  Python(
      "with zipfile.ZipFile('big.zip', 'w', zipfile.ZIP_DEFLATED) as z:\n"
      "    z.writestr('a.csv', 'abc')\n"
      "    z.writestr('b.csv', bytes(5000))\n");
  UnpackLimits limits;
  limits.max_total_bytes = 1000;
  ExpectRefused(UnpackNamed("big.zip", limits), {"big.zip", "b.csv", "more than 1000 bytes"});
}

TEST_F(UnpackTest, RefusesCompressedStreamOverTotalBytesWithoutDeclaredSize) {
  // A gzip stream declares no size up front: only counting while streaming catches it.
  Python("open('zeros.csv.gz', 'wb').write(gzip.compress(bytes(3 << 20)))\n");
  UnpackLimits limits;
  limits.max_total_bytes = 1 << 20;
  ExpectRefused(UnpackNamed("zeros.csv.gz", limits), {"zeros.csv.gz", "more than 1048576 bytes"});
}

TEST_F(UnpackTest, RefusesTooManyEntries) {
  Python(
      "with zipfile.ZipFile('many.zip', 'w') as z:\n"
      "    for i in range(20): z.writestr('f%02d.csv' % i, 'abc')\n");
  UnpackLimits limits;
  limits.max_entries = 10;
  ExpectRefused(UnpackNamed("many.zip", limits), {"many.zip", "more than 10 entries"});
  UnpackLimits enough;
  enough.max_entries = 20;
  ASSERT_OK_AND_ASSIGN(UnpackResult result, UnpackNamed("many.zip", enough));
  EXPECT_EQ(result.files.size(), 20u);
}

TEST_F(UnpackTest, RefusesEncryptedZip) {
  temp_.WriteFile("in/secret.csv", "abc");
  Run({"/usr/bin/zip", "-q", "-P", "secret", "enc.zip", "secret.csv"});
  ExpectRefused(UnpackNamed("enc.zip"), {"enc.zip", "secret.csv", "encrypted"});
}

TEST_F(UnpackTest, RefusesTruncatedGzip) {
  Python(
      "data = gzip.compress(os.urandom(200000))\n"
      "open('cut.csv.gz', 'wb').write(data[:len(data) // 2])\n");
  ExpectRefused(UnpackNamed("cut.csv.gz"), {"cut.csv.gz", "truncated or corrupt"});
}

TEST_F(UnpackTest, RefusesTruncatedTarGz) {
  Python(
      "with tarfile.open('t.tar.gz', 'w:gz') as t:\n"
      "    tar_add(t, 'a.csv', b'abc')\n"
      "    tar_add(t, 'b.csv', os.urandom(200000))\n"
      "data = open('t.tar.gz', 'rb').read()\n"
      "open('t.tar.gz', 'wb').write(data[:len(data) // 2])\n");
  ExpectRefused(UnpackNamed("t.tar.gz"), {"t.tar.gz", "truncated or corrupt"});
}

TEST_F(UnpackTest, SkipsAndListsJunk) {
  Python(
      "with zipfile.ZipFile('data.zip', 'w') as z:\n"
      "    z.writestr('a.csv', 'abc')\n"
      "    z.writestr('__MACOSX/._a.csv', 'resource fork')\n"
      "    z.writestr('.DS_Store', 'finder')\n"
      "    z.writestr('sub/Thumbs.db', 'thumbs')\n");
  ASSERT_OK_AND_ASSIGN(UnpackResult result, UnpackNamed("data.zip"));
  EXPECT_EQ(Names(result), std::vector<std::string>{"data/a.csv"});
  std::vector<std::string> skipped = result.skipped;
  std::sort(skipped.begin(), skipped.end());
  EXPECT_EQ(skipped,
            (std::vector<std::string>{"data.zip:.DS_Store", "data.zip:__MACOSX/._a.csv", "data.zip:sub/Thumbs.db"}));
  EXPECT_EQ(OutTree(), (std::vector<std::string>{"data", "data/a.csv"}));
}

TEST_F(UnpackTest, Sha256OfEveryUnpackedFileMatchesItsContent) {
  Python(
      "import hashlib, json\n"
      "files = {'r%d.bin' % i: os.urandom(1000 + i * 777) for i in range(5)}\n"
      "with tarfile.open('r.tar.xz', 'w:xz') as t:\n"
      "    for n, d in files.items(): tar_add(t, n, d)\n"
      "with open('sums.txt', 'w') as f:\n"
      "    for n, d in sorted(files.items()): f.write('r/%s %d %s\\n' % (n, len(d), hashlib.sha256(d).hexdigest()))\n");
  ASSERT_OK_AND_ASSIGN(UnpackResult result, UnpackNamed("r.tar.xz"));
  std::vector<UnpackedFile> files = result.files;
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::string sums;
  for (const UnpackedFile& file : files) {
    sums += file.name + " " + std::to_string(file.size) + " " + file.sha256 + "\n";
  }
  EXPECT_EQ(sums, ReadFile(in_ / "sums.txt"));
}

TEST_F(UnpackTest, RefusesNameTakenByAnotherFileAndKeepsIt) {
  temp_.WriteFile("out/data/a.csv", "mine");
  Python(
      "with zipfile.ZipFile('data.zip', 'w') as z:\n"
      "    z.writestr('0.csv', 'abc')\n"
      "    z.writestr('a.csv', 'abc')\n");
  Result<UnpackResult> result = UnpackNamed("data.zip");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().ToString();
  EXPECT_EQ(ReadFile(out_ / "data/a.csv"), "mine");
  EXPECT_EQ(OutTree(), (std::vector<std::string>{"data", "data/a.csv"}));
}

TEST_F(UnpackTest, RefusesDuplicateEntries) {
  Python(
      "with tarfile.open('t.tar', 'w') as t:\n"
      "    tar_add(t, 'a.csv', b'abc')\n"
      "    tar_add(t, './a.csv', b'xyz')\n");
  ExpectRefused(UnpackNamed("t.tar"), {"t.tar", "t/a.csv", "twice"});
}

}  // namespace
}  // namespace edl
