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

namespace cairn {
namespace {

// The plain-ASCII fast path of append_json_string gives exactly what the general escaper (a
// nlohmann dump with UTF-8 repair) gives.
TEST(AppendJsonString, FastPathMatchesTheGeneralEscaper) {
  std::vector<std::string> cases = {"", "success", "5afc11ac-7c17-4abf-b053-c0b4e31e8dfc",
                                    "a/b", "say \"hi\"", "back\\slash", "tab\there", "日本",
                                    std::string("nul\0in", 6), "\x7f", "\xff\xfe bad utf-8"};
  for (int c = 0; c < 256; ++c) cases.push_back(std::string(1, static_cast<char>(c)));
  for (const auto& s : cases) {
    std::string fast;
    append_json_string(fast, s);
    const std::string general = Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
    EXPECT_EQ(fast, general) << "input of " << s.size() << " bytes";
  }
}

}  // namespace
}  // namespace cairn
