#include "http/router.h"

#include <algorithm>

#include "api/envelope.h"
#include "api/errors.h"
#include "common/ids.h"
#include "common/time.h"

namespace cairn::http {
namespace {

/// "/a/b" → {"a","b"}; "/" → {""}; "/a/" → {"a",""}: a trailing slash is a distinct path.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  out.reserve(8);  // one allocation for any API path
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool is_param(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

bool matches(const std::vector<std::string>& segments, const std::vector<std::string_view>& path) {
  if (segments.size() != path.size()) return false;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (is_param(segments[i])) {
      if (path[i].empty()) return false;
    } else if (segments[i] != path[i]) {
      return false;
    }
  }
  return true;
}

/// True when `a` is more specific than `b`: at the first segment where they differ in kind, `a`
/// has a literal and `b` a parameter ("/ns/list" wins over "/ns/{id}").
bool more_specific(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    bool pa = is_param(a[i]);
    bool pb = is_param(b[i]);
    if (pa != pb) return !pa;
  }
  return false;
}

void reply_error(const Request& req, const Reply& reply, int status, api::Error error,
                 std::vector<std::pair<std::string, std::string>> headers = {}) {
  Response res;
  res.status = status;
  res.headers = std::move(headers);
  const std::string request_id = req.request_id.empty() ? new_uuid() : req.request_id;
  res.body = api::error_envelope(error, request_id, wall_clock_ms() / 1000);
  reply(std::move(res));
}

}  // namespace

void Router::add(std::string method, std::string path_template, Handler handler) {
  Route route;
  for (std::string_view s : split_path(path_template)) route.segments.emplace_back(s);
  route.method = std::move(method);
  route.path_template = std::move(path_template);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

void Router::set_guard(Middleware guard) { guard_ = std::move(guard); }

std::vector<std::pair<std::string, std::string>> Router::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Route& r : routes_) out.emplace_back(r.method, r.path_template);
  return out;
}

void Router::dispatch(const RequestPtr& req, const Reply& reply) const {
  const std::vector<std::string_view> path = split_path(req->path);
  const Route* best = nullptr;
  for (const Route& route : routes_) {
    if (route.method != req->method || !matches(route.segments, path)) continue;
    if (!best || more_specific(route.segments, best->segments)) best = &route;
  }

  if (best) {
    req->route = best->path_template;
    req->path_params.clear();
    for (size_t i = 0; i < best->segments.size(); ++i) {
      const std::string& s = best->segments[i];
      if (is_param(s)) req->path_params.emplace_back(s.substr(1, s.size() - 2), path[i]);
    }
    if (guard_) {
      guard_(req, reply, best->handler);
    } else {
      best->handler(req, reply);
    }
    return;
  }

  std::vector<std::string_view> allowed;  // methods of every template matching the path
  for (const Route& route : routes_) {
    if (!matches(route.segments, path)) continue;
    if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) {
      allowed.push_back(route.method);
    }
  }
  // The server answers HEAD wherever GET is served (Request::head).
  if (auto get = std::find(allowed.begin(), allowed.end(), "GET"); get != allowed.end()) {
    allowed.insert(get + 1, "HEAD");
  }
  if (allowed.empty()) {
    reply_error(*req, reply, 404,
                api::make_error(api::Errc::kNotFound, "no route for path " + req->path));
    return;
  }
  std::string allow;
  for (std::string_view m : allowed) {
    if (!allow.empty()) allow += ", ";
    allow += m;
  }
  reply_error(*req, reply, 405,
              api::make_error(api::Errc::kMethodNotAllowed,
                              "method " + std::string(req->wire_method()) + " not allowed for " +
                                  req->path + "; allowed: " + allow),
              {{"Allow", allow}});
}

Handler Router::as_handler() const {
  auto snapshot = std::make_shared<const Router>(*this);
  return [snapshot](RequestPtr req, Reply reply) { snapshot->dispatch(req, reply); };
}

}  // namespace cairn::http
