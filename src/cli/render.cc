#include "cli/render.h"

#include <algorithm>
#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/exit_codes.h"
#include "deploy/deploy.h"

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

void PrintPlan(std::ostream& out, const Plan& plan, bool applied) {
  int creates = plan.Count(ChangeAction::kCreate);
  int updates = plan.Count(ChangeAction::kUpdate);
  int removes = plan.Count(ChangeAction::kRemove);
  if (!plan.HasChanges()) {
    out << fmt::format("No changes: {} is up to date.\n", plan.subject);
    return;
  }
  out << fmt::format("{} {}:\n", applied ? "Applied to" : "Plan for", plan.subject);
  for (const PlannedChange& change : plan.changes) {
    if (change.action == ChangeAction::kUnchanged) continue;
    out << fmt::format("  {} {} {}{}\n", ChangeActionSymbol(change.action), change.kind, change.name,
                       change.detail.empty() ? "" : "  (" + change.detail + ")");
  }
  int unchanged = plan.Count(ChangeAction::kUnchanged);
  if (applied) {
    out << fmt::format("Done: {} created, {} changed, {} removed, {} unchanged.\n", creates, updates, removes, unchanged);
  } else {
    out << fmt::format("Plan: {} to create, {} to change, {} to remove, {} unchanged.\n", creates, updates, removes,
                       unchanged);
  }
  if (!applied) out << "Nothing was changed (--plan).\n";
}

nlohmann::json PlanToJson(const Plan& plan, bool applied) {
  nlohmann::json changes = nlohmann::json::array();
  for (const PlannedChange& change : plan.changes) {
    std::string_view action = change.action == ChangeAction::kCreate   ? "create"
                              : change.action == ChangeAction::kUpdate ? "update"
                              : change.action == ChangeAction::kRemove ? "remove"
                                                                       : "unchanged";
    changes.push_back({{"action", action}, {"kind", change.kind}, {"name", change.name}, {"detail", change.detail}});
  }
  return {{"subject", plan.subject}, {"applied", applied && plan.HasChanges()},
          {"changed", plan.HasChanges()}, {"changes", changes}};
}

void PrintError(std::ostream& err, std::string_view program, const Status& status, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    nlohmann::json body = {{"error", {{"code", StatusCodeName(status.code())}, {"message", status.message()}}}};
    err << body.dump() << "\n";
    return;
  }
  err << fmt::format("{}: {}: {}\n", program, ErrorLabel(status.code()), status.message());
}

}  // namespace edl::cli
