#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/json.h"
#include "common/result.h"
#include "http/router.h"
#include "http/types.h"
#include "server/forwarder.h"
#include "server/raft_replicator.h"

namespace cairn::server {

/// `GET /api/v1/cluster/health` (docs/cluster.md): every member's `/api/v1/health` in one answer,
/// so that one page (the console's cluster page) sees the whole cluster while talking to one
/// node. The other members are asked concurrently over HTTP (HTTPS with use_tls), each bounded by
/// `timeout_ms`; a member that does not answer is listed as unreachable with the error, and the
/// call still answers. This node's own entry is computed in-process, through the router.
///
/// `/api/v1/health` is public under auth, so the inner calls carry no token.
///
/// Lifetime: borrows the replicator and the router, which outlive it; the destructor waits for
/// the inner calls in flight (at most `timeout_ms`). Threads: the handler runs on io threads; the
/// answer is sent from the thread of the last member to answer.
class ClusterHealth {
 public:
  ClusterHealth(RaftReplicator& raft, int64_t timeout_ms);

  /// Registers the route. `router` also serves this node's own /api/v1/health (dispatched at
  /// request time, so it may be registered later) and must outlive this object.
  void register_routes(http::Router& router);
  /// Ask the members over HTTPS (Forwarder::use_tls). Before the HTTP server starts.
  Result<Ok, std::string> use_tls(const std::string& ca_file, const std::string& cert,
                                  const std::string& key) {
    return client_->use_tls(ca_file, cert, key);
  }

 private:
  void handle(const http::RequestPtr& req, const http::Reply& reply);

  RaftReplicator& raft_;
  const int64_t timeout_ms_;
  const http::Router* router_ = nullptr;
  std::unique_ptr<Forwarder> client_;
};

/// One member's entry of the answer, from what came back: `answer` is its HTTP response
/// (nullopt when it could not be reached, `error` then says why). Sets `reachable`, `status`
/// (the member's own "healthy"/"unhealthy", or "unreachable"/"unknown"), `role` (from its raft
/// component; null when unknown), `health` (its health body) and `error`. Pure; tested alone.
Json member_health_entry(Json entry, const std::optional<http::Response>& answer,
                         const std::string& error);

}  // namespace cairn::server
