// Shared pieces of the Nacos front-end: route registration, parameters and the error wire
// (Nacos's GlobalExceptionHandler for v1, its Result for v2).

#include "frontends/nacos/frontend.h"

#include <cctype>
#include <ctime>

#include "common/json.h"
#include "common/time.h"
#include "frontends/text.h"
#include "routes/nacos.h"

namespace cairn::nacos {

using api::Errc;

namespace {

constexpr std::string_view kText = "text/plain;charset=UTF-8";
constexpr std::string_view kJson = "application/json;charset=UTF-8";

/// Nacos's v2 ErrorCode descriptions, the `message` of a v2 answer.
std::string_view code_message(int code) {
  switch (code) {
    case 0:
      return "success";
    case 10000:
      return "parameter missing";
    case 10001:
      return "access denied";
    case 20002:
      return "parameter validate error";
    case 20004:
      return "resource not found";
    case 20005:
      return "resource conflict";
    default:
      return "server error";
  }
}

}  // namespace

Failure failure_of(const api::Error& error) {
  Failure f;
  f.status = error.http_status();
  f.message =
      error.details.empty() ? std::string(api::error_info(error.code).message) : error.details;
  switch (error.code) {
    case Errc::kUnauthorized:
    case Errc::kForbidden:
      f.status = 403;  // Nacos answers every refused identity 403
      f.code = 10001;
      f.auth = true;
      break;
    case Errc::kNamespaceNotFound:
    case Errc::kConfigNotFound:
      f.status = 404;
      f.code = 20004;
      f.message = "config data not exist";
      f.raw = true;
      break;
    case Errc::kNotFound:
    case Errc::kMethodNotAllowed:
      f.code = 20004;
      break;
    case Errc::kBadRequest:
      f.code = 10000;
      break;
    case Errc::kValidation:
    case Errc::kPayloadTooLarge:
      f.code = 20002;
      break;
    case Errc::kConflict:
    case Errc::kKeyExists:
      f.code = 20005;
      break;
    default:
      f.code = 30000;
      break;
  }
  return f;
}

http::Response failure_response(const http::Request& req, Wire wire, const Failure& f) {
  http::Response res;
  res.status = f.status;
  if (wire == Wire::kV2) {
    res.content_type = kJson;
    res.body = dump_compact(Json{
        {"code", f.code}, {"message", std::string(code_message(f.code))}, {"data", f.message}});
  } else if (f.auth) {
    // Nacos's auth filter answers with Spring's error page.
    res.content_type = kJson;
    res.body = dump_compact(Json{{"timestamp", format_utc(wall_clock_ms())},
                                 {"status", f.status},
                                 {"error", "Forbidden"},
                                 {"message", f.message},
                                 {"path", req.path}});
  } else if (f.raw) {
    res.content_type = kText;
    res.body = f.message + "\n";
  } else {
    res.content_type = kText;
    res.body = "caused: " + f.message + ";";
  }
  return res;
}

namespace {

void render(const http::Request& req, const api::Error& error, http::Response& res, Wire wire) {
  http::Response made = failure_response(req, wire, failure_of(error));
  res.status = made.status;
  res.content_type = std::move(made.content_type);
  res.body = std::move(made.body);
}

}  // namespace

void render_v1_error(const http::Request& req, const api::Error& error, http::Response& res) {
  render(req, error, res, Wire::kV1);
}

void render_v2_error(const http::Request& req, const api::Error& error, http::Response& res) {
  render(req, error, res, Wire::kV2);
}

std::optional<Params> request_params(const http::Request& req) {
  Params params(req.query.begin(), req.query.end());
  const std::string* type = req.header("content-type");
  bool form = false;
  if (type) {
    constexpr std::string_view kForm = "application/x-www-form-urlencoded";
    std::string lower = type->substr(0, kForm.size());
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    form = lower == kForm;
  } else {
    form = req.method == "POST";
  }
  if (form && !req.body.empty() && !decode_form(req.body, params)) return std::nullopt;
  return params;
}

Frontend::Frontend(FrontendOptions options, core::Core& core, core::WatchHub* watch,
                   auth::Authenticator* auth)
    : options_(options), core_(core), watch_(watch), auth_(auth) {}

void Frontend::register_routes(http::Router& router) {
  auto v1 = [this](void (Frontend::*fn)(const http::RequestPtr&, const http::Reply&, Wire)) {
    return
        [this, fn](http::RequestPtr req, http::Reply reply) { (this->*fn)(req, reply, Wire::kV1); };
  };
  auto v2 = [this](void (Frontend::*fn)(const http::RequestPtr&, const http::Reply&, Wire)) {
    return
        [this, fn](http::RequestPtr req, http::Reply reply) { (this->*fn)(req, reply, Wire::kV2); };
  };
  router.add(routes::kNacosConfigGet, v1(&Frontend::get_config), render_v1_error);
  router.add(routes::kNacosConfigPublish, v1(&Frontend::publish_config), render_v1_error);
  router.add(routes::kNacosConfigDelete, v1(&Frontend::delete_config), render_v1_error);
  router.add(routes::kNacosV2ConfigGet, v2(&Frontend::get_config), render_v2_error);
  router.add(routes::kNacosV2ConfigPublish, v2(&Frontend::publish_config), render_v2_error);
  router.add(routes::kNacosV2ConfigDelete, v2(&Frontend::delete_config), render_v2_error);
  router.add(
      routes::kNacosListener,
      [this](http::RequestPtr req, http::Reply reply) { listen(req, reply); }, render_v1_error);
  for (const routes::Route* route : {&routes::kNacosLogin, &routes::kNacosUsersLogin}) {
    router.add(
        *route, [this](http::RequestPtr req, http::Reply reply) { login(req, reply); },
        render_v1_error);
  }
}

std::optional<std::string> Frontend::current_content(const api::Principal& caller,
                                                     const Address& at) {
  auto value = core_.get_config(caller, core::GetConfig{at.ns, at.key, {}, {}});
  if (!value.ok()) return std::nullopt;
  return frontends::value_bytes(value->value);
}

}  // namespace cairn::nacos
