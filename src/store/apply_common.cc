// Lookups and checks shared by the commands of Store::apply.

#include <algorithm>

#include "common/json.h"
#include "store/apply_internal.h"

namespace cairn::store::apply_detail {

std::string squote(std::string_view s) { return "'" + std::string(s) + "'"; }

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

std::optional<ConfigRow> config_by_key(Conn& db, const NamespaceRow& ns, std::string_view key) {
  // The namespace's name comes from the caller's row (bound as the third column) instead of a
  // join: the same row config_by_key(db, ns.id, key) reads, one B-tree lookup fewer.
  Stmt s = db.prepare(
      "SELECT c.id, c.namespace_id, ?1, c.\"key\", c.value, c.version, c.description, c.status, "
      "c.created_by, c.updated_by, c.created_at, c.updated_at, c.revision "
      "FROM config c WHERE c.namespace_id = ?2 AND c.\"key\" = ?3");
  s.bind(ns.name).bind(ns.id).bind(key);
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
  if (!json_valid(text, api::kMaxValueDepth)) {
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

api::NamespaceView namespace_view(const NamespaceRow& n) {
  return api::NamespaceView{n.id,           n.name,          n.description, n.status,
                            n.created_at_ms, n.updated_at_ms, n.secret_keys};
}

// ---- retention overrides (namespace_retention) ----


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

/// The effective policy of a namespace.
api::RetentionView retention_view(const RetentionOverride& r) {
  return api::RetentionView{r.keep_latest.value_or(api::kDefaultKeepLatest),
                            r.keep_days.value_or(api::kDefaultKeepDays),
                            r.keep_latest.has_value(), r.keep_days.has_value()};
}

/// A retention number of a command: 0..max, or kRetentionReset where `allow_reset`.
R<Ok> check_retention_override(const std::optional<int64_t>& v, int64_t max, const char* field,
                               bool allow_reset) {
  if (!v) return Ok{};
  if (allow_reset && *v == api::kRetentionReset) return Ok{};
  if (*v < 0 || *v > max) {
    return fail(Errc::kValidation,
                std::string(field) + " must be between 0 and " + std::to_string(max), field);
  }
  return Ok{};
}

}  // namespace cairn::store::apply_detail
