#include "frontends/text.h"

#include <gtest/gtest.h>

namespace cairn::frontends {
namespace {

TEST(FrontendText, TextIsStoredAsAJsonStringAndReadBackByteForByte) {
  const std::string text = "line 1\nline \"2\"\t\\ é 中文 \x01";
  auto stored = stored_text(text);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->front(), '"');
  EXPECT_EQ(value_bytes(*stored), text);
  EXPECT_EQ(value_bytes(stored_value("")), "");
}

TEST(FrontendText, BinaryIsStoredAsBase64AndReadBack) {
  const std::string bytes("\xff\x00\xfe binary", 10);
  EXPECT_FALSE(stored_text(bytes));
  const std::string stored = stored_value(bytes);
  EXPECT_EQ(stored, R"({"$binary":"/wD+IGJpbmFyeQ=="})");
  EXPECT_EQ(value_bytes(stored), bytes);
}

TEST(FrontendText, OtherJsonReadsAsItsCompactText) {
  EXPECT_EQ(value_bytes(R"({"a":1})"), R"({"a":1})");
  EXPECT_EQ(value_bytes("42"), "42");
  EXPECT_EQ(value_bytes(R"({"$binary":"not base64!"})"), R"({"$binary":"not base64!"})");
}

TEST(FrontendText, Utf8AndBase64Edges) {
  EXPECT_TRUE(valid_utf8("\xf0\x9f\x98\x80"));
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(valid_utf8("\xe2\x82"));          // cut short
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(base64_decode("Zm9"));
  EXPECT_FALSE(base64_decode("Zm=v"));
}

}  // namespace
}  // namespace cairn::frontends
