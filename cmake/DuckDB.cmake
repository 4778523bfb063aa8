# DuckDB 1.4.4 LTS from the npm registry (scripts/setup installs it under third_party/duckdb).
set(EDL_DUCKDB_ROOT "${PROJECT_SOURCE_DIR}/third_party/duckdb/node_modules" CACHE PATH "npm tree holding DuckDB")
find_library(DUCKDB_LIBRARY NAMES duckdb
  PATHS "${EDL_DUCKDB_ROOT}/@duckdb/node-bindings-linux-x64" NO_DEFAULT_PATH REQUIRED)
find_path(DUCKDB_INCLUDE_DIR duckdb.h
  PATHS "${EDL_DUCKDB_ROOT}/duckdb/src/duckdb/src/include" NO_DEFAULT_PATH REQUIRED)
add_library(duckdb_c SHARED IMPORTED GLOBAL)
set_target_properties(duckdb_c PROPERTIES
  IMPORTED_LOCATION "${DUCKDB_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${DUCKDB_INCLUDE_DIR}"
  INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${DUCKDB_INCLUDE_DIR}")
install(FILES "${DUCKDB_LIBRARY}" DESTINATION "${CMAKE_INSTALL_LIBDIR}")
