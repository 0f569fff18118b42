#include "frontends/apollo/wire.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/json.h"
#include "common/time.h"
#include "frontends/text.h"

namespace cairn::apollo {
namespace {

bool iends_with(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i]) {
      return false;
    }
  }
  return true;
}

// Cairn's namespace names (DESIGN.md §5): 1–128 of [A-Za-z0-9._-].
bool valid_namespace(std::string_view ns) {
  if (ns.empty() || ns.size() > 128) return false;
  return std::all_of(ns.begin(), ns.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

// Java's Properties.saveConvert for text written through a Writer (no \uXXXX for non-ASCII),
// but other control characters escaped so that every entry stays on its line.
void append_escaped(std::string& out, std::string_view s, bool is_key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    switch (c) {
      case ' ':
        if (is_key || i == 0) out += '\\';
        out += ' ';
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\f':
        out += "\\f";
        break;
      case '=':
      case ':':
      case '#':
      case '!':
        out += '\\';
        out += c;
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xF];
          out += kHex[static_cast<unsigned char>(c) & 0xF];
        } else {
          out += c;
        }
    }
  }
}

}  // namespace

std::string namespace_of(std::string_view namespace_name) {
  constexpr std::string_view kProperties = ".properties";
  if (iends_with(namespace_name, kProperties)) {
    namespace_name.remove_suffix(kProperties.size());
  }
  return std::string(namespace_name);
}

Format format_of(std::string_view name) {
  if (iends_with(name, ".json")) return Format::kJson;
  if (iends_with(name, ".yaml")) return Format::kYaml;
  if (iends_with(name, ".yml")) return Format::kYml;
  if (iends_with(name, ".xml")) return Format::kXml;
  if (iends_with(name, ".txt")) return Format::kTxt;
  return Format::kProperties;
}

std::string_view raw_content_type(Format format) {
  switch (format) {
    case Format::kJson:
      return "application/json;charset=UTF-8";
    case Format::kYaml:
    case Format::kYml:
      return "application/yaml;charset=UTF-8";
    case Format::kXml:
      return "application/xml;charset=UTF-8";
    default:
      return "text/plain;charset=UTF-8";
  }
}

int64_t notification_id(uint64_t revision) {
  if (revision == 0) return 1;
  if (revision > static_cast<uint64_t>(INT64_MAX)) return INT64_MAX;
  return static_cast<int64_t>(revision);
}

std::string release_key(uint64_t revision) { return std::to_string(notification_id(revision)); }

Result<std::vector<Watched>, std::string> parse_notifications(std::string_view text) {
  const std::string invalid = "invalid notifications format: " + std::string(text.substr(0, 256)) +
                              (text.size() > 256 ? "…" : "");
  // Depth 2 is a list of objects; deeper nesting is not a notification list.
  auto parsed = parse_json(text, 3);
  if (!parsed || !parsed->is_array()) return Unexpected{invalid};
  if (parsed->size() > kMaxNotifications) {
    return Unexpected{"too many notifications: at most " + std::to_string(kMaxNotifications)};
  }
  std::vector<Watched> out;
  for (const Json& item : *parsed) {
    if (item.is_null()) continue;
    if (!item.is_object()) return Unexpected{invalid};
    int64_t id = -1;
    if (auto it = item.find("notificationId"); it != item.end() && !it->is_null()) {
      if (it->is_number_integer()) {
        id = it->get<int64_t>();
        if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
          return Unexpected{invalid};
        }
      } else if (it->is_number_float()) {
        const double d = it->get<double>();
        if (d != std::floor(d) || std::fabs(d) > 9.2e18) return Unexpected{invalid};
        id = static_cast<int64_t>(d);
      } else {
        return Unexpected{invalid};
      }
    }
    auto name_it = item.find("namespaceName");
    if (name_it == item.end() || name_it->is_null()) continue;
    if (!name_it->is_string()) return Unexpected{invalid};
    const std::string& given = name_it->get_ref<const std::string&>();
    if (given.empty()) continue;
    std::string ns = namespace_of(given);
    if (!valid_namespace(ns)) {
      return Unexpected{"invalid namespace name in notifications: " +
                        std::string(std::string_view(given).substr(0, 256))};
    }
    auto same = std::find_if(out.begin(), out.end(), [&](const Watched& w) { return w.ns == ns; });
    if (same != out.end()) {
      same->notification_id = std::min(same->notification_id, id);
      continue;
    }
    out.push_back(Watched{ns, ns, id});
  }
  if (out.empty()) return Unexpected{invalid};
  return out;
}

std::string configurations_json(const std::vector<std::pair<std::string, std::string>>& configs) {
  std::string out = "{";
  for (const auto& [key, stored] : configs) {
    if (out.size() > 1) out += ',';
    append_json_string(out, key);
    out += ':';
    append_json_string(out, frontends::value_bytes(stored));
  }
  out += '}';
  return out;
}

std::string config_json(std::string_view app_id, std::string_view cluster,
                        std::string_view namespace_name,
                        const std::vector<std::pair<std::string, std::string>>& configs,
                        std::string_view release_key) {
  std::string out = "{\"appId\":";
  append_json_string(out, app_id);
  out += ",\"cluster\":";
  append_json_string(out, cluster);
  out += ",\"namespaceName\":";
  append_json_string(out, namespace_name);
  out += ",\"configurations\":";
  out += configurations_json(configs);
  out += ",\"releaseKey\":";
  append_json_string(out, release_key);
  out += '}';
  return out;
}

std::string properties_text(const std::vector<std::pair<std::string, std::string>>& configs) {
  std::string out;
  for (const auto& [key, stored] : configs) {
    append_escaped(out, key, /*is_key=*/true);
    out += '=';
    append_escaped(out, frontends::value_bytes(stored), /*is_key=*/false);
    out += '\n';
  }
  return out;
}

std::string notifications_json(std::string_view app_id, std::string_view cluster,
                               const std::vector<Notification>& notifications) {
  std::string out = "[";
  for (const auto& n : notifications) {
    if (out.size() > 1) out += ',';
    out += "{\"namespaceName\":";
    append_json_string(out, n.namespace_name);
    out += ",\"notificationId\":";
    out += std::to_string(n.notification_id);
    out += ",\"messages\":{\"details\":{";
    std::string key(app_id);
    key += '+';
    key += cluster;
    key += '+';
    key += n.namespace_name;
    append_json_string(out, key);
    out += ':';
    out += std::to_string(n.notification_id);
    out += "}}}";
  }
  out += ']';
  return out;
}

std::string error_json(int status, std::string_view message, std::string_view path,
                       int64_t unix_ms) {
  std::string_view reason = "Error";
  std::string_view exception;
  switch (status) {
    case 400:
      reason = "Bad Request";
      exception = "com.ctrip.framework.apollo.common.exception.BadRequestException";
      break;
    case 401:
      reason = "Unauthorized";
      break;
    case 403:
      reason = "Forbidden";
      break;
    case 404:
      reason = "Not Found";
      exception = "com.ctrip.framework.apollo.common.exception.NotFoundException";
      break;
    case 405:
      reason = "Method Not Allowed";
      break;
    case 413:
      reason = "Payload Too Large";
      break;
    case 429:
      reason = "Too Many Requests";
      break;
    case 500:
      reason = "Internal Server Error";
      break;
    case 503:
      reason = "Service Unavailable";
      break;
    default:
      break;
  }
  std::string out = "{\"timestamp\":";
  append_json_string(out, format_utc(unix_ms));
  out += ",\"status\":";
  out += std::to_string(status);
  out += ",\"error\":";
  append_json_string(out, reason);
  if (!exception.empty()) {
    out += ",\"exception\":";
    append_json_string(out, exception);
  }
  out += ",\"message\":";
  append_json_string(out, message);
  out += ",\"path\":";
  append_json_string(out, path);
  out += '}';
  return out;
}

}  // namespace cairn::apollo
