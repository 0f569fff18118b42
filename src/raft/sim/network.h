#pragma once

#include <cstdint>
#include <map>
#include <queue>
#include <string>
#include <vector>

#include "raft/env.h"
#include "raft/message.h"

namespace cairn::raft::sim {

/// A seeded fake network. Every message is encoded with the real codec when sent and decoded when
/// delivered; in between it may be dropped, duplicated, delayed (which reorders it) or cut off by
/// a partition. Delivery order depends only on the seed. Single-threaded; owned by the Cluster.
class SimNetwork {
 public:
  struct Faults {
    double drop = 0.02;
    double duplicate = 0.02;
    int min_delay = 1;
    int max_delay = 3;
  };

  explicit SimNetwork(uint64_t seed) : rng_(seed) {}

  void send(const Message& m, int64_t now);
  /// Messages due at or before `now`, in delivery order, already decoded.
  std::vector<Message> deliver_due(int64_t now);
  /// Splits nodes into groups: messages pass only within a group. Nodes not listed are isolated.
  void partition(const std::vector<std::vector<NodeId>>& groups);
  void heal() { group_.clear(); }
  bool partitioned() const { return !group_.empty(); }
  bool connected(NodeId a, NodeId b) const;
  /// The sender crashed: what it sent and is not yet delivered dies with its connections.
  void crashed(NodeId id) { ++epoch_[id]; }

  Faults faults;
  uint64_t sent = 0, dropped = 0, delivered = 0;

 private:
  struct InFlight {
    int64_t at;
    uint64_t seq;
    NodeId from;
    uint64_t epoch;
    std::string bytes;
    bool operator>(const InFlight& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  SplitMix64 rng_;
  uint64_t seq_ = 0;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> queue_;
  std::map<NodeId, int> group_;
  std::map<NodeId, uint64_t> epoch_;
};

/// The Transport of one simulated node: hands messages to the SimNetwork at the current time.
class SimTransport final : public Transport {
 public:
  SimTransport(SimNetwork& net, const int64_t& now) : net_(net), now_(now) {}
  void send(Message msg) override { net_.send(msg, now_); }

 private:
  SimNetwork& net_;
  const int64_t& now_;
};

}  // namespace cairn::raft::sim
