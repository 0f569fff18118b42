#include "jsonschema/namespace_schemas.h"

#include <algorithm>
#include <list>
#include <map>
#include <mutex>
#include <set>

namespace cairn::jsonschema {

bool glob_match(std::string_view p, std::string_view s) {
  // The classic two-pointer match: on a mismatch, go back to just after the last `*` and let it
  // swallow one more character. O(|p| * |s|) at worst, no recursion.
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

Result<std::shared_ptr<const NamespaceSchemas>, api::Error> NamespaceSchemas::parse(
    std::string_view schemas_json, bool strict, const Limits& limits) {
  using api::Errc;
  if (schemas_json.size() > limits.max_schema_bytes + 64 * kMaxSchemaEntries) {
    return Unexpected{api::make_error(Errc::kValidation,
                                      "schemas are larger than " +
                                          std::to_string(limits.max_schema_bytes) + " bytes",
                                      "schemas")};
  }
  auto parsed = parse_json(schemas_json, limits.max_schema_depth * 2 + 8);
  if (!parsed || !parsed->is_array()) {
    return Unexpected{api::make_error(
        Errc::kBadRequest, "schemas must be a JSON array of {\"keys\", \"schema\"} objects",
        "schemas")};
  }
  if (parsed->size() > kMaxSchemaEntries) {
    return Unexpected{api::make_error(
        Errc::kValidation, "at most " + std::to_string(kMaxSchemaEntries) + " schema entries",
        "schemas")};
  }
  auto out = std::make_shared<NamespaceSchemas>();
  out->strict_ = strict;
  Json canonical = Json::array();
  size_t total = 0;
  for (size_t i = 0; i < parsed->size(); ++i) {
    const Json& e = (*parsed)[i];
    std::string field = "schemas[" + std::to_string(i) + "]";
    if (!e.is_object()) {
      return Unexpected{api::make_error(Errc::kBadRequest, field + " is not an object", field)};
    }
    auto keys = e.find("keys");
    if (keys == e.end() || !keys->is_string() || keys->get_ref<const std::string&>().empty() ||
        keys->get_ref<const std::string&>().size() > kMaxGlobBytes) {
      return Unexpected{api::make_error(
          Errc::kValidation,
          "keys must be a non-empty glob of at most " + std::to_string(kMaxGlobBytes) + " bytes",
          field + ".keys")};
    }
    for (const auto& m : e.items()) {
      if (m.key() != "keys" && m.key() != "schema") {
        return Unexpected{api::make_error(Errc::kBadRequest,
                                          "unknown member " + json_quote(m.key()), field)};
      }
    }
    auto schema = e.find("schema");
    if (schema == e.end()) {
      return Unexpected{api::make_error(Errc::kBadRequest, "schema is required",
                                        field + ".schema")};
    }
    auto compiled = compile(*schema, limits);
    if (!compiled.ok()) {
      return Unexpected{api::make_error(Errc::kValidation, compiled.error(), field + ".schema")};
    }
    total += dump_compact(*schema).size();
    if (total > limits.max_schema_bytes) {
      return Unexpected{api::make_error(
          Errc::kValidation,
          "schemas are larger than " + std::to_string(limits.max_schema_bytes) + " bytes",
          "schemas")};
    }
    out->entries_.push_back(Entry{keys->get<std::string>(), std::move(*compiled)});
    canonical.push_back(Json{{"keys", *keys}, {"schema", *schema}});
  }
  out->canonical_ = dump_compact(canonical);
  return std::shared_ptr<const NamespaceSchemas>(std::move(out));
}

const NamespaceSchemas::Entry* NamespaceSchemas::entry_for(std::string_view key) const {
  for (const auto& e : entries_) {
    if (glob_match(e.keys, key)) return &e;
  }
  return nullptr;
}

std::vector<api::SchemaViolation> NamespaceSchemas::check(std::string_view key,
                                                          const Json& value) const {
  std::vector<api::SchemaViolation> out;
  const Entry* e = entry_for(key);
  if (!e) {
    if (strict_) {
      out.push_back(api::SchemaViolation{std::string(key), "", "strict",
                                         "no schema of this strict namespace covers the key"});
    }
    return out;
  }
  for (auto& issue : e->schema->validate(value)) {
    out.push_back(api::SchemaViolation{std::string(key), std::move(issue.path),
                                       std::move(issue.rule), std::move(issue.message)});
  }
  return out;
}

std::vector<api::SchemaViolation> NamespaceSchemas::check_text(std::string_view key,
                                                               std::string_view value_text) const {
  if (!strict_ && !entry_for(key)) return {};
  auto value = parse_json(value_text, 256);
  if (!value) {
    return {api::SchemaViolation{std::string(key), "", "json", "the value is not JSON"}};
  }
  return check(key, *value);
}

Result<std::shared_ptr<const NamespaceSchemas>, api::Error> compiled(std::string_view schemas_json,
                                                                     bool strict) {
  static std::mutex mu;
  static std::list<std::pair<std::string, std::shared_ptr<const NamespaceSchemas>>> lru;
  constexpr size_t kCapacity = 64;
  std::string cache_key = std::string(strict ? "1" : "0") + std::string(schemas_json);
  {
    std::lock_guard lock(mu);
    for (auto it = lru.begin(); it != lru.end(); ++it) {
      if (it->first == cache_key) {
        lru.splice(lru.begin(), lru, it);
        return lru.front().second;
      }
    }
  }
  auto parsed = NamespaceSchemas::parse(schemas_json, strict);
  if (!parsed.ok()) return parsed;
  std::lock_guard lock(mu);
  lru.emplace_front(std::move(cache_key), *parsed);
  if (lru.size() > kCapacity) lru.pop_back();
  return *parsed;
}

// ---- breaking changes ----

namespace {

struct Differ {
  const std::string& keys;
  std::vector<BreakingChange>& out;

  void add(const std::string& path, const char* change, std::string message) {
    out.push_back(BreakingChange{keys, path, change, std::move(message)});
  }

  static const Json* member(const Json& s, const char* name) {
    if (!s.is_object()) return nullptr;
    auto it = s.find(name);
    return it == s.end() ? nullptr : &*it;
  }

  static std::set<std::string> types(const Json& s) {
    const Json* t = member(s, "type");
    if (!t) return {"null", "boolean", "object", "array", "number", "integer", "string"};
    std::set<std::string> out;
    auto one = [&](const Json& x) {
      if (!x.is_string()) return;
      out.insert(x.get<std::string>());
      if (x == "number") out.insert("integer");
    };
    if (t->is_array()) {
      for (const auto& x : *t) one(x);
    } else {
      one(*t);
    }
    return out;
  }

  void bound(const Json& before, const Json& after, const std::string& path, const char* kw,
             bool lower) {
    const Json* b = member(before, kw);
    const Json* a = member(after, kw);
    if (!a || !a->is_number()) return;
    if (b && b->is_number()) {
      bool tighter = lower ? a->get<double>() > b->get<double>() : a->get<double>() < b->get<double>();
      if (!tighter) return;
      add(path, "range_tightened",
          std::string(kw) + " tightened from " + dump_compact(*b) + " to " + dump_compact(*a));
    } else {
      add(path, "range_tightened", std::string(kw) + " " + dump_compact(*a) + " added");
    }
  }

  void diff(const Json& before, const Json& after, const std::string& path, int depth) {
    if (depth > 64) return;
    if (after.is_boolean()) {
      if (!after.get<bool>() && !(before.is_boolean() && !before.get<bool>())) {
        add(path, "everything_refused", "the schema is now false: no value is allowed");
      }
      return;
    }
    if (!after.is_object()) return;
    if (before.is_boolean() && !before.get<bool>()) return;  // nothing was allowed before
    // Types.
    std::set<std::string> tb = types(before), ta = types(after);
    std::vector<std::string> removed;
    for (const auto& t : tb) {
      if (!ta.count(t) && !(t == "integer" && ta.count("number"))) removed.push_back(t);
    }
    if (!removed.empty()) {
      std::string list;
      for (const auto& t : removed) list += (list.empty() ? "" : ", ") + t;
      add(path, "type_narrowed", "type narrowed: " + list + " no longer allowed");
    }
    // Required.
    if (const Json* ra = member(after, "required"); ra && ra->is_array()) {
      const Json* rb = member(before, "required");
      for (const auto& name : *ra) {
        bool was = rb && rb->is_array() &&
                   std::any_of(rb->begin(), rb->end(), [&](const Json& x) { return x == name; });
        if (!was) add(path, "required_added", "property " + dump_compact(name) + " made required");
      }
    }
    // Enum and const.
    if (const Json* ea = member(after, "enum"); ea && ea->is_array()) {
      const Json* eb = member(before, "enum");
      if (!eb || !eb->is_array()) {
        add(path, "enum_added", "values limited to " + dump_compact(*ea));
      } else {
        for (const auto& v : *eb) {
          bool kept = std::any_of(ea->begin(), ea->end(),
                                  [&](const Json& x) { return json_equal(x, v); });
          if (!kept) add(path, "enum_value_removed", "enum value " + dump_compact(v) + " removed");
        }
      }
    }
    if (const Json* ca = member(after, "const")) {
      const Json* cb = member(before, "const");
      if (!cb || !json_equal(*ca, *cb)) {
        add(path, "const_added", "value must now be " + dump_compact(*ca));
      }
    }
    // Ranges.
    for (const char* kw : {"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"}) {
      bound(before, after, path, kw, true);
    }
    for (const char* kw : {"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"}) {
      bound(before, after, path, kw, false);
    }
    for (const char* kw : {"multipleOf", "pattern", "format"}) {
      const Json* a = member(after, kw);
      const Json* b = member(before, kw);
      if (a && (!b || !json_equal(*a, *b))) {
        add(path, kw == std::string("multipleOf") ? "range_tightened" : "pattern_changed",
            std::string(kw) + (b ? " changed to " : " ") + dump_compact(*a) + (b ? "" : " added"));
      }
    }
    if (const Json* ua = member(after, "uniqueItems"); ua && ua->is_boolean() && ua->get<bool>()) {
      const Json* ub = member(before, "uniqueItems");
      if (!ub || !ub->is_boolean() || !ub->get<bool>()) {
        add(path, "unique_items_required", "items must now be unique");
      }
    }
    if (const Json* aa = member(after, "additionalProperties")) {
      const Json* ab = member(before, "additionalProperties");
      if (aa->is_boolean() && !aa->get<bool>() && !(ab && ab->is_boolean() && !ab->get<bool>())) {
        add(path, "additional_properties_refused", "properties not listed are now refused");
      } else if (aa->is_object()) {
        diff(ab ? *ab : Json(true), *aa, path + "/additionalProperties", depth + 1);
      }
    }
    // Nested schemas at the same place.
    if (const Json* pa = member(after, "properties"); pa && pa->is_object()) {
      const Json* pb = member(before, "properties");
      for (auto it = pa->begin(); it != pa->end(); ++it) {
        const Json* old = pb && pb->is_object() && pb->contains(it.key()) ? &(*pb)[it.key()]
                                                                          : nullptr;
        Json open(true);
        diff(old ? *old : open, it.value(),
             path + "/properties/" + it.key(), depth + 1);
      }
    }
    if (const Json* ia = member(after, "items"); ia && !ia->is_array()) {
      const Json* ib = member(before, "items");
      diff(ib && !ib->is_array() ? *ib : Json(true), *ia, path + "/items", depth + 1);
    }
    for (const char* kw : {"$ref", "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
                           "dependencies", "patternProperties", "propertyNames", "contains"}) {
      const Json* a = member(after, kw);
      const Json* b = member(before, kw);
      if (a && (!b || !json_equal(*a, *b))) {
        add(path, "composition_changed",
            std::string(kw) + " changed: not analysed, check what it refuses by hand");
      }
    }
  }
};

}  // namespace

std::vector<BreakingChange> breaking_changes(const NamespaceSchemas* before,
                                             const NamespaceSchemas& after) {
  std::vector<BreakingChange> out;
  if (after.strict() && !(before && before->strict())) {
    out.push_back(BreakingChange{"", "", "strict_enabled",
                                 "keys that no entry covers are now refused"});
  }
  for (const auto& e : after.entries()) {
    const NamespaceSchemas::Entry* old = nullptr;
    if (before) {
      for (const auto& b : before->entries()) {
        if (b.keys == e.keys) {
          old = &b;
          break;
        }
      }
    }
    Differ d{e.keys, out};
    if (!old) {
      d.add("", "schema_added", "keys matching " + json_quote(e.keys) + " are now validated");
      continue;
    }
    d.diff(old->schema->document(), e.schema->document(), "", 0);
  }
  return out;
}

Json breaking_changes_json(const std::vector<BreakingChange>& changes) {
  Json list = Json::array();
  for (const auto& c : changes) {
    list.push_back(
        Json{{"keys", c.keys}, {"path", c.path}, {"change", c.change}, {"message", c.message}});
  }
  return list;
}

api::Error refusal(const std::vector<api::SchemaViolation>& violations, const std::string& field) {
  std::set<std::string> keys;
  for (const auto& v : violations) keys.insert(v.key);
  std::string details = std::to_string(violations.size()) +
                        (violations.size() == 1 ? " violation" : " violations") +
                        " of the namespace's schema in " + std::to_string(keys.size()) +
                        (keys.size() == 1 ? " value" : " values");
  if (!violations.empty()) {
    const auto& first = violations.front();
    details += " (" + first.key + (first.path.empty() ? "" : " " + first.path) + ": " +
               first.message + (violations.size() > 1 ? "; …" : "") + ")";
  }
  api::Error e = api::make_error(api::Errc::kValidation, std::move(details), field);
  e.extra = api::violations_json(violations);
  return e;
}

}  // namespace cairn::jsonschema
