#include "webui/webui.h"

#include <string>

#include "api/envelope.h"
#include "api/errors.h"
#include "common/ids.h"
#include "common/time.h"
#include "routes/table.h"
#include "webui/assets.h"

namespace cairn::webui {
namespace {

// The console loads only its own files and talks only to its own node.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'";

bool etag_matches(const std::string* if_none_match, std::string_view etag) {
  if (!if_none_match) return false;
  std::string_view list = *if_none_match;
  if (list.find('*') != std::string_view::npos) return true;
  // Weak comparison (RFC 9110 §13.1.2): W/"x" matches "x"; a list matches when any tag does.
  return list.find(etag) != std::string_view::npos;
}

}  // namespace

http::Response serve(const http::Request& req, std::string_view name) {
  if (name.empty()) name = "index.html";
  http::Response res;
  const Asset* asset = find_asset(name);
  if (!asset) {
    res.status = 404;
    const std::string id = req.request_id.empty() ? new_uuid() : req.request_id;
    res.body = api::error_envelope(
        api::make_error(api::Errc::kNotFound, "no console file " + std::string(name)), id,
        wall_clock_ms() / 1000);
    return res;
  }
  res.headers = {{"ETag", std::string(asset->etag)},
                 {"Cache-Control", "no-cache"},
                 {"X-Content-Type-Options", "nosniff"}};
  if (name == "index.html") {
    res.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
  }
  if (etag_matches(req.header("if-none-match"), asset->etag)) {
    res.status = 304;
    return res;
  }
  res.content_type = std::string(asset->content_type);
  res.body = std::string(asset->body);
  return res;
}

void register_routes(http::Router& router) {
  router.add(routes::kUi, [](http::RequestPtr, http::Reply reply) {
    http::Response res;
    res.status = 308;
    res.content_type = "text/plain; charset=utf-8";
    res.headers = {{"Location", "/ui/"}};
    res.body = "/ui/\n";
    reply(std::move(res));
  });
  router.add(routes::kUiIndex, [](http::RequestPtr req, http::Reply reply) { reply(serve(*req, "")); });
  router.add(routes::kUiFile, [](http::RequestPtr req, http::Reply reply) {
    reply(serve(*req, req->path_param("file").value_or("")));
  });
}

}  // namespace cairn::webui
