#pragma once

#include <cstdint>

namespace cairn::raft {

/// Counts what one Node did, for the telemetry layer to export (only src/telemetry/ knows the
/// metrics format). Plain counters, read on the node's thread via Node::probe().
struct Probe {
  uint64_t campaigns = 0;            // real elections started (pre-votes excluded)
  uint64_t pre_campaigns = 0;
  uint64_t became_leader = 0;
  uint64_t stepped_down = 0;         // leader -> follower, for any reason
  uint64_t check_quorum_stepdowns = 0;
  uint64_t higher_term_stepdowns = 0;  // a message of a newer term (an election elsewhere)
  uint64_t removed_stepdowns = 0;      // the leader's own removal from the configuration
  uint64_t term_changes = 0;           // the current term moved on (campaign or newer term seen)
  uint64_t votes_granted = 0;          // real votes (pre-votes excluded)
  uint64_t votes_rejected = 0;
  uint64_t leader_changes = 0;         // learned of a leader other than the last one known
  uint64_t append_entries_read = 0;  // log entries read back to build appends (catch-up cost)
  uint64_t proposals = 0;            // appended by this leader
  uint64_t proposals_refused = 0;    // not_leader / rejected
  uint64_t syncs = 0;                // LogStore::sync() calls (one per call that changed durable state)
  uint64_t messages_sent = 0;
  uint64_t entries_applied = 0;
  uint64_t apply_deferred = 0;  // applies the state machine could not do yet (retried)
  uint64_t read_rounds = 0;          // ReadIndex heartbeat rounds
  uint64_t reads_served = 0;
  uint64_t snapshots_taken = 0;
  uint64_t snapshot_chunks_sent = 0;
  uint64_t snapshots_installed = 0;
  uint64_t transfers_started = 0;
  uint64_t lost_logs = 0;  // a follower refused what it had acknowledged (rebuilt: cairn recover)
  uint64_t conf_changes_applied = 0;
};

}  // namespace cairn::raft
