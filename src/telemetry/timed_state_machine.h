#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "raft/state_machine.h"

namespace cairn::telemetry {

class Telemetry;

/// When one entry's apply started and ended: steady-clock ns for durations, Unix ns for spans.
struct ApplyTiming {
  int64_t start_steady_ns = 0;
  uint64_t start_unix_ns = 0, end_unix_ns = 0;
};

/// Wraps a Raft state machine to time every apply (`config_center_raft_apply_duration_seconds`)
/// and remember when recent entries' applies started, so that the proposer can tell how long
/// its entry took to commit. Everything else is passed through unchanged.
///
/// Threads: the Raft node's thread only, like the machine it wraps. Lifetime: borrows the
/// inner machine and the telemetry, which outlive it.
class TimedStateMachine final : public raft::StateMachine {
 public:
  TimedStateMachine(raft::StateMachine& inner, Telemetry& telemetry)
      : inner_(inner), telemetry_(telemetry) {}

  std::optional<std::string> apply(const raft::Entry& entry,
                                   const raft::ConfState& conf) override;
  void begin_applies() override { inner_.begin_applies(); }
  bool finish_applies() override { return inner_.finish_applies(); }
  raft::SnapshotMeta applied_state() const override { return inner_.applied_state(); }
  Result<Ok, raft::SnapshotError> save_snapshot(const raft::SnapshotMeta& meta) override {
    return inner_.save_snapshot(meta);
  }
  std::unique_ptr<raft::SnapshotReader> open_snapshot() override { return inner_.open_snapshot(); }
  std::unique_ptr<raft::SnapshotWriter> begin_restore(const raft::SnapshotMeta& meta) override {
    return inner_.begin_restore(meta);
  }
  Result<Ok, raft::SnapshotError> finish_restore(
      std::unique_ptr<raft::SnapshotWriter> writer) override {
    return inner_.finish_restore(std::move(writer));
  }

  /// The timing of entry `index` if it is among the last kRemembered applied.
  std::optional<ApplyTiming> timing(raft::Index index) const;

  static int64_t steady_ns();

 private:
  static constexpr size_t kRemembered = 1024;
  raft::StateMachine& inner_;
  Telemetry& telemetry_;
  std::array<std::pair<raft::Index, ApplyTiming>, kRemembered> recent_{};
};

}  // namespace cairn::telemetry
