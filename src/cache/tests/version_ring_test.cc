#include "cache/version_ring.h"

#include <gtest/gtest.h>

namespace cairn::cache {
namespace {

store::Change put(const std::string& ns, const std::string& key, int64_t version,
                  const std::string& value) {
  store::Change c;
  c.kind = store::Change::Kind::kConfigPut;
  c.ns.name = ns;
  c.config.ns = ns;
  c.config.key = key;
  c.config.version = version;
  c.config.value = value;
  c.config.updated_at_ms = 1000 * version;
  c.config.updated_by = "op";
  return c;
}

TEST(VersionRing, KeepsTheLastTenVersionsOfEachKey) {
  VersionRing ring;
  for (int v = 1; v <= 12; ++v) ring.record({put("svc", "k", v, std::to_string(v))});
  ring.record({put("svc", "other", 1, "x")});
  EXPECT_FALSE(ring.find("svc", "k", 1));
  EXPECT_FALSE(ring.find("svc", "k", 2));
  for (int v = 3; v <= 12; ++v) {
    auto found = ring.find("svc", "k", v);
    ASSERT_TRUE(found) << v;
    EXPECT_EQ(found->value, std::to_string(v));
    EXPECT_EQ(found->created_at_ms, 1000 * v);
  }
  EXPECT_FALSE(ring.find("svc", "k", 13));
  EXPECT_FALSE(ring.find("other-ns", "k", 5));
  EXPECT_EQ(ring.keys(), 2u);
}

TEST(VersionRing, SameVersionAgainKeepsTheNewestContentAndNamespacesAreForgotten) {
  VersionRing ring;
  ring.record({put("svc", "k", 3, "a")});
  ring.record({put("svc", "k", 3, "b")});    // e.g. status changes do not move the version
  ring.record({put("svc", "k", 2, "old")});  // never goes backwards
  EXPECT_EQ(ring.find("svc", "k", 3)->value, "b");
  EXPECT_FALSE(ring.find("svc", "k", 2));
  ring.record({put("svd", "k", 1, "x")});
  store::Change gone;
  gone.kind = store::Change::Kind::kNamespaceDelete;
  gone.ns.name = "svc";
  ring.record({gone});
  EXPECT_FALSE(ring.find("svc", "k", 3));
  EXPECT_TRUE(ring.find("svd", "k", 1)) << "a namespace whose name starts alike stays";
  ring.forget("svd", "k", 1);
  EXPECT_FALSE(ring.find("svd", "k", 1));
  ring.record({put("svd", "k", 2, "y")});
  ring.clear();
  EXPECT_EQ(ring.keys(), 0u);
}

}  // namespace
}  // namespace cairn::cache
