#include "auth/policy.h"

#include <array>

namespace cairn::auth {
namespace {

using Access = RoutePolicy::Access;
using Absent = RoutePolicy::Absent;

struct Entry {
  std::string_view method;
  std::string_view route;
  RoutePolicy policy;
};

constexpr RoutePolicy ns(Permission p, Absent absent = Absent::kHandlerRejects,
                         std::string_view body_field = "namespace") {
  return RoutePolicy{Access::kNamespace, p, body_field, absent};
}
constexpr RoutePolicy kPublic{Access::kPublic};
constexpr RoutePolicy kAnyToken{Access::kAuthenticated};

// Client reads need read; admin config calls write; namespace settings, tags and clean-up
// admin (docs/security.md).
constexpr std::array kTable = {
    Entry{"GET", "/api/v1/health", kPublic},
    Entry{"GET", "/livez", kPublic},
    Entry{"GET", "/readyz", kPublic},
    Entry{"GET", "/api/v1/auth/whoami", kAnyToken},
    Entry{"GET", "/api/v1/admin/namespace/list", kAnyToken},
    Entry{"GET", "/api/v1/config/get", ns(Permission::kRead)},
    Entry{"POST", "/api/v1/config/batch-get", ns(Permission::kRead)},
    Entry{"GET", "/api/v1/config/namespace/{namespace}", ns(Permission::kRead)},
    Entry{"GET", "/api/v1/config/watch", ns(Permission::kRead)},
    Entry{"GET", "/api/v1/config/watch/stream", ns(Permission::kRead)},
    Entry{"GET", "/api/v1/config/versions", ns(Permission::kRead)},
    Entry{"GET", "/api/v1/config/diff", ns(Permission::kRead)},
    Entry{"POST", "/api/v1/admin/config", ns(Permission::kWrite)},
    Entry{"PUT", "/api/v1/admin/config", ns(Permission::kWrite)},
    Entry{"DELETE", "/api/v1/admin/config", ns(Permission::kWrite)},
    Entry{"GET", "/api/v1/admin/config/list", ns(Permission::kWrite, Absent::kFiltered)},
    Entry{"GET", "/api/v1/admin/config/history", ns(Permission::kWrite)},
    Entry{"GET", "/api/v1/admin/config/versions", ns(Permission::kWrite)},
    Entry{"GET", "/api/v1/admin/config/diff", ns(Permission::kWrite)},
    Entry{"POST", "/api/v1/admin/config/rollback", ns(Permission::kWrite)},
    Entry{"POST", "/api/v1/admin/config/batch", ns(Permission::kWrite)},
    Entry{"POST", "/api/v1/admin/config/tag", ns(Permission::kAdmin)},
    Entry{"DELETE", "/api/v1/admin/config/tag", ns(Permission::kAdmin)},
    Entry{"POST", "/api/v1/admin/config/cleanup", ns(Permission::kAdmin, Absent::kClusterAdmin)},
    Entry{"POST", "/api/v1/admin/namespace",
          ns(Permission::kAdmin, Absent::kHandlerRejects, "name")},
    Entry{"PUT", "/api/v1/admin/namespace/{id}", ns(Permission::kAdmin)},
    Entry{"DELETE", "/api/v1/admin/namespace/{id}", ns(Permission::kAdmin)},
};

}  // namespace

RoutePolicy policy_for(std::string_view method, std::string_view route, bool metrics_public) {
  if (method == "GET" && (route == "/ui" || route.substr(0, 4) == "/ui/")) return kPublic;
  if (method == "GET" && route == "/api/v1/metrics" && metrics_public) return kPublic;
  for (const Entry& e : kTable) {
    if (e.method == method && e.route == route) return e.policy;
  }
  return RoutePolicy{};
}

}  // namespace cairn::auth
