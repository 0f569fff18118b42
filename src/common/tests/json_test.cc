#include "common/json.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

TEST(JsonDepth, CountsNestingOutsideStrings) {
  EXPECT_EQ(json_depth("1", 64), 0);
  EXPECT_EQ(json_depth("{}", 64), 1);
  EXPECT_EQ(json_depth(R"({"a":[1,{"b":[]}]})", 64), 4);
  EXPECT_EQ(json_depth(R"({"a":"[[[[[[\"]]]"})", 64), 1);
}

TEST(JsonDepth, StopsAtLimitOnHostileInput) {
  std::string deep(1'000'000, '[');
  EXPECT_EQ(json_depth(deep, 64), 65);
}

TEST(JsonDepth, OfParsedValue) {
  EXPECT_EQ(json_depth(Json(3)), 0);
  EXPECT_EQ(json_depth(Json::parse("[[1],[]]")), 2);
}

TEST(ParseJson, RejectsTooDeepAndMalformed) {
  EXPECT_TRUE(parse_json("[[1]]", 2).has_value());
  EXPECT_FALSE(parse_json("[[[1]]]", 2).has_value());
  EXPECT_FALSE(parse_json("{", 64).has_value());
  EXPECT_FALSE(parse_json("", 64).has_value());
  EXPECT_FALSE(parse_json("{} x", 64).has_value());
}

TEST(ParseJson, KeepsKeyOrder) {
  auto v = parse_json(R"({"z":1,"a":2})", 64);
  ASSERT_TRUE(v);
  EXPECT_EQ(dump_compact(*v), R"({"z":1,"a":2})");
}

TEST(JsonQuote, EscapesAndRepairsUtf8) {
  EXPECT_EQ(json_quote("a\"b\n"), R"("a\"b\n")");
  EXPECT_EQ(json_quote(std::string("\xff", 1)), "\"\xef\xbf\xbd\"");
}

}  // namespace
}  // namespace cairn
