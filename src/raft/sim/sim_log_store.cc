#include "raft/sim/sim_log_store.h"

namespace cairn::raft::sim {

void SimLogStore::set_hard_state(const HardState& hs) {
  live_.set_hard_state(hs);
  journal_.push_back([hs](MemoryLogStore& d) { d.set_hard_state(hs); });
}

Result<Ok, LogError> SimLogStore::append(const std::vector<Entry>& entries) {
  if (on_append && !entries.empty()) {
    auto prev = live_.term(entries.front().index - 1);
    Term pt = prev ? *prev : 0;
    for (const Entry& e : entries) {
      on_append(e, pt);
      pt = e.term;
    }
  }
  auto r = live_.append(entries);
  if (r) journal_.push_back([entries](MemoryLogStore& d) { (void)d.append(entries); });
  return r;
}

Result<Ok, LogError> SimLogStore::truncate_suffix(Index from) {
  auto r = live_.truncate_suffix(from);
  if (r) journal_.push_back([from](MemoryLogStore& d) { (void)d.truncate_suffix(from); });
  return r;
}

Result<Ok, LogError> SimLogStore::compact_prefix(Index upto) {
  auto r = live_.compact_prefix(upto);
  if (r) journal_.push_back([upto](MemoryLogStore& d) { (void)d.compact_prefix(upto); });
  return r;
}

Result<Ok, LogError> SimLogStore::reset(Index index, Term term) {
  auto r = live_.reset(index, term);
  if (r) journal_.push_back([index, term](MemoryLogStore& d) { (void)d.reset(index, term); });
  return r;
}

Result<Ok, LogError> SimLogStore::sync() {
  ++syncs;
  for (auto& op : journal_) op(durable_);
  journal_.clear();
  return Ok{};
}

void SimLogStore::crash() {
  journal_.clear();
  live_ = durable_;
}

}  // namespace cairn::raft::sim
