// Catalog::RecentEpochs: the catalog epochs from memory while they are young enough; Catalog::Write
// counts this process's commits for it.
#include <atomic>

#include "catalog/catalog.h"

namespace edl {
namespace {

// Writes committed by any Catalog in this process: a reading older than the last one is stale.
std::atomic<uint64_t> process_commits{0};

}  // namespace

Status Catalog::Write(const std::function<Status(CatalogTransaction&)>& fn) {
  Status status = WriteTransaction(fn);
  if (status.ok()) process_commits.fetch_add(1, std::memory_order_release);
  return status;
}

Result<CatalogEpochs> Catalog::RecentEpochs(std::chrono::microseconds max_age) {
  // Both taken before the read begins, so the reading is never credited with more than it saw.
  const auto now = std::chrono::steady_clock::now();
  const uint64_t commits = process_commits.load(std::memory_order_acquire);
  {
    std::lock_guard<std::mutex> lock(epochs_mu_);
    if (epochs_seen_.valid && epochs_seen_.commits == commits && now - epochs_seen_.read_at < max_age) {
      return epochs_seen_.epochs;
    }
  }
  CatalogEpochs epochs;
  RETURN_IF_ERROR(Read([&](CatalogTransaction& tx) -> Status {
    ASSIGN_OR_RETURN(epochs, tx.Epochs());
    return Status::Ok();
  }));
  std::lock_guard<std::mutex> lock(epochs_mu_);
  // Two threads may read at once; keep the reading that began last.
  if (!epochs_seen_.valid || now >= epochs_seen_.read_at) epochs_seen_ = {epochs, now, commits, true};
  return epochs;
}

}  // namespace edl
