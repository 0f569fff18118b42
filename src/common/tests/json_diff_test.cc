#include "common/json_diff.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

TEST(JsonDiff, SeedExample) {
  auto a = Json::parse(R"({"host":"192.168.1.100","port":3306})");
  auto b = Json::parse(R"({"host":"192.168.1.200","port":3306,"max_connections":100})");
  auto changes = json_diff(a, b);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].path, "host");
  EXPECT_EQ(changes[0].type, "modified");
  EXPECT_EQ(changes[0].from, "192.168.1.100");
  EXPECT_EQ(changes[0].to, "192.168.1.200");
  EXPECT_EQ(changes[1].path, "max_connections");
  EXPECT_EQ(changes[1].type, "added");
  EXPECT_TRUE(changes[1].from.is_null());
}

TEST(JsonDiff, NestedPathsAndArrays) {
  auto a = Json::parse(R"({"a":{"b":[1,2,{"c":1}]},"gone":true})");
  auto b = Json::parse(R"({"a":{"b":[1,2,{"c":2},4]}})");
  auto changes = json_diff(a, b);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].path, "a.b[2].c");
  EXPECT_EQ(changes[1].path, "a.b[3]");
  EXPECT_EQ(changes[1].type, "added");
  EXPECT_EQ(changes[2].path, "gone");
  EXPECT_EQ(changes[2].type, "removed");
}

TEST(JsonDiff, WholeDocumentAndOddNames) {
  auto changes = json_diff(Json(1), Json("x"));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].path, "");
  changes = json_diff(Json::parse(R"({"a b":1})"), Json::parse(R"({"a b":2})"));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].path, R"(["a b"])");
  EXPECT_TRUE(json_diff(Json::parse("[1,{}]"), Json::parse("[1,{}]")).empty());
}

}  // namespace
}  // namespace cairn
