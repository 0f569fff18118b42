#include "telemetry/health.h"

#include <gtest/gtest.h>

namespace cairn::telemetry {
namespace {

TEST(HealthChecker, FeedsTheGaugeAndKeepsResults) {
  Registry registry;
  auto& status = registry.gauge("health_check_status", "h", {"component"});
  HealthChecker checker(60'000, status);
  bool healthy = true;
  checker.add("database", [&]() -> Result<Ok, std::string> {
    if (healthy) return Ok{};
    return Unexpected{std::string("disk on fire")};
  });
  EXPECT_FALSE(checker.last("database"));
  checker.start();
  ASSERT_TRUE(checker.last("database"));
  EXPECT_TRUE(checker.last("database")->healthy);
  EXPECT_EQ(status.with({"database"}).value(), 1);
  healthy = false;
  checker.check_now();
  EXPECT_FALSE(checker.last("database")->healthy);
  EXPECT_EQ(checker.last("database")->error, "disk on fire");
  EXPECT_EQ(status.with({"database"}).value(), 0);
  checker.stop();
}

}  // namespace
}  // namespace cairn::telemetry
