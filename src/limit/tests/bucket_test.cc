#include "limit/bucket.h"

#include <gtest/gtest.h>

namespace cairn::limit {
namespace {

TEST(Bucket, StartsFullAndRefillsAtTheRate) {
  const Quota q{10, 20};  // 10 tokens/s, room for 20
  Bucket b;
  b.sync(q, 1, 1'000);
  EXPECT_EQ(b.tokens, 20);
  b.tokens = 0;
  b.sync(q, 1, 1'100);  // 100 ms at 10/s
  EXPECT_DOUBLE_EQ(b.tokens, 1);
  b.sync(q, 1, 2'100);
  EXPECT_DOUBLE_EQ(b.tokens, 11);
  b.sync(q, 1, 60'000);  // never above the burst
  EXPECT_EQ(b.tokens, 20);
}

TEST(Bucket, ClockSteppingBackAddsNothing) {
  const Quota q{10, 20};
  Bucket b;
  b.sync(q, 1, 5'000);
  b.tokens = 3;
  b.sync(q, 1, 4'000);
  EXPECT_EQ(b.tokens, 3);
  EXPECT_EQ(b.last_ms, 5'000);
}

TEST(Bucket, WaitTimes) {
  const Quota q{4, 8};  // a token every 250 ms
  Bucket b;
  b.sync(q, 1, 0);
  EXPECT_EQ(b.ms_until(1, q), 0);
  b.tokens = 0.5;
  EXPECT_EQ(b.ms_until(1, q), 125);
  EXPECT_EQ(b.ms_until_full(q), 1'875);
}

TEST(Bucket, FullAtAndGenerations) {
  const Quota q{1, 2};
  Bucket b;
  EXPECT_TRUE(b.full_at(q, 1, 0));  // never used: same as full
  b.sync(q, 1, 0);
  b.tokens = 0;
  EXPECT_FALSE(b.full_at(q, 1, 1'999));
  EXPECT_TRUE(b.full_at(q, 1, 2'000));
  EXPECT_TRUE(b.full_at(q, 2, 0));  // a reload happened: starts afresh
  b.sync(q, 2, 10);
  EXPECT_EQ(b.tokens, 2);
  EXPECT_TRUE(b.full_at(Quota{}, 2, 10));  // unlimited: nothing to remember
}

}  // namespace
}  // namespace cairn::limit
