#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "raft/types.h"

namespace cairn::raft {

/// Every message exchanged between Raft peers. Field meaning per type is listed on Message.
enum class MessageType : uint8_t {
  pre_vote = 1,        // index/log_term: candidate's last entry; term: the term it would use
  pre_vote_resp = 2,   // reject
  vote = 3,            // index/log_term: candidate's last entry; context 1 = leadership transfer
  vote_resp = 4,       // reject
  append = 5,          // index/log_term: entry preceding `entries`; commit: leader commit
  append_resp = 6,     // index: match index, or the rejected prev index; reject_hint/_term
  snapshot = 7,        // snapshot: meta; offset/chunk/done: one chunk of the state machine image
  snapshot_resp = 8,   // index: next offset expected; commit: snapshot index; context 1 = installed
  heartbeat = 9,       // commit: min(leader commit, follower match); context: read-index round
  heartbeat_resp = 10, // context: echoed read-index round
  timeout_now = 11,    // leadership transfer: campaign now, skipping pre-vote
};
const char* to_string(MessageType t);

/// A message as the consensus core sees it; the transport only moves encode()'d bytes.
/// A plain value type.
struct Message {
  MessageType type = MessageType::heartbeat;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term = 0;
  Index index = 0;
  Term log_term = 0;
  Index commit = 0;
  bool reject = false;
  Index reject_hint = 0;
  Term reject_term = 0;
  uint64_t context = 0;
  std::vector<Entry> entries;
  SnapshotMeta snapshot;
  uint64_t offset = 0;
  std::string chunk;
  bool done = false;
  bool operator==(const Message&) const = default;
};

/// Wire format version written in the first byte; decoders reject any other.
inline constexpr uint8_t kMessageVersion = 1;
/// Upper bound on one encoded message; larger input is rejected before parsing.
inline constexpr size_t kMaxMessageBytes = 64u << 20;

/// Encodes `m` (version byte, type byte, then varint fields). Deterministic.
std::string encode(const Message& m);
/// Decodes bytes produced by encode(). Never reads out of bounds and never crashes: truncated,
/// oversized, trailing or semantically impossible input is returned as a CodecError.
Result<Message, CodecError> decode(std::string_view bytes);

}  // namespace cairn::raft
