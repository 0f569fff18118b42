#include "transport/handshake.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace cairn::transport {

std::string hmac_sha256(std::string_view key, std::string_view data) {
  static const unsigned char kEmpty = 0;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const void* k = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  if (!HMAC(EVP_sha256(), k, static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len)) {
    throw std::runtime_error("HMAC-SHA256 failed");  // OpenSSL out of memory: a broken node
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr)) {
    throw std::runtime_error("SHA-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return out;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string handshake_proof(std::string_view secret, HandshakeSide side,
                            const HandshakeTranscript& t) {
  std::string input = "cairn peer handshake v2";
  input.push_back(static_cast<char>(side));
  raft::wire::put_bytes(input, t.cluster_id);
  raft::wire::put_varint(input, t.dialer);
  raft::wire::put_varint(input, t.acceptor);
  raft::wire::put_bytes(input, t.dialer_nonce);
  raft::wire::put_bytes(input, t.acceptor_nonce);
  return hmac_sha256(secret, input);
}

std::optional<size_t> match_proof(const std::vector<std::string>& secrets, HandshakeSide side,
                                  const HandshakeTranscript& transcript, std::string_view proof) {
  std::optional<size_t> found;
  for (size_t i = 0; i < secrets.size(); ++i) {
    const bool equal = constant_time_equal(handshake_proof(secrets[i], side, transcript), proof);
    if (equal && !found) found = i;
  }
  return found;
}

std::string encode_auth(const Auth& a) {
  std::string out;
  raft::wire::put_bytes(out, a.nonce);
  raft::wire::put_bytes(out, a.proof);
  return out;
}

Result<Auth, FrameError> decode_auth(std::string_view payload) {
  raft::wire::Reader r(payload);
  Auth a;
  if (!r.bytes(a.nonce) || !r.bytes(a.proof) || r.remaining() != 0 ||
      a.nonce.size() != kNonceBytes || a.proof.size() != kProofBytes) {
    return Unexpected{FrameError::bad_payload};
  }
  return a;
}

std::string encode_auth_ack(const AuthAck& a) {
  std::string out;
  out.push_back(static_cast<char>(a.status));
  raft::wire::put_bytes(out, a.proof);
  raft::wire::put_bytes(out, a.reason);
  return out;
}

Result<AuthAck, FrameError> decode_auth_ack(std::string_view payload) {
  const auto bad = Unexpected{FrameError::bad_payload};
  raft::wire::Reader r(payload);
  AuthAck a;
  uint8_t status = 0;
  if (!r.byte(status) || !r.bytes(a.proof) || !r.bytes(a.reason) || r.remaining() != 0) return bad;
  if (status != static_cast<uint8_t>(HandshakeStatus::ok) &&
      status != static_cast<uint8_t>(HandshakeStatus::bad_secret)) {
    return bad;
  }
  a.status = static_cast<HandshakeStatus>(status);
  if (a.status == HandshakeStatus::ok ? a.proof.size() != kProofBytes : !a.proof.empty()) {
    return bad;
  }
  return a;
}

}  // namespace cairn::transport
