#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "raft/state_machine.h"

namespace cairn::raft::sim {

/// A key-value register map replicated in the simulator. Entry data "key=value" writes a key.
/// Applied state is volatile (lost by crash()); snapshots are durable, as the contract of
/// StateMachine requires. Single-threaded; owned by the Cluster, outlives Node incarnations.
class KvStateMachine final : public StateMachine {
 public:
  /// Called for every applied entry (state-machine-safety check).
  std::function<void(const Entry&)> on_apply;

  /// The next `n` applies fail (nullopt: "storage down"), as a broken disk would make them.
  int fail_next_applies = 0;

  /// The next `n` groups of applies fail as a whole at finish_applies(), as a database
  /// transaction that cannot commit would: everything applied in the group is undone.
  int fail_next_groups = 0;

  std::optional<std::string> apply(const Entry& entry, const ConfState& conf) override;
  void begin_applies() override;
  bool finish_applies() override;
  SnapshotMeta applied_state() const override { return applied_; }
  Result<Ok, SnapshotError> save_snapshot(const SnapshotMeta& meta) override;
  std::unique_ptr<SnapshotReader> open_snapshot() override;
  std::unique_ptr<SnapshotWriter> begin_restore(const SnapshotMeta& meta) override;
  Result<Ok, SnapshotError> finish_restore(std::unique_ptr<SnapshotWriter> writer) override;

  /// Loses everything applied since the last durable snapshot.
  void crash();
  /// The value of key, "" when absent.
  std::string get(const std::string& key) const;

  static std::string encode_put(const std::string& key, const std::string& value) { return key + "=" + value; }
  uint64_t snapshots_saved = 0, snapshots_restored = 0, groups_failed = 0;

 private:
  std::map<std::string, std::string> kv_;
  SnapshotMeta applied_;
  std::map<std::string, std::string> group_kv_;  // the state when the group began
  SnapshotMeta group_applied_;
  std::shared_ptr<const std::string> snap_bytes_;
  SnapshotMeta snap_meta_;
};

}  // namespace cairn::raft::sim
