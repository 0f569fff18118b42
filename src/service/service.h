#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>
#include <string>

#include "api/validate.h"
#include "cache/index.h"
#include "cache/probe.h"
#include "cache/version_ring.h"
#include "common/time.h"
#include "http/router.h"
#include "service/replicator.h"
#include "store/store.h"

namespace cairn::service {

struct ServiceOptions {
  size_t max_value_bytes = api::kDefaultMaxValueBytes;
  std::string node_id = "node1";
  /// More health components (a cluster node adds "raft"): name → JSON object text, and whether
  /// the component makes the node degraded. Called on every health request, from io threads.
  struct Component {
    std::string name;
    std::string json;
    bool degraded = false;
  };
  std::function<std::vector<Component>()> extra_health;
  /// Readiness for `/readyz`: false while the node is still warming up (index, hot configs,
  /// Redis; docs/cache.md). Null: ready as soon as the routes are served. Any thread.
  std::function<bool()> ready;
  /// The "database" component of /api/v1/health from a periodic checker (telemetry's
  /// HealthChecker): its JSON object and whether it is healthy. Null: the store is pinged on
  /// each health request. Any thread.
  std::function<Component()> database_health;
  /// Where hits and misses of each cache tier are counted, and the ring of recent versions
  /// (docs/cache.md). Null: not counted / every older version read goes further.
  cache::Probe* cache_probe = nullptr;
  cache::VersionRing* version_ring = nullptr;
  /// Looks up version `version` of ns/key beyond the ring (the Redis tier, docs/cache.md):
  /// JSON object text {"value","version","created_at_ms"} or nullopt. Null: none. Io threads;
  /// must be bounded in time.
  std::function<std::optional<std::string>(const std::string& ns, const std::string& key,
                                           int64_t version)>
      version_lookup;
  /// Whether this node's database is down (degraded mode, docs/observability.md): a
  /// `version=` read beyond the version ring then carries a warning. Null: never. Any thread.
  std::function<bool()> database_down;
  /// Offered every version read from SQLite (the Redis tier fills itself with them). Io
  /// threads; must not block.
  std::function<void(const std::string& ns, const std::string& key, int64_t version,
                     const std::string& value, int64_t created_at_ms)>
      version_filled;
};

/// The seed's HTTP API (§3.8): client reads, admin config and namespace management, versions,
/// health. Reads of current configs come from the in-memory index; history, versions and lists
/// from SQLite; writes go through the Replicator. One file per API area: config_read.cc,
/// config_admin.cc, versions.cc, retention.cc, namespaces.cc, health.cc.
///
/// Lifetime: borrows the store, index and replicator, which must outlive it and the HTTP server
/// that routes to it. Threads: handlers run on any io thread concurrently.
class WatchHub;

class Service {
 public:
  /// `watch` may be null: the watch endpoints are then not served.
  Service(ServiceOptions options, store::Store& store, cache::Index& index,
          Replicator& replicator, WatchHub* watch = nullptr);

  void register_routes(http::Router& router);

 private:
  // config_read.cc
  void get_config(const http::RequestPtr& req, const http::Reply& reply);
  void batch_get(const http::RequestPtr& req, const http::Reply& reply);
  void get_namespace_configs(const http::RequestPtr& req, const http::Reply& reply);
  void get_config_at(const http::RequestPtr& req, const http::Reply& reply,
                     const std::string& ns, const std::string& key, const Instant& at);
  void get_namespace_at(const http::RequestPtr& req, const http::Reply& reply,
                        const std::string& ns, const Instant& at);
  // config_admin.cc
  void create_config(const http::RequestPtr& req, const http::Reply& reply);
  void update_config(const http::RequestPtr& req, const http::Reply& reply);
  void delete_config(const http::RequestPtr& req, const http::Reply& reply);
  void list_configs(const http::RequestPtr& req, const http::Reply& reply);
  void config_history(const http::RequestPtr& req, const http::Reply& reply);
  void rollback_config(const http::RequestPtr& req, const http::Reply& reply);
  void batch_write(const http::RequestPtr& req, const http::Reply& reply);
  // versions.cc
  void list_versions(const http::RequestPtr& req, const http::Reply& reply);
  void diff_versions(const http::RequestPtr& req, const http::Reply& reply);
  void admin_list_versions(const http::RequestPtr& req, const http::Reply& reply);
  void admin_diff_versions(const http::RequestPtr& req, const http::Reply& reply);
  void list_versions_as(const http::RequestPtr& req, const http::Reply& reply, bool admin);
  void diff_versions_as(const http::RequestPtr& req, const http::Reply& reply, bool admin);
  /// Why ns/key must not be shown to a client (disabled namespace: 40402, disabled config:
  /// 40403), or nullopt. `current` (optional) gets the key's current version, 0 when none.
  std::optional<api::Error> hidden_from_clients(const std::string& ns, const std::string& key,
                                                int64_t* current) const;
  // retention.cc
  void tag_version(const http::RequestPtr& req, const http::Reply& reply);
  void untag_version(const http::RequestPtr& req, const http::Reply& reply);
  void cleanup_versions(const http::RequestPtr& req, const http::Reply& reply);
  // namespaces.cc
  void create_namespace(const http::RequestPtr& req, const http::Reply& reply);
  void update_namespace(const http::RequestPtr& req, const http::Reply& reply);
  void delete_namespace(const http::RequestPtr& req, const http::Reply& reply);
  void list_namespaces(const http::RequestPtr& req, const http::Reply& reply);
  // watch.cc
  void watch(const http::RequestPtr& req, const http::Reply& reply);
  void watch_stream(const http::RequestPtr& req, const http::Reply& reply);
  // health.cc
  void health(const http::RequestPtr& req, const http::Reply& reply);
  void livez(const http::RequestPtr& req, const http::Reply& reply);
  void readyz(const http::RequestPtr& req, const http::Reply& reply);
  void debug_vars(const http::RequestPtr& req, const http::Reply& reply);

  /// Proposes a command built from the request and answers with its result. With
  /// `etag_field`, a successful answer carries `ETag` made of that integer member of the data.
  void propose(const http::RequestPtr& req, const http::Reply& reply, api::CommandBody body,
               const char* etag_field = nullptr);

  ServiceOptions options_;
  store::Store& store_;
  cache::Index& index_;
  Replicator& replicator_;
  WatchHub* watch_;
  int64_t started_monotonic_ms_;
};

}  // namespace cairn::service
