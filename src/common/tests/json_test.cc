#include "common/json.h"

#include <gtest/gtest.h>

#include <cstring>

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

TEST(JsonValid, AgreesWithParseJson) {
  // apply validates stored values with json_valid: it must accept exactly what parse_json does.
  const char* cases[] = {"[[1]]", "[[[1]]]", "{", "", "{} x", "1e400", "-1e400", "1e308",
                         "\"\xff\"", "\"\\ud800\"", "\"ok\"", "{\"a\":[1,2,{\"b\":null}]}",
                         " true ", "01", "[1,]", "{\"a\":1,}", "nan", "\"\t\"", "/* c */ 1",
                         "\xef\xbb\xbf{}"};
  for (const char* text : cases) {
    EXPECT_EQ(json_valid(text, 2), parse_json(text, 2).has_value()) << text;
  }
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

namespace cairn {
namespace {

// Issue 15 item 10: the stored form of a value keeps every number as written.
TEST(CompactJsonText, KeepsNumbersAndStringsVerbatim) {
  EXPECT_EQ(compact_json_text("[18446744073709551616, -9223372036854775809, 1E2]"),
            "[18446744073709551616,-9223372036854775809,1E2]");
  EXPECT_EQ(compact_json_text(" { \"a\" : -0 ,\n\t\"b\" : [ 1.0 , 0.1 , 1e-400 ] }\r\n"),
            R"({"a":-0,"b":[1.0,0.1,1e-400]})");
  // Whitespace and escapes inside strings are content.
  EXPECT_EQ(compact_json_text(R"({ "k y" : " a \" b \\ " , "u" : "\u00e9\/" })"),
            R"({"k y":" a \" b \\ ","u":"\u00e9\/"})");
  EXPECT_EQ(compact_json_text("  true "), "true");
  EXPECT_EQ(compact_json_text("\"日本 語\""), "\"日本 語\"");
  EXPECT_EQ(compact_json_text(""), "");
}

TEST(CompactJsonText, ParsesEqualToItsInput) {
  for (const char* text : {"[1, 2, {\"a\": [true, false, null]}]", "{}", "[ ]", "\"\\\\\"",
                           "{\"x\": {\"y\": \"z\\\"\"}, \"n\": 12345678901234567890123}"}) {
    auto before = parse_json(text, 64);
    ASSERT_TRUE(before) << text;
    auto after = parse_json(compact_json_text(text), 64);
    ASSERT_TRUE(after) << text;
    EXPECT_EQ(*before, *after) << text;
  }
}

TEST(JsonMemberText, FindsTopLevelMembersRaw) {
  const std::string body =
      R"( { "namespace" : "s", "nested": {"value": 1}, "value" : [ 1E2 , -0 ] , "z":"value" } )";
  auto v = json_member_text(body, "value");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, "[ 1E2 , -0 ]");
  EXPECT_EQ(json_member_text(body, "namespace").value_or("?"), "\"s\"");
  EXPECT_EQ(json_member_text(body, "z").value_or("?"), "\"value\"");
  EXPECT_FALSE(json_member_text(body, "missing"));
  EXPECT_EQ(json_member_text(R"({"value":18446744073709551616})", "value").value_or("?"),
            "18446744073709551616");
  EXPECT_EQ(json_member_text(R"({"a":"}\"{","value":null})", "value").value_or("?"), "null");
}

TEST(JsonMemberText, DuplicateNamesGiveTheOneTheParserKeeps) {
  const std::string body = R"({"value":1,"other":2,"value":{"b":3}})";
  auto parsed = parse_json(body, 64);
  ASSERT_TRUE(parsed);
  auto raw = json_member_text(body, "value");
  ASSERT_TRUE(raw);
  EXPECT_EQ(*raw, R"({"b":3})");
  EXPECT_EQ(*parse_json(*raw, 64), (*parsed)["value"]);
}

TEST(JsonMemberText, SkipsAByteOrderMarkAsTheParserDoes) {
  const std::string body = "\xef\xbb\xbf {\"value\": 1E2}";
  ASSERT_TRUE(parse_json(body, 64));
  EXPECT_EQ(json_member_text(body, "value").value_or("?"), "1E2");
  EXPECT_EQ(compact_json_text(body), "{\"value\":1E2}");
  auto e = json_element_texts("\xef\xbb\xbf[1E2]");
  ASSERT_TRUE(e);
  ASSERT_EQ(e->size(), 1u);
  EXPECT_EQ((*e)[0], "1E2");
}

TEST(JsonMemberText, EscapedNamesMatchTheirDecodedForm) {
  EXPECT_EQ(json_member_text(R"({"\u0076alue":7})", "value").value_or("?"), "7");
  EXPECT_FALSE(json_member_text(R"({"valu\u0065x":7})", "value"));
}

TEST(JsonMemberText, NotAnObjectOrBrokenInputIsSafe) {
  EXPECT_FALSE(json_member_text("[1]", "value"));
  EXPECT_FALSE(json_member_text("", "value"));
  EXPECT_FALSE(json_member_text("   ", "value"));
  for (const char* bad : {"{", "{\"value\"", "{\"value\":", "{\"value\":\"", "{\"value\":[",
                          "{\"a\" 1}", "{\"\\", "{\"value\":1,", "{,}"}) {
    auto v = json_member_text(bad, "value");
    if (v) {
      EXPECT_GE(v->data(), bad);
      EXPECT_LE(v->data() + v->size(), bad + std::strlen(bad));
    }
  }
}

TEST(JsonElementTexts, SplitsAnArrayRaw) {
  auto e = json_element_texts(R"( [ {"op":"create","value":1E2} , "x,]" , [1,[2]] , -0 ] )");
  ASSERT_TRUE(e);
  ASSERT_EQ(e->size(), 4u);
  EXPECT_EQ((*e)[0], R"({"op":"create","value":1E2})");
  EXPECT_EQ((*e)[1], R"("x,]")");
  EXPECT_EQ((*e)[2], "[1,[2]]");
  EXPECT_EQ((*e)[3], "-0");
  auto empty = json_element_texts("[ ]");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(json_element_texts("{}"));
  EXPECT_TRUE(json_element_texts("[1,"));  // broken input: no crash
}

TEST(JsonMemberTexts, EveryMemberInOrderWithDecodedNames) {
  auto m = json_member_texts(
      " { \"b\" : 1E2 , \"\\u0061\" : {\"x\":[1, 2]}, \"s\":\"}\" , \"b\":null } ");
  ASSERT_TRUE(m);
  ASSERT_EQ(m->size(), 4u);
  EXPECT_EQ((*m)[0].first, "b");
  EXPECT_EQ((*m)[0].second, "1E2");
  EXPECT_EQ((*m)[1].first, "a");  // written \u0061
  EXPECT_EQ((*m)[1].second, R"({"x":[1, 2]})");
  EXPECT_EQ((*m)[2].second, R"("}")");
  EXPECT_EQ((*m)[3].second, "null");  // a repeated name is listed again
  auto empty = json_member_texts("{}");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(json_member_texts("[1]"));
  EXPECT_TRUE(json_member_texts(R"({"a":)"));  // broken input: no crash
}

TEST(JsonNumberOverflows, OnlyForNumbersBeyondADouble) {
  EXPECT_FALSE(parse_json("[1e400]", 64));
  EXPECT_TRUE(json_number_overflows("[1e400]"));
  EXPECT_TRUE(json_number_overflows(R"({"value":-1E+999})"));
  EXPECT_FALSE(json_number_overflows("[1e-400]"));  // underflows to 0: accepted by the parser
  EXPECT_FALSE(json_number_overflows("[1e4"));
  EXPECT_FALSE(json_number_overflows("{"));
  EXPECT_FALSE(json_number_overflows(std::string(100000, '[')));
}

}  // namespace
}  // namespace cairn
