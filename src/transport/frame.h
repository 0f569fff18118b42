#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "raft/types.h"

namespace cairn::transport {

// The wire format between peers (docs/transport.md draws it). Every byte on a peer connection
// belongs to a frame:
//
//   offset  size  field
//        0     4  magic    0x43 0x52 0x4E 0x46 ("CRNF")
//        4     1  version  kFrameVersion; any other value closes the connection
//        5     1  kind     FrameKind
//        6     2  flags    0 (reserved; non-zero is rejected so that a later version can use it)
//        8     4  length   payload bytes, big-endian, at most the receiver's limit
//       12     4  crc      CRC-32C (Castagnoli) of the payload, big-endian
//       16     …  payload
//
// The header is validated as a whole before a single payload byte is allocated, so a peer that
// claims a huge length costs the receiver nothing but 16 bytes.

inline constexpr uint32_t kFrameMagic = 0x43524E46;  // "CRNF"
inline constexpr uint8_t kFrameVersion = 1;
inline constexpr size_t kFrameHeaderBytes = 16;
/// Limit on hello and hello_ack payloads: until a peer has passed the handshake it may not make
/// the receiver allocate more than this.
inline constexpr size_t kMaxHandshakeBytes = 4096;
/// Longest cluster id accepted (options and hello).
inline constexpr size_t kMaxClusterIdBytes = 255;
/// Version of the handshake and connection protocol carried in the hello. 2 added the cluster
/// secret's challenge-response (transport/handshake.h: the acceptor nonce in hello_ack, then
/// auth / auth_ack). The hello's layout is unchanged, so a node of either version answers the
/// other's hello with a readable version_mismatch: a protocol-1 node and a protocol-2 node never
/// exchange Raft messages (docs/transport.md, "Versions").
inline constexpr uint32_t kProtocolVersion = 2;

enum class FrameKind : uint8_t {
  hello = 1,      // dialer -> acceptor, first frame on a connection; payload: Hello
  hello_ack = 2,  // acceptor -> dialer, answer to the hello; payload: HelloAck
  message = 3,    // dialer -> acceptor after an ok auth_ack; payload: raft::encode(Message)
  auth = 4,       // dialer -> acceptor after an ok hello_ack; payload: Auth (handshake.h)
  auth_ack = 5,   // acceptor -> dialer, verdict on the auth; payload: AuthAck (handshake.h)
};

/// Why a frame was refused. Every one of them closes the connection.
enum class FrameError {
  bad_magic,
  bad_version,
  bad_kind,
  bad_flags,
  oversized,
  bad_crc,
  bad_payload
};
const char* to_string(FrameError e);

struct FrameHeader {
  FrameKind kind = FrameKind::message;
  uint32_t length = 0;
  uint32_t crc = 0;
};

using HeaderBytes = std::array<uint8_t, kFrameHeaderBytes>;

/// CRC-32C of `bytes` (iSCSI polynomial, reflected, init and xor-out 0xFFFFFFFF).
uint32_t crc32c(std::string_view bytes);

/// The header for `payload` of `kind` (computes the CRC). `payload.size()` must fit in 32 bits.
HeaderBytes encode_header(FrameKind kind, std::string_view payload);

/// Parses and validates a header. `max_payload` is the largest length this receiver accepts in
/// its current state; a larger claim is FrameError::oversized. Never reads past 16 bytes.
Result<FrameHeader, FrameError> decode_header(const HeaderBytes& bytes, size_t max_payload);

/// True when `payload` matches the header's CRC.
bool crc_matches(const FrameHeader& header, std::string_view payload);

/// The dialer's first frame: who it is, whom it thinks it called, and which cluster it is in.
struct Hello {
  uint32_t protocol = kProtocolVersion;
  uint8_t message_version = 0;  // raft::kMessageVersion of the dialer
  raft::NodeId from = raft::kNoNode;
  raft::NodeId to = raft::kNoNode;  // the node id the dialer expects at this address
  std::string cluster_id;
  bool operator==(const Hello&) const = default;
};

/// The acceptor's verdict. Anything but `ok` is followed by the acceptor closing the connection.
enum class HandshakeStatus : uint8_t {
  ok = 0,
  cluster_mismatch = 1,  // the cluster ids differ: two clusters must never exchange messages
  wrong_node = 2,        // the dialer called a node id that is not the acceptor's
  version_mismatch = 3,  // protocol or raft message version not supported
  bad_secret = 4,        // the dialer's proof matches none of the acceptor's cluster secrets
};
const char* to_string(HandshakeStatus s);

struct HelloAck {
  HandshakeStatus status = HandshakeStatus::ok;
  raft::NodeId from = raft::kNoNode;  // the acceptor's node id
  std::string cluster_id;             // the acceptor's cluster id, so that both sides can log it
  std::string reason;                 // human-readable explanation when status != ok
  // Protocol 2, with ok: the acceptor's challenge (kNonceBytes), answered by the dialer's auth.
  // A trailing field: absent in a protocol-1 node's ack (and in refusals).
  std::string nonce;
  bool operator==(const HelloAck&) const = default;
};

/// Payload codecs (varints as in raft/types.h). Decoders never read out of bounds; trailing
/// bytes, a cluster id longer than kMaxClusterIdBytes or an unknown status are errors.
std::string encode_hello(const Hello& h);
Result<Hello, FrameError> decode_hello(std::string_view payload);
std::string encode_hello_ack(const HelloAck& a);
Result<HelloAck, FrameError> decode_hello_ack(std::string_view payload);

}  // namespace cairn::transport
