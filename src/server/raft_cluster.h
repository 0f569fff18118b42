#pragma once

#include <cstdint>

#include "core/cluster.h"
#include "server/raft_replicator.h"

namespace cairn::server {

/// The Raft replication group as the core offers it (core::Cluster): the view of
/// GET /api/v1/cluster/status, leadership transfer and membership changes (docs/cluster.md).
///
/// Lifetime: borrows the replicator, which outlives it. Threads: any.
class RaftCluster : public core::Cluster {
 public:
  RaftCluster(RaftReplicator& raft, int64_t stale_read_bound_ms)
      : raft_(raft), stale_read_bound_ms_(stale_read_bound_ms) {}

  core::ClusterView view() const override;
  void transfer_leader(uint64_t to, Done done) override;
  void add_member(uint64_t id, std::string peer, std::string http, bool voter,
                  Done done) override;
  void remove_member(uint64_t id, Done done) override;

 private:
  RaftReplicator& raft_;
  const int64_t stale_read_bound_ms_;
};

}  // namespace cairn::server
