#include <gtest/gtest.h>

#include "raft/memory_log_store.h"
#include "raft/sim/sim_log_store.h"
#include "raft/tests/log_store_conformance.h"

namespace cairn::raft::test {
namespace {

struct MemoryFactory {
  static std::unique_ptr<LogStore> make() { return std::make_unique<MemoryLogStore>(); }
  static std::unique_ptr<LogStore> reopen(std::unique_ptr<LogStore> s) { return s; }
};

// The simulator's fake disk: reopen is a crash, which keeps only what was synced.
struct SimDiskFactory {
  static std::unique_ptr<LogStore> make() { return std::make_unique<sim::SimLogStore>(); }
  static std::unique_ptr<LogStore> reopen(std::unique_ptr<LogStore> s) {
    static_cast<sim::SimLogStore&>(*s).crash();
    return s;
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(Memory, LogStoreConformance, MemoryFactory);
INSTANTIATE_TYPED_TEST_SUITE_P(SimDisk, LogStoreConformance, SimDiskFactory);

TEST(SimLogStore, UnsyncedWritesAreLostOnCrash) {
  sim::SimLogStore s;
  ASSERT_TRUE(s.append(make_entries(1, 3, 1)));
  s.set_hard_state(HardState{2, 1, 0});
  ASSERT_TRUE(s.sync());
  ASSERT_TRUE(s.append(make_entries(4, 6, 2)));
  s.set_hard_state(HardState{3, 2, 0});
  s.crash();
  EXPECT_EQ(s.last_index(), 3u);
  EXPECT_EQ(s.hard_state(), (HardState{2, 1, 0}));
}

}  // namespace
}  // namespace cairn::raft::test
