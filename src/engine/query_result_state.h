// Private to the engine: what a QueryResult owns, shared by the code that runs statements
// (database.cc) and the code that reads results (query_result.cc). Not synchronized.
#pragma once

#include <duckdb.h>

#include <string>
#include <vector>

#include "core/status.h"
#include "engine/engine.h"

namespace edl {

struct QueryResult::State {
  State() = default;
  ~State() { duckdb_destroy_result(&result); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  // Call once with the return value of the duckdb_query/duckdb_execute_prepared that filled
  // `result`: turns a failure into a Status, or records the column names and types.
  Status Finish(duckdb_state state);

  duckdb_result result{};  // zero-initialized, so destroying it is safe even if never filled
  std::vector<std::string> column_names;
  std::vector<std::string> column_types;
  bool exhausted = false;
};

namespace engine_internal {
// DuckDB's name for a logical type: "BIGINT", "DECIMAL(18,3)", "VARCHAR[]", "STRUCT(a INTEGER)".
std::string LogicalTypeName(duckdb_logical_type type);
}  // namespace engine_internal

}  // namespace edl
