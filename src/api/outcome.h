#pragma once

// What applying a command produced, as typed values: the state machine (src/store) returns
// these and never JSON text or messages; a protocol front-end renders them (the native /api/v1
// rendering is outcome_data_json / outcome_message below, the seed's §3.8 shapes).

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/command.h"
#include "api/errors.h"
#include "common/json.h"

namespace cairn::api {

/// A namespace as a write answer shows it.
struct NamespaceView {
  int64_t id = 0;
  std::string name;
  std::string description;
  int status = 1;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::vector<std::string> secret_keys = {};  // docs/secrets.md; shown when not empty
};

/// The effective retention policy of a namespace (docs/versions.md).
struct RetentionView {
  int64_t keep_latest = kDefaultKeepLatest;
  int64_t keep_days = kDefaultKeepDays;
  bool keep_latest_overridden = false;
  bool keep_days_overridden = false;
};

struct NamespaceCreated {
  NamespaceView ns;
};

struct NamespaceUpdated {
  NamespaceView ns;
  bool has_retention = false;  // the update named a retention field: the answer shows the policy
  RetentionView retention;
  bool changed = true;  // false: everything was already as asked (nothing written)
};

struct NamespaceDeleted {
  int64_t id = 0;
  std::string name;
};

/// One create/update/delete of a WriteConfigs.
struct ConfigOpDone {
  ConfigOp op = ConfigOp::kCreate;
  std::string key;
  int64_t id = 0;           // the config row
  int64_t version = 0;      // after the operation (a delete: the version deleted)
  int64_t old_version = 0;  // before it (updates)
  bool changed = true;      // false: an update that found everything as asked
};

struct ConfigsWritten {
  std::string ns;
  bool batch = false;
  uint64_t revision = 0;  // the global revision after the command (batch answers show it)
  std::vector<ConfigOpDone> ops;
  bool changed() const;  // some operation changed something
};

struct ConfigRolledBack {
  std::string ns;
  std::string key;
  int64_t current_version = 0;
  int64_t previous_version = 0;
};

struct MemberAddressSet {
  int64_t id = 0;
  bool removed = false;
};

struct VersionTagged {
  std::string ns;
  std::string key;
  int64_t version = 0;
  std::string tag;
  bool removed = false;           // the tag was taken off
  std::vector<std::string> tags;  // the version's tags afterwards, sorted
};

struct CleanupNamespace {
  std::string ns;
  int64_t keep_latest = 0;
  int64_t keep_days = 0;
  int64_t removed = 0;
};

struct RemovedVersion {
  std::string ns;
  std::string key;
  int64_t version = 0;
  int64_t created_at_ms = 0;
};

struct VersionsCleaned {
  bool dry_run = false;
  std::vector<CleanupNamespace> namespaces;
  std::vector<RemovedVersion> removed;  // ordered by namespace, key, version
  std::string archive;                  // "archive/<file>" written to; empty: none
  bool audit_checked = false;           // the command named audit_keep_days
  int64_t audit_removed = 0;
};

struct TokenCreated {
  std::string id;
  std::string name;
  std::vector<Grant> grants;
  int64_t created_at_ms = 0;
  int64_t expires_at_ms = 0;  // 0: never
};

struct TokenRevoked {
  std::string id;
  int64_t revoked_at_ms = 0;
};

struct AuditAppended {
  int64_t appended = 0;
};

/// docs/secrets.md: sealed values whose data key was wrapped again (api::RewrapSecrets).
struct SecretsRewrapped {
  int64_t rewrapped = 0;
  int64_t skipped = 0;  // no longer stored (deleted, cleaned up, or already re-wrapped)
};

/// One way a value fails its namespace's schema (docs/schemas.md): `path` is a JSON Pointer
/// into the value ("" for the whole value), `rule` the JSON Schema keyword that refused it.
struct SchemaViolation {
  std::string key;
  std::string path;
  std::string rule;
  std::string message;
};

/// `{"violations":[…]}`: the members added to a refusal's `error` object (api::Error::extra).
std::string violations_json(const std::vector<SchemaViolation>& violations);

/// A namespace's schemas were set (SetNamespaceSchema).
struct SchemaSet {
  std::string ns;
  int64_t version = 0;  // the namespace's schema version after the change (0: never had one)
  bool strict = false;
  int64_t entries = 0;  // number of {keys, schema} entries
  bool forced = false;  // set with `force` although current values fail it
  std::vector<SchemaViolation> violations;  // the current values that fail it (forced)
  bool changed = true;  // false: the same schemas were already set
};

/// A gray release started or moved (docs/releases.md); the handler answers with the release
/// as stored.
struct ReleaseChanged {
  std::string id;
  std::string state;
  int64_t stage = 0;
};

using Outcome =
    std::variant<std::monostate, NamespaceCreated, NamespaceUpdated, NamespaceDeleted,
                 ConfigsWritten, ConfigRolledBack, MemberAddressSet, VersionTagged,
                 VersionsCleaned, TokenCreated, TokenRevoked, AuditAppended,
                 SecretsRewrapped, SchemaSet, ReleaseChanged>;

/// What applying a command produced. Identical on every node for the same log, so the leader
/// can answer the client with whatever its own state machine returned.
struct CommandResult {
  Errc code = Errc::kOk;
  std::string details;
  std::string field;
  std::string extra;      // api::Error::extra
  uint64_t revision = 0;  // global revision after apply (unchanged on failure)
  Outcome outcome;        // std::monostate on failure

  bool ok() const { return code == Errc::kOk; }
  Error error() const { return Error{code, details, field, extra}; }
  static CommandResult failure(const Error& e) {
    CommandResult r;
    r.code = e.code;
    r.details = e.details;
    r.field = e.field;
    r.extra = e.extra;
    return r;
  }
  /// The outcome as T, or nullptr when it holds something else.
  template <class T>
  const T* as() const {
    return std::get_if<T>(&outcome);
  }
};

// ---- the native API's rendering (seed §3.8): the `data` member and the success message ----

/// The answer's `data` object.
Json outcome_json(const Outcome& outcome);
std::string outcome_data_json(const Outcome& outcome);
/// The seed's success message ("配置创建成功", …; "success" where the seed names none).
std::string_view outcome_message(const Outcome& outcome);

// ---- the in-process codec of a result (the Raft state machine hands results over as bytes) ----

std::string encode_result(const CommandResult& result);
/// Undecodable bytes give a 50001 failure, never a crash.
CommandResult decode_result(std::string_view bytes);

}  // namespace cairn::api
