#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/command.h"
#include "api/outcome.h"
#include "api/errors.h"
#include "api/validate.h"
#include "common/result.h"

namespace cairn::store {

/// Opening options of a Store.
struct Options {
  std::string path;  // SQLite database file; created with the schema when absent
  /// true: PRAGMA synchronous=FULL, every apply is durable on return (single node, where the
  /// database is the only copy). false: synchronous=NORMAL, durability comes from the Raft log,
  /// which is replayed from applied_index() after a crash (DESIGN.md §3).
  bool synchronous_full = true;
  /// Values larger than this are refused by apply (40002). Must be equal on every node.
  size_t max_value_bytes = api::kDefaultMaxValueBytes;
  /// Told the SQL and run time (ns) of every statement on the store's connections, on the
  /// thread that ran it (telemetry: query latency and spans). Thread-safe and cheap; unset:
  /// nothing is timed. The store keeps it.
  std::function<void(std::string_view sql, int64_t ns)> on_query;
};

/// Rows as the seed's §3.2 tables hold them. Times are Unix milliseconds taken from the
/// command's timestamp (never the local clock). Values are compact JSON text.
struct NamespaceRow {
  int64_t id = 0;
  std::string name;
  std::string description;
  int status = 1;          // 1 enabled, 0 disabled
  uint64_t revision = 0;   // last global revision that changed the namespace or one of its keys
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  int64_t config_count = 0;  // filled by list_namespaces only
  /// Retention overrides (docs/versions.md); nullopt = the default. list_namespaces only.
  std::optional<int64_t> keep_latest;
  std::optional<int64_t> keep_days;
  /// Key patterns whose keys are secret (docs/secrets.md), in the order set.
  std::vector<std::string> secret_keys = {};
};

struct ConfigRow {
  int64_t id = 0;
  int64_t namespace_id = 0;
  std::string ns;  // namespace name
  std::string key;
  std::string value;
  int64_t version = 0;
  std::string description;
  int status = 1;
  std::string created_by;
  std::string updated_by;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  uint64_t revision = 0;  // global revision of the last change to this key
  /// The value is a secret (docs/secrets.md). The store holds a secret's sealed text; the core
  /// sets this when it replaces that text by the plaintext or the mask for a caller.
  bool secret = false;
  /// Flagged by a forced schema change: the value failed the namespace's schema then and has
  /// not been written since (docs/schemas.md). list_configs only.
  bool schema_violation = false;
};

/// A namespace's value schemas (docs/schemas.md): version 0 and "[]" when it never had any.
struct SchemaRow {
  std::string ns;
  int64_t version = 0;
  std::string schemas = "[]";  // compact JSON array of {"keys", "schema"}
  bool strict = false;
  std::string updated_by;
  int64_t updated_at_ms = 0;
  std::vector<std::string> flagged;  // keys flagged by a forced change, ordered
};

/// One change of a namespace's schemas, newest first in schema_history().
struct SchemaHistoryRow {
  int64_t version = 0;
  std::string schemas;
  bool strict = false;
  bool forced = false;
  std::string violations;  // {"violations":[…]} the change was forced over
  std::string operator_name;
  int64_t created_at_ms = 0;
  uint64_t revision = 0;
};

struct VersionRow {
  int64_t config_id = 0;
  int64_t version = 0;
  std::string value;
  int status = 1;
  std::string created_by;
  int64_t created_at_ms = 0;
  std::vector<std::string> tags;  // labels on this version (api::TagVersion), sorted
  bool secret = false;            // as ConfigRow::secret
};

struct HistoryRow {
  int64_t id = 0;
  int64_t config_id = 0;
  std::string ns;
  std::string key;
  std::optional<std::string> old_value;  // absent for CREATE
  std::string new_value;                 // "null" for DELETE
  int64_t version = 0;
  std::string operation;  // CREATE, UPDATE, DELETE, ROLLBACK, ENABLE, DISABLE
  std::string operator_name;
  int64_t created_at_ms = 0;
  uint64_t revision = 0;
  bool secret = false;  // as ConfigRow::secret (old and new value)
  std::string release_id;  // operation RELEASE: the release promoted
};

/// A gray release as stored (docs/releases.md). `spec` is the canonical {"target","plan"} JSON
/// text, `changes` a JSON object key → value|null, `transitions` a JSON array.
struct ReleaseRow {
  std::string id;
  int64_t namespace_id = 0;
  std::string ns;
  std::string state;  // active, paused, halted, promoted, aborted
  int64_t stage = 0;
  std::string spec;
  std::string changes;
  uint64_t revision = 0;  // the revision stamped when it started
  uint64_t stage_revision = 0;  // the revision of its last change of who sees what
  std::string description;
  std::string created_by;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  int64_t stage_started_ms = 0;
  std::string reason;
  std::string transitions;
};

/// One effect of an applied command, in the order it happened, for the in-memory index and
/// the watch hub. Deletes carry the last state of what was deleted.
struct RaftState {
  uint64_t term = 0;
  std::string conf;
};

struct Change {
  /// kGray: who sees what of `config.key` changed because of a gray release (start, stage,
  /// abort); `config` is the key's stable row (version 0 and no value when it has none). The
  /// index keeps it as it is; watchers of the key wake.
  enum class Kind { kNamespacePut, kNamespaceDelete, kConfigPut, kConfigDelete, kGray };
  Kind kind = Kind::kConfigPut;
  NamespaceRow ns;    // always set (for config changes: the namespace after the change)
  ConfigRow config;   // config changes only
  std::string operation;  // config changes: the history operation (CREATE, UPDATE, …)
};

struct Applied {
  api::CommandResult result;
  std::vector<Change> changes;  // empty when the command failed
};

struct PageRequest {
  int64_t page = 1;       // 1-based
  int64_t page_size = 20; // 1..1000
};

template <class T>
struct Page {
  std::vector<T> items;
  int64_t total = 0;  // rows matching, over all pages
};

/// Namespace name patterns a caller may see (docs/security.md): a name matches a pattern equal
/// to it, or one ending in '*' whose prefix it starts with ("*" matches every name).
using Visibility = std::optional<std::vector<std::string>>;  // nullopt: everything

struct ConfigFilter {
  std::optional<std::string> ns;  // exact namespace name
  std::string key_contains;       // substring of the key, literal (no wildcards)
  Visibility visible = {};
};

/// An API token as stored: never its secret (docs/security.md).
struct TokenRow {
  std::string id;
  std::string name;
  std::string secret_hash;
  std::vector<api::Grant> grants;
  std::string created_by;
  int64_t created_at_ms = 0;
  int64_t expires_at_ms = 0;  // 0: never
  int64_t revoked_at_ms = 0;  // 0: not revoked
};

struct AuditRow {
  int64_t id = 0;
  api::AuditEntry entry;
};

struct AuditFilter {
  std::optional<std::string> actor;
  std::optional<std::string> ns;
  std::optional<std::string> action;  // exact, or a prefix ending in '*' ("config.*")
  std::optional<int64_t> from_ms;     // at >= from_ms
  std::optional<int64_t> to_ms;       // at < to_ms
};

struct NamespaceFilter {
  std::string name_contains;
  std::optional<int> status;
  Visibility visible = {};
};

class Conn;

/// A consistent view of the whole database pinned by Store::begin_snapshot(): a read
/// transaction on a connection of its own (WAL mode), so that applies and reads go on while the
/// view is written out. write() may run on any one thread, once; it releases the view as soon as
/// the copy holds it, and destroying the source releases it otherwise (until then the WAL cannot
/// be checkpointed past it). Releasing checkpoints the WAL on the releasing thread.
class SnapshotSource {
 public:
  explicit SnapshotSource(std::unique_ptr<Conn> conn, uint64_t applied_index);
  ~SnapshotSource();
  SnapshotSource(const SnapshotSource&) = delete;
  SnapshotSource& operator=(const SnapshotSource&) = delete;
  /// The applied index the view holds.
  uint64_t applied_index() const { return applied_index_; }
  /// Writes the view to `path` as one self-contained SQLite file (rollback journal), through
  /// `<path>.tmp`; complete and fsynced, folder included, when this returns.
  Result<Ok, api::Error> write(const std::string& path);

 private:
  void release();  // ends the read transaction, then checkpoints what it held back
  std::unique_ptr<Conn> conn_;
  uint64_t applied_index_;
  bool pinned_ = true;
};

/// The seed's tables in one SQLite file (WAL mode), and the deterministic state machine that
/// changes them.
///
/// Threads: apply(), restore_snapshot() and close() are called by one thread at a time (the
/// apply thread). Every read method may be called from any thread, concurrently with apply and
/// with each other; a read sees the state before or after an apply, never half of one.
class Store {
 public:
  static Result<std::unique_ptr<Store>, api::Error> open(const Options& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Applies `command` as log entry `index` stamped `timestamp_ms`, in one transaction that
  /// also records `index` as applied_index(). Every state-dependent check (namespace exists and
  /// is enabled, key exists or not, expected_version, sizes, names) happens here, so the same
  /// commands in the same order give byte-identical tables on every node. A command that fails
  /// a check changes nothing but applied_index() and returns the error in `result`.
  /// Precondition: index > applied_index(); otherwise nothing happens and result is 50001.
  Applied apply(const api::Command& command, uint64_t index, int64_t timestamp_ms);

  /// Advances applied_index() for a log entry that carries no command (Raft no-op, membership).
  void mark_applied(uint64_t index);

  /// Groups the following apply() and mark_applied() calls into one transaction (one write of
  /// each touched page instead of one per entry). Until commit_group() nothing of the group is
  /// visible: applied_index(), revision() and every read show the state before it. An SQLite
  /// error in any entry rolls the whole group back; later entries of the group then fail with
  /// 50002 without touching the database. If the transaction cannot begin, the entries are
  /// applied one transaction each, as without a group.
  void begin_group();
  /// Commits the group and publishes it. false: nothing of the group took effect (an entry's
  /// SQLite error rolled it back, or COMMIT failed); applied_index() is what it was before.
  bool commit_group();
  /// The last entry apply() or mark_applied() wrote: applied_index(), or inside a group the
  /// group's last entry (not yet visible to readers). Apply thread.
  uint64_t written_index() const;

  /// Raft's view of what is applied: the term of the last applied entry and the membership
  /// after it (opaque bytes). Staged here, written in the same transaction as the next apply()
  /// or mark_applied(), so the three never disagree after a crash; part of every snapshot.
  void stage_raft_state(uint64_t term, std::string conf);
  RaftState raft_state() const;
  /// The replicated member address book (api::SetMemberAddress), as JSON
  /// {"<id>": {"peer": …, "http": …}}; "" when never set. Any thread.
  std::string members_json() const;
  /// Bumped whenever the address book may have changed (apply, restore). Any thread.
  uint64_t members_generation() const;

  uint64_t applied_index() const;
  uint64_t revision() const;  // global revision: +1 per successful command

  // ---- reads (SQLite; count in read_queries()) ----
  Result<Page<ConfigRow>, api::Error> list_configs(const ConfigFilter& filter,
                                                   const PageRequest& page) const;
  /// Newest first. 40402 unknown namespace, 40403 when the key never existed.
  Result<Page<HistoryRow>, api::Error> history(const std::string& ns, const std::string& key,
                                               const PageRequest& page) const;
  /// Newest first; spans delete and re-create; each row with its tags. Versions removed by
  /// retention are gone. 40402 / 40403 as history().
  Result<Page<VersionRow>, api::Error> versions(const std::string& ns, const std::string& key,
                                                const PageRequest& page) const;
  /// 40402 unknown namespace, 40403 key never existed, 40401 version not (or no longer) kept.
  Result<VersionRow, api::Error> get_version(const std::string& ns, const std::string& key,
                                             int64_t version) const;
  /// The version of ns/key that was current at `at_ms` (the last change applied with a
  /// timestamp at or before it; enabling and disabling do not change which value is current).
  /// 40402 unknown namespace, 40403 key never existed, 40401 no version was current then (not
  /// yet created, deleted) or that version is no longer kept (retention).
  Result<VersionRow, api::Error> version_at(const std::string& ns, const std::string& key,
                                            int64_t at_ms) const;
  /// Every key of ns as it was at `at_ms` (version_at() for each key ever written), ordered by
  /// key; `revision` and `updated_at_ms` of the namespace's last config change until then
  /// (0 when none). 40402 unknown namespace.
  struct NamespaceAt {
    std::vector<std::pair<std::string, VersionRow>> configs;  // key → its version then
    std::vector<std::string> unavailable;  // current then, but pruned by retention since
    uint64_t revision = 0;
    int64_t updated_at_ms = 0;
  };
  Result<NamespaceAt, api::Error> namespace_at(const std::string& ns, int64_t at_ms) const;
  Result<Page<NamespaceRow>, api::Error> list_namespaces(const NamespaceFilter& filter,
                                                         const PageRequest& page) const;
  /// The value schemas of `ns` (docs/schemas.md). 40402 unknown namespace.
  Result<SchemaRow, api::Error> namespace_schema(const std::string& ns) const;
  /// Every change of them, newest first. 40402 unknown namespace.
  Result<std::vector<SchemaHistoryRow>, api::Error> schema_history(const std::string& ns) const;
  /// Every current value of `ns` (ordered by key) as (key, value text), for a schema dry run.
  /// 40402 unknown namespace.
  Result<std::vector<std::pair<std::string, std::string>>, api::Error> namespace_values(
      const std::string& ns) const;
  /// Visits every namespace, then every current config (ordered by namespace id, key): used to
  /// build the in-memory index at start and after a restore.
  Result<Ok, api::Error> load_all(const std::function<void(const NamespaceRow&)>& on_namespace,
                                  const std::function<void(const ConfigRow&)>& on_config) const;
  /// Every gray release, ordered by creation (docs/releases.md).
  Result<std::vector<ReleaseRow>, api::Error> releases() const;
  /// Every token, revoked and expired ones included, ordered by id.
  Result<std::vector<TokenRow>, api::Error> tokens() const;
  /// Bumped whenever the token table may have changed (apply of a token command, restore,
  /// open), so that a cache of tokens knows when to reload. Any thread.
  uint64_t auth_generation() const;
  /// Newest first.
  Result<Page<AuditRow>, api::Error> audit(const AuditFilter& filter,
                                           const PageRequest& page) const;
  /// Fault injection (docs/observability.md, degraded mode): with a non-empty reason every
  /// read and write fails with 50002 "database unavailable: <reason>" and changes nothing, as a
  /// broken disk would; an empty reason ends it. Any thread.
  void set_fault(std::string reason);
  std::optional<api::Error> fault() const;
  /// Why the last write transaction failed in SQLite itself (disk full, I/O error), when that
  /// happened less than `within_ms` ago and nothing committed since. Any thread.
  std::optional<std::string> recent_write_failure(int64_t within_ms) const;

  // ---- secrets (docs/secrets.md) ----
  /// The highest version ns/key ever had (0: never written): the next version written is one
  /// more. 40402 unknown namespace.
  Result<int64_t, api::Error> last_version(const std::string& ns, const std::string& key) const;
  /// A stored sealed value (current, version or history) of ns/key.
  struct SealedValue {
    std::string ns;
    std::string key;
    std::string text;  // the stored value text
  };
  /// Up to `limit` distinct sealed values whose text does not start with `keep_prefix` (the
  /// current key's prefix: those need re-wrapping), ordered by namespace, key, text.
  Result<std::vector<SealedValue>, api::Error> sealed_values_not(const std::string& keep_prefix,
                                                                 size_t limit) const;
  /// Sealed values stored (distinct texts), by the id of the key that wraps them.
  Result<std::vector<std::pair<std::string, int64_t>>, api::Error> sealed_key_ids() const;

  /// A trivial query, for the health check.
  Result<Ok, api::Error> ping() const;

  // ---- snapshots ----
  /// Pins the state committed now (applied_index() as of this call) for a snapshot written
  /// later, possibly on another thread (SnapshotSource). Cheap: opens a connection and a read
  /// transaction. Any thread; call it on the apply thread to pin exactly what was applied.
  Result<std::unique_ptr<SnapshotSource>, api::Error> begin_snapshot() const;
  /// Writes a consistent copy of the whole database to `path` (begin_snapshot() then write()).
  /// The file is complete and fsynced when this returns.
  Result<Ok, api::Error> write_snapshot(const std::string& path) const;
  /// Replaces the whole state with the snapshot at `path` atomically: either the old state
  /// stays (and an error is returned) or the new one is fully in place. The snapshot file is
  /// validated (schema, integrity) before anything is replaced.
  Result<Ok, api::Error> restore_snapshot(const std::string& path);

  /// Hex SHA-256 over a canonical dump of every table (ordered by primary key). Equal on two
  /// nodes exactly when their tables hold the same rows.
  std::string checksum() const;
  /// The same over the contents only: without Raft's bookkeeping in meta (applied index, term,
  /// membership, member addresses; schema.h kContentMetaFilter). What a backup's header
  /// carries, and what a cluster restored from it holds before its first write.
  std::string content_checksum() const;

  /// Probe: number of read queries run against SQLite since open (reads served by the
  /// in-memory index do not count). Thread-safe.
  uint64_t read_queries() const { return read_queries_.load(std::memory_order_relaxed); }

  /// Probe: SQLite connections the store holds open (its writer, its checkpointer and the
  /// pooled read connections) and read connections in use by a read now. Thread-safe.
  struct Connections {
    uint64_t open = 0;
    uint64_t in_use = 0;
  };
  Connections connections() const;

  const Options& options() const { return options_; }

 private:
  explicit Store(Options options);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Options options_;
  mutable std::atomic<uint64_t> read_queries_{0};
};

}  // namespace cairn::store
