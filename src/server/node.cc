#include "server/node.h"

#include <fcntl.h>
#include <spdlog/details/os.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "auth/audit_queue.h"
#include "auth/authenticator.h"
#include "auth/secret.h"
#include "cache/index.h"
#include "cache/probe.h"
#include "cache/redis_tier.h"
#include "cache/version_ring.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/time.h"
#include "core/client_registry.h"
#include "core/core.h"
#include "core/releases.h"
#include "core/retention_scheduler.h"
#include "core/state_machine.h"
#include "core/watch_hub.h"
#include "frontends/apollo/apollo.h"
#include "frontends/consul/consul.h"
#include "frontends/nacos/frontend.h"
#include "frontends/native/auth_api.h"
#include "frontends/native/request.h"
#include "frontends/native/service.h"
#include "frontends/transfer/transfer.h"
#include "http/middleware.h"
#include "http/router.h"
#include "http/server.h"
#include "limit/limiter.h"
#include "limit/middleware.h"
#include "routes/table.h"
#include "secrets/keyring.h"
#include "server/backup.h"
#include "server/clients_view.h"
#include "server/cluster.h"
#include "server/peer_auth.h"
#include "server/release_driver.h"
#include "server/degraded.h"
#include "server/raft_cluster.h"
#include "server/raft_replicator.h"
#include "server/single_node_replicator.h"
#include "store/file_check.h"
#include "store/store.h"
#include "telemetry/collectors.h"
#include "telemetry/telemetry.h"
#include "webui/webui.h"

namespace cairn::server {

struct Node::Parts {
  ServerConfig config;
  int lock_fd = -1;
  // Metrics, traces and health checks (docs/observability.md): built first, destroyed last.
  std::unique_ptr<telemetry::Telemetry> telemetry;
  std::unique_ptr<store::Store> store;
  cache::Index index;
  cache::Probe cache_probe;         // hits and misses of every cache tier (metrics, debug vars)
  cache::VersionRing version_ring;  // the last versions of every key (docs/cache.md)
  std::atomic<bool> ready{false};   // warm-up done: /readyz
  std::unique_ptr<cache::RedisTier> redis;  // with redis_url (docs/cache.md)
  std::unique_ptr<core::WatchHub> watch;    // outlives the HTTP server (hang-up callbacks)
  // Gray releases and the clients this node serves (docs/releases.md).
  core::Releases releases;
  core::ClientRegistry clients;
  std::unique_ptr<ClientsView> clients_view;       // the other members' registries
  std::unique_ptr<ReleaseDriver> release_driver;   // plans and guards, on the leader
  std::unique_ptr<core::ConfigStateMachine> state_machine;
  std::unique_ptr<SingleNodeReplicator> single;  // standalone (raft_id 0)
  std::unique_ptr<RaftReplicator> raft;          // cluster member
  std::unique_ptr<RaftCluster> raft_cluster;     // the group as the core offers it
  std::unique_ptr<ClusterApi> cluster;
  // Member proofs of requests between nodes (docs/security.md); the transport's handshake
  // uses the same secrets.
  std::vector<std::string> cluster_secrets;
  std::unique_ptr<PeerAuth> peer_auth;
  core::Replicator* replicator = nullptr;
  std::unique_ptr<core::Core> core;
  std::shared_ptr<const secrets::Keyring> keyring;  // docs/secrets.md; null: none
  telemetry::Counter* secret_reveals = nullptr;
  std::unique_ptr<native::Service> service;
  std::unique_ptr<nacos::Frontend> nacos;  // the Nacos config front-end (docs/compat.md)
  std::unique_ptr<core::RetentionScheduler> retention;  // scheduled clean-ups (docs/versions.md)
  std::unique_ptr<Backups> backups;  // backup route and scheduled backups (docs/operations.md)
  http::Router router{routes::declared};                // serves only the route table's routes
  std::unique_ptr<limit::Limiter> limiter;              // outlives the HTTP server (its middleware)
  // Tokens and audit (docs/security.md); auth and audit only with auth_enabled.
  std::unique_ptr<auth::Authenticator> auth;
  std::unique_ptr<auth::AuditQueue> audit;
  std::unique_ptr<native::AuthApi> auth_api;
  // Access-log lines on their way to stderr; outlives the HTTP server (its middleware).
  std::shared_ptr<http::AccessLogWriter> access_log;
  std::unique_ptr<http::Server> http;
  std::string pid_file;
  bool stopped = false;
};

namespace {

// One process per data directory: a second server on the same files would corrupt them.
Result<int, std::string> lock_data_dir(const std::string& dir) {
  std::string path = dir + "/LOCK";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Unexpected{"cannot open " + path + ": " + std::strerror(errno)};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Unexpected{"data directory " + dir + " is in use by another cairn process"};
  }
  return fd;
}

/// "1@127.0.0.1:7001@127.0.0.1:8001,2@…" → id → addresses.
Result<std::map<raft::NodeId, MemberAddress>, std::string> parse_members(const std::string& text) {
  std::map<raft::NodeId, MemberAddress> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(pos, comma - pos);
    pos = comma + 1;
    if (item.empty()) continue;
    size_t a = item.find('@');
    size_t b = a == std::string::npos ? a : item.find('@', a + 1);
    uint64_t id = 0;
    try {
      id = std::stoull(item.substr(0, a));
    } catch (const std::exception&) {
    }
    if (b == std::string::npos || id == 0 || a + 1 == b || b + 1 == item.size()) {
      return Unexpected{"members: \"" + item + "\" is not id@peer_host:port@http_host:port"};
    }
    if (!out.emplace(id, MemberAddress{item.substr(a + 1, b - a - 1), item.substr(b + 1)}).second)
      return Unexpected{"members: id " + std::to_string(id) + " listed twice"};
  }
  return out;
}

}  // namespace

// Why this node's database counts as down (degraded mode, docs/observability.md), or nullopt.
// Io threads: cheap (no SQLite).
std::optional<std::string> Node::database_down(const Parts& p) {
  if (auto fault = p.store->fault()) return fault->details;
  // A write the database refused (disk full): down for a while, then writes may try again.
  if (auto failed = p.store->recent_write_failure(5'000)) return *failed;
  if (p.raft) {
    if (int64_t since = p.raft->apply_stalled_since_ms()) {
      return "log entries cannot be applied for " +
             std::to_string((monotonic_ms() - since) / 1000) + " s";
    }
  }
  // A check that only waited too long for the write lock (a busy apply) is not a failure.
  auto db = p.telemetry->health().last("database");
  if (db && !db->healthy && db->error.find("locked") == std::string::npos &&
      db->error.find("busy") == std::string::npos) {
    return db->error;
  }
  return std::nullopt;
}

// The key-encryption keys (docs/secrets.md): the key file, else CAIRN_SECRET_KEY, else none.
static Result<std::shared_ptr<const secrets::Keyring>, std::string> load_keyring(
    const ServerConfig& config) {
  if (!config.secret_key_file.empty()) {
    auto ring = secrets::load_keyring_file(config.secret_key_file);
    if (!ring.ok()) return Unexpected{ring.error()};
    spdlog::info("secrets: {} key(s) from {}, current '{}'", ring->ids().size(),
                 config.secret_key_file, ring->current_id());
    return std::make_shared<const secrets::Keyring>(std::move(*ring));
  }
  if (const char* env = std::getenv("CAIRN_SECRET_KEY"); env && *env) {
    auto ring = secrets::parse_keyring_env(env);
    if (!ring.ok()) return Unexpected{"CAIRN_SECRET_KEY: " + ring.error()};
    spdlog::info("secrets: {} key(s) from CAIRN_SECRET_KEY, current '{}'", ring->ids().size(),
                 ring->current_id());
    return std::make_shared<const secrets::Keyring>(std::move(*ring));
  }
  return std::shared_ptr<const secrets::Keyring>{};
}

// The token guard on every route, the token and audit endpoints, and the queue that records
// denied requests (docs/security.md). Runs once the routes of every other part are added.
Result<Ok, std::string> Node::start_auth(Parts& p) {
  const ServerConfig& config = p.config;
  if (!config.auth_enabled) {
    // The audit log (admin changes) is readable without auth too; tokens need auth.
    p.auth_api = std::make_unique<native::AuthApi>(nullptr, *p.core);
    p.auth_api->register_routes(p.router);
    return Ok{};
  }
  bool generated = false;
  auto root = auth::bootstrap_root_token(config.data_dir, generated);
  if (!root.ok()) return Unexpected{"auth: " + root.error()};
  if (generated) {
    // Shown once; it stays in <data_dir>/root-token (mode 0600).
    std::printf("cairn: generated root token (also in %s/root-token): %s\n",
                config.data_dir.c_str(), root->c_str());
    std::fflush(stdout);
  }
  auth::AuthOptions options;
  options.root_secret = *root;
  options.metrics_public = config.metrics_public;
  options.failures = {1000.0 / static_cast<double>(config.auth_failure_interval_ms),
                      static_cast<double>(config.auth_failure_burst)};
  p.auth = std::make_unique<auth::Authenticator>(options, *p.store, [] { return wall_clock_ms(); });
  // Denials are replicated like every change: proposed here on a leader (or a standalone node),
  // shipped to the leader with the root token on a follower.
  std::string bearer = "Bearer " + *root;
  p.audit = std::make_unique<auth::AuditQueue>([&p, bearer](api::AppendAudit batch) {
    if (p.raft && !p.raft->is_leader() && p.cluster) {
      auto req = std::make_shared<http::Request>();
      req->method = "POST";
      req->target = req->path = "/api/v1/admin/audit";
      req->request_id = new_uuid();
      req->headers = {{"authorization", bearer}, {"content-type", "application/json"}};
      req->body = native::audit_body(batch);
      p.cluster->send_to_leader(req, [](http::Response res) {
        if (res.status != 200) spdlog::warn("audit: the leader refused denials: {}", res.body);
      });
      return;
    }
    p.replicator->propose(api::Command{new_uuid(), p.config.node_id, std::move(batch)},
                          [](api::CommandResult r) {
                            if (!r.ok()) spdlog::warn("audit: denials not recorded: {}", r.details);
                          });
  });
  cache::Index& index = p.index;
  auth::AuditQueue* audit = p.audit.get();
  // Members asking for this node's client registry come as this node's peers, not as a token
  // holder (PeerAuth, docs/security.md).
  p.router.set_guard(
      member_guard(p.auth->guard([&index](int64_t id) { return index.namespace_name(id); },
                                 [audit](api::AuditEntry e) { audit->add(std::move(e)); })));
  p.auth_api = std::make_unique<native::AuthApi>(p.auth.get(), *p.core);
  p.auth_api->register_routes(p.router);
  spdlog::info("auth enabled: every route but health needs a bearer token");
  return Ok{};
}

std::vector<const routes::Route*> Node::routes() const {
  std::vector<const routes::Route*> out;
  for (const http::Route* r : parts_->router.routes()) out.push_back(&routes::of(*r));
  return out;
}

// Storage: the data directory (locked), telemetry (built first, destroyed last), the SQLite
// store, and what is loaded from it: the index and the version ring.
Result<Ok, std::string> Node::open_storage(Parts& p) {
  const ServerConfig& config = p.config;
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec)
    return Unexpected{"cannot create data directory " + config.data_dir + ": " + ec.message()};
  auto lock = lock_data_dir(config.data_dir);
  if (!lock.ok()) return Unexpected{lock.error()};
  p.lock_fd = *lock;

  telemetry::TelemetryOptions telemetry_options;
  telemetry_options.node_id = config.node_id;
  telemetry_options.tracer.endpoint = config.otlp_endpoint;
  telemetry_options.health_interval_ms = config.health_check_interval_ms;
  p.telemetry = std::make_unique<telemetry::Telemetry>(std::move(telemetry_options));

  store::Options store_options;
  store_options.path = config.data_dir + "/cairn.db";
  // Standalone, the database is the only copy; in a cluster the WAL is, and entries the
  // database lost in a power cut are applied again from it.
  store_options.synchronous_full = config.raft_id == 0;
  store_options.max_value_bytes = static_cast<size_t>(config.max_value_bytes);
  store_options.on_query = [t = p.telemetry.get()](std::string_view sql, int64_t ns) {
    t->observe_db_query(sql, ns);
  };
  auto opened = store::Store::open(store_options);
  if (!opened.ok()) {
    std::string hint;
    if (config.raft_id != 0) {
      hint = ". If the file is damaged, rebuild this node from its peers with `cairn recover "
             "--data-dir " + config.data_dir + "` (docs/wal.md, \"Disk faults\")";
    }
    return Unexpected{"cannot open store: " + opened.error().details + hint};
  }
  p.store = std::move(*opened);
  auto loaded = p.index.load(*p.store);
  if (!loaded.ok()) return Unexpected{"cannot load index: " + loaded.error().details};
  if (auto ring = p.version_ring.load(*p.store); !ring.ok()) {
    return Unexpected{"cannot load the version ring: " + ring.error().details};
  }
  spdlog::info("store open at {}: revision {}, applied index {}", store_options.path,
               p.store->revision(), p.store->applied_index());
  return Ok{};
}

// The state machine and what it tells after every apply, in this order: the index (itself),
// the watch hub, the version ring.
void Node::build_state_machine(Parts& p) {
  const ServerConfig& config = p.config;
  core::WatchOptions watch_options;
  watch_options.history = static_cast<size_t>(config.watch_history);
  watch_options.max_timeout_ms = config.watch_max_timeout_ms;
  watch_options.default_timeout_ms = std::min<int64_t>(30'000, config.watch_max_timeout_ms);
  watch_options.heartbeat_ms = config.watch_heartbeat_ms;
  p.watch = std::make_unique<core::WatchHub>(watch_options, p.index, p.store->revision());
  p.state_machine = std::make_unique<core::ConfigStateMachine>(*p.store, p.index);
  {
    // Before the index (and so before the watch hub): a reader never sees a revision that
    // includes a release's change with the release as it was before it (docs/releases.md).
    core::Releases* releases = &p.releases;
    store::Store* store = p.store.get();
    releases->reload(*store);
    p.state_machine->add_listener_before_index(
        [releases, store](const api::Command& command, const store::Applied&) {
          if (std::holds_alternative<api::StartRelease>(command.body) ||
              std::holds_alternative<api::TransitionRelease>(command.body)) {
            releases->reload(*store);
          }
        },
        [releases, store] { releases->reload(*store); });
  }
  {
    core::WatchHub* watch = p.watch.get();  // watchers hear of a change at once
    p.state_machine->add_listener([watch](const api::Command&, const store::Applied& applied) {
      watch->on_applied(applied.changes, applied.result.revision);
    });
  }
  {
    cache::VersionRing* ring = &p.version_ring;
    store::Store* store = p.store.get();
    p.state_machine->add_listener(
        [ring](const api::Command&, const store::Applied& applied) {
          ring->record(applied.changes);
          if (const auto* cleaned = applied.result.as<api::VersionsCleaned>();
              cleaned && !cleaned->dry_run) {
            for (const auto& r : cleaned->removed) ring->forget(r.ns, r.key, r.version);
          }
        },
        [ring, store] {
          if (auto loaded = ring->load(*store); !loaded.ok()) {
            spdlog::error("version ring after a restore: {}", loaded.error().details);
            ring->clear();  // reads go to the store instead
          }
        });
  }
}

// The optional Redis tier (docs/cache.md), told of every apply after the version ring.
Result<Ok, std::string> Node::start_cache_tier(Parts& p) {
  const ServerConfig& config = p.config;
  if (!config.redis_url.empty()) {
    cache::RedisOptions redis_options;
    redis_options.url = config.redis_url;
    redis_options.timeout_ms = config.redis_timeout_ms;
    redis_options.channel = config.redis_channel;
    redis_options.node_id = config.node_id;
    redis_options.on_command = [t = p.telemetry.get()](std::string_view command, int64_t ns) {
      t->observe_cache_operation(command, ns);
    };
    store::Store* store = p.store.get();
    Parts* parts = &p;
    p.redis = std::make_unique<cache::RedisTier>(
        redis_options,
        [store] {  // every current config, for warm-up and renewal (the tier's thread)
          std::vector<cache::RedisTier::Current> all;
          std::set<std::string, std::less<>> disabled;  // namespaces come before configs
          (void)store->load_all(
              [&](const store::NamespaceRow& n) {
                if (n.status == 0) disabled.insert(n.name);
              },
              [&](const store::ConfigRow& c) {
                if (c.status != 0 && !disabled.count(c.ns)) {
                  all.push_back({c.ns, c.key, c.value, c.version, c.updated_at_ms});
                }
              });
          return all;
        },
        [parts] { return !parts->raft || parts->raft->is_leader(); },
        [store](const std::string& ns) {  // one namespace's configs, any status
          std::vector<cache::RedisTier::Current> configs;
          store::ConfigFilter filter;
          filter.ns = ns;
          for (int64_t page = 1;; ++page) {
            auto rows = store->list_configs(filter, {page, 1000});
            if (!rows.ok()) break;
            for (const auto& c : rows->items) {
              configs.push_back({c.ns, c.key, c.value, c.version, c.updated_at_ms, c.status});
            }
            if (rows->items.size() < 1000) break;
          }
          return configs;
        });
    if (auto started = p.redis->start(); !started.ok()) return Unexpected{started.error()};
    cache::RedisTier* redis = p.redis.get();
    p.state_machine->add_listener([redis](const api::Command&, const store::Applied& applied) {
      redis->on_applied(applied.changes, applied.result.revision);
    });
  }
  return Ok{};
}

// The replicator: a standalone node applies locally; a cluster member runs Raft, serves the
// cluster API and forwards writes to the leader.
Result<Ok, std::string> Node::start_replication(Parts& p) {
  const ServerConfig& config = p.config;
  if (config.raft_id == 0) {
    p.single = std::make_unique<SingleNodeReplicator>(*p.state_machine);
    p.single->start();
    p.replicator = p.single.get();
  } else {
    auto members = parse_members(config.members);
    if (!members.ok()) return Unexpected{members.error()};
    RaftOptions raft_options;
    raft_options.id = static_cast<raft::NodeId>(config.raft_id);
    raft_options.cluster_id = config.cluster_id;
    raft_options.listen_peer = config.listen_peer;
    raft_options.members = std::move(*members);
    raft_options.join = config.join;
    raft_options.data_dir = config.data_dir;
    raft_options.tick_ms = config.raft_tick_ms;
    raft_options.election_ticks = static_cast<int>(config.election_ticks);
    raft_options.proposal_timeout_ms = config.proposal_timeout_ms;
    raft_options.snapshot_threshold = static_cast<uint64_t>(config.snapshot_threshold);
    raft_options.heartbeat_ticks = static_cast<int>(config.heartbeat_ticks);
    raft_options.max_append_bytes = static_cast<uint64_t>(config.max_append_bytes);
    raft_options.peer_tls_cert = config.peer_tls_cert;
    raft_options.peer_tls_key = config.peer_tls_key;
    raft_options.peer_tls_ca = config.peer_tls_ca;
    raft_options.cluster_secrets = p.cluster_secrets;
    if (p.cluster_secrets.empty()) {
      spdlog::warn(
          "SECURITY: no cluster secret (cluster_secret, cluster_secret_file or "
          "CAIRN_CLUSTER_SECRET): peers are NOT authenticated, so anyone who reaches the peer "
          "port {} can join this cluster's Raft traffic, and anyone who reaches the HTTP port "
          "can pass a request off as forwarded by a member. Give every node the same secret "
          "(`cairn cluster-secret generate`; docs/security.md)",
          config.listen_peer);
    }
    raft_options.telemetry = p.telemetry.get();
    raft_options.database_down = [&p] { return database_down(p); };
    auto raft = RaftReplicator::open(std::move(raft_options), *p.store, *p.state_machine, p.index,
                                     p.watch.get());
    if (!raft.ok()) return Unexpected{raft.error()};
    p.raft = std::move(*raft);
    if (auto started = p.raft->start(); !started.ok()) return Unexpected{started.error()};
    p.replicator = p.raft.get();
    // Forwarding paces itself on the election timeout (docs/cluster.md, "Failover tuning").
    const int64_t election_ms = config.election_ticks * config.raft_tick_ms;
    ForwardTiming forwarding;
    forwarding.timeout_ms = config.proposal_timeout_ms + 2'000;
    forwarding.connect_timeout_ms = std::max<int64_t>(200, election_ms);
    forwarding.leader_wait_ms = 2 * election_ms;
    p.cluster = std::make_unique<ClusterApi>(*p.raft, config.node_id, config.stale_read_bound_ms,
                                             forwarding);
    p.cluster->use_peer_auth(p.peer_auth.get());
    if (!config.tls_cert.empty()) {
      // Followers reach the leader's API over HTTPS too, with our certificate as client one.
      auto tls = p.cluster->use_tls(config.tls_ca, config.tls_cert, config.tls_key);
      if (!tls.ok()) return Unexpected{tls.error()};
    }
    p.raft_cluster = std::make_unique<RaftCluster>(*p.raft, config.stale_read_bound_ms);
  }
  return Ok{};
}

// The config center as a C++ API (core::Core) over the store, index and replicator.
void Node::build_core(Parts& p) {
  core::CoreOptions core_options;
  core_options.cache_probe = &p.cache_probe;
  core_options.version_ring = &p.version_ring;
  core_options.database_down = [&p] { return database_down(p).has_value(); };
  if (cache::RedisTier* redis = p.redis.get()) {
    core_options.version_lookup = [redis](const std::string& ns, const std::string& key,
                                          int64_t version) {
      return redis->get_version(ns, key, version);
    };
    core_options.version_filled = [redis](const std::string& ns, const std::string& key,
                                          int64_t version, const std::string& value,
                                          int64_t at_ms) {
      redis->fill_version(ns, key, version, value, at_ms);
    };
  }
  core_options.cluster = p.raft_cluster.get();
  // Secrets (docs/secrets.md): every reveal is counted, and audited (batched like denials)
  // when auth is on; with auth off every caller sees secrets (dev mode, warned at start).
  core_options.keyring = p.keyring;
  p.secret_reveals = &p.telemetry->registry()
                          .counter("cairn_secret_reveals_total",
                                   "Secret values answered in plain (docs/secrets.md)", {})
                          .with({});
  core_options.on_reveal = [&p](const api::Principal& caller, const std::string& ns,
                                const std::string& key, int64_t version) {
    p.secret_reveals->inc();
    if (p.audit) {
      p.audit->add(api::AuditEntry{wall_clock_ms(), caller.name, "", "secret.reveal", ns,
                                   key + "@" + std::to_string(version), 0, ""});
    }
  };
  p.core = std::make_unique<core::Core>(std::move(core_options), *p.store, p.index, *p.replicator);
}

// What serves requests: health checks, the native /api/v1 front-end, telemetry's and the
// console's routes, fault injection, scheduled retention, auth and the rate limiter.
Result<Ok, std::string> Node::build_frontends(Parts& p) {
  const ServerConfig& config = p.config;
  native::ServiceOptions service_options;
  service_options.max_value_bytes = static_cast<size_t>(config.max_value_bytes);
  service_options.node_id = config.node_id;
  service_options.ready = [&p] { return p.ready.load() && (!p.redis || p.redis->warmed()); };
  {
    ClusterApi* cluster = p.cluster.get();
    cache::RedisTier* redis = p.redis.get();
    telemetry::HealthChecker* checker = &p.telemetry->health();
    core::Core* core = p.core.get();
    const bool has_keyring = p.keyring != nullptr;
    service_options.extra_health = [cluster, redis, checker, core, has_keyring] {
      std::vector<native::ServiceOptions::Component> out;
      if (cluster) out.push_back(cluster->health_component());
      {
        // docs/secrets.md: a node that cannot unwrap every stored secret says so, and answers
        // those secrets 50005 (never their ciphertext).
        auto missing = core->missing_secret_keys();
        Json j = {{"status", missing.empty() ? "healthy" : "unhealthy"},
                  {"keyring", has_keyring}};
        if (core->options().keyring) j["current_key"] = core->options().keyring->current_id();
        if (!missing.empty()) {
          j["missing_keys"] = missing;
          j["error"] = "stored secrets are wrapped by key(s) this node does not hold";
        }
        out.push_back({"secrets", dump_compact(j), !missing.empty()});
      }
      if (redis) {
        // Redis down never makes the node degraded: reads and writes go on without it.
        auto ping = checker->last("redis");  // the checker's PING
        Json j = {{"status", redis->healthy() ? "healthy" : "unhealthy"},
                  {"latency_ms", ping ? ping->latency_ms : 0},
                  {"dropped_writes", redis->dropped()}};
        if (!redis->healthy()) j["error"] = redis->last_error();
        out.push_back({"redis", dump_compact(j), false});
      }
      return out;
    };
  }
  telemetry::HealthChecker& checker = p.telemetry->health();
  store::Store* store = p.store.get();
  checker.add("database", [store, path = store->options().path]() -> Result<Ok, std::string> {
    if (auto fault = store->fault()) return Unexpected{fault->details};
    if (auto failed = store->recent_write_failure(5'000)) return Unexpected{*failed};
    return store::check_database_file(path);
  });
  if (cache::RedisTier* redis = p.redis.get()) {
    checker.add("redis", [redis] { return redis->ping(); });
  }
  if (p.cluster) {
    ClusterApi* cluster = p.cluster.get();
    checker.add("raft", [cluster]() -> Result<Ok, std::string> {
      if (cluster->health_component().degraded) return Unexpected{std::string("no leader")};
      return Ok{};
    });
  }
  service_options.database_health = [&checker] {
    auto r = checker.last("database");
    Json j = {{"status", r && r->healthy ? "healthy" : "unhealthy"},
              {"latency_ms", r ? r->latency_ms : 0}};
    if (r && !r->healthy) j["error"] = r->error;
    return native::ServiceOptions::Component{"database", j.dump(), !r || !r->healthy};
  };
  checker.start();
  service_options.releases = &p.releases;
  service_options.store = p.store.get();
  service_options.clients = &p.clients;
  service_options.raft_id = config.raft_id;
  if (p.raft) {
    p.clients_view = std::make_unique<ClientsView>(*p.raft, 2'000);
    p.clients_view->use_peer_auth(p.peer_auth.get());
    if (!config.tls_cert.empty()) {
      auto tls = p.clients_view->use_tls(config.tls_ca, config.tls_cert, config.tls_key);
      if (!tls.ok()) return Unexpected{tls.error()};
    }
    ClientsView* view = p.clients_view.get();
    service_options.member_clients = [view](const http::Request& req, const std::string& query,
                                            native::ServiceOptions::MemberViews done) {
      view->gather(&req, query, std::move(done));
    };
  }
  p.service = std::make_unique<native::Service>(service_options, *p.core, p.watch.get());
  p.service->register_routes(p.router);
  if (p.cluster) p.cluster->register_routes(p.router, *p.core);
  {
    // Consul KV (docs/compat.md): /v1/status and the X-Consul leader headers from the group.
    consul::Options consul_options;
    consul_options.max_value_bytes = static_cast<size_t>(config.max_value_bytes);
    consul_options.self_address = config.listen_http;
    consul_options.clients = &p.clients;
    if (p.raft_cluster) {
      // Consul's /v1/status is open to every client: the view is asked for as the node itself.
      core::Core* core = p.core.get();
      consul_options.cluster = [core] {
        auto view = core->cluster_view(api::Principal::unrestricted());
        return view.ok() ? *view : core::ClusterView{};
      };
    }
    consul::register_routes(p.router, std::move(consul_options), *p.core, p.watch.get());
  }
  {
    // Import and export (docs/import-export.md).
    transfer::Options transfer_options;
    transfer_options.max_value_bytes = static_cast<size_t>(config.max_value_bytes);
    transfer_options.node_id = config.node_id;
    transfer::register_routes(p.router, *p.core, std::move(transfer_options));
  }
  p.telemetry->register_routes(p.router);
  webui::register_routes(p.router);  // the admin console at /ui/ (docs/console.md)
  {
    apollo::Options apollo_options;
    apollo_options.clients = &p.clients;  // docs/releases.md: Apollo clients in the registry
    apollo::register_routes(p.router, *p.core, p.watch.get(), apollo_options);  // docs/compat.md
  }
  if (config.fault_injection) {
    // {"database": "reason"} makes every read and write of the store fail until
    // {"database": ""} (docs/observability.md). Not for production.
    // {"wal_sync": "EIO"} makes every fdatasync of the Raft log fail from now on, and
    // {"wal_write": "ENOSPC"} (or "EIO") every write of it, which crash-stops the node at its
    // next sync (docs/wal.md, "Disk faults"); "" ends the fault.
    store::Store* faulty = p.store.get();
    RaftReplicator* raft = p.raft.get();
    p.router.add(routes::kDebugFault, [faulty, raft](http::RequestPtr req, http::Reply reply) {
      auto body = native::body_object(*req);
      if (!body.ok()) return native::reply_error(reply, *req, body.error());
      struct WalFault {
        const char* field;
        wal::IoOp op;
        const char* calls;
      };
      for (const WalFault f : {WalFault{"wal_sync", wal::IoOp::sync, "fdatasync"},
                               WalFault{"wal_write", wal::IoOp::write, "write"}}) {
        auto wal = native::optional_string_field(*body, f.field);
        if (!wal.ok()) return native::reply_error(reply, *req, wal.error());
        if (!wal->has_value()) continue;
        const std::string& name = **wal;
        const int err = name == "EIO" ? EIO : name == "ENOSPC" ? ENOSPC : 0;
        if (!raft || (err == 0 && !name.empty())) {
          return native::reply_error(
              reply, *req,
              api::make_error(api::Errc::kValidation,
                              std::string(f.field) +
                                  (raft ? ": \"EIO\", \"ENOSPC\" or \"\"" : ": not a cluster node")));
        }
        raft->inject_wal_error(f.op, err);
        spdlog::warn("fault injection: every {} of the write-ahead log {}", f.calls,
                     err == 0 ? "works again" : "fails with " + name);
        return native::reply_ok(reply, *req, "success",
                                Json{{f.field, err == 0 ? "ok" : name}}.dump());
      }
      auto reason = native::string_field(*body, "database");
      if (!reason.ok()) return native::reply_error(reply, *req, reason.error());
      faulty->set_fault(*reason);
      spdlog::warn("fault injection: database {}",
                   reason->empty() ? "restored" : "failing: " + *reason);
      native::reply_ok(
          reply, *req, "success",
          R"({"database":")" + std::string(reason->empty() ? "ok" : "failing") + "\"}");
    });
  }
  p.backups = std::make_unique<Backups>(config, *p.store);
  p.backups->register_routes(p.router);
  p.backups->start();
  if (config.retention_interval_ms > 0) {
    core::RetentionSchedulerOptions retention_options;
    retention_options.interval_ms = config.retention_interval_ms;
    retention_options.audit_keep_days = config.audit_keep_days;
    if (p.raft) {
      RaftReplicator* raft = p.raft.get();
      retention_options.is_leader = [raft] { return raft->is_leader(); };
    }  // standalone: always
    p.retention =
        std::make_unique<core::RetentionScheduler>(*p.replicator, std::move(retention_options));
    p.retention->start();
  }
  {
    ReleaseDriverOptions driver_options;
    driver_options.node_id = config.raft_id;
    if (p.raft) {
      RaftReplicator* raft = p.raft.get();
      driver_options.is_leader = [raft] { return raft->is_leader(); };
    }
    p.release_driver = std::make_unique<ReleaseDriver>(driver_options, *p.core, p.releases,
                                                       p.clients, p.clients_view.get());
    p.release_driver->start();
  }
  if (auto wired = start_auth(p); !wired.ok()) return Unexpected{wired.error()};
  // The Nacos config front-end (docs/compat.md); its login checks tokens with start_auth's
  // authenticator (null with auth off).
  nacos::FrontendOptions nacos_options;
  nacos_options.max_value_bytes = static_cast<size_t>(config.max_value_bytes);
  nacos_options.clients = &p.clients;
  p.nacos = std::make_unique<nacos::Frontend>(nacos_options, *p.core, p.watch.get(), p.auth.get());
  p.nacos->register_routes(p.router);

  if (config.rate_limit_enabled) {
    limit::Limits limits = limit::default_limits();
    if (!config.rate_limits.empty()) {
      auto loaded = limit::load_limits_file(config.rate_limits);
      if (!loaded.ok()) return Unexpected{loaded.error()};
      limits = std::move(*loaded);
    }
    p.limiter = std::make_unique<limit::Limiter>(std::move(limits));
    spdlog::info("rate limits: {}", config.rate_limits.empty() ? std::string("built-in defaults")
                                                               : config.rate_limits);
  }
  return Ok{};
}

namespace {

// Whether spdlog's stderr colour sink (main.cc) colours the level: the access log's lines, written
// past spdlog, look the same as the others.
bool stderr_colors_level() {
  return spdlog::details::os::in_terminal(stderr) && spdlog::details::os::is_color_terminal();
}

// Gray releases (docs/releases.md): releases by state (cluster-wide, from the replicated
// table) and, per unfinished release, the clients of this node by status.
void add_release_metrics(telemetry::Registry& registry, store::Store* store,
                         core::Releases* releases, core::ClientRegistry* clients, int64_t node) {
  registry.callback(
      "config_center_releases", "Gray releases by state", telemetry::MetricType::kGauge,
      {"state"}, [store] {
        std::map<std::string, double> count{
            {"active", 0}, {"paused", 0}, {"halted", 0}, {"promoted", 0}, {"aborted", 0}};
        if (auto rows = store->releases(); rows.ok()) {
          for (const auto& r : *rows) count[r.state] += 1;
        }
        std::vector<telemetry::Sample> out;
        for (const auto& [state, n] : count) {
          telemetry::Sample sample;
          sample.labels = {state};
          sample.value = n;
          out.push_back(std::move(sample));
        }
        return out;
      });
  registry.callback(
      "config_center_release_state",
      "1 per unfinished gray release (active, paused, halted), labelled with its state",
      telemetry::MetricType::kGauge, {"release", "namespace", "state"}, [releases] {
        std::vector<telemetry::Sample> out;
        for (const auto& r : releases->live()) {
          telemetry::Sample sample;
          sample.labels = {r->row.id, r->row.ns, r->row.state};
          sample.value = 1.0;
          out.push_back(std::move(sample));
        }
        return out;
      });
  registry.callback(
      "config_center_release_clients",
      "Clients of this node targeted by an unfinished gray release, by status",
      telemetry::MetricType::kGauge, {"release", "namespace", "status"},
      [releases, clients, node] {
        std::vector<telemetry::Sample> out;
        for (const auto& r : releases->live()) {
          core::ClientFilter filter;
          filter.ns = r->row.ns;
          auto progress = core::release_progress(*r, clients->view(filter, node));
          const std::pair<const char*, int64_t> counts[] = {{"targeted", progress.targeted},
                                                            {"received", progress.received},
                                                            {"applied", progress.applied},
                                                            {"failed", progress.failed},
                                                            {"silent", progress.silent}};
          for (const auto& [status, n] : counts) {
            telemetry::Sample sample;
            sample.labels = {r->row.id, r->row.ns, status};
            sample.value = static_cast<double>(n);
            out.push_back(std::move(sample));
          }
        }
        return out;
      });
  registry.callback("config_center_clients", "Clients in this node's registry",
                    telemetry::MetricType::kGauge, {}, [clients] {
                      std::vector<telemetry::Sample> out(1);
                      out[0].value = static_cast<double>(clients->size());
                      return out;
                    });
}

}  // namespace

// The HTTP server with its middleware chain, and the metrics read at scrape time.
Result<Ok, std::string> Node::start_http(Parts& p) {
  const ServerConfig& config = p.config;
  // The route first: the limiter counts a request by its route's class, telemetry labels it by
  // its route's label, even when it is answered before the router's handler runs.
  std::vector<http::Middleware> middlewares = {p.router.resolver(), http::request_id_middleware()};
  // Before anything reads them: the peer marks of a request are only those a member proved.
  middlewares.push_back(p.peer_auth->middleware());
  if (config.access_log) {
    // Where every other log line goes (main.cc's stderr logger), written by its own thread.
    p.access_log =
        std::make_shared<http::AccessLogWriter>(http::fd_access_log_sink(STDERR_FILENO));
    middlewares.push_back(http::access_log_middleware(
        {config.node_id, telemetry::version()}, {p.access_log, stderr_colors_level()}));
  }
  middlewares.push_back(p.telemetry->middleware());
  // Counted where a request arrives, before a follower forwards it (forwarded ones pass).
  if (p.limiter) middlewares.push_back(limit::rate_limit_middleware(*p.limiter));
  // Degraded mode: a node whose database fails serves reads from memory and refuses writes.
  middlewares.push_back(degraded_middleware([&p] { return database_down(p); }));
  if (p.cluster) middlewares.push_back(p.cluster->middleware());
  http::ServerOptions http_options;
  http_options.listen = config.listen_http;
  http_options.threads = static_cast<int>(config.http_threads);
  http_options.max_header_bytes = static_cast<size_t>(config.max_header_bytes);
  http_options.max_body_bytes = static_cast<size_t>(config.max_body_bytes);
  http_options.read_timeout_ms = config.http_read_timeout_ms;
  http_options.idle_timeout_ms = config.http_idle_timeout_ms;
  http_options.stop_grace_ms = config.shutdown_grace_ms;
  http_options.tls_cert = config.tls_cert;
  http_options.tls_key = config.tls_key;
  http_options.tls_client_ca = config.tls_client_ca;
  p.http = std::make_unique<http::Server>(
      http_options, http::chain(std::move(middlewares), p.router.as_handler()));
  auto started = p.http->start();
  if (!started.ok())
    return Unexpected{"cannot listen on " + config.listen_http + ": " + started.error()};
  // Read at scrape time; every part outlives the HTTP server that serves the scrapes.
  telemetry::Registry& registry = p.telemetry->registry();
  telemetry::add_process_metrics(registry);
  telemetry::add_http_server_metrics(registry, *p.http);
  if (p.access_log) telemetry::add_access_log_metrics(registry, *p.access_log);
  telemetry::add_db_metrics(registry, [store = p.store.get()] {
    const auto c = store->connections();
    return telemetry::DbConnections{c.open, c.in_use};
  });
  telemetry::add_watch_metrics(registry, *p.watch);
  p.backups->add_metrics(registry);
  add_release_metrics(registry, p.store.get(), &p.releases, &p.clients, config.raft_id);
  registry.callback("config_center_peer_proofs_total",
                    "Member proofs on requests between nodes, by result (docs/security.md)",
                    telemetry::MetricType::kCounter, {"result"},
                    [auth = p.peer_auth.get()] {
                      const PeerAuth::Counters c = auth->counters();
                      std::vector<telemetry::Sample> out(2);
                      out[0].labels = {"accepted"};
                      out[0].value = static_cast<double>(c.accepted);
                      out[1].labels = {"refused"};
                      out[1].value = static_cast<double>(c.refused);
                      return out;
                    });
  telemetry::add_cache_metrics(registry, p.cache_probe);
  if (p.limiter) telemetry::add_limiter_metrics(registry, *p.limiter);
  if (p.raft) {
    RaftReplicator* raft = p.raft.get();
    telemetry::add_raft_metrics(registry, [raft] { return raft->view().status; });
    telemetry::add_replication_metrics(registry, [raft] {
      RaftView v = raft->view();
      return telemetry::ReplicationProbes{v.raft_probe, v.wal_probe, raft->transport_probe()};
    });
  }
  if (p.cluster) {
    ClusterApi* cluster = p.cluster.get();
    registry.callback("config_center_forward_resent_total",
                      "Requests forwarded to the leader again: to a new leader, or after a "
                      "connect that failed (they had not reached one)",
                      telemetry::MetricType::kCounter, {}, [cluster] {
                        return std::vector<telemetry::Sample>{
                            {{}, static_cast<double>(cluster->forwards_resent())}};
                      });
    registry.callback("config_center_forward_abandoned_total",
                      "Forwarded requests abandoned because the leader or the term changed "
                      "while they were with the old leader",
                      telemetry::MetricType::kCounter, {}, [cluster] {
                        return std::vector<telemetry::Sample>{
                            {{}, static_cast<double>(cluster->forwards_abandoned())}};
                      });
  }
  return Ok{};
}

Result<std::unique_ptr<Node>, std::string> Node::start(const ServerConfig& config) {
  std::unique_ptr<Node> node(new Node());
  node->parts_ = std::make_unique<Parts>();
  Parts& p = *node->parts_;
  p.config = config;
  if (auto r = load_keyring(config); !r.ok()) {
    return Unexpected{"secrets: " + r.error()};
  } else {
    p.keyring = std::move(*r);
  }
  if (p.keyring && !config.auth_enabled) {
    spdlog::warn("secrets: auth is off, so every caller is answered secret values in plain "
                 "(dev mode; docs/secrets.md)");
  }
  if (auto r = load_cluster_secrets(config); !r.ok()) {
    return Unexpected{"cluster secret: " + r.error()};
  } else {
    p.cluster_secrets = std::move(*r);
  }
  PeerAuth::Options peer_auth;
  peer_auth.secrets = p.cluster_secrets;
  peer_auth.node_id = static_cast<uint64_t>(config.raft_id);
  p.peer_auth = std::make_unique<PeerAuth>(std::move(peer_auth));
  if (auto r = open_storage(p); !r.ok()) return Unexpected{r.error()};
  build_state_machine(p);
  if (auto r = start_cache_tier(p); !r.ok()) return Unexpected{r.error()};
  if (auto r = start_replication(p); !r.ok()) return Unexpected{r.error()};
  build_core(p);
  if (auto r = build_frontends(p); !r.ok()) return Unexpected{r.error()};
  if (auto r = start_http(p); !r.ok()) return Unexpected{r.error()};

  p.ready = true;  // index and version ring loaded, routes served
  p.pid_file = config.data_dir + "/cairn.pid";
  std::ofstream(p.pid_file) << ::getpid() << "\n";
  spdlog::info("node {} serving HTTP on {} (port {})", config.node_id, config.listen_http,
               p.http->port());
  return node;
}

Node::~Node() { stop(); }

uint16_t Node::http_port() const { return parts_->http->port(); }

Result<Ok, std::string> Node::reload() {
  if (!parts_ || parts_->stopped) return Unexpected{std::string("the node is stopped")};
  Parts& p = *parts_;
  if (!p.limiter) return Unexpected{std::string("rate limiting is disabled (rate_limit_enabled)")};
  if (p.config.rate_limits.empty()) {
    return Unexpected{std::string("no rate_limits file is configured; the defaults stay")};
  }
  auto loaded = limit::load_limits_file(p.config.rate_limits);
  if (!loaded.ok()) return Unexpected{loaded.error() + "; the previous limits stay in force"};
  p.limiter->reload(std::move(*loaded));
  spdlog::info("rate limits reloaded from {}", p.config.rate_limits);
  return Ok{};
}

void Node::stop() {
  if (!parts_ || parts_->stopped) return;
  Parts& p = *parts_;
  p.stopped = true;
  if (p.retention) p.retention->stop();
  if (p.release_driver) p.release_driver->stop();
  if (p.backups) p.backups->stop();  // a backup in progress finishes first
  // Held watches are answered and streams ended first, so that the HTTP server's grace period
  // is spent on real requests only.
  if (p.watch) p.watch->shutdown();
  if (p.http) p.http->stop();
  // After the server: a request answered during its grace period still has its line written.
  if (p.access_log) p.access_log->stop();
  if (p.audit) p.audit->stop();  // its last batch still reaches the replicator
  if (p.redis) p.redis->stop();
  if (p.single) p.single->stop();
  if (p.raft) p.raft->stop();
  if (p.telemetry) p.telemetry->health().stop();
  p.retention.reset();
  p.release_driver.reset();
  p.backups.reset();
  p.service.reset();
  p.clients_view.reset();
  p.nacos.reset();
  p.cluster.reset();
  p.raft_cluster.reset();
  p.raft.reset();
  p.single.reset();
  p.state_machine.reset();
  p.http.reset();
  p.watch.reset();
  p.store.reset();
  p.telemetry.reset();  // sends the spans still queued
  if (!p.pid_file.empty()) std::filesystem::remove(p.pid_file);
  if (p.lock_fd >= 0) ::close(p.lock_fd);
  p.lock_fd = -1;
}

}  // namespace cairn::server
