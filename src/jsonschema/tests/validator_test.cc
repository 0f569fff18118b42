#include "jsonschema/validator.h"

#include <gtest/gtest.h>

namespace cairn::jsonschema {
namespace {

std::shared_ptr<const Schema> must(const char* text) {
  auto s = compile(Json::parse(text));
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
  return s.ok() ? *s : nullptr;
}

TEST(Validator, ReportsPathRuleAndMessage) {
  auto s = must(R"({"type":"object","required":["host","port"],"properties":{
      "port":{"type":"integer","minimum":1,"maximum":65535},
      "tags":{"type":"array","items":{"type":"string"}}}})");
  auto issues = s->validate(Json::parse(R"({"port":"80","tags":["a",3]})"));
  ASSERT_EQ(issues.size(), 3u);
  EXPECT_EQ(issues[0], (Issue{"", "required", "must have the property \"host\""}));
  EXPECT_EQ(issues[1].path, "/port");
  EXPECT_EQ(issues[1].rule, "type");
  EXPECT_EQ(issues[2].path, "/tags/1");
  EXPECT_TRUE(s->validate(Json::parse(R"({"host":"h","port":80})")).empty());
  EXPECT_EQ(s->validate(Json::parse(R"({"host":"h","port":70000})"))[0].rule, "maximum");
}

TEST(Validator, PointerTokensAreEscaped) {
  auto s = must(R"({"additionalProperties":{"type":"number"}})");
  auto issues = s->validate(Json::parse(R"({"a/b~c":"x"})"));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].path, "/a~1b~0c");
}

TEST(Validator, RefsAndRecursion) {
  auto s = must(R"({"definitions":{"node":{"type":"object","properties":{
      "next":{"$ref":"#/definitions/node"},"v":{"type":"integer"}}}},"$ref":"#/definitions/node"})");
  EXPECT_TRUE(s->valid(Json::parse(R"({"v":1,"next":{"v":2,"next":{"v":3}}})")));
  auto issues = s->validate(Json::parse(R"({"v":1,"next":{"v":"x"}})"));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].path, "/next/v");
}

TEST(Validator, RefusesBadSchemas) {
  EXPECT_FALSE(compile(Json::parse(R"({"minimum":"3"})")).ok());
  EXPECT_FALSE(compile(Json::parse(R"({"type":"float"})")).ok());
  EXPECT_FALSE(compile(Json::parse(R"({"$ref":"#/definitions/missing"})")).ok());
  EXPECT_FALSE(compile(Json::parse(R"({"$ref":"http://example.com/s.json"})")).ok());
  EXPECT_FALSE(compile(Json::parse(R"x({"pattern":"(?=a)"})x")).ok());  // look-ahead: not RE2
  EXPECT_FALSE(compile(Json::parse("3")).ok());
  // Cycles that never move into the value.
  EXPECT_FALSE(compile(Json::parse(R"({"$ref":"#"})")).ok());
  EXPECT_FALSE(compile(Json::parse(
      R"({"definitions":{"a":{"$ref":"#/definitions/b"},"b":{"allOf":[{"$ref":"#/definitions/a"}]}},
          "$ref":"#/definitions/a"})")).ok());
  // Depth.
  std::string deep = "true";
  for (int i = 0; i < 100; ++i) deep = R"({"not":)" + deep + "}";
  EXPECT_FALSE(compile(Json::parse(deep)).ok());
}

TEST(Validator, SizeLimit) {
  Json big = Json::object();
  big["enum"] = Json::array();
  for (int i = 0; i < 30000; ++i) big["enum"].push_back("value-" + std::to_string(i));
  auto r = compile(big);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("bytes"), std::string::npos);
}

TEST(Validator, StepBudgetBoundsHostileSchemas) {
  // uniqueItems over a long array, nested anyOf: refused by budget, not stalled.
  Limits limits;
  limits.max_steps = 10'000;
  auto s = compile(Json::parse(R"({"uniqueItems":true})"), limits);
  ASSERT_TRUE(s.ok());
  Json arr = Json::array();
  for (int i = 0; i < 5000; ++i) arr.push_back(i);
  auto issues = (*s)->validate(arr);
  ASSERT_FALSE(issues.empty());
  EXPECT_EQ(issues.back().rule, "budget");
}

TEST(Validator, LongStringsWithPatternsAreLinear) {
  auto s = must(R"({"pattern":"^(a|aa)*$"})");
  std::string v(200000, 'a');
  EXPECT_TRUE(s->valid(Json(v)));
  EXPECT_FALSE(s->valid(Json(v + "b")));
}

TEST(Validator, Formats) {
  EXPECT_TRUE(format_ok("ipv4", "10.0.0.1"));
  EXPECT_FALSE(format_ok("ipv4", "256.0.0.1"));
  EXPECT_FALSE(format_ok("ipv4", "01.0.0.1"));
  EXPECT_TRUE(format_ok("ipv6", "::1"));
  EXPECT_FALSE(format_ok("ipv6", "12345::"));
  EXPECT_TRUE(format_ok("hostname", "db-1.example.com"));
  EXPECT_FALSE(format_ok("hostname", "-db.example.com"));
  EXPECT_TRUE(format_ok("email", "ops@example.com"));
  EXPECT_FALSE(format_ok("email", "ops.example.com"));
  EXPECT_TRUE(format_ok("uri", "https://example.com:8443/a?b#c"));
  EXPECT_FALSE(format_ok("uri", "/relative"));
  EXPECT_FALSE(format_ok("uri", "http://exa mple.com"));
  EXPECT_TRUE(format_ok("date-time", "2026-12-02T17:00:00Z"));
  EXPECT_TRUE(format_ok("date-time", "2024-02-29T17:00:00.5+08:00"));
  EXPECT_FALSE(format_ok("date-time", "2026-02-29T17:00:00Z"));
  EXPECT_FALSE(format_ok("date-time", "2026-12-02 17:00:00Z"));
  EXPECT_TRUE(format_ok("duration", "PT30S"));
  EXPECT_TRUE(format_ok("duration", "P1DT2H"));
  EXPECT_TRUE(format_ok("duration", "P2W"));
  EXPECT_FALSE(format_ok("duration", "PT"));
  EXPECT_FALSE(format_ok("duration", "30s"));
  EXPECT_TRUE(format_ok("no-such-format", "anything"));
}

TEST(Validator, EqualityIsJsonEquality) {
  EXPECT_TRUE(json_equal(Json::parse("1"), Json::parse("1.0")));
  EXPECT_TRUE(json_equal(Json::parse(R"({"a":1,"b":2})"), Json::parse(R"({"b":2,"a":1})")));
  EXPECT_FALSE(json_equal(Json::parse("false"), Json::parse("0")));
}

TEST(Validator, Deterministic) {
  auto s = must(R"({"properties":{"a":{"type":"string"},"b":{"minimum":3}},"required":["c"]})");
  Json v = Json::parse(R"({"b":1,"a":2})");
  EXPECT_EQ(s->validate(v), s->validate(v));
}

}  // namespace
}  // namespace cairn::jsonschema
