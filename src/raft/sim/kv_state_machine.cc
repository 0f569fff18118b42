#include "raft/sim/kv_state_machine.h"

#include "raft/types.h"

namespace cairn::raft::sim {
namespace {

std::string serialize(const std::map<std::string, std::string>& kv) {
  std::string out;
  wire::put_varint(out, kv.size());
  for (auto& [k, v] : kv) {
    wire::put_bytes(out, k);
    wire::put_bytes(out, v);
  }
  return out;
}

bool parse(const std::string& bytes, std::map<std::string, std::string>& kv) {
  kv.clear();
  wire::Reader r(bytes);
  uint64_t n = 0;
  if (!r.varint(n)) return false;
  for (uint64_t i = 0; i < n; ++i) {
    std::string k, v;
    if (!r.bytes(k) || !r.bytes(v)) return false;
    kv[k] = v;
  }
  return r.remaining() == 0;
}

/// Chunked reads over an immutable serialized image shared with the state machine.
class Reader final : public SnapshotReader {
 public:
  Reader(SnapshotMeta meta, std::shared_ptr<const std::string> bytes) : meta_(std::move(meta)), bytes_(std::move(bytes)) {}
  const SnapshotMeta& meta() const override { return meta_; }
  uint64_t size() const override { return bytes_->size(); }
  Result<std::string, SnapshotError> read(uint64_t offset, uint64_t max_bytes) override {
    if (offset > bytes_->size()) return Unexpected{SnapshotError::bad_offset};
    return bytes_->substr(offset, max_bytes);
  }

 private:
  SnapshotMeta meta_;
  std::shared_ptr<const std::string> bytes_;
};

/// Stages an incoming image in memory until finish_restore().
class Writer final : public SnapshotWriter {
 public:
  explicit Writer(SnapshotMeta meta) : meta(std::move(meta)) {}
  Result<Ok, SnapshotError> write(uint64_t offset, const std::string& chunk) override {
    if (offset != data.size()) return Unexpected{SnapshotError::bad_offset};
    data += chunk;
    return Ok{};
  }
  uint64_t written() const override { return data.size(); }
  SnapshotMeta meta;
  std::string data;
};

}  // namespace

std::optional<std::string> KvStateMachine::apply(const Entry& entry, const ConfState& conf) {
  if (fail_next_applies > 0) {
    --fail_next_applies;
    return std::nullopt;
  }
  if (on_apply) on_apply(entry);
  applied_ = SnapshotMeta{entry.index, entry.term, conf};
  if (entry.type != EntryType::normal) return std::string();
  auto eq = entry.data.find('=');
  if (eq == std::string::npos) return "bad command";
  kv_[entry.data.substr(0, eq)] = entry.data.substr(eq + 1);
  return "ok";
}

void KvStateMachine::begin_applies() {
  group_kv_ = kv_;
  group_applied_ = applied_;
}

bool KvStateMachine::finish_applies() {
  if (fail_next_groups <= 0) return true;
  --fail_next_groups;
  ++groups_failed;
  kv_ = std::move(group_kv_);
  applied_ = group_applied_;
  return false;
}

Result<Ok, SnapshotError> KvStateMachine::save_snapshot(const SnapshotMeta& meta) {
  if (meta.index != applied_.index) return Unexpected{SnapshotError::unavailable};
  // The image is taken now; only its durability comes later.
  pending_saves_.push_back(PendingSave{meta, std::make_shared<const std::string>(serialize(kv_))});
  if (!async) {
    auto done = complete_save();
    if (on_saved) on_saved(done->meta, done->ok);
  }
  return Ok{};
}

std::optional<KvStateMachine::Completion> KvStateMachine::complete_save(bool fail) {
  if (pending_saves_.empty()) return std::nullopt;
  PendingSave p = std::move(pending_saves_.front());
  pending_saves_.pop_front();
  if (fail) return Completion{p.meta, false};
  // A snapshot installed meanwhile may be newer: the latest durable one stays.
  if (!snap_bytes_ || p.meta.index > snap_meta_.index) {
    snap_bytes_ = std::move(p.bytes);
    snap_meta_ = p.meta;
  }
  ++snapshots_saved;
  return Completion{p.meta, true};
}

std::unique_ptr<SnapshotReader> KvStateMachine::open_snapshot() {
  if (!snap_bytes_) return nullptr;
  return std::make_unique<Reader>(snap_meta_, snap_bytes_);
}

std::unique_ptr<SnapshotWriter> KvStateMachine::begin_restore(const SnapshotMeta& meta) {
  return std::make_unique<Writer>(meta);
}

Result<Ok, SnapshotError> KvStateMachine::finish_restore(std::unique_ptr<SnapshotWriter> writer) {
  if (!dynamic_cast<Writer*>(writer.get()) || pending_restore_)
    return Unexpected{SnapshotError::unavailable};
  pending_restore_ = std::move(writer);
  if (!async) {
    auto done = complete_restore();
    if (on_restored) on_restored(done->meta, done->ok);
  }
  return Ok{};
}

std::optional<KvStateMachine::Completion> KvStateMachine::complete_restore(bool fail) {
  if (!pending_restore_) return std::nullopt;
  std::unique_ptr<SnapshotWriter> writer = std::move(pending_restore_);
  auto* w = static_cast<Writer*>(writer.get());
  if (fail) return Completion{w->meta, false};
  std::map<std::string, std::string> kv;
  if (!parse(w->data, kv)) return Completion{w->meta, false};
  kv_ = std::move(kv);
  applied_ = w->meta;
  snap_meta_ = w->meta;
  snap_bytes_ = std::make_shared<const std::string>(std::move(w->data));
  ++snapshots_restored;
  return Completion{w->meta, true};
}

void KvStateMachine::crash() {
  pending_saves_.clear();
  pending_restore_.reset();
  kv_.clear();
  applied_ = SnapshotMeta{};
  if (snap_bytes_) {
    parse(*snap_bytes_, kv_);
    applied_ = snap_meta_;
  }
}

std::string KvStateMachine::get(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? std::string() : it->second;
}

}  // namespace cairn::raft::sim
