// Draft 7 validation over cairn::Json. The compiler walks the schema once: it checks every
// keyword's shape, compiles each `pattern` with RE2, resolves every `$ref` to the node it names
// (base URIs follow `$id`), and refuses cycles that would never reach a smaller part of the
// value. The validator then interprets the schema document directly, counting its steps.

#include "jsonschema/validator.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace cairn::jsonschema {

struct Schema::Impl {
  Json doc;
  Limits limits;
  std::unordered_map<const Json*, const Json*> refs;  // a node holding $ref → its target
  std::map<std::string, std::unique_ptr<re2::RE2>, std::less<>> regexes;

  const re2::RE2* regex(std::string_view pattern) const {
    auto it = regexes.find(pattern);
    return it == regexes.end() ? nullptr : it->second.get();
  }
};

namespace {

// ---- small helpers ----

bool is_integral(const Json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

/// -1, 0 or 1. Integers compare exactly, anything else as doubles.
int compare_numbers(const Json& a, const Json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    auto wide = [](const Json& n) -> __int128 {
      return n.is_number_unsigned() ? static_cast<__int128>(n.get<uint64_t>())
                                    : static_cast<__int128>(n.get<int64_t>());
    };
    __int128 x = wide(a), y = wide(b);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  double x = a.get<double>(), y = b.get<double>();
  return x < y ? -1 : (x > y ? 1 : 0);
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string pointer_token(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number_text(const Json& n) { return dump_compact(n); }

const char* kTypeNames[] = {"null", "boolean", "object", "array", "number", "string", "integer"};

bool known_type(const std::string& t) {
  return std::find(std::begin(kTypeNames), std::end(kTypeNames), t) != std::end(kTypeNames);
}

bool has_type(const Json& v, std::string_view t) {
  if (t == "null") return v.is_null();
  if (t == "boolean") return v.is_boolean();
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "string") return v.is_string();
  if (t == "number") return v.is_number();
  if (t == "integer") return is_integral(v);
  return false;
}

std::string type_of(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  if (v.is_string()) return "string";
  return is_integral(v) ? "integer" : "number";
}

// ---- URIs (enough of RFC 3986 for $id and $ref inside one document) ----

bool has_scheme(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == ':') return true;
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return false;
}

std::string strip_fragment(std::string_view s) {
  return std::string(s.substr(0, s.find('#')));
}

std::string remove_dot_segments(const std::string& uri) {
  // Only the path after the authority is normalised; enough for "a/../b" and "./b".
  size_t start = 0;
  if (auto p = uri.find("://"); p != std::string::npos) {
    start = uri.find('/', p + 3);
    if (start == std::string::npos) return uri;
  }
  std::string head = uri.substr(0, start);
  std::string path = uri.substr(start);
  std::vector<std::string> out;
  size_t i = 0;
  bool absolute = !path.empty() && path[0] == '/';
  if (absolute) i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string seg = path.substr(i, j - i);
    bool last = j == path.size();
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      if (last) out.emplace_back();
    } else if (seg == ".") {
      if (last) out.emplace_back();
    } else {
      out.push_back(seg);
    }
    i = j + 1;
  }
  std::string joined = absolute ? "/" : "";
  for (size_t k = 0; k < out.size(); ++k) {
    if (k) joined += '/';
    joined += out[k];
  }
  return head + joined;
}

std::string resolve_uri(const std::string& base, const std::string& ref) {
  if (has_scheme(ref)) return remove_dot_segments(ref);
  std::string b = strip_fragment(base);
  if (ref.empty()) return b;
  if (ref[0] == '#') return b + ref;
  if (ref.rfind("//", 0) == 0) {
    size_t colon = b.find(':');
    return colon == std::string::npos ? ref : b.substr(0, colon + 1) + ref;
  }
  if (ref[0] == '/') {
    size_t p = b.find("://");
    if (p == std::string::npos) return ref;
    size_t path = b.find('/', p + 3);
    return remove_dot_segments((path == std::string::npos ? b : b.substr(0, path)) + ref);
  }
  size_t slash = b.rfind('/');
  if (slash == std::string::npos) return ref;
  return remove_dot_segments(b.substr(0, slash + 1) + ref);
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() &&
        std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

/// Follows the JSON Pointer `pointer` ("/a/0/b", already percent-decoded) from `node`.
const Json* follow_pointer(const Json* node, std::string_view pointer) {
  if (pointer.empty()) return node;
  if (pointer[0] != '/') return nullptr;
  size_t i = 1;
  while (node) {
    size_t j = pointer.find('/', i);
    std::string token(pointer.substr(i, j == std::string_view::npos ? std::string::npos : j - i));
    std::string name;
    for (size_t k = 0; k < token.size(); ++k) {
      if (token[k] == '~' && k + 1 < token.size() && (token[k + 1] == '0' || token[k + 1] == '1')) {
        name += token[k + 1] == '0' ? '~' : '/';
        ++k;
      } else {
        name += token[k];
      }
    }
    if (node->is_object()) {
      auto it = node->find(name);
      node = it == node->end() ? nullptr : &*it;
    } else if (node->is_array()) {
      if (name.empty() || name.size() > 9 ||
          !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return nullptr;
      }
      size_t idx = std::stoul(name);
      node = idx < node->size() ? &(*node)[idx] : nullptr;
    } else {
      return nullptr;
    }
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return node;
}

// ---- the compiler ----

struct Compiler {
  Schema::Impl& impl;
  std::string error;
  std::map<std::string, const Json*> ids;               // absolute URI → node
  std::unordered_map<const Json*, std::string> base_of;  // every walked schema node → its base
  std::vector<const Json*> ref_nodes;

  bool fail(std::string why) {
    if (error.empty()) error = std::move(why);
    return false;
  }

  bool non_negative_int(const Json& node, const char* kw) {
    auto it = node.find(kw);
    if (it == node.end()) return true;
    if (!is_integral(*it) || it->get<double>() < 0) {
      return fail(std::string("\"") + kw + "\" must be a non-negative integer");
    }
    return true;
  }
  bool number(const Json& node, const char* kw) {
    auto it = node.find(kw);
    if (it != node.end() && !it->is_number()) {
      return fail(std::string("\"") + kw + "\" must be a number");
    }
    return true;
  }
  bool add_regex(const std::string& pattern) {
    if (impl.regexes.count(pattern)) return true;
    re2::RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(1 << 20);
    auto re = std::make_unique<re2::RE2>(pattern, options);
    if (!re->ok()) {
      return fail("pattern \"" + pattern + "\" is not supported: " + re->error() +
                  " (patterns are RE2 syntax: no look-around or back-references)");
    }
    impl.regexes.emplace(pattern, std::move(re));
    return true;
  }

  bool schema_list(const Json& node, const char* kw, const std::string& base, int depth) {
    auto it = node.find(kw);
    if (it == node.end()) return true;
    if (!it->is_array() || it->empty()) {
      return fail(std::string("\"") + kw + "\" must be a non-empty array of schemas");
    }
    for (const auto& s : *it) {
      if (!walk(s, base, depth + 1)) return false;
    }
    return true;
  }
  bool schema_member(const Json& node, const char* kw, const std::string& base, int depth) {
    auto it = node.find(kw);
    return it == node.end() || walk(*it, base, depth + 1);
  }
  bool schema_map(const Json& node, const char* kw, const std::string& base, int depth,
                  bool names_are_patterns = false) {
    auto it = node.find(kw);
    if (it == node.end()) return true;
    if (!it->is_object()) return fail(std::string("\"") + kw + "\" must be an object");
    for (auto m = it->begin(); m != it->end(); ++m) {
      if (names_are_patterns && !add_regex(m.key())) return false;
      if (!walk(m.value(), base, depth + 1)) return false;
    }
    return true;
  }

  bool walk(const Json& node, std::string base, int depth) {
    if (depth > impl.limits.max_schema_depth) {
      return fail("schema nested deeper than " + std::to_string(impl.limits.max_schema_depth));
    }
    if (node.is_boolean()) {
      base_of.emplace(&node, base);
      return true;
    }
    if (!node.is_object()) return fail("a schema must be an object or a boolean");
    if (base_of.count(&node)) return true;
    auto ref = node.find("$ref");
    if (ref != node.end()) {
      if (!ref->is_string()) return fail("\"$ref\" must be a string");
      ref_nodes.push_back(&node);
    } else if (auto id = node.find("$id"); id != node.end()) {
      if (!id->is_string()) return fail("\"$id\" must be a string");
      std::string full = resolve_uri(base, id->get<std::string>());
      size_t hash = full.find('#');
      if (hash != std::string::npos && hash + 1 < full.size()) {
        ids.emplace(full, &node);  // a plain-name fragment: "#foo"
      } else {
        base = strip_fragment(full);
        ids.emplace(base, &node);
      }
    }
    base_of.emplace(&node, base);

    if (auto t = node.find("type"); t != node.end()) {
      auto ok = [](const Json& x) { return x.is_string() && known_type(x.get<std::string>()); };
      bool good = t->is_array() ? std::all_of(t->begin(), t->end(), ok) : ok(*t);
      if (!good) return fail("\"type\" must name JSON types (or be an array of them)");
    }
    if (auto e = node.find("enum"); e != node.end() && !e->is_array()) {
      return fail("\"enum\" must be an array");
    }
    if (auto m = node.find("multipleOf");
        m != node.end() && (!m->is_number() || m->get<double>() <= 0)) {
      return fail("\"multipleOf\" must be a number greater than 0");
    }
    for (const char* kw : {"maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum"}) {
      if (!number(node, kw)) return false;
    }
    for (const char* kw : {"maxLength", "minLength", "maxItems", "minItems", "maxProperties",
                           "minProperties"}) {
      if (!non_negative_int(node, kw)) return false;
    }
    if (auto p = node.find("pattern"); p != node.end()) {
      if (!p->is_string()) return fail("\"pattern\" must be a string");
      if (!add_regex(p->get<std::string>())) return false;
    }
    if (auto f = node.find("format"); f != node.end() && !f->is_string()) {
      return fail("\"format\" must be a string");
    }
    if (auto u = node.find("uniqueItems"); u != node.end() && !u->is_boolean()) {
      return fail("\"uniqueItems\" must be a boolean");
    }
    if (auto r = node.find("required"); r != node.end()) {
      if (!r->is_array() ||
          !std::all_of(r->begin(), r->end(), [](const Json& x) { return x.is_string(); })) {
        return fail("\"required\" must be an array of strings");
      }
    }
    if (auto it = node.find("items"); it != node.end()) {
      if (it->is_array()) {
        for (const auto& s : *it) {
          if (!walk(s, base, depth + 1)) return false;
        }
      } else if (!walk(*it, base, depth + 1)) {
        return false;
      }
    }
    if (auto d = node.find("dependencies"); d != node.end()) {
      if (!d->is_object()) return fail("\"dependencies\" must be an object");
      for (auto m = d->begin(); m != d->end(); ++m) {
        if (m.value().is_array()) {
          if (!std::all_of(m.value().begin(), m.value().end(),
                           [](const Json& x) { return x.is_string(); })) {
            return fail("\"dependencies\" arrays must hold property names");
          }
        } else if (!walk(m.value(), base, depth + 1)) {
          return false;
        }
      }
    }
    return schema_member(node, "additionalItems", base, depth) &&
           schema_member(node, "contains", base, depth) &&
           schema_member(node, "additionalProperties", base, depth) &&
           schema_member(node, "propertyNames", base, depth) &&
           schema_member(node, "not", base, depth) && schema_member(node, "if", base, depth) &&
           schema_member(node, "then", base, depth) &&
           schema_member(node, "else", base, depth) &&
           schema_list(node, "allOf", base, depth) && schema_list(node, "anyOf", base, depth) &&
           schema_list(node, "oneOf", base, depth) &&
           schema_map(node, "properties", base, depth) &&
           schema_map(node, "patternProperties", base, depth, true) &&
           schema_map(node, "definitions", base, depth);
  }

  /// The document node a URI without fragment names, and the base of what it holds.
  const Json* resolve_ref(const Json& node) {
    const std::string& ref = node.at("$ref").get_ref<const std::string&>();
    std::string full = resolve_uri(base_of.at(&node), ref);
    size_t hash = full.find('#');
    std::string uri = full.substr(0, hash);
    std::string fragment = hash == std::string::npos ? "" : percent_decode(full.substr(hash + 1));
    if (!fragment.empty() && fragment[0] != '/') {
      auto it = ids.find(uri + "#" + fragment);
      if (it == ids.end()) {
        fail("\"$ref\": \"" + ref + "\" names no schema in this document");
        return nullptr;
      }
      return it->second;
    }
    auto doc = ids.find(uri);
    if (doc == ids.end()) {
      fail("\"$ref\": \"" + ref +
           "\" names no schema in this document (remote references are not fetched)");
      return nullptr;
    }
    const Json* target = follow_pointer(doc->second, fragment);
    if (!target) fail("\"$ref\": \"" + ref + "\" names no schema in this document");
    return target;
  }

  bool resolve_all() {
    for (size_t i = 0; i < ref_nodes.size(); ++i) {  // walking a target may add refs
      const Json* node = ref_nodes[i];
      const Json* target = resolve_ref(*node);
      if (!target) return false;
      if (!base_of.count(target)) {
        // A pointer into a place the walk did not reach (e.g. inside an unknown keyword): its
        // base is the base of the document it is in.
        std::string full = resolve_uri(base_of.at(node),
                                       node->at("$ref").get_ref<const std::string&>());
        if (!walk(*target, strip_fragment(full), 0)) return false;
      }
      impl.refs.emplace(node, target);
    }
    return true;
  }

  /// Refuses a cycle of in-place applications ($ref, allOf, anyOf, oneOf, not, if/then/else,
  /// schema dependencies) — evaluating it would never end.
  bool check_cycles() {
    std::unordered_map<const Json*, int> color;  // 1 on the stack, 2 done
    auto edges = [this](const Json* n) {
      std::vector<const Json*> out;
      if (!n->is_object()) return out;
      if (auto r = impl.refs.find(n); r != impl.refs.end()) {
        out.push_back(r->second);
        return out;  // siblings of $ref are ignored in draft 7
      }
      for (const char* kw : {"allOf", "anyOf", "oneOf"}) {
        if (auto it = n->find(kw); it != n->end()) {
          for (const auto& s : *it) out.push_back(&s);
        }
      }
      for (const char* kw : {"not", "if", "then", "else"}) {
        if (auto it = n->find(kw); it != n->end()) out.push_back(&*it);
      }
      if (auto d = n->find("dependencies"); d != n->end()) {
        for (const auto& s : *d) {
          if (!s.is_array()) out.push_back(&s);
        }
      }
      return out;
    };
    for (const auto& [start, unused] : base_of) {
      if (color[start]) continue;
      std::vector<std::pair<const Json*, std::vector<const Json*>>> stack;
      stack.emplace_back(start, edges(start));
      color[start] = 1;
      while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next.empty()) {
          color[node] = 2;
          stack.pop_back();
          continue;
        }
        const Json* n = next.back();
        next.pop_back();
        int c = color[n];
        if (c == 1) {
          return fail(
              "the schema refers to itself without descending into the value ($ref cycle)");
        }
        if (c == 0) {
          color[n] = 1;
          stack.emplace_back(n, edges(n));
        }
      }
    }
    return true;
  }
};

// ---- the validator ----

struct Eval {
  const Schema::Impl& s;
  int64_t steps = 0;
  bool exhausted = false;
  std::string path;

  bool spend(int64_t n = 1) {
    steps += n;
    if (steps > s.limits.max_steps) exhausted = true;
    return !exhausted;
  }

  static void add(std::vector<Issue>* out, const std::string& path, const char* rule,
                  std::string message) {
    if (out) out->push_back(Issue{path, rule, std::move(message)});
  }

  /// Validates `v` (at `path`) against `schema`; violations go to `out` when not null.
  bool check(const Json& schema, const Json& v, std::vector<Issue>* out, int depth) {
    if (!spend()) return false;
    if (depth > s.limits.max_eval_depth) {
      exhausted = true;
      return false;
    }
    if (schema.is_boolean()) {
      if (schema.get<bool>()) return true;
      add(out, path, "false", "no value is allowed here");
      return false;
    }
    if (auto r = s.refs.find(&schema); r != s.refs.end()) {
      return check(*r->second, v, out, depth + 1);
    }
    bool ok = true;
    for (auto it = schema.begin(); it != schema.end() && !exhausted; ++it) {
      if (!spend()) return false;
      ok = keyword(schema, it.key(), it.value(), v, out, depth) && ok;
      if (!ok && !out) return false;
    }
    return ok && !exhausted;
  }

  bool child(const Json& schema, const Json& v, std::string_view token,
             std::vector<Issue>* out, int depth) {
    size_t before = path.size();
    path += '/';
    path += pointer_token(token);
    bool ok = check(schema, v, out, depth + 1);
    path.resize(before);
    return ok;
  }

  bool keyword(const Json& schema, const std::string& kw, const Json& arg, const Json& v,
               std::vector<Issue>* out, int depth) {
    if (kw == "type") {
      bool ok = false;
      if (arg.is_string()) {
        ok = has_type(v, arg.get_ref<const std::string&>());
      } else {
        for (const auto& t : arg) ok = ok || has_type(v, t.get_ref<const std::string&>());
      }
      if (!ok) {
        add(out, path, "type",
            "must be of type " + (arg.is_string() ? arg.get<std::string>() : dump_compact(arg)) +
                ", not " + type_of(v));
      }
      return ok;
    }
    if (kw == "enum") {
      spend(static_cast<int64_t>(arg.size()));
      for (const auto& e : arg) {
        if (json_equal(e, v)) return true;
      }
      add(out, path, "enum", "must be one of " + dump_compact(arg));
      return false;
    }
    if (kw == "const") {
      if (json_equal(arg, v)) return true;
      add(out, path, "const", "must be " + dump_compact(arg));
      return false;
    }
    if (kw == "allOf" || kw == "anyOf" || kw == "oneOf" || kw == "not" || kw == "if") {
      return in_place_keyword(schema, kw, arg, v, out, depth);
    }
    if (v.is_number()) return number_keyword(kw, arg, v, out);
    if (v.is_string()) return string_keyword(kw, arg, v.get_ref<const std::string&>(), out);
    if (v.is_array()) return array_keyword(schema, kw, arg, v, out, depth);
    if (v.is_object()) return object_keyword(schema, kw, arg, v, out, depth);
    return true;
  }

  bool number_keyword(const std::string& kw, const Json& arg, const Json& v,
                      std::vector<Issue>* out) {
    auto bound = [&](bool ok, const char* op) {
      if (!ok) add(out, path, kw.c_str(), std::string("must be ") + op + " " + number_text(arg));
      return ok;
    };
    if (kw == "maximum") return bound(compare_numbers(v, arg) <= 0, "<=");
    if (kw == "minimum") return bound(compare_numbers(v, arg) >= 0, ">=");
    if (kw == "exclusiveMaximum") return bound(compare_numbers(v, arg) < 0, "<");
    if (kw == "exclusiveMinimum") return bound(compare_numbers(v, arg) > 0, ">");
    if (kw == "multipleOf") {
      bool ok;
      if (v.is_number_integer() && arg.is_number_integer() && !v.is_number_unsigned() &&
          !arg.is_number_unsigned()) {
        ok = v.get<int64_t>() % arg.get<int64_t>() == 0;
      } else {
        double q = v.get<double>() / arg.get<double>();
        ok = std::isfinite(q) && std::fabs(q - std::nearbyint(q)) <= 1e-9 * std::max(1.0, std::fabs(q));
        if (!std::isfinite(q)) ok = false;
      }
      if (!ok) add(out, path, "multipleOf", "must be a multiple of " + number_text(arg));
      return ok;
    }
    return true;
  }

  bool string_keyword(const std::string& kw, const Json& arg, const std::string& v,
                      std::vector<Issue>* out) {
    if (kw == "maxLength" || kw == "minLength") {
      double n = static_cast<double>(utf8_length(v));
      bool ok = kw == "maxLength" ? n <= arg.get<double>() : n >= arg.get<double>();
      if (!ok) {
        add(out, path, kw.c_str(),
            std::string("must be ") + (kw == "maxLength" ? "at most " : "at least ") +
                number_text(arg) + " characters long");
      }
      return ok;
    }
    if (kw == "pattern") {
      spend(1 + static_cast<int64_t>(v.size() / 256));
      const re2::RE2* re = s.regex(arg.get_ref<const std::string&>());
      bool ok = re && re2::RE2::PartialMatch(v, *re);
      if (!ok) add(out, path, "pattern", "must match the pattern " + dump_compact(arg));
      return ok;
    }
    if (kw == "format") {
      spend(1 + static_cast<int64_t>(v.size() / 256));
      bool ok = format_ok(arg.get_ref<const std::string&>(), v);
      if (!ok) add(out, path, "format", "must be a valid " + arg.get<std::string>());
      return ok;
    }
    return true;
  }

  bool array_keyword(const Json& schema, const std::string& kw, const Json& arg, const Json& v,
                     std::vector<Issue>* out, int depth) {
    if (kw == "maxItems" || kw == "minItems") {
      double n = static_cast<double>(v.size());
      bool ok = kw == "maxItems" ? n <= arg.get<double>() : n >= arg.get<double>();
      if (!ok) {
        add(out, path, kw.c_str(),
            std::string("must have ") + (kw == "maxItems" ? "at most " : "at least ") +
                number_text(arg) + " items");
      }
      return ok;
    }
    if (kw == "uniqueItems") {
      if (!arg.get<bool>()) return true;
      for (size_t i = 0; i < v.size(); ++i) {
        if (!spend(static_cast<int64_t>(i) + 1)) return false;
        for (size_t j = 0; j < i; ++j) {
          if (json_equal(v[i], v[j])) {
            add(out, path, "uniqueItems",
                "items " + std::to_string(j) + " and " + std::to_string(i) + " are equal");
            return false;
          }
        }
      }
      return true;
    }
    if (kw == "items") {
      bool ok = true;
      if (arg.is_array()) {
        for (size_t i = 0; i < v.size() && i < arg.size(); ++i) {
          ok = child(arg[i], v[i], std::to_string(i), out, depth) && ok;
          if (!ok && !out) return false;
        }
      } else {
        for (size_t i = 0; i < v.size(); ++i) {
          ok = child(arg, v[i], std::to_string(i), out, depth) && ok;
          if (!ok && !out) return false;
        }
      }
      return ok;
    }
    if (kw == "additionalItems") {
      auto items = schema.find("items");
      if (items == schema.end() || !items->is_array()) return true;
      bool ok = true;
      for (size_t i = items->size(); i < v.size(); ++i) {
        if (arg.is_boolean() && !arg.get<bool>()) {
          add(out, path, "additionalItems",
              "must have at most " + std::to_string(items->size()) + " items");
          return false;
        }
        ok = child(arg, v[i], std::to_string(i), out, depth) && ok;
        if (!ok && !out) return false;
      }
      return ok;
    }
    if (kw == "contains") {
      for (size_t i = 0; i < v.size(); ++i) {
        if (child(arg, v[i], std::to_string(i), nullptr, depth)) return true;
        if (exhausted) return false;
      }
      add(out, path, "contains", "must contain an item that matches the \"contains\" schema");
      return false;
    }
    return true;
  }

  bool object_keyword(const Json& schema, const std::string& kw, const Json& arg, const Json& v,
                      std::vector<Issue>* out, int depth) {
    if (kw == "maxProperties" || kw == "minProperties") {
      double n = static_cast<double>(v.size());
      bool ok = kw == "maxProperties" ? n <= arg.get<double>() : n >= arg.get<double>();
      if (!ok) {
        add(out, path, kw.c_str(),
            std::string("must have ") + (kw == "maxProperties" ? "at most " : "at least ") +
                number_text(arg) + " properties");
      }
      return ok;
    }
    if (kw == "required") {
      bool ok = true;
      for (const auto& name : arg) {
        if (!v.contains(name.get_ref<const std::string&>())) {
          add(out, path, "required",
              "must have the property " + json_quote(name.get_ref<const std::string&>()));
          ok = false;
          if (!out) return false;
        }
      }
      return ok;
    }
    if (kw == "properties") {
      bool ok = true;
      for (auto m = arg.begin(); m != arg.end(); ++m) {
        auto it = v.find(m.key());
        if (it == v.end()) continue;
        ok = child(m.value(), *it, m.key(), out, depth) && ok;
        if (!ok && !out) return false;
      }
      return ok;
    }
    if (kw == "patternProperties") {
      bool ok = true;
      for (auto m = arg.begin(); m != arg.end(); ++m) {
        const re2::RE2* re = s.regex(m.key());
        for (auto p = v.begin(); p != v.end(); ++p) {
          if (!spend()) return false;
          if (!re || !re2::RE2::PartialMatch(p.key(), *re)) continue;
          ok = child(m.value(), p.value(), p.key(), out, depth) && ok;
          if (!ok && !out) return false;
        }
      }
      return ok;
    }
    if (kw == "additionalProperties") {
      auto props = schema.find("properties");
      auto patterns = schema.find("patternProperties");
      bool ok = true;
      for (auto p = v.begin(); p != v.end(); ++p) {
        if (!spend()) return false;
        if (props != schema.end() && props->contains(p.key())) continue;
        bool matched = false;
        if (patterns != schema.end()) {
          for (auto m = patterns->begin(); m != patterns->end() && !matched; ++m) {
            const re2::RE2* re = s.regex(m.key());
            matched = re && re2::RE2::PartialMatch(p.key(), *re);
          }
        }
        if (matched) continue;
        if (arg.is_boolean() && !arg.get<bool>()) {
          add(out, path, "additionalProperties",
              "must not have the property " + json_quote(p.key()));
          ok = false;
        } else {
          ok = child(arg, p.value(), p.key(), out, depth) && ok;
        }
        if (!ok && !out) return false;
      }
      return ok;
    }
    if (kw == "dependencies") {
      bool ok = true;
      for (auto m = arg.begin(); m != arg.end(); ++m) {
        if (!v.contains(m.key())) continue;
        if (m.value().is_array()) {
          for (const auto& name : m.value()) {
            if (!v.contains(name.get_ref<const std::string&>())) {
              add(out, path, "dependencies",
                  "must have the property " + json_quote(name.get_ref<const std::string&>()) +
                      " when it has " + json_quote(m.key()));
              ok = false;
            }
          }
        } else {
          ok = check(m.value(), v, out, depth + 1) && ok;
        }
        if (!ok && !out) return false;
      }
      return ok;
    }
    if (kw == "propertyNames") {
      bool ok = true;
      for (auto p = v.begin(); p != v.end(); ++p) {
        Json name = p.key();
        std::vector<Issue> inner;
        if (!check(arg, name, out ? &inner : nullptr, depth + 1)) {
          ok = false;
          if (!out) return false;
          add(out, path, "propertyNames",
              "property name " + json_quote(p.key()) + " is not allowed" +
                  (inner.empty() ? "" : ": " + inner.front().message));
        }
      }
      return ok;
    }
    return true;
  }

  /// Keywords that apply to any type: the combinators and if/then/else.
  bool in_place_keyword(const Json& schema, const std::string& kw, const Json& arg, const Json& v,
                        std::vector<Issue>* out, int depth) {
    if (kw == "allOf") {
      bool ok = true;
      for (const auto& sub : arg) {
        ok = check(sub, v, out, depth + 1) && ok;
        if (!ok && !out) return false;
      }
      return ok;
    }
    if (kw == "anyOf") {
      for (const auto& sub : arg) {
        if (check(sub, v, nullptr, depth + 1)) return true;
        if (exhausted) return false;
      }
      add(out, path, "anyOf", "must match at least one of the \"anyOf\" schemas");
      return false;
    }
    if (kw == "oneOf") {
      int matches = 0;
      for (const auto& sub : arg) {
        if (check(sub, v, nullptr, depth + 1)) ++matches;
        if (exhausted) return false;
      }
      if (matches == 1) return true;
      add(out, path, "oneOf",
          matches == 0 ? "must match exactly one of the \"oneOf\" schemas, matches none"
                       : "must match exactly one of the \"oneOf\" schemas, matches " +
                             std::to_string(matches));
      return false;
    }
    if (kw == "not") {
      if (!check(arg, v, nullptr, depth + 1)) return !exhausted;
      add(out, path, "not", "must not match the \"not\" schema");
      return false;
    }
    if (kw == "if") {
      bool cond = check(arg, v, nullptr, depth + 1);
      if (exhausted) return false;
      auto branch = schema.find(cond ? "then" : "else");
      if (branch == schema.end()) return true;
      return check(*branch, v, out, depth + 1);
    }
    return true;  // a keyword for another type, or an annotation
  }
};

// ---- formats ----

bool digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}
int num(std::string_view s, size_t pos, size_t n) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

bool date_ok(std::string_view s) {
  if (s.size() != 10 || !digits(s, 0, 4) || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' ||
      !digits(s, 8, 2)) {
    return false;
  }
  int y = num(s, 0, 4), m = num(s, 5, 2), d = num(s, 8, 2);
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

bool time_ok(std::string_view s) {
  if (s.size() < 9 || !digits(s, 0, 2) || s[2] != ':' || !digits(s, 3, 2) || s[5] != ':' ||
      !digits(s, 6, 2)) {
    return false;
  }
  if (num(s, 0, 2) > 23 || num(s, 3, 2) > 59 || num(s, 6, 2) > 60) return false;
  size_t i = 8;
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i == s.size()) return false;
  if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) return true;
  if ((s[i] == '+' || s[i] == '-') && s.size() == i + 6 && digits(s, i + 1, 2) &&
      s[i + 3] == ':' && digits(s, i + 4, 2)) {
    return num(s, i + 1, 2) <= 23 && num(s, i + 4, 2) <= 59;
  }
  return false;
}

bool hostname_ok(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool ipv4_ok(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 4) ++i;
    size_t len = i - start;
    if (len == 0 || len > 3 || (len > 1 && s[start] == '0')) return false;
    if (num(s, start, len) > 255) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

bool ipv6_ok(std::string_view s) {
  if (s.empty() || s.size() > 45) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
  }
  std::string z(s);
  unsigned char buf[16];
  return inet_pton(AF_INET6, z.c_str(), buf) == 1;
}

bool email_ok(std::string_view s) {
  size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == s.size()) return false;
  std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != local.npos) return false;
  for (char c : local) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '@' || c == '(' || c == ')' || c == ',' ||
        c == ':' || c == ';' || c == '<' || c == '>' || c == '[' || c == ']' || c == '\\' ||
        c == '"') {
      return false;
    }
  }
  if (domain.size() > 2 && domain.front() == '[' && domain.back() == ']') {
    std::string_view ip = domain.substr(1, domain.size() - 2);
    return ipv4_ok(ip) || (ip.rfind("IPv6:", 0) == 0 && ipv6_ok(ip.substr(5)));
  }
  return hostname_ok(domain);
}

bool uri_chars_ok(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '%') {
      if (i + 2 >= s.size()) return false;
      if (!std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        return false;
      }
      i += 2;
      continue;
    }
    if (std::isalnum(c)) continue;
    if (std::string_view("-._~:/?#[]@!$&'()*+,;=").find(static_cast<char>(c)) ==
        std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool uri_ok(std::string_view s, bool reference) {
  if (!uri_chars_ok(s)) return false;
  if (!has_scheme(s)) return reference;
  // The authority's port, when there is one, is digits.
  size_t colon = s.find(':');
  std::string_view rest = s.substr(colon + 1);
  if (rest.rfind("//", 0) == 0) {
    std::string_view authority = rest.substr(2, rest.find_first_of("/?#", 2) - 2);
    size_t at = authority.rfind('@');
    std::string_view host = at == authority.npos ? authority : authority.substr(at + 1);
    if (!host.empty() && host.front() == '[') {
      size_t close = host.find(']');
      if (close == host.npos) return false;
      host = host.substr(close + 1);
      if (!host.empty() && host.front() != ':') return false;
    }
    size_t pc = host.find(':');
    if (pc != host.npos) {
      std::string_view port = host.substr(pc + 1);
      if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return false;
      }
    }
    if (authority.find('[') != authority.npos && authority.front() != '[' &&
        (at == authority.npos || authority[at + 1] != '[')) {
      return false;
    }
  }
  return true;
}

bool duration_ok(std::string_view s) {
  if (s.size() < 3 || s[0] != 'P') return false;
  size_t i = 1;
  auto number = [&]() {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (s.size() > 2 && s.back() == 'W') {
    return number() && i + 1 == s.size();
  }
  const std::string_view date_units = "YMD", time_units = "HMS";
  size_t unit = 0;
  bool any = false, in_time = false, time_any = false;
  while (i < s.size()) {
    if (s[i] == 'T') {
      if (in_time) return false;
      in_time = true;
      unit = 0;
      ++i;
      continue;
    }
    if (!number() || i >= s.size()) return false;
    std::string_view units = in_time ? time_units : date_units;
    size_t u = units.find(s[i], unit);
    if (u == std::string_view::npos) return false;
    unit = u + 1;
    ++i;
    any = true;
    if (in_time) time_any = true;
  }
  return any && (!in_time || time_any);
}

}  // namespace

bool format_ok(std::string_view format, std::string_view s) {
  if (format == "date") return date_ok(s);
  if (format == "time") return time_ok(s);
  if (format == "date-time") {
    if (s.size() < 20 || (s[10] != 'T' && s[10] != 't')) return false;
    return date_ok(s.substr(0, 10)) && time_ok(s.substr(11));
  }
  if (format == "hostname") return hostname_ok(s);
  if (format == "ipv4") return ipv4_ok(s);
  if (format == "ipv6") return ipv6_ok(s);
  if (format == "email") return email_ok(s);
  if (format == "uri") return uri_ok(s, false);
  if (format == "uri-reference") return uri_ok(s, true);
  if (format == "duration") return duration_ok(s);
  if (format == "regex") {
    re2::RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(1 << 20);
    return re2::RE2(std::string(s), options).ok();
  }
  return true;
}

bool json_equal(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return compare_numbers(a, b) == 0;
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !json_equal(it.value(), *other)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (!json_equal(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

Schema::Schema(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Schema::~Schema() = default;

const Json& Schema::document() const { return impl_->doc; }

std::vector<Issue> Schema::validate(const Json& value) const {
  Eval eval{*impl_, 0, false, {}};
  std::vector<Issue> issues;
  eval.check(impl_->doc, value, &issues, 0);
  if (eval.exhausted) {
    issues.push_back(Issue{"", "budget",
                           "validating this value against the schema needs more than " +
                               std::to_string(impl_->limits.max_steps) +
                               " steps or nests deeper than " +
                               std::to_string(impl_->limits.max_eval_depth)});
  }
  if (issues.size() > impl_->limits.max_violations) {
    size_t more = issues.size() - impl_->limits.max_violations + 1;
    issues.resize(impl_->limits.max_violations - 1);
    issues.push_back(Issue{"", "limit", std::to_string(more) + " more violations not listed"});
  }
  return issues;
}

Result<std::shared_ptr<const Schema>, std::string> compile(const Json& schema,
                                                          const Limits& limits) {
  if (json_depth(schema) > limits.max_schema_depth * 2 + 2) {
    return Unexpected{std::string("schema nested too deeply")};
  }
  std::string text = dump_compact(schema);
  if (text.size() > limits.max_schema_bytes) {
    return Unexpected{"schema is " + std::to_string(text.size()) + " bytes, more than " +
                      std::to_string(limits.max_schema_bytes)};
  }
  auto impl = std::make_unique<Schema::Impl>();
  impl->doc = schema;
  impl->limits = limits;
  Compiler c{*impl, {}, {}, {}, {}};
  c.ids.emplace("", &impl->doc);
  if (!c.walk(impl->doc, "", 0) || !c.resolve_all() || !c.check_cycles()) {
    return Unexpected{c.error};
  }
  return std::shared_ptr<const Schema>(new Schema(std::move(impl)));
}

}  // namespace cairn::jsonschema
