#include "http/render_memo.h"

#include <array>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "core/serialize.h"

namespace edl::http {
namespace {

using nlohmann::json;

constexpr size_t kShards = 16;
constexpr std::array<std::string_view, 4> kAccessLevels = {"none", "read", "write", "admin"};

// Which of an entry's texts `access` is; none for an access the routes never pass (rendered, not kept).
std::optional<size_t> Slot(std::string_view access) {
  for (size_t i = 0; i < kAccessLevels.size(); ++i) {
    if (kAccessLevels[i] == access) return i;
  }
  return std::nullopt;
}

// What a record's copy takes on the heap, near enough for a memory limit: its strings and the
// elements of its containers (a field added to DatasetSpec and not counted here only makes the
// estimate low, never the text wrong).
size_t HeapBytes(const std::string& text) {
  return text.size() > 15 ? text.capacity() + 1 : 0;
}
size_t HeapBytes(const std::vector<std::string>& texts) {
  size_t n = texts.capacity() * sizeof(std::string);
  for (const std::string& text : texts) n += HeapBytes(text);
  return n;
}
size_t HeapBytes(const std::optional<std::string>& text) {
  return text ? HeapBytes(*text) : 0;
}

size_t RecordBytes(const DatasetRecord& record) {
  const DatasetSpec& spec = record.spec;
  size_t n = sizeof(DatasetRecord) + HeapBytes(record.bucket) + HeapBytes(record.created_at) +
             HeapBytes(record.updated_at) + HeapBytes(spec.name) + HeapBytes(spec.region) +
             HeapBytes(spec.description) + HeapBytes(spec.owners);
  n += HeapBytes(spec.policy.classification) + HeapBytes(spec.policy.allowed_purposes) +
       HeapBytes(spec.policy.legal_basis);
  n += HeapBytes(spec.updates.keys) + HeapBytes(spec.updates.op_column) + HeapBytes(spec.updates.order_by);
  const FormatOptions& format = spec.format;
  n += HeapBytes(format.type) + HeapBytes(format.delimiter) + HeapBytes(format.quote) + HeapBytes(format.escape) +
       HeapBytes(format.null_strings) + HeapBytes(format.date_format) + HeapBytes(format.timestamp_format);
  for (const auto& [column, type] : format.column_types) n += 64 + HeapBytes(column) + HeapBytes(type);  // tree node
  n += spec.qc.capacity() * sizeof(QcCheck);
  for (const QcCheck& check : spec.qc) {
    n += HeapBytes(check.check) + HeapBytes(check.columns) + HeapBytes(check.values) + HeapBytes(check.pattern) +
         HeapBytes(check.sql);
  }
  n += spec.grants.capacity() * sizeof(DeclaredGrant);
  for (const DeclaredGrant& grant : spec.grants) {
    n += HeapBytes(grant.principal.name) + HeapBytes(grant.justification) + HeapBytes(grant.until);
  }
  n += spec.triggers.capacity() * sizeof(Trigger);
  for (const Trigger& trigger : spec.triggers) n += HeapBytes(trigger.pipeline);
  return n;
}

}  // namespace

json DatasetJson(const DatasetSummary& summary, std::string_view access) {
  json out = ToJson(summary.record);
  if (access == "none") {
    json limited;
    for (const char* key : {"name", "tier", "region", "description", "owners", "policy", "created_at", "updated_at"}) {
      if (out.contains(key)) limited[key] = out[key];
    }
    out = std::move(limited);
  } else {
    out["updates_count"] = summary.updates;
  }
  out["access"] = access;
  return out;
}

struct DatasetTextMemo::Entry {
  DatasetRecord record;  // the inputs the texts were printed from
  int64_t updates = 0;
  std::array<std::string, kAccessLevels.size()> texts;  // by Slot; empty until printed (a text never is)
  size_t bytes = 0;                                     // as the limits count them

  bool From(const DatasetSummary& summary) const { return updates == summary.updates && record == summary.record; }
};

struct DatasetTextMemo::Shard {
  mutable std::shared_mutex mutex;
  std::unordered_map<std::string, Entry> entries;  // by dataset name; guarded by mutex
  size_t bytes = 0;                                // sum of entries' bytes; guarded by mutex
};

DatasetTextMemo::DatasetTextMemo() : DatasetTextMemo(Limits{}) {}

DatasetTextMemo::DatasetTextMemo(Limits limits)
    : per_shard_{limits.max_entries / kShards, limits.max_bytes / kShards},
      shards_(std::make_unique<Shard[]>(kShards)) {}

DatasetTextMemo::~DatasetTextMemo() = default;

void DatasetTextMemo::AppendText(const DatasetSummary& summary, std::string_view access, std::string& out) {
  std::optional<size_t> slot = Slot(access);
  if (!slot) {
    out += DatasetJson(summary, access).dump();
    return;
  }
  const std::string& name = summary.record.spec.name;
  Shard& shard = shards_[std::hash<std::string>{}(name) % kShards];
  {
    std::shared_lock lock(shard.mutex);
    auto it = shard.entries.find(name);
    if (it != shard.entries.end() && it->second.From(summary) && !it->second.texts[*slot].empty()) {
      out += it->second.texts[*slot];
      return;
    }
  }
  // Printed outside the lock: concurrent misses may print the same text twice, never wait on each other.
  std::string text = DatasetJson(summary, access).dump();
  out += text;
  Remember(shard, summary, *slot, std::move(text));
}

void DatasetTextMemo::Remember(Shard& shard, const DatasetSummary& summary, size_t slot, std::string text) {
  const std::string& name = summary.record.spec.name;
  std::unique_lock lock(shard.mutex);
  auto it = shard.entries.find(name);
  if (it != shard.entries.end() && !it->second.From(summary)) {
    // Printed from other inputs: older ones, or (a request that read the catalog earlier) newer.
    // Either way the last one seen is the likelier next.
    shard.bytes -= it->second.bytes;
    shard.entries.erase(it);
    it = shard.entries.end();
  }
  if (it != shard.entries.end() && !it->second.texts[slot].empty()) return;  // a concurrent miss was first
  const size_t entry_bytes = sizeof(Entry) + HeapBytes(name) + RecordBytes(summary.record);
  const size_t text_bytes = text.capacity() + 1;
  const bool new_entry = it == shard.entries.end();
  size_t added = text_bytes + (new_entry ? entry_bytes : 0);
  if ((new_entry && shard.entries.size() + 1 > per_shard_.max_entries) || shard.bytes + added > per_shard_.max_bytes) {
    shard.entries.clear();
    shard.bytes = 0;
    it = shard.entries.end();
    added = text_bytes + entry_bytes;
    if (per_shard_.max_entries == 0 || added > per_shard_.max_bytes) return;  // never fits: not kept
  }
  if (it == shard.entries.end()) {
    it = shard.entries.emplace(name, Entry{summary.record, summary.updates, {}, entry_bytes}).first;
  }
  it->second.texts[slot] = std::move(text);
  it->second.bytes += text_bytes;
  shard.bytes += added;
}

size_t DatasetTextMemo::Entries() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::shared_lock lock(shards_[i].mutex);
    n += shards_[i].entries.size();
  }
  return n;
}

size_t DatasetTextMemo::Bytes() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::shared_lock lock(shards_[i].mutex);
    n += shards_[i].bytes;
  }
  return n;
}

std::string DatasetPageText(DatasetTextMemo& memo, const std::vector<DatasetSummary>& datasets,
                            const std::function<std::string_view(const DatasetRecord&)>& access_of,
                            const std::optional<std::string>& next_page_token) {
  // nlohmann prints an object's keys in order, without spaces: "datasets" < "next_page_token".
  std::string out = "{\"datasets\":[";
  for (size_t i = 0; i < datasets.size(); ++i) {
    if (i > 0) out += ',';
    memo.AppendText(datasets[i], access_of(datasets[i].record), out);
  }
  out += "],\"next_page_token\":";
  out += next_page_token ? json(*next_page_token).dump() : "null";
  out += '}';
  return out;
}

}  // namespace edl::http
