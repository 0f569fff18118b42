#pragma once

#include <cstdint>
#include <string>

#include "raft/node.h"

namespace cairn::raft::sim {

/// What one simulated run does.
struct SimOptions {
  uint64_t seed = 1;
  int nodes = 3;
  int steps = 2000;  // one step = one tick of the fake clock
  Config::Bugs bugs;
  bool membership = true;  // add learners, promote them, remove members (leader included)
  bool verbose = false;
  /// Steps the linearizability search may take before it gives up (inconclusive).
  uint64_t linearizability_budget = 5'000'000;
};

/// The outcome of one run and counters showing what it exercised.
struct SimReport {
  bool ok = true;
  std::string failure;  // first violated invariant, with the step it was seen at
  int64_t failed_step = -1;
  // What happened, to show that the run exercised something.
  uint64_t elections = 0, crashes = 0, partitions = 0, conf_changes = 0, transfers = 0;
  uint64_t writes_acked = 0, reads_ok = 0, snapshots_installed = 0, messages = 0;
  uint64_t batched_steps = 0, apply_groups_failed = 0;
  Index max_commit = 0;
  bool linearizability_inconclusive = false;
};

/// Runs one seeded simulation of a cluster under faults and checks, after every step: election
/// safety, log matching, leader completeness, state machine safety and that no acknowledged
/// write is lost; at the end the client history must be linearizable and the healed cluster must
/// elect a leader. Deterministic: the same options give the same report.
SimReport run_simulation(const SimOptions& options);

}  // namespace cairn::raft::sim
