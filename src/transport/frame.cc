#include "transport/frame.h"

#include <boost/crc.hpp>

#include "common/endian.h"

namespace cairn::transport {
namespace {

// Frame headers are big-endian (network order).
void put_u32(uint8_t* p, uint32_t v) { endian::store_be<uint32_t>(p, v); }
uint32_t get_u32(const uint8_t* p) { return endian::load_be<uint32_t>(p); }

bool read_u32_varint(raft::wire::Reader& r, uint32_t& v) {
  uint64_t wide = 0;
  if (!r.varint(wide) || wide > UINT32_MAX) return false;
  v = static_cast<uint32_t>(wide);
  return true;
}

}  // namespace

const char* to_string(FrameError e) {
  switch (e) {
    case FrameError::bad_magic:
      return "bad magic";
    case FrameError::bad_version:
      return "unsupported frame version";
    case FrameError::bad_kind:
      return "unknown or unexpected frame kind";
    case FrameError::bad_flags:
      return "reserved flags set";
    case FrameError::oversized:
      return "frame larger than the limit";
    case FrameError::bad_crc:
      return "payload CRC mismatch";
    case FrameError::bad_payload:
      return "malformed payload";
  }
  return "?";
}

const char* to_string(HandshakeStatus s) {
  switch (s) {
    case HandshakeStatus::ok:
      return "ok";
    case HandshakeStatus::cluster_mismatch:
      return "cluster id mismatch";
    case HandshakeStatus::wrong_node:
      return "wrong node id";
    case HandshakeStatus::version_mismatch:
      return "version mismatch";
    case HandshakeStatus::bad_secret:
      return "cluster secret mismatch";
  }
  return "?";
}

uint32_t crc32c(std::string_view bytes) {
  // Boost's table-driven CRC; 0x1EDC6F41 reflected is CRC-32C as used by iSCSI and ext4.
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

HeaderBytes encode_header(FrameKind kind, std::string_view payload) {
  HeaderBytes h{};
  put_u32(&h[0], kFrameMagic);
  h[4] = kFrameVersion;
  h[5] = static_cast<uint8_t>(kind);
  h[6] = 0;
  h[7] = 0;
  put_u32(&h[8], static_cast<uint32_t>(payload.size()));
  put_u32(&h[12], crc32c(payload));
  return h;
}

Result<FrameHeader, FrameError> decode_header(const HeaderBytes& h, size_t max_payload) {
  if (get_u32(&h[0]) != kFrameMagic) return Unexpected{FrameError::bad_magic};
  if (h[4] != kFrameVersion) return Unexpected{FrameError::bad_version};
  if (h[5] < 1 || h[5] > 5) return Unexpected{FrameError::bad_kind};
  if (h[6] != 0 || h[7] != 0) return Unexpected{FrameError::bad_flags};
  FrameHeader out;
  out.kind = static_cast<FrameKind>(h[5]);
  out.length = get_u32(&h[8]);
  out.crc = get_u32(&h[12]);
  if (out.length > max_payload) return Unexpected{FrameError::oversized};
  return out;
}

bool crc_matches(const FrameHeader& header, std::string_view payload) {
  return payload.size() == header.length && crc32c(payload) == header.crc;
}

std::string encode_hello(const Hello& h) {
  std::string out;
  raft::wire::put_varint(out, h.protocol);
  out.push_back(static_cast<char>(h.message_version));
  raft::wire::put_varint(out, h.from);
  raft::wire::put_varint(out, h.to);
  raft::wire::put_bytes(out, h.cluster_id);
  return out;
}

Result<Hello, FrameError> decode_hello(std::string_view payload) {
  const auto bad = Unexpected{FrameError::bad_payload};
  raft::wire::Reader r(payload);
  Hello h;
  if (!read_u32_varint(r, h.protocol) || !r.byte(h.message_version) || !r.varint(h.from) ||
      !r.varint(h.to) || !r.bytes(h.cluster_id))
    return bad;
  if (r.remaining() != 0 || h.cluster_id.size() > kMaxClusterIdBytes) return bad;
  return h;
}

std::string encode_hello_ack(const HelloAck& a) {
  std::string out;
  out.push_back(static_cast<char>(a.status));
  raft::wire::put_varint(out, a.from);
  raft::wire::put_bytes(out, a.cluster_id);
  raft::wire::put_bytes(out, a.reason);
  if (!a.nonce.empty()) raft::wire::put_bytes(out, a.nonce);
  return out;
}

Result<HelloAck, FrameError> decode_hello_ack(std::string_view payload) {
  const auto bad = Unexpected{FrameError::bad_payload};
  raft::wire::Reader r(payload);
  HelloAck a;
  uint8_t status = 0;
  if (!r.byte(status) || !r.varint(a.from) || !r.bytes(a.cluster_id) || !r.bytes(a.reason))
    return bad;
  if (r.remaining() != 0 && (!r.bytes(a.nonce) || a.nonce.empty())) return bad;
  if (status > 4 || r.remaining() != 0 || a.cluster_id.size() > kMaxClusterIdBytes) return bad;
  a.status = static_cast<HandshakeStatus>(status);
  return a;
}

}  // namespace cairn::transport
