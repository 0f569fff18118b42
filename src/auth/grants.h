#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/command.h"
#include "api/principal.h"

namespace cairn::auth {

// Permissions and grant patterns are the core's (api/principal.h): the core checks every
// operation against the caller's grants; the guard here checks the same grants per route.
using api::parse_permission;
using api::pattern_matches;
using api::Permission;
using api::permission_name;
using api::valid_pattern;

/// Who a request comes from, once its token is checked. Plain value.
struct Identity {
  std::string name;      // the operator recorded in history and the audit log
  std::string token_id;  // "root" for the bootstrap token
  std::vector<api::Grant> grants;
  int64_t expires_at_ms = 0;  // 0: never

  bool cluster_admin() const { return api::grants_cluster_admin(grants); }
  /// Whether the grants allow `p` on namespace `ns`.
  bool allows(std::string_view ns, Permission p) const { return api::grants_allow(grants, ns, p); }
  /// The namespace patterns of every grant; nullopt when every namespace is visible.
  std::optional<std::vector<std::string>> visible_patterns() const {
    return api::grants_visible_patterns(grants);
  }
  /// The caller as the core sees it.
  api::Principal principal() const { return api::Principal::with_grants(name, grants); }
};

}  // namespace cairn::auth
