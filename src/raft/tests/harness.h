#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "raft/memory_log_store.h"
#include "raft/node.h"
#include "raft/sim/kv_state_machine.h"

namespace cairn::raft::test {

/// Transport that keeps what the node sends, for tests to inspect or deliver.
class CaptureTransport final : public Transport {
 public:
  void send(Message msg) override { out.push_back(std::move(msg)); }
  std::vector<Message> out;
};

/// A hand-driven cluster for paper-style unit tests: nothing moves unless the test ticks a node
/// or delivers messages. Messages pass through the codec. Single-threaded.
class Harness {
 public:
  struct Peer {
    MemoryLogStore log;
    sim::KvStateMachine sm;
    CaptureTransport tr;
    std::unique_ptr<SplitMix64> rng;
    std::unique_ptr<Node> node;
  };

  explicit Harness(int n, Config base = {}) : base_(base) {
    for (int i = 1; i <= n; ++i) boot.voters.push_back(static_cast<NodeId>(i));
    for (NodeId id : boot.voters) peers[id] = std::make_unique<Peer>();
  }

  /// Pre-populates a log before start(): entry 1 is the bootstrap configuration, then one entry
  /// per term given (indexes 2, 3, ...).
  void prepare(NodeId id, const std::vector<Term>& terms, Term current_term) {
    Peer& p = *peers.at(id);
    std::vector<Entry> es{Entry{1, 1, EntryType::conf_change, encode_conf_state(boot)}};
    for (size_t i = 0; i < terms.size(); ++i)
      es.push_back(Entry{terms[i], i + 2, EntryType::normal, "k=" + std::to_string(terms[i]) + "-" + std::to_string(i + 2)});
    (void)p.log.append(es);
    p.log.set_hard_state(HardState{current_term, kNoNode, 1});
  }

  void start(NodeId id, bool bootstrap = true) {
    Peer& p = *peers.at(id);
    Config c = base_;
    c.id = id;
    if (bootstrap) c.bootstrap = boot;
    p.rng = std::make_unique<SplitMix64>(id * 7919);
    p.node = std::make_unique<Node>(c, p.log, p.sm, p.tr, *p.rng);
  }
  void start_all() {
    for (auto& [id, p] : peers) start(id);
  }
  void add_peer(NodeId id) {
    peers[id] = std::make_unique<Peer>();
    start(id, false);
  }

  Node& node(NodeId id) { return *peers.at(id)->node; }

  void cut(NodeId a, NodeId b) {
    cut_.insert({a, b});
    cut_.insert({b, a});
  }
  void isolate(NodeId a) {
    for (auto& [id, p] : peers)
      if (id != a) cut(a, id);
  }
  void heal() { cut_.clear(); }

  /// Delivers messages until none are left (max_rounds bounds livelock). `filter` may drop any.
  void deliver(int max_rounds = 1000, std::function<bool(const Message&)> filter = {}) {
    for (int round = 0; round < max_rounds; ++round) {
      std::vector<Message> batch;
      for (auto& [id, p] : peers) {
        for (auto& m : p->tr.out) batch.push_back(std::move(m));
        p->tr.out.clear();
      }
      if (batch.empty()) return;
      for (const Message& m : batch) deliver_one(m, filter);
    }
  }

  /// Delivers one message (through the codec), honouring cuts.
  void deliver_one(const Message& m, const std::function<bool(const Message&)>& filter = {}) {
    if (cut_.count({m.from, m.to}) || !peers.count(m.to) || !peers.at(m.to)->node) return;
    if (filter && !filter(m)) return;
    auto decoded = decode(encode(m));
    if (!decoded) std::abort();
    peers.at(m.to)->node->step(*decoded);
  }

  void tick(NodeId id, int n = 1) {
    for (int i = 0; i < n; ++i) node(id).tick();
  }
  void tick_all(int n = 1) {
    for (int i = 0; i < n; ++i) {
      for (auto& [id, p] : peers)
        if (p->node) p->node->tick();
      deliver();
    }
  }

  /// Ticks only `id` until it wins an election (others stay quiet, so they grant).
  bool elect(NodeId id) {
    for (int i = 0; i < 100 && !node(id).is_leader(); ++i) {
      tick(id);
      deliver();
    }
    deliver();
    return node(id).is_leader();
  }

  std::vector<Message> drain(NodeId id) {
    auto out = std::move(peers.at(id)->tr.out);
    peers.at(id)->tr.out.clear();
    return out;
  }

  ConfState boot;
  std::map<NodeId, std::unique_ptr<Peer>> peers;

 private:
  Config base_;
  std::set<std::pair<NodeId, NodeId>> cut_;
};

}  // namespace cairn::raft::test
