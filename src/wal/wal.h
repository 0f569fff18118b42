#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/gradual_delete.h"
#include "common/result.h"
#include "raft/log_store.h"
#include "wal/file.h"
#include "wal/meta.h"
#include "wal/probe.h"
#include "wal/segment.h"

namespace cairn::wal {

/// How to open a WAL directory.
struct WalOptions {
  /// The directory that holds LOCK, META and the segments; created if missing.
  std::string dir;
  /// A segment is closed and a new one started once it holds at least this many bytes (a
  /// segment can exceed it by one record). Compaction deletes whole segments only, so this is
  /// also the granularity at which disk space comes back after a snapshot.
  uint64_t max_segment_bytes = 64ull << 20;
  /// Receives what recovery did that an operator should know (torn tail dropped, stale segments
  /// removed). If empty, the lines go to stderr.
  std::function<void(const std::string&)> log;
  /// Called once, on the store's thread, with last_error() when an I/O error makes the store
  /// failed (see the class comment). A server makes this a crash-stop: a write or fdatasync
  /// that failed is never retried as if the data were safe (docs/wal.md, "Disk faults").
  std::function<void(const std::string&)> on_failure;
  /// A sync() that takes this long or longer is counted (WalProbe::slow_syncs) and logged
  /// through `log`, at most once every 10 s; 0 turns the line off.
  int64_t slow_sync_ms = 100;
  /// Frees the blocks of compacted segments in paced steps after their unlink (which stays where
  /// it is in sync()'s order: the deleter only ever sees files already gone from the directory,
  /// made durable by the directory fsync). Null: unlink frees them at once.
  std::shared_ptr<GradualDeleter> deleter;
  /// Test seam: fault injection before each write and fdatasync of a segment (wal/file.h).
  /// Empty in production.
  IoFault io_fault;
};

/// A segmented write-ahead log on local files implementing raft::LogStore (docs/wal.md).
///
/// - Appends are encoded into a user-space buffer; sync() writes them and issues one fdatasync
///   per segment touched (one in the common case), plus a META replacement if the hard state or
///   the snapshot point changed. Appends never fsync on their own.
/// - term() is O(1) from an in-memory index (index -> term, offset, size); entries() reads
///   records back with pread() (or from the buffer if not yet written) and checks their CRCs.
/// - truncate_suffix() that cuts data already written applies at once, durably, after first
///   making earlier pending META changes durable, so the files always hold a prefix of the
///   mutation history (see docs/wal.md for why).
/// - After an I/O error while mutating, the store is failed: every mutation and sync() returns
///   LogError::io (the state of the files is unknown; reopen to recover). last_error() says why.
///
/// Threads: one thread at a time, as LogStore requires. Processes: one, enforced by flock() on
/// dir/LOCK. Lifetime: destroying the store closes the files and releases the lock without
/// syncing, so mutations since the last sync() are lost exactly as in a crash.
class WalLogStore final : public raft::LogStore {
 public:
  /// Opens (or creates) the WAL in options.dir and recovers it: drops a torn or corrupt tail of
  /// the last segment, removes segments made obsolete by a compaction or reset that crashed
  /// half-way, and fails with a message naming the file and offset if anything before the tail
  /// is corrupt or missing.
  static Result<std::unique_ptr<WalLogStore>, std::string> open(WalOptions options);

  ~WalLogStore() override;
  WalLogStore(const WalLogStore&) = delete;
  WalLogStore& operator=(const WalLogStore&) = delete;

  raft::HardState hard_state() const override { return meta_.hs; }
  void set_hard_state(const raft::HardState& hs) override { meta_.hs = hs; }
  raft::Index first_index() const override { return meta_.snap_index + 1; }
  raft::Index last_index() const override { return meta_.snap_index + index_.size(); }
  Result<raft::Term, raft::LogError> term(raft::Index i) const override;
  Result<std::vector<raft::Entry>, raft::LogError> entries(raft::Index lo, raft::Index hi,
                                                           uint64_t max_bytes) const override;
  Result<Ok, raft::LogError> append(const std::vector<raft::Entry>& entries) override;
  Result<Ok, raft::LogError> truncate_suffix(raft::Index from) override;
  Result<Ok, raft::LogError> compact_prefix(raft::Index upto) override;
  Result<Ok, raft::LogError> reset(raft::Index index, raft::Term term) override;
  Result<Ok, raft::LogError> sync() override;

  const WalProbe& probe() const { return probe_; }
  const WalOptions& options() const { return opts_; }
  /// Why the last call failed with LogError::io (or invalid), for the caller's log.
  const std::string& last_error() const { return last_error_; }
  /// What recovery did when this store was opened, one line per action.
  const std::vector<std::string>& recovery_notes() const { return notes_; }

 private:
  /// Where an entry's record lives: segment_for_(index), at `offset`, `size` bytes.
  struct Loc {
    raft::Term term;
    uint64_t offset;
    uint32_t size;
  };

  explicit WalLogStore(WalOptions options);
  Result<Ok, std::string> lock_();
  Result<Ok, std::string> recover_();
  Result<Ok, std::string> flush_();
  bool dirty_() const;
  Segment* segment_for_(raft::Index i) const;
  const Loc& loc_(raft::Index i) const { return index_[i - meta_.snap_index - 1]; }
  void retire_(std::unique_ptr<Segment> s);
  void note_(std::string line);
  void note_slow_sync_(int64_t ns);
  Unexpected<raft::LogError> fail_(std::string why);

  WalOptions opts_;
  int lock_fd_ = -1;
  Meta meta_;                                   // what the next sync() makes durable
  Meta durable_meta_;                           // what META holds now
  std::vector<std::unique_ptr<Segment>> segs_;  // live, ascending by first()
  std::vector<std::string> obsolete_;           // files to unlink once META is durable
  std::vector<Loc> index_;                      // entries first_index() .. last_index()
  bool failed_ = false;
  mutable std::string last_error_;
  std::vector<std::string> notes_;
  uint64_t slow_unreported_ = 0;  // slow syncs since the last line about them
  int64_t slowest_unreported_ns_ = 0;
  std::chrono::steady_clock::time_point last_slow_note_{};
  WalProbe probe_;
};

}  // namespace cairn::wal
