#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
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
  Harness(Harness&&) = default;  // peers live on the heap: nodes keep their references
  /// Teardown: the invariants hold at the end of every test too.
  ~Harness() { check_invariants(); }

  /// LogCabin-style invariants (LogCabin's RaftConsensusInvariants), checked after every
  /// delivery round, every tick_all() step and at teardown, across everything seen so far:
  /// election safety (at most one leader per term), log matching (two logs holding an entry
  /// of the same index and term hold the same entries up to it) and that a committed entry
  /// never changes. A failure is a test failure naming the nodes and the index.
  void check_invariants() {
    if (!invariants_checked) return;
    for (auto& [id, p] : peers) {
      if (!p->node) continue;
      const Node& n = *p->node;
      if (n.is_leader()) {
        auto [it, fresh] = leaders_.emplace(n.term(), id);
        if (!fresh && it->second != id) {
          report("election safety: nodes " + std::to_string(it->second) + " and " +
                 std::to_string(id) + " both led term " + std::to_string(n.term()));
        }
      }
      const MemoryLogStore& log = p->log;
      const Index upto = std::min(n.status().commit, log.last_index());
      for (Index i = log.first_index(); i <= upto; ++i) {
        const Entry& e = log.at(i);
        auto [it, fresh] = committed_.emplace(i, e);
        if (!fresh && !(it->second == e)) {
          report("committed entry " + std::to_string(i) + " changed on node " +
                 std::to_string(id) + " (term " + std::to_string(e.term) + ", committed with term " +
                 std::to_string(it->second.term) + ")");
        }
      }
    }
    for (auto a = peers.begin(); a != peers.end(); ++a) {
      for (auto b = std::next(a); b != peers.end(); ++b) check_log_matching(*a, *b);
    }
  }

  /// Switches the checks off for a test that plants a bug which breaks them on purpose.
  bool invariants_checked = true;

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
    // The machine completes saves and restores at once; the driver's part is reporting them.
    Peer* peer = &p;
    p.sm.on_saved = [peer](const SnapshotMeta& m, bool ok) {
      if (peer->node) peer->node->snapshot_saved(m, ok);
    };
    p.sm.on_restored = [peer](const SnapshotMeta& m, bool ok) {
      if (peer->node) peer->node->snapshot_restored(m, ok);
    };
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
      if (batch.empty()) break;
      for (const Message& m : batch) deliver_one(m, filter);
      check_invariants();
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
  /// One test failure per distinct violation (the checks run after every step).
  void report(const std::string& violation) {
    if (reported_.insert(violation).second) ADD_FAILURE() << violation;
  }

  void check_log_matching(const std::pair<const NodeId, std::unique_ptr<Peer>>& a,
                          const std::pair<const NodeId, std::unique_ptr<Peer>>& b) {
    const MemoryLogStore& la = a.second->log;
    const MemoryLogStore& lb = b.second->log;
    const Index lo = std::max(la.first_index(), lb.first_index());
    const Index hi = std::min(la.last_index(), lb.last_index());
    // The highest index where both hold the same term: everything from lo up to it must match.
    Index same = 0;
    for (Index i = hi; i >= lo && i > 0; --i) {
      if (la.at(i).term == lb.at(i).term) {
        same = i;
        break;
      }
    }
    for (Index i = lo; i <= same; ++i) {
      if (!(la.at(i) == lb.at(i))) {
        report("log matching: nodes " + std::to_string(a.first) + " and " +
               std::to_string(b.first) + " agree on the term at index " + std::to_string(same) +
               " but differ at " + std::to_string(i));
        return;
      }
    }
  }

  Config base_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::map<Term, NodeId> leaders_;
  std::map<Index, Entry> committed_;
  std::set<std::string> reported_;
};

}  // namespace cairn::raft::test
