// QueryResult and DataChunk: reading DuckDB results through the data chunk API, and spelling values
// and types the way DuckDB itself does.

#include <duckdb.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

#include "engine/duckdb_error.h"
#include "engine/engine.h"
#include "engine/query_result_state.h"

namespace edl {
namespace {

__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

// Owns a duckdb_logical_type.
class LogicalType {
 public:
  explicit LogicalType(duckdb_logical_type type) : type_(type) {}
  ~LogicalType() { duckdb_destroy_logical_type(&type_); }
  LogicalType(const LogicalType&) = delete;
  LogicalType& operator=(const LogicalType&) = delete;
  duckdb_logical_type get() const { return type_; }

 private:
  duckdb_logical_type type_;
};

// Takes a string DuckDB allocated with duckdb_malloc.
std::string TakeDuckDBString(char* text) {
  if (text == nullptr) return "";
  std::string copy(text);
  duckdb_free(text);
  return copy;
}

// DuckDB quotes struct field names unless they are plain lower-case identifiers.
std::string FieldName(const std::string& name) {
  bool plain = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) plain = false;
  }
  if (plain) return name;
  std::string quoted = "\"";
  for (char c : name) {
    quoted += c;
    if (c == '"') quoted += '"';
  }
  return quoted + "\"";
}

std::string_view SimpleTypeName(duckdb_type type) {
  switch (type) {
    case DUCKDB_TYPE_BOOLEAN: return "BOOLEAN";
    case DUCKDB_TYPE_TINYINT: return "TINYINT";
    case DUCKDB_TYPE_SMALLINT: return "SMALLINT";
    case DUCKDB_TYPE_INTEGER: return "INTEGER";
    case DUCKDB_TYPE_BIGINT: return "BIGINT";
    case DUCKDB_TYPE_UTINYINT: return "UTINYINT";
    case DUCKDB_TYPE_USMALLINT: return "USMALLINT";
    case DUCKDB_TYPE_UINTEGER: return "UINTEGER";
    case DUCKDB_TYPE_UBIGINT: return "UBIGINT";
    case DUCKDB_TYPE_FLOAT: return "FLOAT";
    case DUCKDB_TYPE_DOUBLE: return "DOUBLE";
    case DUCKDB_TYPE_TIMESTAMP: return "TIMESTAMP";
    case DUCKDB_TYPE_DATE: return "DATE";
    case DUCKDB_TYPE_TIME: return "TIME";
    case DUCKDB_TYPE_INTERVAL: return "INTERVAL";
    case DUCKDB_TYPE_HUGEINT: return "HUGEINT";
    case DUCKDB_TYPE_UHUGEINT: return "UHUGEINT";
    case DUCKDB_TYPE_VARCHAR: return "VARCHAR";
    case DUCKDB_TYPE_BLOB: return "BLOB";
    case DUCKDB_TYPE_TIMESTAMP_S: return "TIMESTAMP_S";
    case DUCKDB_TYPE_TIMESTAMP_MS: return "TIMESTAMP_MS";
    case DUCKDB_TYPE_TIMESTAMP_NS: return "TIMESTAMP_NS";
    case DUCKDB_TYPE_UUID: return "UUID";
    case DUCKDB_TYPE_BIT: return "BIT";
    case DUCKDB_TYPE_TIME_TZ: return "TIME WITH TIME ZONE";
    case DUCKDB_TYPE_TIMESTAMP_TZ: return "TIMESTAMP WITH TIME ZONE";
    case DUCKDB_TYPE_BIGNUM: return "BIGNUM";
    case DUCKDB_TYPE_SQLNULL: return "\"NULL\"";
    case DUCKDB_TYPE_TIME_NS: return "TIME_NS";
    default: return "";
  }
}

// ---- value formatting, matching DuckDB's CAST(... AS VARCHAR) ----

std::string FormatUInt128(UInt128 value) {
  if (value == 0) return "0";
  std::string digits;
  while (value != 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  }
  return digits;
}

std::string FormatInt128(Int128 value) {
  if (value >= 0) return FormatUInt128(static_cast<UInt128>(value));
  return "-" + FormatUInt128(UInt128(0) - static_cast<UInt128>(value));
}

Int128 FromHugeint(duckdb_hugeint value) {
  return static_cast<Int128>((static_cast<UInt128>(static_cast<uint64_t>(value.upper)) << 64) | value.lower);
}

UInt128 FromUhugeint(duckdb_uhugeint value) {
  return (static_cast<UInt128>(value.upper) << 64) | value.lower;
}

std::string FormatDecimal(Int128 unscaled, int scale) {
  const bool negative = unscaled < 0;
  std::string digits =
      FormatUInt128(negative ? UInt128(0) - static_cast<UInt128>(unscaled) : static_cast<UInt128>(unscaled));
  if (scale > 0) {
    if (digits.size() <= static_cast<size_t>(scale)) {
      digits.insert(0, static_cast<size_t>(scale) + 1 - digits.size(), '0');
    }
    digits.insert(digits.size() - static_cast<size_t>(scale), ".");
  }
  return negative ? "-" + digits : digits;
}

// The shortest text that reads back as the same value, in DuckDB's layout: positional for decimal
// exponents -4..15 with at least one fractional digit ("100000.0"), scientific otherwise ("1e+16").
template <typename Float>
std::string FormatFloating(Float value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  if (error != std::errc()) return "nan";
  std::string scientific(buffer, end);
  const size_t e = scientific.find('e');
  const bool negative = scientific[0] == '-';
  std::string digits;
  for (size_t i = negative ? 1 : 0; i < e; ++i) {
    if (scientific[i] != '.') digits += scientific[i];
  }
  const int exponent = std::stoi(scientific.substr(e + 1));
  if (exponent < -4 || exponent >= 16) return scientific;
  std::string text;
  const int point = exponent + 1;  // digits before the decimal point
  if (point <= 0) {
    text = "0." + std::string(static_cast<size_t>(-point), '0') + digits;
  } else if (static_cast<size_t>(point) >= digits.size()) {
    text = digits + std::string(static_cast<size_t>(point) - digits.size(), '0') + ".0";
  } else {
    text = digits.substr(0, static_cast<size_t>(point)) + "." + digits.substr(static_cast<size_t>(point));
  }
  if (negative && digits.find_first_not_of('0') != std::string::npos) text = "-" + text;
  return text;
}

std::string FormatDate(duckdb_date date) {
  if (!duckdb_is_finite_date(date)) return date.days > 0 ? "infinity" : "-infinity";
  const duckdb_date_struct parts = duckdb_from_date(date);
  const bool bc = parts.year <= 0;
  char buffer[48];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02d%s", bc ? 1 - parts.year : parts.year, parts.month, parts.day,
                bc ? " (BC)" : "");
  return buffer;
}

std::string FormatTimestamp(duckdb_timestamp timestamp) {
  if (!duckdb_is_finite_timestamp(timestamp)) return timestamp.micros > 0 ? "infinity" : "-infinity";
  const duckdb_timestamp_struct parts = duckdb_from_timestamp(timestamp);
  const std::string date = FormatDate(duckdb_to_date(parts.date));
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), " %02d:%02d:%02d", parts.time.hour, parts.time.min, parts.time.sec);
  std::string text = date + buffer;
  if (parts.time.micros != 0) {
    std::snprintf(buffer, sizeof(buffer), ".%06d", parts.time.micros);
    std::string fraction = buffer;
    fraction.erase(fraction.find_last_not_of('0') + 1);
    text += fraction;
  }
  return text;
}

std::string FormatBlob(std::string_view bytes) {
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string text;
  for (char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 32 && byte <= 126 && c != '\\' && c != '\'' && c != '"') {
      text += c;
    } else {
      text += "\\x";
      text += kHex[byte >> 4];
      text += kHex[byte & 0xF];
    }
  }
  return text;
}

}  // namespace

namespace engine_internal {

std::string LogicalTypeName(duckdb_logical_type type) {
  std::string alias = TakeDuckDBString(duckdb_logical_type_get_alias(type));
  if (!alias.empty()) return alias;
  const duckdb_type id = duckdb_get_type_id(type);
  switch (id) {
    case DUCKDB_TYPE_DECIMAL:
      return "DECIMAL(" + std::to_string(duckdb_decimal_width(type)) + "," +
             std::to_string(duckdb_decimal_scale(type)) + ")";
    case DUCKDB_TYPE_LIST: {
      LogicalType child(duckdb_list_type_child_type(type));
      return LogicalTypeName(child.get()) + "[]";
    }
    case DUCKDB_TYPE_ARRAY: {
      LogicalType child(duckdb_array_type_child_type(type));
      return LogicalTypeName(child.get()) + "[" + std::to_string(duckdb_array_type_array_size(type)) + "]";
    }
    case DUCKDB_TYPE_MAP: {
      LogicalType key(duckdb_map_type_key_type(type));
      LogicalType value(duckdb_map_type_value_type(type));
      return "MAP(" + LogicalTypeName(key.get()) + ", " + LogicalTypeName(value.get()) + ")";
    }
    case DUCKDB_TYPE_STRUCT:
    case DUCKDB_TYPE_UNION: {
      const bool is_struct = id == DUCKDB_TYPE_STRUCT;
      const idx_t count = is_struct ? duckdb_struct_type_child_count(type) : duckdb_union_type_member_count(type);
      std::string text = is_struct ? "STRUCT(" : "UNION(";
      for (idx_t i = 0; i < count; ++i) {
        if (i > 0) text += ", ";
        std::string name = TakeDuckDBString(is_struct ? duckdb_struct_type_child_name(type, i)
                                                      : duckdb_union_type_member_name(type, i));
        LogicalType child(is_struct ? duckdb_struct_type_child_type(type, i) : duckdb_union_type_member_type(type, i));
        text += FieldName(name) + " " + LogicalTypeName(child.get());
      }
      return text + ")";
    }
    case DUCKDB_TYPE_ENUM: {
      std::string text = "ENUM(";
      const uint32_t size = duckdb_enum_dictionary_size(type);
      for (uint32_t i = 0; i < size; ++i) {
        if (i > 0) text += ", ";
        std::string value = TakeDuckDBString(duckdb_enum_dictionary_value(type, i));
        text += "'";
        for (char c : value) {
          text += c;
          if (c == '\'') text += '\'';
        }
        text += "'";
      }
      return text + ")";
    }
    default: {
      const std::string_view name = SimpleTypeName(id);
      return name.empty() ? "UNKNOWN(" + std::to_string(static_cast<int>(id)) + ")" : std::string(name);
    }
  }
}

}  // namespace engine_internal

// ---- QueryResult ----

Status QueryResult::State::Finish(duckdb_state state) {
  if (state == DuckDBError) {
    const char* error = duckdb_result_error(&result);
    return engine_internal::StatusFromDuckDB(duckdb_result_error_type(&result), error != nullptr ? error : "");
  }
  const idx_t count = duckdb_column_count(&result);
  for (idx_t i = 0; i < count; ++i) {
    const char* name = duckdb_column_name(&result, i);
    column_names.emplace_back(name != nullptr ? name : "");
    LogicalType type(duckdb_column_logical_type(&result, i));
    column_types.push_back(engine_internal::LogicalTypeName(type.get()));
  }
  return Status::Ok();
}

QueryResult::QueryResult(EngineKey, std::unique_ptr<State> state) : state_(std::move(state)) {}
QueryResult::~QueryResult() = default;
QueryResult::QueryResult(QueryResult&&) noexcept = default;
QueryResult& QueryResult::operator=(QueryResult&&) noexcept = default;

size_t QueryResult::column_count() const {
  return state_->column_names.size();
}

const std::vector<std::string>& QueryResult::column_names() const {
  return state_->column_names;
}

const std::vector<std::string>& QueryResult::column_types() const {
  return state_->column_types;
}

int64_t QueryResult::rows_changed() const {
  return static_cast<int64_t>(duckdb_rows_changed(&state_->result));
}

Result<std::unique_ptr<DataChunk>> QueryResult::NextChunk() {
  if (state_->exhausted) return std::unique_ptr<DataChunk>();
  duckdb_data_chunk chunk = duckdb_fetch_chunk(state_->result);
  if (chunk == nullptr) {
    state_->exhausted = true;
    // duckdb_fetch_chunk answers nullptr both at the end and on failure; only the latter leaves an error.
    const char* error = duckdb_result_error(&state_->result);
    if (error != nullptr) {
      return engine_internal::StatusFromDuckDB(duckdb_result_error_type(&state_->result), error);
    }
    return std::unique_ptr<DataChunk>();
  }
  return std::make_unique<DataChunk>(EngineKey(), chunk);
}

Result<TextRows> QueryResult::FetchAllAsText() {
  TextRows rows;
  while (true) {
    ASSIGN_OR_RETURN(std::unique_ptr<DataChunk> chunk, NextChunk());
    if (chunk == nullptr) return rows;
    for (size_t row = 0; row < chunk->row_count(); ++row) {
      std::vector<std::optional<std::string>> values;
      values.reserve(chunk->column_count());
      for (size_t column = 0; column < chunk->column_count(); ++column) {
        ASSIGN_OR_RETURN(std::optional<std::string> value, chunk->ValueAsText(column, row));
        values.push_back(std::move(value));
      }
      rows.push_back(std::move(values));
    }
  }
}

// ---- DataChunk ----

struct DataChunk::Column {
  explicit Column(duckdb_vector vector)
      : logical_type(duckdb_vector_get_column_type(vector)),
        type(duckdb_get_type_id(logical_type.get())),
        data(duckdb_vector_get_data(vector)),
        validity(duckdb_vector_get_validity(vector)) {
    if (type == DUCKDB_TYPE_DECIMAL) {
      storage = duckdb_decimal_internal_type(logical_type.get());
      scale = duckdb_decimal_scale(logical_type.get());
    }
  }

  template <typename T>
  T At(size_t row) const {
    return static_cast<const T*>(data)[row];
  }

  LogicalType logical_type;
  duckdb_type type;
  duckdb_type storage = DUCKDB_TYPE_INVALID;  // DECIMAL: the integer type holding the digits
  int scale = 0;                              // DECIMAL
  void* data;
  uint64_t* validity;  // nullptr: no NULLs
};

DataChunk::DataChunk(EngineKey, _duckdb_data_chunk* chunk)
    : chunk_(chunk), row_count_(duckdb_data_chunk_get_size(chunk)) {
  const idx_t count = duckdb_data_chunk_get_column_count(chunk);
  for (idx_t i = 0; i < count; ++i) {
    columns_.push_back(std::make_unique<Column>(duckdb_data_chunk_get_vector(chunk, i)));
  }
}

DataChunk::~DataChunk() {
  columns_.clear();
  duckdb_destroy_data_chunk(&chunk_);
}

size_t DataChunk::row_count() const {
  return row_count_;
}

size_t DataChunk::column_count() const {
  return columns_.size();
}

bool DataChunk::IsNull(size_t column, size_t row) const {
  if (column >= columns_.size() || row >= row_count_) return true;
  uint64_t* validity = columns_[column]->validity;
  return validity != nullptr && !duckdb_validity_row_is_valid(validity, row);
}

namespace {

// The integer in an integer-typed column, widened; nullopt for other types.
std::optional<Int128> IntegerAt(const DataChunk::Column& column, size_t row) {
  switch (column.type) {
    case DUCKDB_TYPE_TINYINT: return column.At<int8_t>(row);
    case DUCKDB_TYPE_SMALLINT: return column.At<int16_t>(row);
    case DUCKDB_TYPE_INTEGER: return column.At<int32_t>(row);
    case DUCKDB_TYPE_BIGINT: return column.At<int64_t>(row);
    case DUCKDB_TYPE_UTINYINT: return column.At<uint8_t>(row);
    case DUCKDB_TYPE_USMALLINT: return column.At<uint16_t>(row);
    case DUCKDB_TYPE_UINTEGER: return column.At<uint32_t>(row);
    case DUCKDB_TYPE_UBIGINT: return column.At<uint64_t>(row);
    case DUCKDB_TYPE_HUGEINT: return FromHugeint(column.At<duckdb_hugeint>(row));
    case DUCKDB_TYPE_UHUGEINT: return static_cast<Int128>(FromUhugeint(column.At<duckdb_uhugeint>(row)));
    default: return std::nullopt;
  }
}

// The unscaled digits of a DECIMAL column.
Int128 DecimalDigitsAt(const DataChunk::Column& column, size_t row) {
  switch (column.storage) {
    case DUCKDB_TYPE_SMALLINT: return column.At<int16_t>(row);
    case DUCKDB_TYPE_INTEGER: return column.At<int32_t>(row);
    case DUCKDB_TYPE_BIGINT: return column.At<int64_t>(row);
    case DUCKDB_TYPE_HUGEINT: return FromHugeint(column.At<duckdb_hugeint>(row));
    default: return 0;
  }
}

std::string_view StringAt(const DataChunk::Column& column, size_t row) {
  auto* value = static_cast<duckdb_string_t*>(column.data) + row;
  // The C API resolves whether the bytes are inlined (12 or fewer) or behind a pointer.
  return {duckdb_string_t_data(value), duckdb_string_t_length(*value)};
}

}  // namespace

int64_t DataChunk::GetInt64(size_t column, size_t row) const {
  if (IsNull(column, row)) return 0;
  const std::optional<Int128> value = IntegerAt(*columns_[column], row);
  return value.has_value() ? static_cast<int64_t>(*value) : 0;
}

double DataChunk::GetDouble(size_t column, size_t row) const {
  if (IsNull(column, row)) return 0;
  const Column& c = *columns_[column];
  switch (c.type) {
    case DUCKDB_TYPE_FLOAT: return c.At<float>(row);
    case DUCKDB_TYPE_DOUBLE: return c.At<double>(row);
    case DUCKDB_TYPE_DECIMAL: return static_cast<double>(DecimalDigitsAt(c, row)) / std::pow(10.0, c.scale);
    default: {
      const std::optional<Int128> value = IntegerAt(c, row);
      return value.has_value() ? static_cast<double>(*value) : 0;
    }
  }
}

bool DataChunk::GetBool(size_t column, size_t row) const {
  if (IsNull(column, row) || columns_[column]->type != DUCKDB_TYPE_BOOLEAN) return false;
  return columns_[column]->At<bool>(row);
}

std::string DataChunk::GetString(size_t column, size_t row) const {
  if (IsNull(column, row)) return "";
  const Column& c = *columns_[column];
  if (c.type != DUCKDB_TYPE_VARCHAR && c.type != DUCKDB_TYPE_BLOB) return "";
  return std::string(StringAt(c, row));
}

Result<std::optional<std::string>> DataChunk::ValueAsText(size_t column, size_t row) const {
  if (column >= columns_.size() || row >= row_count_) {
    return InvalidArgument("no value at column " + std::to_string(column) + ", row " + std::to_string(row) +
                           " of a chunk with " + std::to_string(columns_.size()) + " columns and " +
                           std::to_string(row_count_) + " rows");
  }
  if (IsNull(column, row)) return std::optional<std::string>();
  const Column& c = *columns_[column];
  switch (c.type) {
    case DUCKDB_TYPE_BOOLEAN: return std::optional<std::string>(c.At<bool>(row) ? "true" : "false");
    case DUCKDB_TYPE_FLOAT: return std::optional<std::string>(FormatFloating(c.At<float>(row)));
    case DUCKDB_TYPE_DOUBLE: return std::optional<std::string>(FormatFloating(c.At<double>(row)));
    case DUCKDB_TYPE_DECIMAL: return std::optional<std::string>(FormatDecimal(DecimalDigitsAt(c, row), c.scale));
    case DUCKDB_TYPE_VARCHAR: return std::optional<std::string>(std::string(StringAt(c, row)));
    case DUCKDB_TYPE_BLOB: return std::optional<std::string>(FormatBlob(StringAt(c, row)));
    case DUCKDB_TYPE_DATE: return std::optional<std::string>(FormatDate(c.At<duckdb_date>(row)));
    case DUCKDB_TYPE_TIMESTAMP: return std::optional<std::string>(FormatTimestamp(c.At<duckdb_timestamp>(row)));
    case DUCKDB_TYPE_UBIGINT: return std::optional<std::string>(std::to_string(c.At<uint64_t>(row)));
    case DUCKDB_TYPE_UHUGEINT:
      return std::optional<std::string>(FormatUInt128(FromUhugeint(c.At<duckdb_uhugeint>(row))));
    default: {
      const std::optional<Int128> value = IntegerAt(c, row);
      if (value.has_value()) return std::optional<std::string>(FormatInt128(*value));
      return InvalidArgument("cannot show a value of type " + engine_internal::LogicalTypeName(c.logical_type.get()) +
                             " as text; CAST it to VARCHAR in the query");
    }
  }
}

}  // namespace edl
