// Which answers degraded mode marks and refuses: by the route's declared effect, not its path.

#include "server/degraded.h"

#include <gtest/gtest.h>

#include "routes/table.h"

namespace cairn::server {
namespace {

http::Request request_for(const routes::Route& route) {
  http::Request req;
  req.method = std::string(route.method);
  req.route = req.path_route = &route;
  return req;
}

void plain(const http::Request&, const api::Error&, http::Response&) {}

TEST(Degraded, KindsComeFromTheRouteTable) {
  EXPECT_TRUE(is_write(request_for(routes::kAdminConfigUpdate)));
  EXPECT_TRUE(is_write(request_for(routes::kClusterMemberAdd)));
  EXPECT_FALSE(is_write(request_for(routes::kAdminConfigList)));
  EXPECT_TRUE(is_client_read(request_for(routes::kConfigGet)));
  EXPECT_FALSE(is_client_read(request_for(routes::kConfigWatch)));
  http::Request unrouted;  // a 404: neither
  unrouted.method = "POST";
  unrouted.path = "/api/v1/admin/nope";
  EXPECT_FALSE(is_write(unrouted));
  EXPECT_FALSE(is_client_read(unrouted));
}

TEST(Degraded, OnlyNativeAnswersAreMarked) {
  http::Request native = request_for(routes::kConfigGet);
  EXPECT_TRUE(marks_degraded(native));
  http::Request protocol = request_for(routes::kConfigGet);
  protocol.error_renderer = plain;  // a protocol front-end's route answers in its own format
  EXPECT_FALSE(marks_degraded(protocol));

  http::Response res;
  res.body = R"({"code":0,"data":{"value":1}})";
  mark_degraded(res, "db");
  EXPECT_EQ(res.body, R"({"code":0,"data":{"value":1,"degraded":true,"degraded_reason":"db"}})");
}

}  // namespace
}  // namespace cairn::server
