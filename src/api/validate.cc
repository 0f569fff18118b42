#include "api/validate.h"

namespace cairn::api {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

std::optional<std::string> check_namespace_name(std::string_view name) {
  if (name.empty()) return "namespace must not be empty";
  if (name.size() > kMaxNamespaceLength) return "namespace must be at most 128 characters";
  for (char c : name) {
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-') {
      return "namespace may contain only letters, digits, '.', '_' and '-'";
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_key(std::string_view key) {
  if (key.empty()) return "key must not be empty";
  if (key.size() > kMaxKeyLength) return "key must be at most 256 characters";
  for (char c : key) {
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-' && c != ':' && c != '/') {
      return "key may contain only letters, digits, '.', '_', '-', ':' and '/'";
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_description(std::string_view description) {
  if (description.size() > kMaxDescriptionBytes) return "description must be at most 512 bytes";
  return std::nullopt;
}

std::optional<std::string> check_status(long long status) {
  if (status != 0 && status != 1) return "status must be 0 (disabled) or 1 (enabled)";
  return std::nullopt;
}

std::optional<std::string> check_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagLength) return "tag must be 1 to 64 characters";
  for (char c : tag) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return "tag may only contain letters, digits, '.', '_' and '-'";
  }
  return std::nullopt;
}

std::string sanitize_operator(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    if (out.size() >= kMaxOperatorLength) break;
    if (c >= 0x20 && c < 0x7f) out += c;
  }
  size_t b = out.find_first_not_of(' ');
  if (b == std::string::npos) return "anonymous";
  size_t e = out.find_last_not_of(' ');
  return out.substr(b, e - b + 1);
}

}  // namespace cairn::api
