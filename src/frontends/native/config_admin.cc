// Admin config endpoints (seed §3.8.4) and the atomic batch. Writes are shaped into a Command
// and proposed; every state-dependent check happens when the state machine applies it.

#include "common/time.h"
#include "frontends/native/request.h"
#include "frontends/native/service.h"

namespace cairn::native {

using api::Errc;
using api::make_error;

namespace {

constexpr int64_t kMaxVersion = INT64_MAX;

/// Reads one create/update/delete from `body`, parsed from `raw` (the text the value is taken
/// from, so that its numbers keep their digits); `prefix` ("operations[2]") is put in front of
/// field names in errors, empty for the single-operation endpoints.
Result<api::ConfigWrite, api::Error> read_write(const Json& body, std::string_view raw,
                                                api::ConfigOp op, size_t max_value_bytes,
                                                const std::string& prefix) {
  auto fail = [&prefix](api::Error e) {
    if (!prefix.empty()) {
      e.field = e.field.empty() ? prefix : prefix + "." + e.field;
      e.details = prefix + ": " + e.details;
    }
    return Unexpected{std::move(e)};
  };
  api::ConfigWrite w;
  w.op = op;
  auto key = string_field(body, "key");
  if (!key.ok()) return fail(key.error());
  if (auto bad = check_key(*key); !bad.ok()) return fail(bad.error());
  w.key = std::move(*key);

  if (op != api::ConfigOp::kDelete) {
    auto value = body.find("value");
    if (value != body.end()) {
      // The member's own text (issue 15 item 10); the parsed body only says it is there.
      auto raw_value = raw_value_member(raw);
      if (!raw_value) {
        return fail(make_error(Errc::kInternal, "value not found in the request body", "value"));
      }
      auto text = value_text(*raw_value, max_value_bytes, "value");
      if (!text.ok()) return fail(text.error());
      w.value = std::move(*text);
    } else if (op == api::ConfigOp::kCreate) {
      return fail(make_error(Errc::kBadRequest, "value is required", "value"));
    }
    auto description = optional_string_field(body, "description");
    if (!description.ok()) return fail(description.error());
    if (*description) {
      if (auto bad = api::check_description(**description)) {
        return fail(make_error(Errc::kValidation, *bad, "description"));
      }
      w.description = std::move(*description);
    }
    auto status = optional_int_field(body, "status", 0, 1);
    if (!status.ok()) return fail(status.error());
    if (*status) w.status = static_cast<int>(**status);
    // docs/secrets.md: `"secret": true` makes the key secret (never false on a secret key).
    if (auto secret = body.find("secret"); secret != body.end()) {
      if (!secret->is_boolean()) {
        return fail(make_error(Errc::kBadRequest, "secret must be true or false", "secret"));
      }
      w.secret = secret->get<bool>();
    }
    if (op == api::ConfigOp::kUpdate && !w.value && !w.description && !w.status) {
      return fail(make_error(Errc::kBadRequest,
                             "one of value, description or status is required", "value"));
    }
  }
  auto expected = optional_int_field(body, "expected_version", 1, kMaxVersion);
  if (!expected.ok()) return fail(expected.error());
  w.expected_version = *expected;
  return w;
}

Result<std::string, api::Error> namespace_field(const Json& body) {
  auto ns = string_field(body, "namespace");
  if (!ns.ok()) return ns;
  if (auto bad = check_namespace(*ns); !bad.ok()) return Unexpected{bad.error()};
  return ns;
}

/// expected_version combined with the request's If-Match header (docs/versions.md).
Result<std::optional<int64_t>, api::Error> with_if_match(const http::Request& req,
                                                         std::optional<int64_t> expected) {
  auto if_match = if_match_version(req);
  if (!if_match.ok()) return Unexpected{if_match.error()};
  return merge_expected(expected, *if_match);
}

std::string optional_json(const std::optional<std::string>& text) {
  return text ? *text : std::string("null");
}

/// `force` of a write body (docs/releases.md): writes keys of an unfinished gray release.
Result<bool, api::Error> force_field(const Json& body) {
  auto it = body.find("force");
  if (it == body.end() || it->is_null()) return false;
  if (!it->is_boolean()) {
    return Unexpected{make_error(Errc::kBadRequest, "force must be true or false", "force")};
  }
  return it->get<bool>();
}

/// `force` from a body, or (DELETE with parameters) the query.
Result<bool, api::Error> force_of(const http::Request& req, const Json& params) {
  if (auto q = req.query_param("force")) {
    if (*q == "true" || *q == "1") return true;
    if (*q == "false" || *q == "0") return false;
    return Unexpected{make_error(Errc::kBadRequest, "force must be true or false", "force")};
  }
  return force_field(params);
}

}  // namespace

void Service::create_config(const http::RequestPtr& req, const http::Reply& reply) {
  auto body = body_object(*req);
  if (!body.ok()) return reply_error(reply, *req, body.error());
  auto ns = namespace_field(*body);
  if (!ns.ok()) return reply_error(reply, *req, ns.error());
  auto write = read_write(*body, req->body, api::ConfigOp::kCreate, options_.max_value_bytes, "");
  if (!write.ok()) return reply_error(reply, *req, write.error());
  auto force = force_of(*req, *body);
  if (!force.ok()) return reply_error(reply, *req, force.error());
  api::WriteConfigs cmd{*ns, {std::move(*write)}, false};
  cmd.force = *force;
  propose(req, reply, std::move(cmd));
}

void Service::update_config(const http::RequestPtr& req, const http::Reply& reply) {
  auto body = body_object(*req);
  if (!body.ok()) return reply_error(reply, *req, body.error());
  auto ns = namespace_field(*body);
  if (!ns.ok()) return reply_error(reply, *req, ns.error());
  auto write = read_write(*body, req->body, api::ConfigOp::kUpdate, options_.max_value_bytes, "");
  if (!write.ok()) return reply_error(reply, *req, write.error());
  auto expected = with_if_match(*req, write->expected_version);
  if (!expected.ok()) return reply_error(reply, *req, expected.error());
  write->expected_version = *expected;
  auto force = force_of(*req, *body);
  if (!force.ok()) return reply_error(reply, *req, force.error());
  api::WriteConfigs cmd{*ns, {std::move(*write)}, false};
  cmd.force = *force;
  propose(req, reply, std::move(cmd), true);
}

void Service::delete_config(const http::RequestPtr& req, const http::Reply& reply) {
  // The seed passes namespace and key as parameters; a JSON body is accepted too.
  Json params = Json::object();
  if (req->query_param("namespace") || req->query_param("key") || req->body.empty()) {
    for (const char* name : {"namespace", "key"}) {
      if (auto v = req->query_param(name)) params[name] = std::string(*v);
    }
    auto expected = int_param(*req, "expected_version", 1, kMaxVersion);
    if (!expected.ok()) return reply_error(reply, *req, expected.error());
    if (*expected) params["expected_version"] = **expected;
  } else {
    auto body = body_object(*req);
    if (!body.ok()) return reply_error(reply, *req, body.error());
    params = std::move(*body);
  }
  auto ns = namespace_field(params);
  if (!ns.ok()) return reply_error(reply, *req, ns.error());
  auto write = read_write(params, "", api::ConfigOp::kDelete, options_.max_value_bytes, "");
  if (!write.ok()) return reply_error(reply, *req, write.error());
  auto expected = with_if_match(*req, write->expected_version);
  if (!expected.ok()) return reply_error(reply, *req, expected.error());
  write->expected_version = *expected;
  auto force = force_of(*req, params);
  if (!force.ok()) return reply_error(reply, *req, force.error());
  api::WriteConfigs cmd{*ns, {std::move(*write)}, false};
  cmd.force = *force;
  propose(req, reply, std::move(cmd));
}

void Service::batch_write(const http::RequestPtr& req, const http::Reply& reply) {
  auto body = body_object(*req);
  if (!body.ok()) return reply_error(reply, *req, body.error());
  auto ns = namespace_field(*body);
  if (!ns.ok()) return reply_error(reply, *req, ns.error());
  auto ops = body->find("operations");
  if (ops == body->end() || !ops->is_array()) {
    return reply_error(reply, *req, make_error(Errc::kBadRequest,
                                               "operations must be an array", "operations"));
  }
  if (ops->empty() || ops->size() > api::kMaxBatchOperations) {
    return reply_error(reply, *req, make_error(Errc::kValidation,
                                               "operations must hold 1 to 1000 operations",
                                               "operations"));
  }
  // Each operation's own text, for its value (issue 15 item 10).
  auto ops_text = json_member_text(req->body, "operations");
  auto raw_ops = ops_text ? json_element_texts(*ops_text) : std::nullopt;
  if (!raw_ops || raw_ops->size() != ops->size()) {
    return reply_error(
        reply, *req,
        make_error(Errc::kInternal, "operations not found in the request body", "operations"));
  }
  api::WriteConfigs batch{*ns, {}, true};
  auto force = force_of(*req, *body);
  if (!force.ok()) return reply_error(reply, *req, force.error());
  batch.force = *force;
  for (size_t i = 0; i < ops->size(); ++i) {
    std::string prefix = "operations[" + std::to_string(i) + "]";
    const Json& op = (*ops)[i];
    if (!op.is_object()) {
      return reply_error(reply, *req, make_error(Errc::kBadRequest,
                                                 prefix + ": must be an object", prefix));
    }
    auto name = string_field(op, "op");
    if (!name.ok()) {
      return reply_error(reply, *req, make_error(Errc::kBadRequest,
                                                 prefix + ": op is required", prefix + ".op"));
    }
    api::ConfigOp kind;
    if (*name == "create") {
      kind = api::ConfigOp::kCreate;
    } else if (*name == "update") {
      kind = api::ConfigOp::kUpdate;
    } else if (*name == "delete") {
      kind = api::ConfigOp::kDelete;
    } else {
      return reply_error(reply, *req,
                         make_error(Errc::kValidation,
                                    prefix + ": op must be create, update or delete",
                                    prefix + ".op"));
    }
    auto write = read_write(op, (*raw_ops)[i], kind, options_.max_value_bytes, prefix);
    if (!write.ok()) return reply_error(reply, *req, write.error());
    batch.ops.push_back(std::move(*write));
  }
  propose(req, reply, std::move(batch));
}

void Service::rollback_config(const http::RequestPtr& req, const http::Reply& reply) {
  auto body = body_object(*req);
  if (!body.ok()) return reply_error(reply, *req, body.error());
  auto ns = namespace_field(*body);
  if (!ns.ok()) return reply_error(reply, *req, ns.error());
  auto key = string_field(*body, "key");
  if (!key.ok()) return reply_error(reply, *req, key.error());
  if (auto bad = check_key(*key); !bad.ok()) return reply_error(reply, *req, bad.error());
  auto target = optional_int_field(*body, "target_version", 1, kMaxVersion);
  if (!target.ok()) return reply_error(reply, *req, target.error());
  if (!*target) {
    return reply_error(reply, *req, make_error(Errc::kBadRequest, "target_version is required",
                                               "target_version"));
  }
  auto body_expected = optional_int_field(*body, "expected_version", 1, kMaxVersion);
  if (!body_expected.ok()) return reply_error(reply, *req, body_expected.error());
  auto expected = with_if_match(*req, *body_expected);
  if (!expected.ok()) return reply_error(reply, *req, expected.error());
  auto force = force_of(*req, *body);
  if (!force.ok()) return reply_error(reply, *req, force.error());
  api::RollbackConfig cmd{*ns, *key, **target, *expected};
  cmd.force = *force;
  propose(req, reply, std::move(cmd), true);
}

void Service::list_configs(const http::RequestPtr& req, const http::Reply& reply) {
  store::ConfigFilter filter;
  if (auto ns = req->query_param("namespace"); ns && !ns->empty()) {
    if (auto bad = check_namespace(*ns); !bad.ok()) return reply_error(reply, *req, bad.error());
    filter.ns = std::string(*ns);
  }
  if (auto key = req->query_param("key")) {
    if (key->size() > api::kMaxKeyLength) {
      return reply_error(reply, *req, make_error(Errc::kValidation,
                                                 "key must be at most 256 characters", "key"));
    }
    filter.key_contains = std::string(*key);
  }
  auto paging = paging_params(*req);
  if (!paging.ok()) return reply_error(reply, *req, paging.error());
  auto page = core_.list_configs(req->caller, std::move(filter), {paging->page, paging->page_size});
  if (!page.ok()) return reply_error(reply, *req, page.error());
  api::Paged<api::ConfigRow> rows;
  rows.list.reserve(page->items.size());
  for (auto& c : page->items) {
    rows.list.push_back(api::ConfigRow{c.id, std::move(c.ns), std::move(c.key), std::move(c.value),
                                       c.version, std::move(c.description), c.status,
                                       std::move(c.created_by), std::move(c.updated_by),
                                       format_utc(c.created_at_ms), format_utc(c.updated_at_ms),
                                       c.secret, c.schema_violation});
  }
  rows.pagination = pagination_of(*paging, page->total);
  std::string data = api::to_json(rows);
  reply_ok(reply, *req, "success", data);
}

void Service::config_history(const http::RequestPtr& req, const http::Reply& reply) {
  auto ns = required_param(*req, "namespace");
  if (!ns.ok()) return reply_error(reply, *req, ns.error());
  auto key = required_param(*req, "key");
  if (!key.ok()) return reply_error(reply, *req, key.error());
  if (auto bad = check_namespace(*ns); !bad.ok()) return reply_error(reply, *req, bad.error());
  if (auto bad = check_key(*key); !bad.ok()) return reply_error(reply, *req, bad.error());
  auto paging = paging_params(*req);
  if (!paging.ok()) return reply_error(reply, *req, paging.error());
  auto page = core_.history(req->caller, *ns, *key, {paging->page, paging->page_size});
  if (!page.ok()) return reply_error(reply, *req, page.error());
  api::Paged<api::HistoryRow> rows;
  rows.list.reserve(page->items.size());
  for (auto& h : page->items) {
    rows.list.push_back(api::HistoryRow{
        h.id, std::move(h.ns), std::move(h.key), optional_json(h.old_value),
        h.new_value.empty() ? std::string("null") : std::move(h.new_value), h.version,
        std::move(h.operation), std::move(h.operator_name), static_cast<int64_t>(h.revision),
        format_utc(h.created_at_ms), h.secret, std::move(h.release_id)});
  }
  rows.pagination = pagination_of(*paging, page->total);
  std::string data = api::to_json(rows);
  reply_ok(reply, *req, "success", data);
}

}  // namespace cairn::native
