#pragma once

#include <functional>
#include <vector>

#include "raft/memory_log_store.h"

namespace cairn::raft::sim {

/// A fake disk: mutations go to a volatile image at once and are journalled; sync() replays the
/// journal onto the durable image; crash() throws the volatile image away. So a write that was
/// not synced before a crash is lost, exactly what LogStore's contract allows.
/// Owned by the Cluster; outlives every Node incarnation that uses it. Single-threaded.
class SimLogStore final : public LogStore {
 public:
  /// Called for every appended entry with the term of the entry before it (log-matching check).
  std::function<void(const Entry&, Term prev_term)> on_append;

  HardState hard_state() const override { return live_.hard_state(); }
  void set_hard_state(const HardState& hs) override;
  Index first_index() const override { return live_.first_index(); }
  Index last_index() const override { return live_.last_index(); }
  Result<Term, LogError> term(Index i) const override { return live_.term(i); }
  Result<std::vector<Entry>, LogError> entries(Index lo, Index hi, uint64_t max_bytes) const override {
    return live_.entries(lo, hi, max_bytes);
  }
  Result<Ok, LogError> append(const std::vector<Entry>& entries) override;
  Result<Ok, LogError> truncate_suffix(Index from) override;
  Result<Ok, LogError> compact_prefix(Index upto) override;
  Result<Ok, LogError> reset(Index index, Term term) override;
  Result<Ok, LogError> sync() override;

  void crash();
  const MemoryLogStore& live() const { return live_; }
  const MemoryLogStore& durable() const { return durable_; }
  uint64_t syncs = 0;

 private:
  MemoryLogStore live_;
  MemoryLogStore durable_;
  std::vector<std::function<void(MemoryLogStore&)>> journal_;
};

}  // namespace cairn::raft::sim
