#pragma once

#include <string_view>

#include "auth/grants.h"
#include "routes/route.h"

namespace cairn::auth {

/// What a route requires of its caller (docs/security.md), as the guard checks it: the route's
/// permission (routes/table.h) in auth's terms.
struct RoutePolicy {
  enum class Access {
    kPublic,         // no token needed: health, /livez, /readyz, the console's static files
    kAuthenticated,  // any valid token: whoami, namespace list (filtered to what it may see)
    kNamespace,      // `permission` on every namespace the request names
    kClusterAdmin,   // cluster, tokens, audit, debug
  };
  using Absent = routes::NoNamespace;
  Access access = Access::kClusterAdmin;
  Permission permission = Permission::kClusterAdmin;
  /// The body member naming the namespace ("namespace"; "name" when creating one).
  std::string_view body_field = "namespace";
  Absent absent = Absent::kHandlerRejects;
};

/// The policy of a route of the table. `metrics_public` opens GET /api/v1/metrics (config key
/// metrics_public; Permission::kScrape).
RoutePolicy policy_for(const routes::Route& route, bool metrics_public);

}  // namespace cairn::auth
