#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "raft/config.h"
#include "raft/env.h"
#include "raft/log_store.h"
#include "raft/message.h"
#include "raft/probe.h"
#include "raft/progress.h"
#include "raft/state_machine.h"
#include "raft/types.h"

namespace cairn::raft {

enum class Role { follower, pre_candidate, candidate, leader };
const char* to_string(Role r);

enum class ProposalStatus {
  applied,     // committed and applied; `result` holds the state machine's answer
  not_leader,  // not appended anywhere; retry at `leader_hint` (0 = unknown)
  rejected,    // invalid request (e.g. membership change while another is pending); `result` says why
  timeout,     // outcome unknown: may still be applied later
  dropped,     // this node lost leadership: outcome unknown, may still be applied
};
const char* to_string(ProposalStatus s);

/// How a proposal ended (see ProposalStatus). A plain value type.
struct ProposalResult {
  ProposalStatus status = ProposalStatus::dropped;
  std::string result;
  NodeId leader_hint = kNoNode;
  Index index = 0;  // where the entry was appended (0 if it was not)
  Term term = 0;
};

enum class ReadStatus { ok, not_leader, timeout, dropped };
/// How a ReadIndex request ended. A plain value type.
struct ReadResult {
  ReadStatus status = ReadStatus::dropped;
  Index read_index = 0;  // on ok: the state machine has applied at least this far
  NodeId leader_hint = kNoNode;
};

/// Completion of one asynchronous request (proposal or read). Completed exactly once, on the
/// node's thread; callbacks run after the node has finished its current step, so they may call
/// back into the Node (propose from inside a callback is safe). Shared by the node and caller.
template <class R>
class Handle {
 public:
  Handle() : s_(std::make_shared<State>()) {}
  bool done() const { return s_->done; }
  const R& result() const { return s_->result; }
  /// Runs fn(result) on completion, or at once if already done.
  void then(std::function<void(const R&)> fn) const {
    if (s_->done) fn(s_->result);
    else s_->callbacks.push_back(std::move(fn));
  }
  void complete(R r) const {  // used by the Node
    if (s_->done) return;
    s_->done = true;
    s_->result = std::move(r);
    auto cbs = std::move(s_->callbacks);
    for (auto& cb : cbs) cb(s_->result);
  }

 private:
  struct State {
    bool done = false;
    R result;
    std::vector<std::function<void(const R&)>> callbacks;
  };
  std::shared_ptr<State> s_;
};
using ProposalHandle = Handle<ProposalResult>;
using ReadHandle = Handle<ReadResult>;

/// A snapshot of a node's state for tests, the simulator and status pages.
struct Status {
  NodeId id = kNoNode;
  Role role = Role::follower;
  Term term = 0;
  NodeId vote = kNoNode;
  NodeId leader = kNoNode;
  Index commit = 0;
  Index applied = 0;
  Index first_index = 0;
  Index last_index = 0;
  ConfState conf;
  NodeId transferee = kNoNode;
};

/// An election event with its reason, recorded when Config::record_events is set and taken by
/// the driver (Node::take_events) to log and count. A plain value type.
struct Event {
  enum class Kind {
    term_changed,    // the current term moved on
    campaign,        // started a pre-vote or an election
    vote_granted,    // to `peer` (real votes only)
    vote_rejected,   // `peer`'s request
    leader_changed,  // `peer` is now the leader this node knows (kNoNode: none)
    stepped_down,    // was leader, is not any more
  };
  Kind kind = Kind::term_changed;
  Term term = 0;          // this node's term after the event
  NodeId peer = kNoNode;  // see Kind
  std::string reason;
};
const char* to_string(Event::Kind k);

/// The Raft consensus core of one server.
///
/// Single-threaded and passive: it acts only when called, through tick() (time), step()
/// (a message from a peer), propose(), propose_conf_change(), read_index() and
/// transfer_leadership(). Every such call runs to completion in this order, which is what makes
/// durability explicit: (1) protocol state changes and log mutations, (2) LogStore::sync() if
/// anything needing durability changed, (3) outgoing messages handed to the Transport,
/// (4) committed entries applied to the StateMachine, (5) completions of proposals and reads
/// delivered. A leader hands new entries to its followers before its own sync (Raft paper
/// §10.2.1: it counts itself towards a quorum only once synced), so its disk write and theirs
/// overlap. Calls made inside a Batch share one flush: one sync and one round of messages for
/// every proposal and message of the batch (group commit).
///
/// Threads: all methods must be called from one thread at a time (the simulator calls them
/// directly; the server calls them from one Asio strand and runs tick() from a Timer there).
/// Lifetime: the LogStore, StateMachine, Transport and Random outlive the Node; destroying the
/// Node is what a crash looks like.
class Node {
 public:
  Node(Config config, LogStore& log, StateMachine& sm, Transport& transport, Random& random);
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  void tick();
  void step(const Message& m);

  /// While a Batch is alive, tick(), step() and the requests below only change state and queue
  /// their effects; the outermost Batch's destructor flushes once (sync, send, apply, complete).
  /// Nothing is sent or acknowledged before that flush, so batching changes only when things
  /// happen, never what is promised. Batches nest.
  class Batch {
   public:
    explicit Batch(Node& node) : node_(node) { ++node_.batch_depth_; }
    ~Batch() {
      if (--node_.batch_depth_ == 0) node_.flush_();
    }
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

   private:
    Node& node_;
  };

  /// Appends `data` if this node is the leader. The handle completes as described by
  /// ProposalStatus.
  ProposalHandle propose(std::string data);
  /// Single-server membership change: add a learner, promote a caught-up learner, or remove a
  /// member (the leader itself included: it steps down once the change is applied).
  ProposalHandle propose_conf_change(ConfChange change);
  /// Linearizable read barrier (ReadIndex): completes with ok once the leader has confirmed it
  /// was still leader after the call and this node has applied at least the commit index it had
  /// at the call. No log entry is written; concurrent reads share one heartbeat round. Followers
  /// answer not_leader with a hint.
  ReadHandle read_index();
  /// Hands leadership to `target` (TimeoutNow once it is caught up). Proposals are refused
  /// while a transfer is in progress; it is abandoned after an election timeout.
  Result<Ok, std::string> transfer_leadership(NodeId target);

  /// The state machine finished the save_snapshot(meta) this node started: ok means the image
  /// is durable, and only then is the log compacted up to it (less Config::snapshot_trailing).
  /// A report for a save this node did not start (a stale one) is ignored. Node's thread.
  void snapshot_saved(const SnapshotMeta& meta, bool ok);
  /// The state machine finished installing the snapshot handed over by finish_restore(): ok
  /// means the live state is the snapshot durably; the log is then reset or compacted to it and
  /// the leader told. A stale report is ignored. Node's thread.
  void snapshot_restored(const SnapshotMeta& meta, bool ok);

  Status status() const;
  /// Leader: the highest index known to be replicated on `peer` (0 if unknown, or when this
  /// node is not the leader).
  Index match_index(NodeId peer) const;
  const Probe& probe() const { return probe_; }
  Role role() const { return role_; }
  NodeId id() const { return cfg_.id; }
  NodeId leader() const { return leader_; }
  Term term() const { return hs_.term; }
  bool is_leader() const { return role_ == Role::leader; }
  /// Whether a proposal of this node waits for the result of the entry at index/term (so the
  /// state machine may skip building results nobody reads: on followers, all of them).
  bool awaits_result(Index index, Term term) const {
    auto it = proposals_.find(index);
    return it != proposals_.end() && it->second.term == term;
  }
  /// The election events recorded since the last call (Config::record_events; at most 1024 are
  /// kept between calls, the oldest dropped first).
  std::vector<Event> take_events() { return std::exchange(events_, {}); }

 private:
  // --- node.cc: plumbing
  void load_state_();
  void send_(Message m);
  void flush_();
  void send_outbox_();
  bool vote_state_persisted_() const {
    return hs_.term == persisted_hs_.term && hs_.vote == persisted_hs_.vote;
  }
  void persist_hard_state_();
  Result<Term, LogError> term_at_(Index i) const { return log_.term(i); }
  Term last_term_() const;
  int quorum_() const { return static_cast<int>(conf_.voters.size() / 2 + 1); }
  bool promotable_() const { return conf_.is_voter(cfg_.id); }
  void append_local_(std::vector<Entry> entries);

  // --- election.cc
  void tick_election_();
  void tick_heartbeat_();
  void campaign_(bool pre_vote, bool transfer, const std::string& why);
  void request_votes_(bool pre_vote);
  void become_follower_(Term term, NodeId leader, const std::string& why);
  void become_pre_candidate_(const std::string& why);
  void become_candidate_(const std::string& why);
  void become_leader_();
  void reset_(Term term, const std::string& why);
  void event_(Event::Kind kind, NodeId peer, std::string reason);
  void leader_now_(NodeId old_leader, const std::string& why);
  void handle_vote_request_(const Message& m);
  void handle_vote_response_(const Message& m);
  bool log_up_to_date_(Index last_index, Term last_term) const;
  bool in_lease_() const;
  void step_down_cleanup_();

  // --- replication.cc
  void handle_append_(const Message& m);
  void handle_append_response_(const Message& m);
  void handle_heartbeat_(const Message& m);
  void handle_heartbeat_response_(const Message& m);
  bool send_append_(NodeId to, bool allow_empty);
  void broadcast_append_();
  void broadcast_heartbeat_(uint64_t context);
  void check_replication_stalls_();
  Index find_conflict_by_term_(Index index, Term term) const;

  // --- commit.cc
  bool maybe_commit_();
  void apply_committed_();
  void expire_proposals_();
  void finish_proposal_(Index index, Term term, ProposalResult r);

  // --- read_index.cc
  void start_read_rounds_();
  void confirm_reads_();
  void release_reads_();
  void expire_reads_();
  void drop_reads_(ReadStatus status);

  // --- transfer.cc
  void handle_timeout_now_(const Message& m);
  void maybe_send_timeout_now_(NodeId peer);
  void tick_transfer_();

  // --- membership.cc
  void apply_conf_(const ConfState& next);
  void add_progress_(NodeId id, bool learner);

  // --- snapshot.cc
  void handle_snapshot_(const Message& m);
  void handle_snapshot_response_(const Message& m);
  bool send_snapshot_chunk_(NodeId to, Progress& pr);
  void maybe_compact_();
  void compact_to_(const SnapshotMeta& meta);
  void tick_snapshots_();

  Config cfg_;
  LogStore& log_;
  StateMachine& sm_;
  Transport& transport_;
  Random& random_;

  // Protocol state.
  HardState hs_;            // term/vote/commit as known in memory
  HardState persisted_hs_;  // what was last handed to the store (its commit is only a hint)
  Role role_ = Role::follower;
  NodeId leader_ = kNoNode;
  ConfState conf_;          // the configuration of the last applied entry
  Index applied_ = 0;
  Index pending_conf_index_ = 0;  // leader: index of the last conf change proposed
  int election_elapsed_ = 0;
  int randomized_timeout_ = 0;
  int heartbeat_elapsed_ = 0;
  int quorum_check_elapsed_ = 0;
  int64_t now_ = 0;  // ticks since construction
  std::map<NodeId, bool> votes_;
  bool campaign_transfer_ = false;
  std::map<NodeId, Progress> progress_;  // leader only; includes this node
  bool log_dirty_ = false;                // log mutated since the last sync
  bool conf_commit_unpersisted_ = false;  // applied a configuration the durable commit misses
  bool broadcast_pending_ = false;        // leader: new entries or commit to send after sync
  Index synced_last_ = 0;                 // entries up to here are durable in this node's log
  NodeId transferee_ = kNoNode;
  int transfer_elapsed_ = 0;

  // Snapshot being received (follower); restoring_ while the machine installs it.
  std::unique_ptr<SnapshotWriter> restore_;
  SnapshotMeta restore_meta_;
  bool restoring_ = false;
  NodeId restore_from_ = kNoNode;  // the leader that sent it, answered once it is installed
  // Snapshot being saved (StateMachine::save_snapshot started, not yet reported).
  bool saving_ = false;
  SnapshotMeta saving_meta_;
  Index save_failed_at_ = 0;  // a failed save is retried once more entries are applied

  // Requests.
  struct PendingProposal {
    Term term = 0;
    int64_t deadline = 0;
    ProposalHandle handle;
  };
  std::map<Index, PendingProposal> proposals_;
  struct PendingRead {
    ReadHandle handle;
    Index index = 0;        // commit index when the read arrived
    uint64_t round = 0;     // heartbeat round confirming leadership (0 = not yet sent)
    bool confirmed = false;
    int64_t deadline = 0;
  };
  std::deque<PendingRead> reads_;
  uint64_t read_round_ = 0;
  std::map<NodeId, uint64_t> read_acks_;

  // Outputs collected during a call and released by flush_().
  std::vector<Message> outbox_;
  std::vector<std::function<void()>> completions_;
  bool in_flush_ = false;
  int batch_depth_ = 0;  // open Batch objects: flush_() waits for the outermost to close
  Probe probe_;
  std::vector<Event> events_;
  NodeId last_known_leader_ = kNoNode;  // for Probe::leader_changes
  Term last_known_leader_term_ = 0;
};

}  // namespace cairn::raft
