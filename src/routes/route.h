#pragma once

#include <cassert>
#include <cstdint>
#include <string_view>

#include "http/types.h"

namespace cairn::routes {

/// What a caller must hold to be served (docs/security.md); the auth guard enforces it.
enum class Permission : uint8_t {
  kPublic,    // no token: health, /livez, /readyz, the console's static files
  kAnyToken,  // any valid token: whoami, the namespace list (filtered to what it may see)
  kRead,      // read on every namespace the request names
  kWrite,     // write on every namespace the request names
  kAdmin,     // admin on every namespace the request names
  kClusterAdmin,
  kScrape,  // the metrics: cluster-admin, or no token at all with the config key metrics_public
};

/// When a route of a namespace permission (kRead, kWrite, kAdmin) names no namespace.
enum class NoNamespace : uint8_t {
  kHandlerRejects,  // the handler answers 400 (the namespace is required)
  kFiltered,        // the handler lists only the visible namespaces' rows
  kClusterAdmin,    // it means "every namespace": cluster-admin only
};

/// The rate-limit class a request is counted in (docs/rate-limits.md), or kNone: not counted.
/// The limiter's buckets are limit::RequestClass; limit/middleware.cc maps one to the other.
enum class RateClass : uint8_t { kNone, kRead, kWrite, kAdmin };

/// What serving a route does to the node's state, for the layers that treat requests by kind
/// rather than by path: a follower sends kWrite requests to the leader (docs/cluster.md) and a
/// node whose database is down refuses them, while kClientRead answers may be served stale and
/// are then marked degraded (docs/observability.md).
enum class Effect : uint8_t {
  kNone,        // neither: lists, health, watches, the console, …
  kClientRead,  // a client read of config values (stale reads allowed, marked degraded)
  kWrite,       // a change: replicated through the leader
};

/// Where a namespace permission finds the namespaces a request names, besides the `namespace`
/// query parameter and the `{namespace}` / `{id}` path segment.
struct NamespaceRule {
  std::string_view body_field = "namespace";  // "name" when creating a namespace
  NoNamespace absent = NoNamespace::kHandlerRejects;
};

/// Where a protocol front-end's clients send their token besides `Authorization: Bearer`
/// (docs/compat.md): a header (lower-case name; "authorization" takes its raw value when it is
/// not a Bearer one) and a query parameter. Empty: not there.
struct TokenFrom {
  std::string_view header;  // "x-consul-token"
  std::string_view query;   // "token", "accessToken"
  /// A second parameter tried after `query` ("password": Nacos clients may send their
  /// username/password with every request instead of an accessToken).
  std::string_view fallback = {};
  /// The parameters are also read from an application/x-www-form-urlencoded body (Nacos
  /// clients post theirs as form fields), after the query string.
  bool form = false;
};

/// One route of the API, declared once in routes/table.h: its method and path template (what
/// the router matches), the permission the auth guard requires, the rate-limit class the limiter
/// counts it in and the `api` label of its metrics and spans. Constants with static storage
/// duration; plain data, read from any thread.
struct Route : http::Route {
  Permission permission = Permission::kClusterAdmin;
  RateClass rate = RateClass::kNone;
  Effect effect = Effect::kNone;
  std::string_view label;
  NamespaceRule ns = {};  // kRead, kWrite and kAdmin only
  TokenFrom token_from = {};
};

/// Whether `route` is one of the table's declarations (routes/table.h). The server's router
/// admits no other route: `http::Router router(routes::declared)`.
bool declared(const http::Route& route);

/// The declaration behind a route the router matched (Request::route, Request::path_route).
/// `route` must be declared(): true of every route a router built with routes::declared
/// matches.
inline const Route& of(const http::Route& route) {
  assert(declared(route));
  return static_cast<const Route&>(route);
}
inline const Route* of(const http::Route* route) { return route ? &of(*route) : nullptr; }

}  // namespace cairn::routes
