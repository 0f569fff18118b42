// Cluster bookkeeping commands: the member address book, API tokens, the audit log.

#include "common/json.h"
#include "store/apply_internal.h"

namespace cairn::store::apply_detail {

/// The member address book lives in `meta` as one JSON object {"<id>": {"peer", "http"}}, with
/// "learner": true on a member that stays non-voting.
R<Outcome> set_member_address(Ctx& ctx, const api::SetMemberAddress& c) {
  if (c.id <= 0) return fail(Errc::kValidation, "member id must be >= 1", "id");
  Json members = Json::object();
  std::string text = read_meta_text(ctx.db, "cluster_members");
  if (!text.empty()) {
    if (auto parsed = parse_json(text, 8); parsed && parsed->is_object()) members = *parsed;
  }
  const std::string id = std::to_string(c.id);
  if (c.remove) {
    members.erase(id);
  } else {
    members[id] = Json{{"peer", c.peer}, {"http", c.http}};
    if (c.learner) members[id]["learner"] = true;  // never promoted (docs/scaling.md)
  }
  write_meta_text(ctx.db, "cluster_members", dump_compact(members));
  Outcome out{api::MemberAddressSet{c.id, c.remove}};
  out.moves_revision = false;
  return out;
}


// ---- tokens and audit (docs/security.md) ----

R<Outcome> create_token(Ctx& ctx, const api::CreateToken& c) {
  if (c.id.empty() || c.id.size() > 64 || c.name.empty() || c.name.size() > 64 ||
      c.secret_hash.size() != 64) {
    return fail(Errc::kValidation, "token id, name or secret hash out of bounds", "name");
  }
  Stmt exists = ctx.db.prepare("SELECT 1 FROM auth_token WHERE id = ? OR secret_hash = ?");
  exists.bind(c.id).bind(c.secret_hash);
  if (exists.step()) return fail(Errc::kConflict, "token " + squote(c.id) + " already exists", "id");
  Json grants = Json::array();
  for (const auto& g : c.grants) {
    grants.push_back(Json{{"namespace", g.ns_pattern}, {"permission", g.permission}});
  }
  ctx.db
      .prepare(
          "INSERT INTO auth_token(id, name, secret_hash, grants, created_by, created_at,"
          " expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0)")
      .bind(c.id)
      .bind(c.name)
      .bind(c.secret_hash)
      .bind(dump_compact(grants))
      .bind(ctx.operator_name)
      .bind(ctx.ts)
      .bind(c.expires_at_ms)
      .run();
  Outcome out{api::TokenCreated{c.id, c.name, c.grants, ctx.ts, c.expires_at_ms}};
  out.moves_revision = false;
  return out;
}

R<Outcome> revoke_token(Ctx& ctx, const api::RevokeToken& c) {
  Stmt s = ctx.db.prepare("UPDATE auth_token SET revoked_at = ? WHERE id = ? AND revoked_at = 0");
  s.bind(ctx.ts).bind(c.id).run();
  if (ctx.db.changes() == 0) {
    return fail(Errc::kNotFound, "token " + squote(c.id) + " does not exist or is revoked", "id");
  }
  Outcome out{api::TokenRevoked{c.id, ctx.ts}};
  out.moves_revision = false;
  return out;
}

void insert_audit(Conn& db, const api::AuditEntry& e) {
  db.prepare(
        "INSERT INTO audit_log(at, actor, client_ip, action, namespace, \"key\", code,"
        " request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(e.at_ms)
      .bind(e.actor)
      .bind(e.client_ip)
      .bind(e.action)
      .bind(e.ns)
      .bind(e.key)
      .bind(e.code)
      .bind(e.request_id)
      .run();
}

R<Outcome> append_audit(Ctx& ctx, const api::AppendAudit& c) {
  for (const auto& e : c.entries) insert_audit(ctx.db, e);
  Outcome out{api::AuditAppended{static_cast<int64_t>(c.entries.size())}};
  out.moves_revision = false;
  return out;
}

/// The audit entry of an admin command (everything but AppendAudit), before it is applied.

}  // namespace cairn::store::apply_detail
