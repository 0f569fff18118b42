#include "server/degraded.h"

#include "common/json.h"
#include "service/request.h"

namespace cairn::server {

bool is_write(const http::Request& req) {
  return (req.method == "POST" || req.method == "PUT" || req.method == "DELETE") &&
         req.path.rfind("/api/v1/admin/", 0) == 0;
}

bool is_client_read(const http::Request& req) {
  return req.path.rfind("/api/v1/config/", 0) == 0 && req.path.find("/watch") == std::string::npos;
}

void mark_degraded(http::Response& res, const std::string& reason) {
  if (res.status != 200 || res.on_stream) return;
  auto j = parse_json(res.body, 512);
  if (!j || !j->is_object() || !j->contains("data") || !(*j)["data"].is_object()) return;
  (*j)["data"]["degraded"] = true;
  if (!reason.empty()) (*j)["data"]["degraded_reason"] = reason;
  res.body = dump_compact(*j);
}

http::Middleware degraded_middleware(std::function<std::optional<std::string>()> database_down) {
  return [database_down = std::move(database_down)](http::RequestPtr req, http::Reply reply,
                                                    const http::Handler& next) {
    const bool write = is_write(*req);
    if (!write && !is_client_read(*req)) return next(std::move(req), std::move(reply));
    std::optional<std::string> down = database_down();
    if (!down) return next(std::move(req), std::move(reply));
    if (write) {
      return service::reply_error(
          reply, *req,
          api::make_error(api::Errc::kDatabase,
                          "this node's database is unavailable (" + *down +
                              "); nothing was written: retry on another node or later"));
    }
    std::string why = down->rfind("database unavailable", 0) == 0 ? *down
                                                                  : "database unavailable: " + *down;
    http::Reply marked = [reply, reason = std::move(why)](http::Response res) {
      mark_degraded(res, reason);
      reply(std::move(res));
    };
    next(std::move(req), std::move(marked));
  };
}

}  // namespace cairn::server
