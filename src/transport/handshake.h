#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "raft/types.h"
#include "transport/frame.h"

namespace cairn::transport {

// Peer authentication (docs/security.md, docs/transport.md): a mutual challenge-response over
// the cluster secret, run on every connection right after the hello:
//
//   dialer                                   acceptor
//     hello {protocol 2, from, to, cluster}  ->
//                                            <-  hello_ack {ok, …, acceptor nonce Na}
//     auth {dialer nonce Nd, proof_d}        ->    proof_d = HMAC(secret, "dialer", ids, Na, Nd)
//                                            <-  auth_ack {ok, proof_a} or {bad_secret, reason}
//                                                  proof_a = HMAC(secret, "acceptor", ids, Na, Nd)
//
// Each side proves it knows the secret over a nonce the other side just chose, so a recorded
// handshake cannot be replayed, and the two proofs carry different labels, so one cannot be
// reflected as the other. The secret never crosses the wire. What it does not do: encrypt or
// authenticate the frames that follow (an on-path attacker could still tamper with them); peer
// mTLS (TransportOptions::tls_*) does that, and the handshake then runs inside TLS.

/// Bytes of each side's nonce.
inline constexpr size_t kNonceBytes = 32;
/// Bytes of an HMAC-SHA256.
inline constexpr size_t kProofBytes = 32;

/// HMAC-SHA256 of `data` under `key` (raw 32 bytes). An empty key is allowed.
std::string hmac_sha256(std::string_view key, std::string_view data);
/// SHA-256 of `data` (raw 32 bytes).
std::string sha256(std::string_view data);
/// `n` bytes from OpenSSL's CSPRNG.
std::string random_bytes(size_t n);
/// Lower-case hex of `bytes`.
std::string to_hex(std::string_view bytes);
/// Equality whose time depends only on the lengths (CRYPTO_memcmp).
bool constant_time_equal(std::string_view a, std::string_view b);

enum class HandshakeSide : uint8_t { dialer = 1, acceptor = 2 };

/// What the dialer's connection names: the cluster, both node ids and both nonces. Every proof
/// covers all of it, length-prefixed, so no two different handshakes share an input.
struct HandshakeTranscript {
  std::string cluster_id;
  raft::NodeId dialer = raft::kNoNode;
  raft::NodeId acceptor = raft::kNoNode;
  std::string dialer_nonce;
  std::string acceptor_nonce;
};

/// The proof `side` sends for `transcript` under `secret`.
std::string handshake_proof(std::string_view secret, HandshakeSide side,
                            const HandshakeTranscript& transcript);

/// The index in `secrets` of the secret under which `proof` is `side`'s valid proof, or
/// nullopt. Every candidate is checked (in constant time each), whatever matched.
std::optional<size_t> match_proof(const std::vector<std::string>& secrets, HandshakeSide side,
                                  const HandshakeTranscript& transcript, std::string_view proof);

/// The dialer's answer to the acceptor's challenge (FrameKind::auth).
struct Auth {
  std::string nonce;  // kNonceBytes
  std::string proof;  // kProofBytes
  bool operator==(const Auth&) const = default;
};

/// The acceptor's verdict on the dialer's proof (FrameKind::auth_ack): with `ok`, its own proof;
/// otherwise (HandshakeStatus::bad_secret) a reason, and the acceptor closes the connection.
struct AuthAck {
  HandshakeStatus status = HandshakeStatus::ok;
  std::string proof;   // kProofBytes with ok, empty otherwise
  std::string reason;  // human-readable when status != ok
  bool operator==(const AuthAck&) const = default;
};

/// Payload codecs. Decoders never read out of bounds; a nonce or proof of the wrong length,
/// trailing bytes or an unknown status are errors.
std::string encode_auth(const Auth& a);
Result<Auth, FrameError> decode_auth(std::string_view payload);
std::string encode_auth_ack(const AuthAck& a);
Result<AuthAck, FrameError> decode_auth_ack(std::string_view payload);

}  // namespace cairn::transport
