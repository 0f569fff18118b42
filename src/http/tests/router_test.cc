#include "http/router.h"

#include <gtest/gtest.h>

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
  router.add("GET", "/api/v1/config/get", answer("get"));
  router.add("GET", "/api/v1/config/namespace/{namespace}", answer("ns"));
  router.add("DELETE", "/api/v1/admin/{kind}/{id}", answer("del"));

  auto req = make_request("GET", "/api/v1/config/get");
  EXPECT_EQ(call(router, req).body, "get");
  EXPECT_EQ(req->route, "/api/v1/config/get");
  EXPECT_TRUE(req->path_params.empty());

  req = make_request("GET", "/api/v1/config/namespace/user-service");
  EXPECT_EQ(call(router, req).body, "ns");
  EXPECT_EQ(req->route, "/api/v1/config/namespace/{namespace}");
  EXPECT_EQ(req->path_param("namespace"), "user-service");

  req = make_request("DELETE", "/api/v1/admin/namespace/42");
  EXPECT_EQ(call(router, req).body, "del");
  EXPECT_EQ(req->path_params, (std::vector<std::pair<std::string, std::string>>{
                                  {"kind", "namespace"}, {"id", "42"}}));
}

TEST(Router, ParameterNeedsOneNonEmptySegment) {
  Router router;
  router.add("GET", "/ns/{id}", answer("ns"));
  EXPECT_EQ(call(router, make_request("GET", "/ns/")).status, 404);
  EXPECT_EQ(call(router, make_request("GET", "/ns")).status, 404);
  EXPECT_EQ(call(router, make_request("GET", "/ns/a/b")).status, 404);
  EXPECT_EQ(call(router, make_request("GET", "/ns/a")).status, 200);
}

TEST(Router, TrailingSlashIsADistinctPath) {
  Router router;
  router.add("GET", "/a", answer("a"));
  router.add("GET", "/b/", answer("b/"));
  EXPECT_EQ(call(router, make_request("GET", "/a")).body, "a");
  EXPECT_EQ(call(router, make_request("GET", "/a/")).status, 404);
  EXPECT_EQ(call(router, make_request("GET", "/b/")).body, "b/");
  EXPECT_EQ(call(router, make_request("GET", "/b")).status, 404);
  EXPECT_EQ(call(router, make_request("GET", "//a")).status, 404);
}

TEST(Router, LiteralWinsOverParameter) {
  Router router;
  router.add("GET", "/ns/{id}", answer("param"));
  router.add("GET", "/ns/list", answer("list"));
  EXPECT_EQ(call(router, make_request("GET", "/ns/list")).body, "list");
  EXPECT_EQ(call(router, make_request("GET", "/ns/other")).body, "param");
}

TEST(Router, UnknownPathIs404Envelope) {
  Router router;
  router.add("GET", "/a", answer("a"));
  Response res = call(router, make_request("GET", "/nope/x"));
  EXPECT_EQ(res.status, 404);
  auto j = Json::parse(res.body);
  EXPECT_EQ(j["code"], 40401);
  EXPECT_EQ(j["request_id"], "rid-1");
  EXPECT_NE(j["error"]["details"].get<std::string>().find("/nope/x"), std::string::npos);
}

TEST(Router, WrongMethodIs405WithAllow) {
  Router router;
  router.add("GET", "/api/v1/admin/config", answer("get"));
  router.add("POST", "/api/v1/admin/config", answer("post"));
  router.add("PUT", "/api/v1/admin/other", answer("put"));
  auto req = make_request("DELETE", "/api/v1/admin/config");
  Response res = call(router, req);
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(header(res, "Allow"), "GET, HEAD, POST");  // HEAD wherever GET (issue 15 item 12)
  auto j = Json::parse(res.body);
  EXPECT_EQ(j["code"], 40501);
  EXPECT_TRUE(req->route.empty());
}

TEST(Router, AllowListsMethodsOfEveryMatchingTemplate) {
  Router router;
  router.add("GET", "/ns/{id}", answer("get"));
  router.add("DELETE", "/ns/list", answer("x"));
  router.add("GET", "/ns/list", answer("x"));  // duplicate method listed once
  Response res = call(router, make_request("PATCH", "/ns/list"));
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(header(res, "Allow"), "GET, HEAD, DELETE");
}

// Issue 15 item 12: the server hands a HEAD on as a GET; a path without GET lists no HEAD, and
// the 405 names the method the client sent.
TEST(Router, HeadIsServedByTheGetRouteAndNamedInErrors) {
  Router router;
  router.add("GET", "/a", answer("get"));
  router.add("POST", "/b", answer("post"));
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

TEST(Router, AsHandlerOutlivesRouter) {
  Handler h;
  {
    Router router;
    router.add("GET", "/a", answer("a"));
    h = router.as_handler();
  }
  std::string body;
  h(make_request("GET", "/a"), [&body](Response res) { body = res.body; });
  EXPECT_EQ(body, "a");
}

}  // namespace
}  // namespace cairn::http
