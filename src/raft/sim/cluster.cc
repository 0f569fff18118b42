#include "raft/sim/cluster.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "raft/sim/kv_state_machine.h"
#include "raft/sim/linearizability.h"
#include "raft/sim/network.h"
#include "raft/sim/sim_log_store.h"

namespace cairn::raft::sim {
namespace {

/// One server: its durable parts (fake disk, state machine snapshot) survive crashes; the Node
/// object is one incarnation.
struct SimServer {
  NodeId id = kNoNode;
  SimLogStore store;
  KvStateMachine sm;
  std::unique_ptr<SimTransport> transport;
  std::unique_ptr<SplitMix64> rng;
  std::unique_ptr<Node> node;
  ConfState bootstrap;
  int64_t down_until = -1;  // >= 0 while crashed
  int64_t retire_at = -1;
  bool retired = false;
  bool was_member = false;
  Role last_role = Role::follower;
  Term last_term = 0;
  bool up() const { return node != nullptr; }
};

/// A simulated client: one operation outstanding at a time, sent to the node it believes leads.
struct Client {
  int id = 0;
  NodeId target = kNoNode;
  bool busy = false;
  NodeId waiting_on = kNoNode;
  size_t op = 0;  // index into history while busy
  uint64_t n = 0;
};

/// What the checkers remember of an entry.
struct Recorded {
  Term term;
  EntryType type;
  std::string data;
  bool operator==(const Recorded&) const = default;
};

/// One simulated run: servers, network, clients, fault injection and the invariant checkers.
/// Lives for one run; single-threaded.
class Cluster {
 public:
  explicit Cluster(const SimOptions& o) : opt_(o), rng_(o.seed * 0x9e3779b97f4a7c15ull + 7), net_(o.seed ^ 0x5bd1e995) {
    // Per-seed variety in batching, pipelining, snapshot sizes and network quality.
    cfg_.election_ticks = 10;
    cfg_.heartbeat_ticks = 1 + static_cast<int>(rng_.below(2));
    cfg_.max_msg_bytes = 8 + rng_.below(120);
    cfg_.max_inflight = 1 + rng_.below(6);
    cfg_.proposal_timeout_ticks = 40;
    cfg_.read_timeout_ticks = 30;
    cfg_.snapshot_threshold = 24 + rng_.below(80);
    cfg_.snapshot_trailing = 4 + rng_.below(16);
    cfg_.snapshot_chunk_bytes = 16 + rng_.below(64);
    cfg_.max_promote_lag = 10;
    cfg_.bugs = o.bugs;
    net_.faults.drop = 0.01 + 0.05 * static_cast<double>(rng_.below(100)) / 100.0;
    net_.faults.duplicate = 0.02;
    net_.faults.max_delay = 1 + static_cast<int>(rng_.below(4));
    // Each seed draws a fault profile, so that a batch of seeds covers calm clusters as well as
    // ones where crashes and elections come thick and fast.
    profile_ = static_cast<int>(rng_.below(4));
    // Without check-quorum a deposed leader lingers in its minority: its reads must still be safe.
    cfg_.check_quorum = rng_.chance(0.6);
    switch (profile_) {
      case 0:  // steady: rare faults
        crash_rate_ = 0.003;
        break;
      case 1:  // crashy: frequent, short crashes, also right after voting or acknowledging
        crash_rate_ = 0.03;
        max_down_ = 12;
        crash_after_vote_ = 0.3;
        crash_after_ack_ = 0.01;
        kill_new_leader_ = 0.3;
        break;
      case 2:  // churn: elections without pre-vote, slow and lossy network, small messages
        crash_rate_ = 0.015;
        max_down_ = 20;
        crash_after_vote_ = 0.1;
        crash_after_ack_ = 0.02;
        kill_new_leader_ = 0.3;
        cfg_.pre_vote = rng_.chance(0.5);
        cfg_.max_msg_bytes = 1;
        cfg_.max_inflight = 1;
        net_.faults.max_delay = 2 + static_cast<int>(rng_.below(6));
        break;
      case 3:  // flapping leaders: most new leaders die young, restarts are quick, messages small
        crash_rate_ = 0.01;
        max_down_ = 8;
        crash_after_vote_ = 0.05;
        crash_after_ack_ = 0.05;
        kill_new_leader_ = 0.6;
        cfg_.max_msg_bytes = 1;
        cfg_.max_inflight = 1;
        net_.faults.drop = 0.1;
        net_.faults.max_delay = 2 + static_cast<int>(rng_.below(6));
        break;
    }
    ConfState boot;
    for (int i = 1; i <= o.nodes; ++i) boot.voters.push_back(static_cast<NodeId>(i));
    for (NodeId id : boot.voters) add_server(id, boot);
    next_id_ = static_cast<NodeId>(o.nodes + 1);
    for (int c = 0; c < 4; ++c) clients_.push_back(Client{c, static_cast<NodeId>(1 + rng_.below(o.nodes))});
  }

  SimReport run() {
    for (now_ = 1; now_ <= opt_.steps && report_.ok; ++now_) {
      bool quiet = now_ > opt_.steps - 200;  // last stretch: heal everything, check liveness
      if (quiet) calm();
      else inject_faults();
      step_once();
    }
    if (report_.ok) final_checks();
    report_.messages = net_.sent;
    return report_;
  }

 private:
  // ---------------------------------------------------------------- servers
  void add_server(NodeId id, const ConfState& bootstrap) {
    auto s = std::make_unique<SimServer>();
    s->id = id;
    s->bootstrap = bootstrap;
    s->transport = std::make_unique<SimTransport>(net_, now_);
    s->store.on_append = [this, id](const Entry& e, Term prev) { check_append(id, e, prev); };
    s->sm.on_apply = [this, id, st = s.get()](const Entry& e) {
      check_apply(id, e);
      check_apply_durable(id, st->store, e);
    };
    s->sm.async = true;  // saves and restores complete in complete_snapshot_work()
    servers_[id] = std::move(s);
    start(*servers_[id]);
  }

  void start(SimServer& s) {
    // Durability of compaction: the state machine's durable state and the log must together
    // hold every entry. A log compacted beyond the latest durable snapshot has lost entries that
    // no node may have anywhere else (and the Node would refuse to start on it).
    const SnapshotMeta durable = s.sm.applied_state();
    if (s.store.first_index() > durable.index + 1) {
      fail("compaction before a durable snapshot: node " + std::to_string(s.id) +
           " restarts with its state machine at " + std::to_string(durable.index) +
           " but its log starts at " + std::to_string(s.store.first_index()) +
           ": entries in between are lost");
      return;
    }
    Config c = cfg_;
    c.id = s.id;
    c.bootstrap = s.bootstrap;
    s.rng = std::make_unique<SplitMix64>(rng_.next());
    s.down_until = -1;
    s.node = std::make_unique<Node>(c, s.store, s.sm, *s.transport, *s.rng);
    s.last_role = Role::follower;
    s.last_term = s.node->term();
  }

  void crash(SimServer& s) {
    s.node.reset();
    net_.crashed(s.id);
    s.store.crash();
    s.sm.crash();
    ++report_.crashes;
    for (Client& c : clients_)
      if (c.busy && c.waiting_on == s.id) finish_unknown(c);
  }

  std::vector<SimServer*> live() {
    std::vector<SimServer*> out;
    for (auto& [id, s] : servers_)
      if (s->up() && !s->retired) out.push_back(s.get());
    return out;
  }

  SimServer* leader() {
    SimServer* best = nullptr;
    for (SimServer* s : live())
      if (s->node->is_leader() && (!best || s->node->term() > best->node->term())) best = s;
    return best;
  }

  // ---------------------------------------------------------------- faults
  void inject_faults() {
    // Restart crashed servers whose downtime is over; retire removed ones.
    for (auto& [id, s] : servers_) {
      if (!s->retired && !s->up() && s->down_until >= 0 && now_ >= s->down_until) start(*s);
      if (!s->retired && s->retire_at >= 0 && now_ >= s->retire_at) {
        s->retired = true;
        if (s->up()) crash(*s);
      }
    }
    for (auto it = doomed_.begin(); it != doomed_.end();) {
      if (it->first > now_) {
        ++it;
        continue;
      }
      SimServer& s = *servers_[it->second];
      if (s.up() && !s.retired) {
        crash(s);
        s.down_until = now_ + 1 + static_cast<int64_t>(rng_.below(max_down_));
      }
      it = doomed_.erase(it);
    }
    std::vector<SimServer*> up = live();
    int down = 0;
    for (auto& [id, s] : servers_)
      if (!s->retired && !s->up()) ++down;
    if (rng_.chance(crash_rate_) && !up.empty() && down < (opt_.nodes - 1) / 2 + 1) {
      // Crash leaders more often: that is where the interesting histories are.
      SimServer* victim = up[rng_.below(up.size())];
      if (SimServer* l = leader(); l && rng_.chance(0.5)) victim = l;
      crash(*victim);
      victim->down_until = now_ + 1 + static_cast<int64_t>(rng_.below(max_down_));
    }
    // A server's storage fails for a while: its applies are deferred, never skipped. Drawn from
    // a generator of its own so that the other faults of a seed stay as they were.
    if (disk_rng_.chance(0.003) && !up.empty()) {
      up[disk_rng_.below(up.size())]->sm.fail_next_applies = 1 + static_cast<int>(disk_rng_.below(40));
    }
    // A group of applies fails to commit as a whole (the database transaction failed).
    if (group_rng_.chance(0.003) && !up.empty()) {
      up[group_rng_.below(up.size())]->sm.fail_next_groups = 1 + static_cast<int>(group_rng_.below(5));
    }
    if (!net_.partitioned() && rng_.chance(0.004)) {
      std::vector<std::vector<NodeId>> groups(2);
      for (auto& [id, s] : servers_) groups[rng_.below(2)].push_back(id);
      net_.partition(groups);
      heal_at_ = now_ + 10 + static_cast<int64_t>(rng_.below(80));
      ++report_.partitions;
    } else if (net_.partitioned() && now_ >= heal_at_) {
      net_.heal();
    }
    if (opt_.membership && rng_.chance(0.004)) change_membership();
    if (rng_.chance(0.004)) {
      if (SimServer* l = leader()) {
        Status st = l->node->status();
        NodeId target = st.conf.voters[rng_.below(st.conf.voters.size())];
        if (l->node->transfer_leadership(target)) ++report_.transfers;
      }
    }
  }

  void calm() {
    net_.heal();
    net_.faults.drop = 0;
    net_.faults.duplicate = 0;
    for (auto& [id, s] : servers_) {
      if (!s->retired && s->retire_at >= 0 && now_ >= s->retire_at) {
        s->retired = true;
        if (s->up()) crash(*s);
      }
      if (!s->retired && !s->up()) start(*s);
    }
  }

  void change_membership() {
    SimServer* l = leader();
    if (!l) return;
    Status st = l->node->status();
    ConfChange cc;
    if (!st.conf.learners.empty()) {
      cc = {ConfChangeType::promote, st.conf.learners.front()};
    } else if (static_cast<int>(st.conf.voters.size()) > opt_.nodes) {
      cc = {ConfChangeType::remove, st.conf.voters[rng_.below(st.conf.voters.size())]};
    } else {
      NodeId id = next_id_++;
      add_server(id, ConfState{});
      cc = {ConfChangeType::add_learner, id};
    }
    ProposalHandle h = l->node->propose_conf_change(cc);
    h.then([this, cc](const ProposalResult& r) {
      if (r.status != ProposalStatus::applied) return;
      ++report_.conf_changes;
      if (cc.type == ConfChangeType::remove && servers_[cc.node]->retire_at < 0) servers_[cc.node]->retire_at = now_ + 30;
    });
  }

  // ---------------------------------------------------------------- clients
  void finish_unknown(Client& c) {
    Operation& op = history_[c.op];
    if (!op.is_write) dead_.push_back(c.op);  // an unanswered read constrains nothing
    c.busy = false;
    c.target = static_cast<NodeId>(1 + rng_.below(next_id_ - 1));
  }

  void run_clients() {
    for (Client& c : clients_) {
      if (c.busy || !rng_.chance(0.25)) continue;
      // Clients sometimes try another node, as clients of a real cluster do after a slow answer;
      // it gets writes to a new leader while the old one is still serving in its minority.
      if (rng_.chance(0.2)) c.target = static_cast<NodeId>(1 + rng_.below(next_id_ - 1));
      auto it = servers_.find(c.target);
      if (it == servers_.end() || !it->second->up() || it->second->retired) {
        c.target = static_cast<NodeId>(1 + rng_.below(next_id_ - 1));
        continue;
      }
      SimServer* s = it->second.get();
      Operation op;
      op.client = c.id;
      op.key = "k" + std::to_string(rng_.below(3));
      op.is_write = rng_.chance(0.5);
      op.call = seq_++;
      if (op.is_write) op.value = "c" + std::to_string(c.id) + "-" + std::to_string(++c.n);
      size_t idx = history_.size();
      history_.push_back(op);
      c.busy = true;
      c.waiting_on = s->id;
      c.op = idx;
      int cid = c.id;
      if (op.is_write) {
        ProposalHandle h = s->node->propose(KvStateMachine::encode_put(op.key, op.value));
        h.then([this, cid, idx](const ProposalResult& r) { on_write_done(clients_[cid], idx, r); });
      } else {
        ReadHandle h = s->node->read_index();
        SimServer* srv = s;
        h.then([this, cid, idx, srv](const ReadResult& r) { on_read_done(clients_[cid], idx, *srv, r); });
      }
    }
  }

  void on_write_done(Client& c, size_t idx, const ProposalResult& r) {
    if (!c.busy || c.op != idx) return;
    Operation& op = history_[idx];
    switch (r.status) {
      case ProposalStatus::applied:
        op.ret = seq_++;
        ++report_.writes_acked;
        acked_[r.index] = Recorded{r.term, EntryType::normal, KvStateMachine::encode_put(op.key, op.value)};
        if (auto it = applied_.find(r.index); it == applied_.end() || !(it->second == acked_[r.index]))
          fail("acknowledged write at index " + std::to_string(r.index) + " is not the entry applied there");
        break;
      case ProposalStatus::not_leader:
      case ProposalStatus::rejected:
        dead_.push_back(idx);  // never appended: no effect
        break;
      case ProposalStatus::timeout:
      case ProposalStatus::dropped:
        break;  // unknown outcome: stays in the history with ret = unknown
    }
    c.busy = false;
    if (r.leader_hint != kNoNode) c.target = r.leader_hint;
    else if (r.status != ProposalStatus::applied) c.target = static_cast<NodeId>(1 + rng_.below(next_id_ - 1));
  }

  void on_read_done(Client& c, size_t idx, SimServer& s, const ReadResult& r) {
    if (!c.busy || c.op != idx) return;
    Operation& op = history_[idx];
    if (r.status == ReadStatus::ok) {
      op.value = s.sm.get(op.key);
      op.ret = seq_++;
      ++report_.reads_ok;
    } else {
      dead_.push_back(idx);
      if (r.leader_hint != kNoNode) c.target = r.leader_hint;
      else c.target = static_cast<NodeId>(1 + rng_.below(next_id_ - 1));
    }
    c.busy = false;
  }

  // ---------------------------------------------------------------- one step
  void step_once() {
    // Group commit as the server drives it: some steps run a node's deliveries, tick and client
    // requests inside one Node::Batch (one sync, one round of messages at its end).
    std::map<NodeId, std::unique_ptr<Node::Batch>> batches;
    if (batching_) {
      for (SimServer* s : live())
        if (batch_rng_.chance(0.7)) {
          batches[s->id] = std::make_unique<Node::Batch>(*s->node);
          ++report_.batched_steps;
        }
    }
    for (Message& m : net_.deliver_due(now_)) {
      if (opt_.verbose && now_ > opt_.steps - 200)
        std::fprintf(stderr, "  t=%lld %s %llu->%llu term=%llu idx=%llu lt=%llu rej=%d\n", (long long)now_, to_string(m.type),
                     (unsigned long long)m.from, (unsigned long long)m.to, (unsigned long long)m.term,
                     (unsigned long long)m.index, (unsigned long long)m.log_term, (int)m.reject);
      auto it = servers_.find(m.to);
      if (it == servers_.end() || !it->second->up() || it->second->retired) continue;
      SimServer& s = *it->second;
      s.node->step(m);
      if (!report_.ok) return;
      // Crash right after a reply that depended on durable state: the vote or the entries it
      // acknowledged must survive.
      bool after_vote = m.type == MessageType::vote || m.type == MessageType::pre_vote;
      bool after_ack = (m.type == MessageType::append && !m.entries.empty()) ||
                       m.type == MessageType::append_resp;
      if (now_ <= opt_.steps - 200 && ((after_vote && rng_.chance(crash_after_vote_)) ||
                                       (after_ack && rng_.chance(crash_after_ack_)))) {
        batches.erase(s.id);  // the batch's flush sends the reply, then the node dies
        crash(s);
        s.down_until = now_ + 1 + static_cast<int64_t>(rng_.below(3));
      }
    }
    for (SimServer* s : live()) s->node->tick();
    run_clients();
    batches.clear();
    if (!report_.ok) return;
    complete_snapshot_work();
    if (!report_.ok) return;
    check_step();
  }

  // The state machines' background saves and restores end some steps after they started (more
  // entries applied meanwhile), now and then fail, and are lost when their server crashes first.
  void complete_snapshot_work() {
    bool calm = now_ > opt_.steps - 200;
    for (SimServer* s : live()) {
      if (s->sm.save_pending() && snap_rng_.chance(snap_done_chance_)) {
        bool fail = !calm && snap_rng_.chance(0.05);
        if (auto done = s->sm.complete_save(fail)) s->node->snapshot_saved(done->meta, done->ok);
      }
      if (s->sm.restore_pending() && snap_rng_.chance(snap_done_chance_)) {
        bool fail = !calm && snap_rng_.chance(0.05);
        auto done = s->sm.complete_restore(fail);
        if (done && done->ok && !calm && snap_rng_.chance(0.1)) {
          // The image is in place but the node dies before it hears so: it restarts from the
          // installed state next to its old log.
          crash(*s);
          s->down_until = now_ + 1 + static_cast<int64_t>(snap_rng_.below(3));
          continue;
        }
        if (done) s->node->snapshot_restored(done->meta, done->ok);
      }
      if (!report_.ok) return;
    }
  }

  // ---------------------------------------------------------------- invariants
  void fail(const std::string& what) {
    if (!report_.ok) return;
    report_.ok = false;
    report_.failure = what;
    report_.failed_step = now_;
  }

  // Log matching: two entries with the same index and term hold the same data and follow the
  // same term, so (by induction) the logs are identical up to them.
  void check_append(NodeId id, const Entry& e, Term prev_term) {
    auto key = std::make_pair(e.index, e.term);
    auto [it, fresh] = entries_.try_emplace(key, prev_term, Recorded{e.term, e.type, e.data});
    if (!fresh && (it->second.first != prev_term || !(it->second.second == Recorded{e.term, e.type, e.data})))
      fail("log matching: node " + std::to_string(id) + " holds a different entry " + std::to_string(e.index) +
           "@" + std::to_string(e.term));
  }

  // State machine safety: no two nodes apply different entries at one index.
  void check_apply(NodeId id, const Entry& e) {
    Recorded r{e.term, e.type, e.data};
    auto [it, fresh] = applied_.try_emplace(e.index, r);
    if (!fresh && !(it->second == r))
      fail("state machine safety: node " + std::to_string(id) + " applied " + std::to_string(e.index) + "@" +
           std::to_string(e.term) + " but another node applied " + std::to_string(e.index) + "@" +
           std::to_string(it->second.term));
    if (e.index > max_applied_) max_applied_ = e.index;
  }

  // A node applies only entries its own log holds durably: a crash must never leave the state
  // machine ahead of the log it restarts with.
  void check_apply_durable(NodeId id, const SimLogStore& store, const Entry& e) {
    const MemoryLogStore& d = store.durable();
    if (e.index < d.first_index()) return;  // within a durable snapshot's range
    auto t = d.term(e.index);
    if (!t || *t != e.term)
      fail("apply before sync: node " + std::to_string(id) + " applied " + std::to_string(e.index) +
           "@" + std::to_string(e.term) + " which its log does not hold durably (durable log ends at " +
           std::to_string(d.last_index()) + ")");
  }

  void check_step() {
    for (SimServer* s : live()) {
      Node& n = *s->node;
      Status st = n.status();
      if (st.commit > st.last_index) fail("commit index beyond the log on node " + std::to_string(s->id));
      if (st.applied > st.commit) fail("applied beyond commit on node " + std::to_string(s->id));
      if (st.role == Role::leader) {
        // Election safety: at most one leader per term, ever.
        last_leader_seen_ = now_;
        auto [it, fresh] = leaders_.try_emplace(st.term, s->id);
        if (!fresh && it->second != s->id)
          fail("election safety: nodes " + std::to_string(it->second) + " and " + std::to_string(s->id) +
               " both leaders of term " + std::to_string(st.term));
        if (s->last_role != Role::leader || s->last_term != st.term) {
          ++report_.elections;
          check_leader_completeness(*s, st);
          // Short-lived leaders leave uncommitted tails behind: the raw material of Figure 8.
          if (now_ <= opt_.steps - 200 && rng_.chance(kill_new_leader_))
            doomed_.emplace_back(now_ + static_cast<int64_t>(rng_.below(rng_.chance(0.5) ? 3 : 16)), s->id);
        }
      }
      if (st.role == Role::leader) {
        // A member that the leader's applied configuration no longer has is retired 30 steps
        // later, even if the leader that proposed the removal did not live to see it applied.
        for (auto& [id, srv] : servers_) {
          if (st.conf.contains(id)) srv->was_member = true;
          else if (srv->was_member && srv->retire_at < 0) srv->retire_at = now_ + 30;
        }
      }
      report_.max_commit = std::max(report_.max_commit, st.commit);
      s->last_role = st.role;
      s->last_term = st.term;
    }
  }

  // Leader completeness: a new leader holds every entry any node has applied (and so every
  // acknowledged write).
  void check_leader_completeness(SimServer& s, const Status& st) {
    const MemoryLogStore& log = s.store.live();
    if (st.last_index < max_applied_) {
      fail("leader completeness: leader " + std::to_string(s.id) + " of term " + std::to_string(st.term) +
           " lacks committed index " + std::to_string(max_applied_));
      return;
    }
    for (auto it = applied_.lower_bound(st.first_index); it != applied_.end(); ++it) {
      const Entry& e = log.at(it->first);
      if (!(Recorded{e.term, e.type, e.data} == it->second)) {
        fail("leader completeness: leader " + std::to_string(s.id) + " of term " + std::to_string(st.term) +
             " has a different entry at committed index " + std::to_string(it->first));
        return;
      }
    }
    for (auto it = acked_.lower_bound(st.first_index); it != acked_.end(); ++it) {
      const Entry& e = log.at(it->first);
      if (!(Recorded{e.term, e.type, e.data} == it->second)) {
        fail("acknowledged write lost at index " + std::to_string(it->first));
        return;
      }
    }
  }

  void final_checks() {
    if (last_leader_seen_ < opt_.steps - 100) {
      std::string detail;
      for (auto& [id, s] : servers_) {
        detail += " [" + std::to_string(id) + (s->retired ? " retired" : "");
        if (s->up()) {
          Status st = s->node->status();
          detail += std::string(" ") + to_string(st.role) + " t" + std::to_string(st.term) + " lead" +
                    std::to_string(st.leader) + " commit" + std::to_string(st.commit) + " last" +
                    std::to_string(st.last_index) + " voters";
          for (NodeId v : st.conf.voters) detail += "," + std::to_string(v);
        }
        detail += "]";
      }
      fail("liveness: no leader in the last 100 of 200 calm steps:" + detail);
      return;
    }
    std::sort(dead_.begin(), dead_.end());
    std::vector<Operation> hist;
    for (size_t i = 0; i < history_.size(); ++i) {
      if (std::binary_search(dead_.begin(), dead_.end(), i)) continue;
      Operation op = history_[i];
      if (!op.is_write && op.ret == Operation::kUnknown) continue;  // still pending read
      hist.push_back(op);
    }
    auto lin = check_linearizable(hist, opt_.linearizability_budget);
    report_.linearizability_inconclusive = lin.inconclusive;
    if (!lin.ok) fail("linearizability: " + lin.explanation);
    for (auto& [id, s] : servers_) report_.snapshots_installed += s->sm.snapshots_restored;
    for (auto& [id, s] : servers_) report_.apply_groups_failed += s->sm.groups_failed;
  }

  SimOptions opt_;
  SplitMix64 rng_;
  SplitMix64 disk_rng_{opt_.seed * 0x2545f4914f6cdd1dull + 11};
  // Its own stream, so that batching leaves every other random choice of a seed as it was.
  SplitMix64 batch_rng_{opt_.seed * 0x9fb21c651e98df25ull + 13};
  bool batching_ = batch_rng_.chance(0.5);
  SplitMix64 group_rng_{opt_.seed * 0xd6e8feb86659fd93ull + 17};
  // Snapshot completions draw from their own stream too; per seed, saves and restores end at
  // once or after ~3, ~10 or ~30 steps.
  SplitMix64 snap_rng_{opt_.seed * 0x94d049bb133111ebull + 19};
  double snap_done_chance_ = std::array<double, 4>{1.0, 0.3, 0.1, 0.03}[snap_rng_.below(4)];
  int profile_ = 0;
  double crash_rate_ = 0.006;
  int64_t max_down_ = 40;
  double crash_after_vote_ = 0;
  double crash_after_ack_ = 0;
  double kill_new_leader_ = 0;
  std::vector<std::pair<int64_t, NodeId>> doomed_;
  int64_t now_ = 0;
  SimNetwork net_;
  Config cfg_;
  std::map<NodeId, std::unique_ptr<SimServer>> servers_;
  NodeId next_id_ = 1;
  int64_t heal_at_ = 0;
  std::vector<Client> clients_;
  std::vector<Operation> history_;
  std::vector<size_t> dead_;
  uint64_t seq_ = 1;
  SimReport report_;
  // Checker state.
  std::map<std::pair<Index, Term>, std::pair<Term, Recorded>> entries_;
  std::map<Index, Recorded> applied_;
  std::map<Index, Recorded> acked_;
  std::map<Term, NodeId> leaders_;
  Index max_applied_ = 0;
  int64_t last_leader_seen_ = 0;
};

}  // namespace

SimReport run_simulation(const SimOptions& options) {
  Cluster c(options);
  return c.run();
}

}  // namespace cairn::raft::sim
