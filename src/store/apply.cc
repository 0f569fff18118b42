// The state machine: Store::apply and one function per command. Every state-dependent check
// runs here, on the write connection inside the command's transaction, and reads only the
// database and the command (never the clock, never randomness), so that equal logs give equal
// tables on every node.

#include <algorithm>
#include <filesystem>
#include <string>

#include "common/json.h"
#include "common/time.h"
#include "store/archive.h"
#include "store/impl.h"
#include "store/schema.h"

namespace cairn::store {
namespace {

using api::Errc;
using api::Error;
using api::make_error;


std::string squote(std::string_view s) { return "'" + std::string(s) + "'"; }

/// What one command is applied with, and what it produced so far.
struct Ctx {
  Conn& db;
  const Options& options;
  const std::string& operator_name;
  int64_t ts;
  uint64_t rev;  // the revision this command gets if it succeeds
  std::vector<Change> changes;
};

/// A successful command's answer.
struct Outcome {
  std::string message;
  Json data;
  bool moves_revision = true;  // false for cluster bookkeeping
};

std::optional<NamespaceRow> namespace_by_name(Conn& db, std::string_view name) {
  Stmt s = db.prepare(std::string("SELECT ") + kNamespaceColumns +
                      " FROM namespace n WHERE n.name = ?");
  s.bind(name);
  if (!s.step()) return std::nullopt;
  return read_namespace_row(s);
}

std::optional<NamespaceRow> namespace_by_id(Conn& db, int64_t id) {
  Stmt s = db.prepare(std::string("SELECT ") + kNamespaceColumns +
                      " FROM namespace n WHERE n.id = ?");
  s.bind(id);
  if (!s.step()) return std::nullopt;
  return read_namespace_row(s);
}

std::optional<ConfigRow> config_by_key(Conn& db, int64_t namespace_id, std::string_view key) {
  Stmt s = db.prepare(std::string("SELECT ") + kConfigColumns +
                      " FROM config c JOIN namespace n ON n.id = c.namespace_id"
                      " WHERE c.namespace_id = ? AND c.\"key\" = ?");
  s.bind(namespace_id).bind(key);
  if (!s.step()) return std::nullopt;
  return read_config_row(s);
}

int64_t last_version(Conn& db, std::string_view ns, std::string_view key) {
  Stmt s = db.prepare("SELECT last_version FROM key_version WHERE namespace = ? AND \"key\" = ?");
  s.bind(ns).bind(key);
  return s.step() ? s.i64(0) : 0;
}

void set_last_version(Conn& db, std::string_view ns, std::string_view key, int64_t version) {
  db.prepare(
        "INSERT INTO key_version(namespace, \"key\", last_version) VALUES (?, ?, ?) "
        "ON CONFLICT(namespace, \"key\") DO UPDATE SET last_version = excluded.last_version")
      .bind(ns)
      .bind(key)
      .bind(version)
      .run();
}

void insert_version(Ctx& ctx, int64_t config_id, int64_t namespace_id, std::string_view key,
                    std::string_view value, int64_t version) {
  ctx.db
      .prepare(
          "INSERT INTO config_version(config_id, namespace_id, \"key\", value, version, status, "
          "created_by, created_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)")
      .bind(config_id)
      .bind(namespace_id)
      .bind(key)
      .bind(value)
      .bind(version)
      .bind(ctx.operator_name)
      .bind(ctx.ts)
      .run();
}

void insert_history(Ctx& ctx, int64_t config_id, int64_t namespace_id, std::string_view key,
                    const std::optional<std::string>& old_value, std::string_view new_value,
                    int64_t version, const char* operation) {
  ctx.db
      .prepare(
          "INSERT INTO config_history(config_id, namespace_id, \"key\", old_value, new_value, "
          "version, operation, operator, created_at, revision) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(config_id)
      .bind(namespace_id)
      .bind(key)
      .bind(old_value)
      .bind(new_value)
      .bind(version)
      .bind(operation)
      .bind(ctx.operator_name)
      .bind(ctx.ts)
      .bind(ctx.rev)
      .run();
}

/// The value as stored: valid JSON, depth ≤ 64, compact form within max_value_bytes. The compact
/// form only drops whitespace: numbers and strings keep their text (docs/api.md, "Numbers").
R<std::string> normalize_value(std::string_view text, size_t max_bytes) {
  if (json_depth(text, api::kMaxValueDepth) > api::kMaxValueDepth) {
    return fail(Errc::kValidation,
                "value nests deeper than " + std::to_string(api::kMaxValueDepth) + " levels",
                "value");
  }
  if (!parse_json(text, api::kMaxValueDepth)) {
    return fail(Errc::kValidation, "value is not valid JSON", "value");
  }
  std::string compact = compact_json_text(text);
  if (compact.size() > max_bytes) {
    return fail(Errc::kValidation,
                "value is " + std::to_string(compact.size()) + " bytes; the limit is " +
                    std::to_string(max_bytes),
                "value");
  }
  return compact;
}

R<Ok> check_common_fields(const api::ConfigWrite& w) {
  if (w.description) {
    if (auto bad = api::check_description(*w.description)) {
      return fail(Errc::kValidation, *bad, "description");
    }
  }
  if (w.status) {
    if (auto bad = api::check_status(*w.status)) return fail(Errc::kValidation, *bad, "status");
  }
  return Ok{};
}

R<Ok> check_expected(const std::optional<int64_t>& expected, int64_t current) {
  if (expected && *expected != current) {
    return fail(Errc::kConflict,
                "expected_version is " + std::to_string(*expected) +
                    " but the current version is " + std::to_string(current),
                "expected_version");
  }
  return Ok{};
}

void touch_namespace(Ctx& ctx, int64_t namespace_id) {
  ctx.db.prepare("UPDATE namespace SET revision = ?, updated_at = ? WHERE id = ?")
      .bind(ctx.rev)
      .bind(ctx.ts)
      .bind(namespace_id)
      .run();
}

Json namespace_json(const NamespaceRow& n, bool with_updated_at) {
  Json j = Json::object();
  j["id"] = n.id;
  j["name"] = n.name;
  j["description"] = n.description;
  j["status"] = n.status;
  j["created_at"] = format_utc(n.created_at_ms);
  if (with_updated_at) j["updated_at"] = format_utc(n.updated_at_ms);
  return j;
}

// ---- retention overrides (namespace_retention) ----

struct RetentionOverride {
  std::optional<int64_t> keep_latest;
  std::optional<int64_t> keep_days;
  bool operator==(const RetentionOverride&) const = default;
};

RetentionOverride retention_override(Conn& db, int64_t namespace_id) {
  RetentionOverride out;
  Stmt s = db.prepare(
      "SELECT keep_latest, keep_days FROM namespace_retention WHERE namespace_id = ?");
  s.bind(namespace_id);
  if (s.step()) {
    if (!s.is_null(0)) out.keep_latest = s.i64(0);
    if (!s.is_null(1)) out.keep_days = s.i64(1);
  }
  return out;
}

void set_retention_override(Conn& db, int64_t namespace_id, const RetentionOverride& r) {
  if (!r.keep_latest && !r.keep_days) {
    db.prepare("DELETE FROM namespace_retention WHERE namespace_id = ?").bind(namespace_id).run();
    return;
  }
  db.prepare(
        "INSERT INTO namespace_retention(namespace_id, keep_latest, keep_days) VALUES (?, ?, ?) "
        "ON CONFLICT(namespace_id) DO UPDATE SET keep_latest = excluded.keep_latest, "
        "keep_days = excluded.keep_days")
      .bind(namespace_id)
      .bind(r.keep_latest)
      .bind(r.keep_days)
      .run();
}

/// The effective policy of a namespace, as the API shows it.
Json retention_json(const RetentionOverride& r) {
  Json j = Json::object();
  j["keep_latest"] = r.keep_latest.value_or(api::kDefaultKeepLatest);
  j["keep_days"] = r.keep_days.value_or(api::kDefaultKeepDays);
  j["keep_latest_overridden"] = r.keep_latest.has_value();
  j["keep_days_overridden"] = r.keep_days.has_value();
  return j;
}

/// A retention number of a command: 0..max, or kRetentionReset where `allow_reset`.
R<Ok> check_retention_override(const std::optional<int64_t>& v, int64_t max, const char* field,
                               bool allow_reset = true) {
  if (!v) return Ok{};
  if (allow_reset && *v == api::kRetentionReset) return Ok{};
  if (*v < 0 || *v > max) {
    return fail(Errc::kValidation,
                std::string(field) + " must be between 0 and " + std::to_string(max), field);
  }
  return Ok{};
}

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
  return Outcome{"命名空间创建成功", namespace_json(*row, false)};
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
    Json data = namespace_json(*ns, true);
    if (u.keep_latest || u.keep_days) data["retention"] = retention_json(after);
    data["changed"] = false;
    return Outcome{"命名空间更新成功", std::move(data), false};
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
  Json data = namespace_json(*row, true);
  if (u.keep_latest || u.keep_days) data["retention"] = retention_json(after);
  data["changed"] = true;
  return Outcome{"命名空间更新成功", std::move(data)};
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
  Json data = Json::object();
  data["id"] = ns->id;
  data["name"] = ns->name;
  return Outcome{"命名空间删除成功", std::move(data)};
}

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
  auto value = normalize_value(*w.value, ctx.options.max_value_bytes);
  if (!value.ok()) return Unexpected{value.error()};
  if (auto ok = check_common_fields(w); !ok.ok()) return Unexpected{ok.error()};
  if (config_by_key(ctx.db, ns.id, w.key)) {
    return fail(Errc::kKeyExists,
                "key " + squote(w.key) + " already exists in namespace " + squote(ns.name),
                "key");
  }
  // expected_version has no meaning for a key that does not exist; it is ignored on create.
  int64_t version = last_version(ctx.db, ns.name, w.key) + 1;
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
  auto row = config_by_key(ctx.db, ns.id, w.key);
  if (!row) return fail(Errc::kDatabase, "config row vanished after insert");
  ctx.changes.push_back(Change{Change::Kind::kConfigPut, {}, *row, "CREATE"});
  return OpOutcome{id, version, 0};
}

/// The config an update or delete acts on: it must exist (40403) and be at the expected
/// version when one is given (40901).
R<ConfigRow> existing_config(Ctx& ctx, const NamespaceRow& ns, const api::ConfigWrite& w) {
  auto current = config_by_key(ctx.db, ns.id, w.key);
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
    auto normalized = normalize_value(*w.value, ctx.options.max_value_bytes);
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
  }
  ctx.db
      .prepare(
          "UPDATE config SET value = ?, version = ?, description = ?, status = ?, "
          "updated_by = ?, updated_at = ?, revision = ? WHERE id = ?")
      .bind(value)
      .bind(version)
      .bind(description)
      .bind(status)
      .bind(ctx.operator_name)
      .bind(ctx.ts)
      .bind(ctx.rev)
      .bind(current->id)
      .run();
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
  auto row = config_by_key(ctx.db, ns.id, w.key);
  if (!row) return fail(Errc::kDatabase, "config row vanished after update");
  ctx.changes.push_back(Change{Change::Kind::kConfigPut, {}, *row, operation});
  return OpOutcome{current->id, version, current->version};
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
R<NamespaceRow> finish_namespace(Ctx& ctx, int64_t namespace_id) {
  touch_namespace(ctx, namespace_id);
  auto ns = namespace_by_id(ctx.db, namespace_id);
  if (!ns) return fail(Errc::kDatabase, "namespace row vanished");
  for (auto& change : ctx.changes) change.ns = *ns;
  return std::move(*ns);
}

R<Outcome> write_configs(Ctx& ctx, const api::WriteConfigs& cmd) {
  auto ns = writable_namespace(ctx, cmd.ns);
  if (!ns.ok()) return Unexpected{ns.error()};
  if (cmd.ops.empty()) return fail(Errc::kBadRequest, "no operations", "operations");
  if (cmd.ops.size() > api::kMaxBatchOperations) {
    return fail(Errc::kValidation,
                "operations must hold 1 to " + std::to_string(api::kMaxBatchOperations) +
                    " operations",
                "operations");
  }
  std::vector<OpOutcome> outcomes;
  outcomes.reserve(cmd.ops.size());
  for (size_t i = 0; i < cmd.ops.size(); ++i) {
    const auto& w = cmd.ops[i];
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
  if (changed) {
    auto final_ns = finish_namespace(ctx, ns->id);
    if (!final_ns.ok()) return Unexpected{final_ns.error()};
  }

  Json data = Json::object();
  if (cmd.batch) {
    data["namespace"] = cmd.ns;
    data["revision"] = changed ? ctx.rev : ctx.rev - 1;
    Json results = Json::array();
    for (size_t i = 0; i < cmd.ops.size(); ++i) {
      Json r = Json::object();
      r["op"] = std::string(api::op_name(cmd.ops[i].op));
      r["key"] = cmd.ops[i].key;
      r["version"] = outcomes[i].version;
      if (cmd.ops[i].op == api::ConfigOp::kUpdate) {
        r["old_version"] = outcomes[i].old_version;
        r["changed"] = outcomes[i].changed;
      }
      results.push_back(std::move(r));
    }
    data["results"] = std::move(results);
    return Outcome{"批量操作成功", std::move(data), changed};
  }
  const auto& w = cmd.ops.front();
  const auto& o = outcomes.front();
  switch (w.op) {
    case api::ConfigOp::kCreate:
      data["id"] = o.id;
      data["namespace"] = cmd.ns;
      data["key"] = w.key;
      data["version"] = o.version;
      return Outcome{"配置创建成功", std::move(data)};
    case api::ConfigOp::kUpdate:
      data["id"] = o.id;
      data["namespace"] = cmd.ns;
      data["key"] = w.key;
      data["version"] = o.version;
      data["old_version"] = o.old_version;
      data["changed"] = o.changed;
      return Outcome{"配置更新成功", std::move(data), o.changed};
    case api::ConfigOp::kDelete:
      break;
  }
  data["namespace"] = cmd.ns;
  data["key"] = w.key;
  data["version"] = o.version;
  return Outcome{"配置删除成功", std::move(data)};
}

R<Outcome> rollback_config(Ctx& ctx, const api::RollbackConfig& cmd) {
  auto ns = writable_namespace(ctx, cmd.ns);
  if (!ns.ok()) return Unexpected{ns.error()};
  if (auto bad = api::check_key(cmd.key)) return fail(Errc::kValidation, *bad, "key");
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
  std::string value = std::move(*target);
  int64_t version = std::max(current->version, last_version(ctx.db, ns->name, cmd.key)) + 1;
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
  auto final_ns = finish_namespace(ctx, ns->id);
  if (!final_ns.ok()) return Unexpected{final_ns.error()};
  Json data = Json::object();
  data["namespace"] = cmd.ns;
  data["key"] = cmd.key;
  data["current_version"] = version;
  data["previous_version"] = current->version;
  return Outcome{"配置回滚成功", std::move(data)};
}

/// The member address book lives in `meta` as one JSON object {"<id>": {"peer", "http"}}.
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
  }
  write_meta_text(ctx.db, "cluster_members", dump_compact(members));
  Outcome out{"success", Json{{"id", c.id}, {"removed", c.remove}}};
  out.moves_revision = false;
  return out;
}

// ---- tags and retention clean-up (docs/versions.md) ----

std::vector<std::string> tags_of(Conn& db, int64_t namespace_id, std::string_view key,
                                 int64_t version) {
  std::vector<std::string> out;
  Stmt s = db.prepare(
      "SELECT tag FROM config_tag WHERE namespace_id = ? AND \"key\" = ? AND version = ? "
      "ORDER BY tag");
  s.bind(namespace_id).bind(key).bind(version);
  while (s.step()) out.push_back(s.text(0));
  return out;
}

R<Outcome> tag_version(Ctx& ctx, const api::TagVersion& t) {
  if (auto bad = api::check_namespace_name(t.ns)) {
    return fail(Errc::kValidation, *bad, "namespace");
  }
  if (auto bad = api::check_key(t.key)) return fail(Errc::kValidation, *bad, "key");
  if (auto bad = api::check_tag(t.tag)) return fail(Errc::kValidation, *bad, "tag");
  if (t.version < 1) return fail(Errc::kValidation, "version must be at least 1", "version");
  auto ns = namespace_by_name(ctx.db, t.ns);
  if (!ns) {
    return fail(Errc::kNamespaceNotFound, "namespace " + squote(t.ns) + " does not exist",
                "namespace");
  }
  if (last_version(ctx.db, ns->name, t.key) == 0) {
    return fail(Errc::kConfigNotFound,
                "key " + squote(t.key) + " never existed in namespace " + squote(t.ns), "key");
  }
  std::optional<int64_t> tagged;  // the version that carries the tag now
  {
    Stmt s = ctx.db.prepare(
        "SELECT version FROM config_tag WHERE namespace_id = ? AND \"key\" = ? AND tag = ?");
    s.bind(ns->id).bind(t.key).bind(t.tag);
    if (s.step()) tagged = s.i64(0);
  }
  std::string message;
  if (t.remove) {
    if (tagged != t.version) {
      return fail(Errc::kNotFound,
                  "version " + std::to_string(t.version) + " of key " + squote(t.key) +
                      " has no tag " + squote(t.tag),
                  "tag");
    }
    ctx.db.prepare("DELETE FROM config_tag WHERE namespace_id = ? AND \"key\" = ? AND tag = ?")
        .bind(ns->id)
        .bind(t.key)
        .bind(t.tag)
        .run();
    message = "标签删除成功";
  } else {
    bool exists = false;
    {
      Stmt s = ctx.db.prepare(
          "SELECT 1 FROM config_version WHERE namespace_id = ? AND \"key\" = ? AND version = ?");
      s.bind(ns->id).bind(t.key).bind(t.version);
      exists = s.step();
    }
    if (!exists) {
      return fail(Errc::kNotFound,
                  "version " + std::to_string(t.version) + " of key " + squote(t.key) +
                      " does not exist (or is no longer kept)",
                  "version");
    }
    if (tagged && *tagged != t.version) {
      return fail(Errc::kConflict,
                  "tag " + squote(t.tag) + " already names version " + std::to_string(*tagged) +
                      " of key " + squote(t.key) + "; remove it there first",
                  "tag");
    }
    if (!tagged) {
      ctx.db
          .prepare(
              "INSERT INTO config_tag(namespace_id, \"key\", tag, version, created_by, "
              "created_at) VALUES (?, ?, ?, ?, ?, ?)")
          .bind(ns->id)
          .bind(t.key)
          .bind(t.tag)
          .bind(t.version)
          .bind(ctx.operator_name)
          .bind(ctx.ts)
          .run();
    }
    message = "标签添加成功";
  }
  Json data = Json::object();
  data["namespace"] = t.ns;
  data["key"] = t.key;
  data["version"] = t.version;
  data["tag"] = t.tag;
  Json tags = Json::array();
  for (auto& tag : tags_of(ctx.db, ns->id, t.key, t.version)) tags.push_back(std::move(tag));
  data["tags"] = std::move(tags);
  Outcome out{std::move(message), std::move(data)};
  out.moves_revision = false;  // labels change no config value
  return out;
}

constexpr int64_t kDayMs = 86'400'000;

/// Every version the policy no longer keeps: not among the key's `keep_latest` newest, older
/// than `keep_days` before the entry's timestamp (0: no age protection), not tagged, not the
/// key's current version. Ordered by key, then version, so every node sees the same list.
R<Outcome> cleanup_versions(Ctx& ctx, const api::CleanupVersions& c) {
  if (auto ok = check_retention_override(c.keep_latest, api::kMaxKeepLatest, "keep_latest", false);
      !ok.ok()) {
    return Unexpected{ok.error()};
  }
  if (auto ok = check_retention_override(c.keep_days, api::kMaxKeepDays, "keep_days", false);
      !ok.ok()) {
    return Unexpected{ok.error()};
  }
  std::vector<NamespaceRow> namespaces;
  if (c.ns) {
    if (auto bad = api::check_namespace_name(*c.ns)) {
      return fail(Errc::kValidation, *bad, "namespace");
    }
    auto ns = namespace_by_name(ctx.db, *c.ns);
    if (!ns) {
      return fail(Errc::kNamespaceNotFound, "namespace " + squote(*c.ns) + " does not exist",
                  "namespace");
    }
    namespaces.push_back(std::move(*ns));
  } else {
    Stmt s = ctx.db.prepare(std::string("SELECT ") + kNamespaceColumns +
                            " FROM namespace n ORDER BY n.id");
    while (s.step()) namespaces.push_back(read_namespace_row(s));
  }

  struct Removed {
    int64_t row_id;
    std::string ns, key, value, created_by;
    int64_t version, created_at;
  };
  std::vector<Removed> removed;
  Json per_namespace = Json::array();
  for (const auto& ns : namespaces) {
    RetentionOverride o = retention_override(ctx.db, ns.id);
    int64_t keep_latest = c.keep_latest.value_or(o.keep_latest.value_or(api::kDefaultKeepLatest));
    int64_t keep_days = c.keep_days.value_or(o.keep_days.value_or(api::kDefaultKeepDays));
    int64_t cutoff = ctx.ts - keep_days * kDayMs;
    Stmt s = ctx.db.prepare(
        "SELECT v.id, v.\"key\", v.version, v.value, v.created_by, v.created_at "
        "FROM config_version v WHERE v.namespace_id = ?1 "
        "AND (?2 = 0 OR v.created_at < ?3) "
        "AND (SELECT COUNT(*) FROM config_version w WHERE w.namespace_id = v.namespace_id "
        "     AND w.\"key\" = v.\"key\" AND w.version > v.version) >= ?4 "
        "AND NOT EXISTS (SELECT 1 FROM config_tag t WHERE t.namespace_id = v.namespace_id "
        "     AND t.\"key\" = v.\"key\" AND t.version = v.version) "
        "AND NOT EXISTS (SELECT 1 FROM config k WHERE k.namespace_id = v.namespace_id "
        "     AND k.\"key\" = v.\"key\" AND k.version = v.version) "
        "ORDER BY v.\"key\", v.version");
    s.bind(ns.id).bind(keep_days).bind(cutoff).bind(keep_latest);
    int64_t count = 0;
    while (s.step()) {
      removed.push_back(Removed{s.i64(0), ns.name, s.text(1), s.text(3), s.text(4), s.i64(2),
                                s.i64(5)});
      ++count;
    }
    Json entry = Json::object();
    entry["namespace"] = ns.name;
    entry["keep_latest"] = keep_latest;
    entry["keep_days"] = keep_days;
    entry["removed"] = count;
    per_namespace.push_back(std::move(entry));
  }
  // The error stays on the connection: Store::apply rolls the whole entry back (never a
  // per-node failure result).
  if (auto e = ctx.db.db_error()) return Unexpected{*e};

  Json data = Json::object();
  data["dry_run"] = c.dry_run;
  data["count"] = static_cast<int64_t>(removed.size());
  data["namespaces"] = std::move(per_namespace);
  Json list = Json::array();
  for (const auto& r : removed) {
    Json j = Json::object();
    j["namespace"] = r.ns;
    j["key"] = r.key;
    j["version"] = r.version;
    j["created_at"] = format_utc(r.created_at);
    list.push_back(std::move(j));
  }
  data["removed"] = std::move(list);

  if (!c.dry_run && !removed.empty()) {
    // The archive first, on stable storage, so that no version disappears without a trace.
    std::string lines;
    std::string removed_at = format_utc(ctx.ts);
    for (const auto& r : removed) {
      lines += R"({"namespace":)";
      append_json_string(lines, r.ns);
      lines += R"(,"key":)";
      append_json_string(lines, r.key);
      lines += R"(,"version":)" + std::to_string(r.version) + R"(,"value":)" + r.value +
               R"(,"created_at":")" + format_utc(r.created_at) + R"(","created_by":)";
      append_json_string(lines, r.created_by);
      lines += R"(,"removed_at":")" + removed_at + "\"}\n";
    }
    std::string path = archive_path(ctx.options.path, ctx.ts);
    auto archived = append_archive(path, lines);
    if (!archived.ok()) return Unexpected{archived.error()};
    for (const auto& r : removed) {
      ctx.db.prepare("DELETE FROM config_version WHERE id = ?").bind(r.row_id).run();
    }
    data["archive"] = "archive/" + std::filesystem::path(path).filename().string();
  }
  if (c.audit_keep_days) {
    if (*c.audit_keep_days < 1 || *c.audit_keep_days > api::kMaxKeepDays) {
      return fail(Errc::kValidation, "audit_keep_days out of range", "audit_keep_days");
    }
    const int64_t before = ctx.ts - *c.audit_keep_days * 86'400'000;
    Stmt old = ctx.db.prepare("SELECT COUNT(*) FROM audit_log WHERE at < ?");
    old.bind(before);
    data["audit_removed"] = old.step() ? old.i64(0) : 0;
    if (!c.dry_run) ctx.db.prepare("DELETE FROM audit_log WHERE at < ?").bind(before).run();
  }
  Outcome out{c.dry_run ? "版本清理预览" : "版本清理完成", std::move(data)};
  out.moves_revision = false;  // no current config changes
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
  Json data = {{"id", c.id},
               {"name", c.name},
               {"grants", grants},
               {"created_at", format_utc(ctx.ts)},
               {"expires_at", c.expires_at_ms ? Json(format_utc(c.expires_at_ms)) : Json()}};
  Outcome out{"令牌创建成功", std::move(data)};
  out.moves_revision = false;
  return out;
}

R<Outcome> revoke_token(Ctx& ctx, const api::RevokeToken& c) {
  Stmt s = ctx.db.prepare("UPDATE auth_token SET revoked_at = ? WHERE id = ? AND revoked_at = 0");
  s.bind(ctx.ts).bind(c.id).run();
  if (ctx.db.changes() == 0) {
    return fail(Errc::kNotFound, "token " + squote(c.id) + " does not exist or is revoked", "id");
  }
  Outcome out{"令牌已撤销", Json{{"id", c.id}, {"revoked_at", format_utc(ctx.ts)}}};
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
  Outcome out{"success", Json{{"appended", c.entries.size()}}};
  out.moves_revision = false;
  return out;
}

/// The audit entry of an admin command (everything but AppendAudit), before it is applied.
std::optional<api::AuditEntry> audit_entry(Conn& db, const api::Command& command, int64_t ts) {
  api::AuditEntry e{ts, command.operator_name, command.client_ip, "", "", "", 0,
                    command.request_id};
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, api::CreateNamespace>) {
          e.action = "namespace.create";
          e.ns = c.name;
        } else if constexpr (std::is_same_v<T, api::UpdateNamespace> ||
                             std::is_same_v<T, api::DeleteNamespace>) {
          e.action = std::is_same_v<T, api::UpdateNamespace> ? "namespace.update"
                                                              : "namespace.delete";
          if (auto row = namespace_by_id(db, c.id)) e.ns = row->name;
        } else if constexpr (std::is_same_v<T, api::WriteConfigs>) {
          e.ns = c.ns;
          if (c.batch || c.ops.size() != 1) {
            e.action = "config.batch";
          } else {
            e.action = "config." + std::string(api::op_name(c.ops[0].op));
            e.key = c.ops[0].key;
          }
        } else if constexpr (std::is_same_v<T, api::RollbackConfig>) {
          e.action = "config.rollback";
          e.ns = c.ns;
          e.key = c.key;
        } else if constexpr (std::is_same_v<T, api::TagVersion>) {
          e.action = c.remove ? "config.untag" : "config.tag";
          e.ns = c.ns;
          e.key = c.key;
        } else if constexpr (std::is_same_v<T, api::CleanupVersions>) {
          e.action = c.dry_run ? "config.cleanup.dry_run" : "config.cleanup";
          e.ns = c.ns.value_or("");
        } else if constexpr (std::is_same_v<T, api::SetMemberAddress>) {
          e.action = c.remove ? "cluster.member.remove" : "cluster.member.set";
          e.key = std::to_string(c.id);
        } else if constexpr (std::is_same_v<T, api::CreateToken>) {
          e.action = "token.create";
          e.key = c.id;
        } else if constexpr (std::is_same_v<T, api::RevokeToken>) {
          e.action = "token.revoke";
          e.key = c.id;
        }
      },
      command.body);
  if (e.action.empty()) return std::nullopt;
  return e;
}

R<Outcome> run(Ctx& ctx, const api::CommandBody& body) {
  return std::visit(
      [&ctx](const auto& c) -> R<Outcome> {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, api::CreateNamespace>) {
          return create_namespace(ctx, c);
        } else if constexpr (std::is_same_v<T, api::UpdateNamespace>) {
          return update_namespace(ctx, c);
        } else if constexpr (std::is_same_v<T, api::DeleteNamespace>) {
          return delete_namespace(ctx, c);
        } else if constexpr (std::is_same_v<T, api::WriteConfigs>) {
          return write_configs(ctx, c);
        } else if constexpr (std::is_same_v<T, api::SetMemberAddress>) {
          return set_member_address(ctx, c);
        } else if constexpr (std::is_same_v<T, api::TagVersion>) {
          return tag_version(ctx, c);
        } else if constexpr (std::is_same_v<T, api::CleanupVersions>) {
          return cleanup_versions(ctx, c);
        } else if constexpr (std::is_same_v<T, api::CreateToken>) {
          return create_token(ctx, c);
        } else if constexpr (std::is_same_v<T, api::RevokeToken>) {
          return revoke_token(ctx, c);
        } else if constexpr (std::is_same_v<T, api::AppendAudit>) {
          return append_audit(ctx, c);
        } else {
          return rollback_config(ctx, c);
        }
      },
      body);
}

}  // namespace

void Store::Impl::publish(Conn& db, uint64_t index, uint64_t rev, bool auth_changed,
                          bool members_changed) {
  applied_index = index;
  revision = rev;
  publish_staged_raft_state();
  clear_write_failure();
  if (auth_changed) ++auth_generation;
  if (members_changed) {
    std::string text = read_meta_text(db, "cluster_members");
    std::lock_guard lock(raft_mu);
    members = std::move(text);
    ++members_generation;
  }
}

Applied Store::apply(const api::Command& command, uint64_t index, int64_t timestamp_ms) {
  Impl& impl = *impl_;
  Impl::Group& g = impl.group;  // open: this entry joins the group's transaction
  Applied out;
  uint64_t applied = g.open ? g.index : impl.applied_index.load();
  uint64_t revision = g.open ? g.revision : impl.revision.load();
  if (index <= applied) {
    out.result = api::CommandResult::failure(make_error(
        Errc::kInternal, "log index " + std::to_string(index) +
                             " is not after the applied index " + std::to_string(applied) +
                             "; nothing was applied"));
    out.result.revision = revision;
    return out;
  }
  if (g.open && g.failed) {  // the group was rolled back: nothing more goes into it
    out.result = api::CommandResult::failure(
        make_error(Errc::kDatabase, "an earlier entry of this transaction failed"));
    out.result.revision = revision;
    return out;
  }
  if (auto f = impl.readers.fault()) {  // fault injection: nothing is touched
    out.result = api::CommandResult::failure(*f);
    out.result.revision = revision;
    return out;
  }
  Conn& db = *impl.writer;
  db.clear_error();
  auto abort = [&](const std::string& why) {
    db.clear_error();
    db.exec("ROLLBACK");  // the whole transaction: the group's earlier entries too
    db.clear_error();
    if (g.open) g.failed = true;
    impl.note_write_failure("sqlite: " + why);
    out.changes.clear();
    out.result = api::CommandResult::failure(make_error(Errc::kDatabase, "sqlite: " + why));
    out.result.revision = revision;
    return std::move(out);
  };
  if (!g.open && !db.exec("BEGIN IMMEDIATE")) return abort(*db.take_error());
  db.exec("SAVEPOINT command");

  Ctx ctx{db, options_, command.operator_name, timestamp_ms, revision + 1, {}};
  std::optional<api::AuditEntry> audit = audit_entry(db, command, timestamp_ms);
  R<Outcome> outcome = run(ctx, command.body);
  // SQLite itself failed (disk full, I/O error): nothing of the entry may count as applied,
  // or this node would record a failure where the others applied it. The whole transaction
  // goes, applied_index stays, and the entry is applied again later (RaftStateMachine).
  if (auto e = db.take_error()) return abort(*e);
  if (outcome.ok() && !outcome->moves_revision) ctx.rev = revision;
  if (outcome.ok() && !g.open) {  // a group writes its revision once, at commit_group()
    write_meta(db, "revision", static_cast<int64_t>(ctx.rev));
    if (auto e = db.take_error()) return abort(*e);
  }
  if (outcome.ok()) {
    db.exec("RELEASE command");
  } else {
    db.exec("ROLLBACK TO command");
    db.exec("RELEASE command");
  }
  if (audit) {
    audit->code = outcome.ok() ? 0 : static_cast<int64_t>(outcome.error().code);
    insert_audit(db, *audit);
  }
  if (!g.open) {  // a group writes them once, at commit_group()
    write_meta(db, "applied_index", static_cast<int64_t>(index));
    impl.write_staged_raft_state(db);
  }
  if (auto e = db.take_error()) return abort(*e);
  if (!g.open && !db.exec("COMMIT")) return abort(*db.take_error());

  const bool auth_changed = outcome.ok() && (std::holds_alternative<api::CreateToken>(command.body) ||
                                             std::holds_alternative<api::RevokeToken>(command.body));
  const bool members_changed =
      outcome.ok() && std::holds_alternative<api::SetMemberAddress>(command.body);
  const uint64_t new_revision = outcome.ok() ? ctx.rev : revision;
  if (g.open) {  // published by commit_group()
    g.index = index;
    g.revision = new_revision;
    g.auth_changed = g.auth_changed || auth_changed;
    g.members_changed = g.members_changed || members_changed;
  } else {
    impl.publish(db, index, new_revision, auth_changed, members_changed);
  }
  if (!outcome.ok()) {
    out.result = api::CommandResult::failure(outcome.error());
    out.result.revision = revision;
    return out;
  }
  out.result.code = Errc::kOk;
  out.result.message = std::move(outcome->message);
  out.result.data = dump_compact(outcome->data);
  out.result.revision = ctx.rev;
  out.changes = std::move(ctx.changes);
  return out;
}

}  // namespace cairn::store
