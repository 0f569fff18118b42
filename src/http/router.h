#pragma once

#include <string>
#include <vector>

#include "http/types.h"

namespace cairn::http {

/// The answer to `error` for `req`: `status` (0: the error code's), worded by the route's
/// front-end (Request::error_renderer) or else as the native envelope with `extra` members
/// (a JSON object's text, or ""). Every answer given before or instead of a handler (404, 405,
/// the auth guard, rate limits) is built here, so a protocol front-end's clients read errors in
/// their own protocol's style.
Response error_response(const Request& req, const api::Error& error, int status = 0,
                        std::string_view extra = {});
void reply_error(const Request& req, const Reply& reply, const api::Error& error,
                 std::vector<std::pair<std::string, std::string>> headers = {}, int status = 0);

/// Maps (method, path template) to handlers. Templates are literal segments, `{name}`
/// segments that match one non-empty path segment ("/api/v1/admin/namespace/{id}") and, last
/// only, a `{name...}` segment that matches the rest of the path, empty or several segments
/// ("/v1/kv/{key...}": "/v1/kv/" gives key "", "/v1/kv/a/b/" gives "a/b/"). A trailing
/// slash makes a distinct path ("/a/" does not match "/a"). When several templates match, the
/// one with a literal where the others have a parameter wins ("/ns/list" over "/ns/{id}"), and
/// a one-segment parameter wins over a rest-of-path one.
/// Routes are added before the server starts; resolve() and dispatch() are then called
/// concurrently from the io threads (read-only).
class Router {
 public:
  /// `declared` admits the routes add() takes: the server's router admits only the route
  /// table's (routes::declared), so a handler cannot be registered for a route that states no
  /// permission, rate class or label. Unset, every route is admitted.
  explicit Router(std::function<bool(const Route&)> declared = {});

  /// Serves `route` with `handler`. `route` must outlive the router and every request it routes
  /// (a constant of routes/table.h). Throws std::logic_error for a route `declared` refuses or
  /// one added twice: both are programming errors, found when the server starts.
  /// `error_renderer` words the errors answered for this route before or instead of its
  /// handler (see error_response); null: the native envelope.
  void add(const Route& route, Handler handler, ErrorRenderer error_renderer = nullptr);

  /// Sets req.route, req.path_route and req.path_params for (req.method, req.path).
  void resolve(Request& req) const;

  /// A middleware that resolves the request before the rest of the chain runs, so that the
  /// middlewares which answer before the handler (limits, forwarding) and telemetry read its
  /// route. Put it first. It holds a copy of the routes added so far, like as_handler().
  Middleware resolver() const;

  /// Calls the handler of req->route (resolving the request first when no resolver did).
  /// Unknown path: 404 envelope (40401). Known path, other method: 405 envelope (40501) with an
  /// `Allow` header, which lists HEAD after GET (the server turns a HEAD into a GET, see
  /// Request::head; no route is ever added for HEAD).
  void dispatch(const RequestPtr& req, const Reply& reply) const;

  /// The router as the last Handler of a chain. The handler holds a copy of the routes added
  /// so far, so it does not depend on this Router's lifetime.
  Handler as_handler() const;

  /// Runs before the handler of every matched route, once req->route and req->path_params are
  /// set, with that handler as `next` (the auth check, docs/security.md). Set before
  /// as_handler(); unset, handlers run directly.
  void set_guard(Middleware guard);

  /// Every route added, in order.
  std::vector<const Route*> routes() const;

 private:
  struct Entry {
    const Route* route;
    std::vector<std::string> segments;
    Handler handler;
    ErrorRenderer error_renderer = nullptr;
  };
  /// The entry serving req.route when the request was resolved against these routes.
  const Entry* entry_of(const Request& req) const;

  std::function<bool(const Route&)> declared_;
  std::vector<Entry> entries_;
  Middleware guard_;
};

}  // namespace cairn::http
