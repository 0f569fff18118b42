#include "common/endian.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace cairn::endian {
namespace {

std::string bytes(std::initializer_list<unsigned> list) {
  std::string out;
  for (unsigned b : list) out.push_back(static_cast<char>(b));
  return out;
}

TEST(Endian, LittleEndianLayout) {
  std::string out;
  append_le<uint32_t>(out, 0x11223344u);
  append_le<uint64_t>(out, 0x0102030405060708ull);
  append_le<uint16_t>(out, 0xBEEF);
  EXPECT_EQ(out, bytes({0x44, 0x33, 0x22, 0x11, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
                        0xEF, 0xBE}));
  EXPECT_EQ(load_le<uint32_t>(out.data()), 0x11223344u);
  EXPECT_EQ(load_le<uint64_t>(out.data() + 4), 0x0102030405060708ull);
  EXPECT_EQ(load_le<uint16_t>(out.data() + 12), 0xBEEF);
}

TEST(Endian, BigEndianLayout) {
  std::string out;
  append_be<uint32_t>(out, 0x11223344u);
  append_be<uint64_t>(out, 0x0102030405060708ull);
  EXPECT_EQ(out, bytes({0x11, 0x22, 0x33, 0x44, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}));
  EXPECT_EQ(load_be<uint32_t>(out.data()), 0x11223344u);
  EXPECT_EQ(load_be<uint64_t>(out.data() + 4), 0x0102030405060708ull);
}

TEST(Endian, StoreOverwritesInPlaceAtAnyAlignment) {
  unsigned char buf[11] = {};
  store_le<uint64_t>(buf + 1, ~0ull);  // odd offset: no alignment needed
  store_be<uint16_t>(buf + 9, 0x0A0B);
  EXPECT_EQ(buf[0], 0);
  EXPECT_EQ(load_le<uint64_t>(buf + 1), ~0ull);
  EXPECT_EQ(buf[9], 0x0A);
  EXPECT_EQ(buf[10], 0x0B);
}

TEST(Endian, RoundTripsEdgeValues) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{0x80}, uint64_t{0xFF00FF00FF00FF00ull},
                     ~uint64_t{0}, uint64_t{1} << 63}) {
    unsigned char b[8];
    store_le<uint64_t>(b, v);
    EXPECT_EQ(load_le<uint64_t>(b), v);
    store_be<uint64_t>(b, v);
    EXPECT_EQ(load_be<uint64_t>(b), v);
  }
  // A signed value travels as its two's-complement bits (the Raft timestamp stamp).
  const int64_t ms = -5;
  std::string out;
  append_le<uint64_t>(out, static_cast<uint64_t>(ms));
  EXPECT_EQ(static_cast<int64_t>(load_le<uint64_t>(out.data())), ms);
}

}  // namespace
}  // namespace cairn::endian
