#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>
#include <string>

#include "api/validate.h"
#include "common/time.h"
#include "common/json.h"
#include "core/client_registry.h"
#include "core/core.h"
#include "core/releases.h"
#include "core/watch_hub.h"
#include "frontends/native/watch_sse.h"
#include "http/router.h"

namespace cairn::native {

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
  /// Gray releases and the client registry (docs/releases.md). Null: reads are never gray and
  /// no client is recorded (the ack, clients and release routes then answer 404/40401).
  core::Releases* releases = nullptr;
  const store::Store* store = nullptr;  // the release rows (lists, finished releases)
  core::ClientRegistry* clients = nullptr;
  int64_t raft_id = 0;  // `node` of this node's registry entries (0 standalone)
  /// The other members' registries for the cluster-wide view: calls `done` once with each
  /// reachable member's client list and the unreachable ones ([{id, address, error}]). Null on
  /// a standalone node. Any thread.
  using MemberViews = std::function<void(std::vector<Json> views, Json unreachable)>;
  std::function<void(const http::Request& req, const std::string& query, MemberViews done)>
      member_clients;
};

/// `data` (a JSON object's text) with `"release": id` added when `release` is set.
std::string gray_data(std::string data, const core::ReleasePtr& release);

/// The seed's HTTP API (§3.8), the native front-end over the core (core::Core): client reads,
/// admin config and namespace management, versions, health. Each handler decodes the request,
/// calls the core and encodes its answer. One file per API area: config_read.cc,
/// config_admin.cc, versions.cc, retention.cc, namespaces.cc, health.cc.
///
/// Lifetime: borrows the core, which must outlive it and the HTTP server that routes to it.
/// Threads: handlers run on any io thread concurrently.
class Service {
 public:
  /// `watch` may be null: the watch endpoints are then not served.
  Service(ServiceOptions options, core::Core& core, core::WatchHub* watch = nullptr);

  void register_routes(http::Router& router);

 private:
  // config_read.cc
  void get_config(const http::RequestPtr& req, const http::Reply& reply);
  void batch_get(const http::RequestPtr& req, const http::Reply& reply);
  void get_namespace_configs(const http::RequestPtr& req, const http::Reply& reply);
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
  // retention.cc
  void tag_version(const http::RequestPtr& req, const http::Reply& reply);
  void untag_version(const http::RequestPtr& req, const http::Reply& reply);
  void cleanup_versions(const http::RequestPtr& req, const http::Reply& reply);
  // namespaces.cc
  void create_namespace(const http::RequestPtr& req, const http::Reply& reply);
  void update_namespace(const http::RequestPtr& req, const http::Reply& reply);
  void delete_namespace(const http::RequestPtr& req, const http::Reply& reply);
  void list_namespaces(const http::RequestPtr& req, const http::Reply& reply);

  // Typed namespaces (schemas.cc, docs/schemas.md).
  void get_schema(const http::RequestPtr& req, const http::Reply& reply);
  void check_schema(const http::RequestPtr& req, const http::Reply& reply);
  /// The SetNamespaceSchema a namespace update's body asks for (`schemas`, `strict`, `force`),
  /// or nullopt when it names none.
  Result<std::optional<api::SetNamespaceSchema>, api::Error> schema_command(
      const http::Request& req, const Json& body, int64_t id);
  /// The name of the namespace a `{id}` path segment names (its id, or its name).
  Result<std::string, api::Error> namespace_of_ref(const std::string& ref) const;
  // watch.cc
  void watch(const http::RequestPtr& req, const http::Reply& reply);
  void watch_stream(const http::RequestPtr& req, const http::Reply& reply);
  ValueFn value_fn(const api::Principal& caller, bool values) const;
  struct HeldPoll;
  /// Answers a held poll: see watch.cc.
  void answer_poll(const std::shared_ptr<HeldPoll>& held, const core::WatchAnswer& answer) const;
  std::shared_ptr<const std::string> poll_data(const HeldPoll& held,
                                               const core::WatchAnswer& answer,
                                               const core::ReleasePtr& gray) const;
  // secrets.cc (docs/secrets.md)
  void secret_status(const http::RequestPtr& req, const http::Reply& reply);
  void rewrap_secrets(const http::RequestPtr& req, const http::Reply& reply);
  // releases.cc (docs/releases.md)
  void ack(const http::RequestPtr& req, const http::Reply& reply);
  void clients(const http::RequestPtr& req, const http::Reply& reply);
  void clients_local(const http::RequestPtr& req, const http::Reply& reply);
  void start_release(const http::RequestPtr& req, const http::Reply& reply);
  void list_releases(const http::RequestPtr& req, const http::Reply& reply);
  void get_release(const http::RequestPtr& req, const http::Reply& reply);
  void release_action(const http::RequestPtr& req, const http::Reply& reply);
  /// The release objects with progress, from the cluster-wide client view.
  void answer_releases(const http::RequestPtr& req, const http::Reply& reply,
                       std::vector<core::ReleasePtr> releases, bool one);
 public:
  /// Who the caller is (X-Client-ID, X-Client-Labels, its address); 40002 on bad headers.
  /// Public for the tests.
  static Result<core::ClientIdentity, api::Error> identity_of(const http::Request& req,
                                                              bool id_required = false);

 private:
  /// The release `req`'s client gets for `ns`, or null; records nothing.
  core::ReleasePtr gray_release(const std::string& ns, const core::ClientIdentity& client) const;
  /// Records an answer sent to the client (registry), when there is a registry.
  void record_sent(const core::ClientIdentity& client, const std::string& ns, uint64_t revision,
                   const core::ReleasePtr& release, int watch_delta = 0) const;
  // health.cc
  void health(const http::RequestPtr& req, const http::Reply& reply);
  void livez(const http::RequestPtr& req, const http::Reply& reply);
  void readyz(const http::RequestPtr& req, const http::Reply& reply);
  void debug_vars(const http::RequestPtr& req, const http::Reply& reply);

  /// Proposes a command built from the request and answers with its result. With
  /// `with_etag`, a successful answer carries the `ETag` of the version it wrote.
  void propose(const http::RequestPtr& req, const http::Reply& reply, api::CommandBody body,
               bool with_etag = false);

  ServiceOptions options_;
  core::Core& core_;
  core::WatchHub* watch_;
  int64_t started_monotonic_ms_;
};

}  // namespace cairn::native
