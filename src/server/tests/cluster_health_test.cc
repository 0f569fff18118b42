// One member's entry of GET /api/v1/cluster/health, from each kind of answer (or none). The
// endpoint itself, on real 3-node clusters, is tested by tests/e2e/test_cluster_health.py.

#include "server/cluster_health.h"

#include <gtest/gtest.h>

namespace cairn::server {
namespace {

Json base() { return {{"id", 2}, {"voter", true}, {"http", "127.0.0.1:8002"}, {"self", false}}; }

http::Response answer(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(MemberHealthEntry, Unreachable) {
  Json e = member_health_entry(base(), std::nullopt, "connect: Connection refused");
  EXPECT_EQ(e["id"], 2);
  EXPECT_EQ(e["http"], "127.0.0.1:8002");
  EXPECT_EQ(e["reachable"], false);
  EXPECT_EQ(e["status"], "unreachable");
  EXPECT_EQ(e["error"], "connect: Connection refused");
  EXPECT_TRUE(e["role"].is_null());
  EXPECT_FALSE(e.contains("health"));
}

TEST(MemberHealthEntry, HealthyWithItsRole) {
  Json e = member_health_entry(
      base(),
      answer(200, R"({"code":0,"message":"success","data":{"status":"healthy","node_id":"node2",)"
                  R"("components":{"database":{"status":"healthy","latency_ms":0},)"
                  R"("raft":{"status":"healthy","role":"follower","term":3,"leader":1}},)"
                  R"("degraded":false,"uptime_seconds":7}})"),
      "");
  EXPECT_EQ(e["reachable"], true);
  EXPECT_EQ(e["status"], "healthy");
  EXPECT_EQ(e["role"], "follower");
  EXPECT_EQ(e["health"]["node_id"], "node2");
  EXPECT_EQ(e["health"]["components"]["raft"]["term"], 3);
  EXPECT_FALSE(e.contains("error"));
}

TEST(MemberHealthEntry, UnhealthyAnswersCarryTheirBody) {
  // /api/v1/health answers 503 with the same body when a component fails.
  Json e = member_health_entry(
      base(),
      answer(503, R"({"code":0,"message":"success","data":{"status":"unhealthy",)"
                  R"("components":{"database":{"status":"unhealthy","error":"disk I/O error"}},)"
                  R"("degraded":true}})"),
      "");
  EXPECT_EQ(e["reachable"], true);
  EXPECT_EQ(e["status"], "unhealthy");
  EXPECT_TRUE(e["role"].is_null());  // no raft component
  EXPECT_EQ(e["health"]["components"]["database"]["error"], "disk I/O error");
}

TEST(MemberHealthEntry, AnAnswerThatIsNotHealth) {
  Json e = member_health_entry(
      base(), answer(404, R"({"code":40401,"message":"资源不存在","error":{"details":"x"}})"), "");
  EXPECT_EQ(e["reachable"], true);
  EXPECT_EQ(e["status"], "unknown");
  EXPECT_EQ(e["error"], "not a health answer (HTTP 404: 资源不存在)");

  Json garbage = member_health_entry(base(), answer(200, "<html>"), "");
  EXPECT_EQ(garbage["status"], "unknown");
  EXPECT_EQ(garbage["error"], "not a health answer (HTTP 200)");
}

}  // namespace
}  // namespace cairn::server
