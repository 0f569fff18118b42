#include <gtest/gtest.h>

#include "raft/sim/linearizability.h"

namespace cairn::raft::sim {
namespace {

constexpr uint64_t U = Operation::kUnknown;
Operation w(int c, std::string v, uint64_t call, uint64_t ret, std::string key = "x") {
  return Operation{c, std::move(key), true, std::move(v), call, ret};
}
Operation r(int c, std::string v, uint64_t call, uint64_t ret, std::string key = "x") {
  return Operation{c, std::move(key), false, std::move(v), call, ret};
}

TEST(Linearizability, SequentialHistory) {
  EXPECT_TRUE(check_linearizable({w(0, "1", 1, 2), r(1, "1", 3, 4), w(0, "2", 5, 6), r(1, "2", 7, 8)}).ok);
  EXPECT_TRUE(check_linearizable({r(0, "", 1, 2)}).ok);  // initial value
}

TEST(Linearizability, StaleReadIsNotLinearizable) {
  EXPECT_FALSE(check_linearizable({w(0, "1", 1, 2), w(0, "2", 3, 4), r(1, "1", 5, 6)}).ok);
}

TEST(Linearizability, LostWriteIsNotLinearizable) {
  // The write was acknowledged before the read began, yet the read sees the initial value.
  EXPECT_FALSE(check_linearizable({w(0, "1", 1, 2), r(1, "", 3, 4)}).ok);
}

TEST(Linearizability, ReadOfValueNeverWritten) {
  EXPECT_FALSE(check_linearizable({w(0, "1", 1, 2), r(1, "7", 3, 4)}).ok);
}

TEST(Linearizability, ConcurrentOverlappingOperations) {
  // Both writes overlap both reads: reading 2 then 1 needs w2 < r1... it is fine if w2 then w1.
  EXPECT_TRUE(check_linearizable({w(0, "1", 1, 10), w(1, "2", 2, 9), r(2, "2", 3, 4), r(3, "1", 5, 8)}).ok);
  // But once a read has returned 1 after both writes finished, a later read cannot see 2.
  EXPECT_FALSE(
      check_linearizable({w(0, "1", 1, 4), w(1, "2", 2, 3), r(2, "1", 5, 6), r(3, "2", 7, 8)}).ok);
  // Reads that overlap a write may see the old or the new value, but not new-then-old.
  EXPECT_TRUE(check_linearizable({w(0, "1", 1, 10), r(1, "", 2, 3), r(2, "1", 4, 5)}).ok);
  EXPECT_FALSE(check_linearizable({w(0, "1", 1, 10), r(1, "1", 2, 3), r(2, "", 4, 5)}).ok);
}

TEST(Linearizability, UnknownOutcomeMayOrMayNotApply) {
  // A timed-out write may have been applied late ...
  EXPECT_TRUE(check_linearizable({w(0, "1", 1, U), r(1, "", 2, 3), r(1, "1", 10, 11)}).ok);
  // ... or never.
  EXPECT_TRUE(check_linearizable({w(0, "1", 1, U), r(1, "", 20, 21)}).ok);
  // But not before it was issued.
  EXPECT_FALSE(check_linearizable({r(1, "1", 1, 2), w(0, "1", 3, U)}).ok);
}

TEST(Linearizability, KeysAreIndependent) {
  EXPECT_TRUE(check_linearizable({w(0, "1", 1, 2, "a"), r(1, "", 3, 4, "b"), r(1, "1", 5, 6, "a")}).ok);
  EXPECT_FALSE(check_linearizable({w(0, "1", 1, 2, "a"), r(1, "", 3, 4, "a")}).ok);
}

}  // namespace
}  // namespace cairn::raft::sim
