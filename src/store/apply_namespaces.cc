// Namespace commands: create, update (description, status, retention overrides), delete.

#include "store/apply_internal.h"

namespace cairn::store::apply_detail {

// ---- namespaces ----

R<Outcome> create_namespace(Ctx& ctx, const api::CreateNamespace& c) {
  if (auto bad = api::check_namespace_name(c.name)) return fail(Errc::kValidation, *bad, "name");
  if (auto bad = api::check_description(c.description)) {
    return fail(Errc::kValidation, *bad, "description");
  }
  if (namespace_by_name(ctx.db, c.name)) {
    return fail(Errc::kConflict, "namespace " + squote(c.name) + " already exists", "name");
  }
  // A name used before gets its old id back, and with it the history of its keys.
  std::optional<int64_t> old_id;
  {
    Stmt s = ctx.db.prepare("SELECT id FROM namespace_tombstone WHERE name = ?");
    s.bind(c.name);
    if (s.step()) old_id = s.i64(0);
  }
  // A NULL id takes the next AUTOINCREMENT id.
  ctx.db
      .prepare(
          "INSERT INTO namespace(id, name, description, status, revision, created_at, "
          "updated_at) VALUES (?, ?, ?, 1, ?, ?, ?)")
      .bind(old_id)
      .bind(c.name)
      .bind(c.description)
      .bind(ctx.rev)
      .bind(ctx.ts)
      .bind(ctx.ts)
      .run();
  if (old_id) ctx.db.prepare("DELETE FROM namespace_tombstone WHERE name = ?").bind(c.name).run();
  auto row = namespace_by_id(ctx.db, old_id ? *old_id : ctx.db.last_insert_id());
  if (!row) return fail(Errc::kDatabase, "namespace row vanished after insert");
  ctx.changes.push_back(Change{Change::Kind::kNamespacePut, *row, {}, {}});
  return Outcome{api::NamespaceCreated{namespace_view(*row)}};
}

R<Outcome> update_namespace(Ctx& ctx, const api::UpdateNamespace& u) {
  auto ns = namespace_by_id(ctx.db, u.id);
  if (!ns) {
    return fail(Errc::kNamespaceNotFound,
                "namespace id " + std::to_string(u.id) + " does not exist", "id");
  }
  if (!u.description && !u.status && !u.keep_latest && !u.keep_days) {
    return fail(Errc::kBadRequest, "one of description, status or retention is required",
                "description");
  }
  if (auto ok = check_retention_override(u.keep_latest, api::kMaxKeepLatest, "keep_latest");
      !ok.ok()) {
    return Unexpected{ok.error()};
  }
  if (auto ok = check_retention_override(u.keep_days, api::kMaxKeepDays, "keep_days"); !ok.ok()) {
    return Unexpected{ok.error()};
  }
  RetentionOverride before = retention_override(ctx.db, ns->id);
  RetentionOverride after = before;
  auto merge = [](std::optional<int64_t>& field, const std::optional<int64_t>& change) {
    if (!change) return;
    field = *change == api::kRetentionReset ? std::nullopt : change;
  };
  merge(after.keep_latest, u.keep_latest);
  merge(after.keep_days, u.keep_days);
  if (u.description) {
    if (auto bad = api::check_description(*u.description)) {
      return fail(Errc::kValidation, *bad, "description");
    }
  }
  if (u.status) {
    if (auto bad = api::check_status(*u.status)) return fail(Errc::kValidation, *bad, "status");
  }
  std::string description = u.description.value_or(ns->description);
  int status = u.status.value_or(ns->status);
  if (description == ns->description && status == ns->status && after == before) {
    // Nothing to change (a retried or repeated update): success, no revision, no event.
    return Outcome{api::NamespaceUpdated{namespace_view(*ns), u.keep_latest || u.keep_days,
                                         retention_view(after), false},
                   false};
  }
  if (after != before) set_retention_override(ctx.db, ns->id, after);
  ctx.db
      .prepare(
          "UPDATE namespace SET description = ?, status = ?, revision = ?, updated_at = ? "
          "WHERE id = ?")
      .bind(description)
      .bind(status)
      .bind(ctx.rev)
      .bind(ctx.ts)
      .bind(ns->id)
      .run();
  auto row = namespace_by_id(ctx.db, ns->id);
  if (!row) return fail(Errc::kDatabase, "namespace row vanished after update");
  ctx.changes.push_back(Change{Change::Kind::kNamespacePut, *row, {}, {}});
  return Outcome{api::NamespaceUpdated{namespace_view(*row), u.keep_latest || u.keep_days,
                                       retention_view(after), true}};
}

R<Outcome> delete_namespace(Ctx& ctx, const api::DeleteNamespace& d) {
  auto ns = namespace_by_id(ctx.db, d.id);
  if (!ns) {
    return fail(Errc::kNamespaceNotFound,
                "namespace id " + std::to_string(d.id) + " does not exist", "id");
  }
  int64_t configs = 0;
  {
    Stmt count = ctx.db.prepare("SELECT COUNT(*) FROM config WHERE namespace_id = ?");
    count.bind(ns->id);
    if (count.step()) configs = count.i64(0);
  }
  if (configs > 0) {
    return fail(Errc::kConflict,
                "namespace " + squote(ns->name) + " still holds " + std::to_string(configs) +
                    (configs == 1 ? " config" : " configs") + "; delete them first",
                "id");
  }
  // The versions, tags and history of its keys stay (history is the audit trail, never
  // pruned): a namespace created again under this name gets this id back and finds them
  // (namespace_tombstone). key_version stays too, so that no version number is reused. Only
  // the namespace's own settings go.
  ctx.db.prepare("DELETE FROM namespace_retention WHERE namespace_id = ?").bind(ns->id).run();
  ctx.db.prepare("DELETE FROM namespace_schema WHERE namespace_id = ?").bind(ns->id).run();
  ctx.db.prepare("DELETE FROM schema_violation WHERE namespace_id = ?").bind(ns->id).run();
  ctx.db.prepare("DELETE FROM namespace WHERE id = ?").bind(ns->id).run();
  ctx.db
      .prepare(
          "INSERT INTO namespace_tombstone(name, id) VALUES (?, ?) "
          "ON CONFLICT(name) DO UPDATE SET id = excluded.id")
      .bind(ns->name)
      .bind(ns->id)
      .run();
  NamespaceRow last = *ns;
  last.revision = ctx.rev;
  last.updated_at_ms = ctx.ts;
  ctx.changes.push_back(Change{Change::Kind::kNamespaceDelete, last, {}, {}});
  return Outcome{api::NamespaceDeleted{ns->id, ns->name}};
}

}  // namespace cairn::store::apply_detail
