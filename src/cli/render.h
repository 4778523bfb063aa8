// Rendering for the command-line programs: aligned tables for people, JSON for scripts, sizes and
// errors on stderr (deploy plans: plan_render.h, `edl` only). Writes to the streams it is given; not
// synchronized.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"

namespace edl::cli {

// kJsonLines: one JSON object per line (`-o jsonl`), for exports and tools like jq -c.
enum class OutputFormat { kTable, kJson, kJsonLines };

// `indent` goes before every line, header included.
void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows, std::string_view indent = "");
// "key: value" lines with the keys aligned.
void PrintFields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields);
void PrintJson(std::ostream& out, const nlohmann::json& value);
// "12.3 MB", "1.0 GB", "512 B".
std::string HumanBytes(uint64_t bytes);
// "edl: not found: dataset 'x' does not exist", or a JSON error object on one line for json and
// jsonl.
void PrintError(std::ostream& err, std::string_view program, const Status& status, OutputFormat format);

std::string Join(const std::vector<std::string>& items, std::string_view separator = ", ");

}  // namespace edl::cli
