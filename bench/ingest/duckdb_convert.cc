// The baseline of bench/ingest: DuckDB alone, through its C API, with nothing of EDL around it.
//   duckdb_convert generate OUT.csv ROWS      writes the benchmark CSV
//   duckdb_convert convert IN.csv OUT.parquet MEMORY_LIMIT THREADS
// converts a CSV to one zstd Parquet file the way EDL's ingest does (sniffed read_csv, zstd).
#include <duckdb.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

int Run(duckdb_connection connection, const std::string& sql) {
  duckdb_result result;
  if (duckdb_query(connection, sql.c_str(), &result) == DuckDBError) {
    std::fprintf(stderr, "duckdb: %s\n", duckdb_result_error(&result));
    duckdb_destroy_result(&result);
    return 1;
  }
  duckdb_destroy_result(&result);
  return 0;
}

std::string Quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s generate OUT.csv ROWS | convert IN.csv OUT.parquet MEMORY_LIMIT THREADS\n", argv[0]);
    return 2;
  }
  std::string mode = argv[1];
  duckdb_config config;
  duckdb_create_config(&config);
  if (mode == "convert" && argc >= 6) {
    duckdb_set_config(config, "memory_limit", argv[4]);
    duckdb_set_config(config, "threads", argv[5]);
  }
  duckdb_database db;
  char* error = nullptr;
  if (duckdb_open_ext(nullptr, &db, config, &error) == DuckDBError) {
    std::fprintf(stderr, "duckdb: %s\n", error);
    return 1;
  }
  duckdb_destroy_config(&config);
  duckdb_connection connection;
  duckdb_connect(db, &connection);
  int rc = 0;
  if (mode == "generate") {
    // Integers, decimals, dates, timestamps, short and long strings, and nulls.
    std::string sql =
        "COPY (SELECT i AS id, (i * 7919) % 1000003 AS customer, "
        "CASE WHEN i % 17 = 0 THEN NULL ELSE round((i % 100000) * 0.37, 2) END AS amount, "
        "DATE '2020-01-01' + CAST(i % 2000 AS INTEGER) AS day, "
        "TIMESTAMP '2020-01-01 00:00:00' + INTERVAL (i % 86400000) SECOND AS changed_at, "
        "'c' || (i % 50) AS category, "
        "CASE WHEN i % 11 = 0 THEN NULL ELSE 'note ' || md5(CAST(i AS VARCHAR)) || ' ' || "
        "repeat('x', CAST(i % 40 AS INTEGER)) END AS note "
        "FROM range(" + std::string(argv[3]) + ") t(i)) TO " + Quote(argv[2]) + " (HEADER)";
    rc = Run(connection, sql);
  } else if (mode == "convert" && argc >= 6) {
    rc = Run(connection, "COPY (SELECT * FROM read_csv(" + Quote(argv[2]) + ")) TO " + Quote(argv[3]) +
                             " (FORMAT parquet, COMPRESSION zstd)");
  } else {
    std::fprintf(stderr, "unknown mode %s\n", argv[1]);
    rc = 2;
  }
  duckdb_disconnect(&connection);
  duckdb_close(&db);
  return rc;
}
