#include "auth/grants.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "auth/policy.h"
#include "auth/secret.h"
#include "http/router.h"
#include "routes/table.h"

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

RoutePolicy policy_of(std::string_view method, std::string_view path_template,
                      bool metrics_public = false) {
  const routes::Route* route = routes::find(method, path_template);
  EXPECT_NE(route, nullptr) << method << " " << path_template;
  return route ? policy_for(*route, metrics_public) : RoutePolicy{};
}

TEST(Policy, ComesFromTheRouteTable) {
  using Access = RoutePolicy::Access;
  EXPECT_EQ(policy_of("GET", "/api/v1/health").access, Access::kPublic);
  EXPECT_EQ(policy_of("GET", "/ui/").access, Access::kPublic);
  EXPECT_EQ(policy_of("GET", "/api/v1/metrics").access, Access::kClusterAdmin);
  EXPECT_EQ(policy_of("GET", "/api/v1/metrics", true).access, Access::kPublic);
  auto read = policy_of("GET", "/api/v1/config/get");
  EXPECT_EQ(read.access, Access::kNamespace);
  EXPECT_EQ(read.permission, Permission::kRead);
  EXPECT_EQ(policy_of("PUT", "/api/v1/admin/config").permission, Permission::kWrite);
  EXPECT_EQ(policy_of("POST", "/api/v1/admin/namespace").body_field, "name");
  EXPECT_EQ(policy_of("POST", "/api/v1/admin/config/cleanup").absent,
            RoutePolicy::Absent::kClusterAdmin);
  EXPECT_EQ(policy_of("GET", "/api/v1/admin/config/list").absent, RoutePolicy::Absent::kFiltered);
  EXPECT_EQ(policy_of("GET", "/api/v1/admin/namespace/list").access, Access::kAuthenticated);
  // What the old policy table did not name needed cluster-admin: the table says so now.
  for (auto [method, path] : std::initializer_list<std::pair<const char*, const char*>>{
           {"GET", "/api/v1/cluster"},
           {"GET", "/api/v1/cluster/status"},
           {"GET", "/api/v1/cluster/health"},
           {"POST", "/api/v1/admin/cluster/transfer-leader"},
           {"POST", "/api/v1/admin/cluster/members"},
           {"DELETE", "/api/v1/admin/cluster/members/{id}"},
           {"POST", "/api/v1/admin/tokens"},
           {"GET", "/api/v1/admin/tokens"},
           {"DELETE", "/api/v1/admin/tokens/{id}"},
           {"GET", "/api/v1/admin/audit"},
           {"POST", "/api/v1/admin/audit"},
           {"GET", "/api/v1/debug/vars"},
           {"POST", "/api/v1/debug/fault"}}) {
    EXPECT_EQ(policy_of(method, path).access, Access::kClusterAdmin) << method << " " << path;
  }
}

// A route the table does not declare has no policy at all: the server's router refuses it.
TEST(Policy, UndeclaredRoutesCannotBeServed) {
  EXPECT_EQ(routes::find("POST", "/api/v1/health"), nullptr);
  static constexpr routes::Route kNew{{"GET", "/api/v1/some/new/route"},
                                      routes::Permission::kPublic,
                                      routes::RateClass::kNone,
                                      routes::Effect::kNone,
                                      "/api/v1/some/new/route"};
  http::Router router(routes::declared);
  EXPECT_THROW(router.add(kNew, [](http::RequestPtr, http::Reply) {}), std::logic_error);
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
