#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cairn::raft {

using NodeId = uint64_t;  // 0 means "no node"
using Term = uint64_t;
using Index = uint64_t;
inline constexpr NodeId kNoNode = 0;

/// Kinds of log entries. `conf_change` carries a complete encoded ConfState (the configuration
/// that holds once the entry is applied); the first entry of a bootstrapped cluster is one.
enum class EntryType : uint8_t { normal = 0, noop = 1, conf_change = 2 };

/// One log entry; a plain value type.
struct Entry {
  Term term = 0;
  Index index = 0;
  EntryType type = EntryType::normal;
  std::string data;
  bool operator==(const Entry&) const = default;
};

/// A cluster configuration: voters count for elections and commitment, learners only receive
/// the log. Both lists are kept sorted and disjoint. A plain value type.
struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  bool is_voter(NodeId id) const;
  bool is_learner(NodeId id) const;
  bool contains(NodeId id) const { return is_voter(id) || is_learner(id); }
  bool operator==(const ConfState&) const = default;
};

/// A single-server change requested by an operator; the leader turns it into a full ConfState.
enum class ConfChangeType : uint8_t { add_learner = 0, promote = 1, remove = 2 };
struct ConfChange {
  ConfChangeType type = ConfChangeType::add_learner;
  NodeId node = kNoNode;
};

/// Term, vote and commit index: what must survive a crash (commit only as a hint).
struct HardState {
  Term term = 0;
  NodeId vote = kNoNode;
  Index commit = 0;
  bool operator==(const HardState&) const = default;
};

/// Describes the state captured by a snapshot: every entry up to `index` applied.
struct SnapshotMeta {
  Index index = 0;
  Term term = 0;
  ConfState conf;
  bool operator==(const SnapshotMeta&) const = default;
};

enum class CodecError { truncated, oversized, bad_version, bad_value, trailing_bytes };
const char* to_string(CodecError e);

std::string encode_conf_state(const ConfState& conf);
Result<ConfState, CodecError> decode_conf_state(std::string_view bytes);

/// Returns the configuration after `change`, or an explanation of why it is not a valid
/// single-server change of `conf`.
Result<ConfState, std::string> apply_conf_change(const ConfState& conf, const ConfChange& change);

/// Little-endian base-128 varints and length-prefixed strings shared by the codecs.
namespace wire {
void put_varint(std::string& out, uint64_t v);
void put_bytes(std::string& out, std::string_view b);
/// A cursor over input bytes; every read fails (returns false) instead of reading past the end.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool varint(uint64_t& v);
  bool byte(uint8_t& v);
  bool bytes(std::string& v);
  size_t remaining() const { return in_.size() - pos_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};
}  // namespace wire

}  // namespace cairn::raft
