#include "api/validate.h"

#include <cstdint>

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

std::optional<std::string> check_new_namespace_name(std::string_view name) {
  if (auto bad = check_namespace_name(name)) return bad;
  if (name.find_first_not_of("0123456789") == std::string_view::npos) {
    return "namespace must not be made only of digits (a path segment of digits is an id)";
  }
  return std::nullopt;
}

namespace {

/// Length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no overlong forms,
/// no surrogates, at most U+10FFFF) and its code point; 0 when malformed.
size_t utf8_sequence(std::string_view s, uint32_t& cp) {
  auto byte = [&s](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(0);
  size_t len = 0;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  } else if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
    cp = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    cp = b0 & 0x0f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i) & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return len;
}

}  // namespace

std::optional<std::string> check_operator(std::string_view raw) {
  while (!raw.empty()) {
    uint32_t cp = 0;
    size_t len = utf8_sequence(raw, cp);
    if (len == 0) return "X-Operator must be valid UTF-8";
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
      return "X-Operator must not contain control characters";
    }
    raw.remove_prefix(len);
  }
  return std::nullopt;
}

std::string sanitize_operator(std::string_view raw) {
  // Cut after kMaxOperatorLength characters, never inside one.
  size_t end = 0;
  for (size_t chars = 0; end < raw.size() && chars < kMaxOperatorLength; ++chars) {
    uint32_t cp = 0;
    size_t len = utf8_sequence(raw.substr(end), cp);
    end += len == 0 ? 1 : len;
  }
  std::string_view out = raw.substr(0, end);
  size_t b = out.find_first_not_of(' ');
  if (b == std::string_view::npos) return "anonymous";
  size_t e = out.find_last_not_of(' ');
  return std::string(out.substr(b, e - b + 1));
}

}  // namespace cairn::api
