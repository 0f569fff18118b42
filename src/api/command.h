#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/errors.h"
#include "common/result.h"

namespace cairn::api {

/// A state-changing request as it travels through the replicated log. Commands are validated
/// for shape by the API layer; every check that depends on state (namespace exists, key exists,
/// expected version, …) runs when the state machine applies them.

struct CreateNamespace {
  std::string name;
  std::string description;
  /// Key patterns whose keys are secret (docs/secrets.md): "db.password", "*.password",
  /// "db.*", "*". Format 5 when not empty.
  std::vector<std::string> secret_keys = {};
};

struct UpdateNamespace {
  int64_t id = 0;
  std::optional<std::string> description;
  std::optional<int> status;  // 0 disabled, 1 enabled
  /// Retention overrides of the namespace (docs/versions.md): a value sets the override,
  /// kRetentionReset removes it (the default applies again), nullopt leaves it as it is.
  std::optional<int64_t> keep_latest;
  std::optional<int64_t> keep_days;
  /// Replaces the namespace's secret key patterns (docs/secrets.md); nullopt leaves them.
  /// Format 5 when set.
  std::optional<std::vector<std::string>> secret_keys = {};
};

/// Retention defaults (seed §3.6.1.2) and bounds, equal on every node because apply uses them.
inline constexpr int64_t kDefaultKeepLatest = 30;
inline constexpr int64_t kDefaultKeepDays = 30;
inline constexpr int64_t kMaxKeepLatest = 1'000'000;
inline constexpr int64_t kMaxKeepDays = 36'500;
inline constexpr int64_t kRetentionReset = -1;

/// Only an empty namespace can be deleted (409/40901 otherwise).
struct DeleteNamespace {
  int64_t id = 0;
};

enum class ConfigOp { kCreate, kUpdate, kDelete };

struct ConfigWrite {
  ConfigOp op = ConfigOp::kCreate;
  std::string key;
  std::optional<std::string> value;  // compact JSON text; required by create
  std::optional<std::string> description;
  std::optional<int> status;
  std::optional<int64_t> expected_version;
  /// The request asks for the key to be secret (docs/secrets.md). Consumed by the leader, which
  /// seals the value before the command is proposed (core::Core::seal): never encoded, the
  /// log only ever holds the sealed value, which makes the key secret by itself.
  bool secret = false;
};

/// One or more writes in one namespace, applied atomically: all or nothing. A single
/// create/update/delete is a WriteConfigs with one operation and `batch == false`, which only
/// changes the shape of the result.
struct WriteConfigs {
  std::string ns;
  std::vector<ConfigWrite> ops;
  bool batch = false;
  /// Creates the namespace (enabled, no description) when it does not exist, in the same
  /// command: the protocol front-ends' writes (docs/compat.md), whose clients never create one.
  bool create_namespace = false;
  /// Writes keys of a gray release that is not finished (docs/releases.md): refused with
  /// 409/40901 naming the release unless set. Format 7.
  bool force = false;
};

/// Writes a new version whose value equals `target_version`'s (history operation ROLLBACK).
struct RollbackConfig {
  std::string ns;
  std::string key;
  int64_t target_version = 0;
  std::optional<int64_t> expected_version;
  /// A secret key's target value opened and sealed again for the version the rollback writes
  /// (the leader fills it, core::Core::seal; docs/secrets.md). Format 5 when set.
  std::optional<std::string> sealed_value = {};
  /// Format 6: roll back even when the target value fails the namespace's current schema
  /// (docs/schemas.md), and (as WriteConfigs::force) while a gray release of the key is
  /// unfinished (docs/releases.md).
  bool force = false;
};

/// Puts (or, with `remove`, takes off) the label `tag` on one kept version of a key. A tag
/// names at most one version of a key; a tagged version is never removed by retention.
struct TagVersion {
  std::string ns;
  std::string key;
  int64_t version = 0;
  std::string tag;
  bool remove = false;
};

/// Removes the versions the retention policy no longer keeps (seed §3.6.1.2), after appending
/// them to the archive file. Unset fields fall back to the namespace's override, then to the
/// defaults. `dry_run` lists what would go and changes nothing.
struct CleanupVersions {
  std::optional<std::string> ns;  // every namespace when absent
  std::optional<int64_t> keep_latest;
  std::optional<int64_t> keep_days;
  bool dry_run = false;
  /// Also removes audit-log rows older than this many days (the scheduled clean-up sets it;
  /// docs/security.md). Absent: the audit log is left alone.
  std::optional<int64_t> audit_keep_days = {};
};

/// A cluster member's addresses, replicated so that every node (and every future leader) can
/// reach a member added at run time. Not a config change: the global revision does not move.
struct SetMemberAddress {
  int64_t id = 0;
  std::string peer;  // Raft peer host:port
  std::string http;  // HTTP API host:port
  bool remove = false;
  /// A non-voting member for good: the leader never promotes it (read and watch capacity that
  /// does not enter the write quorum, docs/scaling.md). Format 8.
  bool learner = false;
};

/// A permission on the namespaces whose names match `ns_pattern` ("user-service", "user-*",
/// "*"), or `cluster-admin` (then the pattern is empty). docs/security.md.
struct Grant {
  std::string ns_pattern;
  std::string permission;  // "read", "write", "admin" or "cluster-admin"
};

/// An API token: only the SHA-256 of its secret is replicated and stored, never the secret.
struct CreateToken {
  std::string id;  // random, chosen by the node that took the request
  std::string name;
  std::string secret_hash;  // lower-case hex SHA-256 of the secret
  std::vector<Grant> grants;
  int64_t expires_at_ms = 0;  // 0: never
};

struct RevokeToken {
  std::string id;
};

/// Audit entries of requests that changed nothing (denied ones), batched by the node that
/// refused them. Admin changes are audited by apply itself, in the change's own transaction.
struct AuditEntry {
  int64_t at_ms = 0;
  std::string actor;
  std::string client_ip;
  std::string action;  // e.g. "GET /api/v1/config/get"
  std::string ns;
  std::string key;
  int64_t code = 0;  // the answer's error code
  std::string request_id;
};

struct AppendAudit {
  std::vector<AuditEntry> entries;
};

/// Secret values whose data key was wrapped again under another key-encryption key
/// (docs/secrets.md, rotation). Each replaces the sealed text `from` by `to` wherever ns/key
/// holds it (current value, versions, history); nothing else changes: no version, no revision,
/// no watch event. An item whose `from` is no longer stored is skipped.
struct RewrappedValue {
  std::string ns;
  std::string key;
  std::string from;
  std::string to;
};

struct RewrapSecrets {
  std::vector<RewrappedValue> values;
};

/// Sets (or, with an empty list and `strict` false, removes) the value schemas of a namespace
/// (docs/schemas.md). `schemas_json` is the compact JSON array
/// `[{"keys": "<glob>", "schema": {…draft 7…}}, …]`; the first entry whose glob matches a key
/// governs it, and with `strict` a key that no entry matches is refused. Apply compiles the
/// list (refusing a bad one, 40002) and validates every current value it would govern: one
/// that fails refuses the change (409/40901, the failing keys listed) unless `force`, which
/// sets it anyway and flags those keys. Format 6.
struct SetNamespaceSchema {
  int64_t id = 0;
  std::string schemas_json = "[]";
  bool strict = false;
  bool force = false;
};

/// One change of a gray release: a key's gray value (compact JSON text), or nullopt = the key
/// is deleted for the clients the release targets.
struct ReleaseChange {
  std::string key;
  std::optional<std::string> value;
};

/// Starts a gray release (docs/releases.md): `changes` are served only to the clients that
/// `spec` targets. `spec` is the canonical JSON text of {"target","plan"} (checked for shape by
/// the API layer, core::parse_release_spec, and again by apply). Format 7.
struct StartRelease {
  std::string id;  // "r-…", chosen by the node that took the request
  std::string ns;
  std::vector<ReleaseChange> changes;  // sorted by key, no duplicates
  std::string spec;
  std::string description;
};

/// A transition of a release: "promote", "abort", "pause", "resume" (an operator's), or
/// "advance" to `stage` and "halt" (the leader's plan and guard, `automatic`). Format 7.
struct TransitionRelease {
  std::string id;
  std::string ns;  // the release's namespace (permissions); apply checks it
  std::string action;
  int64_t stage = 0;  // advance: the stage it moves to (so that a repeated advance fails)
  std::string reason;
  bool automatic = false;
};

using CommandBody =
    std::variant<CreateNamespace, UpdateNamespace, DeleteNamespace, WriteConfigs, RollbackConfig,
                 SetMemberAddress, TagVersion, CleanupVersions, CreateToken, RevokeToken,
                 AppendAudit, RewrapSecrets, SetNamespaceSchema, StartRelease,
                 TransitionRelease>;

struct Command {
  std::string request_id;     // the HTTP request that caused it (for tracing and dedup)
  std::string operator_name;  // recorded in created_by / updated_by / operator
  CommandBody body;
  std::string client_ip = {};  // the caller's address, recorded in the audit log; may be empty
};

/// Current format version, the first byte of every encoded command. A reader accepts every
/// version up to its own, so a later release can still apply an older log. Version 2 added
/// TagVersion, CleanupVersions and the retention fields of UpdateNamespace; version 3 the token
/// and audit commands; version 4 WriteConfigs::create_namespace; version 5 secrets (namespace
/// secret_keys, RollbackConfig::sealed_value, RewrapSecrets); version 6 SetNamespaceSchema and
/// RollbackConfig::force; version 7 the gray-release commands and WriteConfigs::force; version 8
/// SetMemberAddress::learner. A command that uses none of them is still written as version 1
/// (only an optional `client_ip` member added), so that a node not yet upgraded keeps applying
/// ordinary writes during a rolling upgrade.
inline constexpr uint8_t kCommandFormatVersion = 8;

/// Bytes: one format-version byte followed by a JSON object. Deterministic for equal commands.
std::string encode_command(const Command& command);

/// Inverse of encode_command. Truncated, unknown-version, oversized or ill-typed input gives a
/// 40001 error and never crashes (fuzzed).
Result<Command, Error> decode_command(std::string_view bytes);

namespace detail {
/// decode_command through a parsed JSON document, for every command type: the reference that
/// decode_command's fast path for config.write must agree with (tests and the fuzzer compare).
Result<Command, Error> decode_command_document(std::string_view bytes);
}  // namespace detail

/// Lower-case name of a config operation as used in the batch API ("create", …).
std::string_view op_name(ConfigOp op);

}  // namespace cairn::api
