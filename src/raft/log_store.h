#pragma once

#include <cstdint>
#include <vector>

#include "common/result.h"
#include "raft/types.h"

namespace cairn::raft {

enum class LogError { compacted, out_of_range, invalid, io };
const char* to_string(LogError e);

/// The Raft log plus the durable term/vote, as seen by one node.
///
/// Layout: entries occupy [first_index(), last_index()]; the entry just before them,
/// first_index() - 1, is the last one covered by a snapshot and only its term is kept. An empty
/// log has first_index() == last_index() + 1.
///
/// Durability: every mutating call may be buffered. Nothing is durable until sync() returns Ok;
/// a crash loses any subset-suffix of the mutations made since the last sync (the simulator loses
/// all of them). Reads always see every mutation made so far, synced or not. The node relies on
/// this contract as follows, and implementations must not reorder mutations across sync():
///   - term and vote are set_hard_state()'d and sync()'d before any message that depends on them
///     (a vote, a candidacy, any message of the new term) is handed to the Transport;
///   - appended entries are sync()'d before the node acknowledges them (append_resp) or counts
///     them towards its own quorum as leader.
///
/// Threads: one thread at a time (the node's). Lifetime: outlives the Node using it.
class LogStore {
 public:
  virtual ~LogStore() = default;

  virtual HardState hard_state() const = 0;
  virtual void set_hard_state(const HardState& hs) = 0;

  virtual Index first_index() const = 0;
  virtual Index last_index() const = 0;
  /// Term of entry `i` for i in [first_index() - 1, last_index()]; `compacted` below that range,
  /// `out_of_range` above it. term(0) of a fresh log is 0.
  virtual Result<Term, LogError> term(Index i) const = 0;
  /// Entries [lo, hi) with lo >= first_index() and hi <= last_index() + 1; stops early once the
  /// data of the returned entries exceeds max_bytes, but always returns at least one entry when
  /// lo < hi.
  virtual Result<std::vector<Entry>, LogError> entries(Index lo, Index hi, uint64_t max_bytes) const = 0;

  /// Appends entries whose indexes run consecutively from last_index() + 1.
  virtual Result<Ok, LogError> append(const std::vector<Entry>& entries) = 0;
  /// Removes entries [from, last_index()]; from must be >= first_index().
  virtual Result<Ok, LogError> truncate_suffix(Index from) = 0;
  /// Discards entries up to and including `upto` (which must be in [first_index() - 1,
  /// last_index()]) after a snapshot covering them was made durable.
  virtual Result<Ok, LogError> compact_prefix(Index upto) = 0;
  /// Discards every entry; the log then starts after (index, term) of an installed snapshot.
  virtual Result<Ok, LogError> reset(Index index, Term term) = 0;
  /// Durability barrier for every mutation above and set_hard_state().
  virtual Result<Ok, LogError> sync() = 0;
};

}  // namespace cairn::raft
