#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/command.h"

namespace cairn::auth {

/// What a request needs, weakest first: each permission implies the ones before it
/// (docs/security.md). kClusterAdmin is granted on no namespace in particular: it allows
/// everything.
enum class Permission { kRead = 1, kWrite = 2, kAdmin = 3, kClusterAdmin = 4 };

std::optional<Permission> parse_permission(std::string_view text);
std::string_view permission_name(Permission p);

/// A namespace pattern of a grant: a namespace name (1–128 of [A-Za-z0-9._-]), optionally
/// ending in '*' ("user-*"), or "*" alone.
bool valid_pattern(std::string_view pattern);
bool pattern_matches(std::string_view pattern, std::string_view ns);

/// Who a request comes from, once its token is checked. Plain value.
struct Identity {
  std::string name;      // the operator recorded in history and the audit log
  std::string token_id;  // "root" for the bootstrap token
  std::vector<api::Grant> grants;
  int64_t expires_at_ms = 0;  // 0: never

  bool cluster_admin() const;
  /// Whether the grants allow `p` on namespace `ns`.
  bool allows(std::string_view ns, Permission p) const;
  /// The namespace patterns of every grant (any permission shows a namespace in lists); nullopt
  /// when every namespace is visible.
  std::optional<std::vector<std::string>> visible_patterns() const;
};

}  // namespace cairn::auth
