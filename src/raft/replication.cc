// Log replication: appends pipelined per follower within a window of in-flight messages, batched
// up to max_msg_bytes, fast conflict back-off by term, heartbeats, and the follower side.
#include <algorithm>
#include <cstdlib>

#include "raft/node.h"

namespace cairn::raft {

Index Node::find_conflict_by_term_(Index index, Term term) const {
  // Largest i <= index whose term is <= term: logs cannot match anywhere above it.
  Index i = std::min(index, log_.last_index());
  while (i > 0) {
    auto t = log_.term(i);
    if (!t || *t <= term) break;
    --i;
  }
  return i;
}

bool Node::send_append_(NodeId to, bool allow_empty) {
  auto it = progress_.find(to);
  if (it == progress_.end() || to == cfg_.id) return false;
  Progress& pr = it->second;
  if (pr.state == Progress::State::snapshot) return false;
  if (pr.state == Progress::State::probe && pr.probe_sent) return false;
  if (pr.state == Progress::State::replicate && pr.inflight.size() >= cfg_.max_inflight) return false;
  Index last = log_.last_index();
  if (!allow_empty && pr.next > last) return false;
  Index prev = pr.next - 1;
  auto prev_term = log_.term(prev);
  if (!prev_term) {
    // The entries this follower needs were compacted: send the snapshot instead.
    pr.snap = sm_.open_snapshot();
    if (!pr.snap) return false;
    pr.state = Progress::State::snapshot;
    pr.inflight.clear();
    pr.snap_offset = 0;
    return send_snapshot_chunk_(to, pr);
  }
  Message m;
  m.type = MessageType::append;
  m.to = to;
  m.index = prev;
  m.log_term = *prev_term;
  m.commit = hs_.commit;
  if (pr.next <= last) {
    // A probe carries one entry: until the follower answers, the leader does not know where
    // the logs match, and the probe is resent on every heartbeat reply. Reading a full batch
    // back from the log for each of those resends stalled the leader's thread (issue 23); the
    // batches start once the follower is in replicate state.
    const bool probing = pr.state == Progress::State::probe;
    auto ents = log_.entries(pr.next, probing ? pr.next + 1 : last + 1,
                             probing ? 0 : cfg_.max_msg_bytes);
    if (!ents) return false;
    m.entries = std::move(ents).value();
    probe_.append_entries_read += m.entries.size();
  }
  if (pr.state == Progress::State::replicate) {
    if (!m.entries.empty()) {
      if (pr.inflight.empty()) pr.last_progress_tick = now_;
      pr.next = m.entries.back().index + 1;
      pr.inflight.push_back(pr.next - 1);
    }
  } else {
    pr.probe_sent = true;
  }
  send_(std::move(m));
  return true;
}

void Node::broadcast_append_() {
  for (auto& [id, pr] : progress_) {
    if (id == cfg_.id) continue;
    if (pr.state == Progress::State::replicate) {
      bool sent_any = false;
      while (send_append_(id, false)) sent_any = true;
      if (!sent_any && pr.inflight.size() < cfg_.max_inflight) send_append_(id, true);  // carries the commit index
    } else {
      send_append_(id, true);
    }
  }
}

void Node::broadcast_heartbeat_(uint64_t context) {
  for (auto& [id, pr] : progress_) {
    if (id == cfg_.id) continue;
    Message m;
    m.type = MessageType::heartbeat;
    m.to = id;
    m.commit = std::min(pr.match, hs_.commit);
    m.context = context;
    send_(std::move(m));
  }
}

void Node::check_replication_stalls_() {
  // Appends lost in the network would keep a full window closed forever; fall back to probing.
  for (auto& [id, pr] : progress_) {
    if (id == cfg_.id || pr.state != Progress::State::replicate || pr.inflight.empty()) continue;
    if (now_ - pr.last_progress_tick > std::max(2, cfg_.election_ticks / 2)) {
      pr.become_probe(pr.match + 1);
      send_append_(id, true);
    }
  }
}

void Node::handle_append_(const Message& m) {
  // While a snapshot is installed the log is about to be reset: acknowledging entries now could
  // promise what the reset drops. The leader sends them again once it hears of the install.
  if (restoring_) return;
  Message r;
  r.type = MessageType::append_resp;
  r.to = m.from;
  if (m.index < hs_.commit) {
    r.index = hs_.commit;  // everything up to our commit already matches the leader
    send_(std::move(r));
    return;
  }
  auto t = log_.term(m.index);
  if (t && *t == m.log_term) {
    size_t i = 0;
    for (; i < m.entries.size(); ++i) {
      const Entry& e = m.entries[i];
      auto et = log_.term(e.index);
      if (!et) break;  // beyond our last entry
      if (*et != e.term) {
        if (e.index <= hs_.commit) std::abort();  // would erase a committed entry: broken invariant
        if (!log_.truncate_suffix(e.index)) std::abort();
        log_dirty_ = true;
        // What replaces the cut entries is durable only after the next sync.
        synced_last_ = std::min(synced_last_, e.index - 1);
        break;
      }
    }
    if (i < m.entries.size())
      append_local_(std::vector<Entry>(m.entries.begin() + static_cast<std::ptrdiff_t>(i), m.entries.end()));
    Index last_new = m.index + m.entries.size();
    hs_.commit = std::max(hs_.commit, std::min(m.commit, last_new));
    r.index = last_new;  // sent only after flush_() has synced the appended entries
  } else {
    Index hint = find_conflict_by_term_(std::min(m.index, log_.last_index()), m.log_term);
    r.reject = true;
    r.index = m.index;
    r.reject_hint = hint;
    auto ht = log_.term(hint);
    r.reject_term = ht ? *ht : 0;
  }
  send_(std::move(r));
}

void Node::handle_append_response_(const Message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  if (m.reject) {
    if (m.index < pr.match) return;  // stale
    bool current = pr.state == Progress::State::replicate ||
                   (pr.state == Progress::State::probe && m.index == pr.next - 1);
    if (m.index == pr.match) {
      // The follower refuses the entry it acknowledged last and has fewer entries than that:
      // its log was rebuilt empty (`cairn recover`, docs/wal.md "Disk faults"), or this is a
      // reordered old reject. Either way probing again from what it says it has is safe: a
      // lower match only makes commits wait, and a follower that does hold the entries
      // acknowledges them again at once.
      if (m.reject_hint >= pr.match || !current) return;
      ++probe_.lost_logs;
      pr.match = m.reject_hint;
    }
    if (!current) return;
    Index next_probe = m.reject_hint;
    if (m.reject_term > 0) next_probe = find_conflict_by_term_(m.reject_hint, m.reject_term);
    pr.become_probe(std::max(pr.match + 1, std::min(next_probe + 1, m.index)));
    send_append_(m.from, true);
    return;
  }
  if (m.index > log_.last_index()) return;  // cannot be an answer to this term's leader
  if (m.index > pr.match) {
    pr.match = m.index;
    pr.last_progress_tick = now_;
  }
  while (!pr.inflight.empty() && pr.inflight.front() <= m.index) pr.inflight.pop_front();
  if (pr.state == Progress::State::probe) {
    pr.become_replicate();
  } else if (pr.state == Progress::State::snapshot && pr.snap && pr.match >= pr.snap->meta().index) {
    pr.snap.reset();
    pr.become_replicate();
  }
  if (pr.next <= pr.match) pr.next = pr.match + 1;
  if (maybe_commit_()) broadcast_pending_ = true;
  while (send_append_(m.from, false)) {
  }
  maybe_send_timeout_now_(m.from);
}

void Node::handle_heartbeat_(const Message& m) {
  hs_.commit = std::max(hs_.commit, std::min(m.commit, log_.last_index()));
  Message r;
  r.type = MessageType::heartbeat_resp;
  r.to = m.from;
  r.context = m.context;
  send_(std::move(r));
}

void Node::handle_heartbeat_response_(const Message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  pr.probe_sent = false;
  if (pr.match < log_.last_index()) send_append_(m.from, false);
  if (m.context > 0 && conf_.is_voter(m.from)) {
    uint64_t& ack = read_acks_[m.from];
    ack = std::max(ack, m.context);
    confirm_reads_();
  }
}

}  // namespace cairn::raft
