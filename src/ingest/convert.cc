// Raw files to Parquet through DuckDB (read_csv / read_json / read_parquet, COPY ... TO), and
// describing Parquet from its footers. Every name that reaches SQL (paths, column names, values) is
// quoted by convert_internal.h; DuckDB's multi-line errors are cut down to what a user can act on.

#include "ingest/convert.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>

#include "engine/engine.h"
#include "ingest/convert_internal.h"

namespace edl {

namespace fs = std::filesystem;

// ---- convert_internal.h ----

namespace ingest_internal {

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  std::array<char, 64> buffer{};
  auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  if (error != std::errc()) return std::to_string(value);
  return std::string(buffer.data(), end);
}

std::string SqlDouble(double value) {
  return "CAST(" + SqlString(FormatNumber(value)) + " AS DOUBLE)";
}

bool IsPlainTypeName(std::string_view type) {
  if (type.empty() || !std::isalpha(static_cast<unsigned char>(type.front()))) return false;
  return std::all_of(type.begin(), type.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ' ' || c == '(' || c == ')' || c == ',' ||
           c == '[' || c == ']';
  });
}

Result<std::vector<NamedType>> DescribeColumns(Connection& connection, const std::string& select_sql) {
  ASSIGN_OR_RETURN(QueryResult result, connection.Query("DESCRIBE " + select_sql));
  ASSIGN_OR_RETURN(TextRows rows, result.FetchAllAsText());
  std::vector<NamedType> columns;
  columns.reserve(rows.size());
  for (const auto& row : rows) {
    if (row.size() < 2) return Internal("DESCRIBE returned fewer than two columns");
    columns.push_back({row[0].value_or(""), row[1].value_or("")});
  }
  return columns;
}

Result<std::optional<std::string>> QuerySingleValue(Connection& connection, const std::string& sql) {
  ASSIGN_OR_RETURN(QueryResult result, connection.Query(sql));
  ASSIGN_OR_RETURN(TextRows rows, result.FetchAllAsText());
  if (rows.size() != 1 || rows[0].size() != 1) {
    return Internal("expected one value, got " + std::to_string(rows.size()) + " rows from: " + sql);
  }
  return rows[0][0];
}

std::string TruncateUtf8(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t cut = max_bytes;
  // Step back over continuation bytes (10xxxxxx) so that no code point is split.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

std::string CondenseEngineMessage(std::string_view message) {
  std::string condensed;
  size_t start = 0;
  while (start <= message.size()) {
    size_t end = message.find('\n', start);
    if (end == std::string_view::npos) end = message.size();
    std::string_view line = message.substr(start, end - start);
    start = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) continue;
    // Hints, DuckDB's dump of reader options, and the caret context of the statement carry
    // nothing the user can act on; "Original Line" repeats the (possibly huge) input line.
    if (line.starts_with("Possible") || line.starts_with("* ") || line.starts_with("  ") || line.starts_with("LINE ") ||
        line.starts_with("Try increasing")) {
      break;
    }
    if (line.starts_with("Original Line:")) continue;
    if (!condensed.empty()) condensed += ' ';
    condensed += line;
  }
  return TruncateUtf8(condensed, 1000);
}

int64_t ToInt64(const std::optional<std::string>& text) {
  int64_t value = 0;
  if (!text) return value;
  std::from_chars(text->data(), text->data() + text->size(), value);
  return value;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string AsciiLower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

}  // namespace ingest_internal

namespace {

using ingest_internal::AsciiLower;
using ingest_internal::CondenseEngineMessage;
using ingest_internal::DescribeColumns;
using ingest_internal::IsPlainTypeName;
using ingest_internal::NamedType;
using ingest_internal::QuerySingleValue;
using ingest_internal::SqlIdentifier;
using ingest_internal::SqlString;
using ingest_internal::SqlStringList;
using ingest_internal::ToInt64;

// DuckDB's default max_line_size is 2 MB; EDL accepts lines (and JSON objects) up to 64 MiB. Its
// CSV buffers must be larger than the longest line.
constexpr uint64_t kMaxLineBytes = 64ULL << 20;
constexpr uint64_t kLargeLineBufferBytes = kMaxLineBytes + (1ULL << 20);
constexpr size_t kSniffBytes = 64 << 10;
constexpr int64_t kSniffSampleLines = 20480;  // DuckDB's default sample_size
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
constexpr std::string_view kDelimiterCandidates = ",\t;|";

std::string Quoted(std::string_view name) {
  return "'" + std::string(name) + "'";
}

std::string AbsolutePath(const fs::path& path) {
  std::error_code ignored;
  fs::path absolute = fs::absolute(path, ignored);
  return (absolute.empty() ? path : absolute).lexically_normal().string();
}

// Up to `limit` bytes from the start of the file; empty when it cannot be read.
std::string ReadPrefix(const fs::path& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  std::string data(limit, '\0');
  in.read(data.data(), static_cast<std::streamsize>(limit));
  data.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return data;
}

std::string_view WithoutBom(std::string_view text) {
  if (text.starts_with(kUtf8Bom)) text.remove_prefix(kUtf8Bom.size());
  return text;
}

bool IsBlank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

// Valid UTF-8, tolerating a sequence cut off by the end of the sample.
bool LooksLikeUtf8Text(std::string_view data) {
  size_t i = 0;
  while (i < data.size()) {
    const auto c = static_cast<unsigned char>(data[i]);
    if (c == 0) return false;
    size_t extra = 0;
    if (c < 0x80) {
      extra = 0;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      extra = 3;
    } else {
      return false;
    }
    if (i + extra >= data.size()) return data.size() >= kSniffBytes;  // cut off by the sample's end
    for (size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(data[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string_view FirstLine(std::string_view text) {
  const size_t end = text.find('\n');
  std::string_view line = text.substr(0, end);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Occurrences of `delimiter` outside double quotes.
size_t CountDelimiters(std::string_view line, char delimiter) {
  size_t count = 0;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    if (c == delimiter && !quoted) ++count;
  }
  return count;
}

// The candidate delimiter seen most often in `line`, or 0 when there is none.
char MostFrequentDelimiter(std::string_view line) {
  char best = 0;
  size_t best_count = 0;
  for (char candidate : kDelimiterCandidates) {
    const size_t count = CountDelimiters(line, candidate);
    if (count > best_count) {
      best = candidate;
      best_count = count;
    }
  }
  return best;
}

// Text whose first lines all contain the same candidate delimiter: a delimited table.
bool LooksDelimited(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty() && lines.size() < 10) {
    const size_t end = text.find('\n');
    if (end == std::string_view::npos) {
      if (lines.empty()) lines.push_back(text);  // a last, possibly cut-off line counts only alone
      break;
    }
    std::string_view line = FirstLine(text);
    if (!IsBlank(line)) lines.push_back(line);
    text.remove_prefix(end + 1);
  }
  if (lines.empty()) return false;
  for (char candidate : kDelimiterCandidates) {
    if (std::all_of(lines.begin(), lines.end(),
                    [candidate](std::string_view line) { return CountDelimiters(line, candidate) > 0; })) {
      return true;
    }
  }
  return false;
}

// Files that are plainly not tables, by their magic bytes.
std::optional<std::string> NonTabularKind(std::string_view head) {
  struct Magic {
    std::string_view bytes;
    std::string_view kind;
  };
  static constexpr Magic kMagics[] = {
      {"%PDF-", "a PDF document"},
      {"\x89PNG\r\n\x1A\n", "a PNG image"},
      {"\xFF\xD8\xFF", "a JPEG image"},
      {"GIF87a", "a GIF image"},
      {"GIF89a", "a GIF image"},
      {std::string_view("II*\0", 4), "a TIFF image"},
      {std::string_view("MM\0*", 4), "a TIFF image"},
      {"PK\x03\x04", "a ZIP container (e.g. xlsx, docx)"},
      {"\x1F\x8B", "gzip-compressed data"},
      {"\xD0\xCF\x11\xE0", "an OLE document (e.g. xls, doc)"},
  };
  for (const Magic& magic : kMagics) {
    if (head.starts_with(magic.bytes)) return std::string(magic.kind);
  }
  if (head.size() >= 12 && head.starts_with("RIFF") && head.substr(8, 4) == "WEBP") return "a WebP image";
  return std::nullopt;
}

struct Detection {
  RawFormat format = RawFormat::kRawOnly;
  std::string reason;  // raw-only: why
  bool tab_separated = false;
};

constexpr std::string_view kConvertible = "EDL converts CSV/TSV, JSON and Parquet";

// Order: content that is unmistakably Parquet or a non-tabular binary (so a PDF in a CSV dataset
// stays raw-only instead of failing the update), then the dataset's format.type, then the
// extension, then a look at the content.
// `head` is the file's first kSniffBytes.
Detection Detect(const fs::path& path, std::string_view head, const FormatOptions& format) {
  if (head.starts_with("PAR1")) return {RawFormat::kParquet, "", false};
  if (std::optional<std::string> kind = NonTabularKind(head)) {
    return {RawFormat::kRawOnly, "content is " + *kind + "; " + std::string(kConvertible), false};
  }
  const std::string type = AsciiLower(format.type);
  if (type == "csv") return {RawFormat::kCsv, "", false};
  if (type == "tsv") return {RawFormat::kCsv, "", true};
  if (type == "json" || type == "ndjson") return {RawFormat::kJson, "", false};
  if (type == "parquet") return {RawFormat::kParquet, "", false};
  if (!type.empty()) return {RawFormat::kRawOnly, "unknown format type '" + format.type + "'", false};

  const std::string extension = AsciiLower(path.extension().string());
  if (extension == ".csv" || extension == ".txt" || extension == ".psv") return {RawFormat::kCsv, "", false};
  if (extension == ".tsv" || extension == ".tab") return {RawFormat::kCsv, "", true};
  if (extension == ".json" || extension == ".ndjson" || extension == ".jsonl") return {RawFormat::kJson, "", false};
  if (extension == ".parquet" || extension == ".pq") return {RawFormat::kParquet, "", false};

  if (head.empty()) return {RawFormat::kRawOnly, "empty file of unknown type; " + std::string(kConvertible), false};
  if (!LooksLikeUtf8Text(head)) {
    return {RawFormat::kRawOnly, "binary content of unknown type; " + std::string(kConvertible), false};
  }
  std::string_view text = WithoutBom(head);
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    return {RawFormat::kJson, "", false};
  }
  if (LooksDelimited(text)) return {RawFormat::kCsv, "", false};
  return {RawFormat::kRawOnly, "text that is not a delimited table or JSON; " + std::string(kConvertible), false};
}

// The length of the first physical line over `limit` bytes among the first `max_lines` lines, if
// any. DuckDB's sniffer needs tens of seconds to fail on such a line; this finds it in
// milliseconds, and for ordinary files reads no more than the sniffer's sample.
std::optional<uint64_t> FindOverlongLine(const fs::path& path, uint64_t limit, int64_t max_lines) {
  std::ifstream in(path, std::ios::binary);
  std::string buffer(1 << 20, '\0');
  uint64_t length = 0;
  int64_t lines = 0;
  while (in && lines < max_lines) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0));
    for (size_t at = 0; at < got;) {
      const void* found = std::memchr(buffer.data() + at, '\n', got - at);
      const size_t end = found != nullptr ? static_cast<size_t>(static_cast<const char*>(found) - buffer.data()) : got;
      length += end - at;
      if (found == nullptr) break;
      if (length > limit) return length;
      length = 0;
      at = end + 1;
      if (++lines >= max_lines) break;
    }
  }
  if (length > limit) return length;
  return std::nullopt;
}

// ---- DuckDB errors to user messages ----

std::string ReplaceAll(std::string text, std::string_view from, std::string_view to) {
  if (from.empty()) return text;
  size_t position = 0;
  while ((position = text.find(from, position)) != std::string::npos) {
    text.replace(position, from.size(), to);
    position += to.size();
  }
  return text;
}

// The number after `label` in `message`, if any.
std::optional<int64_t> NumberAfter(std::string_view message, std::string_view label) {
  const size_t at = message.find(label);
  if (at == std::string_view::npos) return std::nullopt;
  size_t begin = at + label.size();
  while (begin < message.size() && message[begin] == ' ') ++begin;
  int64_t value = 0;
  auto [end, error] = std::from_chars(message.data() + begin, message.data() + message.size(), value);
  if (error != std::errc() || end == message.data() + begin) return std::nullopt;
  return value;
}

std::string WithoutErrorPrefix(std::string text) {
  // DuckDB's "<Type> Error: " prefix says nothing to someone fixing a file.
  const size_t colon = text.find(" Error: ");
  if (colon != std::string::npos && colon < 40) text.erase(0, colon + 8);
  return text;
}

// Turns an engine error about a raw file's content into a message that names the file and, where
// DuckDB knows it, the line. Errors that are not about content (I/O, memory, sandbox) keep their
// code and gain the file as context.
Status ContentError(const Status& status, std::string_view raw_name, const std::string& path,
                    std::string_view format_label) {
  if (status.code() != StatusCode::kInvalidArgument) {
    return status.WithContext("converting " + Quoted(raw_name));
  }
  const std::string message = ReplaceAll(status.message(), path, raw_name);
  const std::optional<int64_t> line = NumberAfter(message, "CSV Error on Line:");
  const std::string at_line = line ? " at line " + std::to_string(*line) : "";
  const std::string name = Quoted(raw_name);

  if (message.find("Invalid unicode") != std::string::npos || message.find("invalid UTF-8") != std::string::npos) {
    std::string detail = at_line;
    if (!line) detail = " (" + WithoutErrorPrefix(CondenseEngineMessage(message)) + ")";
    return InvalidArgument(name + " is not valid UTF-8" + detail +
                           "; EDL reads text as UTF-8: convert the file first (e.g. a Latin-1 or Windows-1252 "
                           "file with `iconv -f WINDOWS-1252 -t UTF-8`)");
  }
  const std::optional<int64_t> expected = NumberAfter(message, "Expected Number of Columns:");
  const std::optional<int64_t> found = NumberAfter(message, "Found:");
  if (expected && found) {
    auto fields = [](int64_t n) { return std::to_string(n) + (n == 1 ? " field" : " fields"); };
    return InvalidArgument(name + " has ragged rows: line " + (line ? std::to_string(*line) : std::string("?")) +
                           " has " + fields(*found) + " where the first line has " + std::to_string(*expected));
  }
  if (message.find("Maximum line size") != std::string::npos) {
    // No line number: DuckDB 1.4 counts it differently here than in its other CSV errors.
    const std::optional<int64_t> actual = NumberAfter(message, "Actual Size:");
    return InvalidArgument(name + " has a line " +
                           (actual ? "of " + std::to_string(*actual) + " bytes, " : std::string()) +
                           "over the limit of " + std::to_string(kMaxLineBytes >> 20) + " MiB");
  }
  std::string condensed = WithoutErrorPrefix(CondenseEngineMessage(message));
  if (line && condensed.starts_with("CSV Error on Line:")) {
    const size_t space = condensed.find(' ', sizeof("CSV Error on Line:"));
    condensed = "line " + std::to_string(*line) + ":" + (space == std::string::npos ? "" : condensed.substr(space));
  }
  return InvalidArgument("cannot read " + name + " as " + std::string(format_label) + ": " + condensed);
}

bool IsDialectFailure(const Status& status) {
  return status.message().find("not possible to automatically detect the CSV parsing dialect") != std::string::npos;
}

// ---- Output naming and writing ----

struct OutputNaming {
  fs::path out_dir;
  std::string stem;  // update-relative, without extension: "sub/file1"
  fs::path scratch;  // DuckDB's output folder, beside the outputs: "sub/.file1.csv.parts-tmp"
};

Result<OutputNaming> NameOutputs(const std::string& raw_name, const fs::path& out_dir) {
  const fs::path relative = fs::path(raw_name).lexically_normal();
  if (raw_name.empty() || relative.is_absolute() || relative.empty() || *relative.begin() == ".." ||
      relative.filename().empty()) {
    return InvalidArgument("raw file name " + Quoted(raw_name) + " must be a relative path inside the update");
  }
  fs::path stem = relative;
  stem.replace_extension();
  if (stem.filename().empty() || stem.filename() == ".") stem = relative;  // ".csv" alone
  const fs::path scratch = out_dir / relative.parent_path() / ("." + relative.filename().string() + ".parts-tmp");
  return OutputNaming{out_dir, stem.generic_string(), scratch};
}

std::string PartName(const std::string& stem, size_t index, size_t count) {
  if (count == 1) return stem + ".parquet";
  std::string number = std::to_string(index + 1);
  if (number.size() < 5) number.insert(0, 5 - number.size(), '0');
  return stem + "-" + number + ".parquet";
}

void RemoveQuietly(const fs::path& path) {
  std::error_code ignored;
  fs::remove_all(path, ignored);
}

Status FileSystemError(const std::error_code& error, std::string_view operation, const fs::path& path) {
  return ErrnoStatus(error.value(), operation, path.string());
}

struct WriteOutcome {
  std::vector<ParquetOutput> outputs;
  int64_t rows = 0;
};

// COPY (select_sql) into numbered files of about target_file_bytes each, in a scratch folder beside
// the final names, then renamed to "<stem>.parquet" (one file) or "<stem>-00001.parquet", ... With
// FILE_SIZE_BYTES DuckDB 1.4 writes "part_0.parquet", "part_1.parquet", ... in insertion order and
// starts a new file after the row group that crosses the size, so parts may exceed it by up to one
// row group. Nothing is left behind on failure, and zero rows produce no output.
Result<WriteOutcome> WriteParquet(Connection& connection, const std::string& select_sql, const OutputNaming& naming,
                                  const ConvertOptions& options) {
  const fs::path& scratch = naming.scratch;
  const fs::path parent = scratch.parent_path();
  std::error_code error;
  fs::create_directories(parent, error);
  if (error) return FileSystemError(error, "creating folder", parent);
  RemoveQuietly(scratch);

  const std::string copy = "COPY (" + select_sql + ") TO " + SqlString(AbsolutePath(scratch)) +
                           " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE " +
                           std::to_string(options.row_group_rows) + ", FILE_SIZE_BYTES " +
                           std::to_string(options.target_file_bytes) + ", FILENAME_PATTERN 'part_{i}')";
  Result<std::optional<std::string>> copied = QuerySingleValue(connection, copy);
  if (!copied.ok()) {
    RemoveQuietly(scratch);
    return copied.status();
  }
  WriteOutcome outcome;
  outcome.rows = ToInt64(*copied);

  // part_<i>.parquet, ordered by i.
  std::vector<std::pair<int64_t, fs::path>> parts;
  for (fs::directory_iterator it(scratch, error), end; !error && it != end; it.increment(error)) {
    const std::string file = it->path().filename().string();
    if (!file.starts_with("part_") || !file.ends_with(".parquet")) continue;
    parts.emplace_back(ToInt64(file.substr(5, file.size() - 5 - 8)), it->path());
  }
  if (error && error != std::errc::no_such_file_or_directory) {
    RemoveQuietly(scratch);
    return FileSystemError(error, "listing", scratch);
  }
  std::sort(parts.begin(), parts.end());
  if (outcome.rows == 0) {
    RemoveQuietly(scratch);
    return outcome;
  }

  std::vector<std::string> part_paths;
  part_paths.reserve(parts.size());
  for (const auto& part : parts) part_paths.push_back(AbsolutePath(part.second));
  Result<QueryResult> metadata =
      connection.Query("SELECT file_name, num_rows FROM parquet_file_metadata(" + SqlStringList(part_paths) + ")");
  Result<TextRows> rows = metadata.ok() ? metadata->FetchAllAsText() : Result<TextRows>(metadata.status());
  if (!rows.ok()) {
    RemoveQuietly(scratch);
    return rows.status();
  }
  std::map<std::string, int64_t> rows_by_file;
  for (const auto& row : *rows) rows_by_file[row[0].value_or("")] = ToInt64(row[1]);

  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string name = PartName(naming.stem, i, parts.size());
    const fs::path target = naming.out_dir / fs::path(name);
    if (fs::exists(target, error)) {
      for (const ParquetOutput& done : outcome.outputs) RemoveQuietly(done.path);
      RemoveQuietly(scratch);
      return AlreadyExists("output " + Quoted(name) + " already exists (another raw file with the same name stem?)");
    }
    ParquetOutput output;
    output.name = name;
    output.path = target;
    output.rows = rows_by_file[part_paths[i]];
    output.bytes = fs::file_size(parts[i].second, error);
    if (!error) fs::rename(parts[i].second, target, error);
    if (error) {
      for (const ParquetOutput& done : outcome.outputs) RemoveQuietly(done.path);
      RemoveQuietly(scratch);
      return FileSystemError(error, "moving Parquet output to", target);
    }
    outcome.outputs.push_back(std::move(output));
  }
  RemoveQuietly(scratch);
  return outcome;
}

void RemoveOutputs(const std::vector<ParquetOutput>& outputs) {
  for (const ParquetOutput& output : outputs) RemoveQuietly(output.path);
}

Result<std::vector<ColumnSchema>> ParquetSchema(Connection& connection, const std::vector<ParquetOutput>& outputs) {
  std::vector<std::string> paths;
  paths.reserve(outputs.size());
  for (const ParquetOutput& output : outputs) paths.push_back(AbsolutePath(output.path));
  ASSIGN_OR_RETURN(std::vector<NamedType> columns,
                   DescribeColumns(connection, "SELECT * FROM read_parquet(" + SqlStringList(paths) + ")"));
  std::vector<ColumnSchema> schema;
  schema.reserve(columns.size());
  for (NamedType& column : columns) schema.push_back({std::move(column.name), std::move(column.type), true});
  return schema;
}

// The result of a conversion that wrote `written`: its schema read back from the Parquet. On
// failure the outputs are removed, so nothing is left half-made.
Result<ConvertResult> ConvertedResult(Connection& connection, RawFormat format, WriteOutcome written,
                                      std::string_view raw_name) {
  ConvertResult result;
  result.format = format;
  result.rows = written.rows;
  result.outputs = std::move(written.outputs);
  Result<std::vector<ColumnSchema>> schema = ParquetSchema(connection, result.outputs);
  if (!schema.ok()) {
    RemoveOutputs(result.outputs);
    return schema.status().WithContext("reading back the Parquet of " + Quoted(raw_name));
  }
  result.schema = std::move(*schema);
  return result;
}

// Names that collide once case is ignored (DuckDB resolves identifiers case-insensitively and would
// rename the second to "<name>_1"), as "a, A" per group; empty when all are distinct.
std::string DuplicateNames(const std::vector<std::string>& names) {
  std::map<std::string, std::vector<std::string>> by_key;
  std::vector<std::string> order;
  for (const std::string& name : names) {
    if (name.empty()) continue;  // DuckDB names unnamed columns itself
    const std::string key = AsciiLower(name);
    if (by_key[key].empty()) order.push_back(key);
    by_key[key].push_back(name);
  }
  std::string duplicates;
  for (const std::string& key : order) {
    const std::vector<std::string>& group = by_key[key];
    if (group.size() < 2) continue;
    if (!duplicates.empty()) duplicates += "; ";
    for (size_t i = 0; i < group.size(); ++i) duplicates += (i > 0 ? ", " : "") + Quoted(group[i]);
  }
  return duplicates;
}

Status DuplicateNamesError(std::string_view raw_name, const std::string& duplicates) {
  return InvalidArgument(Quoted(raw_name) + " has duplicate column names (ignoring case): " + duplicates +
                         "; DuckDB would rename them silently, so rename them in the file");
}

// ---- CSV ----

struct CsvDialect {
  std::string delimiter;
  std::string quote;
  std::string escape;
  std::string comment;
  int64_t skip_rows = 0;
  bool has_header = false;
};

class CsvConverter {
 public:
  CsvConverter(Connection& connection, std::string path, std::string raw_name, const ConvertOptions& options,
               bool tab_separated)
      : connection_(connection),
        path_(std::move(path)),
        raw_name_(std::move(raw_name)),
        options_(options),
        tab_separated_(tab_separated) {}

  Result<ConvertResult> Run(const OutputNaming& naming, std::string_view head) {
    RETURN_IF_ERROR(SetUpDelimiter());
    if (std::optional<uint64_t> overlong = FindOverlongLine(path_, kMaxLineBytes, kSniffSampleLines)) {
      return InvalidArgument(Quoted(raw_name_) + " has a line of " + std::to_string(*overlong) +
                             " bytes, over the limit of " + std::to_string(kMaxLineBytes >> 20) + " MiB");
    }
    const bool user_delimiter = user_delimiter_;
    const std::optional<std::string> delimiter = delimiter_;
    Result<ConvertResult> result = RunOnce(naming, head);
    // DuckDB sizes its read buffers at 16 x max_line_size, so a 64 MiB limit would cost 1 GiB per
    // buffer: read with DuckDB's defaults (2 MB lines) and only a file that has longer lines again
    // with the large limit and buffers just big enough for it.
    if (!result.ok() && saw_long_line_ && !large_lines_ && long_line_bytes_ <= kMaxLineBytes) {
      large_lines_ = true;
      user_delimiter_ = user_delimiter;
      delimiter_ = delimiter;
      result = RunOnce(naming, head);
    }
    return result;
  }

 private:
  Result<ConvertResult> RunOnce(const OutputNaming& naming, std::string_view head) {
    Result<CsvDialect> dialect = Sniff();
    if (!dialect.ok()) {
      if (IsDialectFailure(dialect.status())) return DiagnoseDialectFailure(head);
      return Error(dialect.status());
    }
    ASSIGN_OR_RETURN(std::vector<std::string> first_row, FirstRow(*dialect));

    // The sniffer falls back to one column when rows disagree on their field count; if the first
    // line has a delimiter after all, name the ragged line instead of producing a one-column table.
    if (first_row.size() == 1 && !delimiter_) {
      const char candidate = MostFrequentDelimiter(FirstLine(WithoutBom(head)));
      if (candidate != 0) {
        delimiter_ = std::string(1, candidate);
        Result<CsvDialect> retried = Sniff();
        if (!retried.ok()) {
          if (IsDialectFailure(retried.status())) return DiagnoseDialectFailure(head);
          return Error(retried.status());
        }
        ASSIGN_OR_RETURN(std::vector<std::string> retried_row, FirstRow(*retried));
        if (retried_row.size() > 1) {
          dialect = std::move(retried);
          first_row = std::move(retried_row);
        } else {
          delimiter_.reset();
        }
      }
    }
    if (dialect->has_header) {
      const std::string duplicates = DuplicateNames(first_row);
      if (!duplicates.empty()) return DuplicateNamesError(raw_name_, duplicates);
    }

    Result<WriteOutcome> written = WriteParquet(connection_, "SELECT * FROM " + ReadCsv(false), naming, options_);
    // The sniffer types columns from a sample; a later value that does not fit fails the read.
    // Scanning the whole file for types once more is slower but what the user wants.
    if (!written.ok() && written.status().message().find("auto-detected from the CSV file") != std::string::npos) {
      written = WriteParquet(connection_, "SELECT * FROM " + ReadCsv(true), naming, options_);
    }
    if (!written.ok()) return Error(written.status());
    if (written->rows == 0) {
      // A header with no rows is refused rather than taken as an empty table: the issue lists it as
      // bad input, and an empty file from an export that failed half-way looks just like it.
      return InvalidArgument(Quoted(raw_name_) +
                             (dialect->has_header ? " has a header but no data rows" : " has no data rows"));
    }
    return ConvertedResult(connection_, RawFormat::kCsv, std::move(*written), raw_name_);
  }

  Status Error(const Status& status) {
    if (status.message().find("Maximum line size") != std::string::npos) {
      saw_long_line_ = true;
      long_line_bytes_ = static_cast<uint64_t>(NumberAfter(status.message(), "Actual Size:").value_or(0));
    }
    return ContentError(status, raw_name_, path_, "CSV");
  }

  std::string LineArguments() const {
    if (!large_lines_) return "";
    return ", max_line_size=" + std::to_string(kMaxLineBytes) +
           ", buffer_size=" + std::to_string(kLargeLineBufferBytes);
  }

  Status SetUpDelimiter() {
    const FormatOptions& format = options_.format;
    if (format.delimiter) {
      std::string delimiter = *format.delimiter;
      if (delimiter == "\\t" || AsciiLower(delimiter) == "tab") delimiter = "\t";
      if (delimiter.empty()) return InvalidArgument("format.delimiter is empty");
      delimiter_ = delimiter;
      user_delimiter_ = true;
    } else if (tab_separated_) {
      delimiter_ = "\t";
      user_delimiter_ = true;
    }
    return Status::Ok();
  }

  // The read_csv arguments after the path: the dataset's overrides plus EDL's strictness.
  std::string Arguments(bool full_sample) const {
    const FormatOptions& format = options_.format;
    std::string args;
    if (delimiter_) args += ", delim=" + SqlString(*delimiter_);
    if (format.quote) args += ", quote=" + SqlString(*format.quote);
    if (format.escape) args += ", escape=" + SqlString(*format.escape);
    if (format.header) args += std::string(", header=") + (*format.header ? "true" : "false");
    if (!format.null_strings.empty()) args += ", nullstr=" + SqlStringList(format.null_strings);
    if (format.date_format) args += ", dateformat=" + SqlString(*format.date_format);
    if (format.timestamp_format) args += ", timestampformat=" + SqlString(*format.timestamp_format);
    if (!format.column_types.empty()) {
      args += ", types={";
      bool first = true;
      for (const auto& [column, type] : format.column_types) {
        args += (first ? "" : ", ") + SqlString(column) + ": " + SqlString(type);
        first = false;
      }
      args += "}";
    }
    // Refuse what does not fit rather than pad, skip or guess: ragged rows are errors. The sniffer
    // would also take leading rows that disagree with the rest for a preamble (skip=N) and lines
    // starting with '#' for comments, dropping data silently; the dataset file cannot ask for
    // either, so both are off.
    args += ", skip=0, comment='', strict_mode=true, null_padding=false, ignore_errors=false" + LineArguments();
    if (full_sample) args += ", sample_size=-1";
    return args;
  }

  std::string ReadCsv(bool full_sample) const { return "read_csv(" + SqlString(path_) + Arguments(full_sample) + ")"; }

  Result<CsvDialect> Sniff() {
    ASSIGN_OR_RETURN(QueryResult result,
                     connection_.Query("SELECT Delimiter, Quote, Escape, Comment, SkipRows, HasHeader FROM sniff_csv(" +
                                       SqlString(path_) + Arguments(false) + ")"));
    ASSIGN_OR_RETURN(TextRows rows, result.FetchAllAsText());
    if (rows.size() != 1 || rows[0].size() != 6) return Internal("sniff_csv returned no dialect");
    // sniff_csv spells an unset quote, escape or comment "(empty)".
    auto text = [](const std::optional<std::string>& value) {
      return !value || *value == "(empty)" ? std::string() : *value;
    };
    CsvDialect dialect;
    dialect.delimiter = text(rows[0][0]);
    dialect.quote = text(rows[0][1]);
    dialect.escape = text(rows[0][2]);
    dialect.comment = text(rows[0][3]);
    dialect.skip_rows = ToInt64(rows[0][4]);
    dialect.has_header = rows[0][5] == std::optional<std::string>("true");
    return dialect;
  }

  // The first row exactly as written (the header, if there is one): DuckDB de-duplicates header
  // names, so they must be read as data to see duplicates.
  Result<std::vector<std::string>> FirstRow(const CsvDialect& dialect) {
    const std::string sql = "SELECT * FROM read_csv(" + SqlString(path_) + ", delim=" + SqlString(dialect.delimiter) +
                            ", quote=" + SqlString(dialect.quote) + ", escape=" + SqlString(dialect.escape) +
                            ", comment=" + SqlString(dialect.comment) + ", skip=" + std::to_string(dialect.skip_rows) +
                            ", header=false, all_varchar=true, strict_mode=false" + LineArguments() + ") LIMIT 1";
    Result<QueryResult> result = connection_.Query(sql);
    if (!result.ok()) return Error(result.status());
    ASSIGN_OR_RETURN(TextRows rows, result->FetchAllAsText());
    std::vector<std::string> values;
    if (rows.empty()) return values;
    for (const auto& value : rows[0]) values.push_back(value.value_or(""));
    return values;
  }

  // The sniffer found no dialect with a consistent field count. Read the file with the likely
  // delimiter and a fixed column count to name the first line that does not fit.
  Status DiagnoseDialectFailure(std::string_view head) {
    const std::string_view first_line = FirstLine(WithoutBom(head));
    std::string delimiter = delimiter_ ? *delimiter_ : std::string();
    if (!user_delimiter_) {
      const char candidate = MostFrequentDelimiter(first_line);
      delimiter = candidate != 0 ? std::string(1, candidate) : std::string();
    }
    const std::string generic = Quoted(raw_name_) +
                                ": cannot detect the CSV dialect (delimiter, quoting, a consistent number of fields "
                                "per row); check for ragged rows, or set format.delimiter/quote in the dataset file";
    if (delimiter.size() != 1) return InvalidArgument(generic);
    const size_t fields = CountDelimiters(first_line, delimiter[0]) + 1;
    std::string columns;
    for (size_t i = 0; i < fields; ++i) {
      columns += (i > 0 ? ", " : "") + SqlString("c" + std::to_string(i)) + ": 'VARCHAR'";
    }
    const bool header = options_.format.header.value_or(true);
    const std::string sql =
        "SELECT count(*) FROM read_csv(" + SqlString(path_) + ", auto_detect=false, delim=" + SqlString(delimiter) +
        ", quote='\"', escape='\"', header=" + (header ? "true" : "false") + ", columns={" + columns +
        "}, strict_mode=true, null_padding=false, ignore_errors=false" + LineArguments() + ")";
    Result<std::optional<std::string>> counted = QuerySingleValue(connection_, sql);
    if (!counted.ok() && counted.status().code() == StatusCode::kInvalidArgument) return Error(counted.status());
    return InvalidArgument(generic);
  }

  Connection& connection_;
  const std::string path_;
  const std::string raw_name_;
  const ConvertOptions& options_;
  const bool tab_separated_;
  std::optional<std::string> delimiter_;
  bool user_delimiter_ = false;
  bool large_lines_ = false;      // read with max_line_size = kMaxLineBytes
  bool saw_long_line_ = false;    // DuckDB reported a line over its current limit
  uint64_t long_line_bytes_ = 0;  // and its size, where DuckDB said
};

// ---- JSON ----

Result<ConvertResult> ConvertJson(Connection& connection, const std::string& path, const std::string& raw_name,
                                  const OutputNaming& naming, const ConvertOptions& options) {
  auto error = [&](const Status& status) { return ContentError(status, raw_name, path, "JSON"); };
  const FormatOptions& format = options.format;
  std::string args = ", format='auto', maximum_object_size=" + std::to_string(kMaxLineBytes);
  if (format.date_format) args += ", dateformat=" + SqlString(*format.date_format);
  if (format.timestamp_format) args += ", timestampformat=" + SqlString(*format.timestamp_format);
  const std::string read = "read_json(" + SqlString(path) + args + ")";

  Result<std::vector<NamedType>> columns = DescribeColumns(connection, "SELECT * FROM " + read);
  if (!columns.ok()) return error(columns.status());

  // DuckDB renames keys that differ only in case to "<key>_1"; confirm such a suspect from the keys
  // themselves (a file may really hold "a" and "a_1").
  std::set<std::string> lower_names;
  for (const NamedType& column : *columns) lower_names.insert(AsciiLower(column.name));
  const bool suspect = std::any_of(columns->begin(), columns->end(), [&](const NamedType& column) {
    const size_t underscore = column.name.rfind('_');
    return underscore != std::string::npos && underscore + 1 < column.name.size() &&
           std::all_of(column.name.begin() + static_cast<std::ptrdiff_t>(underscore) + 1, column.name.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }) &&
           lower_names.count(AsciiLower(column.name.substr(0, underscore))) > 0;
  });
  if (suspect) {
    Result<QueryResult> keys =
        connection.Query("SELECT DISTINCT unnest(json_keys(json)) FROM read_json_objects(" + SqlString(path) +
                         ", format='auto', maximum_object_size=" + std::to_string(kMaxLineBytes) + ")");
    if (!keys.ok()) return error(keys.status());
    ASSIGN_OR_RETURN(TextRows rows, keys->FetchAllAsText());
    std::vector<std::string> names;
    for (const auto& row : rows) names.push_back(row[0].value_or(""));
    std::sort(names.begin(), names.end());
    const std::string duplicates = DuplicateNames(names);
    if (!duplicates.empty()) return DuplicateNamesError(raw_name, duplicates);
  }

  // Explicit column types: a cast per column. The type text goes into SQL as it is, so it must be a
  // plain type name.
  std::string replace;
  for (const auto& override_type : format.column_types) {
    const std::string& column = override_type.first;
    const std::string& type = override_type.second;
    auto found = std::find_if(columns->begin(), columns->end(),
                              [&](const NamedType& c) { return ingest_internal::EqualsIgnoreCase(c.name, column); });
    if (found == columns->end()) {
      return InvalidArgument("format.column_types names column " + Quoted(column) + ", which " + Quoted(raw_name) +
                             " lacks");
    }
    if (!IsPlainTypeName(type)) {
      return InvalidArgument("format.column_types: " + Quoted(type) + " for column " + Quoted(column) +
                             " is not a type name");
    }
    replace += (replace.empty() ? "" : ", ") +
               ("CAST(" + SqlIdentifier(found->name) + " AS " + type + ") AS " + SqlIdentifier(found->name));
  }
  const std::string select = "SELECT *" + (replace.empty() ? "" : " REPLACE (" + replace + ")") + " FROM " + read;

  Result<WriteOutcome> written = WriteParquet(connection, select, naming, options);
  if (!written.ok()) return error(written.status());
  if (written->rows == 0) return InvalidArgument(Quoted(raw_name) + " holds no JSON records");
  return ConvertedResult(connection, RawFormat::kJson, std::move(*written), raw_name);
}

// ---- Parquet ----

// A top-level column of a Parquet file and the leaf columns (column_id in parquet_metadata) under it.
struct TopColumn {
  std::string name;
  bool required = false;
  bool leaf = false;
  int64_t first_leaf = 0;
  int64_t leaf_count = 0;
};

// Walks parquet_schema (a depth-first listing of the schema tree, root first).
Result<std::vector<TopColumn>> ParquetLayout(Connection& connection, const std::string& path) {
  ASSIGN_OR_RETURN(QueryResult result, connection.Query("SELECT name, coalesce(num_children, 0), repetition_type "
                                                        "FROM parquet_schema(" +
                                                        SqlString(path) + ")"));
  ASSIGN_OR_RETURN(TextRows rows, result.FetchAllAsText());
  if (rows.empty()) return Internal("parquet_schema returned no root for '" + path + "'");
  struct Element {
    std::string name;
    int64_t children;
    bool required;
  };
  std::vector<Element> elements;
  for (const auto& row : rows) {
    elements.push_back({row[0].value_or(""), ToInt64(row[1]), row[2] == std::optional<std::string>("REQUIRED")});
  }
  size_t next = 1;
  int64_t leaves = 0;
  // Consumes the subtree at `next`; returns its leaf count.
  auto consume = [&](auto& self) -> int64_t {
    if (next >= elements.size()) return 0;
    const Element& element = elements[next++];
    if (element.children == 0) return 1;
    int64_t count = 0;
    for (int64_t i = 0; i < element.children; ++i) count += self(self);
    return count;
  };
  std::vector<TopColumn> columns;
  for (int64_t i = 0; i < elements[0].children && next < elements.size(); ++i) {
    TopColumn column;
    column.name = elements[next].name;
    column.required = elements[next].required;
    column.leaf = elements[next].children == 0;
    column.first_leaf = leaves;
    column.leaf_count = consume(consume);
    leaves += column.leaf_count;
    columns.push_back(std::move(column));
  }
  return columns;
}

Result<ConvertResult> PassParquet(Connection& connection, const std::string& path, const std::string& raw_name,
                                  const OutputNaming& naming) {
  auto invalid = [&](const Status& status) -> Status {
    if (status.code() != StatusCode::kInvalidArgument) return status.WithContext("validating " + Quoted(raw_name));
    return InvalidArgument(Quoted(raw_name) + " is not a valid Parquet file: " +
                           WithoutErrorPrefix(CondenseEngineMessage(ReplaceAll(status.message(), path, raw_name))));
  };
  Result<std::optional<std::string>> rows =
      QuerySingleValue(connection, "SELECT num_rows FROM parquet_file_metadata(" + SqlString(path) + ")");
  if (!rows.ok()) return invalid(rows.status());
  Result<std::vector<TopColumn>> layout = ParquetLayout(connection, path);
  if (!layout.ok()) return invalid(layout.status());
  std::vector<std::string> names;
  for (const TopColumn& column : *layout) names.push_back(column.name);
  const std::string duplicates = DuplicateNames(names);
  if (!duplicates.empty()) return DuplicateNamesError(raw_name, duplicates);
  Result<std::vector<NamedType>> columns =
      DescribeColumns(connection, "SELECT * FROM read_parquet(" + SqlString(path) + ")");
  if (!columns.ok()) return invalid(columns.status());
  // The footer can be intact while pages are not: decode every value once.
  if (!columns->empty()) {
    Result<QueryResult> scanned =
        connection.Query("SELECT bit_xor(hash(COLUMNS(*))) FROM read_parquet(" + SqlString(path) + ")");
    if (!scanned.ok()) return invalid(scanned.status());
  }

  const std::string name = naming.stem + ".parquet";
  const fs::path target = naming.out_dir / fs::path(name);
  std::error_code error;
  fs::create_directories(target.parent_path(), error);
  if (error) return FileSystemError(error, "creating folder", target.parent_path());
  if (fs::exists(target, error)) {
    return AlreadyExists("output " + Quoted(name) + " already exists (another raw file with the same name stem?)");
  }
  fs::copy_file(path, target, error);
  if (error) {
    RemoveQuietly(target);
    return FileSystemError(error, "copying Parquet to", target);
  }
  ConvertResult result;
  result.format = RawFormat::kParquet;
  result.rows = ToInt64(*rows);
  ParquetOutput output;
  output.name = name;
  output.path = target;
  output.rows = result.rows;
  output.bytes = fs::file_size(target, error);
  result.outputs.push_back(std::move(output));
  for (size_t i = 0; i < columns->size(); ++i) {
    // Parquet says what is REQUIRED; everything else may hold nulls.
    const bool required = i < layout->size() && (*layout)[i].required;
    result.schema.push_back({(*columns)[i].name, (*columns)[i].type, !required});
  }
  return result;
}

// Types whose Parquet min/max statistics compare the way DuckDB compares the values.
bool HasOrderedStatistics(const std::string& type) {
  static constexpr std::string_view kTypes[] = {"BOOLEAN",
                                                "TINYINT",
                                                "SMALLINT",
                                                "INTEGER",
                                                "BIGINT",
                                                "HUGEINT",
                                                "UTINYINT",
                                                "USMALLINT",
                                                "UINTEGER",
                                                "UBIGINT",
                                                "FLOAT",
                                                "DOUBLE",
                                                "DATE",
                                                "TIME",
                                                "TIMESTAMP",
                                                "TIMESTAMP_S",
                                                "TIMESTAMP_MS",
                                                "TIMESTAMP_NS",
                                                "TIMESTAMP WITH TIME ZONE",
                                                "VARCHAR",
                                                "UUID"};
  if (std::find(std::begin(kTypes), std::end(kTypes), type) != std::end(kTypes)) return true;
  return type.starts_with("DECIMAL(") && IsPlainTypeName(type) && type.find('[') == std::string::npos;
}

}  // namespace

std::string_view RawFormatName(RawFormat format) {
  switch (format) {
    case RawFormat::kCsv: return "csv";
    case RawFormat::kJson: return "json";
    case RawFormat::kParquet: return "parquet";
    case RawFormat::kRawOnly: return "raw-only";
  }
  return "raw-only";
}

RawFormat DetectFormat(const fs::path& path, const FormatOptions& format) {
  return Detect(path, ReadPrefix(path, kSniffBytes), format).format;
}

Result<ConvertResult> ConvertToParquet(Database& db, const fs::path& raw, const std::string& raw_name,
                                       const fs::path& out_dir, const ConvertOptions& options) {
  if (options.target_file_bytes == 0) return InvalidArgument("target_file_bytes must be positive");
  if (options.row_group_rows <= 0) return InvalidArgument("row_group_rows must be positive");
  ASSIGN_OR_RETURN(OutputNaming naming, NameOutputs(raw_name, out_dir));

  std::error_code error;
  const uintmax_t size = fs::file_size(raw, error);
  if (error) return FileSystemError(error, "reading raw file", raw).WithContext("converting " + Quoted(raw_name));

  const std::string head = ReadPrefix(raw, kSniffBytes);
  const Detection detection = Detect(raw, head, options.format);
  ConvertResult result;
  result.format = detection.format;
  if (detection.format == RawFormat::kRawOnly) {
    result.raw_only_reason = detection.reason;
    return result;
  }
  if (size == 0) return InvalidArgument(Quoted(raw_name) + " is empty");
  if (size <= kSniffBytes && IsBlank(WithoutBom(head))) {
    return InvalidArgument(Quoted(raw_name) + " is empty (only white space)");
  }

  ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, db.Connect());
  const std::string path = AbsolutePath(raw);
  switch (detection.format) {
    case RawFormat::kCsv: {
      CsvConverter converter(*connection, path, raw_name, options, detection.tab_separated);
      return converter.Run(naming, head);
    }
    case RawFormat::kJson: return ConvertJson(*connection, path, raw_name, naming, options);
    case RawFormat::kParquet: return PassParquet(*connection, path, raw_name, naming);
    case RawFormat::kRawOnly: break;
  }
  return result;
}

Result<UpdateStats> DescribeParquet(Database& db, const std::vector<fs::path>& files) {
  UpdateStats stats;
  if (files.empty()) return stats;
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, db.Connect());
  std::vector<std::string> paths;
  paths.reserve(files.size());
  for (const fs::path& file : files) paths.push_back(AbsolutePath(file));

  std::vector<NamedType> schema;
  for (size_t i = 0; i < paths.size(); ++i) {
    Result<std::vector<NamedType>> columns =
        DescribeColumns(*connection, "SELECT * FROM read_parquet(" + SqlString(paths[i]) + ")");
    if (!columns.ok()) return columns.status().WithContext("reading the schema of " + Quoted(files[i].string()));
    if (i == 0) {
      schema = std::move(*columns);
      continue;
    }
    std::string difference;
    for (size_t c = 0; c < std::max(schema.size(), columns->size()) && difference.empty(); ++c) {
      auto describe = [](const std::vector<NamedType>& in, size_t index) {
        return index < in.size() ? Quoted(in[index].name) + " " + in[index].type : std::string("nothing");
      };
      if (c >= schema.size() || c >= columns->size() || schema[c].name != (*columns)[c].name ||
          schema[c].type != (*columns)[c].type) {
        difference = "column " + std::to_string(c + 1) + " is " + describe(schema, c) + " in the first but " +
                     describe(*columns, c) + " in the second";
      }
    }
    if (!difference.empty()) {
      return InvalidArgument("Parquet files " + Quoted(files[0].string()) + " and " + Quoted(files[i].string()) +
                             " have different schemas: " + difference);
    }
  }

  ASSIGN_OR_RETURN(std::optional<std::string> rows,
                   QuerySingleValue(*connection, "SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata(" +
                                                     SqlStringList(paths) + ")"));
  stats.rows = ToInt64(rows);

  ASSIGN_OR_RETURN(std::vector<TopColumn> layout, ParquetLayout(*connection, paths[0]));
  for (size_t i = 0; i < schema.size(); ++i) {
    ColumnStats column;
    column.name = schema[i].name;
    column.type = schema[i].type;
    column.nullable = !(i < layout.size() && layout[i].required);
    stats.columns.push_back(std::move(column));
  }
  if (layout.size() != schema.size()) return stats;  // unexpected layout: leave statistics unknown

  // One pass over the footers' row-group statistics: per flat column the summed null count, whether
  // any row group lacks it, and typed min/max that are known only if every row group holding a
  // non-null value has an exact, castable statistic.
  std::string select;
  std::vector<size_t> selected;
  for (size_t i = 0; i < layout.size(); ++i) {
    if (!layout[i].leaf) continue;
    const std::string filter = " FILTER (WHERE column_id = " + std::to_string(layout[i].first_leaf) + ")";
    select += std::string(select.empty() ? "" : ", ") + "coalesce(sum(stats_null_count)" + filter +
              ", 0), count(*) FILTER (WHERE column_id = " + std::to_string(layout[i].first_leaf) +
              " AND stats_null_count IS NULL)";
    const std::string& type = schema[i].type;
    if (HasOrderedStatistics(type)) {
      auto bound = [&](const std::string& value, const std::string& exact, const char* aggregate) {
        const std::string cast = "TRY_CAST(" + value + " AS " + type + ")";
        return std::string(", CAST(") + aggregate + "(" + cast + ")" + filter +
               " AS VARCHAR), coalesce(bool_and((stats_null_count IS NOT NULL AND stats_null_count >= num_values) OR "
               "(" +
               cast + " IS NOT NULL AND coalesce(" + exact + ", true)))" + filter + ", false)";
      };
      select += bound("stats_min_value", "min_is_exact", "min") + bound("stats_max_value", "max_is_exact", "max");
    } else {
      select += ", NULL, false, NULL, false";
    }
    selected.push_back(i);
  }
  if (selected.empty()) return stats;
  ASSIGN_OR_RETURN(QueryResult result,
                   connection->Query("SELECT " + select + " FROM parquet_metadata(" + SqlStringList(paths) + ")"));
  ASSIGN_OR_RETURN(TextRows values, result.FetchAllAsText());
  if (values.size() != 1) return Internal("parquet_metadata statistics returned no row");
  const auto& row = values[0];
  for (size_t k = 0; k < selected.size(); ++k) {
    ColumnStats& column = stats.columns[selected[k]];
    const size_t base = k * 6;
    column.null_count = ToInt64(row[base]);
    const bool nulls_unknown = row[base + 1] && *row[base + 1] != "0";
    if (column.nullable) column.nullable = nulls_unknown || column.null_count > 0;
    if (row[base + 3] == std::optional<std::string>("true")) column.min = row[base + 2];
    if (row[base + 5] == std::optional<std::string>("true")) column.max = row[base + 4];
  }
  return stats;
}

SchemaChange DiffSchemas(const std::vector<ColumnSchema>& before, const std::vector<ColumnSchema>& after) {
  SchemaChange change;
  std::map<std::string, const ColumnSchema*> old_columns;
  std::map<std::string, const ColumnSchema*> new_columns;
  for (const ColumnSchema& column : before) old_columns.emplace(column.name, &column);
  for (const ColumnSchema& column : after) new_columns.emplace(column.name, &column);
  for (const ColumnSchema& column : after) {
    auto old = old_columns.find(column.name);
    if (old == old_columns.end()) {
      change.added.push_back(column);
    } else if (old->second->type != column.type) {
      change.retyped.push_back({column.name, old->second->type, column.type});
    }
  }
  for (const ColumnSchema& column : before) {
    if (new_columns.count(column.name) == 0) change.removed.push_back(column);
  }
  return change;
}

}  // namespace edl
