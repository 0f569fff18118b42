#include "limit/middleware.h"

#include <cmath>
#include <cstdio>
#include <functional>

#include "api/envelope.h"
#include "api/errors.h"
#include "common/time.h"
#include "http/router.h"
#include "limit/classify.h"
#include "routes/route.h"

namespace cairn::limit {
namespace {

/// A rate as the shortest decimal text: 1000, 0.5, 0.001.
std::string rate_text(double qps) {
  if (qps == std::floor(qps) && qps < 1e15) return std::to_string(static_cast<int64_t>(qps));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", qps);
  return buf;
}

int64_t ceil_seconds(int64_t ms) { return (ms + 999) / 1000; }

/// X-RateLimit-Limit is the bucket's capacity, so that Remaining (tokens left) never exceeds
/// it and Reset is when Remaining is back at Limit; the rate is the body's `limit` (seed).
void add_headers(http::Response& res, const Decision& d, int64_t now_s) {
  res.headers.emplace_back("X-RateLimit-Limit", rate_text(d.burst));
  res.headers.emplace_back("X-RateLimit-Remaining", std::to_string(d.remaining));
  res.headers.emplace_back("X-RateLimit-Reset", std::to_string(now_s + ceil_seconds(d.reset_ms)));
}

http::Response rejection(const http::Request& req, RequestClass c, const std::string& client,
                         const Decision& d) {
  const int64_t now_ms = wall_clock_ms();
  const int64_t now_s = now_ms / 1000;
  const int64_t retry_after = std::max<int64_t>(1, ceil_seconds(d.retry_after_ms));
  const int64_t reset = now_s + std::max<int64_t>(1, ceil_seconds(d.reset_ms));
  const bool global = d.verdict == Decision::Verdict::kGlobalLimited;
  const std::string cls(to_string(c));
  const api::Error error = api::make_error(
      global ? api::Errc::kRateLimited : api::Errc::kQuotaExceeded,
      global ? "this node's " + cls + " limit of " + rate_text(d.limit) +
                   " requests/s is exhausted; retry after " + std::to_string(retry_after) + " s"
             : "client '" + client + "' is over its " + cls + " quota of " + rate_text(d.limit) +
                   " requests/s; retry after " + std::to_string(retry_after) + " s");
  const std::string extra = R"({"retry_after":)" + std::to_string(retry_after) + R"(,"limit":)" +
                            rate_text(d.limit) + R"(,"remaining":)" + std::to_string(d.remaining) +
                            R"(,"reset":)" + std::to_string(reset) + "}";
  http::Response res = http::error_response(req, error, 0, extra);
  res.headers.emplace_back("Retry-After", std::to_string(retry_after));
  res.headers.emplace_back("X-RateLimit-Limit", rate_text(d.burst));
  res.headers.emplace_back("X-RateLimit-Remaining", std::to_string(d.remaining));
  res.headers.emplace_back("X-RateLimit-Reset", std::to_string(reset));
  return res;
}

}  // namespace

std::optional<RequestClass> request_class(const http::Request& req) {
  if (!req.route) return std::nullopt;
  switch (routes::of(*req.route).rate) {
    case routes::RateClass::kNone:
      return std::nullopt;
    case routes::RateClass::kRead:
      return RequestClass::kRead;
    case routes::RateClass::kWrite:
      return RequestClass::kWrite;
    case routes::RateClass::kAdmin:
      return RequestClass::kAdmin;
  }
  return std::nullopt;
}

std::string client_id_of(const http::Request& req) {
  if (const std::string* id = req.header("x-client-id"); id && is_valid_client_id(*id)) {
    return *id;
  }
  // The token identity: a digest of the bearer secret (never the secret itself), so that
  // one token's calls share a quota whichever addresses they come from.
  if (const std::string* auth = req.header("authorization");
      auth && auth->size() > 7 && auth->compare(0, 7, "Bearer ") == 0) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016zx",
                  std::hash<std::string_view>{}(std::string_view(*auth).substr(7)));
    return std::string("token:") + hex;
  }
  return std::string(host_of(req.remote_address));
}

http::Middleware rate_limit_middleware(Limiter& limiter) {
  return [&limiter](http::RequestPtr req, http::Reply reply, const http::Handler& next) {
    const auto cls = request_class(*req);
    if (!cls || req->header("x-cairn-forwarded")) return next(std::move(req), std::move(reply));
    const std::string client = client_id_of(*req);
    const Decision d = limiter.check(*cls, client);
    if (!d.allowed()) return reply(rejection(*req, *cls, client, d));
    if (!d.limited) return next(std::move(req), std::move(reply));
    http::Reply with_headers = [reply = std::move(reply), d,
                                now_s = wall_clock_ms() / 1000](http::Response res) {
      add_headers(res, d, now_s);
      reply(std::move(res));
    };
    next(std::move(req), std::move(with_headers));
  };
}

}  // namespace cairn::limit
