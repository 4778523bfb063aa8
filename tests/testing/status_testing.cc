#include "testing/status_testing.h"

namespace edl::testing {

using namespace std::chrono_literals;

FixedClock::FixedClock()
    : now_(std::chrono::sys_days{std::chrono::year{2026} / 1 / 2} + 3h + 4min + 5s + 678ms) {}

}  // namespace edl::testing
