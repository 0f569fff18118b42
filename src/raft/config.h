#pragma once

#include <cstddef>
#include <cstdint>

#include "raft/types.h"

namespace cairn::raft {

/// Tunables of one node; times are in ticks (the driver calls tick() every tick_ms).
///
/// These member defaults are the only statement of Cairn's Raft defaults: `cairn server`'s
/// config schema, its flags and `cairn dev` take theirs from here (server/config.h,
/// server/raft_replicator.h), so what the running server uses is what is written below. Tests
/// and the simulator that want other values set them explicitly. A plain value type.
struct Config {
  NodeId id = kNoNode;
  /// Configuration written as entry 1 when the log and state machine are both empty. Empty for a
  /// node that joins an existing cluster (it learns the configuration from the leader).
  ConfState bootstrap;
  int64_t tick_ms = 50;     // used by the driver only; the core counts ticks
  // Randomised in [election_ticks, 2 * election_ticks): 300–600 ms with the 50 ms tick, so that a
  // lost leader is replaced within a second (docs/cluster.md, "Failover tuning").
  int election_ticks = 6;
  int heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  uint64_t max_msg_bytes = 1 << 20;  // entry bytes per append (at least one entry is sent)
  size_t max_inflight = 8;           // appends in flight per follower
  int proposal_timeout_ticks = 100;
  int read_timeout_ticks = 50;
  Index snapshot_threshold = 100000;  // compact once the log holds this many applied entries
  Index snapshot_trailing = 1000;     // entries kept after compaction for slow followers
  uint64_t snapshot_chunk_bytes = 1 << 20;
  // A learner is promoted only once it acknowledged something and is within this many entries
  // of the leader.
  Index max_promote_lag = 100;
  size_t max_pending_proposals = 10000;
  /// Record election events (term changes, votes, campaigns, leader changes, step-downs) for
  /// Node::take_events(); the server logs them. Off in tests and the simulator.
  bool record_events = false;

  /// Deliberate protocol bugs, used only to prove that the simulator's checkers can fail.
  struct Bugs {
    bool commit_old_term = false;  // count replicas of older-term entries (Raft paper Figure 8)
    bool no_persist_vote = false;  // grant votes without making them durable
    // Compact the log as soon as a snapshot save starts, before the image is durable.
    bool compact_before_snapshot_durable = false;
    // Apply the committed entries before the sync that makes them durable in this node's log.
    bool apply_before_sync = false;
  } bugs;
};

/// The proposal timeout of the defaults in milliseconds (`cairn server --proposal-timeout`).
inline int64_t default_proposal_timeout_ms() {
  const Config c;
  return c.proposal_timeout_ticks * c.tick_ms;
}

}  // namespace cairn::raft
