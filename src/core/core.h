#pragma once

// The config center as a C++ API (DESIGN.md §4, docs/architecture.md): typed requests in,
// `Result<T, api::Error>` or an api::CommandResult out. It knows nothing of HTTP; the /api/v1
// handlers (src/service today) and the protocol front-ends to come decode a request, call it
// and encode the answer.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/command.h"
#include "api/errors.h"
#include "api/outcome.h"
#include "api/principal.h"
#include "cache/index.h"
#include "cache/probe.h"
#include "cache/version_ring.h"
#include "common/result.h"
#include "common/time.h"
#include "core/cluster.h"
#include "core/replicator.h"
#include "jsonschema/namespace_schemas.h"
#include "secrets/keyring.h"
#include "store/store.h"

namespace cairn::core {

struct CoreOptions {
  /// Where hits and misses of each cache tier are counted, and the ring of recent versions
  /// (docs/cache.md). Null: not counted / every older version read goes further.
  cache::Probe* cache_probe = nullptr;
  cache::VersionRing* version_ring = nullptr;
  /// Looks up version `version` of ns/key beyond the ring (the Redis tier, docs/cache.md):
  /// JSON object text {"value","version","created_at_ms"} or nullopt. Null: none. Any thread;
  /// must be bounded in time.
  std::function<std::optional<std::string>(const std::string& ns, const std::string& key,
                                           int64_t version)>
      version_lookup;
  /// Whether this node's database is down (degraded mode, docs/observability.md): a version
  /// read beyond the version ring then carries a warning. Null: never. Any thread.
  std::function<bool()> database_down;
  /// Offered every version read from SQLite (the Redis tier fills itself with them). Any
  /// thread; must not block.
  std::function<void(const std::string& ns, const std::string& key, int64_t version,
                     const std::string& value, int64_t created_at_ms)>
      version_filled;
  /// The replication group (docs/cluster.md); null on a single node. Must outlive the core.
  Cluster* cluster = nullptr;
  /// The key-encryption keys of secrets (docs/secrets.md). Null: none configured, so secrets
  /// can be neither written nor opened (50005), and every node must hold the same set.
  std::shared_ptr<const secrets::Keyring> keyring;
  /// Told every secret value answered in plain (the audit log and a metric). Any thread; must
  /// not block.
  std::function<void(const api::Principal& caller, const std::string& ns, const std::string& key,
                     int64_t version)>
      on_reveal;
};

/// docs/secrets.md: the state of the secrets a node stores, against the keys it holds.
struct SecretStatus {
  std::string current_key;                               // "" without a keyring
  std::vector<std::string> keys;                         // the ids this node holds
  std::vector<std::pair<std::string, int64_t>> sealed;   // key id → stored sealed values
  std::vector<std::string> missing_keys;                 // used by stored values, not held
  int64_t to_rewrap = 0;  // sealed values not wrapped by the current key
};

/// What one call of Core::rewrap did.
struct RewrapProgress {
  std::string current_key;
  int64_t rewrapped = 0;  // by this call
  int64_t batches = 0;
  int64_t remaining = 0;  // sealed values still wrapped by another key afterwards
};

/// A client read of one key: the current version, a given `version`, or the one current `at`
/// an instant (not both).
struct GetConfig {
  std::string ns;
  std::string key;
  std::optional<int64_t> version;
  std::optional<Instant> at;
};

/// One value as a client read answers it. `value` is compact JSON text (numbers keep their
/// digits).
struct ConfigValue {
  std::string ns;
  std::string key;
  std::string value;
  int64_t version = 0;
  int64_t updated_at_ms = 0;  // of this version
  /// Degraded mode: the version is beyond the in-memory ring and the database is down.
  std::string warning;
  bool secret = false;  // docs/secrets.md: `value` is the plaintext (revealed) or the mask
};

/// Several keys of one namespace, as a batch read answers them: found ones in the order asked,
/// the others (absent or disabled) under `missing`.
struct KeyValues {
  struct Item {
    std::string key;
    std::string value;
    int64_t version = 0;
    bool secret = false;
  };
  std::string ns;
  std::vector<Item> configs;
  std::vector<std::string> missing;
};

/// The configs of a namespace whose key equals a given key or starts with a prefix, disabled
/// ones included, ordered by key (the Consul front-end's KV reads, docs/compat.md).
struct KeyRange {
  struct Item {
    std::string key;
    std::string value;  // compact JSON text
    int64_t version = 0;
    std::string description;
    int status = 1;  // 0: disabled
    bool secret = false;
  };
  bool exists = false;    // the namespace exists and is enabled
  uint64_t revision = 0;  // the namespace's last change; 0 when it does not exist
  std::vector<Item> items;
};

/// Every enabled key of a namespace (key → value text, ordered by key), now or at an instant.
struct NamespaceValues {
  std::string ns;
  std::vector<std::pair<std::string, std::string>> configs;
  uint64_t revision = 0;  // the namespace's last change (until `at`)
  int64_t updated_at_ms = 0;
  std::optional<int64_t> at_ms;          // the instant asked, when one was
  std::vector<std::string> unavailable;  // at an instant: keys pruned by retention since
  std::vector<std::string> secret_keys;  // the keys of `configs` whose value is a secret
};

/// Every config of a namespace as an export carries it (docs/import-export.md), read from the
/// in-memory index in one consistent step: disabled keys and a disabled namespace included.
struct NamespaceDump {
  struct Item {
    std::string key;
    std::string value;  // compact JSON text; a secret sealed, or its plaintext when revealed
    int64_t version = 0;
    std::string description;
    int status = 1;
    bool secret = false;
  };
  bool exists = false;
  std::string ns;
  std::string description;
  int status = 1;
  uint64_t revision = 0;
  std::vector<std::string> secret_keys;
  std::vector<Item> items;  // ordered by key
};

/// The config center. Reads of current values come from the in-memory index, older versions
/// from the version ring, the Redis tier, then SQLite; writes go through the Replicator as
/// commands and answer with their typed outcome.
///
/// Every operation takes the caller (api::Principal) and checks what the data needs: read on a
/// namespace to read it, write to change its configs, admin to change the namespace or its
/// versions' tags and retention, cluster-admin for tokens, audit and every-namespace cleanups
/// (403/40301 otherwise, worded as the auth guard words it). A route may demand more
/// (routes/table.h); no front-end can get less. Lists show only the namespaces the caller's
/// grants name.
///
/// Lifetime: borrows the store, index and replicator, which must outlive it. Threads: every
/// method may be called from any thread concurrently.
class Core {
 public:
  Core(CoreOptions options, store::Store& store, cache::Index& index, Replicator& replicator);

  // ---- client reads (seed §3.8.3) ----
  Result<ConfigValue, api::Error> get_config(const api::Principal& caller,
                                             const GetConfig& request) const;
  /// `keys` without duplicates; 1..api::kMaxBatchOperations of them.
  Result<KeyValues, api::Error> get_keys(const api::Principal& caller, const std::string& ns,
                                         const std::vector<std::string>& keys) const;
  Result<NamespaceValues, api::Error> get_namespace(const api::Principal& caller,
                                                    const std::string& ns,
                                                    const std::optional<Instant>& at) const;
  /// The configs of `ns` whose key is `key` (`prefix` false) or starts with it, from the index.
  /// A namespace that does not exist or is disabled is an empty range, not an error.
  Result<KeyRange, api::Error> get_range(const api::Principal& caller, const std::string& ns,
                                         const std::string& key, bool prefix) const;
  /// Every config of `ns` for an export or an import plan (read on `ns`). A secret comes as
  /// stored, sealed (a plain-stored key that matches the namespace's secret_keys is sealed for
  /// its version: a dump never holds a secret in plain by accident; 50005 without a keyring),
  /// or, with `reveal`, in plain: that needs caller.may_reveal(ns) (403/40301 otherwise) and is
  /// audited as every reveal is (on_reveal). A namespace that does not exist: `exists` false.
  Result<NamespaceDump, api::Error> dump_namespace(const api::Principal& caller,
                                                   const std::string& ns, bool reveal) const;
  /// Why `caller` may not read or watch namespace `ns` (40301; absent or disabled: 40402), or
  /// nullopt.
  std::optional<api::Error> readable_namespace(const api::Principal& caller,
                                               const std::string& ns) const;
  /// Why ns/key must not be shown to `caller` (40301; disabled namespace: 40402, disabled
  /// config: 40403), or nullopt. `current` (optional) gets the key's current version, 0 when
  /// none.
  std::optional<api::Error> hidden_from_clients(const api::Principal& caller, const std::string& ns,
                                                const std::string& key,
                                                int64_t* current = nullptr) const;

  // ---- versions and history (SQLite; seed §3.8.5) ----
  Result<store::Page<store::VersionRow>, api::Error> versions(const api::Principal& caller,
                                                              const std::string& ns,
                                                              const std::string& key,
                                                              const store::PageRequest& page) const;
  Result<store::VersionRow, api::Error> version(const api::Principal& caller, const std::string& ns,
                                                const std::string& key, int64_t version) const;
  Result<store::Page<store::HistoryRow>, api::Error> history(const api::Principal& caller,
                                                             const std::string& ns,
                                                             const std::string& key,
                                                             const store::PageRequest& page) const;

  // ---- lists (admin): only the namespaces `caller` may see ----
  Result<store::Page<store::ConfigRow>, api::Error> list_configs(
      const api::Principal& caller, store::ConfigFilter filter,
      const store::PageRequest& page) const;
  Result<store::Page<store::NamespaceRow>, api::Error> list_namespaces(
      const api::Principal& caller, store::NamespaceFilter filter,
      const store::PageRequest& page) const;

  // ---- tokens and audit (docs/security.md): cluster-admin ----
  /// Every token (never a secret), revoked and expired ones included.
  Result<std::vector<store::TokenRow>, api::Error> tokens(const api::Principal& caller) const;
  Result<store::Page<store::AuditRow>, api::Error> audit(const api::Principal& caller,
                                                         const store::AuditFilter& filter,
                                                         const store::PageRequest& page) const;

  // ---- typed namespaces (docs/schemas.md) ----
  /// The namespace's value schemas (read). 40402 unknown namespace.
  Result<store::SchemaRow, api::Error> schema(const api::Principal& caller,
                                              const std::string& ns) const;
  Result<std::vector<store::SchemaHistoryRow>, api::Error> schema_history(
      const api::Principal& caller, const std::string& ns) const;
  /// A dry run of setting `schemas_json`/`strict` on `ns` (admin): the current values that
  /// would fail it, and the breaking changes from the current schemas. Changes nothing.
  struct SchemaCheck {
    int64_t current_version = 0;
    std::vector<api::SchemaViolation> violations;
    std::vector<jsonschema::BreakingChange> breaking;
  };
  Result<SchemaCheck, api::Error> check_schema(const api::Principal& caller, const std::string& ns,
                                               const std::string& schemas_json, bool strict) const;
  /// The violations of one value for ns/key against the namespace's current schemas (write on
  /// the namespace): what a write of it would be refused with. Changes nothing.
  Result<std::vector<api::SchemaViolation>, api::Error> check_value(
      const api::Principal& caller, const std::string& ns, const std::string& key,
      const std::string& value_text) const;

  /// The id of the namespace named `name`, from the index.
  std::optional<int64_t> namespace_id(std::string_view name) const;
  /// The name of namespace `id`, from the index.
  std::optional<std::string> namespace_name(int64_t id) const;

  // ---- the replication group (docs/cluster.md): cluster-admin ----
  /// 404/40401 on a node that is not part of a cluster.
  Result<ClusterView, api::Error> cluster_view(const api::Principal& caller) const;
  void transfer_leader(const api::Principal& caller, uint64_t to, Cluster::Done done);
  void add_member(const api::Principal& caller, uint64_t id, std::string peer, std::string http,
                  bool voter, Cluster::Done done);
  void remove_member(const api::Principal& caller, uint64_t id, Cluster::Done done);

  // ---- the node's own state (health, debug vars) ----
  struct Status {
    uint64_t revision = 0;
    uint64_t applied_index = 0;
    uint64_t store_read_queries = 0;  // SQLite reads since start
    uint64_t index_reads = 0;         // reads served by the in-memory index
  };
  Status status() const;
  /// A trivial database query (health).
  Result<Ok, api::Error> ping() const;
  /// Hex SHA-256 of every table (store::Store::checksum): equal on nodes with equal state.
  std::string checksum() const;
  /// The same without Raft's bookkeeping (store::Store::content_checksum): what a backup's
  /// header carries and a cluster restored from it holds before its first change.
  std::string content_checksum() const;

  // ---- writes ----
  /// Replicates `command` and calls `done` with what applying it produced (on success the
  /// typed outcome, api::CommandResult::outcome), once, on any thread. A caller without the
  /// permission the command needs gets 40301 at once (from this thread), nothing replicated.
  void submit(const api::Principal& caller, api::Command command, Replicator::Done done);
  /// Why `caller` may not submit `command` (40301), or nullopt.
  std::optional<api::Error> may_submit(const api::Principal& caller,
                                       const api::Command& command) const;

  // ---- secrets (docs/secrets.md) ----
  /// Seals the secret values of `command` on the leader, before it is proposed: the one
  /// function the write path calls (submit() does). A value is sealed when its ConfigWrite says
  /// `secret`, the key is already secret, or it matches the namespace's secret_keys; sealed for
  /// the version apply will give it (a wrong guess is refused by apply and submit() seals
  /// again). A rollback of a secret key gets its target opened and sealed for the new version.
  /// Values that look sealed are refused (40002): that shape is reserved. 50005 when a secret
  /// must be sealed and this node has no keyring. Checks on plaintext (the value limit, a
  /// schema) belong before this call.
  Result<bool, api::Error> seal(api::Command& command) const;  // true: it sealed a value
  /// What `caller` is answered for the stored value `stored` of version `version` of ns/key:
  /// the value itself when it is no secret; for a secret, its plaintext when caller.reveals(ns)
  /// (audited through on_reveal; 50005 when it cannot be opened), else the mask "******".
  /// `secret` (optional) tells which. For front-ends that hold stored values (watch events).
  Result<std::string, api::Error> present(const api::Principal& caller, const std::string& ns,
                                          const std::string& key, int64_t version,
                                          const std::string& stored, bool* secret) const;
  /// The keys stored secrets are wrapped with, against the ones this node holds.
  Result<SecretStatus, api::Error> secret_status(const api::Principal& caller) const;
  /// Re-wraps up to `max_batches` batches of `batch_size` sealed values with the current key,
  /// each batch one replicated command (cluster-admin). `done` once, on any thread.
  void rewrap(const api::Principal& caller, size_t batch_size, size_t max_batches,
              std::function<void(Result<RewrapProgress, api::Error>)> done);
  /// Key ids used by stored secrets that this node does not hold (health), recomputed at most
  /// every few seconds.
  std::vector<std::string> missing_secret_keys() const;

  const CoreOptions& options() const { return options_; }

 private:
  /// present() with the namespace's secret key patterns already known.
  Result<std::string, api::Error> present_with(const api::Principal& caller,
                                               const std::string& ns, const std::string& key,
                                               int64_t version, const std::string& stored,
                                               const std::vector<std::string>& patterns,
                                               bool* secret) const;
  std::vector<std::string> secret_patterns(const std::string& ns) const;
  void submit_sealed(api::Command original, int attempts_left, Replicator::Done done);
  void rewrap_step(std::shared_ptr<struct RewrapRun> run);

  /// A version other than the current one: ring, Redis tier, then SQLite.
  /// get_config() as stored (a secret sealed), without the permission check.
  Result<ConfigValue, api::Error> get_stored(const GetConfig& request) const;
  Result<ConfigValue, api::Error> older_version(const std::string& ns, const std::string& key,
                                                int64_t version) const;

  CoreOptions options_;
  store::Store& store_;
  cache::Index& index_;
  Replicator& replicator_;
  mutable std::mutex missing_mu_;
  mutable int64_t missing_checked_ms_ = -1;
  mutable std::vector<std::string> missing_keys_;
};

}  // namespace cairn::core
