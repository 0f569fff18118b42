#include "auth/authenticator.h"

#include <algorithm>
#include <cctype>

#include "api/envelope.h"
#include "auth/policy.h"
#include "auth/secret.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/time.h"
#include "http/router.h"
#include "routes/route.h"

namespace cairn::auth {
namespace {

using api::Errc;
using api::make_error;

/// Every namespace a request names, where the handlers look for one: the `namespace` query
/// parameter, the `{namespace}` or `{id}` path segment, and the policy's body member.
std::vector<std::string> named_namespaces(
    const http::Request& req, std::string_view body_field,
    const std::function<std::optional<std::string>(int64_t)>& namespace_name) {
  std::vector<std::string> out;
  if (auto q = req.query_param("namespace")) out.emplace_back(*q);
  if (auto p = req.path_param("namespace")) out.emplace_back(*p);
  if (auto id = req.path_param("id")) {
    bool numeric = !id->empty() && id->size() < 19 &&
                   std::all_of(id->begin(), id->end(), [](char c) { return c >= '0' && c <= '9'; });
    std::optional<std::string> name;
    if (numeric && namespace_name) name = namespace_name(std::stoll(std::string(*id)));
    out.push_back(name.value_or(std::string(*id)));
  }
  if (!req.body.empty()) {
    if (auto body = parse_json(req.body, api::kMaxValueDepth + 2); body && body->is_object()) {
      auto it = body->find(std::string(body_field));
      if (it != body->end() && it->is_string()) out.push_back(it->get<std::string>());
    }
  }
  return out;
}

/// The first field `name` of an application/x-www-form-urlencoded body, decoded; nullopt when
/// the body is not a form, lacks the field or is malformed there (routes::TokenFrom::form).
std::optional<std::string> form_field(const http::Request& req, std::string_view name) {
  const std::string* type = req.header("content-type");
  constexpr std::string_view kForm = "application/x-www-form-urlencoded";
  if (!type || type->size() < kForm.size() ||
      !std::equal(kForm.begin(), kForm.end(), type->begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    return std::nullopt;
  }
  std::string_view rest = req.body;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string key, value;
    if (!http::percent_decode(pair.substr(0, eq), key, true) || key != name) continue;
    if (eq == std::string_view::npos) return std::string();
    if (!http::percent_decode(pair.substr(eq + 1), value, true)) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

}  // namespace

Authenticator::Authenticator(AuthOptions options, const store::Store& store,
                             std::function<int64_t()> now_ms)
    : options_(std::move(options)),
      root_hash_(hash_secret(options_.root_secret)),
      store_(store),
      now_ms_(std::move(now_ms)) {}

void Authenticator::reload_if_changed() {
  uint64_t generation = store_.auth_generation();
  if (generation == generation_) return;
  auto tokens = store_.tokens();
  if (!tokens.ok()) return;  // keep the last good copy while the database cannot be read
  by_hash_.clear();
  for (auto& t : *tokens) {
    Identity id{t.name, t.id, std::move(t.grants), t.expires_at_ms};
    by_hash_.emplace(std::move(t.secret_hash), Token{std::move(id), t.revoked_at_ms});
  }
  generation_ = generation;
}

Result<Identity, api::Error> Authenticator::authenticate(const http::Request& req) {
  auto unauthorized = [](std::string why) {
    return Unexpected{make_error(Errc::kUnauthorized, std::move(why), "Authorization")};
  };
  // Authorization: Bearer <token>, or where the route's protocol puts it (routes::TokenFrom).
  // (A matched route is the table's: the server's router admits no other, see guard().)
  const routes::TokenFrom from =
      req.route ? routes::of(*req.route).token_from : routes::TokenFrom{};
  const std::string* header = req.header("authorization");
  std::optional<std::string_view> secret;
  std::optional<std::string> posted;  // a form field's decoded value, which `secret` views
  constexpr std::string_view kScheme = "Bearer ";
  if (header && header->size() > kScheme.size() &&
      header->compare(0, kScheme.size(), kScheme) == 0) {
    secret = std::string_view(*header).substr(kScheme.size());
  } else if (!from.header.empty() && req.header(from.header) && !req.header(from.header)->empty() &&
             (header == nullptr || from.header == "authorization")) {
    secret = *req.header(from.header);
  } else if (header == nullptr) {
    for (std::string_view name : {from.query, from.fallback}) {
      if (name.empty()) continue;
      if (auto q = req.query_param(name); q && !q->empty()) {
        secret = *q;
      } else if (from.form && (posted = form_field(req, name)) && !posted->empty()) {
        secret = *posted;
      }
      if (secret) break;
    }
  }
  if (!secret) {
    if (!header) return unauthorized("missing Authorization: Bearer <token> header");
    return unauthorized("the Authorization header is not 'Bearer <token>'");
  }
  if (secret->size() > 256) return unauthorized("the token is malformed");
  // Comparing hashes: the time taken says nothing about the secret's characters.
  std::string hash = hash_secret(*secret);
  if (constant_time_equal(hash, root_hash_)) {
    return Identity{"root", "root", {api::Grant{"", "cluster-admin"}}, 0};
  }
  std::lock_guard lock(tokens_mu_);
  reload_if_changed();
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return unauthorized("unknown token");
  if (it->second.revoked_at_ms) return unauthorized("the token was revoked");
  const Identity& id = it->second.identity;
  if (id.expires_at_ms && now_ms_() >= id.expires_at_ms) return unauthorized("the token expired");
  return id;
}

bool Authenticator::may_try(const std::string& address, int64_t& retry_ms) {
  std::lock_guard lock(failures_mu_);
  auto it = failures_.find(address);
  if (it == failures_.end()) return true;
  it->second.sync(options_.failures, 1, now_ms_());
  if (it->second.tokens >= 1) return true;
  retry_ms = std::max<int64_t>(1, it->second.ms_until(1, options_.failures));
  return false;
}

void Authenticator::count_failure(const std::string& address) {
  std::lock_guard lock(failures_mu_);
  int64_t now = now_ms_();
  if (failures_.size() >= options_.max_tracked_addresses && !failures_.count(address)) {
    for (auto it = failures_.begin(); it != failures_.end();) {
      it = it->second.full_at(options_.failures, 1, now) ? failures_.erase(it) : std::next(it);
    }
    if (failures_.size() >= options_.max_tracked_addresses) failures_.erase(failures_.begin());
  }
  limit::Bucket& b = failures_[address];
  b.sync(options_.failures, 1, now);
  b.tokens = std::max(0.0, b.tokens - 1);
}

http::Middleware Authenticator::guard(
    std::function<std::optional<std::string>(int64_t)> namespace_name, AuditSink audit) {
  return [this, namespace_name = std::move(namespace_name), audit = std::move(audit)](
             http::RequestPtr req, http::Reply reply, const http::Handler& next) {
    // The router runs the guard only for a route it matched, and admits only the table's.
    const routes::Route& route = routes::of(*req->route);
    RoutePolicy policy = policy_for(route, options_.metrics_public);
    if (policy.access == RoutePolicy::Access::kPublic) {
      // No token asked, so no grant either: a public route's handler that reaches the core
      // (Consul's /v1/status asks for the cluster view as the node itself) can read nothing
      // as this caller.
      req->caller = api::Principal::with_grants("anonymous", {});
      return next(req, reply);
    }
    const std::string ip = client_ip(*req);
    auto deny = [&](const api::Error& error, const std::string& actor, const std::string& ns,
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
      denied_.fetch_add(1, std::memory_order_relaxed);
      if (audit) {
        audit(api::AuditEntry{wall_clock_ms(), actor, ip,
                              req->method + " " + std::string(route.path_template), ns,
                              std::string(req->query_param("key").value_or("")),
                              static_cast<int64_t>(error.code), req->request_id});
      }
      http::reply_error(*req, reply, error, std::move(headers));
    };

    int64_t retry_ms = 0;
    if (!may_try(ip, retry_ms)) {
      int64_t seconds = (retry_ms + 999) / 1000;
      return deny(
          make_error(Errc::kQuotaExceeded, "too many failed authentications from " + ip +
                                               "; retry in " + std::to_string(seconds) + " s"),
          "", "", {{"Retry-After", std::to_string(seconds)}});
    }
    auto identity = authenticate(*req);
    if (!identity.ok()) {
      count_failure(ip);
      return deny(identity.error(), "", "", {{"WWW-Authenticate", R"(Bearer realm="cairn")"}});
    }
    req->caller = identity->principal();
    // docs/secrets.md: the native API answers a secret in plain only to a request that asks
    // (`reveal=true` or `X-Cairn-Reveal: true`) and whose token holds `reveal`; the protocol
    // front-ends' clients cannot ask, so their tokens' grants alone decide.
    if (req->path.starts_with("/api/")) {
      auto asked = [](std::string_view v) { return v == "true" || v == "1"; };
      const std::string* header = req->header("x-cairn-reveal");
      auto query = req->query_param("reveal");
      req->caller.reveal = (header && asked(*header)) || (query && asked(*query));
    }
    if (identity->cluster_admin() || policy.access == RoutePolicy::Access::kAuthenticated) {
      return next(req, reply);
    }
    auto forbidden = [&](std::string why, const std::string& ns) {
      deny(make_error(Errc::kForbidden, std::move(why)), identity->name, ns);
    };
    if (policy.access == RoutePolicy::Access::kClusterAdmin) {
      return forbidden("token '" + identity->name + "' is not cluster-admin", "");
    }
    std::vector<std::string> names = named_namespaces(*req, policy.body_field, namespace_name);
    if (names.empty()) {
      if (policy.absent == RoutePolicy::Absent::kClusterAdmin) {
        return forbidden("every namespace: token '" + identity->name + "' is not cluster-admin",
                         "");
      }
      return next(req, reply);  // listed through the visibility filter, or refused as 400
    }
    for (const auto& ns : names) {
      if (!identity->allows(ns, policy.permission)) {
        return forbidden("token '" + identity->name + "' has no " +
                             std::string(permission_name(policy.permission)) +
                             " permission on namespace '" + ns + "'",
                         ns);
      }
    }
    next(req, reply);
  };
}

}  // namespace cairn::auth
