#include "core/serialize.h"

#include <nlohmann/json.hpp>
#include <gtest/gtest.h>

#include "core/config.h"

namespace edl {
namespace {

TEST(Serialize, DatasetSpecRoundTripsThroughJson) {
  InstanceConfig instance;
  instance.instance = "dev01";
  instance.regions = {"eu-west-1"};
  instance.default_region = "eu-west-1";
  auto spec = ParseDatasetSpec(R"(
name: orders
tier: sensitive
owners: [alice]
policy: {classification: secret, contains_pii: true, retention_days: 10, allowed_purposes: [a], legal_basis: consent, max_grant_days: 7}
updates: {kind: delta, keys: [id], op_column: op}
format: {type: csv, header: true, null_strings: [NA], column_types: {id: BIGINT}}
qc: [{check: range, column: x, min: 1.5}, {check: sql, sql: "select 1"}]
grants: [{principal: user:bob, level: write}]
triggers: [{pipeline: p}]
)", "x.yaml", instance);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto back = DatasetSpecFromJson(nlohmann::json::parse(ToJson(*spec).dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, *spec);
}

TEST(Serialize, DamagedStoredSpecNamesTheField) {
  auto back = DatasetSpecFromJson(nlohmann::json{{"name", "x"}, {"tier", "internal"}, {"owners", 5}});
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.status().message().find("owners"), std::string::npos);
  EXPECT_FALSE(DatasetSpecFromJson(nlohmann::json{{"tier", "top-secret"}}).ok());
}

}  // namespace
}  // namespace edl
