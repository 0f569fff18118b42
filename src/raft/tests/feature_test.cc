// Proposals, ReadIndex, leadership transfer, membership and snapshots on hand-driven nodes.
#include <gtest/gtest.h>

#include "raft/tests/harness.h"

namespace cairn::raft::test {
namespace {

using sim::KvStateMachine;

Harness running(int n, Config c = {}) {
  Harness h(n, c);
  h.start_all();
  EXPECT_TRUE(h.elect(1));
  h.tick_all(2);
  return h;
}

TEST(Proposal, AppliedWithResult) {
  Harness h = running(3);
  ProposalHandle p = h.node(1).propose(KvStateMachine::encode_put("a", "1"));
  EXPECT_FALSE(p.done());
  h.deliver();
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.result().status, ProposalStatus::applied);
  EXPECT_EQ(p.result().result, "ok");
  h.tick_all(2);
  EXPECT_EQ(h.peers[3]->sm.get("a"), "1");
}

TEST(Proposal, NotLeaderCarriesHint) {
  Harness h = running(3);
  ProposalHandle p = h.node(2).propose("a=1");
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.result().status, ProposalStatus::not_leader);
  EXPECT_EQ(p.result().leader_hint, 1u);
}

TEST(Proposal, DroppedOnLeadershipLossAndTimeout) {
  Config c;
  c.proposal_timeout_ticks = 5;
  c.check_quorum = false;
  Harness h = running(3, c);
  h.isolate(1);
  ProposalHandle timed = h.node(1).propose("a=1");
  h.tick(1, 6);
  ASSERT_TRUE(timed.done());
  EXPECT_EQ(timed.result().status, ProposalStatus::timeout);
  ProposalHandle dropped = h.node(1).propose("a=2");
  Message m;
  m.type = MessageType::append_resp;
  m.from = 2;
  m.to = 1;
  m.term = h.node(1).term() + 1;
  h.node(1).step(m);
  ASSERT_TRUE(dropped.done());
  EXPECT_EQ(dropped.result().status, ProposalStatus::dropped);
}

TEST(Proposal, ProposingFromACallbackIsSafe) {
  Harness h = running(3);
  ProposalHandle second;
  ProposalHandle first = h.node(1).propose("a=1");
  first.then([&](const ProposalResult&) { second = h.node(1).propose("b=2"); });
  h.deliver();
  h.tick_all(2);
  ASSERT_TRUE(second.done());
  EXPECT_EQ(second.result().status, ProposalStatus::applied);
  EXPECT_EQ(h.peers[2]->sm.get("b"), "2");
}

TEST(ReadIndex, ConfirmsLeadershipAndBatches) {
  Harness h = running(3);
  ProposalHandle w = h.node(1).propose("a=1");
  h.deliver();
  int heartbeat_rounds = 0;
  std::vector<ReadHandle> reads;
  for (int i = 0; i < 5; ++i) reads.push_back(h.node(1).read_index());
  for (auto& m : h.peers[1]->tr.out)
    if (m.type == MessageType::heartbeat && m.context > 0 && m.to == 2) ++heartbeat_rounds;
  EXPECT_FALSE(reads[0].done());
  h.deliver();
  for (auto& m : h.peers[1]->tr.out)
    if (m.type == MessageType::heartbeat && m.context > 0 && m.to == 2) ++heartbeat_rounds;
  h.deliver();
  for (auto& r : reads) {
    ASSERT_TRUE(r.done());
    EXPECT_EQ(r.result().status, ReadStatus::ok);
    EXPECT_GE(r.result().read_index, w.result().index);
  }
  EXPECT_LE(heartbeat_rounds, 2);  // five reads, at most two rounds
  ReadHandle f = h.node(2).read_index();
  ASSERT_TRUE(f.done());
  EXPECT_EQ(f.result().status, ReadStatus::not_leader);
  EXPECT_EQ(f.result().leader_hint, 1u);
}

TEST(ReadIndex, IsolatedLeaderCannotServe) {
  Config c;
  c.read_timeout_ticks = 5;
  c.check_quorum = false;
  Harness h = running(3, c);
  h.isolate(1);
  ReadHandle r = h.node(1).read_index();
  h.deliver();
  h.tick(1, 6);
  ASSERT_TRUE(r.done());
  EXPECT_EQ(r.result().status, ReadStatus::timeout);
}

// Thesis §3.10: transfer to a node that lags; it is caught up first, then told to campaign.
TEST(Transfer, ToLaggingNode) {
  Harness h = running(3);
  h.isolate(3);
  for (int i = 0; i < 10; ++i) h.node(1).propose("k=" + std::to_string(i));
  h.deliver();
  Index last = h.node(1).status().last_index;
  EXPECT_LT(h.node(3).status().last_index, last);
  h.heal();
  ASSERT_TRUE(h.node(1).transfer_leadership(3));
  ProposalHandle refused = h.node(1).propose("x=1");
  EXPECT_EQ(refused.result().status, ProposalStatus::not_leader);
  h.deliver();
  EXPECT_TRUE(h.node(3).is_leader());
  EXPECT_GE(h.node(3).status().last_index, last);
  EXPECT_EQ(h.node(1).role(), Role::follower);
  EXPECT_FALSE(h.node(2).transfer_leadership(1));  // only a leader can transfer
}

TEST(Membership, LearnerNeverVotesOrCampaigns) {
  Harness h = running(3);
  h.add_peer(4);
  ProposalHandle add = h.node(1).propose_conf_change({ConfChangeType::add_learner, 4});
  h.tick_all(5);
  ASSERT_EQ(add.result().status, ProposalStatus::applied);
  EXPECT_TRUE(h.node(4).status().conf.is_learner(4));
  EXPECT_EQ(h.node(4).status().commit, h.node(1).status().commit);
  h.isolate(4);
  Term t = h.node(4).term();
  h.tick(4, 200);
  EXPECT_EQ(h.node(4).role(), Role::follower);
  EXPECT_EQ(h.node(4).term(), t);
  EXPECT_TRUE(h.drain(4).empty());
  // A campaign among the voters does not ask the learner.
  h.heal();
  h.isolate(1);
  h.drain(2);
  for (int i = 0; i < 40 && h.node(2).role() == Role::follower; ++i) h.tick(2);
  for (auto& m : h.drain(2)) EXPECT_NE(m.to, 4u);
}

TEST(Membership, PromoteOnlyWhenCaughtUpThenRemoveLeader) {
  Config c;
  c.max_promote_lag = 2;
  Harness h = running(3, c);
  h.add_peer(4);
  h.isolate(4);
  ProposalHandle add = h.node(1).propose_conf_change({ConfChangeType::add_learner, 4});
  h.tick_all(3);
  ASSERT_EQ(add.result().status, ProposalStatus::applied);
  for (int i = 0; i < 10; ++i) h.node(1).propose("k=" + std::to_string(i));
  h.tick_all(2);
  ProposalHandle early = h.node(1).propose_conf_change({ConfChangeType::promote, 4});
  ASSERT_TRUE(early.done());
  EXPECT_EQ(early.result().status, ProposalStatus::rejected);
  h.heal();
  h.tick_all(5);
  ProposalHandle promote = h.node(1).propose_conf_change({ConfChangeType::promote, 4});
  h.tick_all(3);
  ASSERT_EQ(promote.result().status, ProposalStatus::applied);
  EXPECT_TRUE(h.node(2).status().conf.is_voter(4));
  // Remove the leader itself: it steps down and hands over.
  ProposalHandle remove = h.node(1).propose_conf_change({ConfChangeType::remove, 1});
  h.tick_all(3);
  ASSERT_EQ(remove.result().status, ProposalStatus::applied);
  EXPECT_FALSE(h.node(1).is_leader());
  h.tick_all(40);
  int leaders = 0;
  for (NodeId id : {2, 3, 4}) leaders += h.node(id).is_leader();
  EXPECT_EQ(leaders, 1);
  for (NodeId id : {2, 3, 4}) EXPECT_FALSE(h.node(id).status().conf.contains(1));
}

TEST(Membership, ALearnerThatNeverAnsweredIsNotPromotedEvenOnAShortLog) {
  // The log is far shorter than max_promote_lag: only "acknowledged nothing" refuses it.
  Harness h = running(3);
  h.add_peer(4);
  h.isolate(4);
  ProposalHandle add = h.node(1).propose_conf_change({ConfChangeType::add_learner, 4});
  h.tick_all(3);
  ASSERT_EQ(add.result().status, ProposalStatus::applied);
  ProposalHandle promote = h.node(1).propose_conf_change({ConfChangeType::promote, 4});
  ASSERT_TRUE(promote.done());
  EXPECT_EQ(promote.result().status, ProposalStatus::rejected);
  EXPECT_FALSE(h.node(1).status().conf.is_voter(4));
}

TEST(Apply, AFollowerWhoseMachineCannotApplyWaitsAndThenCatchesUp) {
  Harness h = running(3);
  h.peers.at(2)->sm.fail_next_applies = 1'000'000;  // its storage is down
  ProposalHandle p = h.node(1).propose("k=v1");
  h.node(1).propose("j=v2");
  h.tick_all(3);
  // A quorum (leader + node 3) applies; node 2 commits but applies nothing, skipping nothing.
  ASSERT_EQ(p.result().status, ProposalStatus::applied);
  EXPECT_EQ(h.peers.at(3)->sm.get("j"), "v2");
  EXPECT_EQ(h.node(2).status().commit, h.node(1).status().commit);
  EXPECT_LT(h.node(2).status().applied, h.node(2).status().commit);
  EXPECT_EQ(h.peers.at(2)->sm.get("k"), "");
  EXPECT_GT(h.node(2).probe().apply_deferred, 0u);
  // Storage back: the same entries are applied, in order, on the next step.
  h.peers.at(2)->sm.fail_next_applies = 0;
  h.tick_all(2);
  EXPECT_EQ(h.node(2).status().applied, h.node(1).status().applied);
  EXPECT_EQ(h.peers.at(2)->sm.get("k"), "v1");
  EXPECT_EQ(h.peers.at(2)->sm.get("j"), "v2");
}

TEST(Membership, OneChangeAtATime) {
  Harness h = running(3);
  h.add_peer(4);
  h.add_peer(5);
  ProposalHandle a = h.node(1).propose_conf_change({ConfChangeType::add_learner, 4});
  ProposalHandle b = h.node(1).propose_conf_change({ConfChangeType::add_learner, 5});
  ASSERT_TRUE(b.done());
  EXPECT_EQ(b.result().status, ProposalStatus::rejected);
  h.tick_all(3);
  EXPECT_EQ(a.result().status, ProposalStatus::applied);
}

// §7: a follower far behind receives the snapshot in chunks and ends with the same state.
TEST(Snapshot, InstalledInChunksOnLaggingFollower) {
  Config c;
  c.snapshot_threshold = 10;
  c.snapshot_trailing = 2;
  c.snapshot_chunk_bytes = 16;
  Harness h = running(3, c);
  h.isolate(3);
  for (int i = 0; i < 40; ++i) {
    h.node(1).propose("key" + std::to_string(i % 7) + "=v" + std::to_string(i));
    h.deliver();
  }
  EXPECT_GT(h.node(1).status().first_index, 10u);
  EXPECT_GE(h.peers[1]->sm.snapshots_saved, 1u);
  int chunks = 0;
  h.heal();
  for (int i = 0; i < 20; ++i) {
    for (NodeId id : {1, 2, 3}) h.node(id).tick();
    h.deliver(1000, [&](const Message& m) {
      if (m.type == MessageType::snapshot) ++chunks;
      return true;
    });
  }
  EXPECT_GE(h.peers[3]->sm.snapshots_restored, 1u);
  EXPECT_GE(h.node(3).probe().snapshots_installed, 1u);
  EXPECT_GT(h.node(1).probe().snapshot_chunks_sent, 1u);
  EXPECT_GT(chunks, 1);
  EXPECT_EQ(h.node(3).status().applied, h.node(1).status().applied);
  for (int k = 0; k < 7; ++k) {
    std::string key = "key" + std::to_string(k);
    EXPECT_EQ(h.peers[3]->sm.get(key), h.peers[1]->sm.get(key)) << key;
  }
}

// Durability: term and vote survive a restart; a node that restarts replays committed entries.
TEST(Durability, RestartKeepsTermVoteAndState) {
  Harness h = running(3);
  ProposalHandle p = h.node(1).propose("a=1");
  h.tick_all(3);
  ASSERT_EQ(p.result().status, ProposalStatus::applied);
  Status before = h.node(2).status();
  h.peers[2]->node.reset();
  h.peers[2]->sm.crash();  // the state machine keeps only its snapshots
  h.start(2);
  Status after = h.node(2).status();
  EXPECT_EQ(after.term, before.term);
  EXPECT_EQ(after.vote, before.vote);
  EXPECT_EQ(h.peers[2]->sm.get("a"), "1");
}

}  // namespace
}  // namespace cairn::raft::test
