#pragma once

#include <string>
#include <vector>

#include "http/types.h"

namespace cairn::http {

/// Maps (method, path template) to handlers. Templates are literal segments and `{name}`
/// segments that match one non-empty path segment ("/api/v1/admin/namespace/{id}"). A trailing
/// slash makes a distinct path ("/a/" does not match "/a"). When several templates match, the
/// one with a literal where the others have a parameter wins ("/ns/list" over "/ns/{id}").
/// Routes are added before the server starts; dispatch() is then called concurrently from the
/// io threads (read-only).
class Router {
 public:
  void add(std::string method, std::string path_template, Handler handler);

  /// Finds the route for the request, sets req->route and req->path_params and calls it.
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

  /// Every (method, path template) added, in order.
  std::vector<std::pair<std::string, std::string>> routes() const;

 private:
  struct Route {
    std::string method;
    std::string path_template;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
  Middleware guard_;
};

}  // namespace cairn::http
