#include "jsonschema/namespace_schemas.h"

#include <gtest/gtest.h>

namespace cairn::jsonschema {
namespace {

TEST(Glob, Matches) {
  EXPECT_TRUE(glob_match("database.*", "database.port"));
  EXPECT_TRUE(glob_match("database.*", "database."));
  EXPECT_FALSE(glob_match("database.*", "databases.port"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_TRUE(glob_match("*.timeout", "http.client.timeout"));
  EXPECT_FALSE(glob_match("a*b*c", std::string(10000, 'a')));
}

TEST(NamespaceSchemas, FirstMatchGovernsAndStrictRefusesTheRest) {
  auto s = NamespaceSchemas::parse(
      R"([{"keys":"feature.*","schema":{"type":"boolean"}},{"keys":"*","schema":{"type":"object"}}])",
      false);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE((*s)->check_text("feature.x", "true").empty());
  EXPECT_EQ((*s)->check_text("feature.x", "{}")[0].rule, "type");
  EXPECT_TRUE((*s)->check_text("other", "{}").empty());

  auto strict = NamespaceSchemas::parse(R"([{"keys":"db.*","schema":true}])", true);
  ASSERT_TRUE(strict.ok());
  auto v = (*strict)->check_text("other", "1");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].key, "other");
  EXPECT_EQ(v[0].rule, "strict");
  EXPECT_TRUE((*strict)->check_text("db.port", "1").empty());
}

TEST(NamespaceSchemas, RefusalsNameTheField) {
  auto bad = NamespaceSchemas::parse(R"([{"keys":"a","schema":{"type":"x"}}])", false);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().field, "schemas[0].schema");
  EXPECT_EQ(bad.error().code, api::Errc::kValidation);
  EXPECT_FALSE(NamespaceSchemas::parse(R"({"keys":"a"})", false).ok());
  EXPECT_FALSE(NamespaceSchemas::parse(R"([{"keys":"","schema":true}])", false).ok());
  EXPECT_FALSE(NamespaceSchemas::parse(R"([{"keys":"a"}])", false).ok());
  EXPECT_FALSE(NamespaceSchemas::parse(R"([{"keys":"a","schema":true,"x":1}])", false).ok());
}

TEST(NamespaceSchemas, CanonicalTextIsCompact) {
  auto s = NamespaceSchemas::parse(R"([ {"keys" : "a", "schema" : {"type" : "string"}} ])", true);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->canonical_json(), R"([{"keys":"a","schema":{"type":"string"}}])");
}

TEST(BreakingChanges, EachKind) {
  auto before = NamespaceSchemas::parse(R"([{"keys":"db.*","schema":{"type":"object",
      "required":["host"],"properties":{
        "port":{"type":["integer","string"],"minimum":1,"maximum":65535},
        "mode":{"enum":["ro","rw","admin"]},
        "name":{"type":"string","maxLength":64}}}}])", false);
  auto after = NamespaceSchemas::parse(R"([{"keys":"db.*","schema":{"type":"object",
      "required":["host","port"],"additionalProperties":false,"properties":{
        "port":{"type":"integer","minimum":1024,"maximum":65535},
        "mode":{"enum":["ro","rw"]},
        "name":{"type":"string","maxLength":32}}}},
      {"keys":"feature.*","schema":{"type":"boolean"}}])", true);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(after.ok());
  auto changes = breaking_changes(before->get(), **after);
  std::vector<std::string> kinds;
  for (const auto& c : changes) kinds.push_back(c.change + " " + c.keys + " " + c.path);
  std::vector<std::string> expected = {
      "strict_enabled  ",
      "required_added db.* ",
      "additional_properties_refused db.* ",
      "type_narrowed db.* /properties/port",
      "range_tightened db.* /properties/port",
      "enum_value_removed db.* /properties/mode",
      "range_tightened db.* /properties/name",
      "schema_added feature.* ",
  };
  EXPECT_EQ(kinds, expected);
  // Loosening is not breaking.
  EXPECT_TRUE(breaking_changes(after->get(), **after).empty());
}

}  // namespace
}  // namespace cairn::jsonschema
