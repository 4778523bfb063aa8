#include "http/read_cache.h"

#include <fmt/format.h>

namespace edl::http {

Result<DatasetSummary> DatasetSummaryCache::Get(Catalog& catalog, const std::string& name, int64_t data_epoch) {
  if (data_epoch != 0) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it != entries_.end() && it->second.data_epoch == data_epoch) return it->second.summary;
  }
  // Read after the epoch was: what is read is at least as new as the epoch it is filed under.
  ASSIGN_OR_RETURN(DatasetSummary summary, GetDatasetSummary(catalog, name));
  if (data_epoch != 0) {
    std::lock_guard lock(mutex_);
    if (entries_.size() >= max_entries_) entries_.clear();
    auto& entry = entries_[name];
    if (entry.data_epoch <= data_epoch) entry = Entry{data_epoch, summary};
  }
  return summary;
}

std::string ListingCache::Key(const DatasetQuery& query, const Identity& identity) {
  // Fields apart by a separator no name or search text holds; an owner filter marked so that none
  // and an empty one differ.
  std::string key = fmt::format("{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}", query.tier ? TierName(*query.tier) : "",
                                query.owner ? "=" + *query.owner : "", query.name_prefix, query.search,
                                query.after_name, query.limit);
  key += '\x1f';
  key += identity.user;
  key += identity.admin ? "\x1f" "admin" : "\x1f";
  for (const std::string& group : identity.groups) {
    key += '\x1f';
    key += group;
  }
  return key;
}

std::optional<ListingCache::Page> ListingCache::Find(const std::string& key, const Identity& identity,
                                                     const std::string& now) {
  if (identity.epoch == 0 || identity.data_epoch == 0) return std::nullopt;
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  const Entry& entry = it->second;
  if (entry.access_epoch != identity.epoch || entry.data_epoch != identity.data_epoch) return std::nullopt;
  if (!entry.valid_until.empty() && now >= entry.valid_until) return std::nullopt;
  return entry.page;
}

void ListingCache::Store(const std::string& key, const Identity& identity, std::string valid_until, Page page) {
  if (identity.epoch == 0 || identity.data_epoch == 0) return;
  size_t size = key.size() + page.body->size();
  if (size > max_bytes_ / 4) return;
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    bytes_ -= it->first.size() + it->second.page.body->size();
    entries_.erase(it);
  }
  if (entries_.size() >= max_entries_ || bytes_ + size > max_bytes_) {
    entries_.clear();
    bytes_ = 0;
  }
  bytes_ += size;
  entries_.emplace(key, Entry{identity.epoch, identity.data_epoch, std::move(valid_until), std::move(page)});
}

}  // namespace edl::http
