// Gray releases, client acknowledgements and the client registry (docs/releases.md).

#include <algorithm>
#include <cctype>

#include "common/ids.h"
#include "common/time.h"
#include "frontends/native/request.h"
#include "frontends/native/service.h"

namespace cairn::native {

using api::Errc;
using api::make_error;

namespace {

bool id_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' ||
         c == '@' || c == '/' || c == '-';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// "k=v,k=v" → sorted pairs; 40002 naming `field` on anything out of shape.
Result<std::vector<std::pair<std::string, std::string>>, api::Error> parse_labels(
    std::string_view text, const std::string& field) {
  std::vector<std::pair<std::string, std::string>> out;
  auto bad = [&](std::string why) {
    return Unexpected{make_error(Errc::kValidation, field + ": " + why, field)};
  };
  text = trim(text);
  if (text.empty()) return out;
  while (true) {
    size_t comma = text.find(',');
    std::string_view item = trim(text.substr(0, comma));
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) return bad("\"" + std::string(item) + "\" is not name=value");
    std::string_view name = trim(item.substr(0, eq));
    std::string_view value = trim(item.substr(eq + 1));
    if (!core::label_name_ok(name)) return bad("bad label name \"" + std::string(name) + "\"");
    if (!core::label_value_ok(value)) return bad("bad value of label " + std::string(name));
    for (const auto& [n, v] : out) {
      if (n == name) return bad("label " + std::string(name) + " given twice");
    }
    out.emplace_back(std::string(name), std::string(value));
    if (out.size() > 16) return bad("more than 16 labels");
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Inserts `"release": id` into a JSON object text.
std::string with_release(std::string data, const core::ReleasePtr& release) {
  if (!release || data.size() < 2 || data.back() != '}') return data;
  data.pop_back();
  if (data.size() > 1) data += ',';
  data += "\"release\":\"" + release->row.id + "\"}";
  return data;
}

Result<bool, api::Error> bool_query(const http::Request& req, std::string_view name) {
  auto v = req.query_param(name);
  if (!v || *v == "false" || *v == "0") return false;
  if (*v == "true" || *v == "1" || v->empty()) return true;
  return Unexpected{make_error(Errc::kBadRequest, std::string(name) + " must be true or false",
                               std::string(name))};
}

api::Error no_releases() {
  return make_error(Errc::kNotFound, "gray releases are not served by this node");
}

}  // namespace

std::string gray_data(std::string data, const core::ReleasePtr& release) {
  return with_release(std::move(data), release);
}

Result<core::ClientIdentity, api::Error> Service::identity_of(const http::Request& req,
                                                              bool id_required) {
  core::ClientIdentity c;
  c.ip = http::client_ip(req);
  if (const std::string* id = req.header("x-client-id")) {
    std::string_view v = trim(*id);
    if (v.empty() || v.size() > 128 || !std::all_of(v.begin(), v.end(), id_char)) {
      return Unexpected{make_error(
          Errc::kValidation, "X-Client-ID must be 1 to 128 characters of [A-Za-z0-9._:@/-]",
          "X-Client-ID")};
    }
    c.id = std::string(v);
  } else if (id_required) {
    return Unexpected{
        make_error(Errc::kValidation, "X-Client-ID is required here", "X-Client-ID")};
  } else {
    c.id = "ip:" + c.ip;
  }
  if (const std::string* labels = req.header("x-client-labels")) {
    auto parsed = parse_labels(*labels, "X-Client-Labels");
    if (!parsed.ok()) return Unexpected{parsed.error()};
    c.labels = std::move(*parsed);
  }
  return c;
}

core::ReleasePtr Service::gray_release(const std::string& ns,
                                       const core::ClientIdentity& client) const {
  return options_.releases ? options_.releases->gray_for(ns, client) : nullptr;
}

void Service::record_sent(const core::ClientIdentity& client, const std::string& ns,
                          uint64_t revision, const core::ReleasePtr& release,
                          int watch_delta) const {
  if (!options_.clients) return;
  options_.clients->sent(client, ns, revision, release ? release->row.id : std::string(),
                         watch_delta);
}

void Service::ack(const http::RequestPtr& req, const http::Reply& reply) {
  if (!options_.clients) return reply_error(reply, *req, no_releases());
  auto client = identity_of(*req, /*id_required=*/true);
  if (!client.ok()) return reply_error(reply, *req, client.error());
  auto body = body_object(*req);
  if (!body.ok()) return reply_error(reply, *req, body.error());
  auto ns = string_field(*body, "namespace");
  if (!ns.ok()) return reply_error(reply, *req, ns.error());
  if (auto bad = check_namespace(*ns); !bad.ok()) return reply_error(reply, *req, bad.error());
  auto revision = optional_int_field(*body, "revision", 0, INT64_MAX);
  if (!revision.ok()) return reply_error(reply, *req, revision.error());
  if (!*revision) {
    return reply_error(reply, *req,
                       make_error(Errc::kBadRequest, "missing required field: revision",
                                  "revision"));
  }
  auto status = string_field(*body, "status");
  if (!status.ok()) return reply_error(reply, *req, status.error());
  if (*status != "applied" && *status != "failed") {
    return reply_error(reply, *req,
                       make_error(Errc::kValidation, "status must be applied or failed",
                                  "status"));
  }
  auto error = optional_string_field(*body, "error");
  if (!error.ok()) return reply_error(reply, *req, error.error());
  if (*error && *status != "failed") {
    return reply_error(reply, *req,
                       make_error(Errc::kValidation, "error goes only with status failed",
                                  "error"));
  }
  if (*error && (*error)->size() > 1024) {
    return reply_error(reply, *req,
                       make_error(Errc::kValidation, "error is longer than 1024 characters",
                                  "error"));
  }
  if (auto denied = core_.readable_namespace(req->caller, *ns)) {
    return reply_error(reply, *req, *denied);
  }
  core::ReleasePtr release = gray_release(*ns, *client);
  options_.clients->ack(*client, *ns, static_cast<uint64_t>(**revision), *status,
                        error->value_or(""), release ? release->row.id : std::string());
  Json data = Json::object();
  data["namespace"] = *ns;
  data["revision"] = **revision;
  data["status"] = *status;
  data["client_id"] = client->id;
  data["release_id"] = release ? Json(release->row.id) : Json(nullptr);
  reply_ok(reply, *req, "success", dump_compact(data));
}

namespace {

struct ClientQuery {
  core::ClientFilter filter;
  bool stale = false;
  std::string query;  // for the members
};

Result<ClientQuery, api::Error> client_query(const http::Request& req) {
  ClientQuery q;
  if (auto ns = req.query_param("namespace")) {
    if (auto bad = check_namespace(*ns); !bad.ok()) return Unexpected{bad.error()};
    q.filter.ns = std::string(*ns);
    q.query += "namespace=" + std::string(*ns);
  }
  if (auto label = req.query_param("label")) {
    auto parsed = parse_labels(*label, "label");
    if (!parsed.ok()) return Unexpected{parsed.error()};
    q.filter.labels = std::move(*parsed);
    std::string text;
    for (const auto& [k, v] : q.filter.labels) {
      text += (text.empty() ? "" : "%2C") + k + "%3D" + v;
    }
    if (!text.empty()) q.query += std::string(q.query.empty() ? "" : "&") + "label=" + text;
  }
  auto stale = bool_query(req, "stale");
  if (!stale.ok()) return Unexpected{stale.error()};
  q.stale = *stale;
  if (q.stale && !q.filter.ns) {
    return Unexpected{
        make_error(Errc::kValidation, "stale needs a namespace", "stale")};
  }
  return q;
}

}  // namespace

void Service::clients_local(const http::RequestPtr& req, const http::Reply& reply) {
  if (!options_.clients) return reply_error(reply, *req, no_releases());
  auto q = client_query(*req);
  if (!q.ok()) return reply_error(reply, *req, q.error());
  Json data = Json::object();
  data["clients"] = options_.clients->view(q->filter, options_.raft_id);
  data["node"] = options_.raft_id;
  reply_ok(reply, *req, "success", dump_compact(data));
}

void Service::clients(const http::RequestPtr& req, const http::Reply& reply) {
  if (!options_.clients) return reply_error(reply, *req, no_releases());
  auto q = client_query(*req);
  if (!q.ok()) return reply_error(reply, *req, q.error());
  uint64_t should = 0;
  if (q->stale) {
    auto values = core_.get_namespace(req->caller, *q->filter.ns, std::nullopt);
    if (!values.ok()) return reply_error(reply, *req, values.error());
    should = values->revision;
  }
  Json local = options_.clients->view(q->filter, options_.raft_id);
  auto finish = [req, reply, q = *q, should](std::vector<Json> views, Json unreachable) {
    Json merged = core::merge_client_views(views);
    Json list = Json::array();
    for (auto& c : merged) {
      if (q.stale) {
        bool is_stale = false;
        for (const Json& n : c.value("namespaces", Json::array())) {
          if (n.value("namespace", "") == *q.filter.ns &&
              n.value("acked_revision", uint64_t{0}) < should) {
            is_stale = true;
          }
        }
        if (!is_stale) continue;
      }
      list.push_back(std::move(c));
    }
    Json data = Json::object();
    data["total"] = list.size();
    data["clients"] = std::move(list);
    data["unreachable"] = unreachable.is_array() ? unreachable : Json::array();
    reply_ok(reply, *req, "success", dump_compact(data));
  };
  if (!options_.member_clients) return finish({std::move(local)}, Json::array());
  options_.member_clients(
      *req, q->query,
      [finish, local = std::move(local)](std::vector<Json> views, Json unreachable) mutable {
        views.push_back(std::move(local));
        finish(std::move(views), std::move(unreachable));
      });
}

void Service::start_release(const http::RequestPtr& req, const http::Reply& reply) {
  if (!options_.releases || !options_.store) return reply_error(reply, *req, no_releases());
  auto body = body_object(*req);
  if (!body.ok()) return reply_error(reply, *req, body.error());
  auto ns = string_field(*body, "namespace");
  if (!ns.ok()) return reply_error(reply, *req, ns.error());
  if (auto bad = check_namespace(*ns); !bad.ok()) return reply_error(reply, *req, bad.error());
  for (auto it = body->begin(); it != body->end(); ++it) {
    static const char* kKnown[] = {"namespace", "changes", "target", "plan", "description"};
    if (std::none_of(std::begin(kKnown), std::end(kKnown),
                     [&](const char* k) { return it.key() == k; })) {
      return reply_error(reply, *req,
                         make_error(Errc::kValidation, "unknown field " + it.key(), it.key()));
    }
  }
  auto changes_it = body->find("changes");
  if (changes_it == body->end() || !changes_it->is_object()) {
    return reply_error(reply, *req,
                       make_error(Errc::kBadRequest, "changes must be an object of key: value",
                                  "changes"));
  }
  if (changes_it->empty() || changes_it->size() > api::kMaxBatchOperations) {
    return reply_error(reply, *req,
                       make_error(Errc::kValidation, "changes must hold 1 to 1000 keys",
                                  "changes"));
  }
  api::StartRelease cmd;
  cmd.ns = *ns;
  for (auto it = changes_it->begin(); it != changes_it->end(); ++it) {
    const std::string field = "changes." + it.key();
    if (auto bad = check_key(it.key(), field.c_str()); !bad.ok()) {
      return reply_error(reply, *req, bad.error());
    }
    api::ReleaseChange c{it.key(), std::nullopt};
    if (!it->is_null()) {
      c.value = dump_compact(*it);
      if (c.value->size() > options_.max_value_bytes) {
        return reply_error(reply, *req,
                           make_error(Errc::kPayloadTooLarge, field + " is too large", field));
      }
    }
    cmd.changes.push_back(std::move(c));
  }
  std::sort(cmd.changes.begin(), cmd.changes.end(),
            [](const auto& a, const auto& b) { return a.key < b.key; });
  Json target = Json::object();
  if (auto t = body->find("target"); t != body->end() && !t->is_null()) target = *t;
  const Json* plan = nullptr;
  if (auto p = body->find("plan"); p != body->end()) plan = &*p;
  auto spec = core::parse_release_spec(target, plan);
  if (!spec.ok()) return reply_error(reply, *req, spec.error());
  cmd.spec = dump_compact(spec->canonical());
  auto description = optional_string_field(*body, "description");
  if (!description.ok()) return reply_error(reply, *req, description.error());
  cmd.description = description->value_or("");
  if (cmd.description.size() > 1024) {
    return reply_error(reply, *req,
                       make_error(Errc::kValidation, "description is longer than 1024 characters",
                                  "description"));
  }
  cmd.id = "r-" + random_hex(8);
  auto operator_name = operator_of(*req);
  if (!operator_name.ok()) return reply_error(reply, *req, operator_name.error());
  api::Command command{req->request_id, std::move(*operator_name), std::move(cmd),
                       http::client_ip(*req)};
  core_.submit(req->caller, std::move(command), [this, req, reply](api::CommandResult result) {
    if (!result.ok()) return reply_result(reply, *req, result);
    const auto* changed = result.as<api::ReleaseChanged>();
    auto rows = options_.store->releases();
    if (!changed || !rows.ok()) return reply_result(reply, *req, result);
    for (const auto& row : *rows) {
      if (row.id == changed->id) {
        return answer_releases(req, reply, {core::make_release(row)}, true);
      }
    }
    reply_result(reply, *req, result);
  });
}

void Service::list_releases(const http::RequestPtr& req, const http::Reply& reply) {
  if (!options_.releases || !options_.store) return reply_error(reply, *req, no_releases());
  std::optional<std::string> ns, state;
  if (auto v = req->query_param("namespace")) {
    if (auto bad = check_namespace(*v); !bad.ok()) return reply_error(reply, *req, bad.error());
    ns = std::string(*v);
  }
  if (auto v = req->query_param("state")) {
    static const char* kStates[] = {"active", "paused", "halted", "promoted", "aborted"};
    if (std::none_of(std::begin(kStates), std::end(kStates),
                     [&](const char* s) { return *v == s; })) {
      return reply_error(reply, *req,
                         make_error(Errc::kValidation,
                                    "state must be active, paused, halted, promoted or aborted",
                                    "state"));
    }
    state = std::string(*v);
  }
  if (ns) {
    if (auto denied = req->caller.check(*ns, api::Permission::kRead)) {
      return reply_error(reply, *req, *denied);
    }
  }
  auto rows = options_.store->releases();
  if (!rows.ok()) return reply_error(reply, *req, rows.error());
  std::vector<core::ReleasePtr> out;
  for (auto it = rows->rbegin(); it != rows->rend(); ++it) {  // newest first
    if (ns && it->ns != *ns) continue;
    if (state && it->state != *state) continue;
    if (!req->caller.allows(it->ns, api::Permission::kRead)) continue;
    out.push_back(core::make_release(*it));
  }
  answer_releases(req, reply, std::move(out), false);
}

void Service::get_release(const http::RequestPtr& req, const http::Reply& reply) {
  if (!options_.releases || !options_.store) return reply_error(reply, *req, no_releases());
  std::string id(req->path_param("release").value_or(""));
  auto rows = options_.store->releases();
  if (!rows.ok()) return reply_error(reply, *req, rows.error());
  for (const auto& row : *rows) {
    if (row.id != id) continue;
    if (auto denied = req->caller.check(row.ns, api::Permission::kRead)) {
      return reply_error(reply, *req, *denied);
    }
    return answer_releases(req, reply, {core::make_release(row)}, true);
  }
  reply_error(reply, *req,
              make_error(Errc::kNotFound, "release '" + id + "' does not exist", "id"));
}

void Service::release_action(const http::RequestPtr& req, const http::Reply& reply) {
  if (!options_.releases || !options_.store) return reply_error(reply, *req, no_releases());
  std::string id(req->path_param("release").value_or(""));
  std::string action(req->path_param("action").value_or(""));
  if (action != "promote" && action != "abort" && action != "pause" && action != "resume") {
    return reply_error(reply, *req,
                       make_error(Errc::kNotFound,
                                  "unknown release action '" + action +
                                      "' (promote, abort, pause, resume)",
                                  "action"));
  }
  std::string reason;
  if (!req->body.empty()) {
    auto body = body_object(*req);
    if (!body.ok()) return reply_error(reply, *req, body.error());
    auto r = optional_string_field(*body, "reason");
    if (!r.ok()) return reply_error(reply, *req, r.error());
    reason = r->value_or("");
    if (reason.size() > 1024) {
      return reply_error(reply, *req,
                         make_error(Errc::kValidation, "reason is longer than 1024 characters",
                                    "reason"));
    }
  }
  auto rows = options_.store->releases();
  if (!rows.ok()) return reply_error(reply, *req, rows.error());
  std::optional<store::ReleaseRow> found;
  for (const auto& row : *rows) {
    if (row.id == id) found = row;
  }
  if (!found) {
    return reply_error(reply, *req,
                       make_error(Errc::kNotFound, "release '" + id + "' does not exist", "id"));
  }
  auto operator_name = operator_of(*req);
  if (!operator_name.ok()) return reply_error(reply, *req, operator_name.error());
  api::TransitionRelease cmd{id, found->ns, action, 0, reason, false};
  api::Command command{req->request_id, std::move(*operator_name), std::move(cmd),
                       http::client_ip(*req)};
  core_.submit(req->caller, std::move(command), [this, req, reply, id](api::CommandResult result) {
    if (!result.ok()) return reply_result(reply, *req, result);
    auto rows = options_.store->releases();
    if (!rows.ok()) return reply_result(reply, *req, result);
    for (const auto& row : *rows) {
      if (row.id == id) return answer_releases(req, reply, {core::make_release(row)}, true);
    }
    reply_result(reply, *req, result);
  });
}

void Service::answer_releases(const http::RequestPtr& req, const http::Reply& reply,
                              std::vector<core::ReleasePtr> releases, bool one) {
  std::optional<std::string> ns;
  if (!releases.empty() &&
      std::all_of(releases.begin(), releases.end(),
                  [&](const core::ReleasePtr& r) { return r->row.ns == releases[0]->row.ns; })) {
    ns = releases[0]->row.ns;
  }
  core::ClientFilter filter;
  filter.ns = ns;
  Json local = options_.clients ? options_.clients->view(filter, options_.raft_id)
                                : Json::array();
  auto finish = [req, reply, releases = std::move(releases), one](std::vector<Json> views,
                                                                  Json unreachable) {
    Json merged = core::merge_client_views(views);
    Json list = Json::array();
    for (const auto& r : releases) {
      Json j = core::release_json(*r);
      j["progress"] = core::release_progress(*r, merged).to_json();
      if (unreachable.is_array() && !unreachable.empty()) j["unreachable"] = unreachable;
      list.push_back(std::move(j));
    }
    if (one) {
      if (list.empty()) {
        return reply_error(reply, *req, make_error(Errc::kNotFound, "release does not exist"));
      }
      return reply_ok(reply, *req, "success", dump_compact(list[0]));
    }
    Json data = Json::object();
    data["total"] = list.size();
    data["releases"] = std::move(list);
    reply_ok(reply, *req, "success", dump_compact(data));
  };
  if (!options_.member_clients) return finish({std::move(local)}, Json::array());
  std::string query = ns ? "namespace=" + *ns : std::string();
  options_.member_clients(
      *req, query,
      [finish, local = std::move(local)](std::vector<Json> views, Json unreachable) mutable {
        views.push_back(std::move(local));
        finish(std::move(views), std::move(unreachable));
      });
}

}  // namespace cairn::native
