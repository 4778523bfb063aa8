#include "cli/render.h"

#include <algorithm>
#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/exit_codes.h"

namespace edl::cli {

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows, std::string_view indent) {
  std::vector<size_t> widths(headers.size());
  for (size_t i = 0; i < headers.size(); ++i) widths[i] = headers[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < headers.size(); ++i) {
      const std::string& cell = i < row.size() ? row[i] : std::string();
      line += i + 1 == headers.size() ? cell : fmt::format("{:<{}}  ", cell, widths[i]);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out << indent << line << "\n";
  };
  print_row(headers);
  for (const auto& row : rows) print_row(row);
}

void PrintFields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [key, value] : fields) width = std::max(width, key.size());
  for (const auto& [key, value] : fields) out << fmt::format("{:<{}}  {}\n", key + ":", width + 1, value);
}

void PrintJson(std::ostream& out, const nlohmann::json& value) { out << value.dump(2) << "\n"; }

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1000 && unit < 4) {
    value /= 1000;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, kUnits[unit]);
}

void PrintError(std::ostream& err, std::string_view program, const Status& status, OutputFormat format) {
  if (format != OutputFormat::kTable) {
    nlohmann::json body = {{"error", {{"code", StatusCodeName(status.code())}, {"message", status.message()}}}};
    err << body.dump() << "\n";
    return;
  }
  err << fmt::format("{}: {}: {}\n", program, ErrorLabel(status.code()), status.message());
}

}  // namespace edl::cli
