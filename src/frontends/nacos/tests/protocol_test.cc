// The Nacos protocol pieces without a server: Listening-Configs, forms, URL coding, MD5, the
// address mapping and the listener's timeout.

#include "frontends/nacos/protocol.h"

#include <gtest/gtest.h>

namespace cairn::nacos {
namespace {

/// Listening-Configs text written with Nacos's notation: ^1 is 0x01, ^2 is 0x02.
std::string wire(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '^' && i + 1 < text.size() && (text[i + 1] == '1' || text[i + 1] == '2')) {
      out += static_cast<char>(text[++i] - '0');
    } else {
      out += text[i];
    }
  }
  return out;
}

TEST(NacosListeningConfigs, ParsesEntriesWithAndWithoutTenant) {
  auto e = parse_listening_configs(wire("app.yaml^2DEFAULT_GROUP^2abc^1db^2grp^2def^2dev^1"));
  ASSERT_TRUE(e);
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[0].data_id, "app.yaml");
  EXPECT_EQ((*e)[0].group, "DEFAULT_GROUP");
  EXPECT_EQ((*e)[0].md5, "abc");
  EXPECT_EQ((*e)[0].tenant, "");
  EXPECT_EQ((*e)[1].data_id, "db");
  EXPECT_EQ((*e)[1].md5, "def");
  EXPECT_EQ((*e)[1].tenant, "dev");
}

TEST(NacosListeningConfigs, EmptyMd5TrailingTextAndRepeats) {
  // A client holding nothing sends an empty MD5; text after the last ^1 is ignored; a repeated
  // entry keeps its last MD5 (a map, as Nacos keeps it).
  auto e = parse_listening_configs(wire("a^2g^2^1a^2g^2x^1junk"));
  ASSERT_TRUE(e);
  ASSERT_EQ(e->size(), 1u);
  EXPECT_EQ((*e)[0].md5, "x");
  EXPECT_TRUE(parse_listening_configs("")->empty());
  EXPECT_TRUE(parse_listening_configs("no separators at all")->empty());
}

TEST(NacosListeningConfigs, RefusesMalformedEntries) {
  EXPECT_FALSE(parse_listening_configs(wire("a^1")));              // one field
  EXPECT_FALSE(parse_listening_configs(wire("a^2b^1")));           // two fields
  EXPECT_FALSE(parse_listening_configs(wire("a^2b^2c^2d^2e^1")));  // too many
  EXPECT_FALSE(parse_listening_configs(wire("^1")));
  std::string many;
  for (size_t i = 0; i <= kMaxListeners; ++i) {
    many += wire("k" + std::to_string(i) + "^2g^2^1");
  }
  EXPECT_FALSE(parse_listening_configs(many));
}

TEST(NacosListeningConfigs, AnswerIsUrlEncoded) {
  std::vector<ListenEntry> changed = {{"app.yaml", "DEFAULT_GROUP", "", "x"},
                                      {"db", "grp", "dev", "y"},
                                      {"c", "g", "  ", "z"}};  // a blank tenant is left out
  EXPECT_EQ(encode_changed(changed), "app.yaml%02DEFAULT_GROUP%01db%02grp%02dev%01c%02g%01");
  EXPECT_EQ(encode_changed({}), "");
  // What a client decodes (Java's URLDecoder) is the separators' text.
  EXPECT_EQ(url_decode(encode_changed({changed[1]})), wire("db^2grp^2dev^1"));
}

TEST(NacosForm, DecodesFieldsInOrder) {
  Params p = {{"q", "1"}};
  ASSERT_TRUE(decode_form("dataId=a.b&group=&content=x%3Dy+z%0A&flag&&content=second", p));
  EXPECT_EQ(param(p, "q"), "1");
  EXPECT_EQ(param(p, "dataId"), "a.b");
  EXPECT_EQ(param(p, "group"), "");
  EXPECT_EQ(param(p, "content"), "x=y z\n");  // the first wins
  EXPECT_EQ(param(p, "flag"), "");
  EXPECT_EQ(param(p, "missing"), std::nullopt);
}

TEST(NacosForm, MalformedEscapeAddsNothing) {
  Params p;
  EXPECT_FALSE(decode_form("a=1&b=%zz", p));
  EXPECT_FALSE(decode_form("a=%4", p));
  EXPECT_TRUE(p.empty());
  EXPECT_TRUE(decode_form("", p));
}

TEST(NacosUrl, JavaEncoding) {
  EXPECT_EQ(url_encode("aZ09.-*_"), "aZ09.-*_");
  EXPECT_EQ(url_encode("a b/c~\x01\xc3\xa9"), "a+b%2Fc%7E%01%C3%A9");
  EXPECT_EQ(url_decode("a+b%2fc%7E%01"), std::string("a b/c~\x01"));
  EXPECT_FALSE(url_decode("%"));
  EXPECT_FALSE(url_decode("%g0"));
}

TEST(NacosMd5, MatchesKnownDigests) {
  EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_hex("hello"), "5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(md5_hex("\xe4\xbd\xa0\xe5\xa5\xbd"), "7eca689f0d3389d9dea66ae112e5cfd7");  // 你好
}

TEST(NacosAddress, GroupTenantAndDefaults) {
  auto a = map_address("app.yaml", "DEFAULT_GROUP", "");
  ASSERT_TRUE(a.address) << a.error;
  EXPECT_EQ(a.address->ns, "DEFAULT_GROUP");
  EXPECT_EQ(a.address->key, "app.yaml");
  EXPECT_EQ(map_address("k", "", "").address->ns, "DEFAULT_GROUP");
  EXPECT_EQ(map_address("k", "g", "public").address->ns, "g");
  EXPECT_EQ(map_address("k", "g", "dev").address->ns, "dev.g");
  EXPECT_EQ(map_address("k:1", "g", "").address->key, "k:1");
}

TEST(NacosAddress, NamesCairnCannotHold) {
  EXPECT_EQ(map_address("", "g", "").error, "invalid dataId : ");
  EXPECT_EQ(map_address("  ", "g", "").error, "invalid dataId :   ");
  EXPECT_EQ(map_address("a b", "g", "").error, "invalid dataId : a b");
  EXPECT_EQ(map_address("k", "a:b", "").error, "invalid group : a:b");
  EXPECT_EQ(map_address("k", "123", "").error, "invalid group : 123");  // an id, not a name
  EXPECT_EQ(map_address("k", "g", "t/x").error, "invalid tenant");
  EXPECT_EQ(map_address("k", "g", std::string(129, 't')).error, "too long tenant, over 128");
  // tenant.group must fit a namespace name.
  EXPECT_EQ(map_address("k", std::string(64, 'g'), std::string(64, 't')).error,
            "invalid group : " + std::string(64, 'g'));
  EXPECT_TRUE(map_address("k", std::string(63, 'g'), std::string(64, 't')).address);
}

TEST(NacosListener, TimeoutAsNacosHoldsIt) {
  EXPECT_EQ(hold_ms(30'000, 60'000), 29'500);
  EXPECT_EQ(hold_ms(1'000, 60'000), 10'000);  // at least 10 s
  EXPECT_EQ(hold_ms(-5, 60'000), 10'000);
  EXPECT_EQ(hold_ms(INT64_MIN, 60'000), 10'000);
  EXPECT_EQ(hold_ms(INT64_MAX, 60'000), 60'000);
  EXPECT_EQ(parse_long("30000"), 30'000);
  EXPECT_EQ(parse_long("+5"), 5);
  EXPECT_EQ(parse_long("-5"), -5);
  EXPECT_FALSE(parse_long(""));
  EXPECT_FALSE(parse_long("3s"));
  EXPECT_FALSE(parse_long("++5"));
  EXPECT_FALSE(parse_long("99999999999999999999"));
}

TEST(NacosBlank, JavaWhitespace) {
  EXPECT_TRUE(blank(""));
  EXPECT_TRUE(blank(" \t\r\n"));
  EXPECT_FALSE(blank(" x "));
}

}  // namespace
}  // namespace cairn::nacos
