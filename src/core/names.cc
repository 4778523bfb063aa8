#include "core/names.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "core/model.h"

namespace edl {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// Describes the first character of `name` that breaks the rule, for the error message.
std::string Shown(char c) {
  if (c == ' ') return "a space";
  if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return fmt::format("control character 0x{:02x}", c);
  if (c >= 'A' && c <= 'Z') return fmt::format("upper-case '{}'", c);
  return fmt::format("'{}'", c);
}

Status CheckName(std::string_view what, std::string_view name, std::string_view rule,
                 std::string_view extra_chars, bool hyphen_end_ok) {
  if (name.empty()) return InvalidArgument(fmt::format("{} is empty; it must match {}", what, rule));
  if (name.size() > kMaxNameLength) {
    return InvalidArgument(fmt::format("{} '{}' is {} characters long; the limit is {}", what,
                                       name.substr(0, 20), name.size(), kMaxNameLength));
  }
  if (!IsLowerAlnum(name.front())) {
    return InvalidArgument(fmt::format("{} '{}' must start with a lower-case letter or digit, not {} ({})",
                                       what, name, Shown(name.front()), rule));
  }
  for (char c : name) {
    if (IsLowerAlnum(c) || extra_chars.find(c) != std::string_view::npos) continue;
    return InvalidArgument(fmt::format("{} '{}' contains {}; it must match {}", what, name,
                                       Shown(c), rule));
  }
  if (!hyphen_end_ok && name.back() == '-') {
    return InvalidArgument(fmt::format("{} '{}' must not end with '-'", what, name));
  }
  if (name.find("..") != std::string_view::npos) {
    return InvalidArgument(fmt::format("{} '{}' must not contain '..'", what, name));
  }
  return Status::Ok();
}

}  // namespace

Status ValidateInstanceName(std::string_view name) {
  return CheckName("instance name", name, "[a-z0-9]+", "", true);
}
Status ValidateDatasetName(std::string_view name) {
  return CheckName("dataset name", name, "[a-z0-9][a-z0-9-]*", "-", false);
}
Status ValidateRegionName(std::string_view name) {
  return CheckName("region", name, "[a-z0-9][a-z0-9-]*", "-", false);
}
Status ValidateBucketPrefix(std::string_view name) {
  return CheckName("bucket prefix", name, "[a-z0-9][a-z0-9-]*", "-", false);
}
Status ValidatePrincipalName(std::string_view name) {
  return CheckName("principal name", name, "[a-z0-9][a-z0-9._-]*", "._-", false);
}

std::string BucketName(std::string_view prefix, std::string_view instance, Tier tier,
                       std::string_view region) {
  return fmt::format("{}-{}-{}-{}", prefix, instance, TierName(tier), region);
}

std::string DropBucketName(std::string_view prefix, std::string_view instance, Tier tier,
                           std::string_view region) {
  return fmt::format("{}-drop-{}-{}-{}", prefix, instance, TierName(tier), region);
}

std::string UpdateFolderName(int64_t number) { return fmt::format("update-{:08d}", number); }

std::string RawUpdatePrefix(std::string_view dataset, int64_t number) {
  return fmt::format("{}/raw/{}/", dataset, UpdateFolderName(number));
}

std::string DataUpdatePrefix(std::string_view dataset, int64_t number) {
  return fmt::format("{}/data/{}/", dataset, UpdateFolderName(number));
}

std::string RedactUri(std::string_view uri) {
  size_t scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos) return std::string(uri);
  size_t authority = scheme_end + 3;
  size_t authority_end = uri.find_first_of("/?#", authority);
  if (authority_end == std::string_view::npos) authority_end = uri.size();
  size_t at = uri.substr(authority, authority_end - authority).rfind('@');
  std::string out(uri.substr(0, authority));
  out += uri.substr(at == std::string_view::npos ? authority : authority + at + 1);
  size_t cut = out.find_first_of("?#", authority);
  if (cut != std::string::npos) out.erase(cut);
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace edl
