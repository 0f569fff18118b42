#include "server/degraded.h"

#include "common/json.h"
#include "http/router.h"
#include "routes/route.h"

namespace cairn::server {

namespace {

// The server's router admits only the route table's routes (routes::declared), so a matched
// route is a routes::Route, as the limiter also relies on (limit::request_class).
routes::Effect effect_of(const http::Request& req) {
  return req.route ? routes::of(*req.route).effect : routes::Effect::kNone;
}

}  // namespace

bool is_write(const http::Request& req) { return effect_of(req) == routes::Effect::kWrite; }

bool is_client_read(const http::Request& req) {
  return effect_of(req) == routes::Effect::kClientRead;
}

bool marks_degraded(const http::Request& req) {
  // A protocol front-end's route (one with its own error wording) answers in its protocol's
  // format, where a "degraded" member would corrupt the value (a Consul ?raw body).
  return is_client_read(req) && req.error_renderer == nullptr;
}

namespace {

/// Sets member `name` of the JSON object text `object` to `value` (JSON text) in place: the
/// member's text is replaced when present, else the member is appended.
void set_member(std::string& object, std::string_view name, std::string_view value) {
  if (auto span = json_member_text(object, name)) {
    object.replace(static_cast<size_t>(span->data() - object.data()), span->size(), value);
    return;
  }
  const size_t close = object.find_last_of('}');
  const size_t first = object.find_first_not_of(" \t\r\n", object.find('{') + 1);
  std::string member = first == close ? "" : ",";
  append_json_string(member, name);
  member += ':';
  member += value;
  object.insert(close, member);
}

}  // namespace

void mark_degraded(http::Response& res, const std::string& reason) {
  if (res.status != 200 || res.on_stream) return;
  // Spliced into the text rather than parsed and dumped again, so that the config values in the
  // answer keep their numbers as stored (docs/api.md, "Numbers"; issue 15 item 10).
  auto span = json_member_text(res.body, "data");
  if (!span || span->empty() || span->front() != '{' || span->back() != '}') return;
  const size_t at = static_cast<size_t>(span->data() - res.body.data());
  std::string data(*span);
  set_member(data, "degraded", "true");
  if (!reason.empty()) set_member(data, "degraded_reason", json_quote(reason));
  res.body.replace(at, span->size(), data);
}

http::Middleware degraded_middleware(std::function<std::optional<std::string>()> database_down) {
  return [database_down = std::move(database_down)](http::RequestPtr req, http::Reply reply,
                                                    const http::Handler& next) {
    const bool write = is_write(*req);
    if (!write && !marks_degraded(*req)) return next(std::move(req), std::move(reply));
    std::optional<std::string> down = database_down();
    if (!down) return next(std::move(req), std::move(reply));
    if (write) {
      return http::reply_error(
          *req, reply,
          api::make_error(api::Errc::kDatabase,
                          "this node's database is unavailable (" + *down +
                              "); nothing was written: retry on another node or later"));
    }
    std::string why =
        down->rfind("database unavailable", 0) == 0 ? *down : "database unavailable: " + *down;
    http::Reply marked = [reply, reason = std::move(why)](http::Response res) {
      mark_degraded(res, reason);
      reply(std::move(res));
    };
    next(std::move(req), std::move(marked));
  };
}

}  // namespace cairn::server
