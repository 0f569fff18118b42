// Config commands: create/update/delete (alone or as a batch) and rollback.

#include <algorithm>

#include "api/validate.h"
#include "common/json.h"
#include "secrets/sealed.h"
#include "store/apply_internal.h"

namespace cairn::store::apply_detail {

// ---- secrets (docs/secrets.md) ----
// A value is secret exactly when its stored text is sealed. The leader seals before proposing
// (core::Core::seal), predicting the version the write gets; apply only checks, without any
// key: a sealed value must be well-formed and sealed for the version written, and a key that is
// secret (its current value is sealed, or it matches the namespace's secret_keys) only takes
// sealed values. A mismatch is a 40901 whose details start with secrets::kResealMarker: the
// leader seals again and retries.

namespace {

/// The size limit of a stored value: a sealed one carries its plaintext (checked against the
/// value limit by the leader) in base64 with a fixed overhead.
size_t stored_limit(std::string_view text, size_t max_value_bytes) {
  return secrets::looks_sealed(text) ? max_value_bytes / 3 * 4 + 1024 : max_value_bytes;
}

bool is_secret_key(const NamespaceRow& ns, std::string_view key,
                   const std::optional<ConfigRow>& current) {
  return (current && secrets::looks_sealed(current->value)) ||
         secrets::matches_any(ns.secret_keys, key);
}

/// Checks the value about to be stored as `version` of ns/key.
R<Ok> check_secret_value(const NamespaceRow& ns, std::string_view key, std::string_view value,
                         int64_t version, bool secret_key) {
  if (secrets::looks_sealed(value)) {
    auto parts = secrets::decode_sealed(value);
    if (!parts) {
      return fail(Errc::kValidation,
                  "values starting with {\"$sealed\" are reserved for sealed secrets", "value");
    }
    if (parts->version != version) {
      return fail(Errc::kConflict,
                  std::string(secrets::kResealMarker) + "secret " + squote(key) +
                      " was sealed for version " + std::to_string(parts->version) +
                      " but is written as version " + std::to_string(version),
                  "value");
    }
    return Ok{};
  }
  if (secret_key) {
    return fail(Errc::kConflict,
                std::string(secrets::kResealMarker) + "key " + squote(key) + " of namespace " +
                    squote(ns.name) + " is secret: its value must be sealed",
                "value");
  }
  return Ok{};
}

}  // namespace

// ---- configs ----

/// What one create/update/delete did, for the result's data.
struct OpOutcome {
  int64_t id = 0;
  int64_t version = 0;
  int64_t old_version = 0;
  bool changed = true;  // false: an update that found everything as asked (nothing written)
};

R<OpOutcome> create_config(Ctx& ctx, const NamespaceRow& ns, const api::ConfigWrite& w) {
  if (!w.value) return fail(Errc::kBadRequest, "value is required", "value");
  auto value = normalize_value(*w.value, stored_limit(*w.value, ctx.options.max_value_bytes));
  if (!value.ok()) return Unexpected{value.error()};
  if (auto ok = check_common_fields(w); !ok.ok()) return Unexpected{ok.error()};
  if (config_by_key(ctx.db, ns, w.key)) {
    return fail(Errc::kKeyExists,
                "key " + squote(w.key) + " already exists in namespace " + squote(ns.name),
                "key");
  }
  // expected_version has no meaning for a key that does not exist; it is ignored on create.
  int64_t version = last_version(ctx.db, ns.name, w.key) + 1;
  if (auto ok = check_secret_value(ns, w.key, *value, version, is_secret_key(ns, w.key, {}));
      !ok.ok()) {
    return Unexpected{ok.error()};
  }
  ctx.db
      .prepare(
          "INSERT INTO config(namespace_id, \"key\", value, version, description, status, "
          "created_by, updated_by, created_at, updated_at, revision) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(ns.id)
      .bind(w.key)
      .bind(*value)
      .bind(version)
      .bind(w.description.value_or(""))
      .bind(w.status.value_or(1))
      .bind(ctx.operator_name)
      .bind(ctx.operator_name)
      .bind(ctx.ts)
      .bind(ctx.ts)
      .bind(ctx.rev)
      .run();
  int64_t id = ctx.db.last_insert_id();
  set_last_version(ctx.db, ns.name, w.key, version);
  insert_version(ctx, id, ns.id, w.key, *value, version);
  insert_history(ctx, id, ns.id, w.key, std::nullopt, *value, version, "CREATE");
  // The row as just inserted (read back, it would be the same: no column has a default the
  // insert leaves to SQLite).
  ConfigRow row;
  row.id = id;
  row.namespace_id = ns.id;
  row.ns = ns.name;
  row.key = w.key;
  row.value = std::move(*value);
  row.version = version;
  row.description = w.description.value_or("");
  row.status = static_cast<int>(w.status.value_or(1));
  row.created_by = row.updated_by = ctx.operator_name;
  row.created_at_ms = row.updated_at_ms = ctx.ts;
  row.revision = ctx.rev;
  ctx.changes.push_back(Change{Change::Kind::kConfigPut, {}, std::move(row), "CREATE"});
  return OpOutcome{id, version, 0};
}

/// The config an update or delete acts on: it must exist (40403) and be at the expected
/// version when one is given (40901).
R<ConfigRow> existing_config(Ctx& ctx, const NamespaceRow& ns, const api::ConfigWrite& w) {
  auto current = config_by_key(ctx.db, ns, w.key);
  if (!current) {
    return fail(Errc::kConfigNotFound,
                "key " + squote(w.key) + " does not exist in namespace " + squote(ns.name),
                "key");
  }
  if (auto ok = check_expected(w.expected_version, current->version); !ok.ok()) {
    return Unexpected{ok.error()};
  }
  return *current;
}

R<OpOutcome> update_config(Ctx& ctx, const NamespaceRow& ns, const api::ConfigWrite& w) {
  auto current = existing_config(ctx, ns, w);
  if (!current.ok()) return Unexpected{current.error()};
  if (!w.value && !w.description && !w.status) {
    return fail(Errc::kBadRequest, "one of value, description or status is required", "value");
  }
  std::string value = current->value;
  if (w.value) {
    auto normalized =
        normalize_value(*w.value, stored_limit(*w.value, ctx.options.max_value_bytes));
    if (!normalized.ok()) return Unexpected{normalized.error()};
    value = std::move(*normalized);
  }
  if (auto ok = check_common_fields(w); !ok.ok()) return Unexpected{ok.error()};
  std::string description = w.description.value_or(current->description);
  int status = w.status.value_or(current->status);
  bool value_changed = value != current->value;
  bool status_changed = status != current->status;
  if (!value_changed && !status_changed && description == current->description) {
    // Nothing to change (a retried or repeated write, like etcd's and Consul's puts):
    // success at the same version; no version, history, revision or watch event.
    return OpOutcome{current->id, current->version, current->version, false};
  }
  int64_t version = current->version;
  if (value_changed) {
    version = std::max(current->version, last_version(ctx.db, ns.name, w.key)) + 1;
    if (auto ok = check_secret_value(ns, w.key, value, version,
                                     is_secret_key(ns, w.key, *current));
        !ok.ok()) {
      return Unexpected{ok.error()};
    }
  }
  // status only when it changes: a column in the SET list has its index rewritten
  // (idx_config_status) even when its value stays the same.
  {
    Stmt update = ctx.db.prepare(
        status_changed
            ? "UPDATE config SET value = ?, version = ?, description = ?, updated_by = ?, "
              "updated_at = ?, revision = ?, status = ? WHERE id = ?"
            : "UPDATE config SET value = ?, version = ?, description = ?, updated_by = ?, "
              "updated_at = ?, revision = ? WHERE id = ?");
    update.bind(value).bind(version).bind(description).bind(ctx.operator_name).bind(ctx.ts);
    update.bind(ctx.rev);
    if (status_changed) update.bind(status);
    update.bind(current->id).run();
  }
  std::string operation = "UPDATE";  // a description-only change writes no history
  if (value_changed) {
    set_last_version(ctx.db, ns.name, w.key, version);
    insert_version(ctx, current->id, ns.id, w.key, value, version);
    insert_history(ctx, current->id, ns.id, w.key, current->value, value, version, "UPDATE");
  }
  if (status_changed) {
    const char* op = status == 1 ? "ENABLE" : "DISABLE";
    insert_history(ctx, current->id, ns.id, w.key, value, value, version, op);
    if (!value_changed) operation = op;
  }
  ConfigRow row = std::move(*current);  // as updated above, without reading it back
  const int64_t old_version = row.version;
  row.value = std::move(value);
  row.version = version;
  row.description = std::move(description);
  row.status = status;
  row.updated_by = ctx.operator_name;
  row.updated_at_ms = ctx.ts;
  row.revision = ctx.rev;
  const int64_t id = row.id;
  ctx.changes.push_back(Change{Change::Kind::kConfigPut, {}, std::move(row), operation});
  return OpOutcome{id, version, old_version};
}

R<OpOutcome> delete_config(Ctx& ctx, const NamespaceRow& ns, const api::ConfigWrite& w) {
  auto current = existing_config(ctx, ns, w);
  if (!current.ok()) return Unexpected{current.error()};
  insert_history(ctx, current->id, ns.id, w.key, current->value, "null", current->version,
                 "DELETE");
  ctx.db.prepare("DELETE FROM config WHERE id = ?").bind(current->id).run();
  ConfigRow last = *current;
  last.revision = ctx.rev;
  last.updated_at_ms = ctx.ts;
  last.updated_by = ctx.operator_name;
  ctx.changes.push_back(Change{Change::Kind::kConfigDelete, {}, last, "DELETE"});
  return OpOutcome{current->id, current->version, current->version};
}

R<OpOutcome> apply_op(Ctx& ctx, const NamespaceRow& ns, const api::ConfigWrite& w) {
  if (auto bad = api::check_key(w.key)) return fail(Errc::kValidation, *bad, "key");
  switch (w.op) {
    case api::ConfigOp::kCreate:
      return create_config(ctx, ns, w);
    case api::ConfigOp::kUpdate:
      return update_config(ctx, ns, w);
    case api::ConfigOp::kDelete:
      return delete_config(ctx, ns, w);
  }
  return fail(Errc::kBadRequest, "unknown operation", "op");
}

/// The namespace a config write goes to: exists (40402) and is enabled (40901).
R<NamespaceRow> writable_namespace(Ctx& ctx, const std::string& name) {
  if (auto bad = api::check_namespace_name(name)) {
    return fail(Errc::kValidation, *bad, "namespace");
  }
  auto ns = namespace_by_name(ctx.db, name);
  if (!ns) {
    return fail(Errc::kNamespaceNotFound, "namespace " + squote(name) + " does not exist",
                "namespace");
  }
  if (ns->status != 1) {
    return fail(Errc::kConflict,
                "namespace " + squote(name) + " is disabled; enable it before writing configs",
                "namespace");
  }
  return std::move(*ns);
}

/// Records the command's revision on the namespace and puts its final state in every change.
/// The caller holds the namespace's row as it stands (no config command changes its other
/// columns), so the final state is set in memory instead of read back.
void finish_namespace(Ctx& ctx, NamespaceRow ns) {
  touch_namespace(ctx, ns.id);
  ns.revision = ctx.rev;
  ns.updated_at_ms = ctx.ts;
  for (auto& change : ctx.changes) change.ns = ns;
}

R<Outcome> write_configs(Ctx& ctx, const api::WriteConfigs& cmd) {
  if (cmd.create_namespace && !namespace_by_name(ctx.db, cmd.ns)) {
    // Undone with the rest of the command if an operation fails (apply's savepoint).
    auto created = create_namespace(ctx, api::CreateNamespace{cmd.ns, ""});
    if (!created.ok()) return Unexpected{created.error()};
  }
  auto ns = writable_namespace(ctx, cmd.ns);
  if (!ns.ok()) return Unexpected{ns.error()};
  if (cmd.ops.empty()) return fail(Errc::kBadRequest, "no operations", "operations");
  if (cmd.ops.size() > api::kMaxBatchOperations) {
    return fail(Errc::kValidation,
                "operations must hold 1 to " + std::to_string(api::kMaxBatchOperations) +
                    " operations",
                "operations");
  }
  {
    std::vector<std::string_view> keys;
    for (const auto& w : cmd.ops) keys.push_back(w.key);
    if (auto ok = check_release_conflict(ctx, *ns, keys, cmd.force); !ok.ok()) {
      return Unexpected{ok.error()};
    }
  }
  // The namespace's schemas: every value of the command is checked before anything is written,
  // so that a batch lists all its violations at once. A value that is not JSON is left to
  // apply_op's own refusal.
  auto schemas = namespace_schemas(ctx.db, ns->id);
  if (!schemas.ok()) return Unexpected{schemas.error()};
  if (*schemas) {
    std::vector<api::SchemaViolation> violations;
    for (const auto& w : cmd.ops) {
      if (w.op == api::ConfigOp::kDelete || !w.value) continue;
      if (!parse_json(*w.value, api::kMaxValueDepth)) continue;
      auto v = check_value(*schemas, w.key, *w.value);
      violations.insert(violations.end(), v.begin(), v.end());
    }
    if (!violations.empty()) {
      return Unexpected{schema_refusal(violations, cmd.batch ? "operations" : "value")};
    }
  }
  std::vector<OpOutcome> outcomes;
  outcomes.reserve(cmd.ops.size());
  for (size_t i = 0; i < cmd.ops.size(); ++i) {
    const auto& w = cmd.ops[i];
    if (w.value || w.op == api::ConfigOp::kDelete) clear_violation_flag(ctx, ns->id, w.key);
    auto done = apply_op(ctx, *ns, w);
    if (!done.ok()) {
      Error e = done.error();
      if (cmd.batch) {
        std::string where = "operations[" + std::to_string(i) + "]";
        e.details = where + " (" + std::string(api::op_name(w.op)) + " " + w.key + "): " +
                    e.details;
        e.field = where;
      }
      return Unexpected{std::move(e)};
    }
    outcomes.push_back(*done);
  }
  const bool changed = std::any_of(outcomes.begin(), outcomes.end(),
                                   [](const OpOutcome& o) { return o.changed; });
  if (changed) finish_namespace(ctx, *ns);

  api::ConfigsWritten written{cmd.ns, cmd.batch, changed ? ctx.rev : ctx.rev - 1, {}};
  written.ops.reserve(cmd.ops.size());
  for (size_t i = 0; i < cmd.ops.size(); ++i) {
    const OpOutcome& o = outcomes[i];
    written.ops.push_back(
        api::ConfigOpDone{cmd.ops[i].op, cmd.ops[i].key, o.id, o.version, o.old_version, o.changed});
  }
  return Outcome{std::move(written), changed};
}

R<Ok> write_release_values(Ctx& ctx, const NamespaceRow& ns,
                           const std::vector<api::ReleaseChange>& changes,
                           const std::string& release_id) {
  // The schema may have changed since the release started.
  if (auto ok = check_release_schemas(ctx, ns, changes); !ok.ok()) return Unexpected{ok.error()};
  const size_t first = ctx.changes.size();
  for (const auto& c : changes) {
    api::ConfigWrite w;
    w.key = c.key;
    w.value = c.value;
    const bool exists = config_by_key(ctx.db, ns.id, c.key).has_value();
    R<OpOutcome> done = OpOutcome{};
    if (c.value) {
      w.op = exists ? api::ConfigOp::kUpdate : api::ConfigOp::kCreate;
      done = exists ? update_config(ctx, ns, w) : create_config(ctx, ns, w);
    } else if (exists) {
      w.op = api::ConfigOp::kDelete;
      done = delete_config(ctx, ns, w);
    }
    if (!done.ok()) return Unexpected{done.error()};
  }
  ctx.db
      .prepare(
          "UPDATE config_history SET operation = 'RELEASE', release_id = ? "
          "WHERE namespace_id = ? AND revision = ? AND operation IN ('CREATE', 'UPDATE', 'DELETE')")
      .bind(release_id)
      .bind(ns.id)
      .bind(static_cast<int64_t>(ctx.rev))
      .run();
  for (size_t i = first; i < ctx.changes.size(); ++i) ctx.changes[i].operation = "RELEASE";
  finish_namespace(ctx, ns);
  return Ok{};
}

R<Outcome> rollback_config(Ctx& ctx, const api::RollbackConfig& cmd) {
  auto ns = writable_namespace(ctx, cmd.ns);
  if (!ns.ok()) return Unexpected{ns.error()};
  if (auto bad = api::check_key(cmd.key)) return fail(Errc::kValidation, *bad, "key");
  if (auto ok = check_release_conflict(ctx, *ns, {cmd.key}, cmd.force); !ok.ok()) {
    return Unexpected{ok.error()};
  }
  if (cmd.target_version < 1) {
    return fail(Errc::kValidation, "target_version must be at least 1", "target_version");
  }
  auto current = config_by_key(ctx.db, ns->id, cmd.key);
  if (!current) {
    return fail(Errc::kConfigNotFound,
                "key " + squote(cmd.key) + " does not currently exist in namespace " +
                    squote(cmd.ns),
                "key");
  }
  if (auto ok = check_expected(cmd.expected_version, current->version); !ok.ok()) {
    return Unexpected{ok.error()};
  }
  std::optional<std::string> target;
  {
    Stmt s = ctx.db.prepare(
        "SELECT value FROM config_version WHERE namespace_id = ? AND \"key\" = ? AND version = ?");
    s.bind(ns->id).bind(cmd.key).bind(cmd.target_version);
    if (s.step()) target = s.text(0);
  }
  if (!target) {
    return fail(Errc::kNotFound,
                "version " + std::to_string(cmd.target_version) + " of key " + squote(cmd.key) +
                    " does not exist",
                "target_version");
  }
  const bool target_sealed = secrets::looks_sealed(*target);
  std::string value = std::move(*target);
  auto schemas = namespace_schemas(ctx.db, ns->id);
  if (!schemas.ok()) return Unexpected{schemas.error()};
  if (auto violations = check_value(*schemas, cmd.key, value); !violations.empty()) {
    if (!cmd.force) {
      Error e = schema_refusal(violations, "target_version");
      e.details = "version " + std::to_string(cmd.target_version) +
                  " no longer matches the namespace's schema: " + e.details +
                  "; roll back with \"force\": true to store it anyway";
      return Unexpected{std::move(e)};
    }
    ctx.db.prepare("INSERT OR IGNORE INTO schema_violation(namespace_id, \"key\") VALUES (?, ?)")
        .bind(ns->id)
        .bind(cmd.key)
        .run();
  } else {
    clear_violation_flag(ctx, ns->id, cmd.key);
  }
  int64_t version = std::max(current->version, last_version(ctx.db, ns->name, cmd.key)) + 1;
  // A secret's old value is sealed for its own version: the leader sends it sealed again for
  // this one (api::RollbackConfig::sealed_value).
  if (cmd.sealed_value) {
    value = *cmd.sealed_value;
    if (!secrets::looks_sealed(value)) {
      return fail(Errc::kValidation, "sealed_value is not a sealed value", "sealed_value");
    }
  }
  // (A target's own sealed text is bound to the target's version, so it is refused here.)
  const bool secret = target_sealed || is_secret_key(*ns, cmd.key, *current);
  if (auto ok = check_secret_value(*ns, cmd.key, value, version, secret); !ok.ok()) {
    return Unexpected{ok.error()};
  }
  ctx.db
      .prepare(
          "UPDATE config SET value = ?, version = ?, updated_by = ?, updated_at = ?, "
          "revision = ? WHERE id = ?")
      .bind(value)
      .bind(version)
      .bind(ctx.operator_name)
      .bind(ctx.ts)
      .bind(ctx.rev)
      .bind(current->id)
      .run();
  set_last_version(ctx.db, ns->name, cmd.key, version);
  insert_version(ctx, current->id, ns->id, cmd.key, value, version);
  insert_history(ctx, current->id, ns->id, cmd.key, current->value, value, version, "ROLLBACK");
  auto row = config_by_key(ctx.db, ns->id, cmd.key);
  if (!row) return fail(Errc::kDatabase, "config row vanished after rollback");
  ctx.changes.push_back(Change{Change::Kind::kConfigPut, {}, *row, "ROLLBACK"});
  finish_namespace(ctx, *ns);
  return Outcome{api::ConfigRolledBack{cmd.ns, cmd.key, version, current->version}};
}

}  // namespace cairn::store::apply_detail
