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

TEST(Time, ParsesInstants) {
  auto at = [](const char* text) { return parse_instant(text); };
  EXPECT_EQ(at("2024-01-20T10:00:00Z")->unix_ms, 1705744800000);
  EXPECT_EQ(at("2024-01-20T10:00:00Z")->precision_ms, 1000);
  EXPECT_EQ(at("2024-01-20T10:00:00Z")->last_ms(), 1705744800999);
  EXPECT_EQ(at("2024-01-20t10:00:00z")->unix_ms, 1705744800000);
  EXPECT_EQ(at("2024-01-20 11:00:00+01:00")->unix_ms, 1705744800000);
  EXPECT_EQ(at("2024-01-20T09:30:00-00:30")->unix_ms, 1705744800000);
  EXPECT_EQ(at("2024-01-20T10:00:00.25Z")->unix_ms, 1705744800250);
  EXPECT_EQ(at("2024-01-20T10:00:00.25Z")->precision_ms, 10);
  EXPECT_EQ(at("2024-01-20T10:00:00.123456789Z")->unix_ms, 1705744800123);
  EXPECT_EQ(at("2024-01-20T10:00:00.123456789Z")->precision_ms, 1);
  EXPECT_EQ(at("2024-02-29T00:00:00Z")->unix_ms, 1709164800000);
  EXPECT_EQ(at("1705744800123")->unix_ms, 1705744800123);
  EXPECT_EQ(at("1705744800123")->precision_ms, 1);
  EXPECT_EQ(at("0")->unix_ms, 0);
  for (const char* bad : {"", "x", "2024-01-20", "2024-01-20T10:00:00", "2024-13-01T00:00:00Z",
                          "2023-02-29T00:00:00Z", "2024-01-20T24:00:00Z", "2024-01-20T10:00:00.Z",
                          "2024-01-20T10:00:00+0100", "2024-01-20T10:00:00Zx", "-5",
                          "1969-12-31T23:59:59Z", "99999999999999999999", "1e3",
                          "2024-01-20T10:00:00.1234567890Z", "2024-01-20X10:00:00Z"}) {
    EXPECT_FALSE(parse_instant(bad)) << bad;
  }
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
