// The dataset's drop bucket area: every object under "<dataset>/" except "<dataset>/processed/" is
// fetched; once the update is complete each is copied to "<dataset>/processed/update-NNNNNNNN/"
// and only then deleted, and only if it is still the version that was ingested.
#include <cstdio>
#include <utility>
#include <vector>

#include "ingest/source_internal.h"
#include "storage/object_store.h"

namespace edl {
namespace {

namespace fs = std::filesystem;
using ingest_internal::Fd;
using ingest_internal::FetchProgress;
using ingest_internal::Sha256;

constexpr size_t kCopyBufferBytes = 1 << 20;

class DropBucketSource final : public Source {
 public:
  DropBucketSource(ObjectStore& store, std::string bucket, std::string dataset)
      : store_(store), bucket_(std::move(bucket)), dataset_(std::move(dataset)), prefix_(dataset_ + "/") {}

  std::string Describe() const override { return "drop://" + bucket_ + "/" + prefix_; }

  Result<std::vector<FetchedFile>> Fetch(const fs::path& dest_dir, const FetchOptions& options,
                                         ProgressReporter& progress) override {
    fetched_.clear();
    ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, ListDropped());
    if (objects.empty()) return NotFound("no files in " + Describe());
    uint64_t listed = 0;
    for (const ObjectInfo& object : objects) listed += object.size;
    if (listed > options.max_bytes) {
      return InvalidArgument(Describe() + " holds " + std::to_string(listed) + " bytes, over the limit of " +
                             std::to_string(options.max_bytes));
    }
    FetchProgress fetch_progress(progress, static_cast<int64_t>(objects.size()), listed);
    std::vector<FetchedFile> files;
    std::vector<Fetched> fetched;
    std::vector<char> buffer(kCopyBufferBytes);
    uint64_t total = 0;
    for (const ObjectInfo& object : objects) {
      FetchedFile file;
      file.name = object.key.substr(prefix_.size());
      file.path = dest_dir / file.name;
      file.uri = "drop://" + bucket_ + "/" + object.key;
      ASSIGN_OR_RETURN(std::unique_ptr<ObjectReader> reader, store_.Get(bucket_, object.key));
      ASSIGN_OR_RETURN(int fd, ingest_internal::CreateExclusive(file.path));
      Fd out(fd);
      ASSIGN_OR_RETURN(Sha256 sha, Sha256::Create());
      while (true) {
        ASSIGN_OR_RETURN(size_t n, reader->Read(buffer.data(), buffer.size()));
        if (n == 0) break;
        if (total + n > options.max_bytes) {
          return InvalidArgument(Describe() + " is over the limit of " + std::to_string(options.max_bytes) + " bytes");
        }
        total += n;
        file.size += n;
        RETURN_IF_ERROR(ingest_internal::WriteAll(out.get(), buffer.data(), n, file.path));
        sha.Update(buffer.data(), n);
        fetch_progress.AddBytes(n);
      }
      RETURN_IF_ERROR(out.Close(file.path));
      file.sha256 = sha.HexDigest();
      fetch_progress.FileDone();
      fetched.push_back({object.key, file.name, file.sha256});
      files.push_back(std::move(file));
    }
    fetched_ = std::move(fetched);
    return files;
  }

  // Moves every fetched object to processed/. An object replaced since it was fetched stays where
  // it is (its new version belongs to a later update); the first failure is returned after every
  // object was tried.
  Status AfterCommit(int64_t update_number) override {
    char folder[32];
    std::snprintf(folder, sizeof folder, "update-%08lld", static_cast<long long>(update_number));
    const std::string processed = prefix_ + "processed/" + folder + "/";
    Status first;
    int failed = 0;
    for (const Fetched& object : fetched_) {
      Status moved = Move(object, processed + object.name);
      if (!moved.ok()) {
        if (first.ok()) first = moved;
        ++failed;
      }
    }
    if (failed > 0) {
      return first.WithContext("moving " + std::to_string(failed) + " of " + std::to_string(fetched_.size()) +
                               " files to " + "drop://" + bucket_ + "/" + processed);
    }
    return Status::Ok();
  }

 private:
  struct Fetched {
    std::string key;
    std::string name;
    std::string sha256;
  };

  Result<std::vector<ObjectInfo>> ListDropped() {
    std::vector<ObjectInfo> objects;
    const std::string processed = prefix_ + "processed/";
    ListOptions list;
    list.prefix = prefix_;
    while (true) {
      ASSIGN_OR_RETURN(ListPage page, store_.List(bucket_, list));
      for (ObjectInfo& object : page.objects) {
        if (object.key.rfind(processed, 0) == 0) continue;
        objects.push_back(std::move(object));
      }
      if (page.next_token.empty()) break;
      list.continuation_token = page.next_token;
    }
    return objects;
  }

  Status Move(const Fetched& object, const std::string& target) {
    const std::string shown = "drop://" + bucket_ + "/" + object.key;
    const std::string replaced =
        shown + " was replaced after it was fetched; the new version stays for the next ingest";
    auto before = store_.Head(bucket_, object.key);
    if (!before.ok()) {
      // Moved already (AfterCommit called again)?
      if (before.status().code() == StatusCode::kNotFound && store_.Head(bucket_, target).ok()) return Status::Ok();
      return before.status().WithContext(shown);
    }
    ASSIGN_OR_RETURN(std::unique_ptr<ObjectReader> reader, store_.Get(bucket_, object.key));
    ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> writer, store_.Put(bucket_, target));
    ASSIGN_OR_RETURN(Sha256 sha, Sha256::Create());
    std::vector<char> buffer(kCopyBufferBytes);
    while (true) {
      ASSIGN_OR_RETURN(size_t n, reader->Read(buffer.data(), buffer.size()));
      if (n == 0) break;
      RETURN_IF_ERROR(writer->Write(std::string_view(buffer.data(), n)));
      sha.Update(buffer.data(), n);
    }
    // A different version is not committed: the writer is dropped and publishes nothing.
    if (sha.HexDigest() != object.sha256) return Conflict(replaced);
    RETURN_IF_ERROR(writer->Commit());
    // Only now that the copy is durable may the original go, and only if it is still the version
    // that was copied. (A replacement between this check and the delete is not detected: the
    // object store has no conditional delete.)
    ASSIGN_OR_RETURN(ObjectInfo now, store_.Head(bucket_, object.key));
    if (now.size != before->size || now.modified != before->modified) return Conflict(replaced);
    return store_.Delete(bucket_, object.key);
  }

  ObjectStore& store_;
  const std::string bucket_;
  const std::string dataset_;
  const std::string prefix_;
  std::vector<Fetched> fetched_;  // what the last Fetch read, for AfterCommit
};

}  // namespace

std::unique_ptr<Source> OpenDropBucketSource(ObjectStore& store, std::string drop_bucket, std::string dataset) {
  return std::make_unique<DropBucketSource>(store, std::move(drop_bucket), std::move(dataset));
}

}  // namespace edl
