// OpenSandbox: the DuckDB instance for untrusted SQL (design.md §7).

#include <string>

#include "engine/engine.h"

namespace edl {

SandboxOptions SandboxOptionsFromConfig(const EngineConfig& config) {
  SandboxOptions options;
  options.memory_limit_bytes = config.memory_limit_bytes;
  options.threads = config.threads;
  return options;
}

Result<std::unique_ptr<Database>> OpenSandbox(const SandboxOptions& options) {
  if (!options.spill_directory.empty() && options.spill_directory.front() != '/') {
    return InvalidArgument("spill_directory must be an absolute path, got '" + options.spill_directory + "'");
  }
  DatabaseOptions database;  // in-memory: no database file for SQL to reach
  database.memory_limit_bytes = options.memory_limit_bytes;
  database.threads = options.threads;
  database.allowed_directories = options.allowed_directories;
  database.allowed_paths = options.allowed_files;
  // DuckDB silently adds the temp directory to the allowed ones, and its default for an in-memory
  // database is ".tmp" under the working directory: always choose it explicitly ("" = no spilling).
  database.temp_directory = options.spill_directory;
  database.enable_external_access = false;
  database.lock_configuration = true;
  ASSIGN_OR_RETURN(std::unique_ptr<Database> sandbox, Database::Open(database));
  return sandbox;
}

}  // namespace edl
