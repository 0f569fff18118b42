#include "raft/memory_log_store.h"

namespace cairn::raft {

const char* to_string(LogError e) {
  switch (e) {
    case LogError::compacted: return "compacted";
    case LogError::out_of_range: return "out of range";
    case LogError::invalid: return "invalid";
    case LogError::io: return "io";
  }
  return "?";
}

Result<Term, LogError> MemoryLogStore::term(Index i) const {
  if (i < snap_index_) return Unexpected{LogError::compacted};
  if (i > last_index()) return Unexpected{LogError::out_of_range};
  if (i == snap_index_) return snap_term_;
  return at(i).term;
}

Result<std::vector<Entry>, LogError> MemoryLogStore::entries(Index lo, Index hi, uint64_t max_bytes) const {
  if (lo < first_index()) return Unexpected{LogError::compacted};
  if (hi > last_index() + 1 || lo > hi) return Unexpected{LogError::out_of_range};
  std::vector<Entry> out;
  uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = at(i);
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

Result<Ok, LogError> MemoryLogStore::append(const std::vector<Entry>& entries) {
  Index expect = last_index() + 1;
  for (const Entry& e : entries)
    if (e.index != expect++) return Unexpected{LogError::invalid};
  entries_.insert(entries_.end(), entries.begin(), entries.end());
  return Ok{};
}

Result<Ok, LogError> MemoryLogStore::truncate_suffix(Index from) {
  if (from < first_index()) return Unexpected{LogError::compacted};
  if (from > last_index() + 1) return Unexpected{LogError::out_of_range};
  entries_.resize(from - first_index());
  return Ok{};
}

Result<Ok, LogError> MemoryLogStore::compact_prefix(Index upto) {
  if (upto < snap_index_) return Unexpected{LogError::compacted};
  if (upto > last_index()) return Unexpected{LogError::out_of_range};
  if (upto == snap_index_) return Ok{};
  snap_term_ = at(upto).term;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(upto - snap_index_));
  snap_index_ = upto;
  return Ok{};
}

Result<Ok, LogError> MemoryLogStore::reset(Index index, Term term) {
  entries_.clear();
  snap_index_ = index;
  snap_term_ = term;
  return Ok{};
}

}  // namespace cairn::raft
