#include "cache/index.h"

#include <gtest/gtest.h>

namespace cairn::cache {
namespace {

store::Change ns_put(int64_t id, const std::string& name, uint64_t revision, int status = 1) {
  store::Change c;
  c.kind = store::Change::Kind::kNamespacePut;
  c.ns.id = id;
  c.ns.name = name;
  c.ns.revision = revision;
  c.ns.status = status;
  return c;
}

store::Change config_put(const store::NamespaceRow& ns, const std::string& key,
                         const std::string& value, int64_t version) {
  store::Change c;
  c.kind = store::Change::Kind::kConfigPut;
  c.ns = ns;
  c.config.ns = ns.name;
  c.config.key = key;
  c.config.value = value;
  c.config.version = version;
  return c;
}

TEST(Index, AppliesNamespaceAndConfigChanges) {
  Index index;
  auto ns = ns_put(1, "svc", 1);
  index.apply({ns});
  EXPECT_EQ(index.namespace_id("svc"), 1);
  EXPECT_EQ(index.namespace_name(1), "svc");

  ns.ns.revision = 2;
  index.apply({config_put(ns.ns, "a", "1", 1), config_put(ns.ns, "b", R"({"x":2})", 1)});
  std::string seen;
  uint64_t revision = 0;
  EXPECT_TRUE(index.read_namespace("svc", [&](const NamespaceEntry& e) {
    for (const auto& [k, c] : e.configs) seen += k + "=" + c.value + ";";
    revision = e.revision;
  }));
  EXPECT_EQ(seen, R"(a=1;b={"x":2};)");
  EXPECT_EQ(revision, 2u);

  store::Change del;
  del.kind = store::Change::Kind::kConfigDelete;
  del.ns = ns.ns;
  del.ns.revision = 3;
  del.config.key = "a";
  index.apply({del});
  size_t count = 0;
  index.read_namespace("svc", [&](const NamespaceEntry& e) { count = e.configs.size(); });
  EXPECT_EQ(count, 1u);

  store::Change ns_del;
  ns_del.kind = store::Change::Kind::kNamespaceDelete;
  ns_del.ns = ns.ns;
  index.apply({ns_del});
  EXPECT_FALSE(index.read_namespace("svc", [](const NamespaceEntry&) {}));
  EXPECT_FALSE(index.namespace_name(1));
  EXPECT_EQ(index.reads(), 3u);
}

TEST(Index, NamespaceUpdateKeepsConfigs) {
  Index index;
  auto ns = ns_put(7, "svc", 1);
  index.apply({ns, config_put(ns.ns, "k", "true", 1)});
  index.apply({ns_put(7, "svc", 2, 0)});
  int status = -1;
  size_t count = 0;
  index.read_namespace("svc", [&](const NamespaceEntry& e) {
    status = e.status;
    count = e.configs.size();
  });
  EXPECT_EQ(status, 0);
  EXPECT_EQ(count, 1u);
}

}  // namespace
}  // namespace cairn::cache
