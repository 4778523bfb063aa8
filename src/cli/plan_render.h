// Rendering of deploy plans for `edl deploy` and `edl deploy-dataset`: "+ bucket name" lines for
// people, JSON for scripts. Kept apart from render.h so edl-api does not link the deploy service.
#pragma once

#include <iosfwd>

#include <nlohmann/json_fwd.hpp>

namespace edl {
struct Plan;
}

namespace edl::cli {

// `applied` switches the wording from "would" to "did".
void PrintPlan(std::ostream& out, const Plan& plan, bool applied);
nlohmann::json PlanToJson(const Plan& plan, bool applied);

}  // namespace edl::cli
