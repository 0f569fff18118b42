#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "raft/config.h"

namespace CLI {
class App;
}

namespace cairn::server {

/// Everything `cairn server` can be told, from a YAML file (`snake_case` keys), environment
/// variables (`CAIRN_UPPER_SNAKE`), flags (`--kebab-case`) or defaults, in that order of
/// precedence: flag > environment > file > default.
struct ServerConfig {
  std::string node_id = "node1";
  std::string data_dir = "./data";
  std::string listen_http = "127.0.0.1:8080";
  int64_t http_threads = 0;
  int64_t max_header_bytes = 16 * 1024;
  int64_t max_body_bytes = 4 * 1024 * 1024;
  int64_t max_value_bytes = 1024 * 1024;
  int64_t http_read_timeout_ms = 30'000;
  int64_t http_idle_timeout_ms = 75'000;
  int64_t shutdown_grace_ms = 5'000;
  // Cluster (docs/cluster.md). raft_id 0: a standalone node without Raft.
  int64_t raft_id = 0;
  // raft_id given as `ordinal`: taken from the host name (StatefulSet pod cairn-N is N+1); such
  // a node not listed in `members` starts as a joiner (deploy/kubernetes/, docs/install.md).
  bool raft_id_from_ordinal = false;
  std::string cluster_id = "cairn";
  std::string listen_peer = "127.0.0.1:7001";
  std::string members;  // "1@peer@http,2@peer@http,…"
  bool join = false;
  // Raft tunables: their defaults are raft::Config's (raft/config.h), stated there once.
  int64_t raft_tick_ms = raft::Config{}.tick_ms;
  int64_t election_ticks = raft::Config{}.election_ticks;
  int64_t heartbeat_ticks = raft::Config{}.heartbeat_ticks;
  int64_t max_append_bytes = static_cast<int64_t>(raft::Config{}.max_msg_bytes);
  int64_t proposal_timeout_ms = raft::default_proposal_timeout_ms();
  int64_t snapshot_threshold = static_cast<int64_t>(raft::Config{}.snapshot_threshold);
  int64_t stale_read_bound_ms = 5'000;
  int64_t retention_interval_ms = 3'600'000;
  int64_t watch_history = 10'000;
  int64_t watch_max_timeout_ms = 60'000;
  int64_t watch_heartbeat_ms = 15'000;
  std::string log_level = "info";
  bool access_log = true;
  // Rate limits (docs/rate-limits.md). Empty file: the seed's defaults.
  bool rate_limit_enabled = true;
  std::string rate_limits;  // path of the limits YAML, re-read on SIGHUP
  // Tokens and permissions (docs/security.md).
  bool auth_enabled = false;
  bool metrics_public = false;
  int64_t auth_failure_burst = 10;
  int64_t auth_failure_interval_ms = 1'000;
  int64_t audit_keep_days = 90;  // audit rows older than this go with the scheduled clean-up
  // Scheduled backups (docs/operations.md).
  int64_t backup_interval_ms = 0;
  std::string backup_dir;
  int64_t backup_keep = 7;
  bool fault_injection = false;  // POST /api/v1/debug/fault (tests of degraded mode)
  // Secrets (docs/secrets.md): the key-encryption keys; else the CAIRN_SECRET_KEY variable.
  std::string secret_key_file;
  // The optional Redis tier (docs/cache.md).
  std::string redis_url;  // redis://host:port/db; empty: no Redis
  int64_t redis_timeout_ms = 200;
  std::string redis_channel = "config:events";
  // TLS (docs/security.md): HTTPS for the API; mutual TLS between peers.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;  // when set, API clients must present a certificate it signed
  std::string tls_ca;         // CA of the other nodes' API certificates (forwarding)
  std::string peer_tls_cert;
  std::string peer_tls_key;
  std::string peer_tls_ca;
  // Peer authentication (docs/security.md): the cluster secret (a list: current first, then
  // older ones accepted during a rotation), or a file holding it; else CAIRN_CLUSTER_SECRET.
  std::string cluster_secret;
  std::string cluster_secret_file;
  // Observability (docs/observability.md).
  std::string otlp_endpoint;  // empty: spans are not exported
  int64_t health_check_interval_ms = 5'000;
};

/// One key of the schema: its name, what it means, its kind and bounds. The same table feeds
/// the YAML loader, the flags and `cairn server --help` (STYLE.md §8).
struct ConfigKey {
  enum class Kind { kString, kInt, kDuration, kBool };
  const char* name;  // snake_case
  const char* description;
  Kind kind;
  std::variant<std::string ServerConfig::*, int64_t ServerConfig::*, bool ServerConfig::*> field;
  int64_t min = 0;
  int64_t max = 0;
};

const std::vector<ConfigKey>& config_schema();

/// Registers every key as a `--kebab-case` flag (plus `--config FILE`) on `app`; after the
/// app has parsed, finish() loads the file and applies the flags that were given.
class ConfigFlags {
 public:
  explicit ConfigFlags(CLI::App& app);
  /// Builds the final config: defaults, then the YAML file (--config, else CAIRN_CONFIG), then
  /// the CAIRN_* environment variables, then flags. Error text on an unknown YAML key, a wrong
  /// type or a value out of bounds. An environment variable set to "" counts as unset.
  Result<ServerConfig, std::string> finish() const;

 private:
  std::string config_file_;
  std::vector<std::string> values_;  // one per schema key, raw flag text
  CLI::App& app_;
};

/// Applies `text` to the key `key` of `config` (used by the YAML loader and the flags).
Result<Ok, std::string> set_key(ServerConfig& config, const ConfigKey& key,
                                const std::string& text);

/// The environment variable of a key: CAIRN_ and the key in upper case (CAIRN_LISTEN_HTTP).
std::string env_name(const ConfigKey& key);

/// The raft id a StatefulSet pod takes from its host name: the number after the last '-' plus
/// one (cairn-0 is 1). Error text when the name does not end in -N.
Result<int64_t, std::string> ordinal_raft_id(const std::string& hostname);

/// Loads a YAML file over `config`.
Result<Ok, std::string> load_yaml(ServerConfig& config, const std::string& path);

}  // namespace cairn::server
