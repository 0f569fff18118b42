#include "http/middleware.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "common/ids.h"
#include "common/time.h"

namespace cairn::http {
namespace {

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool all_zeros(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

/// Replaces every header called `name` (any case) by one with `value`.
void set_header(Response& res, std::string_view name, std::string value) {
  std::erase_if(res.headers, [&](const auto& h) { return iequals(h.first, name); });
  res.headers.emplace_back(std::string(name), std::move(value));
}

}  // namespace

bool is_valid_request_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 &&
         std::all_of(id.begin(), id.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

bool is_valid_traceparent(std::string_view v) {
  // 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
  if (v.size() != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  std::string_view version = v.substr(0, 2), trace = v.substr(3, 32), parent = v.substr(36, 16),
                   flags = v.substr(53, 2);
  return version == "00" && is_lower_hex(trace) && is_lower_hex(parent) && is_lower_hex(flags) &&
         !all_zeros(trace) && !all_zeros(parent);
}

std::string next_traceparent(std::string_view incoming) {
  if (is_valid_traceparent(incoming)) {
    return "00-" + std::string(incoming.substr(3, 32)) + "-" + random_hex(8) + "-" +
           std::string(incoming.substr(53, 2));
  }
  std::string trace = random_hex(16);
  if (all_zeros(trace)) trace.back() = '1';  // astronomically unlikely, but invalid if so
  std::string span = random_hex(8);
  if (all_zeros(span)) span.back() = '1';
  return "00-" + trace + "-" + span + "-01";
}

Middleware request_id_middleware() {
  return [](RequestPtr req, Reply reply, const Handler& next) {
    const std::string* id = req->header("x-request-id");
    req->request_id = id && is_valid_request_id(*id) ? *id : new_uuid();
    const std::string* tp = req->header("traceparent");
    req->traceparent = next_traceparent(tp ? std::string_view(*tp) : std::string_view());
    Reply wrapped = [request_id = req->request_id, traceparent = req->traceparent,
                     reply = std::move(reply)](Response res) {
      set_header(res, "X-Request-ID", request_id);
      set_header(res, "traceparent", traceparent);
      reply(std::move(res));
    };
    next(std::move(req), std::move(wrapped));
  };
}

Middleware access_log_middleware() {
  return [](RequestPtr req, Reply reply, const Handler& next) {
    // The wrapper keeps the request alive until the response: handlers may answer later.
    Reply wrapped = [req, reply = std::move(reply)](Response res) {
      int64_t duration_ms =
          req->received_monotonic_ms > 0 ? monotonic_ms() - req->received_monotonic_ms : 0;
      spdlog::info("http {} {} {} {}ms request_id={} remote={}", req->method, req->path, res.status,
                   duration_ms, req->request_id, req->remote_address);
      reply(std::move(res));
    };
    next(std::move(req), std::move(wrapped));
  };
}

}  // namespace cairn::http
