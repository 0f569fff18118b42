#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "raft/types.h"

namespace cairn::raft {

enum class SnapshotError { unavailable, bad_offset, corrupt, io };

/// Reads one immutable snapshot image in chunks. The image does not change while the reader
/// lives, even if the state machine takes newer snapshots. Threads: the node's thread.
class SnapshotReader {
 public:
  virtual ~SnapshotReader() = default;
  virtual const SnapshotMeta& meta() const = 0;
  virtual uint64_t size() const = 0;
  /// Up to max_bytes starting at offset (offset <= size()).
  virtual Result<std::string, SnapshotError> read(uint64_t offset, uint64_t max_bytes) = 0;
};

/// Receives a snapshot image chunk by chunk, staged aside from the live state: until
/// StateMachine::finish_restore() succeeds the live state is untouched, so a follower never loses
/// committed state while a snapshot arrives. Dropping the writer abandons the transfer.
class SnapshotWriter {
 public:
  virtual ~SnapshotWriter() = default;
  /// Chunks arrive in order: offset must equal the number of bytes written so far.
  virtual Result<Ok, SnapshotError> write(uint64_t offset, const std::string& chunk) = 0;
  virtual uint64_t written() const = 0;
};

/// The replicated application (for Cairn: the SQLite store). Called only on the node's thread;
/// snapshots are saved and installed in the background (see save_snapshot, finish_restore).
/// Lifetime: outlives the Node.
class StateMachine {
 public:
  virtual ~StateMachine() = default;

  /// Applies a committed entry. Called for every committed entry exactly once, in index order,
  /// starting after applied_state().index; noop and conf_change entries are passed too (most
  /// machines ignore them) with `conf` = the configuration after the entry, so that a machine
  /// that persists its applied index can persist the configuration with it. Must be
  /// deterministic: every node returns the same result for the same entry. The result is handed
  /// to the proposer on the leader.
  ///
  /// nullopt: the machine cannot apply the entry now (its storage failed) and nothing of it took
  /// effect. The node then stops applying and offers the same entry again on its next step
  /// (tick, message, proposal), so that a machine never skips an entry and never diverges; the
  /// log keeps being replicated and committed meanwhile.
  virtual std::optional<std::string> apply(const Entry& entry, const ConfState& conf) = 0;

  /// Bracket the apply() calls of one step (a group of consecutive committed entries), so that
  /// a machine may make them durable together (one database transaction). finish_applies()
  /// answers whether the group took effect: false means none of its entries did, whatever
  /// apply() returned for them; the node then completes nothing and offers the group's first
  /// entry again on its next step. A machine must not let readers see a group's effects before
  /// finish_applies() returns true. The defaults apply entry by entry.
  virtual void begin_applies() {}
  virtual bool finish_applies() { return true; }

  /// The state held now: index/term/conf of the last applied entry (all zero when empty). At
  /// Node construction the machine must hold a durable state (its latest snapshot, or what it
  /// persisted with each apply); entries after it are replayed.
  virtual SnapshotMeta applied_state() const = 0;

  /// Starts saving the current state (which reflects exactly the entries up to meta.index) as a
  /// snapshot and returns without waiting for it: the image must capture the state as of this
  /// call even though apply() goes on meanwhile (a database read transaction opened before
  /// returning, a copy), and is written and made durable in the background. The driver reports
  /// the outcome with Node::snapshot_saved(meta, ok) on the node's thread, possibly before this
  /// call returns; the node compacts the log only then, never earlier. An error means nothing
  /// was started and nothing will be reported. The node starts one save at a time. A save that a
  /// crash interrupts is never reported (the new incarnation starts its own); until a save is
  /// reported, open_snapshot() returns the previous durable snapshot.
  virtual Result<Ok, SnapshotError> save_snapshot(const SnapshotMeta& meta) = 0;
  /// The latest durable snapshot, or nullptr when there is none.
  virtual std::unique_ptr<SnapshotReader> open_snapshot() = 0;

  /// Starts receiving a snapshot described by meta.
  virtual std::unique_ptr<SnapshotWriter> begin_restore(const SnapshotMeta& meta) = 0;
  /// Starts replacing the live state by the staged image, atomically and durably, and returns
  /// without waiting for it (the node keeps answering heartbeats meanwhile, and neither applies
  /// entries nor accepts new ones until it is done). The driver reports the outcome with
  /// Node::snapshot_restored(meta, ok) on the node's thread, possibly before this call returns;
  /// after ok, applied_state() == the meta given to begin_restore(). An error means nothing was
  /// started, nothing changed and nothing will be reported. A crash may interrupt the restore
  /// before or after it took effect (never half-way); the node restarts from whichever
  /// applied_state() says.
  virtual Result<Ok, SnapshotError> finish_restore(std::unique_ptr<SnapshotWriter> writer) = 0;
};

}  // namespace cairn::raft
