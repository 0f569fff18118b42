#pragma once

// Internals of Store::apply shared by its source files, one per command area:
// apply_common.cc (lookups and checks), apply_namespaces.cc, apply_configs.cc,
// apply_versions.cc (tags, retention clean-up), apply_cluster.cc (member addresses, tokens,
// audit) and apply.cc (dispatch, transaction, audit of each command). Not part of the
// module's interface.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <memory>
#include <set>

#include "api/command.h"
#include "api/outcome.h"
#include "store/impl.h"

namespace cairn::jsonschema {
class NamespaceSchemas;
}

namespace cairn::store::apply_detail {

using api::Errc;
using api::Error;
using api::make_error;

/// What one command is applied with, and what it produced so far.
struct Ctx {
  Conn& db;
  const Options& options;
  const std::string& operator_name;
  int64_t ts;
  uint64_t rev;  // the revision this command gets if it succeeds
  std::vector<Change> changes;
  int64_t live_releases = -1;  // Store::Impl::live_releases: 0 means no release check is needed
};

/// A successful command's answer.
struct Outcome {
  api::Outcome outcome;
  bool moves_revision = true;  // false for cluster bookkeeping
};

// ---- lookups and checks (apply_common.cc) ----

std::string squote(std::string_view s);
std::optional<NamespaceRow> namespace_by_name(Conn& db, std::string_view name);
std::optional<NamespaceRow> namespace_by_id(Conn& db, int64_t id);
std::optional<ConfigRow> config_by_key(Conn& db, int64_t namespace_id, std::string_view key);
/// The same for a namespace whose row the caller holds.
std::optional<ConfigRow> config_by_key(Conn& db, const NamespaceRow& ns, std::string_view key);
/// The highest version a key ever had (survives deletes: no version number is reused).
int64_t last_version(Conn& db, std::string_view ns, std::string_view key);
void set_last_version(Conn& db, std::string_view ns, std::string_view key, int64_t version);
void insert_version(Ctx& ctx, int64_t config_id, int64_t namespace_id, std::string_view key,
                    std::string_view value, int64_t version);
void insert_history(Ctx& ctx, int64_t config_id, int64_t namespace_id, std::string_view key,
                    const std::optional<std::string>& old_value, std::string_view new_value,
                    int64_t version, const char* operation);
/// The value as stored: valid JSON, depth ≤ 64, compact form within max_value_bytes.
R<std::string> normalize_value(std::string_view text, size_t max_bytes);
R<Ok> check_common_fields(const api::ConfigWrite& w);
R<Ok> check_expected(const std::optional<int64_t>& expected, int64_t current);
void touch_namespace(Ctx& ctx, int64_t namespace_id);
api::NamespaceView namespace_view(const NamespaceRow& n);

struct RetentionOverride {
  std::optional<int64_t> keep_latest;
  std::optional<int64_t> keep_days;
  bool operator==(const RetentionOverride&) const = default;
};

RetentionOverride retention_override(Conn& db, int64_t namespace_id);
void set_retention_override(Conn& db, int64_t namespace_id, const RetentionOverride& r);
/// The effective policy of a namespace.
api::RetentionView retention_view(const RetentionOverride& r);
/// A retention number of a command: 0..max, or kRetentionReset where `allow_reset`.
R<Ok> check_retention_override(const std::optional<int64_t>& v, int64_t max, const char* field,
                               bool allow_reset = true);

// ---- typed namespaces (apply_schemas.cc, docs/schemas.md) ----

using SchemasPtr = std::shared_ptr<const jsonschema::NamespaceSchemas>;
/// The namespace's compiled schemas; null when it has none.
R<SchemasPtr> namespace_schemas(Conn& db, int64_t namespace_id);
/// THE check of a value for (namespace, key): every apply path that stores a value calls it.
/// Empty when the value may be stored (also when `schemas` is null).
std::vector<api::SchemaViolation> check_value(const SchemasPtr& schemas, std::string_view key,
                                              std::string_view value_text);
/// 400/40002 with `error.violations`.
Error schema_refusal(const std::vector<api::SchemaViolation>& violations,
                     const std::string& field);
/// A key written again (or deleted) is no longer flagged by a forced schema change.
void clear_violation_flag(Ctx& ctx, int64_t namespace_id, std::string_view key);
/// Every current value of the namespace checked against `schemas`, by key.
std::vector<api::SchemaViolation> current_violations(Conn& db, int64_t namespace_id,
                                                     const jsonschema::NamespaceSchemas& schemas);

// ---- the commands ----

R<Outcome> create_namespace(Ctx& ctx, const api::CreateNamespace& c);
R<Outcome> update_namespace(Ctx& ctx, const api::UpdateNamespace& u);
R<Outcome> delete_namespace(Ctx& ctx, const api::DeleteNamespace& d);
R<Outcome> write_configs(Ctx& ctx, const api::WriteConfigs& cmd);
R<Outcome> rollback_config(Ctx& ctx, const api::RollbackConfig& cmd);
R<Outcome> tag_version(Ctx& ctx, const api::TagVersion& t);
R<Outcome> cleanup_versions(Ctx& ctx, const api::CleanupVersions& c);
R<Outcome> set_member_address(Ctx& ctx, const api::SetMemberAddress& c);
R<Outcome> create_token(Ctx& ctx, const api::CreateToken& c);
R<Outcome> revoke_token(Ctx& ctx, const api::RevokeToken& c);
R<Outcome> append_audit(Ctx& ctx, const api::AppendAudit& c);
R<Outcome> rewrap_secrets(Ctx& ctx, const api::RewrapSecrets& c);
inline constexpr size_t kMaxRewrapBatch = 1000;
R<Outcome> set_namespace_schema(Ctx& ctx, const api::SetNamespaceSchema& c);
void insert_audit(Conn& db, const api::AuditEntry& e);

// ---- gray releases (apply_releases.cc) ----
R<Outcome> start_release(Ctx& ctx, const api::StartRelease& c);
/// 40002 when ns/key is a secret (its value sealed, or the key matches the namespace's
/// secret_keys): secrets are not released gray.
R<Ok> refuse_secret(Ctx& ctx, const NamespaceRow& ns, std::string_view key);
/// The values of a release checked against the namespace's schemas (at start and at promote):
/// 40002 with every violation.
R<Ok> check_release_schemas(Ctx& ctx, const NamespaceRow& ns,
                            const std::vector<api::ReleaseChange>& changes);
R<Outcome> transition_release(Ctx& ctx, const api::TransitionRelease& c);
/// The unfinished release of a namespace, if any.
std::optional<ReleaseRow> live_release(Conn& db, int64_t namespace_id);
/// Live releases of every namespace (-1 if the query failed).
int64_t count_live_releases(Conn& db);
/// 40901 naming the release when one of `keys` belongs to the namespace's unfinished release
/// and the write is not forced.
R<Ok> check_release_conflict(Ctx& ctx, const NamespaceRow& ns,
                             const std::vector<std::string_view>& keys, bool force);
/// Every value a release brings in passes here (normalized; the hook of value checks).
R<std::string> release_value(Ctx& ctx, const NamespaceRow& ns, std::string_view key,
                             std::string_view value);
/// The namespace a config write goes to: exists (40402) and is enabled (40901).
R<NamespaceRow> writable_namespace(Ctx& ctx, const std::string& name);
/// Promote: writes the release's values as ordinary versions (history operation RELEASE with
/// the release id) and records the namespace's revision. Values already normalized.
R<Ok> write_release_values(Ctx& ctx, const NamespaceRow& ns,
                           const std::vector<api::ReleaseChange>& changes,
                           const std::string& release_id);

}  // namespace cairn::store::apply_detail
