#pragma once

#include <string_view>

#include "auth/grants.h"

namespace cairn::auth {

/// What a route requires of its caller (docs/security.md).
struct RoutePolicy {
  enum class Access {
    kPublic,         // no token needed: health, /livez, /readyz, the console's static files
    kAuthenticated,  // any valid token: whoami, namespace list (filtered to what it may see)
    kNamespace,      // `permission` on every namespace the request names
    kClusterAdmin,   // cluster, tokens, audit, debug: and every route not in the table
  };
  /// When a kNamespace request names no namespace at all.
  enum class Absent {
    kHandlerRejects,  // the handler answers 400 (the namespace is required)
    kFiltered,        // the handler lists only the visible namespaces' rows
    kClusterAdmin,    // it means "every namespace": cluster-admin only
  };
  Access access = Access::kClusterAdmin;
  Permission permission = Permission::kClusterAdmin;
  /// The body member naming the namespace ("namespace"; "name" when creating one).
  std::string_view body_field = "namespace";
  Absent absent = Absent::kHandlerRejects;
};

/// The policy of (method, route template as the router matched it). Routes missing from the
/// table need cluster-admin, so a route added later without an entry is closed, not open.
/// `metrics_public` opens GET /api/v1/metrics (config key metrics_public).
RoutePolicy policy_for(std::string_view method, std::string_view route, bool metrics_public);

}  // namespace cairn::auth
