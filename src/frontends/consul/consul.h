#pragma once

// The Consul KV front-end (docs/compat.md, "Consul KV"): /v1/kv, /v1/txn and /v1/status on the
// node's HTTP port, over core::Core (reads, writes, permission checks, the cluster view) and
// core::WatchHub (blocking queries).

#include <cstddef>
#include <functional>

#include "core/cluster.h"
#include "core/client_registry.h"
#include "core/core.h"
#include "core/watch_hub.h"
#include "http/router.h"

namespace cairn::consul {

struct Options {
  /// The largest value a PUT or a txn set may carry (the node's max_value_bytes).
  size_t max_value_bytes = 1024 * 1024;
  /// The replication group as this node sees it (/v1/status/*, X-Consul-KnownLeader,
  /// X-Consul-LastContact). Null: a single node that leads itself at `self_address`.
  std::function<core::ClusterView()> cluster;
  std::string self_address;
  /// The node's client registry (docs/releases.md): every KV read is recorded there as client
  /// "consul:<address>". Null: not recorded.
  core::ClientRegistry* clients = nullptr;
};

/// Registers the Consul routes (routes/consul.h) on `router`. `core` and `watch` must outlive
/// every request the router serves; `watch` may be null (no blocking: answers at once).
void register_routes(http::Router& router, Options options, core::Core& core,
                     core::WatchHub* watch);

/// Consul's wording of an error answered before or instead of a handler (plain text; 401 and
/// 403 as Consul's 403 "ACL not found" / "Permission denied"). Exposed for tests.
void render_error(const http::Request& req, const api::Error& error, http::Response& res);

}  // namespace cairn::consul
