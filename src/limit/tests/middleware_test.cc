#include "limit/middleware.h"

#include <gtest/gtest.h>

#include "common/json.h"
#include "common/time.h"
#include "http/middleware.h"
#include "routes/testing.h"

namespace cairn::limit {
namespace {

struct FakeClock {
  int64_t now = 1'000'000;
  Limiter::Clock fn() {
    return [this] { return now; };
  }
};

std::optional<std::string> header(const http::Response& res, std::string_view name) {
  for (const auto& [k, v] : res.headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

class RateLimitMiddleware : public ::testing::Test {
 protected:
  RateLimitMiddleware() {
    Limits l = default_limits();
    l.client_default[0] = {0.001, 2};  // read: two, then one per 1000 s
    l.global[1] = {0.5, 1};            // write: one, then one per 2 s
    l.client_default[1] = {};
    limiter_ = std::make_unique<Limiter>(l, clock_.fn());
    const http::Router router =
        routes::router_of_every_route([this](http::RequestPtr, http::Reply reply) {
          ++handled_;
          reply(http::Response{});
        });
    handler_ = http::chain({router.resolver(), http::request_id_middleware(),
                            rate_limit_middleware(*limiter_)},
                           router.as_handler());
  }

  http::Response send(std::string method, std::string path,
                      std::vector<std::pair<std::string, std::string>> headers = {},
                      std::string remote = "10.0.0.7:5555") {
    auto req = std::make_shared<http::Request>();
    req->method = std::move(method);
    req->path = std::move(path);
    req->headers = std::move(headers);
    req->remote_address = std::move(remote);
    http::Response out;
    handler_(req, [&out](http::Response res) { out = std::move(res); });
    return out;
  }

  FakeClock clock_;
  std::unique_ptr<Limiter> limiter_;
  http::Handler handler_;
  int handled_ = 0;
};

TEST_F(RateLimitMiddleware, ClientOverItsQuotaGets42902WithTheSeedsBody) {
  auto ok = send("GET", "/api/v1/config/get");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(header(ok, "X-RateLimit-Limit"), "2");  // the bucket's capacity
  EXPECT_EQ(header(ok, "X-RateLimit-Remaining"), "1");
  EXPECT_TRUE(header(ok, "X-RateLimit-Reset"));
  EXPECT_FALSE(header(ok, "Retry-After"));
  EXPECT_EQ(send("GET", "/api/v1/config/get").status, 200);

  const int64_t before = wall_clock_ms() / 1000;
  auto res = send("GET", "/api/v1/config/get", {{"x-request-id", "rid-1"}});
  const int64_t after = wall_clock_ms() / 1000;
  EXPECT_EQ(handled_, 2);
  ASSERT_EQ(res.status, 429);
  Json body = Json::parse(res.body);
  EXPECT_EQ(body["code"], 42902);
  EXPECT_EQ(body["message"], "客户端配额超限");
  EXPECT_EQ(body["request_id"], "rid-1");
  EXPECT_GE(body["timestamp"].get<int64_t>(), before);
  const Json& e = body["error"];
  EXPECT_EQ(e["retry_after"], 1000);
  EXPECT_EQ(e["limit"], 0.001);
  EXPECT_EQ(e["remaining"], 0);
  EXPECT_GE(e["reset"].get<int64_t>(), before + 2000);
  EXPECT_LE(e["reset"].get<int64_t>(), after + 2000);
  EXPECT_NE(e["details"].get<std::string>().find("'10.0.0.7'"), std::string::npos);
  EXPECT_EQ(header(res, "Retry-After"), "1000");
  EXPECT_EQ(header(res, "X-RateLimit-Limit"), "2");
  EXPECT_EQ(header(res, "X-RateLimit-Remaining"), "0");
  EXPECT_EQ(header(res, "X-RateLimit-Reset"), std::to_string(e["reset"].get<int64_t>()));
  EXPECT_EQ(header(res, "X-Request-ID"), "rid-1");  // the request-id middleware still ran
}

TEST_F(RateLimitMiddleware, GlobalLimitGets42901) {
  EXPECT_EQ(send("POST", "/api/v1/admin/config").status, 200);
  auto res = send("PUT", "/api/v1/admin/config", {}, "10.9.9.9:1");
  ASSERT_EQ(res.status, 429);
  Json body = Json::parse(res.body);
  EXPECT_EQ(body["code"], 42901);
  EXPECT_EQ(body["message"], "请求频率超限");
  EXPECT_EQ(body["error"]["retry_after"], 2);
  EXPECT_EQ(body["error"]["limit"], 0.5);
  EXPECT_EQ(header(res, "Retry-After"), "2");
  clock_.now += 2'000;
  EXPECT_EQ(send("DELETE", "/api/v1/admin/config").status, 200);
}

TEST_F(RateLimitMiddleware, ClientIdComesFromTheHeaderElseTheAddress) {
  for (int i = 0; i < 2; ++i) send("GET", "/api/v1/config/get");
  EXPECT_EQ(send("GET", "/api/v1/config/get", {}, "10.0.0.7:6000").status, 429);  // same IP
  EXPECT_EQ(send("GET", "/api/v1/config/get", {}, "10.0.0.8:5555").status, 200);
  EXPECT_EQ(send("GET", "/api/v1/config/get", {{"x-client-id", "app-1"}}).status, 200);
  EXPECT_EQ(send("GET", "/api/v1/config/get", {{"x-client-id", "app-1"}}).status, 200);
  auto res = send("GET", "/api/v1/config/get", {{"x-client-id", "app-1"}}, "10.1.1.1:1");
  EXPECT_EQ(res.status, 429);
  EXPECT_NE(res.body.find("'app-1'"), std::string::npos);
  // An unusable id falls back to the address.
  EXPECT_EQ(send("GET", "/api/v1/config/get", {{"x-client-id", "bad id"}}).status, 429);
  // The VIP list of the defaults still applies.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(send("GET", "/api/v1/config/get", {{"x-client-id", "core-service"}}).status, 200);
  }
}

TEST_F(RateLimitMiddleware, UncountedRequestsPassUntouched) {
  for (int i = 0; i < 2; ++i) send("GET", "/api/v1/config/get");
  ASSERT_EQ(send("GET", "/api/v1/config/get").status, 429);
  for (const char* path : {"/api/v1/health", "/api/v1/config/watch", "/api/v1/config/watch/stream",
                           "/api/v1/debug/vars", "/api/v1/cluster/status", "/api/v1/metrics"}) {
    auto res = send("GET", path);
    EXPECT_EQ(res.status, 200) << path;
    EXPECT_FALSE(header(res, "X-RateLimit-Limit")) << path;
  }
  // Forwarded by another node: counted there.
  EXPECT_EQ(send("GET", "/api/v1/config/get", {{"x-cairn-forwarded", "node2"}}).status, 200);
  // Admin calls have no per-client quota by default: the global bucket is reported.
  auto admin = send("POST", "/api/v1/admin/namespace");
  EXPECT_EQ(admin.status, 200);
  EXPECT_EQ(header(admin, "X-RateLimit-Limit"), "200");
  EXPECT_EQ(header(admin, "X-RateLimit-Remaining"), "199");
}

// Issue 15 item 15: with the default limits a client's first read said Remaining 1999 of
// Limit 1000 (the rate). Remaining is counted against the Limit reported: the capacity of the
// same bucket, and of the bucket closest to refusing.
TEST(RateLimitHeaders, RemainingNeverExceedsLimit) {
  FakeClock clock;
  Limits l = default_limits();
  l.global[0] = {5, 3};  // read: the node's bucket is smaller than the client's
  Limiter limiter(default_limits(), clock.fn());
  Limiter tight(l, clock.fn());
  auto run = [](Limiter& lim, std::string client) {
    const http::Router router = routes::router_of_every_route(
        [](http::RequestPtr, http::Reply r) { r(http::Response{}); });
    http::Handler h =
        http::chain({router.resolver(), rate_limit_middleware(lim)}, router.as_handler());
    auto req = std::make_shared<http::Request>();
    req->method = "GET";
    req->path = "/api/v1/config/get";
    req->headers = {{"x-client-id", std::move(client)}};
    http::Response out;
    h(req, [&out](http::Response res) { out = std::move(res); });
    return out;
  };
  auto res = run(limiter, "app");
  EXPECT_EQ(header(res, "X-RateLimit-Limit"), "2000");
  EXPECT_EQ(header(res, "X-RateLimit-Remaining"), "1999");
  // The global bucket (3 tokens) is closer to refusing than the client's (2000): reported.
  for (int left : {2, 1, 0}) {
    res = run(tight, "app-" + std::to_string(left));
    ASSERT_EQ(res.status, 200);
    EXPECT_EQ(header(res, "X-RateLimit-Limit"), "3");
    EXPECT_EQ(header(res, "X-RateLimit-Remaining"), std::to_string(left));
  }
  res = run(tight, "app-x");
  EXPECT_EQ(res.status, 429);
  EXPECT_EQ(Json::parse(res.body)["code"], 42901);
  for (auto* lim : {&limiter, &tight}) {
    for (int i = 0; i < 50; ++i) {
      res = run(*lim, "c" + std::to_string(i % 3));
      auto limit = header(res, "X-RateLimit-Limit");
      auto remaining = header(res, "X-RateLimit-Remaining");
      ASSERT_TRUE(limit && remaining);
      EXPECT_LE(std::stod(*remaining), std::stod(*limit));
    }
  }
}

TEST(ClientId, FromRequest) {
  http::Request req;
  req.remote_address = "[::1]:9000";
  EXPECT_EQ(client_id_of(req), "::1");
  req.headers.emplace_back("authorization", "Bearer cairn_secret");
  std::string by_token = client_id_of(req);
  EXPECT_EQ(by_token.rfind("token:", 0), 0u) << by_token;
  EXPECT_EQ(by_token.find("secret"), std::string::npos) << "the secret must not show";
  req.remote_address = "10.9.9.9:1";
  EXPECT_EQ(client_id_of(req), by_token) << "one token, one quota, from any address";
  req.headers.back().second = "Bearer other";
  EXPECT_NE(client_id_of(req), by_token);
  req.headers.emplace_back("x-client-id", "svc-a");
  EXPECT_EQ(client_id_of(req), "svc-a");
}

}  // namespace
}  // namespace cairn::limit
