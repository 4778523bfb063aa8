#include "core/config.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "core/clock.h"
#include "core/names.h"

namespace edl {
namespace {

// Where a value sits, for messages: "examples/x.yaml:12: policy.max_grant_days".
struct Location {
  std::string file;
  std::string path;  // dotted field path; empty at the top level

  Location Child(std::string_view key) const {
    return {file, path.empty() ? std::string(key) : path + "." + std::string(key)};
  }
  Location Index(size_t i) const { return {file, fmt::format("{}[{}]", path, i)}; }

  Status Error(const YAML::Node& node, std::string_view problem) const {
    std::string where = file;
    if (node.IsDefined() && node.Mark().line >= 0) where += fmt::format(":{}", node.Mark().line + 1);
    if (path.empty()) return InvalidArgument(fmt::format("{}: {}", where, problem));
    return InvalidArgument(fmt::format("{}: field '{}': {}", where, path, problem));
  }
};

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing (null)";
    case YAML::NodeType::Scalar: return fmt::format("'{}'", node.Scalar());
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    default: return "nothing";
  }
}

// A YAML mapping read field by field. Finish() rejects keys nobody asked for.
class Fields {
 public:
  Fields(const YAML::Node& node, Location where) : node_(node), where_(std::move(where)) {}

  static Result<Fields> Of(const YAML::Node& node, const Location& where) {
    if (!node.IsMap()) return where.Error(node, "expected a mapping of keys to values, got " + Describe(node));
    return Fields(node, where);
  }

  bool Has(const std::string& key) {
    known_.insert(key);
    return node_[key].IsDefined() && !node_[key].IsNull();
  }
  YAML::Node Node(const std::string& key) {
    known_.insert(key);
    return node_[key];
  }
  Location Where(std::string_view key) const { return where_.Child(key); }

  Status String(const std::string& key, std::string& out, bool required = false) {
    if (!Has(key)) return required ? Missing(key) : Status::Ok();
    YAML::Node value = node_[key];
    if (!value.IsScalar()) return Where(key).Error(value, "expected a text value, got " + Describe(value));
    out = value.Scalar();
    return Status::Ok();
  }
  Status OptionalString(const std::string& key, std::optional<std::string>& out) {
    if (!Has(key)) return Status::Ok();
    std::string value;
    RETURN_IF_ERROR(String(key, value));
    out = std::move(value);
    return Status::Ok();
  }
  Status Int(const std::string& key, std::optional<int64_t>& out, bool required = false) {
    if (!Has(key)) return required ? Missing(key) : Status::Ok();
    YAML::Node value = node_[key];
    int64_t parsed = 0;
    if (!value.IsScalar() || !YAML::convert<int64_t>::decode(value, parsed)) {
      return Where(key).Error(value, "expected a whole number, got " + Describe(value));
    }
    out = parsed;
    return Status::Ok();
  }
  // A whole number in [min, max] stored into `target` when the key is present.
  Status BoundedInt(const std::string& key, int64_t& target, int64_t min, int64_t max) {
    std::optional<int64_t> value;
    RETURN_IF_ERROR(Int(key, value));
    if (!value) return Status::Ok();
    if (*value < min || *value > max) {
      return Where(key).Error(Node(key), max == std::numeric_limits<int64_t>::max()
                                             ? fmt::format("must be at least {}", min)
                                             : fmt::format("must be between {} and {}", min, max));
    }
    target = *value;
    return Status::Ok();
  }
  // A size like "512MB" stored into `target` when the key is present.
  Status ByteSize(const std::string& key, int64_t& target) {
    std::string text;
    RETURN_IF_ERROR(String(key, text));
    if (text.empty()) return Status::Ok();
    auto bytes = ParseByteSize(text);
    if (!bytes.ok()) return Where(key).Error(Node(key), bytes.status().message());
    target = *bytes;
    return Status::Ok();
  }
  Status Double(const std::string& key, std::optional<double>& out) {
    if (!Has(key)) return Status::Ok();
    YAML::Node value = node_[key];
    double parsed = 0;
    if (!value.IsScalar() || !YAML::convert<double>::decode(value, parsed) || !std::isfinite(parsed)) {
      return Where(key).Error(value, "expected a number, got " + Describe(value));
    }
    out = parsed;
    return Status::Ok();
  }
  Status Bool(const std::string& key, bool& out) {
    if (!Has(key)) return Status::Ok();
    std::optional<bool> value;
    RETURN_IF_ERROR(OptionalBool(key, value));
    out = *value;
    return Status::Ok();
  }
  Status OptionalBool(const std::string& key, std::optional<bool>& out) {
    if (!Has(key)) return Status::Ok();
    YAML::Node value = node_[key];
    bool parsed = false;
    if (!value.IsScalar() || !YAML::convert<bool>::decode(value, parsed)) {
      return Where(key).Error(value, "expected true or false, got " + Describe(value));
    }
    out = parsed;
    return Status::Ok();
  }
  Status StringList(const std::string& key, std::vector<std::string>& out, bool required = false) {
    if (!Has(key)) return required ? Missing(key) : Status::Ok();
    YAML::Node value = node_[key];
    if (!value.IsSequence()) return Where(key).Error(value, "expected a list, got " + Describe(value));
    out.clear();
    for (size_t i = 0; i < value.size(); ++i) {
      if (!value[i].IsScalar()) {
        return Where(key).Index(i).Error(value[i], "expected a text value, got " + Describe(value[i]));
      }
      out.push_back(value[i].Scalar());
    }
    return Status::Ok();
  }
  Status Missing(const std::string& key) const {
    return where_.Child(key).Error(node_, "is required but missing");
  }

  // Every key present must have been asked for.
  Status Finish(std::string_view what) const {
    for (const auto& item : node_) {
      std::string key = item.first.Scalar();
      if (known_.count(key)) continue;
      std::string hint;
      size_t best = 3;
      for (const std::string& candidate : known_) {
        size_t distance = EditDistance(key, candidate);
        if (distance < best && distance <= std::max<size_t>(1, candidate.size() / 3)) {
          best = distance;
          hint = fmt::format(" (did you mean '{}'?)", candidate);
        }
      }
      std::string known;
      for (const std::string& candidate : known_) known += (known.empty() ? "" : ", ") + candidate;
      Location at = where_.Child(key);
      return at.Error(item.first, fmt::format("unknown key in {}{}; known keys: {}", what, hint, known));
    }
    return Status::Ok();
  }

 private:
  YAML::Node node_;
  Location where_;
  std::set<std::string> known_;
};

Result<YAML::Node> ParseYaml(std::string_view text, std::string_view file_name) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsDefined() || root.IsNull()) return InvalidArgument(fmt::format("{}: the file is empty", file_name));
    return root;
  } catch (const YAML::Exception& e) {
    return InvalidArgument(fmt::format("{}:{}:{}: invalid YAML: {}", file_name, e.mark.line + 1,
                                       e.mark.column + 1, e.msg));
  }
}

Result<std::string> ReadWholeFile(const std::filesystem::path& path, std::string_view what) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return NotFound(fmt::format("{} '{}' does not exist", what, path.string()));
  }
  if (std::filesystem::is_directory(path, ec)) {
    return InvalidArgument(fmt::format("{} '{}' is a folder, not a file", what, path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoStatus(errno, std::string("open ") + std::string(what), path.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string Resolve(const std::filesystem::path& base_dir, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = base_dir / p;
  return p.lexically_normal().string();
}

Status CheckName(const Location& at, const YAML::Node& node, Status status) {
  if (status.ok()) return status;
  return at.Error(node, status.message());
}

}  // namespace

std::filesystem::path FindInstanceConfig(std::string_view flag) {
  if (!flag.empty()) return std::filesystem::path(flag);
  if (const char* env = std::getenv("EDL_CONFIG"); env != nullptr && *env != '\0') return env;
  return "edl.yaml";
}

std::string RedactCatalogUrl(std::string_view url) {
  std::string_view rest = url.substr(0, url.find_first_of("?#"));
  size_t authority = rest.find("://");
  if (authority == std::string_view::npos) return std::string(rest);
  authority += 3;
  // The last '@' ends the user information even when an unencoded password contains '/' or '@'.
  size_t at = rest.rfind('@');
  if (at == std::string_view::npos || at < authority) return std::string(rest);
  return std::string(rest.substr(0, authority)) + std::string(rest.substr(at + 1));
}

Result<int64_t> ParseByteSize(std::string_view text) {
  std::string s(text);
  size_t pos = 0;
  double number = 0;
  try {
    number = std::stod(s, &pos);
  } catch (const std::exception&) {
    return InvalidArgument(fmt::format("'{}' is not a size (e.g. 4GB, 512MiB)", text));
  }
  std::string unit = s.substr(pos);
  unit.erase(0, unit.find_first_not_of(' '));
  static const std::pair<const char*, double> kUnits[] = {
      {"", 1}, {"B", 1}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
      {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}};
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) {
      if (number <= 0 || !std::isfinite(number)) return InvalidArgument(fmt::format("size '{}' must be positive", text));
      return static_cast<int64_t>(number * factor);
    }
  }
  return InvalidArgument(fmt::format("'{}' has an unknown unit '{}' (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", text, unit));
}

Result<InstanceConfig> LoadInstanceConfig(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path, "instance config"));
  std::filesystem::path base = std::filesystem::absolute(path).parent_path();
  return ParseInstanceConfig(text, path.string(), base);
}

Result<InstanceConfig> ParseInstanceConfig(std::string_view yaml, std::string_view file_name,
                                           const std::filesystem::path& base_dir) {
  ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(yaml, file_name));
  Location top{std::string(file_name), ""};
  ASSIGN_OR_RETURN(Fields fields, Fields::Of(root, top));
  InstanceConfig config;
  config.source_file = std::string(file_name);

  RETURN_IF_ERROR(fields.String("instance", config.instance, /*required=*/true));
  RETURN_IF_ERROR(CheckName(fields.Where("instance"), fields.Node("instance"), ValidateInstanceName(config.instance)));
  RETURN_IF_ERROR(fields.String("bucket_prefix", config.bucket_prefix));
  RETURN_IF_ERROR(CheckName(fields.Where("bucket_prefix"), fields.Node("bucket_prefix"),
                            ValidateBucketPrefix(config.bucket_prefix)));
  RETURN_IF_ERROR(fields.StringList("regions", config.regions, /*required=*/true));
  if (config.regions.empty()) return fields.Where("regions").Error(fields.Node("regions"), "must name at least one region");
  std::set<std::string> seen;
  for (size_t i = 0; i < config.regions.size(); ++i) {
    Location at = fields.Where("regions").Index(i);
    RETURN_IF_ERROR(CheckName(at, fields.Node("regions")[i], ValidateRegionName(config.regions[i])));
    if (!seen.insert(config.regions[i]).second) {
      return at.Error(fields.Node("regions")[i], fmt::format("region '{}' is listed twice", config.regions[i]));
    }
  }
  config.default_region = config.regions.front();
  RETURN_IF_ERROR(fields.String("default_region", config.default_region));
  if (!seen.count(config.default_region)) {
    return fields.Where("default_region").Error(fields.Node("default_region"),
        fmt::format("'{}' is not one of the instance's regions", config.default_region));
  }
  // The longest name the instance will make must still be a valid bucket name.
  for (const std::string& region : config.regions) {
    std::string longest = DropBucketName(config.bucket_prefix, config.instance, Tier::kRestricted, region);
    if (longest.size() > kMaxNameLength) {
      return top.Error(root, fmt::format("bucket name '{}' would be {} characters long; the limit is {} "
                                         "(shorten bucket_prefix, instance or region)",
                                         longest, longest.size(), kMaxNameLength));
    }
  }

  if (fields.Has("storage")) {
    ASSIGN_OR_RETURN(Fields storage, Fields::Of(fields.Node("storage"), fields.Where("storage")));
    RETURN_IF_ERROR(storage.String("backend", config.storage.backend));
    if (config.storage.backend != "local") {
      return storage.Where("backend").Error(storage.Node("backend"),
          fmt::format("unknown storage backend '{}' (this build supports: local)", config.storage.backend));
    }
    RETURN_IF_ERROR(storage.String("root", config.storage.root, /*required=*/true));
    RETURN_IF_ERROR(storage.Finish("storage"));
  } else {
    config.storage.root = "./edl-data";
  }
  config.storage.root = Resolve(base_dir, config.storage.root);

  config.catalog.url = "sqlite:" + (std::filesystem::path(config.storage.root) / "catalog.db").string();
  if (fields.Has("catalog")) {
    ASSIGN_OR_RETURN(Fields catalog, Fields::Of(fields.Node("catalog"), fields.Where("catalog")));
    RETURN_IF_ERROR(catalog.String("url", config.catalog.url, /*required=*/true));
    RETURN_IF_ERROR(catalog.Finish("catalog"));
    constexpr std::string_view kSqlite = "sqlite:";
    if (config.catalog.url.rfind(kSqlite, 0) == 0) {
      std::string path = config.catalog.url.substr(kSqlite.size());
      if (path.empty()) return catalog.Where("url").Error(catalog.Node("url"), "sqlite: URL has no file path");
      config.catalog.url = "sqlite:" + Resolve(base_dir, path);
    } else {
      // Scheme only: a URL may hold a password, which never goes into a message.
      std::string scheme = config.catalog.url.substr(0, config.catalog.url.find(':'));
      return catalog.Where("url").Error(catalog.Node("url"),
          fmt::format("unsupported catalog URL scheme '{}' (this build supports: sqlite:PATH)", scheme));
    }
  }

  if (fields.Has("server")) {
    ASSIGN_OR_RETURN(Fields server, Fields::Of(fields.Node("server"), fields.Where("server")));
    RETURN_IF_ERROR(server.String("http", config.server.http));
    RETURN_IF_ERROR(server.String("pg", config.server.pg));
    RETURN_IF_ERROR(server.String("s3", config.server.s3));
    ServerConfig& sv = config.server;
    RETURN_IF_ERROR(server.String("tls_cert", sv.tls_cert));
    RETURN_IF_ERROR(server.String("tls_key", sv.tls_key));
    if (sv.tls_cert.empty() != sv.tls_key.empty()) {
      const char* given = sv.tls_cert.empty() ? "tls_key" : "tls_cert";
      return server.Where(given).Error(server.Node(given), "tls_cert and tls_key go together: set both or neither");
    }
    if (!sv.tls_cert.empty()) {
      sv.tls_cert = Resolve(base_dir, sv.tls_cert);
      sv.tls_key = Resolve(base_dir, sv.tls_key);
    }
    RETURN_IF_ERROR(server.BoundedInt("threads", sv.threads, 1, 4096));
    RETURN_IF_ERROR(server.ByteSize("max_body_bytes", sv.max_body_bytes));
    RETURN_IF_ERROR(server.ByteSize("max_upload_bytes", sv.max_upload_bytes));
    RETURN_IF_ERROR(server.BoundedInt("read_timeout_seconds", sv.read_timeout_seconds, 1, 3600));
    RETURN_IF_ERROR(server.BoundedInt("write_timeout_seconds", sv.write_timeout_seconds, 1, 3600));
    RETURN_IF_ERROR(server.BoundedInt("shutdown_grace_seconds", sv.shutdown_grace_seconds, 0, 86400));
    RETURN_IF_ERROR(server.Bool("json_logs", sv.json_logs));
    RETURN_IF_ERROR(server.Finish("server"));
  }

  if (fields.Has("jobs")) {
    ASSIGN_OR_RETURN(Fields jobs, Fields::Of(fields.Node("jobs"), fields.Where("jobs")));
    JobsConfig& jc = config.jobs;
    RETURN_IF_ERROR(jobs.BoundedInt("workers", jc.workers, 0, 256));
    RETURN_IF_ERROR(jobs.BoundedInt("lease_seconds", jc.lease_seconds, 1, 86400));
    RETURN_IF_ERROR(jobs.BoundedInt("max_attempts", jc.max_attempts, 1, 100));
    RETURN_IF_ERROR(jobs.BoundedInt("poll_interval_ms", jc.poll_interval_ms, 10, 60000));
    RETURN_IF_ERROR(jobs.Finish("jobs"));
  }

  if (fields.Has("engine")) {
    ASSIGN_OR_RETURN(Fields engine, Fields::Of(fields.Node("engine"), fields.Where("engine")));
    std::string memory;
    RETURN_IF_ERROR(engine.String("memory_limit", memory));
    if (!memory.empty()) {
      auto bytes = ParseByteSize(memory);
      if (!bytes.ok()) return engine.Where("memory_limit").Error(engine.Node("memory_limit"), bytes.status().message());
      config.engine.memory_limit_bytes = *bytes;
    }
    std::optional<int64_t> threads;
    RETURN_IF_ERROR(engine.Int("threads", threads));
    if (threads) {
      if (*threads < 1 || *threads > 1024) {
        return engine.Where("threads").Error(engine.Node("threads"), "must be between 1 and 1024");
      }
      config.engine.threads = static_cast<int>(*threads);
    }
    RETURN_IF_ERROR(engine.Finish("engine"));
  }
  if (fields.Has("ingest")) {
    ASSIGN_OR_RETURN(Fields ingest, Fields::Of(fields.Node("ingest"), fields.Where("ingest")));
    IngestConfig& in = config.ingest;
    constexpr int64_t kNoMax = std::numeric_limits<int64_t>::max();
    RETURN_IF_ERROR(ingest.BoundedInt("max_archive_entries", in.max_archive_entries, 1, kNoMax));
    RETURN_IF_ERROR(ingest.BoundedInt("http_timeout_seconds", in.http_timeout_seconds, 1, kNoMax));
    RETURN_IF_ERROR(ingest.BoundedInt("keep_failed_days", in.keep_failed_days, 1, kNoMax));
    RETURN_IF_ERROR(ingest.ByteSize("max_source_bytes", in.max_source_bytes));
    RETURN_IF_ERROR(ingest.ByteSize("max_unpacked_bytes", in.max_unpacked_bytes));
    RETURN_IF_ERROR(ingest.Bool("allow_private_addresses", in.allow_private_addresses));
    RETURN_IF_ERROR(ingest.Finish("ingest"));
  }
  RETURN_IF_ERROR(fields.Finish("the instance config"));
  return config;
}

namespace {

Status ParsePolicy(Fields& fields, DatasetSpec& spec) {
  if (!fields.Has("policy")) return Status::Ok();
  ASSIGN_OR_RETURN(Fields policy, Fields::Of(fields.Node("policy"), fields.Where("policy")));
  RETURN_IF_ERROR(policy.String("classification", spec.policy.classification));
  RETURN_IF_ERROR(policy.Bool("contains_pii", spec.policy.contains_pii));
  RETURN_IF_ERROR(policy.Int("retention_days", spec.policy.retention_days));
  if (spec.policy.retention_days && *spec.policy.retention_days < 1) {
    return policy.Where("retention_days").Error(policy.Node("retention_days"), "must be at least 1");
  }
  RETURN_IF_ERROR(policy.StringList("allowed_purposes", spec.policy.allowed_purposes));
  RETURN_IF_ERROR(policy.String("legal_basis", spec.policy.legal_basis));
  RETURN_IF_ERROR(policy.Int("max_grant_days", spec.policy.max_grant_days));
  if (spec.policy.max_grant_days && (*spec.policy.max_grant_days < 1 || *spec.policy.max_grant_days > 3650)) {
    return policy.Where("max_grant_days").Error(policy.Node("max_grant_days"), "must be between 1 and 3650");
  }
  RETURN_IF_ERROR(policy.Bool("two_person_approval", spec.policy.two_person_approval));
  return policy.Finish("policy");
}

Status ParseUpdates(Fields& fields, DatasetSpec& spec) {
  if (!fields.Has("updates")) return Status::Ok();
  ASSIGN_OR_RETURN(Fields updates, Fields::Of(fields.Node("updates"), fields.Where("updates")));
  std::string kind = "snapshot";
  RETURN_IF_ERROR(updates.String("kind", kind));
  auto parsed = ParseUpdateKind(kind);
  if (!parsed.ok()) return updates.Where("kind").Error(updates.Node("kind"), parsed.status().message());
  spec.updates.kind = *parsed;
  RETURN_IF_ERROR(updates.StringList("keys", spec.updates.keys));
  RETURN_IF_ERROR(updates.String("op_column", spec.updates.op_column));
  RETURN_IF_ERROR(updates.String("order_by", spec.updates.order_by));
  RETURN_IF_ERROR(updates.Finish("updates"));
  Location at = fields.Where("updates");
  if (spec.updates.kind == UpdateKind::kDelta) {
    if (spec.updates.keys.empty()) return at.Child("keys").Error(fields.Node("updates"), "a delta dataset needs at least one key column");
    if (spec.updates.op_column.empty()) return at.Child("op_column").Error(fields.Node("updates"), "a delta dataset needs an operation column (values I, U, D)");
  } else if (!spec.updates.keys.empty() || !spec.updates.op_column.empty()) {
    return at.Error(fields.Node("updates"), "keys and op_column apply only to kind: delta");
  }
  return Status::Ok();
}

Status ParseFormat(Fields& fields, DatasetSpec& spec) {
  if (!fields.Has("format")) return Status::Ok();
  ASSIGN_OR_RETURN(Fields format, Fields::Of(fields.Node("format"), fields.Where("format")));
  FormatOptions& f = spec.format;
  RETURN_IF_ERROR(format.String("type", f.type));
  static const std::set<std::string> kTypes = {"csv", "tsv", "json", "ndjson", "parquet"};
  if (!f.type.empty() && !kTypes.count(f.type)) {
    return format.Where("type").Error(format.Node("type"),
        fmt::format("unknown format type '{}' (expected one of: csv, tsv, json, ndjson, parquet)", f.type));
  }
  for (const char* key : {"delimiter", "quote", "escape"}) {
    std::optional<std::string>& target = key == std::string_view("delimiter") ? f.delimiter
                                       : key == std::string_view("quote")     ? f.quote
                                                                              : f.escape;
    RETURN_IF_ERROR(format.OptionalString(key, target));
    if (target && target->size() != 1 && !(key == std::string_view("delimiter") && *target == "\\t")) {
      return format.Where(key).Error(format.Node(key), fmt::format("must be a single character, got '{}'", *target));
    }
  }
  RETURN_IF_ERROR(format.OptionalBool("header", f.header));
  RETURN_IF_ERROR(format.StringList("null_strings", f.null_strings));
  RETURN_IF_ERROR(format.OptionalString("date_format", f.date_format));
  RETURN_IF_ERROR(format.OptionalString("timestamp_format", f.timestamp_format));
  if (format.Has("column_types")) {
    ASSIGN_OR_RETURN(Fields types, Fields::Of(format.Node("column_types"), format.Where("column_types")));
    for (const auto& item : format.Node("column_types")) {
      std::string column = item.first.Scalar();
      std::string type;
      RETURN_IF_ERROR(types.String(column, type, /*required=*/true));
      f.column_types[column] = type;
    }
  }
  return format.Finish("format");
}

Status ParseQc(Fields& fields, DatasetSpec& spec) {
  if (!fields.Has("qc")) return Status::Ok();
  YAML::Node list = fields.Node("qc");
  Location at = fields.Where("qc");
  if (!list.IsSequence()) return at.Error(list, "expected a list of checks, got " + Describe(list));
  static const std::set<std::string> kChecks = {"not_null", "unique", "accepted_values", "range",
                                                "regex", "row_count", "sql"};
  for (size_t i = 0; i < list.size(); ++i) {
    ASSIGN_OR_RETURN(Fields item, Fields::Of(list[i], at.Index(i)));
    QcCheck qc;
    RETURN_IF_ERROR(item.String("check", qc.check, /*required=*/true));
    if (!kChecks.count(qc.check)) {
      return item.Where("check").Error(item.Node("check"),
          fmt::format("unknown check '{}' (expected one of: not_null, unique, accepted_values, range, regex, row_count, sql)", qc.check));
    }
    std::string column;
    RETURN_IF_ERROR(item.String("column", column));
    RETURN_IF_ERROR(item.StringList("columns", qc.columns));
    if (!column.empty()) qc.columns.insert(qc.columns.begin(), column);
    RETURN_IF_ERROR(item.StringList("values", qc.values));
    RETURN_IF_ERROR(item.Double("min", qc.min));
    RETURN_IF_ERROR(item.Double("max", qc.max));
    RETURN_IF_ERROR(item.String("pattern", qc.pattern));
    RETURN_IF_ERROR(item.String("sql", qc.sql));
    RETURN_IF_ERROR(item.Finish("a qc check"));
    Location here = at.Index(i);
    bool needs_column = qc.check != "row_count" && qc.check != "sql";
    if (needs_column && qc.columns.empty()) return here.Error(list[i], fmt::format("check '{}' needs 'column' or 'columns'", qc.check));
    if (qc.check == "accepted_values" && qc.values.empty()) return here.Error(list[i], "check 'accepted_values' needs 'values'");
    if ((qc.check == "range" || qc.check == "row_count") && !qc.min && !qc.max) return here.Error(list[i], fmt::format("check '{}' needs 'min', 'max' or both", qc.check));
    if (qc.min && qc.max && *qc.min > *qc.max) return here.Error(list[i], "min is greater than max");
    if (qc.check == "regex" && qc.pattern.empty()) return here.Error(list[i], "check 'regex' needs 'pattern'");
    if (qc.check == "sql" && qc.sql.empty()) return here.Error(list[i], "check 'sql' needs 'sql' (a query returning the failing rows)");
    spec.qc.push_back(std::move(qc));
  }
  return Status::Ok();
}

Status ParseGrants(Fields& fields, DatasetSpec& spec) {
  if (!fields.Has("grants")) return Status::Ok();
  YAML::Node list = fields.Node("grants");
  Location at = fields.Where("grants");
  if (!list.IsSequence()) return at.Error(list, "expected a list of grants, got " + Describe(list));
  for (size_t i = 0; i < list.size(); ++i) {
    ASSIGN_OR_RETURN(Fields item, Fields::Of(list[i], at.Index(i)));
    std::string principal, level;
    DeclaredGrant grant;
    RETURN_IF_ERROR(item.String("principal", principal, /*required=*/true));
    RETURN_IF_ERROR(item.String("level", level, /*required=*/true));
    RETURN_IF_ERROR(item.String("justification", grant.justification));
    RETURN_IF_ERROR(item.OptionalString("until", grant.until));
    RETURN_IF_ERROR(item.Finish("a grant"));
    auto parsed_principal = ParsePrincipalRef(principal);
    if (!parsed_principal.ok()) return item.Where("principal").Error(item.Node("principal"), parsed_principal.status().message());
    auto parsed_level = ParseAccessLevel(level);
    if (!parsed_level.ok()) return item.Where("level").Error(item.Node("level"), parsed_level.status().message());
    grant.principal = *parsed_principal;
    grant.level = *parsed_level;
    if (grant.until && !ParseUtcDate(*grant.until)) {
      return item.Where("until").Error(
          item.Node("until"),
          fmt::format("expected a date written YYYY-MM-DD (the grant ends at 00:00 UTC that day), got '{}'",
                      *grant.until));
    }
    // The tier's rules (who may be granted what, justification, expiry) depend on the clock and are
    // checked by deploy, with the Authorizer's rules; here only the shape of the file.
    bool listed = std::any_of(spec.grants.begin(), spec.grants.end(), [&](const DeclaredGrant& other) {
      return other.principal == grant.principal && other.level == grant.level;
    });
    if (listed) return at.Index(i).Error(list[i], fmt::format("grant of {} to {} is listed twice", level, principal));
    spec.grants.push_back(std::move(grant));
  }
  return Status::Ok();
}

Status ParseTriggers(Fields& fields, DatasetSpec& spec) {
  if (!fields.Has("triggers")) return Status::Ok();
  YAML::Node list = fields.Node("triggers");
  Location at = fields.Where("triggers");
  if (!list.IsSequence()) return at.Error(list, "expected a list of triggers, got " + Describe(list));
  for (size_t i = 0; i < list.size(); ++i) {
    ASSIGN_OR_RETURN(Fields item, Fields::Of(list[i], at.Index(i)));
    Trigger trigger;
    RETURN_IF_ERROR(item.String("pipeline", trigger.pipeline, /*required=*/true));
    RETURN_IF_ERROR(CheckName(item.Where("pipeline"), item.Node("pipeline"), ValidateDatasetName(trigger.pipeline)));
    RETURN_IF_ERROR(item.Finish("a trigger"));
    spec.triggers.push_back(std::move(trigger));
  }
  return Status::Ok();
}

}  // namespace

Result<DatasetSpec> LoadDatasetSpec(const std::filesystem::path& path, const InstanceConfig& instance) {
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path, "dataset file"));
  return ParseDatasetSpec(text, path.string(), instance);
}

Result<DatasetSpec> ParseDatasetSpec(std::string_view yaml, std::string_view file_name,
                                     const InstanceConfig& instance) {
  ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(yaml, file_name));
  ASSIGN_OR_RETURN(Fields fields, Fields::Of(root, Location{std::string(file_name), ""}));
  DatasetSpec spec;
  RETURN_IF_ERROR(fields.String("name", spec.name, /*required=*/true));
  RETURN_IF_ERROR(CheckName(fields.Where("name"), fields.Node("name"), ValidateDatasetName(spec.name)));

  std::string tier;
  RETURN_IF_ERROR(fields.String("tier", tier, /*required=*/true));
  auto parsed_tier = ParseTier(tier);
  if (!parsed_tier.ok()) return fields.Where("tier").Error(fields.Node("tier"), parsed_tier.status().message());
  spec.tier = *parsed_tier;

  spec.region = instance.default_region;
  RETURN_IF_ERROR(fields.String("region", spec.region));
  if (std::find(instance.regions.begin(), instance.regions.end(), spec.region) == instance.regions.end()) {
    std::string regions;
    for (const std::string& r : instance.regions) regions += (regions.empty() ? "" : ", ") + r;
    return fields.Where("region").Error(fields.Node("region"),
        fmt::format("region '{}' is not one of instance '{}''s regions ({}; see {})", spec.region,
                    instance.instance, regions, instance.source_file));
  }

  RETURN_IF_ERROR(fields.String("description", spec.description));
  RETURN_IF_ERROR(fields.StringList("owners", spec.owners, /*required=*/true));
  if (spec.owners.empty()) return fields.Where("owners").Error(fields.Node("owners"), "must name at least one owner");
  for (size_t i = 0; i < spec.owners.size(); ++i) {
    RETURN_IF_ERROR(CheckName(fields.Where("owners").Index(i), fields.Node("owners")[i], ValidatePrincipalName(spec.owners[i])));
  }
  RETURN_IF_ERROR(ParsePolicy(fields, spec));
  RETURN_IF_ERROR(ParseUpdates(fields, spec));
  RETURN_IF_ERROR(ParseFormat(fields, spec));
  std::string schema_changes = "warn";
  RETURN_IF_ERROR(fields.String("schema_changes", schema_changes));
  auto parsed_policy = ParseSchemaChangePolicy(schema_changes);
  if (!parsed_policy.ok()) return fields.Where("schema_changes").Error(fields.Node("schema_changes"), parsed_policy.status().message());
  spec.schema_changes = *parsed_policy;
  RETURN_IF_ERROR(ParseQc(fields, spec));
  RETURN_IF_ERROR(ParseGrants(fields, spec));
  RETURN_IF_ERROR(ParseTriggers(fields, spec));
  RETURN_IF_ERROR(fields.Bool("require_conversion", spec.require_conversion));
  RETURN_IF_ERROR(fields.Finish("the dataset file"));
  return spec;
}

}  // namespace edl
