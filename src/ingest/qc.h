// Quality checks on a new update's Parquet before it completes (the dataset file's `qc:` list), and
// validation of delta updates (key and operation columns). The data is visible to the checks as a
// view named `data` over the update's Parquet files. Custom SQL checks run in a DuckDB sandbox that
// can read only those files. Thread-safe (each call opens its own sandbox).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace edl {

struct QcOutcome {
  QcCheck check;
  std::string description;          // e.g. "not_null(order_id)"
  bool passed = false;
  int64_t failing_rows = 0;         // row_count: the row count found
  std::vector<std::string> sample;  // up to 5 failing rows, each as a JSON object text
  std::string error;                // the check could not run (bad column, bad SQL): counts as failed
};

struct QcLimits {
  int64_t memory_limit_bytes = 1LL << 30;
  int threads = 2;
  int sample_rows = 5;
};

// Runs every check; never stops early, so the result lists them all. A check that names a column
// the data lacks fails with an error naming the column.
Result<std::vector<QcOutcome>> RunQcChecks(const std::vector<QcCheck>& checks,
                                           const std::vector<std::filesystem::path>& parquet_files,
                                           const QcLimits& limits);

// For delta datasets: the key columns and the op column exist, keys are not null, and op holds only
// I, U or D. InvalidArgument naming the problem, with the count of bad rows and a sample of them.
Status ValidateDelta(const UpdateConvention& convention, const std::vector<std::filesystem::path>& parquet_files,
                     const QcLimits& limits);

}  // namespace edl
