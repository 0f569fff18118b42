#pragma once

#include <memory>
#include <string>

#include "core/core.h"
#include "frontends/native/service.h"
#include "http/router.h"
#include "http/types.h"
#include "server/cluster_health.h"
#include "server/forwarder.h"
#include "server/peer_auth.h"
#include "server/raft_replicator.h"

namespace cairn::server {

/// What a node of a cluster adds to the HTTP API (docs/cluster.md):
///
/// - a middleware that sends writes (POST/PUT/DELETE under /api/v1/admin/) arriving at a
///   follower to the leader, unchanged and with the same request id, and answers 503/50302 when
///   no leader is known; `consistency=strong` reads go through ReadIndex on the leader (forwarded
///   from followers); reads on a follower cut off from the leader for longer than the stale bound
///   carry `"degraded": true`;
/// - `GET /api/v1/cluster/status`, `GET /api/v1/cluster/health` (ClusterHealth: every member's
///   health), `POST /api/v1/admin/cluster/transfer-leader`,
///   `POST /api/v1/admin/cluster/members`, `DELETE /api/v1/admin/cluster/members/{id}`.
///
/// Lifetime: borrows the replicator, which outlives it and the HTTP server.
class ClusterApi {
 public:
  ClusterApi(RaftReplicator& raft, std::string node_id, int64_t stale_read_bound_ms,
             ForwardTiming forwarding);

  http::Middleware middleware();
  /// The "raft" component of /api/v1/health (seed §3.8.7): role, term, leader.
  native::ServiceOptions::Component health_component() const;
  /// The cluster routes, over the core's cluster API (core::Core::cluster_view, …).
  void register_routes(http::Router& router, core::Core& core);
  /// Sends `req` to the leader the way a write arriving here is forwarded (Forwarder: waits
  /// for a leader, re-sends what provably did not reach one); `reply` gets the leader's answer
  /// or the forwarding error. Any thread.
  void send_to_leader(const http::RequestPtr& req, const http::Reply& reply) {
    forward(req, reply);
  }
  /// Forwards re-sent and abandoned on leader changes (Forwarder::resent/abandoned).
  uint64_t forwards_resent() const { return forwarder_->resent(); }
  uint64_t forwards_abandoned() const { return forwarder_->abandoned(); }
  /// Forwards carry a member proof from `auth` (docs/security.md), which outlives this object.
  /// Before the HTTP server starts; without it, forwards carry no proof and the leader serves
  /// them as ordinary client requests.
  void use_peer_auth(PeerAuth* auth) { peer_auth_ = auth; }
  /// Forward (and ask the members' health) over HTTPS (Forwarder::use_tls). Before the HTTP
  /// server starts.
  Result<Ok, std::string> use_tls(const std::string& ca_file, const std::string& cert,
                                  const std::string& key) {
    auto forwarding = forwarder_->use_tls(ca_file, cert, key);
    if (!forwarding.ok()) return forwarding;
    return health_->use_tls(ca_file, cert, key);
  }

 private:
  void forward(const http::RequestPtr& req, const http::Reply& reply);
  void status(core::Core& core, const http::RequestPtr& req, const http::Reply& reply);
  void transfer(core::Core& core, const http::RequestPtr& req, const http::Reply& reply);
  void add_member(core::Core& core, const http::RequestPtr& req, const http::Reply& reply);
  void remove_member(core::Core& core, const http::RequestPtr& req, const http::Reply& reply);

  RaftReplicator& raft_;
  const std::string node_id_;
  const int64_t stale_read_bound_ms_;
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<ClusterHealth> health_;
  PeerAuth* peer_auth_ = nullptr;
};

}  // namespace cairn::server
