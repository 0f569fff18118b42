#include "raft/types.h"

#include <algorithm>

namespace cairn::raft {

bool ConfState::is_voter(NodeId id) const {
  return std::binary_search(voters.begin(), voters.end(), id);
}
bool ConfState::is_learner(NodeId id) const {
  return std::binary_search(learners.begin(), learners.end(), id);
}

const char* to_string(CodecError e) {
  switch (e) {
    case CodecError::truncated: return "truncated";
    case CodecError::oversized: return "oversized";
    case CodecError::bad_version: return "bad version";
    case CodecError::bad_value: return "bad value";
    case CodecError::trailing_bytes: return "trailing bytes";
  }
  return "?";
}

namespace wire {
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_bytes(std::string& out, std::string_view b) {
  put_varint(out, b.size());
  out.append(b);
}
bool Reader::varint(uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= in_.size()) return false;
    uint8_t b = static_cast<uint8_t>(in_[pos_++]);
    if (shift == 63 && b > 1) return false;  // would overflow 64 bits
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}
bool Reader::byte(uint8_t& v) {
  if (pos_ >= in_.size()) return false;
  v = static_cast<uint8_t>(in_[pos_++]);
  return true;
}
bool Reader::bytes(std::string& v) {
  uint64_t n = 0;
  if (!varint(n) || n > remaining()) return false;
  v.assign(in_.substr(pos_, n));
  pos_ += n;
  return true;
}
}  // namespace wire

namespace {
void put_ids(std::string& out, const std::vector<NodeId>& ids) {
  wire::put_varint(out, ids.size());
  for (NodeId id : ids) wire::put_varint(out, id);
}
bool get_ids(wire::Reader& r, std::vector<NodeId>& ids) {
  uint64_t n = 0;
  if (!r.varint(n) || n > r.remaining()) return false;
  ids.resize(n);
  for (auto& id : ids)
    if (!r.varint(id)) return false;
  return true;
}
bool sorted_unique(const std::vector<NodeId>& v) {
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] == kNoNode || (i > 0 && v[i - 1] >= v[i])) return false;
  return true;
}
}  // namespace

std::string encode_conf_state(const ConfState& conf) {
  std::string out;
  put_ids(out, conf.voters);
  put_ids(out, conf.learners);
  return out;
}

Result<ConfState, CodecError> decode_conf_state(std::string_view bytes) {
  wire::Reader r(bytes);
  ConfState c;
  if (!get_ids(r, c.voters) || !get_ids(r, c.learners)) return Unexpected{CodecError::truncated};
  if (r.remaining() != 0) return Unexpected{CodecError::trailing_bytes};
  if (!sorted_unique(c.voters) || !sorted_unique(c.learners)) return Unexpected{CodecError::bad_value};
  for (NodeId id : c.learners)
    if (c.is_voter(id)) return Unexpected{CodecError::bad_value};
  return c;
}

Result<ConfState, std::string> apply_conf_change(const ConfState& conf, const ConfChange& change) {
  ConfState next = conf;
  NodeId id = change.node;
  if (id == kNoNode) return Unexpected{std::string("node id 0 is reserved")};
  auto erase = [](std::vector<NodeId>& v, NodeId x) { v.erase(std::remove(v.begin(), v.end(), x), v.end()); };
  auto insert = [](std::vector<NodeId>& v, NodeId x) { v.insert(std::lower_bound(v.begin(), v.end(), x), x); };
  switch (change.type) {
    case ConfChangeType::add_learner:
      if (conf.contains(id)) return Unexpected{std::string("node is already a member")};
      insert(next.learners, id);
      break;
    case ConfChangeType::promote:
      if (!conf.is_learner(id)) return Unexpected{std::string("node is not a learner")};
      erase(next.learners, id);
      insert(next.voters, id);
      break;
    case ConfChangeType::remove:
      if (!conf.contains(id)) return Unexpected{std::string("node is not a member")};
      if (conf.is_voter(id) && conf.voters.size() == 1)
        return Unexpected{std::string("cannot remove the last voter")};
      erase(next.voters, id);
      erase(next.learners, id);
      break;
  }
  return next;
}

}  // namespace cairn::raft
