#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace cairn::raft::sim {

/// One client operation on a key-value register map. Times are positions in a global event
/// order (strictly increasing, unique). An operation whose outcome is unknown (timeout, dropped)
/// has ret == kUnknown: it may have taken effect at any time after its call, or never.
struct Operation {
  static constexpr uint64_t kUnknown = std::numeric_limits<uint64_t>::max();
  int client = 0;
  std::string key;
  bool is_write = false;
  std::string value;  // write: the value written; read: the value observed ("" = absent)
  uint64_t call = 0;
  uint64_t ret = kUnknown;
};

/// Verdict of check_linearizable().
struct LinearizabilityResult {
  bool ok = true;
  bool inconclusive = false;  // search budget exhausted (treated as ok, reported)
  std::string explanation;
};

/// Wing–Gong search with memoisation (as in Porcupine), run per key (registers are independent,
/// so the history is linearizable iff each key's sub-history is). Reads of a value no write
/// produced, stale reads and lost writes all make it fail.
LinearizabilityResult check_linearizable(const std::vector<Operation>& history, uint64_t budget = 5'000'000);

}  // namespace cairn::raft::sim
