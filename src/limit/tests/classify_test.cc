#include "limit/classify.h"

#include <gtest/gtest.h>

#include "limit/middleware.h"
#include "routes/testing.h"

namespace cairn::limit {
namespace {

/// The class of a request as the server sees it: resolved by a router of every route, then
/// classed by its route's rate class (routes/table.h).
std::optional<RequestClass> classify(std::string method, std::string path) {
  static const http::Router router =
      routes::router_of_every_route([](http::RequestPtr, http::Reply) {});
  http::Request req;
  req.method = std::move(method);
  req.path = std::move(path);
  router.resolve(req);
  return request_class(req);
}

TEST(Classify, ClientReads) {
  EXPECT_EQ(classify("GET", "/api/v1/config/get"), RequestClass::kRead);
  EXPECT_EQ(classify("GET", "/api/v1/config/namespace/svc"), RequestClass::kRead);
  EXPECT_EQ(classify("GET", "/api/v1/config/versions"), RequestClass::kRead);
  EXPECT_EQ(classify("POST", "/api/v1/config/batch-get"), RequestClass::kRead);
  EXPECT_EQ(classify("POST", "/api/v1/config/get"), std::nullopt);  // a 405
  EXPECT_EQ(classify("GET", "/api/v1/config/nope"), std::nullopt);   // a 404
}

TEST(Classify, Writes) {
  for (const char* m : {"POST", "PUT", "DELETE"}) {
    EXPECT_EQ(classify(m, "/api/v1/admin/config"), RequestClass::kWrite) << m;
  }
  EXPECT_EQ(classify("POST", "/api/v1/admin/config/rollback"), RequestClass::kWrite);
  EXPECT_EQ(classify("POST", "/api/v1/admin/config/batch"), RequestClass::kWrite);
  EXPECT_EQ(classify("POST", "/api/v1/admin/config/cleanup"), RequestClass::kWrite);
}

TEST(Classify, AdminReadsAreReads) {
  EXPECT_EQ(classify("GET", "/api/v1/admin/config/list"), RequestClass::kRead);
  EXPECT_EQ(classify("GET", "/api/v1/admin/config/history"), RequestClass::kRead);
  EXPECT_EQ(classify("GET", "/api/v1/admin/namespace/list"), RequestClass::kRead);
}

TEST(Classify, OtherAdminChanges) {
  EXPECT_EQ(classify("POST", "/api/v1/admin/namespace"), RequestClass::kAdmin);
  EXPECT_EQ(classify("PUT", "/api/v1/admin/namespace/3"), RequestClass::kAdmin);
  EXPECT_EQ(classify("DELETE", "/api/v1/admin/namespace/3"), RequestClass::kAdmin);
  EXPECT_EQ(classify("POST", "/api/v1/admin/cluster/transfer-leader"), RequestClass::kAdmin);
  EXPECT_EQ(classify("DELETE", "/api/v1/admin/cluster/members/2"), RequestClass::kAdmin);
}

TEST(Classify, NotCounted) {
  for (const char* path : {"/api/v1/health", "/metrics", "/api/v1/metrics", "/api/v1/debug/vars",
                           "/api/v1/cluster/status", "/api/v1/cluster", "/api/v1/config/watch",
                           "/api/v1/config/watch/stream", "/", "/console/index.html", "/healthz"}) {
    EXPECT_EQ(classify("GET", path), std::nullopt) << path;
  }
}

TEST(Classify, HostOf) {
  EXPECT_EQ(host_of("10.0.0.7:5555"), "10.0.0.7");
  EXPECT_EQ(host_of("[::1]:8080"), "::1");
  EXPECT_EQ(host_of("[fe80::1%eth0]:1"), "fe80::1%eth0");
  EXPECT_EQ(host_of("10.0.0.7"), "10.0.0.7");
  EXPECT_EQ(host_of("::1"), "::1");
  EXPECT_EQ(host_of(""), "");
}

TEST(Classify, ClientIds) {
  EXPECT_TRUE(is_valid_client_id("core-service"));
  EXPECT_TRUE(is_valid_client_id(std::string(128, 'a')));
  EXPECT_FALSE(is_valid_client_id(std::string(129, 'a')));
  EXPECT_FALSE(is_valid_client_id(""));
  EXPECT_FALSE(is_valid_client_id("has space"));
  EXPECT_FALSE(is_valid_client_id("caf\xc3\xa9"));
}

}  // namespace
}  // namespace cairn::limit
