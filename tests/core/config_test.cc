#include "core/config.h"

#include <cstdlib>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/subprocess.h"
#include "testing/temp_dir.h"

namespace edl {
namespace {

using ::testing::HasSubstr;
using ::testing::AllOf;

constexpr char kInstance[] = R"(
instance: dev01
regions: [eu-west-1, us-east-1]
default_region: eu-west-1
storage: {backend: local, root: ./data}
catalog: {url: "sqlite:./data/catalog.db"}
engine: {memory_limit: 2GB, threads: 4}
)";

InstanceConfig Instance() {
  auto config = ParseInstanceConfig(kInstance, "edl.yaml", "/srv/edl");
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return *config;
}

Status InstanceError(const std::string& yaml) {
  auto config = ParseInstanceConfig(yaml, "edl.yaml", "/srv/edl");
  EXPECT_FALSE(config.ok()) << yaml;
  return config.status();
}

Status DatasetError(const std::string& yaml) {
  auto spec = ParseDatasetSpec(yaml, "ds.yaml", Instance());
  EXPECT_FALSE(spec.ok()) << yaml;
  return spec.status();
}

constexpr char kMinimalDataset[] = "name: orders\ntier: restricted\nowners: [alice]\n";

TEST(InstanceConfig, ParsesAllFieldsAndResolvesPathsAgainstTheFile) {
  InstanceConfig c = Instance();
  EXPECT_EQ(c.instance, "dev01");
  EXPECT_EQ(c.bucket_prefix, "datalake");
  EXPECT_EQ(c.regions, (std::vector<std::string>{"eu-west-1", "us-east-1"}));
  EXPECT_EQ(c.storage.root, "/srv/edl/data");
  EXPECT_EQ(c.catalog.url, "sqlite:/srv/edl/data/catalog.db");
  EXPECT_EQ(c.engine.memory_limit_bytes, 2'000'000'000);
  EXPECT_EQ(c.engine.threads, 4);
}

TEST(InstanceConfig, DefaultsFillWhatIsLeftOut) {
  auto c = ParseInstanceConfig("instance: uat\nregions: [eu-west-1]\n", "edl.yaml", "/x");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->default_region, "eu-west-1");
  EXPECT_EQ(c->storage.root, "/x/edl-data");
  EXPECT_EQ(c->catalog.url, "sqlite:/x/edl-data/catalog.db");
}

TEST(InstanceConfig, RejectsInvalidYamlWithLine) {
  Status s = InstanceError("instance: dev01\nregions: [eu-west-1\n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("edl.yaml:"));
  EXPECT_THAT(s.message(), HasSubstr("invalid YAML"));
}

TEST(InstanceConfig, RejectsUnknownKeyWithSuggestion) {
  Status s = InstanceError("instance: dev01\nregions: [eu-west-1]\nregoins: [x]\n");
  EXPECT_THAT(s.message(), HasSubstr("'regoins'"));
  EXPECT_THAT(s.message(), HasSubstr("did you mean 'regions'"));
  EXPECT_THAT(s.message(), HasSubstr("edl.yaml:3"));
}

TEST(InstanceConfig, RejectsMissingFields) {
  EXPECT_THAT(InstanceError("regions: [eu-west-1]\n").message(), HasSubstr("'instance': is required"));
  EXPECT_THAT(InstanceError("instance: dev01\n").message(), HasSubstr("'regions': is required"));
}

TEST(InstanceConfig, RejectsWrongTypes) {
  EXPECT_THAT(InstanceError("instance: dev01\nregions: eu-west-1\n").message(), HasSubstr("expected a list"));
  EXPECT_THAT(InstanceError("instance: [a]\nregions: [eu-west-1]\n").message(), HasSubstr("expected a text value"));
  EXPECT_THAT(InstanceError("instance: dev01\nregions: [eu-west-1]\nengine: {threads: many}\n").message(),
              HasSubstr("'engine.threads': expected a whole number, got 'many'"));
  EXPECT_THAT(InstanceError("instance: dev01\nregions: [eu-west-1]\nengine: {memory_limit: 4 parsecs}\n").message(),
              HasSubstr("unknown unit"));
}

TEST(InstanceConfig, RejectsBadNames) {
  EXPECT_THAT(InstanceError("instance: Dev01\nregions: [eu-west-1]\n").message(), HasSubstr("instance name"));
  EXPECT_THAT(InstanceError("instance: dev 01\nregions: [eu-west-1]\n").message(), HasSubstr("a space"));
  EXPECT_THAT(InstanceError("instance: ''\nregions: [eu-west-1]\n").message(), HasSubstr("empty"));
  EXPECT_THAT(InstanceError("instance: dev01\nregions: [EU]\n").message(), HasSubstr("regions[0]"));
  EXPECT_THAT(InstanceError("instance: dev01\nregions: [eu-west-1]\nbucket_prefix: '..'\n").message(),
              HasSubstr("bucket prefix"));
}

TEST(InstanceConfig, RejectsBucketNamesOverTheLimit) {
  Status s = InstanceError("instance: " + std::string(40, 'a') + "\nregions: [eu-west-1]\n");
  EXPECT_THAT(s.message(), HasSubstr("limit is 63"));
}

TEST(InstanceConfig, RejectsDefaultRegionOutsideRegions) {
  EXPECT_THAT(InstanceError("instance: dev01\nregions: [eu-west-1]\ndefault_region: us-east-1\n").message(),
              HasSubstr("not one of the instance's regions"));
}

TEST(InstanceConfig, RejectsUnsupportedBackendsWithoutLeakingSecrets) {
  EXPECT_THAT(InstanceError("instance: dev01\nregions: [eu-west-1]\nstorage: {backend: ftp, root: /x}\n").message(),
              HasSubstr("unknown storage backend 'ftp'"));
  Status s = InstanceError("instance: dev01\nregions: [eu-west-1]\ncatalog: {url: 'postgresql://bob:hunter2@db/edl'}\n");
  EXPECT_THAT(s.message(), HasSubstr("'postgresql'"));
  EXPECT_THAT(s.message(), ::testing::Not(HasSubstr("hunter2")));
}

TEST(InstanceConfig, ParsesIngestLimits) {
  auto c = ParseInstanceConfig("instance: dev01\nregions: [eu-west-1]\ningest: {max_source_bytes: 10GB, "
                               "max_unpacked_bytes: 1GiB, max_archive_entries: 50, http_timeout_seconds: 5, "
                               "keep_failed_days: 30}\n",
                               "edl.yaml", "/x");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->ingest.max_source_bytes, 10'000'000'000);
  EXPECT_EQ(c->ingest.max_unpacked_bytes, 1LL << 30);
  EXPECT_EQ(c->ingest.max_archive_entries, 50);
  EXPECT_EQ(c->ingest.http_timeout_seconds, 5);
  EXPECT_EQ(c->ingest.keep_failed_days, 30);
}

TEST(InstanceConfig, RejectsBadIngestLimits) {
  const std::string head = "instance: dev01\nregions: [eu-west-1]\n";
  EXPECT_THAT(InstanceError(head + "ingest: {max_source_bytes: lots}\n").message(),
              HasSubstr("'ingest.max_source_bytes'"));
  EXPECT_THAT(InstanceError(head + "ingest: {keep_failed_days: 0}\n").message(),
              HasSubstr("'ingest.keep_failed_days': must be at least 1"));
  EXPECT_THAT(InstanceError(head + "ingest: {max_archive_entries: many}\n").message(),
              HasSubstr("expected a whole number, got 'many'"));
  EXPECT_THAT(InstanceError(head + "ingest: {max_sourc_bytes: 1GB}\n").message(),
              HasSubstr("did you mean 'max_source_bytes'"));
}

TEST(InstanceConfig, ParsesServerAndJobsSettings) {
  auto c = ParseInstanceConfig("instance: dev01\nregions: [eu-west-1]\n"
                               "server: {http: '0.0.0.0:9443', tls_cert: certs/c.pem, tls_key: certs/k.pem, threads: 8, "
                               "max_body_bytes: 64KB, read_timeout_seconds: 5, shutdown_grace_seconds: 0, json_logs: true}\n"
                               "jobs: {workers: 0, lease_seconds: 10, max_attempts: 5, poll_interval_ms: 50}\n"
                               "ingest: {allow_private_addresses: true}\n",
                               "edl.yaml", "/x");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.http, "0.0.0.0:9443");
  EXPECT_EQ(c->server.tls_cert, "/x/certs/c.pem");  // relative to the config file
  EXPECT_EQ(c->server.tls_key, "/x/certs/k.pem");
  EXPECT_EQ(c->server.threads, 8);
  EXPECT_EQ(c->server.max_body_bytes, 64'000);
  EXPECT_EQ(c->server.read_timeout_seconds, 5);
  EXPECT_EQ(c->server.shutdown_grace_seconds, 0);
  EXPECT_TRUE(c->server.json_logs);
  EXPECT_EQ(c->jobs.workers, 0);
  EXPECT_EQ(c->jobs.lease_seconds, 10);
  EXPECT_EQ(c->jobs.max_attempts, 5);
  EXPECT_EQ(c->jobs.poll_interval_ms, 50);
  EXPECT_TRUE(c->ingest.allow_private_addresses);
}

TEST(InstanceConfig, RejectsBadServerAndJobsSettings) {
  const std::string head = "instance: dev01\nregions: [eu-west-1]\n";
  EXPECT_THAT(InstanceError(head + "server: {tls_cert: c.pem}\n").message(),
              HasSubstr("tls_cert and tls_key go together"));
  EXPECT_THAT(InstanceError(head + "server: {threads: 0}\n").message(),
              HasSubstr("'server.threads': must be between 1 and 4096"));
  EXPECT_THAT(InstanceError(head + "server: {max_body_bytes: huge}\n").message(),
              HasSubstr("'server.max_body_bytes'"));
  EXPECT_THAT(InstanceError(head + "server: {json_logs: maybe}\n").message(), HasSubstr("expected true or false"));
  EXPECT_THAT(InstanceError(head + "server: {read_timeout: 5}\n").message(),
              AllOf(HasSubstr("unknown key in server"), HasSubstr("read_timeout_seconds")));
  EXPECT_THAT(InstanceError(head + "jobs: {workers: -1}\n").message(),
              HasSubstr("'jobs.workers': must be between 0 and 256"));
  EXPECT_THAT(InstanceError(head + "jobs: {max_attempts: 0}\n").message(), HasSubstr("'jobs.max_attempts'"));
  EXPECT_THAT(InstanceError(head + "jobs: {poll_interval_ms: 1}\n").message(),
              HasSubstr("'jobs.poll_interval_ms': must be between 10 and 60000"));
  EXPECT_THAT(InstanceError(head + "jobs: [1]\n").message(), HasSubstr("jobs"));
}

TEST(InstanceConfig, MissingFileIsNotFound) {
  auto c = LoadInstanceConfig("/nonexistent/edl.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("/nonexistent/edl.yaml"));
}

TEST(InstanceConfig, EmptyFileIsAnError) {
  testing::TempDir dir;
  auto c = LoadInstanceConfig(dir.WriteFile("edl.yaml", ""));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("empty"));
}

TEST(InstanceConfig, FindsConfigFromFlagThenEnvironment) {
  EXPECT_EQ(FindInstanceConfig("a.yaml"), "a.yaml");
  setenv("EDL_CONFIG", "/etc/edl/edl.yaml", 1);
  EXPECT_EQ(FindInstanceConfig(""), "/etc/edl/edl.yaml");
  unsetenv("EDL_CONFIG");
  EXPECT_EQ(FindInstanceConfig(""), "edl.yaml");
}

TEST(DatasetSpec, ParsesEveryField) {
  auto spec = ParseDatasetSpec(R"yaml(
name: sales-orders
tier: restricted
region: us-east-1
description: Orders
owners: [alice, bob]
policy:
  classification: confidential
  contains_pii: true
  retention_days: 3650
  allowed_purposes: [analytics, finance]
  legal_basis: contract
  max_grant_days: 90
  two_person_approval: true
updates: {kind: delta, keys: [order_id], op_column: op, order_by: changed_at}
format: {type: csv, delimiter: ";", quote: "'", escape: "\\", header: false, null_strings: ["", NA],
         date_format: "%d.%m.%Y", timestamp_format: "%d.%m.%Y %H:%M", column_types: {amount: "DECIMAL(12,2)"}}
schema_changes: fail
qc:
  - {check: not_null, column: order_id}
  - {check: unique, columns: [order_id, line]}
  - {check: accepted_values, column: op, values: [I, U, D]}
  - {check: range, column: amount, min: 0, max: 1e6}
  - {check: regex, column: sku, pattern: "^[A-Z]{3}$"}
  - {check: row_count, min: 1}
  - {check: sql, sql: "SELECT * FROM data WHERE amount < 0"}
grants:
  - {principal: group:finance, level: read}
  - {principal: user:dave, level: write, justification: "loads, TICKET-7", until: 2026-03-01}
triggers:
  - {pipeline: orders-daily}
require_conversion: true
)yaml", "ds.yaml", Instance());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->name, "sales-orders");
  EXPECT_EQ(spec->tier, Tier::kRestricted);
  EXPECT_EQ(spec->region, "us-east-1");
  EXPECT_EQ(spec->owners.size(), 2u);
  EXPECT_TRUE(spec->policy.contains_pii);
  EXPECT_EQ(spec->policy.max_grant_days, 90);
  EXPECT_EQ(spec->updates.kind, UpdateKind::kDelta);
  EXPECT_EQ(spec->updates.keys, std::vector<std::string>{"order_id"});
  EXPECT_EQ(spec->format.delimiter, ";");
  EXPECT_EQ(spec->format.header, false);
  EXPECT_EQ(spec->format.column_types.at("amount"), "DECIMAL(12,2)");
  EXPECT_EQ(spec->schema_changes, SchemaChangePolicy::kFail);
  ASSERT_EQ(spec->qc.size(), 7u);
  EXPECT_EQ(spec->qc[0].columns, std::vector<std::string>{"order_id"});
  EXPECT_EQ(spec->qc[3].max, 1e6);
  EXPECT_TRUE(spec->policy.two_person_approval);
  EXPECT_EQ(spec->grants.at(0).principal.name, "finance");
  EXPECT_EQ(spec->grants.at(0).justification, "");
  EXPECT_EQ(spec->grants.at(0).until, std::nullopt);
  EXPECT_EQ(spec->grants.at(1).level, AccessLevel::kWrite);
  EXPECT_EQ(spec->grants.at(1).justification, "loads, TICKET-7");
  EXPECT_EQ(spec->grants.at(1).until, "2026-03-01");
  EXPECT_EQ(spec->triggers.at(0).pipeline, "orders-daily");
  EXPECT_TRUE(spec->require_conversion);
}

TEST(DatasetSpec, RegionDefaultsToTheInstanceDefault) {
  auto spec = ParseDatasetSpec(kMinimalDataset, "ds.yaml", Instance());
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->region, "eu-west-1");
  EXPECT_EQ(spec->updates.kind, UpdateKind::kSnapshot);
}

TEST(DatasetSpec, ErrorsNameTheFileAndField) {
  Status s = DatasetError("name: orders\ntier: secret\nowners: [alice]\n");
  EXPECT_THAT(s.message(), HasSubstr("ds.yaml:2: field 'tier': unknown tier 'secret'"));
}

TEST(DatasetSpec, RejectsUnknownKeysWithSuggestion) {
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) + "desciption: x\n").message(),
              HasSubstr("did you mean 'description'"));
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) + "policy: {clasification: x}\n").message(),
              HasSubstr("did you mean 'classification'"));
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) + "colour: red\n").message(),
              HasSubstr("unknown key in the dataset file"));
}

TEST(DatasetSpec, RejectsMissingFields) {
  EXPECT_THAT(DatasetError("tier: internal\nowners: [a]\n").message(), HasSubstr("'name': is required"));
  EXPECT_THAT(DatasetError("name: x\nowners: [a]\n").message(), HasSubstr("'tier': is required"));
  EXPECT_THAT(DatasetError("name: x\ntier: internal\n").message(), HasSubstr("'owners': is required"));
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) + "updates: {kind: delta, op_column: op}\n").message(),
              HasSubstr("at least one key column"));
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) + "qc: [{check: not_null}]\n").message(),
              HasSubstr("needs 'column'"));
}

TEST(DatasetSpec, RejectsWrongTypes) {
  EXPECT_THAT(DatasetError("name: x\ntier: internal\nowners: alice\n").message(), HasSubstr("expected a list"));
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) + "policy: {retention_days: forever}\n").message(),
              HasSubstr("'policy.retention_days': expected a whole number, got 'forever'"));
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) + "policy: {contains_pii: maybe}\n").message(),
              HasSubstr("expected true or false"));
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) + "policy: [a]\n").message(), HasSubstr("expected a mapping"));
  EXPECT_THAT(DatasetError("- a\n- b\n").message(), HasSubstr("expected a mapping"));
}

TEST(DatasetSpec, RejectsBadNames) {
  for (const std::string& bad : std::vector<std::string>{"Orders", "my orders", "..", "''", std::string(64, 'a')}) {
    Status s = DatasetError("name: " + bad + "\ntier: internal\nowners: [a]\n");
    EXPECT_THAT(s.message(), HasSubstr("field 'name'")) << bad;
  }
}

TEST(DatasetSpec, RejectsRegionOfAnotherInstance) {
  Status s = DatasetError(std::string(kMinimalDataset) + "region: ap-south-1\n");
  EXPECT_THAT(s.message(), HasSubstr("region 'ap-south-1' is not one of instance 'dev01''s regions"));
}

TEST(DatasetSpec, SensitivePolicyDefaults) {
  // max_grant_days may be left out (the Authorizer applies 90); two-person approval is off.
  auto spec = ParseDatasetSpec("name: x\ntier: sensitive\nowners: [a]\n", "ds.yaml", Instance());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->policy.max_grant_days, std::nullopt);
  EXPECT_FALSE(spec->policy.two_person_approval);
}

TEST(DatasetSpec, ParsesTwoPersonApproval) {
  auto spec = ParseDatasetSpec("name: x\ntier: sensitive\nowners: [a]\npolicy: {two_person_approval: yes}\n", "ds.yaml",
                               Instance());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_TRUE(spec->policy.two_person_approval);
  Status s = DatasetError("name: x\ntier: sensitive\nowners: [a]\npolicy:\n  two_person_approval: twice\n");
  EXPECT_THAT(s.message(),
              HasSubstr("ds.yaml:5: field 'policy.two_person_approval': expected true or false, got 'twice'"));
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) + "policy: {two_person_aproval: true}\n").message(),
              HasSubstr("did you mean 'two_person_approval'"));
}

TEST(DatasetSpec, SensitiveGrantsAreCheckedAtDeployNotHere) {
  // The tier rules need the clock and live in the Authorizer; deploy applies them
  // (tests/deploy). The file only has to be well formed.
  auto spec = ParseDatasetSpec(
      "name: x\ntier: sensitive\nowners: [a]\n"
      "grants: [{principal: group:all, level: read}]\n",
      "ds.yaml", Instance());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->grants.size(), 1u);
}

TEST(DatasetSpec, ParsesGrantJustificationAndUntil) {
  auto spec = ParseDatasetSpec(std::string(kMinimalDataset) +
                                   "grants:\n  - principal: user:dave\n    level: read\n"
                                   "    justification: audit of Q3\n    until: 2028-02-29\n",
                               "ds.yaml", Instance());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->grants.at(0).justification, "audit of Q3");
  EXPECT_EQ(spec->grants.at(0).until, "2028-02-29");
}

TEST(DatasetSpec, RejectsBadGrantUntilAndJustification) {
  for (const std::string& bad :
       {"2026-13-01", "2027-02-29", "2026-3-1", "tomorrow", "2026-03-01T00:00:00Z", "1969-12-31"}) {
    Status s = DatasetError(std::string(kMinimalDataset) +
                            "grants:\n  - principal: user:dave\n    level: read\n"
                            "    until: \"" +
                            bad + "\"\n");
    EXPECT_THAT(s.message(), HasSubstr("ds.yaml:7: field 'grants[0].until': expected a date written YYYY-MM-DD "
                                       "(the grant ends at 00:00 UTC that day), got '" +
                                       bad + "'"))
        << bad;
  }
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) +
                           "grants: [{principal: user:dave, level: read, until: [2026-03-01]}]\n")
                  .message(),
              HasSubstr("field 'grants[0].until': expected a text value, got a list"));
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) +
                           "grants: [{principal: user:dave, level: read, justification: {why: audit}}]\n")
                  .message(),
              HasSubstr("field 'grants[0].justification': expected a text value, got a mapping"));
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) +
                           "grants: [{principal: user:dave, level: read, justfication: audit}]\n")
                  .message(),
              AllOf(HasSubstr("unknown key in a grant"), HasSubstr("did you mean 'justification'")));
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) +
                           "grants: [{principal: user:dave, level: read, expires: 2026-03-01}]\n")
                  .message(),
              AllOf(HasSubstr("field 'grants[0].expires': unknown key in a grant"), HasSubstr("until")));
}

TEST(DatasetSpec, GrantListedTwiceWithOtherDetailsIsAnError) {
  Status s = DatasetError(std::string(kMinimalDataset) +
                          "grants:\n  - {principal: user:dave, level: read, until: 2026-03-01}\n"
                          "  - {principal: user:dave, level: read, until: 2026-04-01}\n");
  EXPECT_THAT(s.message(), HasSubstr("ds.yaml:6: field 'grants[1]': grant of read to user:dave is listed twice"));
}

TEST(DatasetSpec, RejectsBadGrantsAndChecks) {
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) + "grants: [{principal: finance, level: read}]\n").message(),
              HasSubstr("KIND:NAME"));
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) + "grants: [{principal: user:a, level: owner}]\n").message(),
              HasSubstr("unknown access level 'owner'"));
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) + "qc: [{check: fuzzy, column: a}]\n").message(),
              HasSubstr("unknown check 'fuzzy'"));
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) + "qc: [{check: range, column: a, min: 5, max: 1}]\n").message(),
              HasSubstr("min is greater than max"));
  EXPECT_THAT(DatasetError(std::string(kMinimalDataset) + "format: {delimiter: ';;'}\n").message(),
              HasSubstr("single character"));
}

TEST(DatasetSpec, ExampleFilesAreValid) {
  std::string source = testing::SourceDir().string();
  auto instance = LoadInstanceConfig(std::string(source) + "/examples/edl.yaml");
  ASSERT_TRUE(instance.ok()) << instance.status().ToString();
  int kinds_seen[2] = {0, 0};
  int tiers_seen[3] = {0, 0, 0};
  for (const char* file : {"web-traffic", "sales-orders", "patient-visits"}) {
    auto spec = LoadDatasetSpec(std::string(source) + "/examples/datasets/" + file + ".yaml", *instance);
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    kinds_seen[static_cast<int>(spec->updates.kind)]++;
    tiers_seen[static_cast<int>(spec->tier)]++;
  }
  EXPECT_EQ(tiers_seen[0] * tiers_seen[1] * tiers_seen[2], 1) << "one example per tier";
  EXPECT_GE(kinds_seen[1], 1) << "at least one delta example";
}

}  // namespace
}  // namespace edl
