#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/command.h"
#include "api/errors.h"

namespace cairn::api {

/// What an operation needs, weakest first: each permission implies the ones before it
/// (docs/security.md). kClusterAdmin is granted on no namespace in particular: it allows
/// everything. kReveal (docs/secrets.md) stands apart: it is implied by no other permission,
/// not even cluster-admin, and implies none; it lets its holder see secret values in plain.
enum class Permission { kRead = 1, kWrite = 2, kAdmin = 3, kClusterAdmin = 4, kReveal = 5 };

std::optional<Permission> parse_permission(std::string_view text);
std::string_view permission_name(Permission p);

/// A namespace pattern of a grant: a namespace name (1–128 of [A-Za-z0-9._-]), optionally
/// ending in '*' ("user-*"), or "*" alone.
bool valid_pattern(std::string_view pattern);
bool pattern_matches(std::string_view pattern, std::string_view ns);

/// What a set of grants allows (grants of unknown permissions allow nothing).
bool grants_cluster_admin(const std::vector<Grant>& grants);
bool grants_allow(const std::vector<Grant>& grants, std::string_view ns, Permission p);
/// The namespace patterns of every grant (any permission shows a namespace in lists); nullopt
/// when every namespace is visible.
std::optional<std::vector<std::string>> grants_visible_patterns(const std::vector<Grant>& grants);

/// Who calls the core (core::Core): the principal every operation is checked against and the
/// operator its writes record. A front-end builds one per request from what authenticated it
/// (the auth guard's token, docs/security.md); internal callers (retention, audit, membership)
/// and nodes with auth off use `unrestricted()`. Plain value.
struct Principal {
  std::string name;  // the operator recorded in history and the audit log; "" with auth off
  std::vector<Grant> grants;
  bool restricted = false;  // false: every permission on everything (auth off, internal)
  /// Whether the request asks for secrets in plain (docs/secrets.md). The auth guard sets it
  /// from the native API's `reveal=true` / `X-Cairn-Reveal: true`; the protocol front-ends'
  /// clients cannot ask, so it stays true for them. Plaintext needs this AND may_reveal().
  bool reveal = true;

  static Principal unrestricted(std::string name = {}) {
    return Principal{std::move(name), {}, false};
  }
  static Principal with_grants(std::string name, std::vector<Grant> grants) {
    return Principal{std::move(name), std::move(grants), true};
  }

  bool cluster_admin() const { return !restricted || grants_cluster_admin(grants); }
  bool allows(std::string_view ns, Permission p) const {
    return !restricted || grants_allow(grants, ns, p);
  }
  /// Whether the grants allow seeing the secrets of `ns` in plain: a `reveal` grant on it, or
  /// an unrestricted caller (auth off: dev mode).
  bool may_reveal(std::string_view ns) const {
    return !restricted || grants_allow(grants, ns, Permission::kReveal);
  }
  /// Whether a secret of `ns` is answered in plain to this caller.
  bool reveals(std::string_view ns) const { return reveal && may_reveal(ns); }
  std::optional<std::vector<std::string>> visible_patterns() const {
    if (!restricted) return std::nullopt;
    return grants_visible_patterns(grants);
  }
  /// 403/40301 unless `p` is allowed on `ns`, worded as the auth guard words it.
  std::optional<Error> check(std::string_view ns, Permission p) const;
  /// 403/40301 unless cluster-admin. `what` prefixes the detail ("every namespace: …"), or "".
  std::optional<Error> check_cluster_admin(std::string_view what = {}) const;
};

}  // namespace cairn::api
