// Unit tests in the manner of etcd's raft paper tests: each checks one rule of the Raft paper
// (section numbers in the test names' comments) on nodes driven by hand.
#include <gtest/gtest.h>

#include "raft/tests/harness.h"

namespace cairn::raft::test {
namespace {

Message vote_req(NodeId from, NodeId to, Term term, Index last_index, Term last_term, bool pre = false) {
  Message m;
  m.type = pre ? MessageType::pre_vote : MessageType::vote;
  m.from = from;
  m.to = to;
  m.term = term;
  m.index = last_index;
  m.log_term = last_term;
  return m;
}

const Message* find(const std::vector<Message>& ms, MessageType t, NodeId to = kNoNode) {
  for (const Message& m : ms)
    if (m.type == t && (to == kNoNode || m.to == to)) return &m;
  return nullptr;
}

// §5.2: a follower that hears nothing becomes a candidate; a majority makes it leader.
TEST(Paper, LeaderElection) {
  Harness h(3);
  h.start_all();
  ASSERT_TRUE(h.elect(1));
  EXPECT_EQ(h.node(1).term(), 2u);  // bootstrap is term 1
  EXPECT_EQ(h.node(1).probe().became_leader, 1u);
  EXPECT_EQ(h.node(1).probe().pre_campaigns, 1u);
  EXPECT_EQ(h.node(1).probe().campaigns, 1u);
  h.tick_all(3);
  EXPECT_EQ(h.node(2).leader(), 1u);
  EXPECT_EQ(h.node(3).leader(), 1u);
  EXPECT_EQ(h.node(2).term(), 2u);
}

// §5.2: each server votes for at most one candidate per term, first come first served.
TEST(Paper, VoteGrantedOncePerTerm) {
  Harness h(3);
  h.start_all();
  h.node(1).step(vote_req(2, 1, 5, 1, 1));
  auto out = h.drain(1);
  ASSERT_TRUE(find(out, MessageType::vote_resp));
  EXPECT_FALSE(find(out, MessageType::vote_resp)->reject);
  EXPECT_EQ(h.node(1).status().vote, 2u);
  h.node(1).step(vote_req(3, 1, 5, 1, 1));
  out = h.drain(1);
  EXPECT_TRUE(find(out, MessageType::vote_resp)->reject);
  h.node(1).step(vote_req(2, 1, 5, 1, 1));  // a retransmission from the same candidate is granted again
  out = h.drain(1);
  EXPECT_FALSE(find(out, MessageType::vote_resp)->reject);
}

// §5.4.1: a vote is granted only to a candidate whose log is at least as up to date.
TEST(Paper, VoteRequiresUpToDateLog) {
  Harness h(3);
  h.prepare(1, {2, 3}, 3);  // log: conf@1, 2@2, 3@3
  h.start(1);
  struct Case {
    Index last_index;
    Term last_term;
    bool granted;
  } cases[] = {{3, 2, false}, {2, 3, false}, {3, 3, true}, {4, 3, true}, {1, 4, true}};
  Term term = 10;
  for (const Case& c : cases) {
    h.node(1).step(vote_req(2, 1, ++term, c.last_index, c.last_term));
    auto out = h.drain(1);
    ASSERT_TRUE(find(out, MessageType::vote_resp));
    EXPECT_EQ(!find(out, MessageType::vote_resp)->reject, c.granted) << c.last_index << "@" << c.last_term;
  }
}

// §5.1: a server seeing a higher term adopts it and becomes follower; stale terms are refused.
TEST(Paper, TermHandling) {
  Harness h(3);
  h.start_all();
  ASSERT_TRUE(h.elect(1));
  Message m;
  m.type = MessageType::append_resp;
  m.from = 2;
  m.to = 1;
  m.term = 9;
  h.node(1).step(m);
  EXPECT_EQ(h.node(1).role(), Role::follower);
  EXPECT_EQ(h.node(1).term(), 9u);
  // A stale append is answered with the current term and not applied.
  Message a;
  a.type = MessageType::append;
  a.from = 3;
  a.to = 1;
  a.term = 4;
  a.index = 2;
  a.log_term = 2;
  a.entries = {Entry{4, 3, EntryType::normal, "k=v"}};
  Index last = h.node(1).status().last_index;
  h.drain(1);
  h.node(1).step(a);
  auto out = h.drain(1);
  ASSERT_TRUE(find(out, MessageType::append_resp));
  EXPECT_EQ(find(out, MessageType::append_resp)->term, 9u);
  EXPECT_EQ(h.node(1).status().last_index, last);
}

// §5.3: a follower deletes a conflicting entry and everything after it.
TEST(Paper, FollowerTruncatesConflictingSuffix) {
  Harness h(3);
  h.prepare(2, {2, 2, 2}, 2);  // conf@1, 2@2, 3@2, 4@2 (uncommitted)
  h.start(2);
  Message a;
  a.type = MessageType::append;
  a.from = 1;
  a.to = 2;
  a.term = 3;
  a.index = 2;
  a.log_term = 2;
  a.entries = {Entry{3, 3, EntryType::normal, "k=new"}};
  h.node(2).step(a);
  Status s = h.node(2).status();
  EXPECT_EQ(s.last_index, 3u);
  EXPECT_EQ(*h.peers[2]->log.term(3), 3u);
  auto out = h.drain(2);
  ASSERT_TRUE(find(out, MessageType::append_resp));
  EXPECT_FALSE(find(out, MessageType::append_resp)->reject);
  EXPECT_EQ(find(out, MessageType::append_resp)->index, 3u);
}

// §5.3: a mismatched append is rejected with a hint that skips the conflicting term.
TEST(Paper, RejectCarriesConflictHint) {
  Harness h(3);
  h.prepare(2, {2, 2, 2, 2}, 2);  // entries 2..5 of term 2
  h.start(2);
  Message a;
  a.type = MessageType::append;
  a.from = 1;
  a.to = 2;
  a.term = 4;
  a.index = 5;
  a.log_term = 3;  // the leader has term 3 at 5
  h.node(2).step(a);
  auto out = h.drain(2);
  const Message* r = find(out, MessageType::append_resp);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->reject);
  EXPECT_EQ(r->reject_hint, 5u);  // largest index with term <= 3
  EXPECT_EQ(r->reject_term, 2u);
}

// §5.4.2 / Figure 8: a leader must not commit an entry of an older term by counting replicas.
// Node 1 (term 4) holds 2@2 and replicates it to node 2 one entry per message; the commit index
// must jump from 1 straight to 3 (its own no-op), never stopping at 2. With the planted bug it
// stops at 2, which Figure 8 shows can later be overwritten by node 3's 2@3.
void figure8(bool bug, bool* saw_old_commit) {
  Config c;
  c.max_msg_bytes = 1;
  c.max_inflight = 1;
  c.bugs.commit_old_term = bug;
  Harness h(3, c);
  h.prepare(1, {2}, 3);
  h.prepare(2, {}, 3);
  h.prepare(3, {3}, 3);
  h.start_all();
  h.isolate(3);
  *saw_old_commit = false;
  // Deliver one message at a time so that every intermediate commit index is observed.
  for (int round = 0; round < 300; ++round) {
    std::vector<Message> batch;
    for (auto& [id, p] : h.peers) {
      for (auto& m : p->tr.out) batch.push_back(m);
      p->tr.out.clear();
    }
    for (const Message& m : batch) {
      h.deliver_one(m);
      if (h.node(1).is_leader() && h.node(1).status().commit == 2) *saw_old_commit = true;
    }
    h.tick(1);
  }
  ASSERT_TRUE(h.node(1).is_leader());
  EXPECT_EQ(h.node(1).term(), 4u);
  EXPECT_GE(h.node(1).status().commit, 3u);
}

TEST(Paper, Figure8OldTermEntryNotCommittedByCounting) {
  bool saw = true;
  figure8(false, &saw);
  EXPECT_FALSE(saw);
}

TEST(Paper, Figure8PlantedBugCommitsOldTermEntry) {
  bool saw = false;
  figure8(true, &saw);
  EXPECT_TRUE(saw);
}

// §8 / thesis §6.4: a new leader appends a no-op of its term at once.
TEST(Paper, LeaderAppendsNoop) {
  Harness h(3);
  h.start_all();
  ASSERT_TRUE(h.elect(1));
  h.tick_all(2);
  Status s = h.node(1).status();
  auto es = h.peers[1]->log.entries(s.last_index, s.last_index + 1, 1 << 20);
  EXPECT_EQ((*es)[0].type, EntryType::noop);
  EXPECT_EQ((*es)[0].term, h.node(1).term());
  EXPECT_EQ(h.node(2).status().commit, s.last_index);
}

// Thesis §9.6: a partitioned node's pre-votes fail, so it does not inflate its term and does not
// disrupt the leader when it comes back.
TEST(Paper, PreVoteDoesNotDisruptStableLeader) {
  Harness h(3);
  h.start_all();
  ASSERT_TRUE(h.elect(1));
  h.tick_all(3);
  Term t = h.node(1).term();
  h.isolate(3);
  for (int i = 0; i < 100; ++i) h.tick_all(1);
  EXPECT_EQ(h.node(3).term(), t);
  h.heal();
  h.tick_all(30);
  EXPECT_TRUE(h.node(1).is_leader());
  EXPECT_EQ(h.node(1).term(), t);
}

// Without pre-vote or check-quorum the same partition does disrupt the leader (contrast).
TEST(Paper, WithoutPreVoteRejoiningNodeDisrupts) {
  Config c;
  c.pre_vote = false;
  c.check_quorum = false;
  Harness h(3, c);
  h.start_all();
  ASSERT_TRUE(h.elect(1));
  h.tick_all(3);
  Term t = h.node(1).term();
  h.isolate(3);
  for (int i = 0; i < 100; ++i) h.tick_all(1);
  EXPECT_GT(h.node(3).term(), t);
  h.heal();
  h.tick_all(5);
  EXPECT_GT(h.node(1).term(), t);
}

// Check-quorum: a leader that cannot reach a majority within an election timeout steps down.
TEST(Paper, CheckQuorumLeaderStepsDown) {
  Harness h(3);
  h.start_all();
  ASSERT_TRUE(h.elect(1));
  h.tick_all(3);
  h.isolate(1);
  // Within two election timeouts (and before its own election timeout can make it campaign).
  for (int i = 0; i < 25 && h.node(1).probe().check_quorum_stepdowns == 0; ++i) h.tick(1);
  EXPECT_EQ(h.node(1).role(), Role::follower);
  EXPECT_EQ(h.node(1).probe().check_quorum_stepdowns, 1u);
}

// A follower in touch with its leader ignores vote requests (leader lease), unless the request
// comes from a leadership transfer.
TEST(Paper, LeaseIgnoresDisruptiveVotes) {
  Harness h(3);
  h.start_all();
  ASSERT_TRUE(h.elect(1));
  h.tick_all(2);
  Term t = h.node(2).term();
  h.node(2).step(vote_req(3, 2, t + 1, 100, t));
  EXPECT_EQ(h.node(2).term(), t);
  EXPECT_FALSE(find(h.drain(2), MessageType::vote_resp));
  Message forced = vote_req(3, 2, t + 1, 100, t);
  forced.context = 1;
  h.node(2).step(forced);
  EXPECT_EQ(h.node(2).term(), t + 1);
}

}  // namespace
}  // namespace cairn::raft::test
