#include "raft/sim/network.h"

#include <cstdlib>

namespace cairn::raft::sim {

bool SimNetwork::connected(NodeId a, NodeId b) const {
  if (group_.empty()) return true;
  auto ia = group_.find(a), ib = group_.find(b);
  return ia != group_.end() && ib != group_.end() && ia->second == ib->second;
}

void SimNetwork::partition(const std::vector<std::vector<NodeId>>& groups) {
  group_.clear();
  for (size_t g = 0; g < groups.size(); ++g)
    for (NodeId id : groups[g]) group_[id] = static_cast<int>(g);
}

void SimNetwork::send(const Message& m, int64_t now) {
  ++sent;
  if (!connected(m.from, m.to) || rng_.chance(faults.drop)) {
    ++dropped;
    return;
  }
  std::string bytes = encode(m);
  int copies = rng_.chance(faults.duplicate) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    int64_t delay = faults.min_delay + static_cast<int64_t>(rng_.below(faults.max_delay - faults.min_delay + 1));
    queue_.push(InFlight{now + delay, seq_++, m.from, epoch_[m.from], bytes});
  }
}

std::vector<Message> SimNetwork::deliver_due(int64_t now) {
  std::vector<Message> out;
  while (!queue_.empty() && queue_.top().at <= now) {
    if (queue_.top().epoch != epoch_[queue_.top().from]) {
      ++dropped;
      queue_.pop();
      continue;
    }
    auto decoded = decode(queue_.top().bytes);
    queue_.pop();
    if (!decoded) std::abort();  // the codec must round-trip everything the core sends
    if (!connected(decoded->from, decoded->to)) {
      ++dropped;
      continue;
    }
    ++delivered;
    out.push_back(std::move(decoded).value());
  }
  return out;
}

}  // namespace cairn::raft::sim
