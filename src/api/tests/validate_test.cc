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
  EXPECT_EQ(sanitize_operator("  bob  "), "bob");
  EXPECT_EQ(sanitize_operator("   "), "anonymous");
  EXPECT_EQ(sanitize_operator(std::string(100, 'x')).size(), 64u);
}

// Issue 15 item 6: a create may not use an all-digit name; other paths still accept one.
TEST(Validate, NewNamespaceNamesAreNotAllDigits) {
  EXPECT_TRUE(check_new_namespace_name("5"));
  EXPECT_TRUE(check_new_namespace_name("0123456789"));
  EXPECT_FALSE(check_namespace_name("5"));
  EXPECT_FALSE(check_new_namespace_name("5a"));
  EXPECT_FALSE(check_new_namespace_name("1.2"));
  EXPECT_FALSE(check_new_namespace_name("user-service"));
  EXPECT_TRUE(check_new_namespace_name(""));
  EXPECT_TRUE(check_new_namespace_name("a b"));
}

// Issue 15 item 9: any valid UTF-8 operator without control characters, up to 64 characters.
TEST(Validate, OperatorIsUtf8WithoutControlCharacters) {
  EXPECT_FALSE(check_operator(""));
  EXPECT_FALSE(check_operator("alice"));
  EXPECT_FALSE(check_operator("\xe5\xbc\xa0\xe4\xb8\x89"));      // 张三
  EXPECT_FALSE(check_operator("Jos\xc3\xa9 \xf0\x9f\x98\x80"));  // José 😀
  EXPECT_TRUE(check_operator("bob\n"));
  EXPECT_TRUE(check_operator("a\tb"));
  EXPECT_TRUE(check_operator(std::string("a\0b", 3)));
  EXPECT_TRUE(check_operator("del\x7f"));
  EXPECT_TRUE(check_operator("c1\xc2\x85"));        // U+0085, a C1 control
  EXPECT_TRUE(check_operator("\xff"));              // not UTF-8
  EXPECT_TRUE(check_operator("\xe5\xbc"));          // truncated sequence
  EXPECT_TRUE(check_operator("\xc0\xaf"));          // overlong '/'
  EXPECT_TRUE(check_operator("\xed\xa0\x80"));      // a surrogate
  EXPECT_TRUE(check_operator("\xf4\x90\x80\x80"));  // beyond U+10FFFF
  EXPECT_TRUE(check_operator("latin1 \xe9"));       // ISO-8859-1 é
  EXPECT_EQ(sanitize_operator("\xe5\xbc\xa0\xe4\xb8\x89"), "\xe5\xbc\xa0\xe4\xb8\x89");
  // 64 characters, not 64 bytes: 100 × 张 keeps 64 of them (192 bytes).
  std::string zhang;
  for (int i = 0; i < 100; ++i) zhang += "\xe5\xbc\xa0";
  EXPECT_EQ(sanitize_operator(zhang), zhang.substr(0, 64 * 3));
}

}  // namespace
}  // namespace cairn::api
