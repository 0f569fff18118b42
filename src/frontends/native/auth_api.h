#pragma once

#include "auth/authenticator.h"
#include "core/core.h"
#include "http/router.h"

namespace cairn::native {

/// The token and audit endpoints (docs/security.md):
///
/// - `POST /api/v1/admin/tokens` {name, grants: [{namespace, permission}], ttl} → id and the
///   secret, shown this once; `GET /api/v1/admin/tokens` (never a secret);
///   `DELETE /api/v1/admin/tokens/{id}` revokes;
/// - `GET /api/v1/auth/whoami`;
/// - `GET /api/v1/admin/audit` (filters actor, namespace, action, from, to; paginated) and
///   `POST /api/v1/admin/audit` {entries}, by which followers ship their denials to the leader.
///
/// Access is checked by the router guard (auth/policy.h), not here. Lifetime: borrows
/// everything, which must outlive the HTTP server. Threads: handlers on any io thread.
class AuthApi {
 public:
  /// `auth` null: auth is off, and only the audit log's GET is served.
  AuthApi(auth::Authenticator* auth, core::Core& core) : auth_(auth), core_(core) {}

  void register_routes(http::Router& router);

 private:
  void create_token(const http::RequestPtr& req, const http::Reply& reply);
  void list_tokens(const http::RequestPtr& req, const http::Reply& reply);
  void revoke_token(const http::RequestPtr& req, const http::Reply& reply);
  void whoami(const http::RequestPtr& req, const http::Reply& reply);
  void list_audit(const http::RequestPtr& req, const http::Reply& reply);
  void append_audit(const http::RequestPtr& req, const http::Reply& reply);

  auth::Authenticator* auth_;
  core::Core& core_;
};

/// The body of `POST /api/v1/admin/audit` carrying `batch`.
std::string audit_body(const api::AppendAudit& batch);

}  // namespace cairn::native
