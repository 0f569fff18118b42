#include "frontends/nacos/protocol.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "api/validate.h"

namespace cairn::nacos {

namespace {

constexpr char kWordSeparator = '\x02';
constexpr char kLineSeparator = '\x01';

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Nacos's ParamUtils.isValid for the names Cairn can hold: Cairn's own name rules decide
/// (namespaces [A-Za-z0-9._-], keys [A-Za-z0-9._:/-]); Nacos's non-ASCII letters are refused.
bool valid_key(std::string_view key) { return !api::check_key(key).has_value(); }

}  // namespace

std::optional<std::string> param(const Params& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::optional<std::string> url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

bool decode_form(std::string_view body, Params& out) {
  Params fields;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view piece = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    auto name = url_decode(piece.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::optional<std::string>(std::string())
                                              : url_decode(piece.substr(eq + 1));
    if (!name || !value) return false;
    fields.emplace_back(std::move(*name), std::move(*value));
  }
  for (auto& f : fields) out.push_back(std::move(f));
  return true;
}

std::string url_encode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 3);
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
        c == '-' || c == '*' || c == '_') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string md5_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xF];
  }
  return out;
}

AddressResult map_address(std::string_view data_id, std::string_view group,
                          std::string_view tenant) {
  AddressResult r;
  if (blank(data_id) || !valid_key(data_id)) {
    r.error = "invalid dataId : " + std::string(data_id);
    return r;
  }
  if (group.empty()) group = kDefaultGroup;
  std::string ns;
  if (tenant.empty() || tenant == kPublicTenant) {
    ns = std::string(group);
  } else {
    if (api::check_namespace_name(tenant)) {
      r.error = tenant.size() > 128 ? "too long tenant, over 128" : "invalid tenant";
      return r;
    }
    ns = std::string(tenant) + "." + std::string(group);
  }
  // The group must be a namespace name, and with the tenant still one that a write may create
  // (api::check_new_namespace_name: not all digits, at most 128 characters).
  if (api::check_namespace_name(group) || api::check_new_namespace_name(ns)) {
    r.error = "invalid group : " + std::string(group);
    return r;
  }
  r.address = Address{std::move(ns), std::string(data_id)};
  return r;
}

std::optional<std::vector<ListenEntry>> parse_listening_configs(std::string_view text) {
  std::vector<ListenEntry> entries;
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == kWordSeparator) {
      fields.push_back(text.substr(start, i - start));
      start = i + 1;
      if (fields.size() > 3) return std::nullopt;  // "too much key"
    } else if (c == kLineSeparator) {
      std::string_view end = text.substr(start, i - start);
      start = i + 1;
      ListenEntry e;
      if (fields.size() == 2) {
        e = ListenEntry{std::string(fields[0]), std::string(fields[1]), "", std::string(end)};
      } else if (fields.size() == 3) {
        e = ListenEntry{std::string(fields[0]), std::string(fields[1]), std::string(end),
                        std::string(fields[2])};
      } else {
        return std::nullopt;
      }
      fields.clear();
      auto same = std::find_if(entries.begin(), entries.end(), [&](const ListenEntry& x) {
        return x.data_id == e.data_id && x.group == e.group && x.tenant == e.tenant;
      });
      if (same != entries.end()) {
        same->md5 = std::move(e.md5);
      } else {
        if (entries.size() >= kMaxListeners) return std::nullopt;  // "too much listener"
        entries.push_back(std::move(e));
      }
    }
  }
  return entries;
}

std::string encode_changed(const std::vector<ListenEntry>& changed) {
  std::string text;
  for (const auto& e : changed) {
    text += e.data_id;
    text += kWordSeparator;
    text += e.group;
    if (!blank(e.tenant)) {
      text += kWordSeparator;
      text += e.tenant;
    }
    text += kLineSeparator;
  }
  return url_encode(text);
}

std::optional<int64_t> parse_long(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string_view digits = text;
  if (digits.front() == '+') digits.remove_prefix(1);  // Long.parseLong takes a leading '+'
  if (digits.empty() || digits.front() == '+') return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

int64_t hold_ms(int64_t timeout_ms, int64_t max_ms) {
  constexpr int64_t kMin = 10'000;
  constexpr int64_t kEarly = 500;
  int64_t hold = timeout_ms < kMin + kEarly ? kMin : timeout_ms - kEarly;
  return std::min(hold, max_ms);
}

bool blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' ||
           (c >= '\x1c' && c <= '\x1f');
  });
}

}  // namespace cairn::nacos
