#include "cache/redis_tier.h"

#include <gtest/gtest.h>

namespace cairn::cache {
namespace {

TEST(RedisKeys, AreTheSeeds) {
  EXPECT_EQ(redis_config_key("user-service", "db.host"), "config:user-service:db.host");
  EXPECT_EQ(redis_version_key("user-service", "db.host", 7),
            "config:version:user-service:db.host:7");
  EXPECT_EQ(redis_namespace_key("user-service"), "namespace:configs:user-service");
  EXPECT_EQ(redis_versions_key("user-service", "db.host"), "config:versions:user-service:db.host");
  EXPECT_EQ(redis_fill_lock_key("a", "k"), "lock:config:a:k");
}

TEST(RedisUrl, Parses) {
  auto a = parse_redis_url("redis://10.0.0.5:6380/2");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "10.0.0.5");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->db, 2);
  auto b = parse_redis_url("redis://cache");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->port, 6379);
  EXPECT_EQ(b->db, 0);
  for (const char* bad : {"http://x", "redis://", "redis://x:0", "redis://x:99999", "redis://x/a",
                          "redis://x:1/300"}) {
    EXPECT_FALSE(parse_redis_url(bad)) << bad;
  }
}

TEST(Breaker, SkipsAfterAFailureThenLetsOneCallTry) {
  int64_t now = 1000;
  Breaker b(500, [&] { return now; });
  EXPECT_TRUE(b.allow());
  b.failure();
  EXPECT_TRUE(b.open());
  EXPECT_FALSE(b.allow());
  now += 499;
  EXPECT_FALSE(b.allow());
  now += 1;
  EXPECT_TRUE(b.allow()) << "half open: one call";
  EXPECT_FALSE(b.allow()) << "only one at a time";
  b.failure();
  now += 100;
  EXPECT_FALSE(b.allow());
  now += 400;
  EXPECT_TRUE(b.allow());
  b.success();
  EXPECT_FALSE(b.open());
  EXPECT_TRUE(b.allow());
  EXPECT_TRUE(b.allow());
}

TEST(RedisTier, ADownRedisAnswersNothingQuicklyAndIsUnhealthy) {
  RedisOptions o;
  o.url = "redis://127.0.0.1:1";  // nothing listens there
  o.timeout_ms = 100;
  RedisTier tier(
      o, [] { return std::vector<RedisTier::Current>{}; }, [] { return true; });
  ASSERT_TRUE(tier.start().ok());
  EXPECT_FALSE(tier.get_version("a", "k", 1));
  EXPECT_FALSE(tier.healthy());
  EXPECT_FALSE(tier.get_version("a", "k", 1)) << "the breaker answers at once";
  EXPECT_FALSE(tier.last_error().empty());
  tier.stop();
  RedisOptions bad;
  bad.url = "http://nope";
  RedisTier wrong(bad, [] { return std::vector<RedisTier::Current>{}; }, {});
  EXPECT_FALSE(wrong.start().ok());
}

}  // namespace
}  // namespace cairn::cache
