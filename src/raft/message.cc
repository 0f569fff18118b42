#include "raft/message.h"

namespace cairn::raft {

const char* to_string(MessageType t) {
  switch (t) {
    case MessageType::pre_vote: return "pre_vote";
    case MessageType::pre_vote_resp: return "pre_vote_resp";
    case MessageType::vote: return "vote";
    case MessageType::vote_resp: return "vote_resp";
    case MessageType::append: return "append";
    case MessageType::append_resp: return "append_resp";
    case MessageType::snapshot: return "snapshot";
    case MessageType::snapshot_resp: return "snapshot_resp";
    case MessageType::heartbeat: return "heartbeat";
    case MessageType::heartbeat_resp: return "heartbeat_resp";
    case MessageType::timeout_now: return "timeout_now";
  }
  return "?";
}

std::string encode(const Message& m) {
  using wire::put_varint;
  std::string out;
  out.reserve(64 + m.chunk.size());
  out.push_back(static_cast<char>(kMessageVersion));
  out.push_back(static_cast<char>(m.type));
  for (uint64_t v : {m.from, m.to, m.term, m.index, m.log_term, m.commit}) put_varint(out, v);
  out.push_back(static_cast<char>((m.reject ? 1 : 0) | (m.done ? 2 : 0)));
  for (uint64_t v : {m.reject_hint, m.reject_term, m.context}) put_varint(out, v);
  put_varint(out, m.entries.size());
  for (const Entry& e : m.entries) {
    put_varint(out, e.term);
    put_varint(out, e.index);
    out.push_back(static_cast<char>(e.type));
    wire::put_bytes(out, e.data);
  }
  put_varint(out, m.snapshot.index);
  put_varint(out, m.snapshot.term);
  wire::put_bytes(out, encode_conf_state(m.snapshot.conf));
  put_varint(out, m.offset);
  wire::put_bytes(out, m.chunk);
  return out;
}

Result<Message, CodecError> decode(std::string_view bytes) {
  if (bytes.size() > kMaxMessageBytes) return Unexpected{CodecError::oversized};
  wire::Reader r(bytes);
  const auto truncated = Unexpected{CodecError::truncated};
  uint8_t version = 0, type = 0, flags = 0;
  if (!r.byte(version)) return truncated;
  if (version != kMessageVersion) return Unexpected{CodecError::bad_version};
  if (!r.byte(type)) return truncated;
  if (type < 1 || type > 11) return Unexpected{CodecError::bad_value};
  Message m;
  m.type = static_cast<MessageType>(type);
  for (uint64_t* v : {&m.from, &m.to, &m.term, &m.index, &m.log_term, &m.commit})
    if (!r.varint(*v)) return truncated;
  if (!r.byte(flags)) return truncated;
  if (flags > 3) return Unexpected{CodecError::bad_value};
  m.reject = flags & 1;
  m.done = flags & 2;
  for (uint64_t* v : {&m.reject_hint, &m.reject_term, &m.context})
    if (!r.varint(*v)) return truncated;
  uint64_t n = 0;
  if (!r.varint(n)) return truncated;
  if (n > r.remaining() / 4) return Unexpected{CodecError::oversized};  // an entry takes >= 4 bytes
  m.entries.resize(n);
  for (Entry& e : m.entries) {
    uint8_t et = 0;
    if (!r.varint(e.term) || !r.varint(e.index) || !r.byte(et) || !r.bytes(e.data)) return truncated;
    if (et > 2) return Unexpected{CodecError::bad_value};
    e.type = static_cast<EntryType>(et);
  }
  // Entries of one append are consecutive and follow the previous entry.
  for (size_t i = 0; i < m.entries.size(); ++i)
    if (m.entries[i].index != m.index + 1 + i) return Unexpected{CodecError::bad_value};
  std::string conf;
  if (!r.varint(m.snapshot.index) || !r.varint(m.snapshot.term) || !r.bytes(conf)) return truncated;
  auto c = decode_conf_state(conf);
  if (!c) return Unexpected{c.error()};
  m.snapshot.conf = std::move(c).value();
  if (!r.varint(m.offset) || !r.bytes(m.chunk)) return truncated;
  if (r.remaining() != 0) return Unexpected{CodecError::trailing_bytes};
  return m;
}

}  // namespace cairn::raft
