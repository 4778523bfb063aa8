// Rendering for the command-line programs: aligned tables for people, JSON for scripts, plans as
// "+ bucket name" lines, and errors on stderr. Writes to the streams it is given; not synchronized.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"

namespace edl {
struct Plan;
}

namespace edl::cli {

enum class OutputFormat { kTable, kJson };

// `indent` goes before every line, header included.
void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows, std::string_view indent = "");
// "key: value" lines with the keys aligned.
void PrintFields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields);
void PrintJson(std::ostream& out, const nlohmann::json& value);
// `applied` switches the wording from "would" to "did".
void PrintPlan(std::ostream& out, const Plan& plan, bool applied);
nlohmann::json PlanToJson(const Plan& plan, bool applied);
// "edl: not found: dataset 'x' does not exist" (or a JSON error object when json is set).
void PrintError(std::ostream& err, std::string_view program, const Status& status, OutputFormat format);

std::string Join(const std::vector<std::string>& items, std::string_view separator = ", ");

}  // namespace edl::cli
