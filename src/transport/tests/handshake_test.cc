// The challenge-response's pieces alone: HMAC against RFC 4231, the proofs' bindings, rotation
// lists, and the auth / auth_ack codecs on good and hostile input.

#include "transport/handshake.h"

#include <gtest/gtest.h>

namespace cairn::transport {
namespace {

HandshakeTranscript transcript() {
  return HandshakeTranscript{"prod", 1, 2, std::string(kNonceBytes, 'd'),
                             std::string(kNonceBytes, 'a')};
}

TEST(Handshake, HmacMatchesRfc4231) {
  // RFC 4231 test case 2.
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_sha256("", "x").size(), kProofBytes);  // the empty secret works
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(random_bytes(kNonceBytes).size(), kNonceBytes);
  EXPECT_NE(random_bytes(kNonceBytes), random_bytes(kNonceBytes));
}

TEST(Handshake, ProofBindsSecretSideIdsAndBothNonces) {
  const HandshakeTranscript t = transcript();
  const std::string p = handshake_proof("s", HandshakeSide::dialer, t);
  EXPECT_EQ(p.size(), kProofBytes);
  EXPECT_EQ(p, handshake_proof("s", HandshakeSide::dialer, t));
  EXPECT_NE(p, handshake_proof("t", HandshakeSide::dialer, t));
  EXPECT_NE(p, handshake_proof("s", HandshakeSide::acceptor, t));  // no reflection
  auto changed = [&](auto edit) {
    HandshakeTranscript u = t;
    edit(u);
    return handshake_proof("s", HandshakeSide::dialer, u) != p;
  };
  EXPECT_TRUE(changed([](HandshakeTranscript& u) { u.cluster_id = "prod2"; }));
  EXPECT_TRUE(changed([](HandshakeTranscript& u) { u.dialer = 3; }));
  EXPECT_TRUE(changed([](HandshakeTranscript& u) { u.acceptor = 3; }));
  EXPECT_TRUE(changed([](HandshakeTranscript& u) { u.dialer_nonce[0] = 'x'; }));
  EXPECT_TRUE(changed([](HandshakeTranscript& u) { u.acceptor_nonce[31] = 'x'; }));
}

TEST(Handshake, MatchProofFindsTheSecretThatMatches) {
  const HandshakeTranscript t = transcript();
  const std::string p = handshake_proof("old", HandshakeSide::dialer, t);
  EXPECT_EQ(match_proof({"new", "old"}, HandshakeSide::dialer, t, p), std::optional<size_t>(1));
  EXPECT_EQ(match_proof({"old"}, HandshakeSide::dialer, t, p), std::optional<size_t>(0));
  EXPECT_FALSE(match_proof({"new"}, HandshakeSide::dialer, t, p));
  EXPECT_FALSE(match_proof({"old"}, HandshakeSide::acceptor, t, p));
  EXPECT_FALSE(match_proof({"old"}, HandshakeSide::dialer, t, p.substr(0, 31)));
  EXPECT_FALSE(match_proof({}, HandshakeSide::dialer, t, p));
}

TEST(Handshake, AuthCodecsRoundTripAndRefuseBadInput) {
  Auth a{std::string(kNonceBytes, 'n'), std::string(kProofBytes, 'p')};
  EXPECT_EQ(decode_auth(encode_auth(a)).value(), a);
  EXPECT_FALSE(decode_auth(encode_auth(Auth{"short", a.proof})));
  EXPECT_FALSE(decode_auth(encode_auth(Auth{a.nonce, "short"})));
  EXPECT_FALSE(decode_auth(encode_auth(a) + "x"));
  EXPECT_FALSE(decode_auth(""));

  AuthAck ok{HandshakeStatus::ok, std::string(kProofBytes, 'q'), ""};
  EXPECT_EQ(decode_auth_ack(encode_auth_ack(ok)).value(), ok);
  AuthAck nack{HandshakeStatus::bad_secret, "", "no"};
  EXPECT_EQ(decode_auth_ack(encode_auth_ack(nack)).value(), nack);
  EXPECT_FALSE(decode_auth_ack(encode_auth_ack(AuthAck{HandshakeStatus::ok, "", ""})));
  EXPECT_FALSE(decode_auth_ack(encode_auth_ack(AuthAck{HandshakeStatus::bad_secret, "p", ""})));
  EXPECT_FALSE(decode_auth_ack(encode_auth_ack(AuthAck{HandshakeStatus::wrong_node, "", ""})));
  EXPECT_FALSE(decode_auth_ack(encode_auth_ack(ok) + "x"));
}

TEST(Handshake, HelloAckCarriesTheChallengeAsAnOptionalTrailingField) {
  HelloAck with{HandshakeStatus::ok, 2, "prod", "", std::string(kNonceBytes, 'c')};
  EXPECT_EQ(decode_hello_ack(encode_hello_ack(with)).value(), with);
  HelloAck old{HandshakeStatus::version_mismatch, 2, "prod", "protocol 2 not supported", ""};
  EXPECT_EQ(decode_hello_ack(encode_hello_ack(old)).value(), old);  // a protocol-1 node's ack
  EXPECT_FALSE(decode_hello_ack(encode_hello_ack(with) + "x"));
}

}  // namespace
}  // namespace cairn::transport
