// Commitment and apply: the current-term commit rule (Raft paper §5.4.2), applying committed
// entries in order, and completing proposals with the state machine's results.
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <optional>

#include "raft/node.h"

namespace cairn::raft {

bool Node::maybe_commit_() {
  if (conf_.voters.empty()) return false;
  std::vector<Index> matches;
  for (NodeId v : conf_.voters) {
    auto it = progress_.find(v);
    matches.push_back(it == progress_.end() ? 0 : it->second.match);
  }
  std::sort(matches.begin(), matches.end(), std::greater<>());
  Index q = matches[quorum_() - 1];
  if (q <= hs_.commit) return false;
  auto t = log_.term(q);
  // Only an entry of the current term is committed by counting replicas; older entries are
  // committed indirectly beneath it (Figure 8). The planted bug skips that check.
  if (!cfg_.bugs.commit_old_term && (!t || *t != hs_.term)) return false;
  hs_.commit = q;
  return true;
}

void Node::apply_committed_() {
  if (restoring_) return;  // the machine's state is being replaced; applies resume after it
  while (applied_ < hs_.commit) {
    auto ents = log_.entries(applied_ + 1, hs_.commit + 1, 4u << 20);
    if (!ents) std::abort();  // committed entries must be available until applied
    // One group per batch of entries read: the machine may make them durable together, and
    // nothing of the group counts (applied index, configuration, completions) until it says
    // the group took effect.
    struct Applied {
      const Entry* entry;
      std::optional<ConfState> conf;
      std::string result;
    };
    std::vector<Applied> group;
    group.reserve(ents->size());
    ConfState conf = conf_;  // the configuration after the previous entry of the group
    bool deferred = false;
    sm_.begin_applies();
    for (const Entry& e : *ents) {
      std::optional<ConfState> next;
      if (e.type == EntryType::conf_change) {
        auto decoded = decode_conf_state(e.data);
        if (!decoded) std::abort();
        next = std::move(*decoded);
      }
      std::optional<std::string> result = sm_.apply(e, next ? *next : conf);
      if (!result) {
        deferred = true;  // retried from here on the next step
        break;
      }
      if (next) conf = *next;
      group.push_back(Applied{&e, std::move(next), std::move(*result)});
    }
    if (!sm_.finish_applies()) {
      ++probe_.apply_deferred;  // none of the group took effect: all of it is offered again
      return;
    }
    for (Applied& a : group) {
      const Entry& e = *a.entry;
      if (a.conf) {
        apply_conf_(*a.conf);
        conf_commit_unpersisted_ = true;  // flush_() makes the commit index durable
      }
      applied_ = e.index;
      ++probe_.entries_applied;
      if (e.type == EntryType::conf_change) ++probe_.conf_changes_applied;
      ProposalResult r;
      r.status = ProposalStatus::applied;
      r.result = std::move(a.result);
      r.leader_hint = leader_;
      finish_proposal_(e.index, e.term, std::move(r));
      if (role_ == Role::leader && !conf_.is_voter(cfg_.id)) {
        // This leader was removed (or demoted): hand over to the most caught-up voter and stop.
        NodeId best = kNoNode;
        Index best_match = 0;
        for (NodeId v : conf_.voters) {
          auto it = progress_.find(v);
          if (it != progress_.end() && it->second.match >= best_match) {
            best = v;
            best_match = it->second.match;
          }
        }
        if (best != kNoNode && best_match == log_.last_index()) {
          Message m;
          m.type = MessageType::timeout_now;
          m.to = best;
          send_(m);
        }
        ++probe_.removed_stepdowns;
        become_follower_(hs_.term, kNoNode, "removed from the configuration");
      }
    }
    if (deferred) {
      ++probe_.apply_deferred;
      return;
    }
  }
}

void Node::finish_proposal_(Index index, Term term, ProposalResult r) {
  auto it = proposals_.find(index);
  if (it == proposals_.end()) return;
  if (it->second.term != term) {
    r.status = ProposalStatus::dropped;  // another leader's entry took its place
    r.result.clear();
  }
  r.index = index;
  r.term = it->second.term;
  completions_.push_back([h = it->second.handle, r = std::move(r)] { h.complete(r); });
  proposals_.erase(it);
}

void Node::expire_proposals_() {
  for (auto it = proposals_.begin(); it != proposals_.end();) {
    if (it->second.deadline > now_) {
      ++it;
      continue;
    }
    ProposalResult r;
    r.status = ProposalStatus::timeout;
    r.leader_hint = leader_;
    r.index = it->first;
    r.term = it->second.term;
    completions_.push_back([h = it->second.handle, r] { h.complete(r); });
    it = proposals_.erase(it);
  }
}

}  // namespace cairn::raft
