// Private to the engine: turns DuckDB's errors into Status values (the mapping is listed in
// engine/engine.h). Stateless functions, safe from any thread.
#pragma once

#include <duckdb.h>

#include <string_view>

#include "core/status.h"

namespace edl::engine_internal {

StatusCode CodeForDuckDBError(duckdb_error_type type);
Status StatusFromDuckDB(duckdb_error_type type, std::string_view message);
// For C API calls whose message lacks DuckDB's "<Type> Error: " prefix (duckdb_error_data): adds it,
// so every message reads the same.
Status StatusFromDuckDBRaw(duckdb_error_type type, std::string_view raw_message);
// For C API calls that report only a message (open, prepare): the type is read from DuckDB's
// "<Type> Error: ..." prefix; an unrecognised prefix counts as Internal.
Status StatusFromDuckDBMessage(std::string_view message);

}  // namespace edl::engine_internal
