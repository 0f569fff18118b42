#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "raft/state_machine.h"

namespace cairn::raft::sim {

/// A key-value register map replicated in the simulator. Entry data "key=value" writes a key.
/// Applied state is volatile (lost by crash()); a snapshot is durable once its save is reported.
///
/// Saves and restores are asynchronous as StateMachine requires callers to expect. With `async`
/// off (unit tests) each one completes inside the call and is reported through on_saved /
/// on_restored at once. With `async` on (the simulator) save_snapshot() only captures the image
/// (as the server's read transaction does) and finish_restore() only stages it: the owner later
/// calls complete_save() / complete_restore(), which make it durable and return what to report
/// to the node; crash() loses whatever was not completed. Single-threaded; owned by the Cluster,
/// outlives Node incarnations.
class KvStateMachine final : public StateMachine {
 public:
  /// Called for every applied entry (state-machine-safety check).
  std::function<void(const Entry&)> on_apply;

  /// The next `n` applies fail (nullopt: "storage down"), as a broken disk would make them.
  int fail_next_applies = 0;

  /// The next `n` groups of applies fail as a whole at finish_applies(), as a database
  /// transaction that cannot commit would: everything applied in the group is undone.
  int fail_next_groups = 0;

  bool async = false;
  /// Reports of completed saves and restores (the driver's Node::snapshot_saved/_restored).
  std::function<void(const SnapshotMeta&, bool ok)> on_saved, on_restored;
  /// A completed save or restore and whether it succeeded, to report to the node.
  struct Completion {
    SnapshotMeta meta;
    bool ok = true;
  };
  /// async: makes the oldest started save durable (or fails it, when `fail`); nullopt if none.
  std::optional<Completion> complete_save(bool fail = false);
  /// async: installs the staged restore (or abandons it, when `fail`); nullopt if none.
  std::optional<Completion> complete_restore(bool fail = false);
  bool save_pending() const { return !pending_saves_.empty(); }
  bool restore_pending() const { return pending_restore_ != nullptr; }
  /// Where the latest durable snapshot stands (index 0: none).
  const SnapshotMeta& durable_snapshot() const { return snap_meta_; }

  std::optional<std::string> apply(const Entry& entry, const ConfState& conf) override;
  void begin_applies() override;
  bool finish_applies() override;
  SnapshotMeta applied_state() const override { return applied_; }
  Result<Ok, SnapshotError> save_snapshot(const SnapshotMeta& meta) override;
  std::unique_ptr<SnapshotReader> open_snapshot() override;
  std::unique_ptr<SnapshotWriter> begin_restore(const SnapshotMeta& meta) override;
  Result<Ok, SnapshotError> finish_restore(std::unique_ptr<SnapshotWriter> writer) override;

  /// Loses everything applied since the last durable snapshot, and saves or restores not yet
  /// completed.
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
  struct PendingSave {
    SnapshotMeta meta;
    std::shared_ptr<const std::string> bytes;
  };
  std::deque<PendingSave> pending_saves_;
  std::unique_ptr<SnapshotWriter> pending_restore_;
};

}  // namespace cairn::raft::sim
