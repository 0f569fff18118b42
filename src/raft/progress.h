#pragma once

#include <cstdint>
#include <deque>
#include <memory>

#include "raft/state_machine.h"
#include "raft/types.h"

namespace cairn::raft {

/// The leader's view of one follower's log, and the flow control applied to it.
///
/// probe: the leader does not know where the logs match; one append at a time, resent every
///   heartbeat until answered. replicate: logs match up to `match`; appends are pipelined,
///   at most Config::max_inflight unacknowledged. snapshot: the follower needs entries that were
///   compacted; snapshot chunks are sent one at a time.
/// Owned by the leader's Node; lives for one term.
struct Progress {
  enum class State { probe, replicate, snapshot };
  State state = State::probe;
  Index match = 0;
  Index next = 1;
  bool learner = false;
  bool probe_sent = false;
  bool recent_active = false;
  std::deque<Index> inflight;  // last index carried by each unacknowledged append
  int64_t last_progress_tick = 0;
  // snapshot transfer
  std::unique_ptr<SnapshotReader> snap;
  uint64_t snap_offset = 0;
  int64_t snap_sent_tick = 0;

  void become_probe(Index next_index) {
    state = State::probe;
    next = next_index;
    probe_sent = false;
    inflight.clear();
    snap.reset();
  }
  void become_replicate() {
    state = State::replicate;
    next = match + 1;
    inflight.clear();
  }
};

}  // namespace cairn::raft
