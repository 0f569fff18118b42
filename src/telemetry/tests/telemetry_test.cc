#include "telemetry/telemetry.h"

#include <gtest/gtest.h>

#include "common/json.h"
#include "http/middleware.h"
#include "routes/table.h"
#include "telemetry/collectors.h"
#include "telemetry/tests/receiver.h"

namespace cairn::telemetry {
namespace {

struct Server {
  Telemetry& t;
  http::Router router{routes::declared};
  http::Handler handler;
  /// Answers 429 before routing, as the rate limiter does, for paths ending in "/429".
  static void early(http::RequestPtr req, http::Reply reply, const http::Handler& next) {
    if (!req->path.ends_with("/429")) return next(std::move(req), std::move(reply));
    http::Response res;
    res.status = 429;
    reply(std::move(res));
  }
  explicit Server(Telemetry& telemetry) : t(telemetry) {
    router.add(routes::kConfigGet, [](http::RequestPtr, http::Reply reply) {
      // Work done for the request shows up as a child span of the request's span.
      ChildSpan child("lookup");
      http::Response res;
      res.status = child.active() ? 200 : 500;
      reply(std::move(res));
    });
    router.add(routes::kNamespaceUpdate,
               [](http::RequestPtr, http::Reply reply) { reply(http::Response{}); });
    router.add(routes::kNamespaceList,
               [](http::RequestPtr, http::Reply reply) { reply(http::Response{}); });
    t.register_routes(router);
    handler = http::chain(
        {router.resolver(), http::request_id_middleware(), t.middleware(), early},
        router.as_handler());
  }
  http::Response call(std::string method, std::string path,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto req = std::make_shared<http::Request>();
    req->method = std::move(method);
    req->path = req->target = std::move(path);
    req->headers = std::move(headers);
    http::Response out;
    handler(req, [&out](http::Response res) { out = std::move(res); });
    return out;
  }
};

std::string metrics_of(Server& s) { return s.call("GET", "/api/v1/metrics").body; }

/// The value of config_center_api_requests_total{api,method,status} in `text`, or -1.
int64_t requests_total(const std::string& text, std::string_view api, std::string_view method,
                       std::string_view status) {
  const std::string series = "config_center_api_requests_total{api=\"" + std::string(api) +
                             "\",method=\"" + std::string(method) + "\",status=\"" +
                             std::string(status) + "\"} ";
  const size_t at = text.find(series);
  return at == std::string::npos ? -1 : std::stoll(text.substr(at + series.size()));
}

// Requests answered before routing (rate-limited, forwarded to the leader) carry the label of
// the route the resolver found, never the raw path.
TEST(Telemetry, RequestsAnsweredBeforeRoutingAreLabelledByTheirRoute) {
  Telemetry t(TelemetryOptions{"n1", {}, 60'000});
  Server s(t);
  EXPECT_EQ(s.call("PUT", "/api/v1/admin/namespace/429").status, 429);
  EXPECT_EQ(s.call("GET", "/api/v1/admin/namespace/list").status, 200);
  EXPECT_EQ(s.call("GET", "/api/v1/admin/namespace/").status, 404);
  EXPECT_EQ(s.call("GET", "/etc/passwd/429").status, 429);
  std::string text = metrics_of(s);
  EXPECT_EQ(requests_total(text, "/api/v1/admin/namespace/{id}", "PUT", "429"), 1) << text;
  EXPECT_EQ(requests_total(text, "/api/v1/admin/namespace/list", "GET", "200"), 1) << text;
  EXPECT_EQ(requests_total(text, "unmatched", "GET", "404"), 1) << text;
  EXPECT_EQ(requests_total(text, "unmatched", "GET", "429"), 1) << text;
  EXPECT_EQ(text.find("passwd"), std::string::npos);
}

TEST(Telemetry, CountsRequestsByRouteTemplate) {
  Telemetry t(TelemetryOptions{"n1", {}, 60'000});
  Server s(t);
  s.call("PUT", "/api/v1/admin/namespace/7");
  s.call("PUT", "/api/v1/admin/namespace/8");
  s.call("GET", "/no/such/path");
  std::string text = metrics_of(s);
  EXPECT_NE(text.find("config_center_api_requests_total{api=\"/api/v1/admin/namespace/{id}\","
                      "method=\"PUT\",status=\"200\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("config_center_api_requests_total{api=\"unmatched\",method=\"GET\","
                      "status=\"404\"} 1"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("namespace/7"), std::string::npos);
  EXPECT_NE(text.find("config_center_api_request_duration_seconds_count{api=\"/api/v1/admin/"
                      "namespace/{id}\",method=\"PUT\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE health_check_status gauge"), std::string::npos);
}

// Issue 15 item 2: a made-up method must not create series of its own; they all share
// method="other", and HEAD (sent on as a GET) keeps its own label.
TEST(Telemetry, UnknownMethodsFoldIntoOther) {
  Telemetry t(TelemetryOptions{"n1", {}, 60'000});
  Server s(t);
  for (std::string m : {"FOO1", "FOO2", "BREW", "PROPFIND"}) s.call(m, "/api/v1/config/get");
  s.call("DELETE", "/api/v1/config/get");
  auto head = std::make_shared<http::Request>();
  head->method = "GET";
  head->head = true;
  head->path = head->target = "/api/v1/config/get";
  s.handler(head, [](http::Response) {});
  std::string text = metrics_of(s);
  EXPECT_NE(text.find("config_center_api_requests_total{api=\"/api/v1/config/get\","
                      "method=\"other\",status=\"405\"} 4"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("method=\"DELETE\""), std::string::npos) << text;
  // (The route's handler answers 500 without a trace endpoint: see the fixture.)
  EXPECT_NE(text.find("config_center_api_requests_total{api=\"/api/v1/config/get\","
                      "method=\"HEAD\",status=\"500\"} 1"),
            std::string::npos)
      << text;
  for (std::string m : {"FOO1", "FOO2", "BREW", "PROPFIND"}) {
    EXPECT_EQ(text.find("method=\"" + m + "\""), std::string::npos) << m;
  }
  EXPECT_EQ(method_label("PATCH"), "PATCH");
  EXPECT_EQ(method_label("OPTIONS"), "OPTIONS");
  EXPECT_EQ(method_label(""), "other");
}

TEST(Telemetry, RequestAndChildSpansReachTheCollector) {
  Receiver receiver;
  const std::string caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  http::Response res;
  {
    TelemetryOptions o{"n1", {}, 60'000};
    o.tracer.endpoint = "http://127.0.0.1:" + std::to_string(receiver.port());
    Telemetry t(o);
    Server s(t);
    res = s.call("GET", "/api/v1/config/get", {{"traceparent", caller}});
    EXPECT_EQ(res.status, 200);  // the handler saw an active span
  }                              // the tracer sends what it holds
  std::string ours;
  for (const auto& [k, v] : res.headers) {
    if (k == "traceparent") ours = v;
  }
  ASSERT_EQ(ours.substr(0, 36), caller.substr(0, 36));
  std::map<std::string, Json> spans;  // by name
  for (const auto& body : receiver.bodies()) {
    const Json parsed = Json::parse(body);
    for (const auto& span : parsed["resourceSpans"][0]["scopeSpans"][0]["spans"]) {
      spans[span["name"].get<std::string>()] = span;
    }
  }
  ASSERT_EQ(spans.size(), 2u);
  const Json& server = spans["GET /api/v1/config/get"];
  EXPECT_EQ(server["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(server["spanId"], ours.substr(36, 16));
  EXPECT_EQ(server["parentSpanId"], "00f067aa0ba902b7");
  EXPECT_EQ(server["kind"], 2);
  const Json& child = spans["lookup"];
  EXPECT_EQ(child["traceId"], server["traceId"]);
  EXPECT_EQ(child["parentSpanId"], server["spanId"]);
}

TEST(Telemetry, NoActiveSpanWithoutAnEndpoint) {
  Telemetry t(TelemetryOptions{"n1", {}, 60'000});
  Server s(t);
  EXPECT_EQ(s.call("GET", "/api/v1/config/get").status, 500);  // ChildSpan inactive
  EXPECT_EQ(active_span(), nullptr);
}

TEST(Telemetry, DbQueriesAreLabelledByKeyword) {
  Telemetry t(TelemetryOptions{"n1", {}, 60'000});
  t.observe_db_query("  SELECT * FROM t", 1'000'000);
  t.observe_db_query("DROP TABLE t", 1'000'000);
  std::string text = t.registry().expose();
  EXPECT_NE(text.find("config_center_db_query_duration_seconds_count{op=\"select\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("config_center_db_query_duration_seconds_count{op=\"other\"} 1"),
            std::string::npos);
}

// Issue 15 item 8: the seed's cache_operation_duration and db_connection_count, named as the
// other metrics are (config_center_ prefix, base unit seconds, no _count on a gauge).
TEST(Telemetry, CacheOperationsAndDbConnections) {
  Telemetry t(TelemetryOptions{"n1", {}, 60'000});
  t.observe_cache_operation("GET", 2'000'000);
  t.observe_cache_operation("EVAL", 1'000'000);
  t.observe_cache_operation("FLUSHALL", 1'000'000);
  t.observe_cache_operation("NO SUCH", 1'000'000);
  add_db_metrics(t.registry(), [] { return DbConnections{3, 1}; });
  std::string text = t.registry().expose();
  EXPECT_NE(text.find("# TYPE config_center_cache_operation_duration_seconds histogram"),
            std::string::npos);
  EXPECT_NE(text.find("config_center_cache_operation_duration_seconds_count{operation=\"get\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("config_center_cache_operation_duration_seconds_sum{operation=\"get\"} 0.002"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("config_center_cache_operation_duration_seconds_count{operation=\"eval\"} 1"),
            std::string::npos);
  EXPECT_NE(
      text.find("config_center_cache_operation_duration_seconds_count{operation=\"other\"} 2"),
      std::string::npos);
  EXPECT_NE(text.find("# TYPE config_center_db_connections gauge\n"), std::string::npos);
  EXPECT_NE(text.find("config_center_db_connections{state=\"in_use\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("config_center_db_connections{state=\"open\"} 3\n"), std::string::npos);
}

}  // namespace
}  // namespace cairn::telemetry
