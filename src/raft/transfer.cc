// Leadership transfer (thesis §3.10): bring the target up to date, then tell it to campaign at
// once with TimeoutNow; its vote requests bypass the followers' leader lease.
#include "raft/node.h"

namespace cairn::raft {

Result<Ok, std::string> Node::transfer_leadership(NodeId target) {
  if (role_ != Role::leader) return Unexpected{std::string("not the leader")};
  if (target == cfg_.id) return Ok{};
  if (!conf_.is_voter(target)) return Unexpected{std::string("target is not a voter")};
  transferee_ = target;
  ++probe_.transfers_started;
  transfer_elapsed_ = 0;
  auto it = progress_.find(target);
  if (it != progress_.end() && it->second.match == log_.last_index()) maybe_send_timeout_now_(target);
  else {
    // Catch it up now rather than at the next heartbeat or stall timeout.
    if (it != progress_.end() && it->second.state != Progress::State::snapshot) it->second.become_probe(it->second.match + 1);
    send_append_(target, true);
  }
  flush_();
  return Ok{};
}

void Node::maybe_send_timeout_now_(NodeId peer) {
  if (transferee_ != peer) return;
  auto it = progress_.find(peer);
  if (it == progress_.end() || it->second.match != log_.last_index()) return;
  Message m;
  m.type = MessageType::timeout_now;
  m.to = peer;
  send_(m);
}

void Node::tick_transfer_() {
  if (transferee_ == kNoNode) return;
  if (++transfer_elapsed_ >= cfg_.election_ticks) transferee_ = kNoNode;  // give up; accept proposals again
}

void Node::handle_timeout_now_(const Message&) {
  if (!promotable_() || role_ == Role::leader || restoring_) return;
  campaign_(false, true, "leadership transfer (TimeoutNow from the leader)");
}

}  // namespace cairn::raft
