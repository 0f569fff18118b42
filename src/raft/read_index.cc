// Linearizable reads without log writes (thesis §6.4): a read is served at the commit index the
// leader had when it arrived, once a heartbeat round sent after its arrival is acknowledged by a
// quorum (so the leader was still leader) and the state machine has caught up. Reads arriving in
// one call share a round.
#include <algorithm>

#include "raft/node.h"

namespace cairn::raft {

ReadHandle Node::read_index() {
  ReadHandle h;
  if (role_ != Role::leader) {
    ReadResult r;
    r.status = ReadStatus::not_leader;
    r.leader_hint = leader_;
    completions_.push_back([h, r] { h.complete(r); });
  } else {
    PendingRead p;
    p.handle = h;
    p.deadline = now_ + cfg_.read_timeout_ticks;
    reads_.push_back(std::move(p));
  }
  flush_();
  return h;
}

void Node::start_read_rounds_() {
  // Until the no-op of this term commits, the leader's commit index may lag the cluster's.
  auto t = log_.term(hs_.commit);
  if (!t || *t != hs_.term) return;
  // One round at a time: reads arriving while a round is out wait and share the next one.
  for (const PendingRead& p : reads_)
    if (p.round != 0 && !p.confirmed) return;
  bool need = false;
  for (PendingRead& p : reads_) {
    if (p.round != 0) continue;
    p.index = hs_.commit;
    p.round = read_round_ + 1;
    need = true;
  }
  if (!need) return;
  ++read_round_;
  ++probe_.read_rounds;
  if (quorum_() > 1) broadcast_heartbeat_(read_round_);
  confirm_reads_();
}

void Node::confirm_reads_() {
  for (PendingRead& p : reads_) {
    if (p.confirmed || p.round == 0) continue;
    int acks = conf_.is_voter(cfg_.id) ? 1 : 0;
    for (NodeId v : conf_.voters) {
      if (v == cfg_.id) continue;
      auto it = read_acks_.find(v);
      if (it != read_acks_.end() && it->second >= p.round) ++acks;
    }
    if (acks < quorum_()) break;  // later rounds cannot be confirmed before earlier ones
    p.confirmed = true;
  }
}

void Node::release_reads_() {
  while (!reads_.empty() && reads_.front().confirmed && reads_.front().index <= applied_) {
    ReadResult r;
    r.status = ReadStatus::ok;
    r.read_index = reads_.front().index;
    r.leader_hint = leader_;
    completions_.push_back([h = reads_.front().handle, r] { h.complete(r); });
    reads_.pop_front();
    ++probe_.reads_served;
  }
}

void Node::expire_reads_() {
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (it->deadline > now_) {
      ++it;
      continue;
    }
    ReadResult r;
    r.status = ReadStatus::timeout;
    r.leader_hint = leader_;
    completions_.push_back([h = it->handle, r] { h.complete(r); });
    it = reads_.erase(it);
  }
}

void Node::drop_reads_(ReadStatus status) {
  for (PendingRead& p : reads_) {
    ReadResult r;
    r.status = status;
    r.leader_hint = leader_;
    completions_.push_back([h = p.handle, r] { h.complete(r); });
  }
  reads_.clear();
}

}  // namespace cairn::raft
