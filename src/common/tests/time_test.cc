#include "common/time.h"

#include <gtest/gtest.h>

#include "common/ids.h"

namespace cairn {
namespace {

TEST(Time, FormatsUtcLikeTheSeed) {
  EXPECT_EQ(format_utc(1705744800000), "2024-01-20T10:00:00Z");
  EXPECT_EQ(format_utc(0), "1970-01-01T00:00:00Z");
}

TEST(Time, ParsesDurations) {
  EXPECT_EQ(parse_duration_ms("250"), 250);
  EXPECT_EQ(parse_duration_ms("250ms"), 250);
  EXPECT_EQ(parse_duration_ms("30s"), 30000);
  EXPECT_EQ(parse_duration_ms("2m"), 120000);
  EXPECT_EQ(parse_duration_ms("1h"), 3600000);
  EXPECT_EQ(parse_duration_ms(""), -1);
  EXPECT_EQ(parse_duration_ms("s"), -1);
  EXPECT_EQ(parse_duration_ms("10x"), -1);
  EXPECT_EQ(parse_duration_ms("99999999999999999999"), -1);
}

TEST(Ids, UuidShape) {
  std::string id = new_uuid();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(new_uuid(), id);
  EXPECT_EQ(random_hex(16).size(), 32u);
  EXPECT_EQ(random_hex(8).size(), 16u);
}

}  // namespace
}  // namespace cairn
