#include "secrets/keyring.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "secrets/aead.h"
#include "test_support.h"

namespace cairn::secrets {
namespace {

std::string b64key(char fill) { return base64_encode(std::string(32, fill)); }

TEST(Keyring, ParsesFileTextWithSeveralKeys) {
  auto ring = parse_keyring(R"({"current":"k2","keys":{"k1":")" + b64key('a') + R"(","k2":")" +
                            b64key('b') + R"("}})");
  ASSERT_TRUE(ring.ok()) << ring.error();
  EXPECT_EQ(ring->current_id(), "k2");
  ASSERT_NE(ring->find("k1"), nullptr);
  EXPECT_EQ(ring->find("k1")->key, std::string(32, 'a'));
  EXPECT_EQ(ring->current()->key, std::string(32, 'b'));
  EXPECT_EQ(ring->find("k3"), nullptr);
}

TEST(Keyring, RefusesBadKeys) {
  EXPECT_FALSE(parse_keyring("{}").ok());
  EXPECT_FALSE(parse_keyring(R"({"current":"k9","keys":{"k1":")" + b64key('a') + R"("}})").ok());
  EXPECT_FALSE(parse_keyring(R"({"current":"k1","keys":{"k1":"c2hvcnQ="}})").ok());
  EXPECT_FALSE(parse_keyring(R"({"current":"bad id","keys":{"bad id":")" + b64key('a') + R"("}})")
                   .ok());
  EXPECT_FALSE(parse_keyring("not json").ok());
}

TEST(Keyring, EnvironmentForm) {
  auto ring = parse_keyring_env("new:" + b64key('n') + ",old:" + b64key('o'));
  ASSERT_TRUE(ring.ok()) << ring.error();
  EXPECT_EQ(ring->current_id(), "new");
  EXPECT_NE(ring->find("old"), nullptr);
  EXPECT_FALSE(parse_keyring_env("nocolon").ok());
  EXPECT_FALSE(parse_keyring_env("a:" + b64key('a') + ",a:" + b64key('b')).ok());
}

TEST(Keyring, FileMustBeOwnerOnly) {
  test::TempDir dir;
  std::string path = dir.path() + "/keys.json";
  auto text = generate_keyring_text("k1");
  ASSERT_TRUE(text.ok());
  std::ofstream(path) << *text;
  ::chmod(path.c_str(), 0644);
  auto refused = load_keyring_file(path);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("0644"), std::string::npos) << refused.error();
  ::chmod(path.c_str(), 0600);
  auto ring = load_keyring_file(path);
  ASSERT_TRUE(ring.ok()) << ring.error();
  EXPECT_EQ(ring->current_id(), "k1");
  EXPECT_FALSE(load_keyring_file(dir.path() + "/absent.json").ok());
}

TEST(Keyring, GeneratedKeysDiffer) {
  auto a = parse_keyring(*generate_keyring_text("k"));
  auto b = parse_keyring(*generate_keyring_text("k"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->current()->key, b->current()->key);
  EXPECT_FALSE(generate_keyring_text("no/slash").ok());
}

}  // namespace
}  // namespace cairn::secrets
