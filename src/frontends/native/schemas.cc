// Typed namespaces (docs/schemas.md): setting a namespace's schemas (part of
// PUT /api/v1/admin/namespace/{id}), reading them, and the dry runs.

#include <algorithm>
#include <set>

#include "common/time.h"
#include "frontends/native/request.h"
#include "frontends/native/service.h"
#include "jsonschema/namespace_schemas.h"

namespace cairn::native {

using api::Errc;
using api::make_error;

namespace {

Result<bool, api::Error> bool_member(const Json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return false;
  if (!it->is_boolean()) {
    return Unexpected{make_error(Errc::kBadRequest, std::string(name) + " must be a boolean", name)};
  }
  return it->get<bool>();
}

Json violations_array(const std::vector<api::SchemaViolation>& violations) {
  return Json::parse(api::violations_json(violations))["violations"];
}

}  // namespace

Result<std::string, api::Error> Service::namespace_of_ref(const std::string& ref) const {
  bool digits = !ref.empty() && ref.size() <= 18 &&
                std::all_of(ref.begin(), ref.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) {
    auto name = core_.namespace_name(std::stoll(ref));
    if (!name) {
      return Unexpected{make_error(Errc::kNamespaceNotFound,
                                   "namespace id " + ref + " does not exist", "id")};
    }
    return *name;
  }
  if (auto bad = check_namespace(ref, "id"); !bad.ok()) return Unexpected{bad.error()};
  if (!core_.namespace_id(ref)) {
    return Unexpected{
        make_error(Errc::kNamespaceNotFound, "namespace '" + ref + "' does not exist", "id")};
  }
  return ref;
}

Result<std::optional<api::SetNamespaceSchema>, api::Error> Service::schema_command(
    const http::Request& req, const Json& body, int64_t id) {
  bool has_schemas = body.contains("schemas");
  bool has_strict = body.contains("strict");
  if (!has_schemas && !has_strict) {
    if (body.contains("force")) {
      return Unexpected{make_error(Errc::kBadRequest, "force goes with schemas", "force")};
    }
    return std::optional<api::SetNamespaceSchema>{};
  }
  api::SetNamespaceSchema cmd;
  cmd.id = id;
  auto strict = bool_member(body, "strict");
  if (!strict.ok()) return Unexpected{strict.error()};
  auto force = bool_member(body, "force");
  if (!force.ok()) return Unexpected{force.error()};
  cmd.strict = *strict;
  cmd.force = *force;
  if (has_schemas) {
    const Json& list = body["schemas"];
    if (!list.is_array() && !list.is_null()) {
      return Unexpected{make_error(Errc::kBadRequest,
                                   "schemas must be an array of {\"keys\", \"schema\"}", "schemas")};
    }
    cmd.schemas_json = list.is_null() ? "[]" : dump_compact(list);
  } else {
    // Only `strict` changes: the current list stays.
    if (auto name = core_.namespace_name(id)) {
      auto current = core_.schema(req.caller, *name);
      if (!current.ok()) return Unexpected{current.error()};
      cmd.schemas_json = current->schemas;
    }
  }
  // Compiled here too so that a bad schema is refused before it is replicated (apply compiles
  // it again: the check that counts).
  auto compiled = jsonschema::compiled(cmd.schemas_json, cmd.strict);
  if (!compiled.ok()) return Unexpected{compiled.error()};
  cmd.schemas_json = (*compiled)->canonical_json();
  return std::optional<api::SetNamespaceSchema>{std::move(cmd)};
}

void Service::get_schema(const http::RequestPtr& req, const http::Reply& reply) {
  auto ns = required_param(*req, "namespace");
  if (!ns.ok()) return reply_error(reply, *req, ns.error());
  if (auto bad = check_namespace(*ns); !bad.ok()) return reply_error(reply, *req, bad.error());
  auto row = core_.schema(req->caller, *ns);
  if (!row.ok()) return reply_error(reply, *req, row.error());
  Json data{{"namespace", row->ns},
            {"version", row->version},
            {"strict", row->strict},
            {"schemas", Json::parse(row->schemas)},
            {"updated_by", row->updated_by},
            {"updated_at", row->version ? Json(format_utc(row->updated_at_ms)) : Json()},
            {"flagged", row->flagged}};
  if (req->query_param("history").value_or("") == "true") {
    auto history = core_.schema_history(req->caller, *ns);
    if (!history.ok()) return reply_error(reply, *req, history.error());
    Json list = Json::array();
    for (const auto& h : *history) {
      list.push_back(Json{{"version", h.version},
                          {"schemas", Json::parse(h.schemas)},
                          {"strict", h.strict},
                          {"forced", h.forced},
                          {"violations", Json::parse(h.violations)["violations"]},
                          {"operator", h.operator_name},
                          {"created_at", format_utc(h.created_at_ms)},
                          {"revision", h.revision}});
    }
    data["history"] = std::move(list);
  }
  reply_ok(reply, *req, "success", dump_compact(data));
}

void Service::check_schema(const http::RequestPtr& req, const http::Reply& reply) {
  std::string ref(req->path_param("id").value_or(""));
  auto name = namespace_of_ref(ref);
  if (!name.ok()) return reply_error(reply, *req, name.error());
  auto body = body_object(*req);
  if (!body.ok()) return reply_error(reply, *req, body.error());
  if (body->contains("key")) {
    // One value against the current schemas: the console's editor, as the user types.
    auto key = string_field(*body, "key");
    if (!key.ok()) return reply_error(reply, *req, key.error());
    if (auto bad = check_key(*key); !bad.ok()) return reply_error(reply, *req, bad.error());
    auto raw = raw_value_member(req->body);
    if (!raw) {
      return reply_error(reply, *req, make_error(Errc::kBadRequest, "value is required", "value"));
    }
    auto v = core_.check_value(req->caller, *name, *key, std::string(*raw));
    if (!v.ok()) return reply_error(reply, *req, v.error());
    Json data{{"namespace", *name}, {"key", *key}, {"valid", v->empty()},
              {"violations", violations_array(*v)}};
    return reply_ok(reply, *req, "success", dump_compact(data));
  }
  auto strict = bool_member(*body, "strict");
  if (!strict.ok()) return reply_error(reply, *req, strict.error());
  auto it = body->find("schemas");
  if (it == body->end() || !it->is_array()) {
    return reply_error(reply, *req,
                       make_error(Errc::kBadRequest,
                                  "schemas must be an array of {\"keys\", \"schema\"}", "schemas"));
  }
  auto check = core_.check_schema(req->caller, *name, dump_compact(*it), *strict);
  if (!check.ok()) return reply_error(reply, *req, check.error());
  std::set<std::string> failing;
  for (const auto& v : check->violations) failing.insert(v.key);
  Json data{{"namespace", *name},
            {"current_version", check->current_version},
            {"ok", check->violations.empty()},
            {"failing_keys", failing},
            {"violations", violations_array(check->violations)},
            {"breaking_changes", jsonschema::breaking_changes_json(check->breaking)}};
  reply_ok(reply, *req, "success", dump_compact(data));
}

}  // namespace cairn::native
