#include "http/router.h"

#include <algorithm>
#include <stdexcept>

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

/// "{name...}": the rest of the path (last segment of a template only).
bool is_tail(std::string_view segment) {
  return is_param(segment) && segment.size() > 5 && segment.substr(segment.size() - 4) == "...}";
}

std::string_view param_name(std::string_view segment) {
  return segment.substr(1, segment.size() - (is_tail(segment) ? 5 : 2));
}

bool matches(const std::vector<std::string>& segments, const std::vector<std::string_view>& path) {
  const bool tail = !segments.empty() && is_tail(segments.back());
  if (tail ? path.size() < segments.size() : segments.size() != path.size()) return false;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (tail && i + 1 == segments.size()) break;  // any rest, empty included
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
    bool ta = is_tail(a[i]);
    bool tb = is_tail(b[i]);
    if (ta != tb) return !ta;  // one segment is more specific than the rest of the path
  }
  return false;
}

}  // namespace

Response error_response(const Request& req, const api::Error& error, int status,
                        std::string_view extra) {
  Response res;
  res.status = status ? status : error.http_status();
  if (req.error_renderer) {
    req.error_renderer(req, error, res);
    return res;
  }
  const std::string request_id = req.request_id.empty() ? new_uuid() : req.request_id;
  res.body = api::error_envelope(error, request_id, wall_clock_ms() / 1000, extra);
  return res;
}

void reply_error(const Request& req, const Reply& reply, const api::Error& error,
                 std::vector<std::pair<std::string, std::string>> headers, int status) {
  Response res = error_response(req, error, status);
  for (auto& h : headers) res.headers.push_back(std::move(h));
  reply(std::move(res));
}

Router::Router(std::function<bool(const Route&)> declared) : declared_(std::move(declared)) {}

void Router::add(const Route& route, Handler handler, ErrorRenderer error_renderer) {
  const std::string name = std::string(route.method) + " " + std::string(route.path_template);
  for (std::string_view s : split_path(route.path_template)) {
    if (is_tail(s) &&
        s.data() + s.size() != route.path_template.data() + route.path_template.size()) {
      throw std::logic_error("route " + name + ": a {name...} segment must come last");
    }
  }
  if (declared_ && !declared_(route)) {
    throw std::logic_error("route " + name + " is not in the route table (routes/table.h)");
  }
  for (const Entry& e : entries_) {
    if (e.route->method == route.method && e.route->path_template == route.path_template) {
      throw std::logic_error("route " + name + " is added twice");
    }
  }
  Entry entry;
  entry.route = &route;
  for (std::string_view s : split_path(route.path_template)) entry.segments.emplace_back(s);
  entry.handler = std::move(handler);
  entry.error_renderer = error_renderer;
  entries_.push_back(std::move(entry));
}

void Router::set_guard(Middleware guard) { guard_ = std::move(guard); }

std::vector<const Route*> Router::routes() const {
  std::vector<const Route*> out;
  for (const Entry& e : entries_) out.push_back(e.route);
  return out;
}

void Router::resolve(Request& req) const {
  const std::vector<std::string_view> path = split_path(req.path);
  const Entry* best = nullptr;
  for (const Entry& e : entries_) {
    if (e.route->method != req.method || !matches(e.segments, path)) continue;
    if (!best || more_specific(e.segments, best->segments)) best = &e;
  }
  req.path_params.clear();
  if (best) {
    req.route = req.path_route = best->route;
    req.error_renderer = best->error_renderer;
    for (size_t i = 0; i < best->segments.size(); ++i) {
      const std::string& s = best->segments[i];
      if (!is_param(s)) continue;
      // A tail is the rest of req.path from its segment on ("a/b/" stays "a/b/").
      std::string_view value =
          is_tail(s)
              ? std::string_view(path[i].data(), req.path.data() + req.path.size() - path[i].data())
              : path[i];
      req.path_params.emplace_back(std::string(param_name(s)), std::string(value));
    }
    return;
  }
  req.route = nullptr;
  const Entry* any = nullptr;  // a 405 is labelled by the template the path matches
  for (const Entry& e : entries_) {
    if (matches(e.segments, path) && (!any || more_specific(e.segments, any->segments))) any = &e;
  }
  req.path_route = any ? any->route : nullptr;
  req.error_renderer = any ? any->error_renderer : nullptr;
}

const Router::Entry* Router::entry_of(const Request& req) const {
  if (!req.route) return nullptr;
  for (const Entry& e : entries_) {
    if (e.route == req.route) return &e;
  }
  return nullptr;
}

Middleware Router::resolver() const {
  auto snapshot = std::make_shared<const Router>(*this);
  return [snapshot](RequestPtr req, Reply reply, const Handler& next) {
    snapshot->resolve(*req);
    next(std::move(req), std::move(reply));
  };
}

void Router::dispatch(const RequestPtr& req, const Reply& reply) const {
  const Entry* entry = entry_of(*req);
  if (!entry) {
    resolve(*req);
    entry = entry_of(*req);
  }
  if (entry) {
    if (guard_) {
      guard_(req, reply, entry->handler);
    } else {
      entry->handler(req, reply);
    }
    return;
  }

  const std::vector<std::string_view> path = split_path(req->path);
  std::vector<std::string_view> allowed;  // methods of every template matching the path
  for (const Entry& e : entries_) {
    if (!matches(e.segments, path)) continue;
    if (std::find(allowed.begin(), allowed.end(), e.route->method) == allowed.end()) {
      allowed.push_back(e.route->method);
    }
  }
  // The server answers HEAD wherever GET is served (Request::head).
  if (auto get = std::find(allowed.begin(), allowed.end(), "GET"); get != allowed.end()) {
    allowed.insert(get + 1, "HEAD");
  }
  if (allowed.empty()) {
    reply_error(*req, reply,
                api::make_error(api::Errc::kNotFound, "no route for path " + req->path), {}, 404);
    return;
  }
  std::string allow;
  for (std::string_view m : allowed) {
    if (!allow.empty()) allow += ", ";
    allow += m;
  }
  reply_error(*req, reply,
              api::make_error(api::Errc::kMethodNotAllowed,
                              "method " + std::string(req->wire_method()) + " not allowed for " +
                                  req->path + "; allowed: " + allow),
              {{"Allow", allow}}, 405);
}

Handler Router::as_handler() const {
  auto snapshot = std::make_shared<const Router>(*this);
  return [snapshot](RequestPtr req, Reply reply) { snapshot->dispatch(req, reply); };
}

}  // namespace cairn::http
