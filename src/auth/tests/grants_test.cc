#include "auth/grants.h"

#include <gtest/gtest.h>

#include "auth/policy.h"
#include "auth/secret.h"

namespace cairn::auth {
namespace {

TEST(Patterns, MatchExactlyOrByPrefix) {
  EXPECT_TRUE(pattern_matches("user-service", "user-service"));
  EXPECT_FALSE(pattern_matches("user-service", "user-service2"));
  EXPECT_TRUE(pattern_matches("user-*", "user-"));
  EXPECT_TRUE(pattern_matches("user-*", "user-orders"));
  EXPECT_FALSE(pattern_matches("user-*", "users"));
  EXPECT_TRUE(pattern_matches("*", "anything"));
  EXPECT_TRUE(valid_pattern("*"));
  EXPECT_TRUE(valid_pattern("a-*"));
  EXPECT_FALSE(valid_pattern(""));
  EXPECT_FALSE(valid_pattern("a*b"));
  EXPECT_FALSE(valid_pattern("a b"));
  EXPECT_FALSE(valid_pattern("**"));
}

TEST(Identity, PermissionsImplyTheWeakerOnes) {
  Identity id{"svc", "t", {{"a-*", "read"}, {"b", "write"}, {"c", "admin"}}, 0};
  EXPECT_TRUE(id.allows("a-x", Permission::kRead));
  EXPECT_FALSE(id.allows("a-x", Permission::kWrite));
  EXPECT_TRUE(id.allows("b", Permission::kRead));
  EXPECT_TRUE(id.allows("b", Permission::kWrite));
  EXPECT_FALSE(id.allows("b", Permission::kAdmin));
  EXPECT_TRUE(id.allows("c", Permission::kAdmin));
  EXPECT_FALSE(id.allows("d", Permission::kRead));
  EXPECT_FALSE(id.allows("c", Permission::kClusterAdmin));
  EXPECT_FALSE(id.cluster_admin());
  EXPECT_EQ(id.visible_patterns(), (std::vector<std::string>{"a-*", "b", "c"}));

  Identity admin{"ops", "t2", {{"", "cluster-admin"}}, 0};
  EXPECT_TRUE(admin.cluster_admin());
  EXPECT_TRUE(admin.allows("anything", Permission::kAdmin));
  EXPECT_EQ(admin.visible_patterns(), std::nullopt);
  Identity star{"all", "t3", {{"*", "read"}, {"x", "bogus"}}, 0};
  EXPECT_EQ(star.visible_patterns(), std::nullopt);
  EXPECT_FALSE(star.allows("x", Permission::kWrite)) << "an unknown permission grants nothing";
}

TEST(Policy, UnknownRoutesNeedClusterAdmin) {
  using Access = RoutePolicy::Access;
  EXPECT_EQ(policy_for("GET", "/api/v1/health", false).access, Access::kPublic);
  EXPECT_EQ(policy_for("GET", "/ui/", false).access, Access::kPublic);
  EXPECT_EQ(policy_for("GET", "/api/v1/metrics", false).access, Access::kClusterAdmin);
  EXPECT_EQ(policy_for("GET", "/api/v1/metrics", true).access, Access::kPublic);
  EXPECT_EQ(policy_for("POST", "/api/v1/health", false).access, Access::kClusterAdmin);
  EXPECT_EQ(policy_for("GET", "/api/v1/some/new/route", false).access, Access::kClusterAdmin);
  auto read = policy_for("GET", "/api/v1/config/get", false);
  EXPECT_EQ(read.access, Access::kNamespace);
  EXPECT_EQ(read.permission, Permission::kRead);
  EXPECT_EQ(policy_for("PUT", "/api/v1/admin/config", false).permission, Permission::kWrite);
  EXPECT_EQ(policy_for("POST", "/api/v1/admin/namespace", false).body_field, "name");
  EXPECT_EQ(policy_for("POST", "/api/v1/admin/config/cleanup", false).absent,
            RoutePolicy::Absent::kClusterAdmin);
}

TEST(Secrets, AreRandomAndHashed) {
  std::string a = generate_secret();
  std::string b = generate_secret();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 6u + 43u);
  EXPECT_EQ(a.rfind("cairn_", 0), 0u);
  EXPECT_EQ(generate_token_id().size(), 16u);
  EXPECT_EQ(hash_secret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

}  // namespace
}  // namespace cairn::auth
