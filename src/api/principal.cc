#include "api/principal.h"

#include "api/validate.h"

namespace cairn::api {

std::optional<Permission> parse_permission(std::string_view text) {
  if (text == "read") return Permission::kRead;
  if (text == "write") return Permission::kWrite;
  if (text == "admin") return Permission::kAdmin;
  if (text == "cluster-admin") return Permission::kClusterAdmin;
  if (text == "reveal") return Permission::kReveal;
  return std::nullopt;
}

std::string_view permission_name(Permission p) {
  switch (p) {
    case Permission::kRead:
      return "read";
    case Permission::kWrite:
      return "write";
    case Permission::kAdmin:
      return "admin";
    case Permission::kClusterAdmin:
      return "cluster-admin";
    case Permission::kReveal:
      return "reveal";
  }
  return "unknown";
}

bool valid_pattern(std::string_view pattern) {
  if (pattern == "*") return true;
  if (!pattern.empty() && pattern.back() == '*') pattern.remove_suffix(1);
  return !check_namespace_name(pattern).has_value();
}

bool pattern_matches(std::string_view pattern, std::string_view ns) {
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    return ns.substr(0, pattern.size()) == pattern;
  }
  return pattern == ns;
}

bool grants_cluster_admin(const std::vector<Grant>& grants) {
  for (const auto& g : grants) {
    if (parse_permission(g.permission) == Permission::kClusterAdmin) return true;
  }
  return false;
}

bool grants_allow(const std::vector<Grant>& grants, std::string_view ns, Permission p) {
  for (const auto& g : grants) {
    auto granted = parse_permission(g.permission);
    if (!granted) continue;
    if (p == Permission::kReveal || *granted == Permission::kReveal) {
      // Reveal is implied by nothing and implies nothing (docs/secrets.md).
      if (p == *granted && pattern_matches(g.ns_pattern, ns)) return true;
      continue;
    }
    if (*granted == Permission::kClusterAdmin) return true;
    if (p != Permission::kClusterAdmin && *granted >= p && pattern_matches(g.ns_pattern, ns)) {
      return true;
    }
  }
  return false;
}

std::optional<std::vector<std::string>> grants_visible_patterns(const std::vector<Grant>& grants) {
  std::vector<std::string> out;
  for (const auto& g : grants) {
    auto granted = parse_permission(g.permission);
    if (!granted) continue;
    if (*granted == Permission::kClusterAdmin || g.ns_pattern == "*") return std::nullopt;
    out.push_back(g.ns_pattern);
  }
  return out;
}

std::optional<Error> Principal::check(std::string_view ns, Permission p) const {
  if (allows(ns, p)) return std::nullopt;
  return make_error(Errc::kForbidden, "token '" + name + "' has no " +
                                          std::string(permission_name(p)) +
                                          " permission on namespace '" + std::string(ns) + "'");
}

std::optional<Error> Principal::check_cluster_admin(std::string_view what) const {
  if (cluster_admin()) return std::nullopt;
  return make_error(Errc::kForbidden,
                    std::string(what) + "token '" + name + "' is not cluster-admin");
}

}  // namespace cairn::api
