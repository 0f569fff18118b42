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

bool json_valid(std::string_view text, int max_depth) {
  if (json_depth(text, max_depth) > max_depth) return false;
  return Json::accept(text.begin(), text.end());
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

namespace {

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// Where the document starts: after a UTF-8 byte order mark, which the parser skips too.
size_t skip_bom(std::string_view t) { return t.substr(0, 3) == "\xef\xbb\xbf" ? 3 : 0; }

size_t skip_space(std::string_view t, size_t i) {
  while (i < t.size() && is_json_space(t[i])) ++i;
  return i;
}

/// `i` at an opening quote: the index just past the closing quote, or t.size() when unclosed.
size_t skip_string(std::string_view t, size_t i) {
  for (++i; i < t.size(); ++i) {
    if (t[i] == '\\') {
      ++i;
    } else if (t[i] == '"') {
      return i + 1;
    }
  }
  return t.size();
}

/// `i` at the first character of a value: the index just past it. Containers are skipped by
/// counting brackets outside strings (iterative: constant stack on any input).
size_t skip_value(std::string_view t, size_t i) {
  if (i >= t.size()) return i;
  if (t[i] == '"') return skip_string(t, i);
  if (t[i] == '{' || t[i] == '[') {
    size_t depth = 0;
    while (i < t.size()) {
      char c = t[i];
      if (c == '"') {
        i = skip_string(t, i);
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return i;
  }
  // A number or a literal: runs to the next delimiter.
  while (i < t.size() && !is_json_space(t[i]) && t[i] != ',' && t[i] != ']' && t[i] != '}' &&
         t[i] != ':') {
    ++i;
  }
  return i;
}

/// Whether the string token `token` (quotes included) names `name`.
bool key_equals(std::string_view token, std::string_view name) {
  if (token.size() < 2) return false;
  std::string_view raw = token.substr(1, token.size() - 2);
  if (raw.find('\\') == std::string_view::npos) return raw == name;
  Json decoded = Json::parse(token.begin(), token.end(), nullptr, /*allow_exceptions=*/false);
  return decoded.is_string() && decoded.get_ref<const std::string&>() == name;
}

}  // namespace

std::string compact_json_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = skip_bom(text);
  while (i < text.size()) {
    char c = text[i];
    if (c == '"') {
      size_t end = skip_string(text, i);
      out.append(text.substr(i, end - i));
      i = end;
    } else {
      if (!is_json_space(c)) out += c;
      ++i;
    }
  }
  return out;
}

std::optional<std::string_view> json_member_text(std::string_view object_text,
                                                 std::string_view name) {
  std::string_view t = object_text;
  size_t i = skip_space(t, skip_bom(t));
  if (i >= t.size() || t[i] != '{') return std::nullopt;
  i = skip_space(t, i + 1);
  std::optional<std::string_view> found;
  while (i < t.size() && t[i] == '"') {
    size_t key_end = skip_string(t, i);
    std::string_view key = t.substr(i, key_end - i);
    i = skip_space(t, key_end);
    if (i >= t.size() || t[i] != ':') return found;
    i = skip_space(t, i + 1);
    size_t value_end = skip_value(t, i);
    if (value_end == i) return found;
    if (key_equals(key, name)) found = t.substr(i, value_end - i);
    i = skip_space(t, value_end);
    if (i >= t.size() || t[i] != ',') break;
    i = skip_space(t, i + 1);
  }
  return found;
}

std::optional<std::vector<std::string_view>> json_element_texts(std::string_view array_text) {
  std::string_view t = array_text;
  size_t i = skip_space(t, skip_bom(t));
  if (i >= t.size() || t[i] != '[') return std::nullopt;
  std::vector<std::string_view> out;
  i = skip_space(t, i + 1);
  while (i < t.size() && t[i] != ']') {
    size_t end = skip_value(t, i);
    if (end == i) break;
    out.push_back(t.substr(i, end - i));
    i = skip_space(t, end);
    if (i >= t.size() || t[i] != ',') break;
    i = skip_space(t, i + 1);
  }
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string_view>>> json_member_texts(
    std::string_view object_text) {
  std::string_view t = object_text;
  size_t i = skip_space(t, skip_bom(t));
  if (i >= t.size() || t[i] != '{') return std::nullopt;
  std::vector<std::pair<std::string, std::string_view>> out;
  i = skip_space(t, i + 1);
  while (i < t.size() && t[i] == '"') {
    size_t key_end = skip_string(t, i);
    std::string_view key = t.substr(i, key_end - i);
    i = skip_space(t, key_end);
    if (i >= t.size() || t[i] != ':' || key.size() < 2) break;
    i = skip_space(t, i + 1);
    size_t value_end = skip_value(t, i);
    if (value_end == i) break;
    std::string name(key.substr(1, key.size() - 2));
    if (name.find('\\') != std::string::npos) {
      Json decoded = Json::parse(key.begin(), key.end(), nullptr, /*allow_exceptions=*/false);
      if (decoded.is_string()) name = decoded.get<std::string>();
    }
    out.emplace_back(std::move(name), t.substr(i, value_end - i));
    i = skip_space(t, value_end);
    if (i >= t.size() || t[i] != ',') break;
    i = skip_space(t, i + 1);
  }
  return out;
}

bool json_number_overflows(std::string_view text) {
  constexpr int kLimit = 256;
  if (json_depth(text, kLimit) > kLimit) return false;
  try {
    Json parsed = Json::parse(text.begin(), text.end());
    static_cast<void>(parsed);
  } catch (const Json::out_of_range& e) {
    return e.id == 406;  // "number overflow parsing '1e400'"
  } catch (const Json::exception&) {
    return false;
  }
  return false;
}

}  // namespace cairn
