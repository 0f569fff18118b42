#include "auth/policy.h"

namespace cairn::auth {

RoutePolicy policy_for(const routes::Route& route, bool metrics_public) {
  using Access = RoutePolicy::Access;
  auto on_namespaces = [&route](Permission p) {
    return RoutePolicy{Access::kNamespace, p, route.ns.body_field, route.ns.absent};
  };
  switch (route.permission) {
    case routes::Permission::kPublic: return RoutePolicy{Access::kPublic};
    case routes::Permission::kAnyToken: return RoutePolicy{Access::kAuthenticated};
    case routes::Permission::kRead: return on_namespaces(Permission::kRead);
    case routes::Permission::kWrite: return on_namespaces(Permission::kWrite);
    case routes::Permission::kAdmin: return on_namespaces(Permission::kAdmin);
    case routes::Permission::kScrape:
      return metrics_public ? RoutePolicy{Access::kPublic} : RoutePolicy{};
    case routes::Permission::kClusterAdmin: break;
  }
  return RoutePolicy{};
}

}  // namespace cairn::auth
