// The route handlers: parse → authorize → one service call → JSON (docs/api.md).
#include <charconv>
#include <memory>

#include <fmt/format.h>

#include "access/authorizer.h"
#include "access/grants.h"
#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/serialize.h"
#include "deploy/inventory.h"
#include "http/render_memo.h"
#include "http/server_internal.h"
#include "ingest/uploads.h"
#include "jobs/jobs.h"

namespace edl::http {
namespace {

using nlohmann::json;

constexpr int64_t kDefaultLimit = 100;
constexpr int64_t kMaxLimit = 1000;

Result<int64_t> ParseWhole(std::string_view what, const std::string& text, int64_t min, int64_t max) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return InvalidArgument(fmt::format("{} must be a whole number from {} to {}, got '{}'", what, min, max,
                                       text.substr(0, 40)));
  }
  return value;
}

// A time bound of an audit query in the form the log stores ("2026-11-29T08:35:02.123Z", which
// sorts as text): that form itself, or a whole second ("…T08:35:02Z"), or a day ("2026-11-29",
// meaning its start). Anything else is refused rather than compared as text and misread.
Result<std::string> AuditTime(std::string_view what, const std::string& text) {
  auto digits = [&](size_t from, size_t n) {
    if (from + n > text.size()) return false;
    for (size_t i = from; i < from + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
    }
    return true;
  };
  bool date = text.size() >= 10 && digits(0, 4) && text[4] == '-' && digits(5, 2) && text[7] == '-' && digits(8, 2) &&
              text.substr(0, 4) >= "1970" &&
              std::chrono::year_month_day(std::chrono::year(std::stoi(text.substr(0, 4))),
                                          std::chrono::month(static_cast<unsigned>(std::stoi(text.substr(5, 2)))),
                                          std::chrono::day(static_cast<unsigned>(std::stoi(text.substr(8, 2)))))
                  .ok();
  bool clock = text.size() >= 20 && text[10] == 'T' && digits(11, 2) && text[13] == ':' && digits(14, 2) &&
               text[16] == ':' && digits(17, 2) && text.substr(11, 2) < "24" && text.substr(14, 2) < "60" &&
               text.substr(17, 2) < "60";
  if (date && text.size() == 10) return text + "T00:00:00.000Z";
  if (date && clock && text.size() == 20 && text[19] == 'Z') return text.substr(0, 19) + ".000Z";
  if (date && clock && text.size() == 24 && text[19] == '.' && digits(20, 3) && text[23] == 'Z') return text;
  return InvalidArgument(fmt::format("{} must be a UTC time like 2026-11-29T08:35:02Z (or .123Z), or a day like "
                                     "2026-11-29; got '{}'",
                                     what, text.substr(0, 40)));
}

Result<int64_t> Limit(const Call& call) {
  std::optional<std::string> text = call.Query("limit");
  if (!text) return kDefaultLimit;
  return ParseWhole("limit", *text, 1, kMaxLimit);
}

// The page_token a listing was given (the last key of the previous page), or `none`.
Result<int64_t> PageToken(const Call& call, int64_t none, int64_t min) {
  std::optional<std::string> token = call.Query("page_token");
  if (!token) return none;
  return ParseWhole("page_token", *token, min, std::numeric_limits<int64_t>::max());
}

// The next page's token: the last item's key when the page is full, else null (the last page).
json NextPageToken(size_t items, int64_t limit, int64_t last_key) {
  return static_cast<int64_t>(items) == limit && items > 0 ? json(std::to_string(last_key)) : json(nullptr);
}

Result<int64_t> PathNumber(const Call& call, const std::string& name, std::string_view what) {
  return ParseWhole(what, call.path.at(name), 1, std::numeric_limits<int64_t>::max());
}

Status RequireAdmin(const Call& call) {
  if (call.identity.admin) return Status::Ok();
  return PermissionDenied(fmt::format("user '{}' is not an instance admin; this needs an admin", call.identity.user));
}

// The caller's strongest level on the dataset ("none", "read", "write", "admin"), decided without
// an audit record: it only shapes the view, it opens nothing.
std::string_view AccessOf(const AccessScope& scope, const DatasetRecord& record, const std::string& now) {
  if (Decide(scope, record, DatasetAction::kAdmin, now, /*explain=*/false).allowed) return "admin";
  if (Decide(scope, record, DatasetAction::kWrite, now, /*explain=*/false).allowed) return "write";
  if (Decide(scope, record, DatasetAction::kRead, now, /*explain=*/false).allowed) return "read";
  return "none";
}

AccessContext Context(const Call& call, std::string action = "") { return {call.request_id, std::move(action)}; }

// Jobs are visible to their creator and to admins; to anyone else they do not exist.
Result<JobRecord> VisibleJob(ServerState& s, const Call& call, int64_t id) {
  Result<JobRecord> job = s.services.jobs.Get(id);
  if (!job.ok()) return job.status();
  if (!call.identity.admin && job->created_by != call.identity.Ref()) {
    return NotFound(fmt::format("job {} does not exist", id));
  }
  return job;
}

// The dataset, if the Authorizer lets the caller do `action` on it (the decision is audited).
struct AuthorizedSummary {
  DatasetSummary summary;
  AccessScope scope;
};
Result<AuthorizedSummary> AuthorizedDataset(ServerState& s, const Call& call, DatasetAction action) {
  ASSIGN_OR_RETURN(DatasetSummary summary, s.datasets.Get(s.services.catalog, call.path.at("name"),
                                                           call.identity.data_epoch));
  ASSIGN_OR_RETURN(AccessScope scope, s.services.authorizer.ScopeFor(call.identity));
  RETURN_IF_ERROR(s.services.authorizer.Require(scope, summary.record, action, Context(call)));
  return AuthorizedSummary{std::move(summary), std::move(scope)};
}

Result<AccessScope> ScopeOf(ServerState& s, const Call& call) { return s.services.authorizer.ScopeFor(call.identity); }

Result<std::optional<Principal>> PrincipalQuery(const Call& call, const std::string& name) {
  std::optional<std::string> text = call.Query(name);
  if (!text) return std::optional<Principal>();
  ASSIGN_OR_RETURN(Principal principal, ParsePrincipalRef(*text));
  return std::optional<Principal>(principal);
}

// {"principal", "level", "justification", "days"} (principal only when `with_principal`).
Result<NewGrant> ReadNewGrant(Call& call, ServerState& s, bool with_principal) {
  ASSIGN_OR_RETURN(json body, ReadJsonBody(call, s.config.max_body_bytes));
  ASSIGN_OR_RETURN(BodyFields fields, BodyFields::Of(body));
  NewGrant grant;
  grant.dataset = call.path.at("name");
  std::string principal, level;
  if (with_principal) RETURN_IF_ERROR(fields.String("principal", principal, /*required=*/true));
  RETURN_IF_ERROR(fields.String("level", level, /*required=*/true));
  RETURN_IF_ERROR(fields.String("justification", grant.justification));
  RETURN_IF_ERROR(fields.OptionalInt("days", grant.days));
  RETURN_IF_ERROR(fields.Finish());
  if (with_principal) {
    ASSIGN_OR_RETURN(grant.grantee, ParsePrincipalRef(principal));
  }
  ASSIGN_OR_RETURN(grant.level, ParseAccessLevel(level));
  return grant;
}

// An optional JSON body {"reason": "..."}; an empty body is no reason.
Result<std::string> ReadReason(Call& call, ServerState& s, bool required) {
  bool has_body = (call.request.has_header("Content-Length") && call.request.get_header_value("Content-Length") != "0") ||
                  call.request.get_header_value("Transfer-Encoding") == "chunked";
  std::string reason;
  if (has_body) {
    ASSIGN_OR_RETURN(json body, ReadJsonBody(call, s.config.max_body_bytes));
    ASSIGN_OR_RETURN(BodyFields fields, BodyFields::Of(body));
    RETURN_IF_ERROR(fields.String("reason", reason, required));
    RETURN_IF_ERROR(fields.Finish());
  } else if (required) {
    return InvalidArgument("the request needs a JSON body with a \"reason\"");
  }
  return reason;
}

std::string Metrics(ServerState& s) {
  std::string out = s.metrics.Render();
  Result<std::vector<std::pair<JobState, int64_t>>> counts = s.services.jobs.CountByState();
  out += "# HELP edl_jobs Jobs in the catalog, by state.\n# TYPE edl_jobs gauge\n";
  if (counts.ok()) {
    for (const auto& [state, n] : *counts) out += fmt::format("edl_jobs{{state=\"{}\"}} {}\n", JobStateName(state), n);
  }
  out += "# HELP edl_catalog_up 1 when the catalog answered this scrape.\n# TYPE edl_catalog_up gauge\n";
  out += fmt::format("edl_catalog_up {}\n", counts.ok() ? 1 : 0);
  if (s.services.workers != nullptr) {
    out += "# HELP edl_jobs_running Jobs running in this process's workers.\n# TYPE edl_jobs_running gauge\n";
    out += fmt::format("edl_jobs_running {}\n", s.services.workers->Running());
    out += "# HELP edl_ingested_bytes_total Bytes fetched by ingest jobs this process completed.\n";
    out += "# TYPE edl_ingested_bytes_total counter\n";
    out += fmt::format("edl_ingested_bytes_total {}\n", s.services.workers->IngestedBytes());
  }
  return out;
}

}  // namespace

std::vector<Route> MakeRoutes(ServerState* state) {
  ServerState* s = state;
  std::vector<Route> routes;
  auto add = [&](std::string method, std::string path, bool authenticated, Handler handler) {
    routes.push_back({std::move(method), std::move(path), authenticated, std::move(handler)});
  };
  // A read answered from memory when its caches hold (see Route::quick).
  auto add_quick = [&](std::string method, std::string path, bool authenticated, Handler handler) {
    add(std::move(method), std::move(path), authenticated, std::move(handler));
    routes.back().quick = true;
  };

  // ---- Health and operations.
  add_quick("GET", "/healthz", false, [](Call& call) {
    call.Reply(200, {{"status", "ok"}});
    return Status::Ok();
  });
  add("GET", "/readyz", false, [s](Call& call) {
    Status catalog = s->services.catalog.Read([](CatalogTransaction& tx) { return tx.GetSetting("instance").status(); });
    bool workers = s->services.workers == nullptr || s->services.workers->Started();
    if (catalog.ok() && workers) {
      call.Reply(200, {{"status", "ready"}});
    } else {
      // Unauthenticated: says what is not ready, not why (the reason may name server paths).
      call.Reply(503, {{"status", "not ready"},
                       {"catalog", catalog.ok() ? "ok" : "unavailable"},
                       {"workers", workers ? "running" : "not started"}});
    }
    return Status::Ok();
  });
  add("GET", "/metrics", true, [s](Call& call) {
    call.response.status = 200;
    call.response.set_content(Metrics(*s), "text/plain; version=0.0.4");
    return Status::Ok();
  });
  add_quick("GET", "/v1/openapi.json", true, [](Call& call) {
    call.response.status = 200;
    call.response.set_content(std::string(OpenApiDocument()), "application/json");
    return Status::Ok();
  });
  add("GET", "/v1/whoami", true, [s](Call& call) {
    const Identity& id = call.identity;
    ASSIGN_OR_RETURN(AccessScope scope, ScopeOf(*s, call));
    ASSIGN_OR_RETURN(std::vector<EffectiveRole> roles, s->services.grants.EffectiveRoles(scope));
    json roles_json = json::array();
    for (const EffectiveRole& role : roles) {
      json r = {{"role", role.role}, {"via", role.via}};
      if (role.expires_at) r["expires_at"] = *role.expires_at;
      roles_json.push_back(std::move(r));
    }
    call.Reply(200, {{"user", id.user}, {"admin", id.admin}, {"groups", id.groups}, {"roles", roles_json},
                     {"token", {{"id", id.token_id},
                                {"expires_at", id.token_expires_at ? json(*id.token_expires_at) : json(nullptr)}}}});
    return Status::Ok();
  });

  // ---- Datasets and updates.
  add_quick("GET", "/v1/datasets", true, [s](Call& call) {
    DatasetQuery query;
    if (auto tier = call.Query("tier")) {
      ASSIGN_OR_RETURN(query.tier, ParseTier(*tier));
    }
    if (auto owner = call.Query("owner")) query.owner = *owner;
    query.name_prefix = call.Query("name").value_or("");
    query.search = call.Query("q").value_or("");
    query.after_name = call.Query("page_token").value_or("");
    ASSIGN_OR_RETURN(query.limit, Limit(call));
    ASSIGN_OR_RETURN(AccessScope scope, ScopeOf(*s, call));
    std::string now = s->services.authorizer.Now();
    // The same page for the same caller at the same catalog epochs: the one made before (the
    // listing is still audited, once per request).
    std::string key = ListingCache::Key(query, call.identity);
    if (std::optional<ListingCache::Page> cached = s->listings.Find(key, call.identity, now)) {
      s->services.authorizer.RecordListing(scope, cached->shown, now, Context(call));
      call.ReplyText(200, std::move(cached->body));
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(DatasetPage page,
                     ListDatasetsPage(s->services.catalog, query, [&](const DatasetRecord& record) {
                       return Decide(scope, record, DatasetAction::kMetadata, now, /*explain=*/false).allowed;
                     }));
    auto body = std::make_shared<const std::string>(DatasetPageText(
        s->texts, page.datasets, [&](const DatasetRecord& record) { return AccessOf(scope, record, now); },
        page.next_after_name));
    s->services.authorizer.RecordListing(scope, page.datasets.size(), now, Context(call));
    s->listings.Store(key, call.identity, DecisionsStableUntil(scope, now), {body, page.datasets.size()});
    call.ReplyText(200, std::move(body));
    return Status::Ok();
  });
  add_quick("GET", "/v1/datasets/{name}", true, [s](Call& call) {
    ASSIGN_OR_RETURN(AuthorizedSummary a, AuthorizedDataset(*s, call, DatasetAction::kMetadata));
    std::string body;
    s->texts.AppendText(a.summary, AccessOf(a.scope, a.summary.record, s->services.authorizer.Now()), body);
    call.ReplyText(200, std::move(body));
    return Status::Ok();
  });
  add("GET", "/v1/datasets/{name}/updates", true, [s](Call& call) {
    ASSIGN_OR_RETURN(AuthorizedSummary a, AuthorizedDataset(*s, call, DatasetAction::kRead));
    ASSIGN_OR_RETURN(int64_t limit, Limit(call));
    ASSIGN_OR_RETURN(int64_t after, PageToken(call, 0, 0));
    ASSIGN_OR_RETURN(std::vector<UpdateRecord> updates,
                     ListDatasetUpdatesPage(s->services.catalog, a.summary.record.spec.name, after, limit));
    json out = {{"updates", json::array()}};
    for (const UpdateRecord& update : updates) out["updates"].push_back(ToJson(update));
    out["next_page_token"] = NextPageToken(updates.size(), limit, updates.empty() ? 0 : updates.back().number);
    call.Reply(200, out);
    return Status::Ok();
  });
  add("GET", "/v1/datasets/{name}/updates/{n}", true, [s](Call& call) {
    ASSIGN_OR_RETURN(AuthorizedSummary a, AuthorizedDataset(*s, call, DatasetAction::kRead));
    ASSIGN_OR_RETURN(int64_t number, PathNumber(call, "n", "the update number"));
    ASSIGN_OR_RETURN(UpdateDetails details, DescribeUpdate(s->services.catalog, a.summary.record.spec.name, number));
    json out = ToJson(details.update);
    out["files"] = json::array();
    for (const UpdateFile& file : details.files) out["files"].push_back(ToJson(file));
    call.Reply(200, out);
    return Status::Ok();
  });
  add("POST", "/v1/datasets/{name}/ingest", true, [s](Call& call) {
    ASSIGN_OR_RETURN(json body, ReadJsonBody(call, s->config.max_body_bytes));
    ASSIGN_OR_RETURN(AuthorizedSummary a, AuthorizedDataset(*s, call, DatasetAction::kWrite));
    ASSIGN_OR_RETURN(BodyFields fields, BodyFields::Of(body));
    IngestJobSpec spec;
    spec.dataset = a.summary.record.spec.name;
    RETURN_IF_ERROR(fields.StringList("sources", spec.sources, /*required=*/true));
    std::optional<std::string> kind;
    RETURN_IF_ERROR(fields.OptionalString("kind", kind));
    if (kind) {
      ASSIGN_OR_RETURN(spec.kind, ParseUpdateKind(*kind));
    }
    RETURN_IF_ERROR(fields.OptionalString("format", spec.format));
    RETURN_IF_ERROR(fields.Finish());
    if (spec.format && *spec.format != "csv" && *spec.format != "tsv" && *spec.format != "json" &&
        *spec.format != "ndjson" && *spec.format != "parquet") {
      return InvalidArgument(fmt::format("format '{}' is not one of csv, tsv, json, ndjson, parquet",
                                         spec.format->substr(0, 40)));
    }
    ASSIGN_OR_RETURN(JobRecord job, s->services.jobs.SubmitIngest(spec, call.identity.Ref()));
    call.response.set_header("Location", fmt::format("/v1/jobs/{}", job.id));
    call.Reply(202, ToJson(job));
    return Status::Ok();
  });

  // ---- Uploads.
  auto upload_json = [](const UploadInfo& upload) {
    json files = json::array();
    for (const UploadInfo::File& f : upload.files) files.push_back({{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}});
    return json{{"id", upload.id}, {"owner", upload.owner}, {"created_at", upload.created_at}, {"files", files}};
  };
  add("POST", "/v1/uploads", true, [s, upload_json](Call& call) {
    ASSIGN_OR_RETURN(UploadInfo upload, s->services.uploads.Create(call.identity.Ref()));
    call.response.set_header("Location", "/v1/uploads/" + upload.id);
    call.Reply(201, upload_json(upload));
    return Status::Ok();
  });
  add("GET", "/v1/uploads/{id}", true, [s, upload_json](Call& call) {
    ASSIGN_OR_RETURN(UploadInfo upload, s->services.uploads.Get(call.path.at("id"), call.identity.Ref()));
    call.Reply(200, upload_json(upload));
    return Status::Ok();
  });
  add("PUT", "/v1/uploads/{id}/files/{filename}", true, [s](Call& call) {
    std::optional<uint64_t> expected;
    if (call.request.has_header("Content-Length")) {
      ASSIGN_OR_RETURN(int64_t length, ParseWhole("Content-Length", call.request.get_header_value("Content-Length"), 0,
                                                  std::numeric_limits<int64_t>::max()));
      expected = static_cast<uint64_t>(length);
    }
    ASSIGN_OR_RETURN(std::unique_ptr<UploadFileWriter> writer,
                     s->services.uploads.OpenFile(call.path.at("id"), call.identity.Ref(), call.path.at("filename"),
                                                  expected, static_cast<uint64_t>(s->config.max_upload_bytes)));
    Status write_status;
    uint64_t received = 0;
    bool complete = (*call.body)([&](const char* data, size_t size) {
      write_status = writer->Write(std::string_view(data, size));
      received += size;
      return write_status.ok();
    });
    s->metrics.AddUploadedBytes(received);
    RETURN_IF_ERROR(write_status);
    if (!complete) {
      return InvalidArgument(fmt::format("the upload of '{}' was cut off after {} bytes; nothing was kept",
                                         call.path.at("filename"), received));
    }
    ASSIGN_OR_RETURN(UploadedFile file, writer->Commit());
    call.Reply(201, {{"name", file.name}, {"size", file.size}, {"sha256", file.sha256}});
    return Status::Ok();
  });
  add("DELETE", "/v1/uploads/{id}", true, [s](Call& call) {
    RETURN_IF_ERROR(s->services.uploads.Remove(call.path.at("id"), call.identity.Ref()));
    call.response.status = 204;
    return Status::Ok();
  });

  // ---- Jobs.
  add("GET", "/v1/jobs", true, [s](Call& call) {
    JobFilter filter;
    if (auto state_text = call.Query("state")) {
      ASSIGN_OR_RETURN(filter.state, ParseJobState(*state_text));
    }
    if (auto dataset = call.Query("dataset")) filter.dataset = *dataset;
    if (!call.identity.admin) filter.created_by = call.identity.Ref();
    ASSIGN_OR_RETURN(filter.before_id, PageToken(call, 0, 1));
    ASSIGN_OR_RETURN(filter.limit, Limit(call));
    ASSIGN_OR_RETURN(std::vector<JobRecord> jobs, s->services.jobs.List(filter));
    json out = {{"jobs", json::array()}};
    for (const JobRecord& job : jobs) out["jobs"].push_back(ToJson(job));
    out["next_page_token"] = NextPageToken(jobs.size(), filter.limit, jobs.empty() ? 0 : jobs.back().id);
    call.Reply(200, out);
    return Status::Ok();
  });
  add("GET", "/v1/jobs/{id}", true, [s](Call& call) {
    ASSIGN_OR_RETURN(int64_t id, PathNumber(call, "id", "the job id"));
    ASSIGN_OR_RETURN(JobRecord job, VisibleJob(*s, call, id));
    call.Reply(200, ToJson(job));
    return Status::Ok();
  });
  add("POST", "/v1/jobs/{id}/cancel", true, [s](Call& call) {
    ASSIGN_OR_RETURN(int64_t id, PathNumber(call, "id", "the job id"));
    RETURN_IF_ERROR(VisibleJob(*s, call, id).status());
    ASSIGN_OR_RETURN(JobRecord job, s->services.jobs.Cancel(id, call.identity.Ref()));
    call.Reply(200, ToJson(job));
    return Status::Ok();
  });
  add("GET", "/v1/jobs/{id}/logs", true, [s](Call& call) {
    ASSIGN_OR_RETURN(int64_t id, PathNumber(call, "id", "the job id"));
    RETURN_IF_ERROR(VisibleJob(*s, call, id).status());
    int64_t after = 0;
    if (auto text = call.Query("after")) {
      ASSIGN_OR_RETURN(after, ParseWhole("after", *text, 0, std::numeric_limits<int64_t>::max()));
    }
    ASSIGN_OR_RETURN(int64_t limit, Limit(call));
    ASSIGN_OR_RETURN(std::vector<JobLogLine> lines, s->services.jobs.Logs(id, after, limit));
    json out = {{"lines", json::array()}};
    for (const JobLogLine& line : lines) out["lines"].push_back(ToJson(line));
    call.Reply(200, out);
    return Status::Ok();
  });

  // ---- Users, groups and tokens.
  add("GET", "/v1/users", true, [s](Call& call) {
    RETURN_IF_ERROR(RequireAdmin(call));
    ASSIGN_OR_RETURN(std::vector<UserRecord> users, s->services.users.ListUsers());
    json out = {{"users", json::array()}};
    for (const UserRecord& user : users) out["users"].push_back(ToJson(user));
    call.Reply(200, out);
    return Status::Ok();
  });
  add("POST", "/v1/users", true, [s](Call& call) {
    RETURN_IF_ERROR(RequireAdmin(call));
    ASSIGN_OR_RETURN(json body, ReadJsonBody(call, s->config.max_body_bytes));
    ASSIGN_OR_RETURN(BodyFields fields, BodyFields::Of(body));
    NewUser user;
    RETURN_IF_ERROR(fields.String("name", user.name, /*required=*/true));
    RETURN_IF_ERROR(fields.StringList("groups", user.groups));
    RETURN_IF_ERROR(fields.Bool("admin", user.admin));
    RETURN_IF_ERROR(fields.Bool("employee", user.employee));
    RETURN_IF_ERROR(fields.Finish());
    ASSIGN_OR_RETURN(UserRecord created, s->services.users.AddUser(user, call.identity.Ref()));
    call.Reply(201, ToJson(created));
    return Status::Ok();
  });
  add("GET", "/v1/users/{name}", true, [s](Call& call) {
    const std::string& name = call.path.at("name");
    if (name != call.identity.user) RETURN_IF_ERROR(RequireAdmin(call));
    ASSIGN_OR_RETURN(UserRecord user, s->services.users.GetUser(name));
    call.Reply(200, ToJson(user));
    return Status::Ok();
  });
  add("PUT", "/v1/groups/{group}/members/{user}", true, [s](Call& call) {
    RETURN_IF_ERROR(RequireAdmin(call));
    ASSIGN_OR_RETURN(bool added, s->services.users.AddGroupMember(call.path.at("group"), call.path.at("user"),
                                                                   call.identity.Ref()));
    call.Reply(200, {{"group", call.path.at("group")}, {"user", call.path.at("user")}, {"added", added}});
    return Status::Ok();
  });
  add("DELETE", "/v1/groups/{group}/members/{user}", true, [s](Call& call) {
    RETURN_IF_ERROR(RequireAdmin(call));
    ASSIGN_OR_RETURN(bool removed, s->services.users.RemoveGroupMember(call.path.at("group"), call.path.at("user"),
                                                                        call.identity.Ref()));
    call.Reply(200, {{"group", call.path.at("group")}, {"user", call.path.at("user")}, {"removed", removed}});
    return Status::Ok();
  });
  add("GET", "/v1/tokens", true, [s](Call& call) {
    std::optional<std::string> user = call.Query("user");
    if (!call.identity.admin) {
      if (user && *user != call.identity.user) RETURN_IF_ERROR(RequireAdmin(call));
      user = call.identity.user;
    }
    ASSIGN_OR_RETURN(std::vector<TokenRecord> tokens,
                     s->services.users.ListTokens(user ? std::optional<std::string_view>(*user) : std::nullopt));
    json out = {{"tokens", json::array()}};
    for (const TokenRecord& token : tokens) out["tokens"].push_back(ToJson(token));
    call.Reply(200, out);
    return Status::Ok();
  });
  add("POST", "/v1/tokens", true, [s](Call& call) {
    ASSIGN_OR_RETURN(json body, ReadJsonBody(call, s->config.max_body_bytes));
    ASSIGN_OR_RETURN(BodyFields fields, BodyFields::Of(body));
    std::string user = call.identity.user;
    std::string description;
    std::optional<int64_t> days;
    RETURN_IF_ERROR(fields.String("user", user));
    RETURN_IF_ERROR(fields.String("description", description));
    RETURN_IF_ERROR(fields.OptionalInt("expires_in_days", days));
    RETURN_IF_ERROR(fields.Finish());
    if (user != call.identity.user) RETURN_IF_ERROR(RequireAdmin(call));
    // A token cannot outlive the one that made it, or a stolen short-lived token would mint a
    // permanent one. Admins (and `edl tokens create` on the server) are not bound by this.
    std::optional<std::string> not_after;
    if (!call.identity.admin) not_after = call.identity.token_expires_at;
    ASSIGN_OR_RETURN(IssuedToken issued,
                     s->services.users.CreateToken(user, description, days, call.identity.Ref(), not_after));
    json out = ToJson(issued.record);
    out["token"] = issued.secret;
    call.Reply(201, out);
    return Status::Ok();
  });
  add("DELETE", "/v1/tokens/{id}", true, [s](Call& call) {
    ASSIGN_OR_RETURN(int64_t id, PathNumber(call, "id", "the token id"));
    ASSIGN_OR_RETURN(TokenRecord token, s->services.users.GetToken(id));
    if (!call.identity.admin && token.user != call.identity.user) {
      return NotFound(fmt::format("token {} does not exist", id));
    }
    ASSIGN_OR_RETURN(TokenRecord revoked, s->services.users.RevokeToken(id, call.identity.Ref()));
    call.Reply(200, ToJson(revoked));
    return Status::Ok();
  });

  // ---- Grants and access requests.
  add("GET", "/v1/datasets/{name}/grants", true, [s](Call& call) {
    ASSIGN_OR_RETURN(AccessScope scope, ScopeOf(*s, call));
    bool include_revoked = false;
    if (auto text = call.Query("include_revoked")) {
      if (*text != "true" && *text != "false") {
        return InvalidArgument(fmt::format("include_revoked must be true or false, got '{}'", text->substr(0, 40)));
      }
      include_revoked = *text == "true";
    }
    ASSIGN_OR_RETURN(std::vector<GrantRecord> grants,
                     s->services.grants.ListDatasetGrants(scope, call.path.at("name"), include_revoked, Context(call)));
    json out = {{"grants", json::array()}};
    for (const GrantRecord& grant : grants) out["grants"].push_back(ToJson(grant));
    call.Reply(200, out);
    return Status::Ok();
  });
  add("POST", "/v1/datasets/{name}/grants", true, [s](Call& call) {
    ASSIGN_OR_RETURN(NewGrant grant, ReadNewGrant(call, *s, /*with_principal=*/true));
    ASSIGN_OR_RETURN(AccessScope scope, ScopeOf(*s, call));
    ASSIGN_OR_RETURN(GrantOutcome outcome, s->services.grants.AddGrant(scope, grant, Context(call)));
    if (outcome.pending) {
      call.response.set_header("Location", fmt::format("/v1/access-requests/{}", outcome.pending->id));
      call.Reply(202, {{"pending", ToJson(*outcome.pending)},
                       {"message", "dataset policy asks for two-person approval: another admin of the dataset must "
                                   "approve this access request"}});
    } else {
      call.Reply(201, ToJson(*outcome.grant));
    }
    return Status::Ok();
  });
  add("GET", "/v1/grants", true, [s](Call& call) {
    ASSIGN_OR_RETURN(AccessScope scope, ScopeOf(*s, call));
    ASSIGN_OR_RETURN(std::optional<Principal> principal, PrincipalQuery(call, "principal"));
    ASSIGN_OR_RETURN(std::vector<GrantRecord> grants, s->services.grants.ListPrincipalGrants(scope, principal));
    json out = {{"grants", json::array()}};
    for (const GrantRecord& grant : grants) out["grants"].push_back(ToJson(grant));
    call.Reply(200, out);
    return Status::Ok();
  });
  add("POST", "/v1/grants/{id}/revoke", true, [s](Call& call) {
    ASSIGN_OR_RETURN(int64_t id, PathNumber(call, "id", "the grant id"));
    ASSIGN_OR_RETURN(std::string reason, ReadReason(call, *s, /*required=*/false));
    ASSIGN_OR_RETURN(AccessScope scope, ScopeOf(*s, call));
    ASSIGN_OR_RETURN(GrantRecord revoked, s->services.grants.RevokeGrant(scope, id, reason, Context(call)));
    call.Reply(200, ToJson(revoked));
    return Status::Ok();
  });
  add("POST", "/v1/datasets/{name}/access-requests", true, [s](Call& call) {
    ASSIGN_OR_RETURN(NewGrant request, ReadNewGrant(call, *s, /*with_principal=*/false));
    ASSIGN_OR_RETURN(AccessScope scope, ScopeOf(*s, call));
    ASSIGN_OR_RETURN(AccessRequestRecord record, s->services.grants.RequestAccess(scope, request, Context(call)));
    call.response.set_header("Location", fmt::format("/v1/access-requests/{}", record.id));
    call.Reply(201, ToJson(record));
    return Status::Ok();
  });
  add("GET", "/v1/access-requests", true, [s](Call& call) {
    ASSIGN_OR_RETURN(AccessScope scope, ScopeOf(*s, call));
    AccessRequestFilter filter;
    if (auto state_text = call.Query("state")) {
      ASSIGN_OR_RETURN(filter.state, ParseAccessRequestState(*state_text));
    }
    if (auto dataset = call.Query("dataset")) filter.dataset = *dataset;
    ASSIGN_OR_RETURN(filter.limit, Limit(call));
    ASSIGN_OR_RETURN(filter.after_id, PageToken(call, 0, 0));
    ASSIGN_OR_RETURN(std::vector<AccessRequestRecord> requests, s->services.grants.ListRequests(scope, filter));
    json out = {{"requests", json::array()}};
    for (const AccessRequestRecord& r : requests) out["requests"].push_back(ToJson(r));
    out["next_page_token"] =
        NextPageToken(requests.size(), filter.limit, requests.empty() ? 0 : requests.back().id);
    call.Reply(200, out);
    return Status::Ok();
  });
  add("POST", "/v1/access-requests/{id}/approve", true, [s](Call& call) {
    ASSIGN_OR_RETURN(int64_t id, PathNumber(call, "id", "the access request id"));
    ASSIGN_OR_RETURN(std::string note, ReadReason(call, *s, /*required=*/false));
    ASSIGN_OR_RETURN(AccessScope scope, ScopeOf(*s, call));
    ASSIGN_OR_RETURN(AccessRequestRecord record, s->services.grants.Approve(scope, id, Context(call), note));
    call.Reply(200, ToJson(record));
    return Status::Ok();
  });
  add("POST", "/v1/access-requests/{id}/deny", true, [s](Call& call) {
    ASSIGN_OR_RETURN(int64_t id, PathNumber(call, "id", "the access request id"));
    ASSIGN_OR_RETURN(std::string reason, ReadReason(call, *s, /*required=*/true));
    ASSIGN_OR_RETURN(AccessScope scope, ScopeOf(*s, call));
    ASSIGN_OR_RETURN(AccessRequestRecord record, s->services.grants.Deny(scope, id, reason, Context(call)));
    call.Reply(200, ToJson(record));
    return Status::Ok();
  });

  // ---- Audit.
  add("GET", "/v1/audit", true, [s](Call& call) {
    AuditQuery query;
    if (auto target = call.Query("target")) query.target = *target;
    if (auto actor = call.Query("principal")) query.actor = *actor;
    if (auto dataset = call.Query("dataset")) query.dataset = *dataset;
    if (auto action = call.Query("action")) query.action = *action;
    if (auto since = call.Query("since")) {
      ASSIGN_OR_RETURN(query.since, AuditTime("since", *since));
    }
    if (auto until = call.Query("until")) {
      ASSIGN_OR_RETURN(query.until, AuditTime("until", *until));
    }
    if (auto decision = call.Query("decision")) {
      if (*decision != "allow" && *decision != "deny") {
        return InvalidArgument(fmt::format("decision must be allow or deny, got '{}'", decision->substr(0, 40)));
      }
      query.decision = *decision;
    }
    if (auto after = call.Query("after")) {
      ASSIGN_OR_RETURN(query.after_seq, ParseWhole("after", *after, 0, std::numeric_limits<int64_t>::max()));
    }
    ASSIGN_OR_RETURN(query.after_seq, PageToken(call, query.after_seq, 0));
    ASSIGN_OR_RETURN(query.limit, Limit(call));
    std::string format = call.Query("format").value_or("json");
    if (format != "json" && format != "jsonl") {
      return InvalidArgument(fmt::format("format must be json or jsonl, got '{}'", format.substr(0, 40)));
    }
    // Instance admins read the whole log; a dataset's admins read what concerns their dataset.
    if (!call.identity.admin) {
      if (!query.dataset) {
        return PermissionDenied(fmt::format("user '{}' is not an instance admin: ask for one dataset you administer "
                                            "with ?dataset=NAME",
                                            call.identity.user));
      }
      ASSIGN_OR_RETURN(DatasetSummary summary, GetDatasetSummary(s->services.catalog, *query.dataset));
      ASSIGN_OR_RETURN(AccessScope scope, ScopeOf(*s, call));
      RETURN_IF_ERROR(
          s->services.authorizer.Require(scope, summary.record, DatasetAction::kAdmin, Context(call, "audit.read")));
    }
    // Read-your-writes: the decisions this server made so far (this request's too) are in the log.
    RETURN_IF_ERROR(s->services.authorizer.FlushAudit());
    ASSIGN_OR_RETURN(std::vector<AuditEvent> events, ListAuditEvents(s->services.catalog, query));
    if (format == "jsonl") {
      std::string lines;
      for (const AuditEvent& event : events) lines += ToJson(event).dump() + "\n";
      call.response.status = 200;
      call.response.set_content(lines, "application/x-ndjson");
      return Status::Ok();
    }
    json out = {{"events", json::array()}};
    for (const AuditEvent& event : events) out["events"].push_back(ToJson(event));
    out["next_page_token"] = NextPageToken(events.size(), query.limit, events.empty() ? 0 : events.back().seq);
    call.Reply(200, out);
    return Status::Ok();
  });
  return routes;
}

}  // namespace edl::http
