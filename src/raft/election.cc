// Leader election: randomised timeouts, pre-vote (thesis §9.6), check-quorum and the leader
// lease that keeps a partitioned node from disrupting a healthy leader.
#include <algorithm>
#include <string>

#include "raft/node.h"

namespace cairn::raft {

const char* to_string(Event::Kind k) {
  switch (k) {
    case Event::Kind::term_changed: return "term_changed";
    case Event::Kind::campaign: return "campaign";
    case Event::Kind::vote_granted: return "vote_granted";
    case Event::Kind::vote_rejected: return "vote_rejected";
    case Event::Kind::leader_changed: return "leader_changed";
    case Event::Kind::stepped_down: return "stepped_down";
  }
  return "?";
}

void Node::event_(Event::Kind kind, NodeId peer, std::string reason) {
  if (!cfg_.record_events) return;
  if (events_.size() >= 1024) events_.erase(events_.begin());
  events_.push_back(Event{kind, hs_.term, peer, std::move(reason)});
}

void Node::leader_now_(NodeId old_leader, const std::string& why) {
  if (leader_ == old_leader) return;
  if (leader_ != kNoNode &&
      (leader_ != last_known_leader_ || hs_.term != last_known_leader_term_)) {
    if (last_known_leader_ != kNoNode) ++probe_.leader_changes;
    last_known_leader_ = leader_;
    last_known_leader_term_ = hs_.term;
  }
  event_(Event::Kind::leader_changed, leader_, why);
}

void Node::tick_election_() {
  ++election_elapsed_;
  if ((role_ == Role::candidate || role_ == Role::pre_candidate) && ++heartbeat_elapsed_ >= cfg_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    request_votes_(role_ == Role::pre_candidate);  // retransmit to voters that have not answered
  }
  // A follower installing a snapshot waits for it: its log is about to be replaced, and the
  // leader it came from is alive (it answers that leader's heartbeats meanwhile).
  if (promotable_() && !restoring_ && election_elapsed_ >= randomized_timeout_) {
    election_elapsed_ = 0;
    campaign_(cfg_.pre_vote, false,
              "election timeout: no leader heard from in " + std::to_string(randomized_timeout_) +
                  " ticks");
  }
}

void Node::tick_heartbeat_() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (++quorum_check_elapsed_ >= cfg_.election_ticks) {
    quorum_check_elapsed_ = 0;
    election_elapsed_ = 0;
    if (cfg_.check_quorum) {
      int active = 0;
      for (NodeId v : conf_.voters) {
        auto it = progress_.find(v);
        if (v == cfg_.id || (it != progress_.end() && it->second.recent_active)) ++active;
      }
      if (active < quorum_()) {
        ++probe_.check_quorum_stepdowns;
        // Cannot reach a majority: stop acting as leader.
        become_follower_(hs_.term, kNoNode,
                         "check-quorum: only " + std::to_string(active) + " of " +
                             std::to_string(conf_.voters.size()) +
                             " voters were heard from in an election timeout");
        return;
      }
    }
    for (auto& [id, pr] : progress_) pr.recent_active = id == cfg_.id;
  }
  tick_transfer_();
  if (heartbeat_elapsed_ >= cfg_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat_(read_round_);
  }
  check_replication_stalls_();
  tick_snapshots_();
}

bool Node::in_lease_() const {
  return cfg_.check_quorum && leader_ != kNoNode && election_elapsed_ < cfg_.election_ticks;
}

bool Node::log_up_to_date_(Index last_index, Term last_term) const {
  Term mine = last_term_();
  return last_term > mine || (last_term == mine && last_index >= log_.last_index());
}

void Node::reset_(Term term, const std::string& why) {
  if (term != hs_.term) {
    hs_.term = term;
    hs_.vote = kNoNode;
    ++probe_.term_changes;
    event_(Event::Kind::term_changed, kNoNode, why);
  }
  leader_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  quorum_check_elapsed_ = 0;
  randomized_timeout_ = cfg_.election_ticks + static_cast<int>(random_.next() % cfg_.election_ticks);
  votes_.clear();
  transferee_ = kNoNode;
}

void Node::step_down_cleanup_() {
  for (auto& [idx, p] : proposals_) {
    ProposalResult r;
    r.status = ProposalStatus::dropped;
    r.leader_hint = leader_;
    r.index = idx;
    r.term = p.term;
    completions_.push_back([h = p.handle, r] { h.complete(r); });
  }
  proposals_.clear();
  drop_reads_(ReadStatus::dropped);
  progress_.clear();
  read_acks_.clear();
}

void Node::become_follower_(Term term, NodeId leader, const std::string& why) {
  bool was_leader = role_ == Role::leader;
  const NodeId old_leader = leader_;
  reset_(term, why);
  role_ = Role::follower;
  leader_ = leader;
  if (was_leader) {
    ++probe_.stepped_down;
    event_(Event::Kind::stepped_down, leader, why);
    step_down_cleanup_();
  }
  leader_now_(old_leader, why);
}

void Node::become_pre_candidate_(const std::string& why) {
  const NodeId old_leader = leader_;
  role_ = Role::pre_candidate;
  votes_.clear();
  leader_ = kNoNode;
  leader_now_(old_leader, why);
  election_elapsed_ = 0;
  randomized_timeout_ = cfg_.election_ticks + static_cast<int>(random_.next() % cfg_.election_ticks);
}

void Node::become_candidate_(const std::string& why) {
  const NodeId old_leader = leader_;
  reset_(hs_.term + 1, why);
  hs_.vote = cfg_.id;
  role_ = Role::candidate;
  leader_now_(old_leader, why);
}

void Node::become_leader_() {
  const NodeId old_leader = leader_;
  reset_(hs_.term, "");
  role_ = Role::leader;
  leader_ = cfg_.id;
  ++probe_.became_leader;
  leader_now_(old_leader, "won the election of term " + std::to_string(hs_.term));
  progress_.clear();
  read_acks_.clear();
  for (NodeId v : conf_.voters) add_progress_(v, false);
  for (NodeId l : conf_.learners) add_progress_(l, true);
  Progress& self = progress_[cfg_.id];
  self.match = synced_last_;
  self.next = synced_last_ + 1;
  self.recent_active = true;
  // The no-op lets the new leader commit (and so learn the commit index of) its predecessors'
  // entries, which the current-term commit rule forbids counting directly.
  Index idx = log_.last_index() + 1;
  append_local_({Entry{hs_.term, idx, EntryType::noop, {}}});
  pending_conf_index_ = idx;  // no membership change until everything so far is applied
  broadcast_pending_ = true;
}

void Node::campaign_(bool pre_vote, bool transfer, const std::string& why) {
  if (pre_vote) {
    become_pre_candidate_(why);
    ++probe_.pre_campaigns;
  } else {
    become_candidate_(why);
    ++probe_.campaigns;
  }
  event_(Event::Kind::campaign, kNoNode,
         std::string(pre_vote ? "pre-vote for term " : "election of term ") +
             std::to_string(pre_vote ? hs_.term + 1 : hs_.term) + ": " + why);
  votes_[cfg_.id] = true;
  if (quorum_() == 1) {
    if (pre_vote) campaign_(false, transfer, "pre-vote won (single voter)");
    else become_leader_();
    return;
  }
  campaign_transfer_ = transfer;
  request_votes_(pre_vote);
}

void Node::request_votes_(bool pre_vote) {
  for (NodeId v : conf_.voters) {
    if (v == cfg_.id || votes_.count(v)) continue;
    Message m;
    m.type = pre_vote ? MessageType::pre_vote : MessageType::vote;
    m.to = v;
    m.term = pre_vote ? hs_.term + 1 : hs_.term;
    m.index = log_.last_index();
    m.log_term = last_term_();
    m.context = campaign_transfer_ ? 1 : 0;
    send_(m);
  }
}

void Node::handle_vote_request_(const Message& m) {
  bool pre = m.type == MessageType::pre_vote;
  bool can_vote = hs_.vote == m.from || (hs_.vote == kNoNode && leader_ == kNoNode) ||
                  (pre && m.term > hs_.term);
  Message r;
  r.type = pre ? MessageType::pre_vote_resp : MessageType::vote_resp;
  r.to = m.from;
  const bool up_to_date = log_up_to_date_(m.index, m.log_term);
  if (can_vote && up_to_date) {
    r.term = m.term;
    if (!pre) {
      hs_.vote = m.from;  // made durable by flush_() before the response leaves
      election_elapsed_ = 0;
      ++probe_.votes_granted;
      event_(Event::Kind::vote_granted, m.from, "its log is at least as up to date as ours");
    }
  } else {
    r.term = hs_.term;
    r.reject = true;
    if (!pre) {
      ++probe_.votes_rejected;
      event_(Event::Kind::vote_rejected, m.from,
             !can_vote ? (hs_.vote != kNoNode
                              ? "already voted for node " + std::to_string(hs_.vote) + " in this term"
                              : "a leader (node " + std::to_string(leader_) + ") is known")
                       : "its log is behind ours");
    }
  }
  send_(r);
}

void Node::handle_vote_response_(const Message& m) {
  bool pre = m.type == MessageType::pre_vote_resp;
  if (pre ? role_ != Role::pre_candidate : role_ != Role::candidate) return;
  if (!conf_.is_voter(m.from)) return;
  votes_[m.from] = !m.reject;
  int granted = 0, rejected = 0;
  for (NodeId v : conf_.voters) {
    auto it = votes_.find(v);
    if (it == votes_.end()) continue;
    (it->second ? granted : rejected)++;
  }
  if (granted >= quorum_()) {
    if (pre) campaign_(false, false, "pre-vote won by a quorum");
    else become_leader_();
  } else if (rejected >= quorum_()) {
    become_follower_(hs_.term, kNoNode,
                     std::string(pre ? "pre-vote" : "election") + " lost: a quorum rejected it");
  }
}

}  // namespace cairn::raft
