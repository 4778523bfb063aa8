#include <pwd.h>
#include <unistd.h>

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "access/authorizer.h"
#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/plan_render.h"
#include "core/config.h"
#include "core/serialize.h"
#include "deploy/deploy.h"
#include "deploy/inventory.h"
#include "lake/lake.h"

namespace edl::cli {



std::string LocalActor() {
  const passwd* pw = getpwuid(geteuid());
  return fmt::format("local:{}", pw != nullptr ? pw->pw_name : std::to_string(geteuid()));
}

Result<InstanceConfig> LoadConfig(const GlobalOptions& options) {
  return LoadInstanceConfig(FindInstanceConfig(options.config_path));
}

Result<std::unique_ptr<Lake>> OpenDeployedLake(const InstanceConfig& config, const Clock& clock) {
  ASSIGN_OR_RETURN(auto lake, OpenExistingLake(config, clock));
  if (lake->catalog == nullptr) {
    return NotFound(fmt::format("instance '{}' is not deployed yet (no catalog at {}); run `edl deploy -c {}` first",
                                config.instance, RedactCatalogUrl(config.catalog.url), config.source_file));
  }
  return lake;
}

Status RunDeploy(const GlobalOptions& options, bool plan_only, const Clock& clock) {
  ASSIGN_OR_RETURN(InstanceConfig config, LoadConfig(options));
  // The plan is made against what exists before anything is created, so a first deploy lists the
  // catalog schema and storage root among the things it creates.
  Result<Plan> plan = Internal("no plan");
  {
    ASSIGN_OR_RETURN(auto existing, OpenExistingLake(config, clock));
    plan = Deployer(config, existing->catalog.get(), existing->store.get(), clock, LocalActor()).PlanInstance();
    RETURN_IF_ERROR(plan.status());
  }
  if (!plan_only) {
    ASSIGN_OR_RETURN(auto lake, OpenLake(config, clock));
    RETURN_IF_ERROR(Deployer(config, lake->catalog.get(), lake->store.get(), clock, LocalActor()).ApplyInstance().status());
  }
  if (options.format() == OutputFormat::kJson) {
    PrintJson(std::cout, PlanToJson(*plan, !plan_only));
  } else {
    PrintPlan(std::cout, *plan, !plan_only);
  }
  return Status::Ok();
}

Status RunDeployDataset(const GlobalOptions& options, const std::vector<std::string>& files, bool plan_only,
                        const Clock& clock) {
  ASSIGN_OR_RETURN(InstanceConfig config, LoadConfig(options));
  // Every file is validated before any is applied, so one bad file changes nothing.
  std::vector<DatasetSpec> specs;
  for (const std::string& file : files) {
    ASSIGN_OR_RETURN(DatasetSpec spec, LoadDatasetSpec(file, config));
    for (size_t i = 0; i < specs.size(); ++i) {
      if (specs[i].name == spec.name) {
        return InvalidArgument(fmt::format("{} and {} both declare dataset '{}'", files[i], file, spec.name));
      }
    }
    specs.push_back(std::move(spec));
  }
  ASSIGN_OR_RETURN(auto lake, OpenDeployedLake(config, clock));
  Deployer deployer(config, lake->catalog.get(), lake->store.get(), clock, LocalActor());
  for (size_t i = 0; i < specs.size(); ++i) RETURN_IF_ERROR(deployer.CheckDeclaredGrants(specs[i], files[i]));
  nlohmann::json plans = nlohmann::json::array();
  for (size_t i = 0; i < specs.size(); ++i) {
    Result<Plan> plan = plan_only ? deployer.PlanDataset(specs[i], files[i]) : deployer.ApplyDataset(specs[i], files[i]);
    RETURN_IF_ERROR(plan.status());
    if (options.format() == OutputFormat::kJson) {
      plans.push_back(PlanToJson(*plan, !plan_only));
    } else {
      PrintPlan(std::cout, *plan, !plan_only);
    }
  }
  if (options.format() == OutputFormat::kJson) PrintJson(std::cout, plans);
  return Status::Ok();
}

Status RunDatasets(const GlobalOptions& options, const Clock& clock) {
  ASSIGN_OR_RETURN(InstanceConfig config, LoadConfig(options));
  ASSIGN_OR_RETURN(auto lake, OpenDeployedLake(config, clock));
  ASSIGN_OR_RETURN(auto datasets, ListDatasets(*lake->catalog));
  if (options.format() == OutputFormat::kJson) {
    nlohmann::json out = nlohmann::json::array();
    for (const DatasetSummary& d : datasets) {
      nlohmann::json item = ToJson(d.record);
      item["updates_count"] = d.updates;
      out.push_back(std::move(item));
    }
    PrintJson(std::cout, out);
    return Status::Ok();
  }
  std::vector<std::vector<std::string>> rows;
  for (const DatasetSummary& d : datasets) {
    const DatasetSpec& s = d.record.spec;
    rows.push_back({s.name, std::string(TierName(s.tier)), s.region, std::string(UpdateKindName(s.updates.kind)),
                    std::to_string(d.updates), Join(s.owners), s.description});
  }
  PrintTable(std::cout, {"NAME", "TIER", "REGION", "KIND", "UPDATES", "OWNERS", "DESCRIPTION"}, rows);
  return Status::Ok();
}

namespace {

std::string DescribeQc(const QcCheck& qc) {
  std::string out = qc.check;
  if (!qc.columns.empty()) out += " " + Join(qc.columns);
  if (!qc.values.empty()) out += " in [" + Join(qc.values) + "]";
  if (qc.min) out += fmt::format(" min {}", *qc.min);
  if (qc.max) out += fmt::format(" max {}", *qc.max);
  if (!qc.pattern.empty()) out += " ~ " + qc.pattern;
  if (!qc.sql.empty()) out += ": " + qc.sql;
  return out;
}

}  // namespace

Status RunShow(const GlobalOptions& options, const std::string& name, const Clock& clock) {
  ASSIGN_OR_RETURN(InstanceConfig config, LoadConfig(options));
  ASSIGN_OR_RETURN(auto lake, OpenDeployedLake(config, clock));
  ASSIGN_OR_RETURN(DatasetDetails d, DescribeDataset(*lake->catalog, name));
  if (options.format() == OutputFormat::kJson) {
    nlohmann::json out = ToJson(d.record);
    out["updates_count"] = d.updates;
    out["roles"] = nlohmann::json::array();
    for (const RoleRecord& role : d.roles) out["roles"].push_back(ToJson(role));
    out["active_grants"] = nlohmann::json::array();
    for (const GrantRecord& grant : d.grants) out["active_grants"].push_back(ToJson(grant));
    PrintJson(std::cout, out);
    return Status::Ok();
  }
  const DatasetSpec& s = d.record.spec;
  const DatasetPolicy& p = s.policy;
  std::string kind(UpdateKindName(s.updates.kind));
  if (s.updates.kind == UpdateKind::kDelta) {
    kind += fmt::format(" (keys: {}; op column: {}{})", Join(s.updates.keys), s.updates.op_column,
                        s.updates.order_by.empty() ? "" : "; ordered by " + s.updates.order_by);
  }
  std::vector<std::pair<std::string, std::string>> fields = {
      {"name", s.name},
      {"description", s.description},
      {"tier", std::string(TierName(s.tier))},
      {"region", s.region},
      {"bucket", d.record.bucket},
      {"owners", Join(s.owners)},
      {"updates", fmt::format("{} ({})", d.updates, kind)},
      {"classification", p.classification},
      {"contains pii", p.contains_pii ? "yes" : "no"},
      {"retention", p.retention_days ? fmt::format("{} days", *p.retention_days) : "not set"},
      {"allowed purposes", Join(p.allowed_purposes)},
      {"legal basis", p.legal_basis},
      {"max grant", p.max_grant_days      ? fmt::format("{} days", *p.max_grant_days)
                    : MaxGrantDays(d.record) ? fmt::format("{} days (default)", *MaxGrantDays(d.record))
                                             : "not set"},
      {"two-person approval", p.two_person_approval ? "yes" : "no"},
      {"schema changes", std::string(SchemaChangePolicyName(s.schema_changes))},
      {"format", s.format.type.empty() ? "sniffed" : s.format.type},
      {"generation", std::to_string(d.record.generation)},
      {"created", d.record.created_at},
      {"updated", d.record.updated_at},
  };
  for (const QcCheck& qc : s.qc) fields.push_back({"qc", DescribeQc(qc)});
  for (const Trigger& trigger : s.triggers) fields.push_back({"trigger", "pipeline " + trigger.pipeline});
  PrintFields(std::cout, fields);
  std::cout << "\nroles:\n";
  for (const RoleRecord& role : d.roles) std::cout << "  " << role.name << "\n";
  std::cout << "\nactive grants:\n";
  if (d.grants.empty()) std::cout << "  (none)\n";
  for (const GrantRecord& g : d.grants) {
    std::cout << fmt::format("  {} -> {}  (by {}, {}{})\n", g.role, PrincipalRef(g.principal), g.granted_by, g.reason,
                             g.expires_at ? ", expires " + *g.expires_at : "");
  }
  return Status::Ok();
}

Status RunAudit(const GlobalOptions& options, const std::string& target, int64_t limit, const Clock& clock) {
  ASSIGN_OR_RETURN(InstanceConfig config, LoadConfig(options));
  ASSIGN_OR_RETURN(auto lake, OpenDeployedLake(config, clock));
  AuditQuery query;
  query.limit = limit;
  if (!target.empty()) query.target = target;
  ASSIGN_OR_RETURN(auto events, ListAuditEvents(*lake->catalog, query));
  if (options.format() == OutputFormat::kJson) {
    nlohmann::json out = nlohmann::json::array();
    for (const AuditEvent& e : events) out.push_back(ToJson(e));
    PrintJson(std::cout, out);
    return Status::Ok();
  }
  std::vector<std::vector<std::string>> rows;
  for (const AuditEvent& e : events) {
    rows.push_back({std::to_string(e.seq), e.at, e.actor, e.action, e.target, e.decision});
  }
  PrintTable(std::cout, {"SEQ", "AT", "ACTOR", "ACTION", "TARGET", "DECISION"}, rows);
  return Status::Ok();
}

Status RunAuditVerify(const GlobalOptions& options, const Clock& clock) {
  ASSIGN_OR_RETURN(InstanceConfig config, LoadConfig(options));
  ASSIGN_OR_RETURN(auto lake, OpenDeployedLake(config, clock));
  RETURN_IF_ERROR(VerifyAuditLog(*lake->catalog));
  if (options.format() == OutputFormat::kJson) {
    PrintJson(std::cout, {{"verified", true}});
  } else {
    std::cout << "Audit log verified: the hash chain is intact.\n";
  }
  return Status::Ok();
}

}  // namespace edl::cli
