#include "http/middleware.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "common/json.h"
#include "http/router.h"

namespace cairn::http {
namespace {

Response make_response(int status, std::string body = {}) {
  Response res;
  res.status = status;
  res.body = std::move(body);
  return res;
}

std::vector<std::string> headers_named(const Response& res, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : res.headers) {
    if (k == name) out.push_back(v);
  }
  return out;
}

struct Outcome {
  RequestPtr req;
  Response res;
};

Outcome run(std::vector<std::pair<std::string, std::string>> headers, Handler last = {}) {
  Outcome out;
  out.req = std::make_shared<Request>();
  out.req->method = "GET";
  out.req->path = "/x";
  out.req->headers = std::move(headers);
  if (!last) last = [](RequestPtr, Reply reply) { reply(Response{}); };
  Handler h = chain({request_id_middleware(), access_log_middleware()}, last);
  h(out.req, [&out](Response res) { out.res = std::move(res); });
  return out;
}

TEST(RequestId, EchoesValidId) {
  auto o = run({{"x-request-id", "abc-123 XYZ"}});
  EXPECT_EQ(o.req->request_id, "abc-123 XYZ");
  EXPECT_EQ(headers_named(o.res, "X-Request-ID"), std::vector<std::string>{"abc-123 XYZ"});
  std::string max(128, 'a');
  EXPECT_EQ(run({{"x-request-id", max}}).req->request_id, max);
}

TEST(RequestId, ReplacesInvalidOrMissingId) {
  for (std::string bad : {std::string(129, 'a'), std::string(""), std::string("a\x01b"),
                          std::string("tab\there"), std::string("caf\xc3\xa9")}) {
    auto o = run({{"x-request-id", bad}});
    EXPECT_NE(o.req->request_id, bad);
    EXPECT_EQ(o.req->request_id.size(), 36u);  // a UUID
    EXPECT_EQ(headers_named(o.res, "X-Request-ID"), std::vector<std::string>{o.req->request_id});
  }
  auto a = run({});
  auto b = run({});
  EXPECT_EQ(a.req->request_id.size(), 36u);
  EXPECT_NE(a.req->request_id, b.req->request_id);
}

TEST(RequestId, ReplacesHeadersTheHandlerSet) {
  auto o = run({{"x-request-id", "mine"}}, [](RequestPtr, Reply reply) {
    Response res;
    res.headers = {{"x-request-id", "other"}, {"X-Keep", "1"}};
    reply(std::move(res));
  });
  EXPECT_EQ(headers_named(o.res, "X-Request-ID"), std::vector<std::string>{"mine"});
  EXPECT_TRUE(headers_named(o.res, "x-request-id").empty());
  EXPECT_EQ(headers_named(o.res, "X-Keep"), std::vector<std::string>{"1"});
}

TEST(Traceparent, Validation) {
  EXPECT_TRUE(is_valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_TRUE(is_valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
  for (const char* bad : {
           "",
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero parent id
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper case
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // unknown version
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",    // short trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",  // trailing data
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
       }) {
    EXPECT_FALSE(is_valid_traceparent(bad)) << bad;
  }
}

TEST(Traceparent, KeepsCallersTraceWithNewSpan) {
  const std::string incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto o = run({{"traceparent", incoming}});
  ASSERT_TRUE(is_valid_traceparent(o.req->traceparent)) << o.req->traceparent;
  EXPECT_EQ(o.req->traceparent.substr(0, 36), incoming.substr(0, 36));    // version + trace id
  EXPECT_NE(o.req->traceparent.substr(36, 16), incoming.substr(36, 16));  // our span
  EXPECT_EQ(o.req->traceparent.substr(52), "-01");
  EXPECT_EQ(headers_named(o.res, "traceparent"), std::vector<std::string>{o.req->traceparent});
}

TEST(Traceparent, GeneratesWhenAbsentOrInvalid) {
  const std::string zero = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
  auto a = run({{"traceparent", zero}});
  auto b = run({});
  for (const auto& o : {a, b}) {
    ASSERT_TRUE(is_valid_traceparent(o.req->traceparent)) << o.req->traceparent;
    EXPECT_EQ(headers_named(o.res, "traceparent"), std::vector<std::string>{o.req->traceparent});
  }
  EXPECT_NE(a.req->traceparent.substr(3, 32), zero.substr(3, 32));
  EXPECT_NE(a.req->traceparent.substr(3, 32), b.req->traceparent.substr(3, 32));
}

TEST(RequestId, RouterErrorsCarryTheHeaders) {
  Router router;
  static constexpr Route kKnown{"GET", "/known"};
  router.add(kKnown, [](RequestPtr, Reply reply) { reply(Response{}); });
  auto o = run({{"x-request-id", "r-404"}}, router.as_handler());
  EXPECT_EQ(o.res.status, 404);
  EXPECT_EQ(headers_named(o.res, "X-Request-ID"), std::vector<std::string>{"r-404"});
  EXPECT_EQ(headers_named(o.res, "traceparent").size(), 1u);
  EXPECT_EQ(Json::parse(o.res.body)["request_id"], "r-404");
}

TEST(AccessLog, PassesTheResponseThroughWhenAnsweredLater) {
  Reply saved;
  RequestPtr req = std::make_shared<Request>();
  Handler h = chain({access_log_middleware()},
                    [&saved](RequestPtr, Reply reply) { saved = std::move(reply); });
  int status = 0;
  h(req, [&status](Response res) { status = res.status; });
  req.reset();  // the wrapper keeps the request alive
  ASSERT_TRUE(saved);
  saved(make_response(204));
  EXPECT_EQ(status, 204);
}

TEST(AccessLog, WritesOneJsonLinePerRequest) {
  std::ostringstream lines;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "access-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines));
  logger->set_pattern("%v");
  spdlog::set_default_logger(logger);

  auto req = std::make_shared<Request>();
  req->method = "POST";
  req->path = "/api/v1/admin/config";
  static constexpr Route kRoute{"POST", "/api/v1/admin/config"};
  req->route = &kRoute;
  req->remote_address = "10.0.0.7:5555";
  req->headers = {{"x-request-id", "log-1"},
                  {"x-client-id", "svc-a"},
                  {"user-agent", "curl/8"},
                  {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}};
  req->body = R"({"namespace":"ns1","key":"db.host","value":1})";
  req->received_monotonic_ms = 1;
  Handler h = chain({request_id_middleware(), access_log_middleware({"node7", "1.2.3"})},
                    [](RequestPtr, Reply reply) {
                      reply(make_response(409, R"({"code":40901,"message":"conflict"})"));
                    });
  h(req, [](Response) {});
  spdlog::set_default_logger(previous);

  const std::string text = lines.str();
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  Json j = Json::parse(text);
  EXPECT_EQ(j["request_id"], "log-1");
  EXPECT_EQ(j["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(j["span_id"], req->traceparent.substr(36, 16));
  EXPECT_EQ(j["api"], "/api/v1/admin/config");
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["namespace"], "ns1");
  EXPECT_EQ(j["config_key"], "db.host");
  EXPECT_EQ(j["status_code"], 409);
  EXPECT_EQ(j["error_code"], 40901);
  EXPECT_EQ(j["client_id"], "svc-a");
  EXPECT_EQ(j["client_ip"], "10.0.0.7");
  EXPECT_EQ(j["user_agent"], "curl/8");
  EXPECT_EQ(j["node_id"], "node7");
  EXPECT_EQ(j["version"], "1.2.3");
  EXPECT_TRUE(j["duration_ms"].is_number_integer());
  EXPECT_EQ(j["end_time"].get<int64_t>() - j["start_time"].get<int64_t>(), j["duration_ms"]);
}

TEST(AccessLog, QueryParametersAndUnmatchedRoutes) {
  Request req;
  req.method = "GET";
  req.path = "/nowhere";
  req.query = {{"namespace", "a"}, {"key", "b"}};
  req.body = "not json";
  Json j = Json::parse(access_log_line(req, make_response(200, "plain"), 3, 1000, {}));
  EXPECT_EQ(j["api"], "/nowhere");
  EXPECT_EQ(j["namespace"], "a");
  EXPECT_EQ(j["config_key"], "b");
  EXPECT_EQ(j["error_code"], 0);
  EXPECT_EQ(j["trace_id"], "");
}

TEST(TraceId, SeedHeaderStartsTheTrace) {
  EXPECT_EQ(trace_id_from_header("550E8400-E29B-41D4-A716-446655440000"),
            "550e8400e29b41d4a716446655440000");
  EXPECT_EQ(trace_id_from_header("4bf92f3577b34da6a3ce929d0e0e4736"),
            "4bf92f3577b34da6a3ce929d0e0e4736");
  for (const char* bad :
       {"", "abc", "00000000000000000000000000000000", "zzf92f3577b34da6a3ce929d0e0e4736",
        "4bf92f35-77b34da6a3ce929d0e0e4736"}) {
    EXPECT_EQ(trace_id_from_header(bad), "") << bad;
  }
  auto o = run({{"x-trace-id", "550e8400-e29b-41d4-a716-446655440000"}});
  EXPECT_EQ(o.req->traceparent.substr(3, 32), "550e8400e29b41d4a716446655440000");
  EXPECT_EQ(headers_named(o.res, "X-Trace-ID"),
            std::vector<std::string>{"550e8400e29b41d4a716446655440000"});
}

TEST(TraceId, TraceparentWinsOverSeedHeader) {
  auto o = run({{"x-trace-id", "550e8400-e29b-41d4-a716-446655440000"},
                {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}});
  EXPECT_EQ(o.req->traceparent.substr(3, 32), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(headers_named(o.res, "X-Trace-ID"),
            std::vector<std::string>{"4bf92f3577b34da6a3ce929d0e0e4736"});
  auto fresh = run({});
  EXPECT_EQ(headers_named(fresh.res, "X-Trace-ID"),
            std::vector<std::string>{fresh.req->traceparent.substr(3, 32)});
}

}  // namespace
}  // namespace cairn::http
