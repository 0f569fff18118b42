#include "frontends/transfer/formats.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "api/validate.h"
#include "common/json.h"
#include "frontends/apollo/wire.h"
#include "frontends/consul/codec.h"
#include "frontends/nacos/protocol.h"
#include "frontends/text.h"
#include "frontends/transfer/zip.h"

namespace cairn::transfer {

using api::Errc;
using api::make_error;

namespace {

constexpr std::string_view kFormatName = "cairn-export";
constexpr int kFormatVersion = 1;
/// A value may nest api::kMaxValueDepth deep; the export document adds four levels around it.
constexpr int kMaxDocumentDepth = api::kMaxValueDepth + 4;

Unexpected<api::Error> bad(std::string details, std::string field = {}) {
  return Unexpected{make_error(Errc::kBadRequest, std::move(details), std::move(field))};
}
Unexpected<api::Error> invalid(std::string details, std::string field = {}) {
  return Unexpected{make_error(Errc::kValidation, std::move(details), std::move(field))};
}

/// Collects items per namespace and key, refusing names Cairn cannot hold and duplicates.
class Builder {
 public:
  explicit Builder(size_t max_value_bytes) : max_value_bytes_(max_value_bytes) {}

  ImportNamespace& ns(const std::string& name) {
    auto& n = namespaces_[name];
    n.name = name;
    return n;
  }

  Result<Ok, api::Error> add(const std::string& ns_name, ImportItem item, const std::string& where) {
    if (auto why = api::check_namespace_name(ns_name)) {
      return invalid(where + ": namespace '" + ns_name + "': " + *why, where);
    }
    if (auto why = api::check_key(item.key)) {
      return invalid(where + ": key '" + item.key + "': " + *why, where);
    }
    if (item.value.size() > max_value_bytes_ && !item.secret) {
      return invalid(where + ": value is " + std::to_string(item.value.size()) +
                         " bytes; the limit is " + std::to_string(max_value_bytes_),
                     where);
    }
    auto& n = ns(ns_name);
    auto& keys = keys_[ns_name];
    if (!keys.insert(item.key).second) {
      return invalid(where + ": key '" + item.key + "' of namespace '" + ns_name +
                         "' appears twice in the file",
                     where);
    }
    n.items.push_back(std::move(item));
    return Ok{};
  }

  void warn(std::string text) { warnings_.push_back(std::move(text)); }

  ImportSet finish() {
    ImportSet out;
    for (auto& [name, n] : namespaces_) {
      std::sort(n.items.begin(), n.items.end(),
                [](const ImportItem& a, const ImportItem& b) { return a.key < b.key; });
      out.namespaces.push_back(std::move(n));
    }
    out.warnings = std::move(warnings_);
    return out;
  }

 private:
  size_t max_value_bytes_;
  std::map<std::string, ImportNamespace> namespaces_;
  std::map<std::string, std::set<std::string>> keys_;
  std::vector<std::string> warnings_;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && lower(s.substr(s.size() - suffix.size())) == suffix;
}

// ---- Cairn's own export ----

Result<Ok, api::Error> parse_cairn_json(std::string_view text, Builder& b,
                                        const std::string& file) {
  const std::string at = file.empty() ? "" : file + ": ";
  if (json_depth(text, kMaxDocumentDepth) > kMaxDocumentDepth) {
    return invalid(at + "the document nests deeper than " + std::to_string(kMaxDocumentDepth));
  }
  auto doc = parse_json(text, kMaxDocumentDepth);
  if (!doc) return bad(at + "not valid JSON");
  if (!doc->is_object()) return bad(at + "the document must be a JSON object");
  if (auto f = doc->find("format"); f != doc->end()) {
    if (!f->is_string() || f->get<std::string>() != kFormatName) {
      return bad(at + "format must be \"cairn-export\"", "format");
    }
  }
  if (auto v = doc->find("version"); v != doc->end()) {
    if (!v->is_number_integer() || v->get<int64_t>() != kFormatVersion) {
      return invalid(at + "version " + v->dump() + " of the export format is not supported (1 is)",
                     "version");
    }
  }
  auto nss = doc->find("namespaces");
  if (nss == doc->end() || !nss->is_array()) {
    return bad(at + "namespaces must be an array", "namespaces");
  }
  auto ns_texts = json_element_texts(*json_member_text(text, "namespaces"));
  if (!ns_texts || ns_texts->size() != nss->size()) return bad(at + "namespaces not readable");
  for (size_t i = 0; i < nss->size(); ++i) {
    const std::string where = "namespaces[" + std::to_string(i) + "]";
    const Json& n = (*nss)[i];
    if (!n.is_object()) return bad(at + where + " must be an object", where);
    auto name = n.find("name");
    if (name == n.end() || !name->is_string()) {
      return bad(at + where + ".name must be a string", where + ".name");
    }
    const std::string ns_name = name->get<std::string>();
    if (auto why = api::check_namespace_name(ns_name)) {
      return invalid(at + where + ".name '" + ns_name + "': " + *why, where + ".name");
    }
    auto& target = b.ns(ns_name);
    if (auto d = n.find("description"); d != n.end() && !d->is_null()) {
      if (!d->is_string()) return bad(at + where + ".description must be a string");
      target.description = d->get<std::string>();
    }
    if (auto sk = n.find("secret_keys"); sk != n.end() && !sk->is_null()) {
      if (!sk->is_array()) return bad(at + where + ".secret_keys must be an array of strings");
      for (const auto& p : *sk) {
        if (!p.is_string()) return bad(at + where + ".secret_keys must be an array of strings");
        target.secret_keys.push_back(p.get<std::string>());
      }
    }
    auto configs = n.find("configs");
    if (configs == n.end() || !configs->is_array()) {
      return bad(at + where + ".configs must be an array", where + ".configs");
    }
    auto configs_text = json_member_text((*ns_texts)[i], "configs");
    auto item_texts = configs_text ? json_element_texts(*configs_text) : std::nullopt;
    if (!item_texts || item_texts->size() != configs->size()) {
      return bad(at + where + ".configs not readable");
    }
    for (size_t k = 0; k < configs->size(); ++k) {
      const std::string iw = where + ".configs[" + std::to_string(k) + "]";
      const Json& c = (*configs)[k];
      if (!c.is_object()) return bad(at + iw + " must be an object", iw);
      ImportItem item;
      auto key = c.find("key");
      if (key == c.end() || !key->is_string()) return bad(at + iw + ".key must be a string", iw);
      item.key = key->get<std::string>();
      auto raw = json_member_text((*item_texts)[k], "value");
      if (!raw || c.find("value") == c.end()) return bad(at + iw + ".value is required", iw);
      item.value = compact_json_text(*raw);
      if (auto d = c.find("description"); d != c.end() && !d->is_null()) {
        if (!d->is_string()) return bad(at + iw + ".description must be a string", iw);
        item.description = d->get<std::string>();
        if (auto why = api::check_description(*item.description)) {
          return invalid(at + iw + ".description: " + *why, iw);
        }
      }
      if (auto s = c.find("status"); s != c.end() && !s->is_null()) {
        if (!s->is_number_integer() || (s->get<int64_t>() != 0 && s->get<int64_t>() != 1)) {
          return invalid(at + iw + ".status must be 0 or 1", iw);
        }
        item.status = static_cast<int>(s->get<int64_t>());
      }
      if (auto s = c.find("secret"); s != c.end() && !s->is_null()) {
        if (!s->is_boolean()) return bad(at + iw + ".secret must be true or false", iw);
        item.secret = s->get<bool>();
      }
      if (auto v = c.find("version"); v != c.end() && !v->is_null()) {
        if (!v->is_number_integer() || v->get<int64_t>() < 0) {
          return invalid(at + iw + ".version must be a whole number", iw);
        }
        item.version = v->get<int64_t>();
      }
      if (auto r = b.add(ns_name, std::move(item), at + iw); !r.ok()) return r;
    }
  }
  return Ok{};
}

bool json_number(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

/// YAML (the core schema: plain null/true/false/numbers, everything else a string) as JSON
/// text, a plain number keeping its digits.
Result<Ok, std::string> yaml_to_json(const YAML::Node& n, std::string& out, int depth,
                                     size_t budget) {
  if (depth > kMaxDocumentDepth) return Unexpected{std::string("nested too deep")};
  // Aliases share nodes: a few lines of anchors can stand for an exponential document.
  if (out.size() > budget) return Unexpected{std::string("expands too much (aliases)")};
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out += "null";
      return Ok{};
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "?") {
        if (s == "null" || s == "Null" || s == "NULL" || s == "~" || s.empty()) {
          out += "null";
          return Ok{};
        }
        if (s == "true" || s == "false" || json_number(s)) {
          out += s;
          return Ok{};
        }
      }
      out += json_quote(s);
      return Ok{};
    }
    case YAML::NodeType::Sequence: {
      out += '[';
      bool first = true;
      for (const auto& e : n) {
        if (!first) out += ',';
        first = false;
        if (auto r = yaml_to_json(e, out, depth + 1, budget); !r.ok()) return r;
      }
      out += ']';
      return Ok{};
    }
    case YAML::NodeType::Map: {
      out += '{';
      bool first = true;
      for (const auto& kv : n) {
        if (!first) out += ',';
        first = false;
        if (!kv.first.IsScalar()) return Unexpected{std::string("a mapping key is not a scalar")};
        out += json_quote(kv.first.Scalar());
        out += ':';
        if (auto r = yaml_to_json(kv.second, out, depth + 1, budget); !r.ok()) return r;
      }
      out += '}';
      return Ok{};
    }
  }
  return Ok{};
}

/// yaml-cpp recurses on every level of nesting, so a hostile file could exhaust the stack
/// before any check of ours runs. Levels come from brackets (flow collections), from
/// indentation, and from indicators on one line (`- - - x`, `? ? x`, `a: b: c`): each is
/// bounded, conservatively (quotes are not looked at).
bool yaml_too_deep(std::string_view text) {
  constexpr int kMaxLevels = 2 * kMaxDocumentDepth;
  int depth = 0;
  size_t indent = 0;
  int indicators = 0;
  bool line_start = true;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      line_start = true;
      indent = 0;
      indicators = 0;
      continue;
    }
    if (line_start && c == ' ') {
      if (++indent > 8 * static_cast<size_t>(kMaxLevels)) return true;
      continue;
    }
    line_start = false;
    if (c == '[' || c == '{') {
      if (++depth > kMaxLevels) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if ((c == '-' || c == '?' || c == ':') &&
               (i + 1 == text.size() || text[i + 1] == ' ' || text[i + 1] == '\t')) {
      if (++indicators > kMaxLevels) return true;
    }
  }
  return false;
}

Result<std::string, api::Error> yaml_text_to_json(std::string_view text, const std::string& at) {
  if (yaml_too_deep(text)) return invalid(at + "the YAML document nests too deep");
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const std::exception& e) {
    return bad(at + "not valid YAML: " + e.what());
  }
  std::string json;
  try {
    if (auto r = yaml_to_json(root, json, 0, 4 * text.size() + (1u << 20)); !r.ok()) {
      return invalid(at + r.error());
    }
  } catch (const std::exception& e) {
    return bad(at + "not valid YAML: " + e.what());
  }
  return json;
}

Result<Ok, api::Error> parse_cairn_file(std::string_view bytes, std::string_view format,
                                        Builder& b, const std::string& file) {
  if (format == "yaml" || format == "yml") {
    auto json = yaml_text_to_json(bytes, file.empty() ? "" : file + ": ");
    if (!json.ok()) return Unexpected{json.error()};
    return parse_cairn_json(*json, b, file);
  }
  return parse_cairn_json(bytes, b, file);
}

Result<Ok, api::Error> parse_cairn(std::string_view bytes, std::string format, Builder& b) {
  if (format.empty()) {
    if (looks_like_zip(bytes)) {
      format = "zip";
    } else {
      size_t i = 0;
      while (i < bytes.size() && std::isspace(static_cast<unsigned char>(bytes[i]))) ++i;
      format = i < bytes.size() && bytes[i] == '{' ? "json" : "yaml";
    }
  }
  if (format == "json" || format == "yaml" || format == "yml") {
    return parse_cairn_file(bytes, format, b, "");
  }
  if (format != "zip") return invalid("format must be json, yaml or zip", "format");
  auto entries = read_zip(bytes);
  if (!entries.ok()) return bad(entries.error());
  for (const auto& e : *entries) {
    std::string_view fmt = ends_with(e.name, ".json")                               ? "json"
                           : ends_with(e.name, ".yaml") || ends_with(e.name, ".yml") ? "yaml"
                                                                                     : "";
    if (fmt.empty()) {
      b.warn(e.name + ": not a .json or .yaml file, left out");
      continue;
    }
    if (auto r = parse_cairn_file(e.data, fmt, b, e.name); !r.ok()) return r;
  }
  return Ok{};
}

// ---- Consul: `consul kv export` ----

Result<Ok, api::Error> parse_consul(std::string_view bytes, Builder& b) {
  auto doc = parse_json(bytes, 8);
  if (!doc) return bad("not valid JSON (consul kv export writes a JSON array)");
  if (!doc->is_array()) return bad("consul kv export writes a JSON array of {key, flags, value}");
  for (size_t i = 0; i < doc->size(); ++i) {
    const std::string where = "[" + std::to_string(i) + "]";
    const Json& e = (*doc)[i];
    if (!e.is_object()) return bad(where + " must be an object", where);
    auto key = e.find("key");
    if (key == e.end() || !key->is_string()) return bad(where + ".key must be a string", where);
    const std::string consul_key = key->get<std::string>();
    uint64_t flags = 0;
    if (auto f = e.find("flags"); f != e.end() && !f->is_null()) {
      if (!f->is_number_unsigned() && !(f->is_number_integer() && f->get<int64_t>() >= 0)) {
        return bad(where + ".flags must be an unsigned integer", where);
      }
      flags = f->get<uint64_t>();
    }
    auto value = e.find("value");
    std::string bytes_value;
    if (value != e.end() && !value->is_null()) {
      if (!value->is_string()) return bad(where + ".value must be base64 text", where);
      auto decoded = frontends::base64_decode(value->get<std::string>());
      if (!decoded) return bad(where + ".value is not base64", where);
      bytes_value = std::move(*decoded);
    }
    auto path = consul::split_key(consul_key);
    if (!path.ns.empty() && path.key.empty() && bytes_value.empty()) {
      // "app/": the folder of the namespace itself, which Cairn has as the namespace.
      b.warn(where + ": '" + consul_key + "' is a folder without a value: left out");
      continue;
    }
    if (path.ns.empty() || path.key.empty()) {
      return invalid(where + ": Consul key '" + consul_key +
                         "' has no namespace/key form (its first segment is the namespace)",
                     where);
    }
    ImportItem item;
    item.key = path.key;
    item.value = frontends::stored_value(bytes_value);
    item.description = consul::flags_description(flags);
    if (auto r = b.add(path.ns, std::move(item), where); !r.ok()) return r;
  }
  return Ok{};
}

// ---- etcd: `etcdctl get --prefix -w json` ----

Result<Ok, api::Error> parse_etcd(std::string_view bytes, Builder& b) {
  auto doc = parse_json(bytes, 8);
  if (!doc || !doc->is_object()) {
    return bad("not the JSON object `etcdctl get --prefix -w json` writes");
  }
  auto kvs = doc->find("kvs");
  if (kvs == doc->end() || kvs->is_null()) return Ok{};  // nothing under the prefix
  if (!kvs->is_array()) return bad("kvs must be an array", "kvs");
  for (size_t i = 0; i < kvs->size(); ++i) {
    const std::string where = "kvs[" + std::to_string(i) + "]";
    const Json& e = (*kvs)[i];
    if (!e.is_object()) return bad(where + " must be an object", where);
    auto key = e.find("key");
    if (key == e.end() || !key->is_string()) return bad(where + ".key must be base64", where);
    auto raw_key = frontends::base64_decode(key->get<std::string>());
    if (!raw_key) return bad(where + ".key is not base64", where);
    std::string value_bytes;
    if (auto v = e.find("value"); v != e.end() && !v->is_null()) {
      if (!v->is_string()) return bad(where + ".value must be base64", where);
      auto decoded = frontends::base64_decode(v->get<std::string>());
      if (!decoded) return bad(where + ".value is not base64", where);
      value_bytes = std::move(*decoded);
    }
    std::string_view path = *raw_key;
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);  // "/app/x" is "app/x"
    auto split = consul::split_key(path);
    if (split.ns.empty() || split.key.empty()) {
      return invalid(where + ": etcd key '" + *raw_key +
                         "' has no namespace/key form (its first segment is the namespace)",
                     where);
    }
    ImportItem item;
    item.key = split.key;
    item.value = frontends::stored_value(value_bytes);
    if (auto r = b.add(split.ns, std::move(item), where); !r.ok()) return r;
  }
  return Ok{};
}

// ---- Nacos: the config export zip ----

Result<Ok, api::Error> parse_nacos(std::string_view bytes, const std::string& tenant, Builder& b) {
  auto entries = read_zip(bytes);
  if (!entries.ok()) return bad("not a Nacos export zip: " + entries.error());
  for (const auto& e : *entries) {
    std::string_view name = e.name;
    if (name == ".meta.yml" || name == ".metadata.yml") continue;  // appName, desc, type
    const size_t slash = name.find('/');
    if (slash == std::string_view::npos || name.find('/', slash + 1) != std::string_view::npos) {
      b.warn(e.name + ": not a {group}/{dataId} entry, left out");
      continue;
    }
    const std::string group(name.substr(0, slash));
    const std::string data_id(name.substr(slash + 1));
    auto address = nacos::map_address(data_id, group, tenant);
    if (!address.address) return invalid(e.name + ": " + address.error, e.name);
    auto text = frontends::stored_text(e.data);
    if (!text) return invalid(e.name + ": content is not valid UTF-8", e.name);
    if (nacos::blank(e.data)) {
      b.warn(e.name + ": blank content (Nacos refuses it), left out");
      continue;
    }
    ImportItem item;
    item.key = address.address->key;
    item.value = std::move(*text);
    if (auto r = b.add(address.address->ns, std::move(item), e.name); !r.ok()) return r;
  }
  return Ok{};
}

// ---- Apollo: a namespace file (properties, json, yaml, …) or a zip of them ----

/// Java's Properties.load: `key=value`, `key: value` or `key value`; `#`/`!` comments;
/// a trailing backslash continues the line; \t \n \r \f \uXXXX and \<char> escapes.
Result<std::vector<std::pair<std::string, std::string>>, std::string> parse_properties(
    std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  // Logical lines.
  std::vector<std::string> lines;
  std::string cur;
  bool continuing = false;
  size_t i = 0;
  while (i <= text.size()) {
    size_t eol = text.find_first_of("\r\n", i);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(i, eol - i);
    i = eol + 1;
    if (eol < text.size() && text[eol] == '\r' && i < text.size() && text[i] == '\n') ++i;
    size_t start = 0;
    while (start < line.size() && (line[start] == ' ' || line[start] == '\t' || line[start] == '\f')) {
      ++start;
    }
    line.remove_prefix(start);
    if (!continuing && (line.empty() || line[0] == '#' || line[0] == '!')) {
      if (eol >= text.size()) break;
      continue;
    }
    size_t backslashes = 0;
    while (backslashes < line.size() && line[line.size() - 1 - backslashes] == '\\') ++backslashes;
    if (backslashes % 2 == 1) {
      cur.append(line.substr(0, line.size() - 1));
      continuing = true;
    } else {
      cur.append(line);
      lines.push_back(std::move(cur));
      cur.clear();
      continuing = false;
    }
    if (eol >= text.size()) break;
  }
  if (continuing) lines.push_back(std::move(cur));
  auto unescape = [](std::string_view s, std::string& o) -> bool {
    for (size_t k = 0; k < s.size(); ++k) {
      char c = s[k];
      if (c != '\\') {
        o += c;
        continue;
      }
      if (++k >= s.size()) return true;
      c = s[k];
      switch (c) {
        case 't': o += '\t'; break;
        case 'n': o += '\n'; break;
        case 'r': o += '\r'; break;
        case 'f': o += '\f'; break;
        case 'u': {
          // k is at 'u'; four hex digits follow.
          auto hex4 = [&s](size_t at, uint32_t* v) {
            if (at + 4 > s.size()) return false;
            uint32_t r = 0;
            for (size_t d = 0; d < 4; ++d) {
              const char h = s[at + d];
              r <<= 4;
              if (h >= '0' && h <= '9') r |= static_cast<uint32_t>(h - '0');
              else if (h >= 'a' && h <= 'f') r |= static_cast<uint32_t>(h - 'a' + 10);
              else if (h >= 'A' && h <= 'F') r |= static_cast<uint32_t>(h - 'A' + 10);
              else return false;
            }
            *v = r;
            return true;
          };
          uint32_t cp = 0;
          if (!hex4(k + 1, &cp)) return false;
          k += 4;
          // A surrogate pair as Java writes it: \uD83D\uDE00.
          uint32_t lo = 0;
          if (cp >= 0xD800 && cp <= 0xDBFF && k + 2 < s.size() && s[k + 1] == '\\' &&
              s[k + 2] == 'u' && hex4(k + 3, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            k += 6;
          }
          if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
          if (cp < 0x80) {
            o += static_cast<char>(cp);
          } else if (cp < 0x800) {
            o += static_cast<char>(0xC0 | (cp >> 6));
            o += static_cast<char>(0x80 | (cp & 0x3F));
          } else if (cp < 0x10000) {
            o += static_cast<char>(0xE0 | (cp >> 12));
            o += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            o += static_cast<char>(0x80 | (cp & 0x3F));
          } else {
            o += static_cast<char>(0xF0 | (cp >> 18));
            o += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            o += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            o += static_cast<char>(0x80 | (cp & 0x3F));
          }
          break;
        }
        default: o += c;
      }
    }
    return true;
  };
  for (const auto& l : lines) {
    // The key ends at the first unescaped '=', ':' or whitespace.
    size_t k = 0;
    while (k < l.size()) {
      if (l[k] == '\\') {
        k += 2;
        continue;
      }
      if (l[k] == '=' || l[k] == ':' || l[k] == ' ' || l[k] == '\t' || l[k] == '\f') break;
      ++k;
    }
    const size_t key_end = std::min(k, l.size());
    size_t v = key_end;
    while (v < l.size() && (l[v] == ' ' || l[v] == '\t' || l[v] == '\f')) ++v;
    if (v < l.size() && (l[v] == '=' || l[v] == ':')) ++v;
    while (v < l.size() && (l[v] == ' ' || l[v] == '\t' || l[v] == '\f')) ++v;
    std::string key, value;
    if (!unescape(std::string_view(l).substr(0, key_end), key) ||
        !unescape(std::string_view(l).substr(std::min(v, l.size())), value)) {
      return Unexpected{"malformed \\u escape in: " + l.substr(0, 80)};
    }
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

Result<Ok, api::Error> parse_apollo_file(std::string_view bytes, const std::string& ns_name,
                                         Builder& b, const std::string& where) {
  const std::string ns = apollo::namespace_of(ns_name);
  if (ns.empty()) return bad(where + ": the Apollo namespace is unknown (give namespace=)");
  if (apollo::format_of(ns_name) != apollo::Format::kProperties) {
    // A document namespace: its text under the key `content`, as Apollo (and the front-end).
    auto text = frontends::stored_text(bytes);
    if (!text) return invalid(where + ": the document is not valid UTF-8", where);
    ImportItem item;
    item.key = "content";
    item.value = std::move(*text);
    return b.add(ns, std::move(item), where);
  }
  if (!frontends::valid_utf8(bytes)) {
    return invalid(where + ": the properties file is not valid UTF-8", where);
  }
  auto props = parse_properties(bytes);
  if (!props.ok()) return bad(where + ": " + props.error(), where);
  b.ns(ns);  // an empty namespace is still one
  std::map<std::string, std::string> last;  // Properties.load: a repeated key keeps the last
  for (auto& [k, v] : *props) last[k] = v;
  for (auto& [k, v] : last) {
    ImportItem item;
    item.key = k;
    item.value = *frontends::stored_text(v);
    if (auto r = b.add(ns, std::move(item), where + ": " + k); !r.ok()) return r;
  }
  return Ok{};
}

/// The namespace file name of a zip entry: its last path segment; Apollo's portal names
/// files `{appId}+{cluster}+{namespace}.{format}` in some versions: the part after the last '+'.
std::string apollo_entry_namespace(std::string_view name) {
  if (auto slash = name.rfind('/'); slash != std::string_view::npos) name.remove_prefix(slash + 1);
  if (auto plus = name.rfind('+'); plus != std::string_view::npos) name.remove_prefix(plus + 1);
  return std::string(name);
}

Result<Ok, api::Error> parse_apollo(std::string_view bytes, const ParseOptions& o, Builder& b) {
  if (looks_like_zip(bytes)) {
    auto entries = read_zip(bytes);
    if (!entries.ok()) return bad(entries.error());
    for (const auto& e : *entries) {
      const std::string ns = apollo_entry_namespace(e.name);
      if (ns.empty() || ns[0] == '.') {
        b.warn(e.name + ": not a namespace file, left out");
        continue;
      }
      if (auto r = parse_apollo_file(e.data, ns, b, e.name); !r.ok()) return r;
    }
    return Ok{};
  }
  std::string name = o.ns;
  if (name.empty()) name = apollo_entry_namespace(o.filename);
  if (name.empty()) {
    return bad("an Apollo namespace file needs namespace= (or its file name, e.g. "
               "application.properties)",
               "namespace");
  }
  return parse_apollo_file(bytes, name, b, name);
}

// ---- export ----

void export_header(std::string& out, const ExportMeta& meta) {
  out += "{\"format\":\"cairn-export\",\"version\":1,\"exported_at\":";
  out += json_quote(meta.exported_at);
  out += ",\"node\":";
  out += json_quote(meta.node);
  out += ",\"secrets\":";
  out += meta.revealed ? "\"revealed\"" : "\"sealed\"";
  out += ",\"namespaces\":[";
}

void export_namespace_json(std::string& out, const ExportNamespace& n) {
  out += "\n{\"name\":" + json_quote(n.name) + ",\"description\":" + json_quote(n.description) +
         ",\"status\":" + std::to_string(n.status) +
         ",\"revision\":" + std::to_string(n.revision) + ",\"secret_keys\":[";
  for (size_t i = 0; i < n.secret_keys.size(); ++i) {
    if (i) out += ',';
    out += json_quote(n.secret_keys[i]);
  }
  out += "],\"configs\":[";
  for (size_t i = 0; i < n.items.size(); ++i) {
    const auto& c = n.items[i];
    out += i ? ",\n  " : "\n  ";
    out += "{\"key\":" + json_quote(c.key) + ",\"value\":" + c.value +
           ",\"version\":" + std::to_string(c.version) +
           ",\"description\":" + json_quote(c.description.value_or("")) +
           ",\"status\":" + std::to_string(c.status.value_or(1));
    if (c.secret) out += ",\"secret\":true";
    out += '}';
  }
  out += "]}";
}

}  // namespace

size_t ImportSet::item_count() const {
  size_t n = 0;
  for (const auto& ns : namespaces) n += ns.items.size();
  return n;
}

std::optional<Source> parse_source(std::string_view text) {
  if (text.empty() || text == "cairn") return Source::kCairn;
  if (text == "consul") return Source::kConsul;
  if (text == "nacos") return Source::kNacos;
  if (text == "apollo") return Source::kApollo;
  if (text == "etcd") return Source::kEtcd;
  return std::nullopt;
}

std::string_view source_name(Source source) {
  switch (source) {
    case Source::kCairn: return "cairn";
    case Source::kConsul: return "consul";
    case Source::kNacos: return "nacos";
    case Source::kApollo: return "apollo";
    case Source::kEtcd: return "etcd";
  }
  return "cairn";
}

Result<ImportSet, api::Error> parse_import(std::string_view bytes, const ParseOptions& o) {
  Builder b(o.max_value_bytes);
  Result<Ok, api::Error> r = Ok{};
  switch (o.source) {
    case Source::kCairn: r = parse_cairn(bytes, o.format, b); break;
    case Source::kConsul: r = parse_consul(bytes, b); break;
    case Source::kEtcd: r = parse_etcd(bytes, b); break;
    case Source::kNacos: r = parse_nacos(bytes, o.tenant, b); break;
    case Source::kApollo: r = parse_apollo(bytes, o, b); break;
  }
  if (!r.ok()) return Unexpected{r.error()};
  return b.finish();
}

std::string export_json(const std::vector<ExportNamespace>& namespaces, const ExportMeta& meta) {
  std::string out;
  export_header(out, meta);
  for (size_t i = 0; i < namespaces.size(); ++i) {
    if (i) out += ',';
    export_namespace_json(out, namespaces[i]);
  }
  out += "]}\n";
  return out;
}

std::string export_yaml(const std::vector<ExportNamespace>& namespaces, const ExportMeta& meta) {
  std::string out = "format: cairn-export\nversion: 1\nexported_at: " +
                    json_quote(meta.exported_at) + "\nnode: " + json_quote(meta.node) +
                    "\nsecrets: " + (meta.revealed ? "revealed" : "sealed") + "\nnamespaces:";
  if (namespaces.empty()) out += " []";
  out += '\n';
  for (const auto& n : namespaces) {
    out += "  - name: " + json_quote(n.name) + "\n    description: " + json_quote(n.description) +
           "\n    status: " + std::to_string(n.status) +
           "\n    revision: " + std::to_string(n.revision) + "\n    secret_keys: [";
    for (size_t i = 0; i < n.secret_keys.size(); ++i) {
      if (i) out += ", ";
      out += json_quote(n.secret_keys[i]);
    }
    out += "]\n    configs:";
    if (n.items.empty()) out += " []";
    out += '\n';
    for (const auto& c : n.items) {
      // JSON is YAML's flow syntax: the value is written as stored, numbers and all.
      out += "      - key: " + json_quote(c.key) + "\n        value: " + c.value +
             "\n        version: " + std::to_string(c.version) +
             "\n        description: " + json_quote(c.description.value_or("")) +
             "\n        status: " + std::to_string(c.status.value_or(1)) + "\n";
      if (c.secret) out += "        secret: true\n";
    }
  }
  return out;
}

std::string export_zip(const std::vector<ExportNamespace>& namespaces, const ExportMeta& meta) {
  std::vector<ZipEntry> entries;
  entries.reserve(namespaces.size());
  for (const auto& n : namespaces) {
    entries.push_back(ZipEntry{n.name + ".json", export_json({n}, meta)});
  }
  return write_zip(entries);
}

}  // namespace cairn::transfer
