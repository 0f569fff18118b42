#include "raft/sim/linearizability.h"

#include <algorithm>
#include <map>
#include <set>

namespace cairn::raft::sim {
namespace {

/// Depth-first search for a valid linearization of one register's operations.
class Search {
 public:
  Search(std::vector<Operation> ops, uint64_t budget) : ops_(std::move(ops)), budget_(budget) {
    std::sort(ops_.begin(), ops_.end(), [](const Operation& a, const Operation& b) { return a.call < b.call; });
    done_.assign(ops_.size(), false);
  }

  // 1 = linearizable, 0 = not, -1 = budget exhausted.
  int run() { return dfs(std::string(), 0); }

 private:
  int dfs(const std::string& state, size_t n_done) {
    if (n_done == ops_.size()) return 1;
    if (++steps_ > budget_) return -1;
    std::string key = encode_done() + '\0' + state;
    if (!seen_.insert(key).second) return 0;
    // An op may go next only if it was called before every pending op returned.
    uint64_t min_ret = Operation::kUnknown;
    for (size_t i = 0; i < ops_.size(); ++i)
      if (!done_[i]) min_ret = std::min(min_ret, ops_[i].ret);
    int result = 0;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (done_[i]) continue;
      const Operation& op = ops_[i];
      if (op.call > min_ret) break;  // sorted by call: none after this qualifies
      std::string next = state;
      if (op.is_write) next = op.value;
      else if (op.value != state) continue;
      done_[i] = true;
      int r = dfs(next, n_done + 1);
      done_[i] = false;
      if (r != 0) return r;
    }
    return result;
  }

  std::string encode_done() const {
    std::string s((done_.size() + 7) / 8, '\0');
    for (size_t i = 0; i < done_.size(); ++i)
      if (done_[i]) s[i / 8] = static_cast<char>(s[i / 8] | (1 << (i % 8)));
    return s;
  }

  std::vector<Operation> ops_;
  std::vector<bool> done_;
  std::set<std::string> seen_;
  uint64_t budget_;
  uint64_t steps_ = 0;
};

}  // namespace

LinearizabilityResult check_linearizable(const std::vector<Operation>& history, uint64_t budget) {
  std::map<std::string, std::vector<Operation>> by_key;
  for (const Operation& op : history) by_key[op.key].push_back(op);
  LinearizabilityResult out;
  for (auto& [key, ops] : by_key) {
    // A write of unknown outcome that no read observed can always be linearized at the very end
    // (or never): dropping it loses nothing and keeps the search small.
    std::set<std::string> observed;
    for (const Operation& op : ops)
      if (!op.is_write) observed.insert(op.value);
    std::vector<Operation> kept;
    for (Operation& op : ops)
      if (!(op.is_write && op.ret == Operation::kUnknown && !observed.count(op.value))) kept.push_back(std::move(op));
    Search s(std::move(kept), budget);
    int r = s.run();
    if (r == 0) {
      out.ok = false;
      out.explanation = "history of key '" + key + "' is not linearizable";
      return out;
    }
    if (r < 0) out.inconclusive = true;
  }
  return out;
}

}  // namespace cairn::raft::sim
