#include "cli/plan_render.h"

#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "deploy/deploy.h"

namespace edl::cli {

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

}  // namespace edl::cli
