#include "server/config.h"

#include <yaml-cpp/yaml.h>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <string_view>

#include "common/time.h"

namespace cairn::server {
namespace {

using Kind = ConfigKey::Kind;
using C = ServerConfig;

std::string kebab(const char* snake) {
  std::string out = snake;
  for (char& c : out) {
    if (c == '_') c = '-';
  }
  return out;
}

std::string default_text(const ConfigKey& key) {
  static const ServerConfig defaults;
  switch (key.kind) {
    case Kind::kString:
      return defaults.*std::get<std::string C::*>(key.field);
    case Kind::kInt:
      return std::to_string(defaults.*std::get<int64_t C::*>(key.field));
    case Kind::kDuration:
      return std::to_string(defaults.*std::get<int64_t C::*>(key.field)) + "ms";
    case Kind::kBool:
      return defaults.*std::get<bool C::*>(key.field) ? "true" : "false";
  }
  return {};
}

}  // namespace

const std::vector<ConfigKey>& config_schema() {
  static const std::vector<ConfigKey> schema = {
      {"node_id", "Name of this node, shown in health and logs", Kind::kString, &C::node_id},
      {"data_dir", "Directory holding the database (cairn.db) and cairn.pid", Kind::kString,
       &C::data_dir},
      {"listen_http", "HTTP listen address host:port (port 0 picks a free port)", Kind::kString,
       &C::listen_http},
      {"http_threads", "HTTP io threads; 0 means one per core", Kind::kInt, &C::http_threads, 0,
       256},
      {"max_header_bytes", "Largest request header block; larger is answered 431",
       Kind::kInt, &C::max_header_bytes, 1024, 1 << 20},
      {"max_body_bytes", "Largest request body; larger is answered 413/41301", Kind::kInt,
       &C::max_body_bytes, 1024, int64_t{1} << 30},
      {"max_value_bytes", "Largest config value (compact JSON); larger is 400/40002. Must be "
       "equal on every node", Kind::kInt, &C::max_value_bytes, 16, int64_t{256} << 20},
      {"http_read_timeout", "A request must arrive completely within this (e.g. 30s)",
       Kind::kDuration, &C::http_read_timeout_ms, 100, 3'600'000},
      {"http_idle_timeout", "Idle keep-alive connections are closed after this", Kind::kDuration,
       &C::http_idle_timeout_ms, 100, 86'400'000},
      {"shutdown_grace", "On SIGTERM, how long in-flight requests may still finish",
       Kind::kDuration, &C::shutdown_grace_ms, 0, 600'000},
      {"raft_id", "This node's id in the cluster (1..); 0 runs a standalone node without Raft; "
       "`ordinal`: from the host name, a StatefulSet pod cairn-N is N+1 (and, if `members` does "
       "not list it, it starts as a joiner)", Kind::kInt, &C::raft_id, 0, int64_t{1} << 40},
      {"cluster_id", "Cluster name; peers with another one are refused", Kind::kString,
       &C::cluster_id},
      {"listen_peer", "Raft peer listen address host:port", Kind::kString, &C::listen_peer},
      {"members", "Initial members: id@peer_host:port@http_host:port, comma-separated (this node "
       "included)", Kind::kString, &C::members},
      {"join", "Start without a bootstrap configuration, to be added by the leader",
       Kind::kBool, &C::join},
      {"raft_tick", "Raft tick; heartbeats every tick, elections after election_ticks",
       Kind::kDuration, &C::raft_tick_ms, 1, 10'000},
      {"election_ticks", "Election timeout in ticks (randomised up to twice this)", Kind::kInt,
       &C::election_ticks, 2, 1'000},
      {"heartbeat_ticks", "Leader heartbeat interval in ticks", Kind::kInt, &C::heartbeat_ticks, 1,
       1'000},
      {"max_append_bytes", "Entry bytes per AppendEntries message (batching bound)", Kind::kInt,
       &C::max_append_bytes, 1024, int64_t{64} << 20},
      {"proposal_timeout", "A write not committed within this answers 500/50003", Kind::kDuration,
       &C::proposal_timeout_ms, 10, 600'000},
      {"snapshot_threshold", "Applied log entries before a snapshot compacts the log",
       Kind::kInt, &C::snapshot_threshold, 10, int64_t{1} << 40},
      {"stale_read_bound", "A follower cut off from the leader this long marks reads degraded",
       Kind::kDuration, &C::stale_read_bound_ms, 10, 86'400'000},
      {"retention_interval", "Time between scheduled version clean-ups (docs/versions.md); 0 "
       "disables", Kind::kDuration, &C::retention_interval_ms, 0, int64_t{1} << 40},
      {"watch_history", "Changes kept for watchers that fall behind (older: reset)", Kind::kInt,
       &C::watch_history, 16, 10'000'000},
      {"watch_max_timeout", "Longest hold of a watch long poll (give nginx proxy_read_timeout "
       "more)", Kind::kDuration, &C::watch_max_timeout_ms, 1'000, 3'600'000},
      {"watch_heartbeat", "Interval of the comment line on watch streams (SSE)", Kind::kDuration,
       &C::watch_heartbeat_ms, 100, 3'600'000},
      {"log_level", "trace, debug, info, warn, error or off", Kind::kString, &C::log_level},
      {"access_log", "Write one log line per HTTP request", Kind::kBool, &C::access_log},
      {"rate_limit_enabled", "Apply the rate limits (429/42901, 429/42902) to client and admin "
       "requests", Kind::kBool, &C::rate_limit_enabled},
      {"rate_limits", "YAML file of rate limits (docs/rate-limits.md), re-read on SIGHUP; "
       "unset: the built-in defaults", Kind::kString, &C::rate_limits},
      {"auth_enabled", "Require a bearer token on every API call but health (docs/security.md); "
       "the root token comes from CAIRN_ROOT_TOKEN or <data_dir>/root-token", Kind::kBool,
       &C::auth_enabled},
      {"metrics_public", "With auth enabled, serve /api/v1/metrics without a token",
       Kind::kBool, &C::metrics_public},
      {"auth_failure_burst", "Failed authentications one client address may make at once "
       "before it is answered 429", Kind::kInt, &C::auth_failure_burst, 1, 1'000'000},
      {"auth_failure_interval", "After the burst, one more attempt per this interval",
       Kind::kDuration, &C::auth_failure_interval_ms, 1, 3'600'000},
      {"secret_key_file", "Key-encryption keys of secret values (docs/secrets.md): a JSON file "
       "of mode 0600 made by `cairn secret-key generate`; unset: the CAIRN_SECRET_KEY variable "
       "(id:base64[,id:base64...], the first current), else no secrets",
       Kind::kString, &C::secret_key_file},
      {"redis_url", "Redis tier (docs/cache.md): redis://host:port/db; unset: no Redis",
       Kind::kString, &C::redis_url},
      {"redis_timeout", "Longest wait for Redis (connect and each command)", Kind::kDuration,
       &C::redis_timeout_ms, 1, 60'000},
      {"redis_channel", "Redis Pub/Sub channel of the change events", Kind::kString,
       &C::redis_channel},
      {"fault_injection", "Serve POST /api/v1/debug/fault, which makes this node's database "
       "fail until cleared (tests of degraded mode; docs/observability.md)", Kind::kBool,
       &C::fault_injection},
      {"backup_interval", "Time between scheduled backups into backup_dir "
       "(docs/operations.md); 0 disables", Kind::kDuration, &C::backup_interval_ms, 0,
       int64_t{1} << 40},
      {"backup_dir", "Folder of scheduled backups; empty: <data_dir>/backups", Kind::kString,
       &C::backup_dir},
      {"backup_keep", "Scheduled backups kept in backup_dir (the newest)", Kind::kInt,
       &C::backup_keep, 1, 10'000},
      {"audit_keep_days", "Audit-log rows older than this many days are removed by the "
       "scheduled clean-up (retention_interval); 0 keeps them all", Kind::kInt,
       &C::audit_keep_days, 0, 36'500},
      {"tls_cert", "PEM certificate chain: serve the API over HTTPS (with tls_key)",
       Kind::kString, &C::tls_cert},
      {"tls_key", "PEM private key of tls_cert", Kind::kString, &C::tls_key},
      {"tls_client_ca", "PEM CA file: API clients must present a certificate it signed",
       Kind::kString, &C::tls_client_ca},
      {"tls_ca", "PEM CA file of the other nodes' API certificates, trusted when a follower "
       "forwards to the leader over HTTPS (default: the system's CAs)", Kind::kString,
       &C::tls_ca},
      {"peer_tls_cert", "PEM certificate of this node for mutual TLS between peers (with "
       "peer_tls_key and peer_tls_ca)", Kind::kString, &C::peer_tls_cert},
      {"peer_tls_key", "PEM private key of peer_tls_cert", Kind::kString, &C::peer_tls_key},
      {"peer_tls_ca", "PEM cluster CA: peers must present a certificate it signed",
       Kind::kString, &C::peer_tls_ca},
      {"cluster_secret", "Shared secret of the cluster's nodes (docs/security.md): peers prove it "
       "to each other and sign forwarded requests with it. 16+ characters; a comma-separated "
       "list during a rotation (the first signs, all are accepted). Prefer cluster_secret_file "
       "or CAIRN_CLUSTER_SECRET (flags show in ps)", Kind::kString, &C::cluster_secret},
      {"cluster_secret_file", "File (mode 0600) holding the cluster secret, one per line during "
       "a rotation; unset: cluster_secret, else the CAIRN_CLUSTER_SECRET variable",
       Kind::kString, &C::cluster_secret_file},
      {"otlp_endpoint", "OTLP/HTTP collector (http://host:4318) that receives the spans as "
       "JSON; unset: spans are not exported", Kind::kString, &C::otlp_endpoint},
      {"health_check_interval", "Time between health checks of the database (and Redis)",
       Kind::kDuration, &C::health_check_interval_ms, 100, 3'600'000},
  };
  return schema;
}

std::string env_name(const ConfigKey& key) {
  std::string out = "CAIRN_";
  for (const char* c = key.name; *c; ++c) {
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(*c)));
  }
  return out;
}

Result<int64_t, std::string> ordinal_raft_id(const std::string& hostname) {
  auto dash = hostname.rfind('-');
  const std::string digits = dash == std::string::npos ? "" : hostname.substr(dash + 1);
  int64_t n = -1;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || n < 0 ||
      n >= (int64_t{1} << 40) - 1) {
    return Unexpected{"raft_id: 'ordinal' needs a host name ending in -N (a StatefulSet pod "
                      "such as cairn-0), this host is '" + hostname + "'"};
  }
  return n + 1;
}

Result<Ok, std::string> set_key(ServerConfig& config, const ConfigKey& key,
                                const std::string& text) {
  auto bad = [&](const std::string& why) {
    return Unexpected{std::string(key.name) + ": " + why + " (got '" + text + "')"};
  };
  if (const auto* field = std::get_if<int64_t C::*>(&key.field);
      field && *field == &C::raft_id) {
    config.raft_id_from_ordinal = text == "ordinal";
    if (config.raft_id_from_ordinal) {
      char host[256] = {};
      if (::gethostname(host, sizeof host - 1) != 0) return bad("cannot read the host name");
      auto id = ordinal_raft_id(host);
      if (!id.ok()) return Unexpected{id.error()};
      config.raft_id = *id;
      return Ok{};
    }
  }
  switch (key.kind) {
    case Kind::kString:
      if (text.empty()) return bad("must not be empty");
      config.*std::get<std::string C::*>(key.field) = text;
      return Ok{};
    case Kind::kInt:
    case Kind::kDuration: {
      int64_t v = 0;
      if (key.kind == Kind::kDuration) {
        v = parse_duration_ms(text);
        if (v < 0) return bad("must be a duration such as 500ms, 30s, 5m");
      } else {
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || ptr != text.data() + text.size()) return bad("must be an integer");
      }
      if (v < key.min || v > key.max) {
        return bad("must be between " + std::to_string(key.min) + " and " +
                   std::to_string(key.max));
      }
      config.*std::get<int64_t C::*>(key.field) = v;
      return Ok{};
    }
    case Kind::kBool:
      if (text == "true" || text == "1" || text == "yes" || text == "on") {
        config.*std::get<bool C::*>(key.field) = true;
      } else if (text == "false" || text == "0" || text == "no" || text == "off") {
        config.*std::get<bool C::*>(key.field) = false;
      } else {
        return bad("must be true or false");
      }
      return Ok{};
  }
  return Ok{};
}

Result<Ok, std::string> load_yaml(ServerConfig& config, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const std::exception& e) {
    return Unexpected{"cannot read config file " + path + ": " + e.what()};
  }
  if (root.IsNull()) return Ok{};
  if (!root.IsMap()) return Unexpected{"config file " + path + " must be a mapping of keys"};
  for (const auto& item : root) {
    std::string name = item.first.as<std::string>();
    const ConfigKey* key = nullptr;
    for (const auto& k : config_schema()) {
      if (name == k.name) key = &k;
    }
    if (!key) return Unexpected{"config file " + path + ": unknown key '" + name + "'"};
    if (!item.second.IsScalar()) {
      return Unexpected{"config file " + path + ": key '" + name + "' must be a scalar"};
    }
    auto set = set_key(config, *key, item.second.as<std::string>());
    if (!set.ok()) return Unexpected{"config file " + path + ": " + set.error()};
  }
  return Ok{};
}

ConfigFlags::ConfigFlags(CLI::App& app) : app_(app) {
  const auto& schema = config_schema();
  values_.resize(schema.size());
  app.add_option("--config", config_file_,
                 "YAML config file (snake_case keys); else the CAIRN_CONFIG variable");
  app.footer(
      "Every option can also be set by an environment variable: CAIRN_ and the key in upper "
      "case (CAIRN_LISTEN_HTTP=0.0.0.0:8080, CAIRN_RAFT_ID=ordinal). A flag wins over the "
      "variable, the variable over the --config file; a variable set to \"\" is ignored. "
      "docs/install.md; docs/cluster.md for the cluster keys.");
  for (size_t i = 0; i < schema.size(); ++i) {
    const ConfigKey& key = schema[i];
    if (key.kind == Kind::kBool) {
      // A bare boolean flag (`--auth-enabled`) means true; `--auth-enabled false` and
      // `--auth-enabled=false` work too. (No default_str: CLI11 would take it for the bare form.)
      app.add_option("--" + kebab(key.name), values_[i],
                     std::string(key.description) + " [default: " + default_text(key) + "]")
          ->type_name("[BOOL]")
          ->expected(0, 1)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      continue;
    }
    // A flag given twice: the last one wins (wrappers append their overrides).
    app.add_option("--" + kebab(key.name), values_[i], key.description)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
        ->default_str(default_text(key))
        ->type_name(key.kind == Kind::kInt        ? "INT"
                    : key.kind == Kind::kDuration ? "DURATION"
                                                  : "TEXT");
  }
}

Result<ServerConfig, std::string> ConfigFlags::finish() const {
  auto env = [](const std::string& name) -> std::string {
    const char* value = std::getenv(name.c_str());
    return value ? value : "";
  };
  ServerConfig config;
  std::string file = config_file_.empty() ? env("CAIRN_CONFIG") : config_file_;
  if (!file.empty()) {
    auto loaded = load_yaml(config, file);
    if (!loaded.ok()) return Unexpected{loaded.error()};
  }
  const auto& schema = config_schema();
  for (size_t i = 0; i < schema.size(); ++i) {
    if (app_.count("--" + kebab(schema[i].name)) != 0) {
      bool bare = schema[i].kind == Kind::kBool && values_[i].empty();
      auto set = set_key(config, schema[i], bare ? "true" : values_[i]);
      if (!set.ok()) return Unexpected{set.error()};
      continue;
    }
    const std::string name = env_name(schema[i]);
    const std::string value = env(name);
    if (value.empty()) continue;
    auto set = set_key(config, schema[i], value);
    if (!set.ok()) return Unexpected{"environment variable " + name + ": " + set.error()};
  }
  // A StatefulSet pod beyond the initial members (scaled up) waits to be added by the leader.
  if (config.raft_id_from_ordinal && !config.join) {
    bool listed = false;
    std::string_view rest = config.members;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      item = item.substr(0, item.find('@'));
      int64_t id = 0;
      auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
      if (ec == std::errc() && ptr == item.data() + item.size() && id == config.raft_id) {
        listed = true;
      }
    }
    config.join = !listed;
  }
  return config;
}

}  // namespace cairn::server
