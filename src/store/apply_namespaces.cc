// Namespace commands: create, update (description, status, retention overrides), delete.

#include "common/json.h"
#include "secrets/sealed.h"
#include "store/apply_internal.h"

namespace cairn::store::apply_detail {

namespace {

R<Ok> check_secret_keys(const std::vector<std::string>& patterns) {
  if (auto bad = secrets::check_key_patterns(patterns)) {
    return fail(Errc::kValidation, *bad, "secret_keys");
  }
  return Ok{};
}

void set_secret_keys(Conn& db, int64_t namespace_id, const std::vector<std::string>& patterns) {
  if (patterns.empty()) {
    db.prepare("DELETE FROM namespace_secret WHERE namespace_id = ?").bind(namespace_id).run();
    return;
  }
  Json list = Json::array();
  for (const auto& p : patterns) list.push_back(p);
  db.prepare(
        "INSERT INTO namespace_secret(namespace_id, patterns) VALUES (?, ?) "
        "ON CONFLICT(namespace_id) DO UPDATE SET patterns = excluded.patterns")
      .bind(namespace_id)
      .bind(dump_compact(list))
      .run();
}

}  // namespace

// ---- namespaces ----

R<Outcome> create_namespace(Ctx& ctx, const api::CreateNamespace& c) {
  if (auto bad = api::check_namespace_name(c.name)) return fail(Errc::kValidation, *bad, "name");
  if (auto bad = api::check_description(c.description)) {
    return fail(Errc::kValidation, *bad, "description");
  }
  if (auto ok = check_secret_keys(c.secret_keys); !ok.ok()) return Unexpected{ok.error()};
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
  const int64_t id = old_id ? *old_id : ctx.db.last_insert_id();
  set_secret_keys(ctx.db, id, c.secret_keys);
  auto row = namespace_by_id(ctx.db, id);
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
  if (!u.description && !u.status && !u.keep_latest && !u.keep_days && !u.secret_keys) {
    return fail(Errc::kBadRequest,
                "one of description, status, retention or secret_keys is required",
                "description");
  }
  if (u.secret_keys) {
    if (auto ok = check_secret_keys(*u.secret_keys); !ok.ok()) return Unexpected{ok.error()};
  }
  const bool secret_keys_changed = u.secret_keys && *u.secret_keys != ns->secret_keys;
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
  if (description == ns->description && status == ns->status && after == before &&
      !secret_keys_changed) {
    // Nothing to change (a retried or repeated update): success, no revision, no event.
    return Outcome{api::NamespaceUpdated{namespace_view(*ns), u.keep_latest || u.keep_days,
                                         retention_view(after), false},
                   false};
  }
  if (after != before) set_retention_override(ctx.db, ns->id, after);
  if (secret_keys_changed) set_secret_keys(ctx.db, ns->id, *u.secret_keys);
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
  ctx.db.prepare("DELETE FROM namespace_secret WHERE namespace_id = ?").bind(ns->id).run();
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
