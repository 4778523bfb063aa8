#include "core/model.h"

#include <fmt/format.h>

#include "core/names.h"

namespace edl {
namespace {

template <typename Enum, size_t N>
Result<Enum> ParseEnum(std::string_view what, std::string_view text,
                       const std::pair<std::string_view, Enum> (&table)[N]) {
  std::string choices;
  for (const auto& [name, value] : table) {
    if (name == text) return value;
    choices += choices.empty() ? "" : ", ";
    choices += name;
  }
  return InvalidArgument(fmt::format("unknown {} '{}' (expected one of: {})", what, text, choices));
}

template <typename Enum, size_t N>
std::string_view EnumName(Enum value, const std::pair<std::string_view, Enum> (&table)[N]) {
  for (const auto& [name, v] : table) {
    if (v == value) return name;
  }
  return "?";
}

constexpr std::pair<std::string_view, Tier> kTiers[] = {
    {"internal", Tier::kInternal}, {"restricted", Tier::kRestricted}, {"sensitive", Tier::kSensitive}};
constexpr std::pair<std::string_view, UpdateKind> kKinds[] = {{"snapshot", UpdateKind::kSnapshot},
                                                              {"delta", UpdateKind::kDelta}};
constexpr std::pair<std::string_view, AccessLevel> kLevels[] = {
    {"read", AccessLevel::kRead}, {"write", AccessLevel::kWrite}, {"admin", AccessLevel::kAdmin}};
constexpr std::pair<std::string_view, PrincipalKind> kPrincipalKinds[] = {
    {"user", PrincipalKind::kUser}, {"group", PrincipalKind::kGroup}, {"service", PrincipalKind::kService}};
constexpr std::pair<std::string_view, UpdateState> kUpdateStates[] = {
    {"staging", UpdateState::kStaging}, {"complete", UpdateState::kComplete}, {"failed", UpdateState::kFailed}};
constexpr std::pair<std::string_view, AccessRequestState> kAccessRequestStates[] = {
    {"pending", AccessRequestState::kPending},
    {"approved", AccessRequestState::kApproved},
    {"denied", AccessRequestState::kDenied},
};
constexpr std::pair<std::string_view, JobState> kJobStates[] = {
    {"queued", JobState::kQueued},       {"running", JobState::kRunning},
    {"succeeded", JobState::kSucceeded}, {"failed", JobState::kFailed},
    {"cancelled", JobState::kCancelled}};
constexpr std::pair<std::string_view, SchemaChangePolicy> kSchemaPolicies[] = {
    {"allow", SchemaChangePolicy::kAllow}, {"warn", SchemaChangePolicy::kWarn}, {"fail", SchemaChangePolicy::kFail}};

}  // namespace

std::string_view TierName(Tier tier) { return EnumName(tier, kTiers); }
Result<Tier> ParseTier(std::string_view text) { return ParseEnum("tier", text, kTiers); }
std::string_view UpdateKindName(UpdateKind kind) { return EnumName(kind, kKinds); }
Result<UpdateKind> ParseUpdateKind(std::string_view text) { return ParseEnum("update kind", text, kKinds); }
std::string_view AccessLevelName(AccessLevel level) { return EnumName(level, kLevels); }
Result<AccessLevel> ParseAccessLevel(std::string_view text) { return ParseEnum("access level", text, kLevels); }
std::string_view PrincipalKindName(PrincipalKind kind) { return EnumName(kind, kPrincipalKinds); }
Result<PrincipalKind> ParsePrincipalKind(std::string_view text) {
  return ParseEnum("principal kind", text, kPrincipalKinds);
}
std::string_view SchemaChangePolicyName(SchemaChangePolicy policy) { return EnumName(policy, kSchemaPolicies); }
Result<SchemaChangePolicy> ParseSchemaChangePolicy(std::string_view text) {
  return ParseEnum("schema change policy", text, kSchemaPolicies);
}

std::string_view UpdateStateName(UpdateState state) { return EnumName(state, kUpdateStates); }
Result<UpdateState> ParseUpdateState(std::string_view text) { return ParseEnum("update state", text, kUpdateStates); }

std::string_view JobStateName(JobState state) { return EnumName(state, kJobStates); }
Result<JobState> ParseJobState(std::string_view text) { return ParseEnum("job state", text, kJobStates); }
std::string_view AccessRequestStateName(AccessRequestState state) { return EnumName(state, kAccessRequestStates); }
Result<AccessRequestState> ParseAccessRequestState(std::string_view text) {
  return ParseEnum("access request state", text, kAccessRequestStates);
}

std::string PrincipalRef(const Principal& principal) {
  return fmt::format("{}:{}", PrincipalKindName(principal.kind), principal.name);
}

Result<Principal> ParsePrincipalRef(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return InvalidArgument(fmt::format(
        "principal '{}' must be written KIND:NAME, e.g. user:alice or group:finance", text));
  }
  ASSIGN_OR_RETURN(PrincipalKind kind, ParsePrincipalKind(text.substr(0, colon)));
  std::string_view name = text.substr(colon + 1);
  RETURN_IF_ERROR(ValidatePrincipalName(name));
  return Principal{kind, std::string(name)};
}

std::string DatasetRoleName(std::string_view dataset, AccessLevel level) {
  return fmt::format("{}:{}", dataset, AccessLevelName(level));
}

}  // namespace edl
