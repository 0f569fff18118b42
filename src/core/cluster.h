#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "api/errors.h"
#include "common/result.h"

namespace cairn::core {

/// One member of the replication group: its Raft id, whether it votes, and its addresses
/// ("" when the node does not know them).
struct ClusterMember {
  uint64_t id = 0;
  bool voter = true;
  std::string peer;  // Raft peer host:port
  std::string http;  // HTTP API host:port
};

/// The replication group as this node sees it (docs/cluster.md).
struct ClusterView {
  uint64_t raft_id = 0;
  std::string role;  // "leader", "follower", "candidate", …
  uint64_t term = 0;
  uint64_t leader = 0;  // 0: none known
  std::string leader_http;
  std::string leader_peer;
  uint64_t commit = 0;
  uint64_t applied = 0;
  uint64_t last_index = 0;
  /// A follower that has not heard from a leader for longer than the stale-read bound.
  bool cut_off = false;
  int64_t last_leader_contact_ms_ago = 0;  // 0 on the leader
  std::vector<ClusterMember> members;      // voters, then learners
};

/// The replication group behind the core's Replicator, for what the core API offers on it:
/// its view, leadership transfer and membership changes. A cluster node's Raft replicator
/// implements it (server/raft_replicator.h); a single node has none.
///
/// Threads: any. Each `done` is called once, on any thread.
class Cluster {
 public:
  using Done = std::function<void(Result<Ok, api::Error>)>;

  virtual ~Cluster() = default;
  virtual ClusterView view() const = 0;
  /// Asks the leader to hand leadership to member `to` (409/40901 when it cannot start).
  virtual void transfer_leader(uint64_t to, Done done) = 0;
  /// Records the new member's addresses through the log, then adds it as a learner; the leader
  /// promotes it once it has caught up, unless `voter` is false: then it stays a non-voting
  /// member (docs/scaling.md). Asked with `voter` true for such a learner, it lets the leader
  /// promote it. 409/40901 when `id` is already a member otherwise.
  virtual void add_member(uint64_t id, std::string peer, std::string http, bool voter,
                          Done done) = 0;
  /// Removes member `id` and forgets its addresses. 404/40401 when it is not a member.
  virtual void remove_member(uint64_t id, Done done) = 0;
};

}  // namespace cairn::core
