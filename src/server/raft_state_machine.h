#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "api/command.h"
#include "api/outcome.h"
#include "cache/index.h"
#include "common/gradual_delete.h"
#include "core/state_machine.h"
#include "core/watch_hub.h"
#include "raft/node.h"
#include "raft/state_machine.h"
#include "store/store.h"

namespace cairn::server {

/// Puts the database file at `db_path` into the snapshot folder `dir` as the snapshot `meta`
/// (what the node sends to a member that needs entries before its log): used when a node is
/// seeded from a backup, whose log starts after the backup's last entry.
Result<Ok, std::string> seed_snapshot(const std::string& dir, const raft::SnapshotMeta& meta,
                                      const std::string& db_path);

/// Raft's StateMachine over the SQLite store (DESIGN.md §3).
///
/// A normal entry's data is `stamp_command()`: the leader's wall clock (8 bytes, little endian)
/// then the encoded Command, so every node applies the command with the same timestamp. Noop and
/// membership entries only advance the applied index. With every entry the store also records
/// the entry's term and the membership after it, in the same transaction, so applied_state()
/// is exact after any crash.
///
/// Snapshots are online SQLite backups in `snapshot_dir` (`snap-<index>-<term>.db` and its
/// `.meta`), written once the log passes the node's threshold and streamed to followers in
/// chunks; a restore stages the incoming file, swaps the database atomically, rebuilds the
/// in-memory index and resets every watcher.
///
/// Both run on a background thread of this class, so that the Raft thread keeps replicating,
/// applying and answering heartbeats (issue 21): save_snapshot() pins the applied state in a
/// read transaction on a connection of its own (Store::begin_snapshot) and returns; the copy,
/// its fsync and CRC-32C happen in the background. finish_restore() hands the staged file over
/// and returns; the Raft node neither applies nor accepts entries until the install is
/// reported, so the background thread is the store's only writer meanwhile. Completions are
/// reported to the node on its own thread through the poster given to set_poster().
///
/// Old images (the folder keeps the newest two), failed copies, unused staged restores and the
/// staging files a crash left are deleted through a GradualDeleter: the name goes at once, the
/// blocks in paced steps (a 300 MB image freed in one unlink stalls every fdatasync on a
/// `discard` mount). An image still being sent (open_snapshot's reader) is not pruned until a
/// later snapshot finds it closed, since the deleter truncates the file under any reader.
///
/// Threads: the Raft node's thread, except stop() (any thread).
class RaftStateMachine final : public raft::StateMachine {
 public:
  RaftStateMachine(store::Store& store, core::ConfigStateMachine& machine,
                   cache::Index& index, core::WatchHub* watch, std::string snapshot_dir,
                   std::shared_ptr<GradualDeleter> deleter = nullptr);

  /// nullopt when the database refused the entry (disk full, I/O error, fault injection):
  /// nothing of it took effect and Raft offers it again on its next step (see stalled()).
  std::optional<std::string> apply(const raft::Entry& entry, const raft::ConfState& conf) override;
  /// The applies of one Raft step share one SQLite transaction (ConfigStateMachine::begin_group).
  void begin_applies() override;
  bool finish_applies() override;
  /// Since when (monotonic ms) applies have been failing, or 0 when the last one succeeded.
  /// Any thread.
  int64_t stalled_since_ms() const { return stalled_since_ms_.load(); }
  raft::SnapshotMeta applied_state() const override;
  Result<Ok, raft::SnapshotError> save_snapshot(const raft::SnapshotMeta& meta) override;
  std::unique_ptr<raft::SnapshotReader> open_snapshot() override;
  std::unique_ptr<raft::SnapshotWriter> begin_restore(const raft::SnapshotMeta& meta) override;
  Result<Ok, raft::SnapshotError> finish_restore(
      std::unique_ptr<raft::SnapshotWriter> writer) override;

  /// Called (on the node's thread) after an apply or restore changed the member address book.
  void on_members_changed(std::function<void()> fn) { members_changed_ = std::move(fn); }

  /// Runs a function on the Raft node's thread with the node (the driver's mailbox); how the
  /// background thread reports finished saves and installs (Node::snapshot_saved/_restored).
  /// Set before the node starts; a report the poster drops (the node stops) is never made.
  using Poster = std::function<void(std::function<void(raft::Node&)>)>;
  void set_poster(Poster post) { post_ = std::move(post); }
  /// Asked (on the node's thread) whether anyone reads the result of the entry at index/term
  /// (raft::Node::awaits_result); when it says no, apply() returns an empty result instead of
  /// encoding one. Unset: every result is encoded.
  void set_result_wanted(std::function<bool(uint64_t index, uint64_t term)> fn) {
    result_wanted_ = std::move(fn);
  }
  /// The result apply() gives Raft for a wanted entry: the CommandResult itself stays here,
  /// for take_result, instead of a JSON encoding that the proposer would decode at once (the
  /// proposer runs on the same thread, in the same step). 4.7 % of a leader's samples went to
  /// that round trip at c=64 writes.
  static constexpr std::string_view kResultKept = "\x01kept";
  /// The kept result of the entry at `index` (node's thread), forgetting it and every older
  /// one (proposals complete in log order); nullopt if there is none.
  std::optional<api::CommandResult> take_result(uint64_t index);
  /// Waits for the background job that runs now and drops the queued ones, unreported, as a
  /// crash would. Idempotent; the destructor calls it.
  void stop();
  ~RaftStateMachine() override;

 private:
  store::Store& store_;
  core::ConfigStateMachine& machine_;
  cache::Index& index_;
  core::WatchHub* watch_;
  std::string dir_;
  std::function<void()> members_changed_;
  std::function<bool(uint64_t, uint64_t)> result_wanted_;
  std::map<uint64_t, api::CommandResult> kept_results_;  // node's thread
  uint64_t members_generation_ = 0;
  std::atomic<int64_t> stalled_since_ms_{0};
  int64_t last_stall_log_ms_ = 0;
  void check_members();
  std::nullopt_t stalled(uint64_t index, const std::string& why);
  uint64_t group_first_ = 0;  // first entry offered in the current group (0: none yet)

  // Background snapshot work: one job at a time, in order.
  void enqueue(std::function<void()> job);
  void report(std::function<void(raft::Node&)> fn);
  /// Copies the pinned view into the folder as the snapshot `meta` (any thread).
  bool write_image(const raft::SnapshotMeta& meta, store::SnapshotSource& source);
  bool install(raft::SnapshotWriter& writer);  // background thread, see the class comment
  Poster post_;
  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::deque<std::function<void()>> jobs_;  // under jobs_mu_
  bool jobs_stop_ = false;                  // under jobs_mu_
  std::thread worker_;
  std::mutex dir_mu_;  // the snapshot folder's listing: renames, .meta writes, pruning, opening
  std::atomic<uint64_t> tmp_seq_{0};
  std::shared_ptr<GradualDeleter> deleter_;  // given, or one of our own
  /// Images with an open reader (path -> readers), shared with the readers, which may outlive
  /// this object: prune_snapshots() leaves them for a later prune.
  struct Readers {
    std::mutex mu;
    std::map<std::string, int> open;
  };
  std::shared_ptr<Readers> readers_ = std::make_shared<Readers>();
  void prune_snapshots(size_t keep);  // under dir_mu_
};

/// The data of a normal entry: `timestamp_ms` then the encoded command.
std::string stamp_command(const api::Command& command, int64_t timestamp_ms);

}  // namespace cairn::server
