// Namespace management (seed §3.8.6).

#include "common/time.h"
#include "frontends/native/request.h"
#include "frontends/native/service.h"
#include "secrets/sealed.h"

namespace cairn::native {

using api::Errc;
using api::make_error;

namespace {

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Result<std::optional<std::string>, api::Error> description_field(const Json& body) {
  auto d = optional_string_field(body, "description");
  if (!d.ok()) return d;
  if (*d) {
    if (auto bad = api::check_description(**d)) {
      return Unexpected{make_error(Errc::kValidation, *bad, "description")};
    }
  }
  return d;
}

/// `secret_keys` (docs/secrets.md): an array of key patterns; nullopt when absent.
Result<std::optional<std::vector<std::string>>, api::Error> secret_keys_field(const Json& body) {
  auto it = body.find("secret_keys");
  if (it == body.end() || it->is_null()) return std::optional<std::vector<std::string>>{};
  auto bad = [] {
    return Unexpected{make_error(Errc::kBadRequest,
                                 "secret_keys must be an array of key patterns", "secret_keys")};
  };
  if (!it->is_array()) return bad();
  std::vector<std::string> out;
  for (const auto& p : *it) {
    if (!p.is_string()) return bad();
    out.push_back(p.get<std::string>());
  }
  if (auto why = secrets::check_key_patterns(out)) {
    return Unexpected{make_error(Errc::kValidation, *why, "secret_keys")};
  }
  return std::optional<std::vector<std::string>>{std::move(out)};
}

}  // namespace

void Service::create_namespace(const http::RequestPtr& req, const http::Reply& reply) {
  auto body = body_object(*req);
  if (!body.ok()) return reply_error(reply, *req, body.error());
  auto name = string_field(*body, "name");
  if (!name.ok()) return reply_error(reply, *req, name.error());
  if (auto bad = check_new_namespace(*name, "name"); !bad.ok()) {
    return reply_error(reply, *req, bad.error());
  }
  auto description = description_field(*body);
  if (!description.ok()) return reply_error(reply, *req, description.error());
  auto secret_keys = secret_keys_field(*body);
  if (!secret_keys.ok()) return reply_error(reply, *req, secret_keys.error());
  propose(req, reply,
          api::CreateNamespace{*name, description->value_or(""),
                               secret_keys->value_or(std::vector<std::string>{})});
}

void Service::update_namespace(const http::RequestPtr& req, const http::Reply& reply) {
  // {id} is the numeric id, or the name when it is not all digits.
  std::string ref(req->path_param("id").value_or(""));
  int64_t id = 0;
  if (all_digits(ref)) {
    id = std::stoll(ref);
  } else {
    if (auto bad = check_namespace(ref, "id"); !bad.ok()) {
      return reply_error(reply, *req, bad.error());
    }
    auto found = core_.namespace_id(ref);
    if (!found) {
      return reply_error(reply, *req, make_error(Errc::kNamespaceNotFound,
                                                 "namespace '" + ref + "' does not exist", "id"));
    }
    id = *found;
  }
  auto body = body_object(*req);
  if (!body.ok()) return reply_error(reply, *req, body.error());
  auto description = description_field(*body);
  if (!description.ok()) return reply_error(reply, *req, description.error());
  auto status = optional_int_field(*body, "status", 0, 1);
  if (!status.ok()) return reply_error(reply, *req, status.error());
  api::UpdateNamespace cmd;
  // retention: {"keep_latest": n, "keep_days": d}; a member set to null returns to the default.
  if (auto it = body->find("retention"); it != body->end() && !it->is_null()) {
    if (!it->is_object()) {
      return reply_error(reply, *req, make_error(Errc::kBadRequest,
                                                 "retention must be an object", "retention"));
    }
    struct Field {
      const char* name;
      int64_t max;
      std::optional<int64_t>& out;
    };
    for (Field f : {Field{"keep_latest", api::kMaxKeepLatest, cmd.keep_latest},
                    Field{"keep_days", api::kMaxKeepDays, cmd.keep_days}}) {
      auto member = it->find(f.name);
      if (member == it->end()) continue;
      if (member->is_null()) {
        f.out = api::kRetentionReset;
        continue;
      }
      auto v = optional_int_field(*it, f.name, 0, f.max);
      if (!v.ok()) {
        api::Error e = v.error();
        e.field = std::string("retention.") + f.name;
        return reply_error(reply, *req, e);
      }
      f.out = *v;
    }
    if (!cmd.keep_latest && !cmd.keep_days) {
      return reply_error(reply, *req,
                         make_error(Errc::kBadRequest,
                                    "retention needs keep_latest or keep_days", "retention"));
    }
  }
  auto secret_keys = secret_keys_field(*body);
  if (!secret_keys.ok()) return reply_error(reply, *req, secret_keys.error());
  cmd.secret_keys = std::move(*secret_keys);
  auto schema = schema_command(*req, *body, id);
  if (!schema.ok()) return reply_error(reply, *req, schema.error());
  const bool settings =
      *description || *status || cmd.keep_latest || cmd.keep_days || cmd.secret_keys;
  if (!settings && !*schema) {
    return reply_error(reply, *req,
                       make_error(Errc::kBadRequest,
                                  "one of description, status, retention, secret_keys or schemas "
                                  "is required",
                                  "description"));
  }
  if (!settings) return propose(req, reply, std::move(**schema));
  cmd.id = id;
  cmd.description = *description;
  if (*status) cmd.status = static_cast<int>(**status);
  if (!*schema) return propose(req, reply, std::move(cmd));
  // Settings and schemas: two commands, the settings first; the schemas' answer is the reply
  // (docs/schemas.md).
  auto operator_name = operator_of(*req);
  if (!operator_name.ok()) return reply_error(reply, *req, operator_name.error());
  api::Command first{req->request_id, *operator_name, std::move(cmd), http::client_ip(*req)};
  core_.submit(req->caller, std::move(first),
               [this, req, reply, next = std::move(**schema)](api::CommandResult result) mutable {
                 if (!result.ok()) return reply_result(reply, *req, result);
                 propose(req, reply, std::move(next));
               });
}

void Service::delete_namespace(const http::RequestPtr& req, const http::Reply& reply) {
  std::string ref(req->path_param("id").value_or(""));
  int64_t id = 0;
  if (all_digits(ref)) {
    id = std::stoll(ref);
  } else {
    if (auto bad = check_namespace(ref, "id"); !bad.ok()) {
      return reply_error(reply, *req, bad.error());
    }
    auto found = core_.namespace_id(ref);
    if (!found) {
      return reply_error(reply, *req, make_error(Errc::kNamespaceNotFound,
                                                 "namespace '" + ref + "' does not exist", "id"));
    }
    id = *found;
  }
  propose(req, reply, api::DeleteNamespace{id});
}

void Service::list_namespaces(const http::RequestPtr& req, const http::Reply& reply) {
  store::NamespaceFilter filter;
  if (auto name = req->query_param("name")) {
    if (name->size() > api::kMaxNamespaceLength) {
      return reply_error(reply, *req, make_error(Errc::kValidation,
                                                 "name must be at most 128 characters", "name"));
    }
    filter.name_contains = std::string(*name);
  }
  auto status = int_param(*req, "status", 0, 1);
  if (!status.ok()) return reply_error(reply, *req, status.error());
  if (*status) filter.status = static_cast<int>(**status);
  auto paging = paging_params(*req);
  if (!paging.ok()) return reply_error(reply, *req, paging.error());
  auto page = core_.list_namespaces(req->caller, std::move(filter), {paging->page, paging->page_size});
  if (!page.ok()) return reply_error(reply, *req, page.error());
  api::Paged<api::NamespaceRow> rows;
  rows.list.reserve(page->items.size());
  for (auto& n : page->items) {
    rows.list.push_back(api::NamespaceRow{
        n.id, std::move(n.name), std::move(n.description), n.status, n.config_count,
        static_cast<int64_t>(n.revision), format_utc(n.created_at_ms),
        format_utc(n.updated_at_ms),
        api::NamespaceRetention{n.keep_latest.value_or(api::kDefaultKeepLatest),
                                n.keep_days.value_or(api::kDefaultKeepDays)},
        std::move(n.secret_keys)});
  }
  rows.pagination = pagination_of(*paging, page->total);
  std::string data = api::to_json(rows);
  reply_ok(reply, *req, "success", data);
}

}  // namespace cairn::native
