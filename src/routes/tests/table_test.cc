// Walks the route table: every route states a method, a path template, a permission, a rate
// class and a label, once. That every route has a handler, and every handler a route, is
// checked on a running node (src/server/tests/routes_test.cc).

#include "routes/table.h"

#include <gtest/gtest.h>

#include <cctype>
#include <iterator>
#include <map>
#include <set>
#include <string>

namespace cairn::routes {
namespace {

std::string name(const Route& r) {
  return std::string(r.method) + " " + std::string(r.path_template);
}

bool is_namespace_permission(Permission p) {
  return p == Permission::kRead || p == Permission::kWrite || p == Permission::kAdmin;
}

TEST(RouteTable, EveryRouteStatesAllFourOnce) {
  std::set<std::string> seen;
  for (const Route* r : kAll) {
    const std::string n = name(*r);
    EXPECT_TRUE(seen.insert(n).second) << n << " is declared twice";
    EXPECT_TRUE(r->method == "GET" || r->method == "POST" || r->method == "PUT" ||
                r->method == "DELETE")
        << n << ": the router never sees HEAD (served by GET) or other methods";
    EXPECT_EQ(r->path_template.substr(0, 1), "/") << n;
    EXPECT_LE(static_cast<int>(r->permission), static_cast<int>(Permission::kScrape)) << n;
    EXPECT_LE(static_cast<int>(r->rate), static_cast<int>(RateClass::kAdmin)) << n;
    EXPECT_FALSE(r->label.empty()) << n << " has no metrics label";
    EXPECT_EQ(find(r->method, r->path_template), r) << n;
    EXPECT_TRUE(declared(*r)) << n;
    if (!is_namespace_permission(r->permission)) {
      EXPECT_EQ(r->ns.body_field, "namespace") << n << ": a namespace rule without one";
      EXPECT_EQ(r->ns.absent, NoNamespace::kHandlerRejects) << n;
    }
  }
  EXPECT_EQ(seen.size(), std::size(kAll));
}

// A 405 (a known path, another method) is labelled by the path's template, so every route of
// one template must carry one label.
TEST(RouteTable, RoutesOfOneTemplateShareALabel) {
  std::map<std::string_view, std::string_view> label_of;
  for (const Route* r : kAll) {
    auto [it, added] = label_of.emplace(r->path_template, r->label);
    EXPECT_EQ(it->second, r->label) << name(*r);
  }
}

// Labels are metric label values: few, and never a raw id or other client-chosen text.
TEST(RouteTable, LabelsAreTemplatesOfBoundedText) {
  for (const Route* r : kAll) {
    for (char c : r->label) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) ||
                  std::string_view("/-_{}").find(c) != std::string_view::npos)
          << name(*r) << ": label " << r->label;
    }
  }
}

TEST(RouteTable, DeclaredIsByAddressNotByName) {
  static constexpr Route kLookAlike{{"GET", "/api/v1/config/get"},
                                    Permission::kPublic,
                                    RateClass::kNone,
                                    Effect::kNone,
                                    "/api/v1/config/get"};
  EXPECT_FALSE(declared(kLookAlike));
  EXPECT_TRUE(declared(kConfigGet));
  EXPECT_EQ(find("GET", "/api/v1/config/get"), &kConfigGet);
  EXPECT_EQ(find("POST", "/api/v1/config/get"), nullptr);
  EXPECT_EQ(find("GET", "/api/v1/config/nope"), nullptr);
}

// What docs/security.md and docs/rate-limits.md promise of a few routes, stated here so that a
// change to the table that breaks a promise fails.
TEST(RouteTable, DocumentedPromises) {
  for (const Route* r : {&kHealth, &kLivez, &kReadyz, &kUi, &kUiIndex, &kUiFile}) {
    EXPECT_EQ(r->permission, Permission::kPublic) << name(*r);
    EXPECT_EQ(r->rate, RateClass::kNone) << name(*r);
  }
  EXPECT_EQ(kMetrics.permission, Permission::kScrape);
  EXPECT_EQ(kConfigWatch.rate, RateClass::kNone);  // held, not served
  EXPECT_EQ(kConfigWatchStream.rate, RateClass::kNone);
  EXPECT_EQ(kAdminConfigCleanup.ns.absent, NoNamespace::kClusterAdmin);
  EXPECT_EQ(kNamespaceCreate.ns.body_field, "name");
  for (const Route* r : kAll) {
    // Looking is reading wherever it is done; a backup (a copy of the whole database) is heavy
    // and draws on the admin budget instead (docs/rate-limits.md).
    if (r == &kAdminBackup) {
      EXPECT_EQ(r->rate, RateClass::kAdmin);
    } else if (r->method == "GET" && r->path_template.starts_with("/api/v1/admin/")) {
      EXPECT_EQ(r->rate, RateClass::kRead) << name(*r);
    }
    if (r->path_template.starts_with("/api/v1/admin/tokens") ||
        r->path_template.starts_with("/api/v1/admin/audit") ||
        r->path_template.starts_with("/api/v1/admin/cluster") ||
        r->path_template.starts_with("/api/v1/cluster") ||
        r->path_template.starts_with("/api/v1/debug")) {
      EXPECT_EQ(r->permission, Permission::kClusterAdmin) << name(*r);
    }
  }
}

}  // namespace
}  // namespace cairn::routes
