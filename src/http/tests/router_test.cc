#include "http/router.h"

#include <gtest/gtest.h>

#include <deque>
#include <stdexcept>

#include "common/json.h"

namespace cairn::http {
namespace {

Response make_response(int status, std::string body = {}) {
  Response res;
  res.status = status;
  res.body = std::move(body);
  return res;
}

RequestPtr make_request(std::string method, std::string path) {
  auto req = std::make_shared<Request>();
  req->method = std::move(method);
  req->path = std::move(path);
  req->request_id = "rid-1";
  return req;
}

/// Dispatches synchronously and returns the response.
Response call(const Router& router, const RequestPtr& req) {
  Response got;
  got.status = -1;
  router.dispatch(req, [&got](Response res) { got = std::move(res); });
  return got;
}

/// A route for these tests; the deque keeps every one at its address, as the router needs.
const Route& route(std::string_view method, std::string_view path_template) {
  static std::deque<Route> routes;
  return routes.emplace_back(Route{method, path_template});
}

Handler answer(std::string tag) {
  return [tag](RequestPtr, Reply reply) { reply(make_response(200, tag)); };
}

std::string header(const Response& res, std::string_view name) {
  for (const auto& [k, v] : res.headers) {
    if (k == name) return v;
  }
  return "<none>";
}

TEST(Router, MatchesLiteralsAndParameters) {
  Router router;
  router.add(route("GET", "/api/v1/config/get"), answer("get"));
  router.add(route("GET", "/api/v1/config/namespace/{namespace}"), answer("ns"));
  router.add(route("DELETE", "/api/v1/admin/{kind}/{id}"), answer("del"));

  auto req = make_request("GET", "/api/v1/config/get");
  EXPECT_EQ(call(router, req).body, "get");
  ASSERT_NE(req->route, nullptr);
  EXPECT_EQ(req->route->path_template, "/api/v1/config/get");
  EXPECT_TRUE(req->path_params.empty());

  req = make_request("GET", "/api/v1/config/namespace/user-service");
  EXPECT_EQ(call(router, req).body, "ns");
  EXPECT_EQ(req->route->path_template, "/api/v1/config/namespace/{namespace}");
  EXPECT_EQ(req->path_param("namespace"), "user-service");

  req = make_request("DELETE", "/api/v1/admin/namespace/42");
  EXPECT_EQ(call(router, req).body, "del");
  EXPECT_EQ(req->path_params, (std::vector<std::pair<std::string, std::string>>{
                                  {"kind", "namespace"}, {"id", "42"}}));
}

TEST(Router, RestOfPathSegmentTakesWhatIsLeft) {
  Router router;
  router.add(route("GET", "/v1/kv/{key...}"), answer("kv"));
  router.add(route("GET", "/v1/kv/{key}"), answer("one"));
  router.add(route("GET", "/v1/status/leader"), answer("leader"));
  auto req = make_request("GET", "/v1/kv/app/db/host");
  EXPECT_EQ(call(router, req).body, "kv");
  EXPECT_EQ(req->path_param("key"), "app/db/host");
  req = make_request("GET", "/v1/kv/app/folder/");
  EXPECT_EQ(call(router, req).body, "kv");
  EXPECT_EQ(req->path_param("key"), "app/folder/");
  req = make_request("GET", "/v1/kv/");
  EXPECT_EQ(call(router, req).body, "kv");
  EXPECT_EQ(req->path_param("key"), "");
  // One segment: the one-segment parameter is more specific.
  EXPECT_EQ(call(router, make_request("GET", "/v1/kv/app")).body, "one");
  EXPECT_EQ(call(router, make_request("GET", "/v1/kv")).status, 404);
  EXPECT_THROW(router.add(route("GET", "/a/{rest...}/b"), answer("x")), std::logic_error);
}

void plain_text_error(const Request& req, const api::Error& error, Response& res) {
  res.content_type = "text/plain; charset=utf-8";
  res.body = std::string(req.route ? "route" : "path") + ": " + error.details;
}

TEST(Router, ErrorRenderersWordTheAnswersGivenBeforeTheHandler) {
  Router router;
  router.add(route("GET", "/v1/kv/{key...}"), answer("kv"), plain_text_error);
  router.add(route("GET", "/api/thing"), answer("thing"));
  Response res = call(router, make_request("PUT", "/v1/kv/a"));
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(res.body.rfind("path: method PUT not allowed", 0), 0u) << res.body;
  EXPECT_EQ(header(res, "Allow"), "GET, HEAD");
  res = call(router, make_request("PUT", "/api/thing"));  // no renderer: the envelope
  EXPECT_EQ(res.status, 405);
  EXPECT_NE(res.body.find(R"("code":40501)"), std::string::npos) << res.body;

  // The guard and the limiter answer through error_response with the matched route's renderer.
  auto req = make_request("GET", "/v1/kv/a");
  router.resolve(*req);
  res = error_response(*req, api::make_error(api::Errc::kForbidden, "no"));
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(res.body, "route: no");
}

TEST(Router, ParameterNeedsOneNonEmptySegment) {
  Router router;
  router.add(route("GET", "/ns/{id}"), answer("ns"));
  EXPECT_EQ(call(router, make_request("GET", "/ns/")).status, 404);
  EXPECT_EQ(call(router, make_request("GET", "/ns")).status, 404);
  EXPECT_EQ(call(router, make_request("GET", "/ns/a/b")).status, 404);
  EXPECT_EQ(call(router, make_request("GET", "/ns/a")).status, 200);
}

TEST(Router, TrailingSlashIsADistinctPath) {
  Router router;
  router.add(route("GET", "/a"), answer("a"));
  router.add(route("GET", "/b/"), answer("b/"));
  EXPECT_EQ(call(router, make_request("GET", "/a")).body, "a");
  EXPECT_EQ(call(router, make_request("GET", "/a/")).status, 404);
  EXPECT_EQ(call(router, make_request("GET", "/b/")).body, "b/");
  EXPECT_EQ(call(router, make_request("GET", "/b")).status, 404);
  EXPECT_EQ(call(router, make_request("GET", "//a")).status, 404);
}

TEST(Router, LiteralWinsOverParameter) {
  Router router;
  router.add(route("GET", "/ns/{id}"), answer("param"));
  router.add(route("GET", "/ns/list"), answer("list"));
  EXPECT_EQ(call(router, make_request("GET", "/ns/list")).body, "list");
  EXPECT_EQ(call(router, make_request("GET", "/ns/other")).body, "param");
}

TEST(Router, UnknownPathIs404Envelope) {
  Router router;
  router.add(route("GET", "/a"), answer("a"));
  Response res = call(router, make_request("GET", "/nope/x"));
  EXPECT_EQ(res.status, 404);
  auto j = Json::parse(res.body);
  EXPECT_EQ(j["code"], 40401);
  EXPECT_EQ(j["request_id"], "rid-1");
  EXPECT_NE(j["error"]["details"].get<std::string>().find("/nope/x"), std::string::npos);
}

TEST(Router, WrongMethodIs405WithAllow) {
  Router router;
  router.add(route("GET", "/api/v1/admin/config"), answer("get"));
  router.add(route("POST", "/api/v1/admin/config"), answer("post"));
  router.add(route("PUT", "/api/v1/admin/other"), answer("put"));
  auto req = make_request("DELETE", "/api/v1/admin/config");
  Response res = call(router, req);
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(header(res, "Allow"), "GET, HEAD, POST");  // HEAD wherever GET (issue 15 item 12)
  auto j = Json::parse(res.body);
  EXPECT_EQ(j["code"], 40501);
  EXPECT_EQ(req->route, nullptr);
  ASSERT_NE(req->path_route, nullptr);  // what metrics label a 405 by
  EXPECT_EQ(req->path_route->path_template, "/api/v1/admin/config");
}

TEST(Router, AllowListsMethodsOfEveryMatchingTemplate) {
  Router router;
  router.add(route("GET", "/ns/{id}"), answer("get"));
  router.add(route("DELETE", "/ns/list"), answer("x"));
  router.add(route("GET", "/ns/list"), answer("x"));  // duplicate method listed once
  Response res = call(router, make_request("PATCH", "/ns/list"));
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(header(res, "Allow"), "GET, HEAD, DELETE");
}

// Issue 15 item 12: the server hands a HEAD on as a GET; a path without GET lists no HEAD, and
// the 405 names the method the client sent.
TEST(Router, HeadIsServedByTheGetRouteAndNamedInErrors) {
  Router router;
  router.add(route("GET", "/a"), answer("get"));
  router.add(route("POST", "/b"), answer("post"));
  auto head = make_request("GET", "/a");
  head->head = true;
  EXPECT_EQ(call(router, head).status, 200);
  auto on_b = make_request("GET", "/b");
  on_b->head = true;
  Response res = call(router, on_b);
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(header(res, "Allow"), "POST");
  EXPECT_NE(Json::parse(res.body)["error"]["details"].get<std::string>().find("method HEAD"),
            std::string::npos)
      << res.body;
}

TEST(Router, ErrorWithoutRequestIdGetsOne) {
  Router router;
  auto req = make_request("GET", "/x");
  req->request_id.clear();
  auto j = Json::parse(call(router, req).body);
  EXPECT_EQ(j["request_id"].get<std::string>().size(), 36u);
}

TEST(Router, RefusesUndeclaredAndRepeatedRoutes) {
  const Route& declared = route("GET", "/a");
  Router router([&declared](const Route& r) { return &r == &declared; });
  router.add(declared, answer("a"));
  EXPECT_THROW(router.add(route("GET", "/b"), answer("b")), std::logic_error);
  Router open;
  open.add(route("GET", "/a"), answer("a"));
  EXPECT_THROW(open.add(route("GET", "/a"), answer("again")), std::logic_error);
  EXPECT_EQ(open.routes().size(), 1u);
}

// The resolver sets the route before the middlewares run; dispatch then serves that route
// without matching the path again, and resolves by itself when no resolver ran.
TEST(Router, ResolverSetsTheRouteForTheMiddlewares) {
  Router router;
  const Route& get = route("GET", "/ns/{id}");
  router.add(get, [](RequestPtr req, Reply reply) {
    reply(make_response(200, std::string(req->path_param("id").value_or(""))));
  });
  const Route* seen = nullptr;
  Handler h = chain({router.resolver(),
                     [&seen](RequestPtr req, Reply reply, const Handler& next) {
                       seen = req->route;
                       next(std::move(req), std::move(reply));
                     }},
                    router.as_handler());
  std::string body;
  h(make_request("GET", "/ns/7"), [&body](Response res) { body = res.body; });
  EXPECT_EQ(seen, &get);
  EXPECT_EQ(body, "7");

  h(make_request("GET", "/nope"), [](Response) {});
  EXPECT_EQ(seen, nullptr);
  auto req = make_request("DELETE", "/ns/7");
  router.resolve(*req);
  EXPECT_EQ(req->route, nullptr);
  EXPECT_EQ(req->path_route, &get);
}

TEST(Router, AsHandlerOutlivesRouter) {
  Handler h;
  {
    Router router;
    router.add(route("GET", "/a"), answer("a"));
    h = router.as_handler();
  }
  std::string body;
  h(make_request("GET", "/a"), [&body](Response res) { body = res.body; });
  EXPECT_EQ(body, "a");
}

}  // namespace
}  // namespace cairn::http
