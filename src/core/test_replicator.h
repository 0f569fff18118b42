#pragma once

#include "core/replicator.h"
#include "core/state_machine.h"

namespace cairn::core {

/// Test and fuzzing double: applies each command on the calling thread, as log index
/// applied_index()+1 at a fixed timestamp, and calls `done` before propose() returns. That
/// breaks the "never inline" promise of Replicator on purpose, so tests stay single-threaded
/// and deterministic. Not for production.
class InlineReplicator final : public Replicator {
 public:
  explicit InlineReplicator(ConfigStateMachine& sm, int64_t timestamp_ms = 1705744800000)
      : sm_(sm), timestamp_ms_(timestamp_ms) {}

  void propose(api::Command command, Done done) override {
    uint64_t index = sm_.store().applied_index() + 1;
    done(sm_.apply(command, index, timestamp_ms_));
  }

 private:
  ConfigStateMachine& sm_;
  int64_t timestamp_ms_;
};

}  // namespace cairn::core
