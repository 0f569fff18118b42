#include "api/validate.h"

#include <gtest/gtest.h>

namespace cairn::api {
namespace {

TEST(Validate, NamespaceNames) {
  EXPECT_FALSE(check_namespace_name("user-service.v2_a"));
  EXPECT_TRUE(check_namespace_name(""));
  EXPECT_TRUE(check_namespace_name("a b"));
  EXPECT_TRUE(check_namespace_name("a/b"));
  EXPECT_FALSE(check_namespace_name(std::string(128, 'a')));
  EXPECT_TRUE(check_namespace_name(std::string(129, 'a')));
}

TEST(Validate, Keys) {
  EXPECT_FALSE(check_key("database.mysql:primary/host-1_x"));
  EXPECT_TRUE(check_key(""));
  EXPECT_TRUE(check_key("a b"));
  EXPECT_TRUE(check_key("ü"));
  EXPECT_FALSE(check_key(std::string(256, 'k')));
  EXPECT_TRUE(check_key(std::string(257, 'k')));
}

TEST(Validate, DescriptionStatusOperator) {
  EXPECT_FALSE(check_description(std::string(512, 'd')));
  EXPECT_TRUE(check_description(std::string(513, 'd')));
  EXPECT_FALSE(check_status(0));
  EXPECT_FALSE(check_status(1));
  EXPECT_TRUE(check_status(2));
  EXPECT_EQ(sanitize_operator(""), "anonymous");
  EXPECT_EQ(sanitize_operator("  bob \n"), "bob");
  EXPECT_EQ(sanitize_operator(std::string(100, 'x')).size(), 64u);
}

}  // namespace
}  // namespace cairn::api
