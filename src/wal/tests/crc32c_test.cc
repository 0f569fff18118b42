#include "wal/crc32c.h"

#include <gtest/gtest.h>

#include <string>

#include "wal/record.h"

namespace cairn::wal::test {
namespace {

// Check values from RFC 3720 (iSCSI) appendix B.4 and the common "123456789" check.
TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
}

TEST(Crc32c, ExtendMatchesOneShotAtEverySplit) {
  std::string s;
  for (int i = 0; i < 100; ++i) s.push_back(static_cast<char>(i * 37 + 11));
  for (size_t split = 0; split <= s.size(); ++split)
    EXPECT_EQ(crc32c_extend(crc32c(s.data(), split), s.data() + split, s.size() - split),
              crc32c(s));
}

TEST(Record, RoundTripAndDetection) {
  std::string buf;
  raft::Entry e{7, 42, raft::EntryType::conf_change, std::string("he\0llo", 6)};
  size_t n = encode_entry_record(buf, e);
  EXPECT_EQ(n, entry_record_size(6));
  RecordView v;
  ASSERT_EQ(parse_record(buf, &v), ParseStatus::ok);
  EXPECT_EQ(v.term, 7u);
  EXPECT_EQ(v.index, 42u);
  EXPECT_EQ(v.type, raft::EntryType::conf_change);
  EXPECT_EQ(v.data, e.data);
  for (size_t cut = 0; cut < buf.size(); ++cut)
    EXPECT_EQ(parse_record(std::string_view(buf).substr(0, cut), &v), ParseStatus::incomplete)
        << cut;
  for (size_t i = 0; i < buf.size(); ++i) {
    std::string bad = buf;
    bad[i] = static_cast<char>(bad[i] ^ 0x40);
    EXPECT_NE(parse_record(bad, &v), ParseStatus::ok) << i;
  }
  size_t at = 0;
  std::string two = std::string("garbage") + buf;
  EXPECT_TRUE(valid_record_after(two, 1, 42, &at));
  EXPECT_EQ(at, 7u);
  EXPECT_FALSE(valid_record_after(two, 1, 43, &at));  // index below what is expected next
}

}  // namespace
}  // namespace cairn::wal::test
