#include <gtest/gtest.h>

#include "raft/message.h"

namespace cairn::raft {
namespace {

Message sample(MessageType t) {
  Message m;
  m.type = t;
  m.from = 1;
  m.to = 300;
  m.term = 1ull << 40;
  m.index = 41;
  m.log_term = 7;
  m.commit = 39;
  m.reject = true;
  m.reject_hint = 12;
  m.reject_term = 3;
  m.context = 99;
  m.entries = {Entry{7, 42, EntryType::normal, "hello"}, Entry{7, 43, EntryType::noop, ""},
               Entry{7, 44, EntryType::conf_change, encode_conf_state(ConfState{{1, 2, 3}, {4}})}};
  m.snapshot = SnapshotMeta{40, 6, ConfState{{1, 2}, {5}}};
  m.offset = 1 << 20;
  m.chunk = std::string(1000, '\xff');
  m.done = true;
  return m;
}

TEST(Codec, RoundTripsEveryType) {
  for (int t = 1; t <= 11; ++t) {
    Message m = sample(static_cast<MessageType>(t));
    auto d = decode(encode(m));
    ASSERT_TRUE(d) << t;
    EXPECT_EQ(*d, m);
  }
  Message empty;
  EXPECT_EQ(*decode(encode(empty)), empty);
}

TEST(Codec, RejectsEveryTruncation) {
  std::string bytes = encode(sample(MessageType::append));
  for (size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(decode(bytes.substr(0, n))) << n;
}

TEST(Codec, RejectsBadVersionTypeAndTrailingBytes) {
  std::string bytes = encode(sample(MessageType::vote));
  std::string v = bytes;
  v[0] = 2;
  EXPECT_EQ(decode(v).error(), CodecError::bad_version);
  std::string t = bytes;
  t[1] = 0;
  EXPECT_EQ(decode(t).error(), CodecError::bad_value);
  t[1] = 12;
  EXPECT_EQ(decode(t).error(), CodecError::bad_value);
  EXPECT_EQ(decode(bytes + "x").error(), CodecError::trailing_bytes);
}

TEST(Codec, RejectsOversizedInputAndCounts) {
  EXPECT_EQ(decode(std::string(kMaxMessageBytes + 1, '\0')).error(), CodecError::oversized);
  // A header claiming 2^62 entries must be refused before allocating anything.
  std::string b;
  b.push_back(static_cast<char>(kMessageVersion));
  b.push_back(static_cast<char>(MessageType::append));
  for (int i = 0; i < 6; ++i) wire::put_varint(b, 0);
  b.push_back(0);
  for (int i = 0; i < 3; ++i) wire::put_varint(b, 0);
  wire::put_varint(b, 1ull << 62);
  EXPECT_EQ(decode(b).error(), CodecError::oversized);
}

TEST(Codec, RejectsNonConsecutiveEntriesAndBadConf) {
  Message m = sample(MessageType::append);
  m.entries[1].index = 50;
  EXPECT_EQ(decode(encode(m)).error(), CodecError::bad_value);
  EXPECT_FALSE(decode_conf_state(encode_conf_state(ConfState{{2, 1}, {}})));  // unsorted
  EXPECT_FALSE(decode_conf_state(encode_conf_state(ConfState{{1, 2}, {2}})));  // voter and learner
}

TEST(Codec, RejectsOverlongVarint) {
  std::string b(2, '\0');
  b[0] = static_cast<char>(kMessageVersion);
  b[1] = static_cast<char>(MessageType::heartbeat);
  b += std::string(11, '\x80');
  EXPECT_FALSE(decode(b));
}

TEST(ConfChange, SingleServerRules) {
  ConfState c{{1, 2, 3}, {}};
  auto a = apply_conf_change(c, {ConfChangeType::add_learner, 4});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->learners, std::vector<NodeId>{4});
  EXPECT_FALSE(apply_conf_change(*a, {ConfChangeType::add_learner, 2}));
  auto p = apply_conf_change(*a, {ConfChangeType::promote, 4});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->voters, (std::vector<NodeId>{1, 2, 3, 4}));
  EXPECT_FALSE(apply_conf_change(c, {ConfChangeType::promote, 3}));
  EXPECT_FALSE(apply_conf_change(ConfState{{1}, {}}, {ConfChangeType::remove, 1}));
  EXPECT_EQ(apply_conf_change(c, {ConfChangeType::remove, 1})->voters, (std::vector<NodeId>{2, 3}));
}

}  // namespace
}  // namespace cairn::raft
