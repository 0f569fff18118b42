#include "common/json.h"

namespace cairn {

int json_depth(std::string_view text, int limit) {
  int depth = 0;
  int max_depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) {
          max_depth = depth;
          if (max_depth > limit) return limit + 1;
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return max_depth;
}

int json_depth(const Json& value) {
  if (!value.is_structured()) return 0;
  int deepest = 0;
  for (const auto& child : value) {
    int d = json_depth(child);
    if (d > deepest) deepest = d;
  }
  return deepest + 1;
}

std::optional<Json> parse_json(std::string_view text, int max_depth) {
  if (json_depth(text, max_depth) > max_depth) return std::nullopt;
  Json doc = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::nullopt;
  return doc;
}

void append_json_string(std::string& out, std::string_view s) {
  // Plain printable ASCII without '"' or '\\' needs no escaping: copied straight through. That
  // covers ids, names and keys on the read path, where the general escaper below (a Json built
  // from a string copy, then dumped) cost several allocations per string.
  bool plain = true;
  for (char c : s) plain = plain && c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
  if (plain) {
    out += '"';
    out += s;
    out += '"';
    return;
  }
  // nlohmann's serializer does the escaping and the UTF-8 repair, one escaping rule in the code
  // base.
  out += Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string json_quote(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string dump_compact(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace cairn
