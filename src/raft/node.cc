// Construction, the step/tick entry points and the flush that orders durability, sending and
// applying. Protocol handlers live in one file per concern (election.cc, replication.cc, ...).
#include "raft/node.h"

#include <cassert>
#include <cstdlib>

namespace cairn::raft {

const char* to_string(Role r) {
  switch (r) {
    case Role::follower: return "follower";
    case Role::pre_candidate: return "pre_candidate";
    case Role::candidate: return "candidate";
    case Role::leader: return "leader";
  }
  return "?";
}

const char* to_string(ProposalStatus s) {
  switch (s) {
    case ProposalStatus::applied: return "applied";
    case ProposalStatus::not_leader: return "not_leader";
    case ProposalStatus::rejected: return "rejected";
    case ProposalStatus::timeout: return "timeout";
    case ProposalStatus::dropped: return "dropped";
  }
  return "?";
}

Node::Node(Config config, LogStore& log, StateMachine& sm, Transport& transport, Random& random)
    : cfg_(std::move(config)), log_(log), sm_(sm), transport_(transport), random_(random) {
  if (cfg_.election_ticks < 2) cfg_.election_ticks = 2;
  if (cfg_.heartbeat_ticks < 1) cfg_.heartbeat_ticks = 1;
  if (cfg_.max_inflight < 1) cfg_.max_inflight = 1;
  if (cfg_.snapshot_trailing >= cfg_.snapshot_threshold) cfg_.snapshot_trailing = cfg_.snapshot_threshold / 2;
  load_state_();
  flush_();  // replays committed entries the state machine has not seen
}

void Node::load_state_() {
  hs_ = log_.hard_state();
  SnapshotMeta applied = sm_.applied_state();
  bool fresh = applied.index == 0 && log_.last_index() == 0 && hs_.term == 0;
  if (fresh && !cfg_.bootstrap.voters.empty()) {
    // Every bootstrapping node writes the same entry 1, so their logs agree from the start.
    Entry e{1, 1, EntryType::conf_change, encode_conf_state(cfg_.bootstrap)};
    (void)log_.append({e});
    hs_ = HardState{1, kNoNode, 1};
    log_.set_hard_state(hs_);
    if (!log_.sync()) std::abort();
  }
  persisted_hs_ = hs_;
  applied_ = applied.index;
  conf_ = applied.conf;
  if (applied.index > 0) {
    auto t = log_.term(applied.index);
    if (!t && t.error() == LogError::compacted) std::abort();  // snapshot older than the log: broken contract
    if (!t || *t != applied.term) {
      // Crashed between installing a snapshot and resetting the log: the log is stale.
      (void)log_.reset(applied.index, applied.term);
      if (!log_.sync()) std::abort();
    }
  }
  Index last = log_.last_index();
  hs_.commit = std::max(applied_, std::min(hs_.commit, last));
  synced_last_ = last;
  role_ = Role::follower;
  leader_ = kNoNode;
  randomized_timeout_ = cfg_.election_ticks + static_cast<int>(random_.next() % cfg_.election_ticks);
}

Term Node::last_term_() const {
  auto t = log_.term(log_.last_index());
  return t ? *t : 0;
}

void Node::append_local_(std::vector<Entry> entries) {
  if (entries.empty()) return;
  if (!log_.append(entries)) std::abort();
  log_dirty_ = true;
}

void Node::send_(Message m) {
  m.from = cfg_.id;
  if (m.term == 0) m.term = hs_.term;
  outbox_.push_back(std::move(m));
}

void Node::persist_hard_state_() {
  HardState stored = hs_;
  if (cfg_.bugs.no_persist_vote) stored.vote = kNoNode;  // planted bug: the vote is never durable
  log_.set_hard_state(stored);
}

void Node::send_outbox_() {
  std::vector<Message> out;
  out.swap(outbox_);
  probe_.messages_sent += out.size();
  for (auto& m : out) transport_.send(std::move(m));
}

void Node::flush_() {
  if (in_flush_ || batch_depth_ > 0) return;  // re-entered, or inside a Batch: picked up later
  in_flush_ = true;
  for (;;) {
    // (0) A leader whose term and vote are durable sends new entries while it syncs them
    // itself. None of a leader's messages promise anything of its own unsynced log: it counts
    // itself towards a quorum only after (1), and its commit index only ever covers synced
    // entries.
    if (role_ == Role::leader && vote_state_persisted_()) {
      start_read_rounds_();
      if (broadcast_pending_) broadcast_append_();
      broadcast_pending_ = false;
      send_outbox_();
    }
    // (1) durability: term/vote and new entries before any message that depends on them. The
    // commit index travels with them as a hint (a restarted node learns it again from the
    // leader), and is written on its own only once it covers a newly applied configuration:
    // a node whose state machine lost recent applies must not restart with a configuration
    // more than one change old (single-server changes overlap only pairwise).
    bool persist_hs = !vote_state_persisted_() || conf_commit_unpersisted_;
    bool need_sync = log_dirty_ || persist_hs;
    if (persist_hs) {
      persist_hard_state_();
      persisted_hs_ = hs_;
      conf_commit_unpersisted_ = false;
    }
    if (need_sync) {
      if (cfg_.bugs.apply_before_sync) apply_committed_();  // planted: applies what is not durable yet
      if (!log_.sync()) std::abort();  // a node that cannot persist must not continue
      ++probe_.syncs;
      log_dirty_ = false;
      synced_last_ = log_.last_index();
      if (role_ == Role::leader) {
        Progress& self = progress_[cfg_.id];
        self.match = synced_last_;
        self.next = synced_last_ + 1;
        if (maybe_commit_()) broadcast_pending_ = true;
      }
    }
    if (role_ == Role::leader) {
      start_read_rounds_();
      if (broadcast_pending_) broadcast_append_();
    }
    broadcast_pending_ = false;
    // (2) messages, now that what they promise is durable.
    send_outbox_();
    // (3) apply and release what became ready.
    apply_committed_();
    release_reads_();
    maybe_compact_();
    if (completions_.empty()) {
      if (outbox_.empty() && !log_dirty_ && vote_state_persisted_() && !broadcast_pending_ &&
          !conf_commit_unpersisted_)
        break;
      continue;
    }
    std::vector<std::function<void()>> done;
    done.swap(completions_);
    for (auto& fn : done) fn();
  }
  in_flush_ = false;
}

void Node::tick() {
  ++now_;
  if (role_ == Role::leader) tick_heartbeat_();
  else tick_election_();
  expire_proposals_();
  expire_reads_();
  flush_();
}

void Node::step(const Message& m) {
  if (m.term > hs_.term) {
    if (m.type == MessageType::pre_vote || m.type == MessageType::vote) {
      bool transfer = m.type == MessageType::vote && m.context == 1;
      if (!transfer && in_lease_()) {  // a live leader exists: do not let a stray candidate disrupt it
        flush_();
        return;
      }
    }
    if (m.type == MessageType::pre_vote) {
      // A pre-vote never changes our term.
    } else if (m.type == MessageType::pre_vote_resp && !m.reject) {
      // Granted pre-votes carry the term the candidate will use.
    } else {
      bool from_leader = m.type == MessageType::append || m.type == MessageType::heartbeat ||
                         m.type == MessageType::snapshot;
      int elapsed = election_elapsed_;
      if (role_ == Role::leader) ++probe_.higher_term_stepdowns;
      become_follower_(m.term, from_leader ? m.from : kNoNode,
                       "node " + std::to_string(m.from) + " sent " + to_string(m.type) +
                           " of term " + std::to_string(m.term));
      // A vote request we may well reject must not postpone our own candidacy (the paper resets
      // the timer only when a vote is granted): otherwise a node with a stale log that keeps
      // campaigning can starve the up-to-date ones forever. Granting resets it below.
      if (m.type == MessageType::vote && role_ == Role::follower) election_elapsed_ = elapsed;
    }
  } else if (m.term < hs_.term) {
    if ((cfg_.check_quorum || cfg_.pre_vote) &&
        (m.type == MessageType::append || m.type == MessageType::heartbeat)) {
      // A deposed leader that cannot hear the new one learns our term from this answer.
      Message r;
      r.type = MessageType::append_resp;
      r.to = m.from;
      send_(r);
    } else if (m.type == MessageType::pre_vote) {
      Message r;
      r.type = MessageType::pre_vote_resp;
      r.to = m.from;
      r.reject = true;
      send_(r);
    }
    flush_();
    return;
  }

  switch (m.type) {
    case MessageType::pre_vote:
    case MessageType::vote:
      handle_vote_request_(m);
      break;
    case MessageType::pre_vote_resp:
    case MessageType::vote_resp:
      handle_vote_response_(m);
      break;
    case MessageType::append:
    case MessageType::heartbeat:
    case MessageType::snapshot:
      if (role_ == Role::leader) break;  // impossible in one term; ignore defensively
      if (role_ != Role::follower || leader_ != m.from) {
        become_follower_(hs_.term, m.from,
                         "node " + std::to_string(m.from) + " leads term " + std::to_string(hs_.term));
      }
      election_elapsed_ = 0;
      if (m.type == MessageType::append) handle_append_(m);
      else if (m.type == MessageType::heartbeat) handle_heartbeat_(m);
      else handle_snapshot_(m);
      break;
    case MessageType::append_resp:
      if (role_ == Role::leader) handle_append_response_(m);
      break;
    case MessageType::heartbeat_resp:
      if (role_ == Role::leader) handle_heartbeat_response_(m);
      break;
    case MessageType::snapshot_resp:
      if (role_ == Role::leader) handle_snapshot_response_(m);
      break;
    case MessageType::timeout_now:
      handle_timeout_now_(m);
      break;
  }
  flush_();
}

ProposalHandle Node::propose(std::string data) {
  ProposalHandle h;
  ProposalResult r;
  if (role_ != Role::leader || transferee_ != kNoNode) {
    r.status = ProposalStatus::not_leader;
    r.leader_hint = transferee_ != kNoNode ? transferee_ : leader_;
  } else if (proposals_.size() >= cfg_.max_pending_proposals) {
    r.status = ProposalStatus::rejected;
    r.result = "too many pending proposals";
  } else {
    Index idx = log_.last_index() + 1;
    append_local_({Entry{hs_.term, idx, EntryType::normal, std::move(data)}});
    proposals_[idx] = PendingProposal{hs_.term, now_ + cfg_.proposal_timeout_ticks, h};
    broadcast_pending_ = true;
    ++probe_.proposals;
    flush_();
    return h;
  }
  ++probe_.proposals_refused;
  completions_.push_back([h, r] { h.complete(r); });
  flush_();
  return h;
}

Status Node::status() const {
  Status s;
  s.id = cfg_.id;
  s.role = role_;
  s.term = hs_.term;
  s.vote = hs_.vote;
  s.leader = leader_;
  s.commit = hs_.commit;
  s.applied = applied_;
  s.first_index = log_.first_index();
  s.last_index = log_.last_index();
  s.conf = conf_;
  s.transferee = transferee_;
  return s;
}

Index Node::match_index(NodeId peer) const {
  if (role_ != Role::leader) return 0;
  auto it = progress_.find(peer);
  return it == progress_.end() ? 0 : it->second.match;
}

}  // namespace cairn::raft
