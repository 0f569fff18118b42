// Single-server membership changes (thesis §4.1): one change at a time, each entry carrying the
// complete new configuration, effective once applied. A leader proposes a change only after it
// has committed an entry of its own term (the fix to the single-server change bug the thesis
// errata describe) and once the previous change is applied.
#include "raft/node.h"

namespace cairn::raft {

ProposalHandle Node::propose_conf_change(ConfChange change) {
  ProposalHandle h;
  ProposalResult r;
  r.status = ProposalStatus::rejected;
  auto commit_term = log_.term(hs_.commit);
  if (role_ != Role::leader || transferee_ != kNoNode) {
    r.status = ProposalStatus::not_leader;
    r.leader_hint = transferee_ != kNoNode ? transferee_ : leader_;
  } else if (pending_conf_index_ > applied_) {
    r.result = "a configuration change is in progress";
  } else if (!commit_term || *commit_term != hs_.term) {
    r.result = "the leader has not yet committed an entry of its term";
  } else {
    auto next = apply_conf_change(conf_, change);
    if (!next) {
      r.result = next.error();
    } else if (change.type == ConfChangeType::promote &&
               (progress_[change.node].match == 0 ||
                progress_[change.node].match + cfg_.max_promote_lag < log_.last_index())) {
      // match 0: the learner has acknowledged nothing yet (unreachable, or refusing us).
      r.result = "learner is not caught up";
    } else {
      Index idx = log_.last_index() + 1;
      append_local_({Entry{hs_.term, idx, EntryType::conf_change, encode_conf_state(*next)}});
      pending_conf_index_ = idx;
      proposals_[idx] = PendingProposal{hs_.term, now_ + cfg_.proposal_timeout_ticks, h};
      broadcast_pending_ = true;
      flush_();
      return h;
    }
  }
  completions_.push_back([h, r] { h.complete(r); });
  flush_();
  return h;
}

void Node::add_progress_(NodeId id, bool learner) {
  Progress p;
  p.next = log_.last_index() + 1;
  p.learner = learner;
  p.last_progress_tick = now_;
  p.recent_active = true;  // a new member gets one quorum-check period before counting against us
  progress_.emplace(id, std::move(p));
}

void Node::apply_conf_(const ConfState& next) {
  conf_ = next;
  if (role_ != Role::leader) return;
  for (NodeId v : next.voters)
    if (!progress_.count(v)) add_progress_(v, false);
  for (NodeId l : next.learners)
    if (!progress_.count(l)) add_progress_(l, true);
  for (auto it = progress_.begin(); it != progress_.end();) {
    if (it->first != cfg_.id && !next.contains(it->first)) {
      it = progress_.erase(it);
      continue;
    }
    it->second.learner = next.is_learner(it->first);
    ++it;
  }
  if (transferee_ != kNoNode && !next.is_voter(transferee_)) transferee_ = kNoNode;
  if (maybe_commit_()) broadcast_pending_ = true;
  broadcast_pending_ = true;  // new members need their first append
}

}  // namespace cairn::raft
