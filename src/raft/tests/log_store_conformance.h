#pragma once

// Conformance suite for LogStore implementations. A store instantiates it with a factory type
// providing:
//   static std::unique_ptr<cairn::raft::LogStore> make();              // a fresh, empty store
//   static std::unique_ptr<cairn::raft::LogStore> reopen(std::unique_ptr<cairn::raft::LogStore>);
//       // what a restart after a clean shutdown sees: everything synced must survive
// and then:
//   INSTANTIATE_TYPED_TEST_SUITE_P(Memory, LogStoreConformance, MemoryFactory);

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "raft/log_store.h"

namespace cairn::raft::test {

inline std::vector<Entry> make_entries(Index from, Index to, Term term) {
  std::vector<Entry> out;
  for (Index i = from; i <= to; ++i) out.push_back(Entry{term, i, EntryType::normal, "e" + std::to_string(i)});
  return out;
}

template <class Factory>
class LogStoreConformance : public ::testing::Test {};
TYPED_TEST_SUITE_P(LogStoreConformance);

TYPED_TEST_P(LogStoreConformance, EmptyLog) {
  auto s = TypeParam::make();
  EXPECT_EQ(s->first_index(), 1u);
  EXPECT_EQ(s->last_index(), 0u);
  ASSERT_TRUE(s->term(0));
  EXPECT_EQ(*s->term(0), 0u);
  EXPECT_EQ(s->term(1).error(), LogError::out_of_range);
  EXPECT_EQ(s->hard_state(), HardState{});
}

TYPED_TEST_P(LogStoreConformance, AppendAndRead) {
  auto s = TypeParam::make();
  ASSERT_TRUE(s->append(make_entries(1, 5, 1)));
  ASSERT_TRUE(s->append(make_entries(6, 8, 2)));
  EXPECT_EQ(s->last_index(), 8u);
  EXPECT_EQ(*s->term(5), 1u);
  EXPECT_EQ(*s->term(6), 2u);
  auto es = s->entries(3, 7, 1 << 20);
  ASSERT_TRUE(es);
  ASSERT_EQ(es->size(), 4u);
  EXPECT_EQ((*es)[0].index, 3u);
  EXPECT_EQ((*es)[3].data, "e6");
  EXPECT_FALSE(s->entries(3, 10, 1 << 20));  // beyond last
}

TYPED_TEST_P(LogStoreConformance, AppendMustBeContiguous) {
  auto s = TypeParam::make();
  ASSERT_TRUE(s->append(make_entries(1, 3, 1)));
  EXPECT_FALSE(s->append(make_entries(5, 6, 1)));
  EXPECT_FALSE(s->append(make_entries(3, 4, 1)));
  EXPECT_EQ(s->last_index(), 3u);
}

TYPED_TEST_P(LogStoreConformance, ByteLimitReturnsAtLeastOne) {
  auto s = TypeParam::make();
  ASSERT_TRUE(s->append(make_entries(1, 10, 1)));
  auto one = s->entries(1, 11, 0);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->size(), 1u);
  auto some = s->entries(1, 11, 5);  // each entry holds 2 bytes
  ASSERT_TRUE(some);
  EXPECT_EQ(some->size(), 2u);
}

TYPED_TEST_P(LogStoreConformance, TruncateSuffix) {
  auto s = TypeParam::make();
  ASSERT_TRUE(s->append(make_entries(1, 5, 1)));
  ASSERT_TRUE(s->truncate_suffix(3));
  EXPECT_EQ(s->last_index(), 2u);
  ASSERT_TRUE(s->append(make_entries(3, 4, 2)));
  EXPECT_EQ(*s->term(3), 2u);
  ASSERT_TRUE(s->truncate_suffix(5));  // no-op at last+1
  EXPECT_EQ(s->last_index(), 4u);
}

TYPED_TEST_P(LogStoreConformance, CompactPrefix) {
  auto s = TypeParam::make();
  ASSERT_TRUE(s->append(make_entries(1, 5, 1)));
  ASSERT_TRUE(s->append(make_entries(6, 10, 2)));
  ASSERT_TRUE(s->compact_prefix(6));
  EXPECT_EQ(s->first_index(), 7u);
  EXPECT_EQ(s->last_index(), 10u);
  EXPECT_EQ(*s->term(6), 2u);  // the term of the last compacted entry is kept
  EXPECT_EQ(s->term(5).error(), LogError::compacted);
  EXPECT_FALSE(s->entries(6, 8, 1 << 20));
  EXPECT_FALSE(s->truncate_suffix(5));
  ASSERT_TRUE(s->append(make_entries(11, 11, 3)));
  EXPECT_EQ(s->last_index(), 11u);
  ASSERT_TRUE(s->compact_prefix(11));  // everything
  EXPECT_EQ(s->first_index(), 12u);
  EXPECT_EQ(s->last_index(), 11u);
  EXPECT_EQ(*s->term(11), 3u);
}

TYPED_TEST_P(LogStoreConformance, Reset) {
  auto s = TypeParam::make();
  ASSERT_TRUE(s->append(make_entries(1, 5, 1)));
  ASSERT_TRUE(s->reset(20, 4));
  EXPECT_EQ(s->first_index(), 21u);
  EXPECT_EQ(s->last_index(), 20u);
  EXPECT_EQ(*s->term(20), 4u);
  ASSERT_TRUE(s->append(make_entries(21, 22, 5)));
  EXPECT_EQ(s->last_index(), 22u);
}

TYPED_TEST_P(LogStoreConformance, HardStateAndSyncSurviveReopen) {
  auto s = TypeParam::make();
  ASSERT_TRUE(s->append(make_entries(1, 4, 1)));
  ASSERT_TRUE(s->compact_prefix(2));
  s->set_hard_state(HardState{7, 3, 4});
  ASSERT_TRUE(s->sync());
  s = TypeParam::reopen(std::move(s));
  EXPECT_EQ(s->hard_state(), (HardState{7, 3, 4}));
  EXPECT_EQ(s->first_index(), 3u);
  EXPECT_EQ(s->last_index(), 4u);
  EXPECT_EQ(*s->term(2), 1u);
  EXPECT_EQ((*s->entries(3, 5, 1 << 20))[1].data, "e4");
}

REGISTER_TYPED_TEST_SUITE_P(LogStoreConformance, EmptyLog, AppendAndRead, AppendMustBeContiguous,
                            ByteLimitReturnsAtLeastOne, TruncateSuffix, CompactPrefix, Reset,
                            HardStateAndSyncSurviveReopen);

}  // namespace cairn::raft::test
