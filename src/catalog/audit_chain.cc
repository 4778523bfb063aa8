#include "catalog/audit_chain.h"

#include <memory>

#include <fmt/format.h>
#include <openssl/evp.h>

namespace edl {
namespace {

void AppendNetstring(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += ',';
}

}  // namespace

std::string CanonicalAuditFields(const AuditEvent& event) {
  std::string out;
  AppendNetstring(out, std::to_string(event.seq));
  AppendNetstring(out, event.at);
  AppendNetstring(out, event.actor);
  AppendNetstring(out, event.action);
  AppendNetstring(out, event.target);
  AppendNetstring(out, event.details_json);
  return out;
}

Result<std::string> AuditHash(std::string_view prev_hash, const AuditEvent& event) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::string fields = CanonicalAuditFields(event);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), prev_hash.data(), prev_hash.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), fields.data(), fields.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &digest_size) != 1) {
    return Internal(fmt::format("computing the SHA-256 hash of audit event {} failed (OpenSSL)", event.seq));
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(static_cast<size_t>(digest_size) * 2);
  for (unsigned int i = 0; i < digest_size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0x0f];
  }
  return hex;
}

}  // namespace edl
