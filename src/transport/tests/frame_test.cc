#include "transport/frame.h"

#include <gtest/gtest.h>

#include "raft/message.h"
#include "transport/backoff.h"

namespace cairn::transport {
namespace {

TEST(Frame, Crc32cMatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
}

TEST(Frame, HeaderRoundTripsAndIsBigEndian) {
  const std::string payload(300, 'x');
  HeaderBytes h = encode_header(FrameKind::message, payload);
  EXPECT_EQ(h[0], 'C');
  EXPECT_EQ(h[1], 'R');
  EXPECT_EQ(h[2], 'N');
  EXPECT_EQ(h[3], 'F');
  EXPECT_EQ(h[4], kFrameVersion);
  EXPECT_EQ(h[5], 3);
  EXPECT_EQ(h[10], 1);  // 300 = 0x012C
  EXPECT_EQ(h[11], 0x2C);
  auto d = decode_header(h, 300);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, FrameKind::message);
  EXPECT_EQ(d->length, 300u);
  EXPECT_TRUE(crc_matches(*d, payload));
  std::string flipped = payload;
  flipped[7] ^= 1;
  EXPECT_FALSE(crc_matches(*d, flipped));
  EXPECT_FALSE(crc_matches(*d, payload.substr(1)));
}

TEST(Frame, HeaderRejectsEachBadField) {
  const HeaderBytes good = encode_header(FrameKind::hello, "abc");
  auto with = [&](size_t i, uint8_t v) {
    HeaderBytes h = good;
    h[i] = v;
    return decode_header(h, 1000);
  };
  EXPECT_EQ(with(0, 'X').error(), FrameError::bad_magic);
  EXPECT_EQ(with(3, 'G').error(), FrameError::bad_magic);
  EXPECT_EQ(with(4, 2).error(), FrameError::bad_version);
  EXPECT_EQ(with(4, 0).error(), FrameError::bad_version);
  EXPECT_EQ(with(5, 0).error(), FrameError::bad_kind);
  EXPECT_EQ(with(5, 6).error(), FrameError::bad_kind);
  EXPECT_EQ(with(6, 1).error(), FrameError::bad_flags);
  EXPECT_EQ(with(7, 0x80).error(), FrameError::bad_flags);
  EXPECT_TRUE(decode_header(good, 3));
  EXPECT_EQ(decode_header(good, 2).error(), FrameError::oversized);
  HeaderBytes huge = good;
  huge[8] = huge[9] = huge[10] = huge[11] = 0xFF;
  EXPECT_EQ(decode_header(huge, raft::kMaxMessageBytes).error(), FrameError::oversized);
}

TEST(Frame, HelloAndAckRoundTrip) {
  Hello h{kProtocolVersion, raft::kMessageVersion, 7, 300, "prod-eu"};
  auto dh = decode_hello(encode_hello(h));
  ASSERT_TRUE(dh);
  EXPECT_EQ(*dh, h);
  HelloAck a{HandshakeStatus::cluster_mismatch, 300, "prod-us", "not ours", ""};
  auto da = decode_hello_ack(encode_hello_ack(a));
  ASSERT_TRUE(da);
  EXPECT_EQ(*da, a);
}

TEST(Frame, HandshakeDecodersRejectTruncationTrailingBytesAndBadValues) {
  const std::string hello = encode_hello(Hello{1, 1, 2, 3, "cluster"});
  for (size_t n = 0; n < hello.size(); ++n) EXPECT_FALSE(decode_hello(hello.substr(0, n))) << n;
  EXPECT_FALSE(decode_hello(hello + "x"));
  EXPECT_FALSE(decode_hello(encode_hello(Hello{1, 1, 2, 3, std::string(256, 'c')})));
  EXPECT_TRUE(decode_hello(encode_hello(Hello{1, 1, 2, 3, std::string(255, 'c')})));

  const std::string ack = encode_hello_ack(HelloAck{HandshakeStatus::ok, 2, "cluster", "", ""});
  for (size_t n = 0; n < ack.size(); ++n) EXPECT_FALSE(decode_hello_ack(ack.substr(0, n))) << n;
  EXPECT_FALSE(decode_hello_ack(ack + "x"));
  std::string bad_status = ack;
  bad_status[0] = 5;
  EXPECT_FALSE(decode_hello_ack(bad_status));
}

TEST(Backoff, DoublesWithJitterUpToTheCap) {
  Backoff b(50, 2000);
  // random = 0 gives the low end d - d/2, random = UINT64_MAX lands somewhere in [d/2, d].
  std::vector<int64_t> lows;
  for (int i = 0; i < 8; ++i) lows.push_back(b.next(0));
  EXPECT_EQ(lows, (std::vector<int64_t>{25, 50, 100, 200, 400, 800, 1000, 1000}));
  b.reset();
  for (int i = 0; i < 1000; ++i) {
    int64_t d = b.next(static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ull);
    EXPECT_GE(d, 25);
    EXPECT_LE(d, 2000);
  }
  b.reset();
  EXPECT_LE(b.next(~0ull), 50);
  b.saturate();
  EXPECT_GE(b.next(0), 1000);
  EXPECT_EQ(Backoff(50, 2000).next(50), 25 + 50 % 26);  // d - d/2 + random % (d/2 + 1)
}

}  // namespace
}  // namespace cairn::transport
