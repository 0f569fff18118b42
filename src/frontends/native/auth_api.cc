#include "frontends/native/auth_api.h"

#include "api/validate.h"
#include "auth/secret.h"
#include "common/json.h"
#include "common/time.h"
#include "routes/table.h"
#include "frontends/native/request.h"

namespace cairn::native {
namespace {

using api::Errc;
using api::make_error;
using auth::generate_secret;
using auth::parse_permission;
using auth::valid_pattern;
using auth::generate_token_id;
using auth::hash_secret;

constexpr size_t kMaxGrants = 100;
constexpr int64_t kMaxTtlMs = int64_t{10} * 366 * 24 * 3600 * 1000;  // ten years

Json grants_json(const std::vector<api::Grant>& grants) {
  Json out = Json::array();
  for (const auto& g : grants) {
    Json j = {{"permission", g.permission}};
    if (g.permission != "cluster-admin") j["namespace"] = g.ns_pattern;
    out.push_back(std::move(j));
  }
  return out;
}

Json time_or_null(int64_t ms) { return ms ? Json(format_utc(ms)) : Json(); }

/// A token name: 1–64 of [A-Za-z0-9._@-]; "root" is the bootstrap token's.
std::optional<std::string> check_token_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return "name must be 1 to 64 characters";
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '@' || c == '-';
    if (!ok) return "name may hold only letters, digits and . _ @ -";
  }
  if (name == "root") return "the name root belongs to the bootstrap token";
  return std::nullopt;
}

Result<std::vector<api::Grant>, api::Error> parse_grants(const Json& body) {
  auto bad = [](std::string why, Errc code = Errc::kValidation) {
    return Unexpected{make_error(code, std::move(why), "grants")};
  };
  auto it = body.find("grants");
  if (it == body.end() || !it->is_array()) return bad("grants must be an array", Errc::kBadRequest);
  if (it->empty() || it->size() > kMaxGrants) return bad("grants must hold 1 to 100 grants");
  std::vector<api::Grant> out;
  for (const auto& g : *it) {
    if (!g.is_object()) return bad("each grant must be an object", Errc::kBadRequest);
    auto perm = g.find("permission");
    if (perm == g.end() || !perm->is_string() || !parse_permission(perm->get<std::string>())) {
      return bad("permission must be read, write, admin or cluster-admin");
    }
    api::Grant grant{"", perm->get<std::string>()};
    auto ns = g.find("namespace");
    if (grant.permission != "cluster-admin") {
      if (ns == g.end() || !ns->is_string() || !valid_pattern(ns->get<std::string>())) {
        return bad("namespace must be a namespace name, a prefix ending in *, or *");
      }
      grant.ns_pattern = ns->get<std::string>();
    } else if (ns != g.end()) {
      return bad("a cluster-admin grant names no namespace");
    }
    out.push_back(std::move(grant));
  }
  return out;
}

/// "2024-01-20T10:00:00Z" or Unix milliseconds → milliseconds; nullopt when malformed.
std::optional<int64_t> parse_time(std::string_view text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos &&
      text.size() < 16) {
    return std::stoll(std::string(text));
  }
  int y, mo, d, h, mi, s;
  char z = 0;
  if (std::sscanf(std::string(text).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s,
                  &z) != 7 ||
      z != 'Z') {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1970) {
    return std::nullopt;
  }
  // Days from the civil date (Howard Hinnant's algorithm).
  y -= mo <= 2;
  int64_t era = y / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + doe - 719468;
  return ((days * 24 + h) * 60 + mi) * 60000 + int64_t{s} * 1000;
}

}  // namespace

void AuthApi::register_routes(http::Router& router) {
  auto bind = [this](void (AuthApi::*fn)(const http::RequestPtr&, const http::Reply&)) {
    return [this, fn](http::RequestPtr req, http::Reply reply) { (this->*fn)(req, reply); };
  };
  router.add(routes::kAuditList, bind(&AuthApi::list_audit));
  if (!auth_) return;
  router.add(routes::kTokenCreate, bind(&AuthApi::create_token));
  router.add(routes::kTokenList, bind(&AuthApi::list_tokens));
  router.add(routes::kTokenRevoke, bind(&AuthApi::revoke_token));
  router.add(routes::kWhoami, bind(&AuthApi::whoami));
  router.add(routes::kAuditAppend, bind(&AuthApi::append_audit));
}

void AuthApi::create_token(const http::RequestPtr& req, const http::Reply& reply) {
  auto body = body_object(*req);
  if (!body.ok()) return reply_error(reply, *req, body.error());
  auto name = string_field(*body, "name");
  if (!name.ok()) return reply_error(reply, *req, name.error());
  if (auto bad = check_token_name(*name)) {
    return reply_error(reply, *req, make_error(Errc::kValidation, *bad, "name"));
  }
  auto grants = parse_grants(*body);
  if (!grants.ok()) return reply_error(reply, *req, grants.error());
  int64_t expires_at_ms = 0;
  auto ttl = optional_string_field(*body, "ttl");
  if (!ttl.ok()) return reply_error(reply, *req, ttl.error());
  if (*ttl) {
    int64_t ms = parse_duration_ms(**ttl);
    if (ms <= 0 || ms > kMaxTtlMs) {
      return reply_error(reply, *req,
                         make_error(Errc::kValidation,
                                    "ttl must be a duration such as 720h, up to ten years", "ttl"));
    }
    expires_at_ms = wall_clock_ms() + ms;
  }
  std::string secret = generate_secret();
  Json shown_grants = grants_json(*grants);
  api::CreateToken command{generate_token_id(), *name, hash_secret(secret), std::move(*grants),
                           expires_at_ms};
  std::string operator_name = req->caller.name.empty() ? "anonymous" : req->caller.name;
  core_.submit(
      req->caller,
      api::Command{req->request_id, operator_name, std::move(command), client_ip(*req)},
      [req, reply, secret, shown_grants](api::CommandResult result) {
        if (!result.ok() || !result.as<api::TokenCreated>()) {
          return reply_result(reply, *req, result);
        }
        Json data = api::outcome_json(result.outcome);
        data["token"] = secret;  // the only time it is ever shown
        data["grants"] = shown_grants;
        reply_ok(reply, *req, api::outcome_message(result.outcome), dump_compact(data));
      });
}

void AuthApi::list_tokens(const http::RequestPtr& req, const http::Reply& reply) {
  auto tokens = core_.tokens(req->caller);
  if (!tokens.ok()) return reply_error(reply, *req, tokens.error());
  int64_t now = wall_clock_ms();
  Json list = Json::array();
  for (const auto& t : *tokens) {
    const char* status = t.revoked_at_ms                             ? "revoked"
                         : t.expires_at_ms && now >= t.expires_at_ms ? "expired"
                                                                     : "active";
    list.push_back(Json{{"id", t.id},
                        {"name", t.name},
                        {"grants", grants_json(t.grants)},
                        {"status", status},
                        {"created_by", t.created_by},
                        {"created_at", format_utc(t.created_at_ms)},
                        {"expires_at", time_or_null(t.expires_at_ms)},
                        {"revoked_at", time_or_null(t.revoked_at_ms)}});
  }
  Json data = {{"total", list.size()}, {"list", std::move(list)}};
  reply_ok(reply, *req, "success", dump_compact(data));
}

void AuthApi::revoke_token(const http::RequestPtr& req, const http::Reply& reply) {
  std::string id(req->path_param("id").value_or(""));
  std::string operator_name = req->caller.name.empty() ? "anonymous" : req->caller.name;
  core_.submit(
      req->caller,
      api::Command{req->request_id, operator_name, api::RevokeToken{id}, client_ip(*req)},
      [req, reply](api::CommandResult result) { reply_result(reply, *req, result); });
}

void AuthApi::whoami(const http::RequestPtr& req, const http::Reply& reply) {
  auto id = auth_->authenticate(*req);
  if (!id.ok()) return reply_error(reply, *req, id.error());
  Json data = {{"name", id->name},
               {"token_id", id->token_id},
               {"grants", grants_json(id->grants)},
               {"cluster_admin", id->cluster_admin()},
               {"expires_at", time_or_null(id->expires_at_ms)}};
  reply_ok(reply, *req, "success", dump_compact(data));
}

void AuthApi::list_audit(const http::RequestPtr& req, const http::Reply& reply) {
  auto paging = paging_params(*req);
  if (!paging.ok()) return reply_error(reply, *req, paging.error());
  store::AuditFilter filter;
  if (auto v = req->query_param("actor")) filter.actor = std::string(*v);
  if (auto v = req->query_param("namespace")) filter.ns = std::string(*v);
  if (auto v = req->query_param("action")) filter.action = std::string(*v);
  for (auto [name, out] : {std::pair{"from", &filter.from_ms}, std::pair{"to", &filter.to_ms}}) {
    if (auto v = req->query_param(name)) {
      auto t = parse_time(*v);
      if (!t) {
        return reply_error(reply, *req,
                           make_error(Errc::kValidation,
                                      std::string(name) +
                                          " must be RFC 3339 UTC (2024-01-20T10:00:00Z) or Unix ms",
                                      name));
      }
      *out = *t;
    }
  }
  auto page = core_.audit(req->caller, filter, {paging->page, paging->page_size});
  if (!page.ok()) return reply_error(reply, *req, page.error());
  Json list = Json::array();
  for (const auto& row : page->items) {
    const api::AuditEntry& e = row.entry;
    list.push_back(Json{{"id", row.id},
                        {"time", format_utc(e.at_ms)},
                        {"actor", e.actor},
                        {"client_ip", e.client_ip},
                        {"action", e.action},
                        {"namespace", e.ns},
                        {"key", e.key},
                        {"result", e.code == 0 ? "success" : "denied_or_failed"},
                        {"code", e.code},
                        {"request_id", e.request_id}});
  }
  std::string data = R"({"list":)" + dump_compact(list) + R"(,"pagination":)" +
                     api::to_json(pagination_of(*paging, page->total)) + "}";
  reply_ok(reply, *req, "success", data);
}

void AuthApi::append_audit(const http::RequestPtr& req, const http::Reply& reply) {
  auto body = body_object(*req);
  if (!body.ok()) return reply_error(reply, *req, body.error());
  auto entries = body->find("entries");
  if (entries == body->end() || !entries->is_array() || entries->size() > 1000) {
    return reply_error(
        reply, *req,
        make_error(Errc::kBadRequest, "entries must be an array of at most 1000", "entries"));
  }
  api::AppendAudit batch;
  for (const auto& e : *entries) {
    if (!e.is_object()) {
      return reply_error(reply, *req, make_error(Errc::kBadRequest, "bad entry", "entries"));
    }
    api::AuditEntry entry;
    try {
      entry = api::AuditEntry{
          e.at("at_ms").get<int64_t>(),         e.at("actor").get<std::string>(),
          e.at("client_ip").get<std::string>(), e.at("action").get<std::string>(),
          e.at("namespace").get<std::string>(), e.at("key").get<std::string>(),
          e.at("code").get<int64_t>(),          e.at("request_id").get<std::string>()};
    } catch (const std::exception&) {
      return reply_error(reply, *req, make_error(Errc::kBadRequest, "bad entry", "entries"));
    }
    batch.entries.push_back(std::move(entry));
  }
  core_.submit(
      req->caller,
      api::Command{req->request_id, req->caller.name, std::move(batch), client_ip(*req)},
      [req, reply](api::CommandResult result) { reply_result(reply, *req, result); });
}

std::string audit_body(const api::AppendAudit& batch) {
  Json entries = Json::array();
  for (const auto& e : batch.entries) {
    entries.push_back(Json{{"at_ms", e.at_ms},
                           {"actor", e.actor},
                           {"client_ip", e.client_ip},
                           {"action", e.action},
                           {"namespace", e.ns},
                           {"key", e.key},
                           {"code", e.code},
                           {"request_id", e.request_id}});
  }
  return dump_compact(Json{{"entries", std::move(entries)}});
}

}  // namespace cairn::native
