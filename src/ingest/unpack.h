// Unpacking fetched files (libarchive): zip, tar, tar.gz/tgz, gz, bz2, xz, zst, nested one level
// deep. Refuses entries that would escape the output folder (absolute paths, "..", symlinks, hard
// links), archives over the size or entry-count limits (zip bombs) and encrypted entries. OS junk
// (__MACOSX/, .DS_Store, Thumbs.db) is skipped and listed. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/status.h"
#include "ingest/source.h"

namespace edl {

struct UnpackLimits {
  uint64_t max_total_bytes = 64ULL << 30;  // unpacked bytes per fetched file
  uint64_t max_entries = 100000;           // entries per fetched file
  double max_ratio = 1000.0;               // unpacked / packed bytes, judged once over 1 MB is unpacked
};

struct UnpackedFile {
  std::string name;            // relative raw name: "orders.csv", or "<archive stem>/<entry path>"
  std::filesystem::path path;  // local file in out_dir
  uint64_t size = 0;
  std::string sha256;
  std::string from_archive;    // the fetched file it came from; empty when it was not an archive
};

struct UnpackResult {
  std::vector<UnpackedFile> files;
  std::vector<std::string> skipped;  // junk entries left out, e.g. "data.zip:__MACOSX/._a.csv"
};

// Places `file` (moved, not copied, when it is not an archive) or its unpacked entries under
// `out_dir`. Archives are recognised by content, not by name. Archives inside an archive are
// unpacked once more; deeper ones stay as files. InvalidArgument naming the archive and entry for
// every refusal; nothing is left in out_dir for a refused archive.
Result<UnpackResult> Unpack(const FetchedFile& file, const std::filesystem::path& out_dir, const UnpackLimits& limits);

}  // namespace edl
