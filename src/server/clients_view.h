#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "http/types.h"
#include "server/forwarder.h"
#include "server/peer_auth.h"
#include "server/raft_replicator.h"

namespace cairn::server {

/// The other members' client registries (docs/releases.md), for the cluster-wide
/// `GET /api/v1/clients`, the releases' progress and the leader's release guard: asks every
/// other member's `GET /api/v1/clients/local` concurrently (each bounded by `timeout_ms`, with
/// a member proof (use_peer_auth), which the member serves as this node; without one, with the
/// caller's token when there is a caller) and hands back the lists and the unreachable members,
/// like /cluster/health does.
///
/// Lifetime: borrows the replicator; the destructor waits for the calls in flight. Threads: any;
/// `done` runs on the thread of the last member to answer (or the caller's, when there is no
/// other member).
class ClientsView {
 public:
  ClientsView(RaftReplicator& raft, int64_t timeout_ms);

  using Done = std::function<void(std::vector<Json> views, Json unreachable)>;
  /// `outer`: the request (its id, and its token without a PeerAuth); null for the node itself.
  /// `query`: the query string of /api/v1/clients/local ("namespace=orders").
  void gather(const http::Request* outer, const std::string& query, Done done);

  /// The member reads carry a proof from `auth` (docs/security.md): the members serve them as
  /// this node ("node:<id>"), whatever the caller's token. Before the first gather(); `auth`
  /// outlives this object.
  void use_peer_auth(PeerAuth* auth) { peer_auth_ = auth; }

  Result<Ok, std::string> use_tls(const std::string& ca_file, const std::string& cert,
                                  const std::string& key) {
    return client_->use_tls(ca_file, cert, key);
  }

 private:
  RaftReplicator& raft_;
  std::unique_ptr<Forwarder> client_;
  PeerAuth* peer_auth_ = nullptr;
};

}  // namespace cairn::server
