#include "engine/duckdb_error.h"

#include <string>

namespace edl::engine_internal {
namespace {

struct NamedErrorType {
  std::string_view name;  // as DuckDB prints it before " Error: "
  duckdb_error_type type;
};

// DuckDB's Exception::ExceptionTypeToString spellings (src/common/exception.cpp, v1.4).
constexpr NamedErrorType kNamedErrorTypes[] = {
    {"Invalid", DUCKDB_ERROR_INVALID},
    {"Out of Range", DUCKDB_ERROR_OUT_OF_RANGE},
    {"Conversion", DUCKDB_ERROR_CONVERSION},
    {"Unknown Type", DUCKDB_ERROR_UNKNOWN_TYPE},
    {"Decimal", DUCKDB_ERROR_DECIMAL},
    {"Mismatch Type", DUCKDB_ERROR_MISMATCH_TYPE},
    {"Divide by Zero", DUCKDB_ERROR_DIVIDE_BY_ZERO},
    {"Object Size", DUCKDB_ERROR_OBJECT_SIZE},
    {"Invalid type", DUCKDB_ERROR_INVALID_TYPE},
    {"Serialization", DUCKDB_ERROR_SERIALIZATION},
    {"TransactionContext", DUCKDB_ERROR_TRANSACTION},
    {"Not implemented", DUCKDB_ERROR_NOT_IMPLEMENTED},
    {"Expression", DUCKDB_ERROR_EXPRESSION},
    {"Catalog", DUCKDB_ERROR_CATALOG},
    {"Parser", DUCKDB_ERROR_PARSER},
    {"Binder", DUCKDB_ERROR_BINDER},
    {"Planner", DUCKDB_ERROR_PLANNER},
    {"Scheduler", DUCKDB_ERROR_SCHEDULER},
    {"Executor", DUCKDB_ERROR_EXECUTOR},
    {"Constraint", DUCKDB_ERROR_CONSTRAINT},
    {"Index", DUCKDB_ERROR_INDEX},
    {"Stat", DUCKDB_ERROR_STAT},
    {"Connection", DUCKDB_ERROR_CONNECTION},
    {"Syntax", DUCKDB_ERROR_SYNTAX},
    {"Settings", DUCKDB_ERROR_SETTINGS},
    {"Optimizer", DUCKDB_ERROR_OPTIMIZER},
    {"NullPointer", DUCKDB_ERROR_NULL_POINTER},
    {"IO", DUCKDB_ERROR_IO},
    {"INTERRUPT", DUCKDB_ERROR_INTERRUPT},
    {"FATAL", DUCKDB_ERROR_FATAL},
    {"INTERNAL", DUCKDB_ERROR_INTERNAL},
    {"Invalid Input", DUCKDB_ERROR_INVALID_INPUT},
    {"Out of Memory", DUCKDB_ERROR_OUT_OF_MEMORY},
    {"Permission", DUCKDB_ERROR_PERMISSION},
    {"Parameter Not Resolved", DUCKDB_ERROR_PARAMETER_NOT_RESOLVED},
    {"Parameter Not Allowed", DUCKDB_ERROR_PARAMETER_NOT_ALLOWED},
    {"Dependency", DUCKDB_ERROR_DEPENDENCY},
    {"Missing Extension", DUCKDB_ERROR_MISSING_EXTENSION},
    {"HTTP", DUCKDB_ERROR_HTTP},
    {"Extension Autoloading", DUCKDB_ERROR_AUTOLOAD},
    {"Sequence", DUCKDB_ERROR_SEQUENCE},
    // "Invalid Configuration" has no C API error type; it is a bad argument all the same.
    {"Invalid Configuration", DUCKDB_ERROR_INVALID_INPUT},
};

}  // namespace

StatusCode CodeForDuckDBError(duckdb_error_type type) {
  switch (type) {
    case DUCKDB_ERROR_OUT_OF_RANGE:
    case DUCKDB_ERROR_CONVERSION:
    case DUCKDB_ERROR_UNKNOWN_TYPE:
    case DUCKDB_ERROR_DECIMAL:
    case DUCKDB_ERROR_MISMATCH_TYPE:
    case DUCKDB_ERROR_DIVIDE_BY_ZERO:
    case DUCKDB_ERROR_OBJECT_SIZE:
    case DUCKDB_ERROR_INVALID_TYPE:
    case DUCKDB_ERROR_NOT_IMPLEMENTED:
    case DUCKDB_ERROR_EXPRESSION:
    case DUCKDB_ERROR_CATALOG:
    case DUCKDB_ERROR_PARSER:
    case DUCKDB_ERROR_PLANNER:
    case DUCKDB_ERROR_SYNTAX:
    case DUCKDB_ERROR_SETTINGS:
    case DUCKDB_ERROR_BINDER:
    case DUCKDB_ERROR_INVALID_INPUT:
    case DUCKDB_ERROR_PARAMETER_NOT_RESOLVED:
    case DUCKDB_ERROR_PARAMETER_NOT_ALLOWED:
    case DUCKDB_ERROR_DEPENDENCY:
    case DUCKDB_ERROR_MISSING_EXTENSION:
    case DUCKDB_ERROR_SEQUENCE: return StatusCode::kInvalidArgument;
    case DUCKDB_ERROR_PERMISSION: return StatusCode::kPermissionDenied;
    case DUCKDB_ERROR_CONSTRAINT:
    case DUCKDB_ERROR_TRANSACTION: return StatusCode::kConflict;
    case DUCKDB_ERROR_IO:
    case DUCKDB_ERROR_OUT_OF_MEMORY:
    case DUCKDB_ERROR_NETWORK:
    case DUCKDB_ERROR_HTTP:
    case DUCKDB_ERROR_INTERRUPT:
    case DUCKDB_ERROR_AUTOLOAD: return StatusCode::kUnavailable;
    default: return StatusCode::kInternal;
  }
}

Status StatusFromDuckDB(duckdb_error_type type, std::string_view message) {
  std::string text(message.empty() ? std::string_view("DuckDB reported an error without a message") : message);
  return Status(CodeForDuckDBError(type), std::move(text));
}

Status StatusFromDuckDBRaw(duckdb_error_type type, std::string_view raw_message) {
  for (const NamedErrorType& entry : kNamedErrorTypes) {
    if (entry.type == type) {
      return StatusFromDuckDB(type, std::string(entry.name) + " Error: " + std::string(raw_message));
    }
  }
  return StatusFromDuckDB(type, raw_message);
}

Status StatusFromDuckDBMessage(std::string_view message) {
  constexpr std::string_view kSuffix = " Error: ";
  const size_t end = message.find(kSuffix);
  if (end != std::string_view::npos) {
    const std::string_view name = message.substr(0, end);
    for (const NamedErrorType& entry : kNamedErrorTypes) {
      if (entry.name == name) return StatusFromDuckDB(entry.type, message);
    }
  }
  return StatusFromDuckDB(DUCKDB_ERROR_INVALID, message);
}

}  // namespace edl::engine_internal
