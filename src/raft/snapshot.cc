// Snapshots (Raft paper §7): compaction once the log is long and the state machine's snapshot
// is durable, InstallSnapshot in chunks with offsets, and a follower that swaps its state only
// when the whole image has arrived. Saving and installing run in the state machine's background
// (StateMachine::save_snapshot, finish_restore); the driver reports their end through
// snapshot_saved() and snapshot_restored(), so that this thread keeps stepping meanwhile.
#include <algorithm>
#include <cstdlib>

#include "raft/node.h"

namespace cairn::raft {

void Node::maybe_compact_() {
  if (saving_ || restoring_) return;
  if (applied_ < log_.first_index() + cfg_.snapshot_threshold) return;
  if (applied_ <= save_failed_at_) return;  // retried once more is applied
  auto t = log_.term(applied_);
  if (!t) return;
  SnapshotMeta meta{applied_, *t, conf_};
  // Set before the call: the machine may report the save before it returns.
  saving_ = true;
  saving_meta_ = meta;
  if (!sm_.save_snapshot(meta)) {
    saving_ = false;
    save_failed_at_ = applied_;
    return;
  }
  // The planted bug drops the log while the only copy of its prefix is the live state.
  if (cfg_.bugs.compact_before_snapshot_durable) compact_to_(meta);
}

void Node::snapshot_saved(const SnapshotMeta& meta, bool ok) {
  if (saving_ && saving_meta_ == meta) {
    saving_ = false;
    if (ok) {
      ++probe_.snapshots_taken;
      compact_to_(meta);  // the image is durable: the entries it covers may go
    } else {
      save_failed_at_ = meta.index;
    }
  }
  flush_();
}

void Node::compact_to_(const SnapshotMeta& meta) {
  if (meta.index <= cfg_.snapshot_trailing) return;
  Index upto = meta.index - cfg_.snapshot_trailing;
  // Nothing to drop, or a snapshot installed meanwhile already replaced this part of the log.
  if (upto < log_.first_index() || upto > log_.last_index()) return;
  if (!log_.compact_prefix(upto)) std::abort();
  log_dirty_ = true;
}

bool Node::send_snapshot_chunk_(NodeId to, Progress& pr) {
  auto data = pr.snap->read(pr.snap_offset, cfg_.snapshot_chunk_bytes);
  if (!data) {
    pr.become_probe(pr.match + 1);
    return false;
  }
  Message m;
  m.type = MessageType::snapshot;
  m.to = to;
  m.snapshot = pr.snap->meta();
  m.offset = pr.snap_offset;
  m.done = pr.snap_offset + data->size() >= pr.snap->size();
  m.chunk = std::move(data).value();
  pr.snap_sent_tick = now_;
  ++probe_.snapshot_chunks_sent;
  send_(std::move(m));
  return true;
}

void Node::tick_snapshots_() {
  for (auto& [id, pr] : progress_) {
    if (pr.state != Progress::State::snapshot || !pr.snap) continue;
    if (now_ - pr.snap_sent_tick >= std::max(2, cfg_.election_ticks / 2)) send_snapshot_chunk_(id, pr);
  }
}

void Node::handle_snapshot_response_(const Message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  if (pr.state != Progress::State::snapshot || !pr.snap || m.commit != pr.snap->meta().index) return;
  if (m.context == 1) {  // installed
    if (m.commit > pr.match) pr.match = m.commit;
    pr.snap.reset();
    pr.become_replicate();
    if (maybe_commit_()) broadcast_pending_ = true;
    while (send_append_(m.from, false)) {
    }
    return;
  }
  if (m.reject) {
    pr.snap_offset = m.index;  // restart where the follower is (0 = from the beginning)
    send_snapshot_chunk_(m.from, pr);
  } else if (m.index > pr.snap_offset && m.index <= pr.snap->size()) {
    pr.snap_offset = m.index;
    send_snapshot_chunk_(m.from, pr);
  }
}

void Node::handle_snapshot_(const Message& m) {
  // An image is being installed: the leader hears about it once it is in place (it re-sends its
  // last chunk meanwhile; heartbeats are answered as usual).
  if (restoring_) return;
  const SnapshotMeta& meta = m.snapshot;
  Message r;
  r.type = MessageType::snapshot_resp;
  r.to = m.from;
  r.commit = meta.index;
  if (meta.index <= hs_.commit) {
    r.context = 1;  // we already hold everything it covers
    send_(std::move(r));
    return;
  }
  if (m.offset == 0) {
    restore_ = sm_.begin_restore(meta);
    restore_meta_ = meta;
  }
  if (!restore_ || !(restore_meta_ == meta) || restore_->written() != m.offset) {
    r.reject = true;
    r.index = (restore_ && restore_meta_ == meta) ? restore_->written() : 0;
    send_(std::move(r));
    return;
  }
  if (!restore_->write(m.offset, m.chunk)) {
    restore_.reset();
    r.reject = true;
    send_(std::move(r));
    return;
  }
  r.index = restore_->written();
  if (!m.done) {
    send_(std::move(r));
    return;
  }
  // The whole image is here: the machine installs it in the background and snapshot_restored()
  // answers the leader. Set before the call: the machine may report before it returns.
  restoring_ = true;
  restore_from_ = m.from;
  auto started = sm_.finish_restore(std::move(restore_));
  restore_.reset();
  if (!started) {
    restoring_ = false;
    r.reject = true;
    r.index = 0;
    send_(std::move(r));
  }
}

void Node::snapshot_restored(const SnapshotMeta& meta, bool ok) {
  if (!restoring_ || !(restore_meta_ == meta)) {
    flush_();
    return;
  }
  restoring_ = false;
  Message r;
  r.type = MessageType::snapshot_resp;
  r.to = restore_from_;
  r.commit = meta.index;
  if (!ok) {
    r.reject = true;
    r.index = 0;
    send_(std::move(r));
    flush_();
    return;
  }
  // The state machine now durably holds the snapshot; only then drop the log it replaces.
  auto t = log_.term(meta.index);
  if (t && *t == meta.term) {
    if (!log_.compact_prefix(meta.index)) std::abort();
  } else {
    if (!log_.reset(meta.index, meta.term)) std::abort();
    synced_last_ = std::min(synced_last_, meta.index);
  }
  log_dirty_ = true;
  // Heartbeats may have moved the commit index on meanwhile, but only within a log that holds
  // the snapshot's last entry (see handle_heartbeat_), which the compaction above kept.
  hs_.commit = std::max(hs_.commit, meta.index);
  applied_ = meta.index;
  conf_ = meta.conf;
  r.context = 1;
  ++probe_.snapshots_installed;
  send_(std::move(r));
  flush_();
}

}  // namespace cairn::raft
