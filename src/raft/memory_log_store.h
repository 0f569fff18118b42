#pragma once

#include <vector>

#include "raft/log_store.h"

namespace cairn::raft {

/// LogStore held in memory: sync() is a no-op, so it is "durable" only for the lifetime of the
/// object. Used by unit tests and, wrapped by the simulator's fake disk, to model both the
/// volatile and the durable image. Copyable. Threads: one at a time.
class MemoryLogStore final : public LogStore {
 public:
  HardState hard_state() const override { return hs_; }
  void set_hard_state(const HardState& hs) override { hs_ = hs; }
  Index first_index() const override { return snap_index_ + 1; }
  Index last_index() const override { return snap_index_ + entries_.size(); }
  Result<Term, LogError> term(Index i) const override;
  Result<std::vector<Entry>, LogError> entries(Index lo, Index hi, uint64_t max_bytes) const override;
  Result<Ok, LogError> append(const std::vector<Entry>& entries) override;
  Result<Ok, LogError> truncate_suffix(Index from) override;
  Result<Ok, LogError> compact_prefix(Index upto) override;
  Result<Ok, LogError> reset(Index index, Term term) override;
  Result<Ok, LogError> sync() override { return Ok{}; }

  /// Direct access for checkers: the entry at i in [first_index(), last_index()].
  const Entry& at(Index i) const { return entries_[i - snap_index_ - 1]; }

 private:
  HardState hs_;
  Index snap_index_ = 0;
  Term snap_term_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace cairn::raft
