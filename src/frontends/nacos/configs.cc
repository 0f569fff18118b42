// The config endpoints of the v1 (/nacos/v1/cs/configs) and v2 (/nacos/v2/cs/config) open
// APIs: read the raw content, publish (create or update: Nacos has one upsert), delete.

#include <ctime>

#include "common/json.h"
#include "frontends/nacos/frontend.h"
#include "frontends/native/request.h"
#include "frontends/text.h"

namespace cairn::nacos {

using api::Errc;

namespace {

constexpr std::string_view kText = "text/plain;charset=UTF-8";
constexpr std::string_view kJson = "application/json;charset=UTF-8";

/// RFC 9110's IMF-fixdate, as Java's setDateHeader writes it.
std::string http_date(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

/// A success: v1 `true` (Spring's JSON for a Boolean), v2 {code: 0, message, data: true}.
http::Response ok_true(Wire wire) {
  http::Response res;
  res.content_type = kJson;
  res.body = wire == Wire::kV1 ? "true" : R"({"code":0,"message":"success","data":true})";
  return res;
}

/// A required parameter that is absent, worded as Spring (v1) or Nacos's v2 ConfigForm words it.
Failure missing(Wire wire, std::string_view name) {
  if (wire == Wire::kV2) {
    return Failure{400, 10000,
                   "Required parameter '" + std::string(name) + "' type String is not present"};
  }
  return Failure{400, 10000,
                 "Required String parameter '" + std::string(name) + "' is not present"};
}

/// What every endpoint reads first: the parameters and the config's address.
struct Target {
  Params params;
  std::string data_id, group, tenant;
  Address at;
};

std::optional<Target> read_target(const http::Request& req, Wire wire, Failure& failure) {
  auto params = request_params(req);
  if (!params) {
    failure = Failure{400, 20002, "the form body is malformed (a bad percent escape)"};
    return std::nullopt;
  }
  Target t;
  t.params = std::move(*params);
  auto data_id = param(t.params, "dataId");
  if (!data_id) {
    failure = missing(wire, "dataId");
    return std::nullopt;
  }
  t.data_id = std::move(*data_id);
  t.group = param(t.params, "group").value_or("");
  // v2 names the tenant namespaceId (Nacos 2.2+); tenant is still read.
  auto tenant = param(t.params, "tenant");
  if (wire == Wire::kV2 && (!tenant || tenant->empty())) tenant = param(t.params, "namespaceId");
  t.tenant = tenant.value_or("");
  auto mapped = map_address(t.data_id, t.group, t.tenant);
  if (!mapped.address) {
    failure = Failure{400, 20002, mapped.error};
    return std::nullopt;
  }
  t.at = std::move(*mapped.address);
  return t;
}

}  // namespace

void Frontend::get_config(const http::RequestPtr& req, const http::Reply& reply, Wire wire) {
  Failure failure;
  auto target = read_target(*req, wire, failure);
  if (!target) return reply(failure_response(*req, wire, failure));
  // Gray (tagged) configs do not exist in Cairn: a tag names nothing.
  if (auto tag = param(target->params, "tag"); tag && !blank(*tag)) {
    return reply(
        failure_response(*req, wire, failure_of(api::make_error(Errc::kConfigNotFound, ""))));
  }
  auto value =
      core_.get_config(req->caller, core::GetConfig{target->at.ns, target->at.key, {}, {}});
  if (!value.ok()) return reply(failure_response(*req, wire, failure_of(value.error())));
  if (options_.clients) {  // docs/releases.md: Nacos clients by their address
    core::ClientIdentity client;
    client.ip = http::client_ip(*req);
    client.id = "nacos:" + client.ip;
    client.protocol = "nacos";
    options_.clients->sent(client, target->at.ns, 0, "");
  }
  std::string content = frontends::value_bytes(value->value);

  http::Response res;
  res.headers = {{"Content-MD5", md5_hex(content)},
                 {"Config-Type", "text"},
                 {"Pragma", "no-cache"},
                 {"Expires", http_date(0)},
                 {"Cache-Control", "no-cache,no-store"},
                 {"Last-Modified", http_date(value->updated_at_ms)}};
  if (wire == Wire::kV1) {
    res.content_type = kText;
    res.body = std::move(content);
  } else {
    res.content_type = kJson;
    res.body = dump_compact(Json{{"code", 0}, {"message", "success"}, {"data", content}});
  }
  reply(std::move(res));
}

void Frontend::publish_config(const http::RequestPtr& req, const http::Reply& reply, Wire wire) {
  Failure failure;
  auto target = read_target(*req, wire, failure);
  if (!target) return reply(failure_response(*req, wire, failure));
  auto content = param(target->params, "content");
  if (!content) return reply(failure_response(*req, wire, missing(wire, "content")));
  if (blank(*content)) {
    return reply(
        failure_response(*req, wire, Failure{400, 20002, "content is blank : " + *content}));
  }
  if (auto tag = param(target->params, "tag"); tag && !blank(*tag)) {
    return reply(failure_response(
        *req, wire, Failure{400, 20002, "invalid tag : " + *tag + " (Cairn has no gray configs)"}));
  }
  auto stored = frontends::stored_text(*content);
  if (!stored) {
    return reply(failure_response(*req, wire, Failure{400, 20002, "content is not valid UTF-8"}));
  }
  if (stored->size() > options_.max_value_bytes) {
    return reply(failure_response(
        *req, wire,
        Failure{400, 20002, "invalid content, over " + std::to_string(options_.max_value_bytes)}));
  }
  auto op = native::operator_of(*req);
  if (!op.ok()) return reply(failure_response(*req, wire, failure_of(op.error())));
  upsert(req, reply, wire, std::move(target->at), std::move(*stored), std::move(*op), 0);
}

void Frontend::upsert(const http::RequestPtr& req, const http::Reply& reply, Wire wire, Address at,
                      std::string stored, std::string op, int attempt) {
  // Nacos publishes with one upsert, Cairn has create and update: the index says which, and a
  // write that raced another (created or deleted meanwhile) is tried again the other way.
  int64_t current = 0;
  if (auto hidden = core_.hidden_from_clients(req->caller, at.ns, at.key, &current);
      hidden && hidden->code == Errc::kForbidden) {
    return reply(failure_response(*req, wire, failure_of(*hidden)));
  }
  api::ConfigWrite write;
  write.op = current ? api::ConfigOp::kUpdate : api::ConfigOp::kCreate;
  write.key = at.key;
  write.value = stored;
  const api::ConfigOp kind = write.op;
  api::Command command{req->request_id, op,
                       api::WriteConfigs{at.ns, {std::move(write)}, false, true},
                       http::client_ip(*req)};
  core_.submit(
      req->caller, std::move(command),
      [this, req, reply, wire, at, stored, op, attempt, kind](api::CommandResult r) mutable {
        if (r.ok()) return reply(ok_true(wire));
        const bool raced = (kind == api::ConfigOp::kCreate && r.code == Errc::kKeyExists) ||
                           (kind == api::ConfigOp::kUpdate && r.code == Errc::kConfigNotFound);
        if (raced && attempt < 3) {
          return upsert(req, reply, wire, std::move(at), std::move(stored), std::move(op),
                        attempt + 1);
        }
        reply(failure_response(*req, wire, failure_of(r.error())));
      });
}

void Frontend::delete_config(const http::RequestPtr& req, const http::Reply& reply, Wire wire) {
  Failure failure;
  auto target = read_target(*req, wire, failure);
  if (!target) return reply(failure_response(*req, wire, failure));
  auto op = native::operator_of(*req);
  if (!op.ok()) return reply(failure_response(*req, wire, failure_of(op.error())));
  api::ConfigWrite write;
  write.op = api::ConfigOp::kDelete;
  write.key = target->at.key;
  api::Command command{req->request_id, std::move(*op),
                       api::WriteConfigs{target->at.ns, {std::move(write)}, false, false},
                       http::client_ip(*req)};
  if (auto denied = core_.may_submit(req->caller, command)) {
    return reply(failure_response(*req, wire, failure_of(*denied)));
  }
  // Deleting what is not there is a success in Nacos; so is deleting a gray (tagged) config,
  // which Cairn never has.
  int64_t current = 0;
  core_.hidden_from_clients(req->caller, target->at.ns, target->at.key, &current);
  auto tag = param(target->params, "tag");
  if (current == 0 || (tag && !blank(*tag))) return reply(ok_true(wire));
  core_.submit(req->caller, std::move(command), [req, reply, wire](api::CommandResult r) {
    if (r.ok() || r.code == Errc::kConfigNotFound || r.code == Errc::kNamespaceNotFound) {
      return reply(ok_true(wire));
    }
    reply(failure_response(*req, wire, failure_of(r.error())));
  });
}

}  // namespace cairn::nacos
