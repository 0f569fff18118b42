// The harness's invariant checks (harness.h) catch what they claim to: each planted violation
// must be reported, so that a clean run of the other tests means something.

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "raft/tests/harness.h"

namespace cairn::raft::test {
namespace {

using sim::KvStateMachine;

/// A 3-node cluster with leader 1 and one committed write everywhere.
void committed_write(Harness& h) {
  h.start_all();
  ASSERT_TRUE(h.elect(1));
  h.node(1).propose(KvStateMachine::encode_put("a", "1"));
  h.deliver();
  h.tick_all(2);
}

TEST(Invariants, ACommittedEntryThatChangesIsReported) {
  EXPECT_NONFATAL_FAILURE(
      {
        Harness h(3);
        committed_write(h);
        MemoryLogStore& log = h.peers.at(2)->log;
        const Index last = log.last_index();
        Entry changed = log.at(last);  // a later term over a committed entry
        changed.term += 1;
        (void)log.truncate_suffix(last);
        (void)log.append({changed});
        h.check_invariants();
        h.invariants_checked = false;  // reported once, not again at teardown
      },
      "changed");
}

TEST(Invariants, LogsThatAgreeOnATermButDifferBelowAreReported) {
  EXPECT_NONFATAL_FAILURE(
      {
        Harness h(3);
        h.start_all();
        ASSERT_TRUE(h.elect(1));
        // Two followers' uncommitted tails: the same term at the same index, different data.
        for (NodeId id : {2, 3}) {
          MemoryLogStore& log = h.peers.at(id)->log;
          const Index next = log.last_index() + 1;
          const Term term = h.node(1).term();
          (void)log.append({Entry{term, next, EntryType::normal, "x=" + std::to_string(id)},
                            Entry{term, next + 1, EntryType::normal, "y=1"}});
        }
        h.check_invariants();
        h.invariants_checked = false;
      },
      "log matching");
}

TEST(Invariants, TwoLeadersOfOneTermAreReported) {
  EXPECT_NONFATAL_FAILURE(
      {
        Harness h(3);
        h.start_all();
        ASSERT_TRUE(h.elect(1));
        h.check_invariants();
        // Nodes 2 and 3 forget the term and vote they persisted (a planted durability bug):
        // node 2 can then win node 1's term behind its back.
        const Term term = h.node(1).term();
        for (NodeId id : {2, 3}) {
          h.peers.at(id)->log.set_hard_state(HardState{term - 1, kNoNode, 0});
          h.start(id, false);
        }
        h.isolate(1);
        for (int i = 0; i < 200 && !h.node(2).is_leader(); ++i) {
          h.tick(2);
          h.deliver();
        }
        ASSERT_TRUE(h.node(2).is_leader());
        ASSERT_EQ(h.node(2).term(), term);
        h.check_invariants();
        h.invariants_checked = false;
      },
      "election safety");
}

}  // namespace
}  // namespace cairn::raft::test
