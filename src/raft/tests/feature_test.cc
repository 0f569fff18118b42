// Proposals, ReadIndex, leadership transfer, membership and snapshots on hand-driven nodes.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

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

// A snapshot is saved in the background: the leader keeps applying and compacts the log only
// once the machine reports the image durable, and then only up to the image's index.
TEST(Snapshot, CompactsOnlyOnceTheSaveIsReported) {
  Config c;
  c.snapshot_threshold = 10;
  c.snapshot_trailing = 2;
  Harness h = running(3, c);
  for (auto& [id, p] : h.peers) p->sm.async = true;
  for (int i = 0; i < 15; ++i) {
    h.node(1).propose("k=v" + std::to_string(i));
    h.deliver();
  }
  ASSERT_TRUE(h.peers[1]->sm.save_pending());
  EXPECT_EQ(h.node(1).status().first_index, 1u);  // nothing dropped while the save runs
  EXPECT_EQ(h.peers[1]->sm.durable_snapshot().index, 0u);
  for (int i = 0; i < 5; ++i) {  // applies go on meanwhile
    h.node(1).propose("k=w" + std::to_string(i));
    h.deliver();
  }
  const Index applied = h.node(1).status().applied;
  auto done = h.peers[1]->sm.complete_save();
  ASSERT_TRUE(done && done->ok);
  EXPECT_LT(done->meta.index, applied);  // the image is of the state when the save started
  h.node(1).snapshot_saved(done->meta, true);
  EXPECT_EQ(h.node(1).status().first_index, done->meta.index - c.snapshot_trailing + 1);
  EXPECT_EQ(h.node(1).probe().snapshots_taken, 1u);
  // A failed save compacts nothing; a report for a save the node did not start is ignored.
  h.node(1).snapshot_saved(SnapshotMeta{applied, h.node(1).term(), {}}, true);
  EXPECT_EQ(h.node(1).status().first_index, done->meta.index - c.snapshot_trailing + 1);
}

// A follower installing a snapshot in the background keeps answering heartbeats (so it neither
// times out nor is thought dead), does not campaign, and accepts no entries until it is done.
TEST(Snapshot, FollowerAnswersHeartbeatsWhileInstalling) {
  Config c;
  c.snapshot_threshold = 10;
  c.snapshot_trailing = 2;
  c.snapshot_chunk_bytes = 1 << 20;
  Harness h = running(3, c);
  h.isolate(3);
  for (int i = 0; i < 40; ++i) {
    h.node(1).propose("key" + std::to_string(i % 7) + "=v" + std::to_string(i));
    h.deliver();
  }
  ASSERT_GT(h.node(1).status().first_index, 10u);
  h.peers[3]->sm.async = true;
  h.heal();
  for (int i = 0; i < 30 && !h.peers[3]->sm.restore_pending(); ++i) h.tick_all();
  ASSERT_TRUE(h.peers[3]->sm.restore_pending());
  const Index applied_before = h.node(3).status().applied;
  int heartbeat_answers = 0, append_answers = 0;
  for (int i = 0; i < 4 * c.election_ticks; ++i) {  // far longer than an election timeout
    h.node(1).propose("late=" + std::to_string(i));
    for (NodeId id : {1, 2, 3}) h.node(id).tick();
    h.deliver(1000, [&](const Message& m) {
      if (m.from == 3 && m.type == MessageType::heartbeat_resp) ++heartbeat_answers;
      if (m.from == 3 && m.type == MessageType::append_resp) ++append_answers;
      return true;
    });
  }
  EXPECT_GT(heartbeat_answers, 10);
  EXPECT_EQ(append_answers, 0);
  EXPECT_EQ(h.node(3).role(), Role::follower);
  EXPECT_EQ(h.node(3).status().applied, applied_before);
  EXPECT_TRUE(h.node(1).is_leader());
  // The leader compacted on meanwhile, so it may send a newer image after this one.
  for (int i = 0; i < 10; ++i) {
    if (auto done = h.peers[3]->sm.complete_restore()) {
      ASSERT_TRUE(done->ok);
      h.node(3).snapshot_restored(done->meta, true);
    }
    h.tick_all(2);
  }
  EXPECT_GE(h.node(3).probe().snapshots_installed, 1u);
  EXPECT_EQ(h.node(3).status().applied, h.node(1).status().applied);
  EXPECT_EQ(h.peers[3]->sm.get("late"), h.peers[1]->sm.get("late"));
}

// Group commit: proposals and messages handled inside one Node::Batch share one sync and go to
// each follower in one append.
TEST(Batch, ProposalsShareOneSyncAndOneAppend) {
  Harness h = running(3);
  h.drain(1);
  const uint64_t syncs = h.node(1).probe().syncs;
  std::vector<ProposalHandle> ps;
  {
    Node::Batch batch(h.node(1));
    for (int i = 0; i < 5; ++i) ps.push_back(h.node(1).propose(KvStateMachine::encode_put("k" + std::to_string(i), "v")));
    EXPECT_EQ(h.node(1).probe().syncs, syncs);  // nothing flushed inside the batch
    EXPECT_TRUE(h.peers[1]->tr.out.empty());
  }
  EXPECT_EQ(h.node(1).probe().syncs, syncs + 1);
  int appends_to_2 = 0;
  size_t entries_to_2 = 0;
  for (const Message& m : h.peers[1]->tr.out) {
    if (m.to == 2 && m.type == MessageType::append) {
      ++appends_to_2;
      entries_to_2 += m.entries.size();
    }
  }
  EXPECT_EQ(appends_to_2, 1);
  EXPECT_EQ(entries_to_2, 5u);
  h.deliver();
  for (const ProposalHandle& p : ps) {
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.result().status, ProposalStatus::applied);
  }
  // A follower that receives several appends in one batch acknowledges them after one sync.
  h.tick_all(2);
  EXPECT_EQ(h.peers[3]->sm.get("k4"), "v");
}

// Records the order in which a node syncs its log and sends messages.
struct OrderLog final : LogStore, Transport {
  MemoryLogStore inner;
  std::vector<std::string> events;
  HardState hard_state() const override { return inner.hard_state(); }
  void set_hard_state(const HardState& hs) override { inner.set_hard_state(hs); }
  Index first_index() const override { return inner.first_index(); }
  Index last_index() const override { return inner.last_index(); }
  Result<Term, LogError> term(Index i) const override { return inner.term(i); }
  Result<std::vector<Entry>, LogError> entries(Index lo, Index hi, uint64_t max) const override {
    return inner.entries(lo, hi, max);
  }
  Result<Ok, LogError> append(const std::vector<Entry>& es) override { return inner.append(es); }
  Result<Ok, LogError> truncate_suffix(Index from) override { return inner.truncate_suffix(from); }
  Result<Ok, LogError> compact_prefix(Index upto) override { return inner.compact_prefix(upto); }
  Result<Ok, LogError> reset(Index index, Term term) override { return inner.reset(index, term); }
  Result<Ok, LogError> sync() override {
    events.push_back("sync");
    return Ok{};
  }
  void send(Message m) override {
    events.push_back(std::string(to_string(m.type)) + " to " + std::to_string(m.to) +
                     (m.entries.empty() ? "" : " up to " + std::to_string(m.entries.back().index)));
  }
};

// Raft paper §10.2.1: the leader sends new entries before syncing them itself, so the disk
// writes overlap; a follower or candidate still syncs before anything it sends.
TEST(Durability, LeaderSendsNewEntriesBeforeItsOwnSync) {
  OrderLog io;
  sim::KvStateMachine sm;
  SplitMix64 rng(7);
  Config c;
  c.id = 1;
  c.pre_vote = false;
  c.bootstrap.voters = {1, 2, 3};
  Node n(c, io, sm, io, rng);
  for (int i = 0; i < 100 && n.role() != Role::candidate; ++i) n.tick();
  ASSERT_EQ(n.role(), Role::candidate);
  // The candidate made its term and vote durable before asking for votes.
  auto vote = std::find(io.events.begin(), io.events.end(), "vote to 2");
  ASSERT_NE(vote, io.events.end());
  EXPECT_NE(std::find(io.events.begin(), vote, "sync"), vote);
  Message granted;
  granted.type = MessageType::vote_resp;
  granted.from = 2;
  granted.to = 1;
  granted.term = n.term();
  n.step(granted);
  ASSERT_TRUE(n.is_leader());
  for (NodeId f : {2, 3}) {  // both followers hold the leader's no-op: they replicate now
    Message ack;
    ack.type = MessageType::append_resp;
    ack.from = f;
    ack.to = 1;
    ack.term = n.term();
    ack.index = n.status().last_index;
    n.step(ack);
  }
  io.events.clear();
  ProposalHandle p = n.propose(KvStateMachine::encode_put("a", "1"));
  const std::string entry = std::to_string(n.status().last_index);
  ASSERT_GE(io.events.size(), 2u);
  EXPECT_EQ(io.events[0], "append to 2 up to " + entry);
  EXPECT_EQ(io.events[1], "append to 3 up to " + entry);
  EXPECT_EQ(io.events[2], "sync");
  EXPECT_FALSE(p.done());  // one durable copy (its own) is not a quorum of three
}

// The commit index is a hint in the durable hard state: ordinary commits do not rewrite it, a
// newly applied configuration does.
TEST(Durability, CommitIndexIsPersistedWithConfigurationsOnly) {
  Harness h = running(3);
  const Index durable = h.peers[1]->log.hard_state().commit;
  ProposalHandle p = h.node(1).propose(KvStateMachine::encode_put("a", "1"));
  h.tick_all(2);
  ASSERT_EQ(p.result().status, ProposalStatus::applied);
  EXPECT_EQ(h.peers[1]->log.hard_state().commit, durable);
  EXPECT_GT(h.node(1).status().commit, durable);
  h.add_peer(4);
  ProposalHandle c = h.node(1).propose_conf_change({ConfChangeType::add_learner, 4});
  h.tick_all(3);
  ASSERT_EQ(c.result().status, ProposalStatus::applied);
  EXPECT_GE(h.peers[1]->log.hard_state().commit, c.result().index);
  EXPECT_GE(h.peers[2]->log.hard_state().commit, c.result().index);
}

// Durability: term and vote survive a restart; a node that restarts replays committed entries
// once the leader tells it the commit index (the durable commit index is only a hint, written
// with term and vote changes, so a restarted follower may not know it at first).
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
  h.tick_all(3);
  EXPECT_EQ(h.peers[2]->sm.get("a"), "1");
}


// Issue 23 §3 (`cairn recover`): a follower whose damaged log and state were moved aside comes
// back with an empty log that keeps its term and vote. The leader, which had it at a high match
// index, probes it again from what it has instead of ignoring its rejects, and it converges.
TEST(Durability, AFollowerRebuiltEmptyCatchesUpFromTheLeader) {
  Harness h = running(3);
  for (int i = 0; i < 5; ++i) {
    ProposalHandle p = h.node(1).propose("k" + std::to_string(i) + "=" + std::to_string(i));
    h.tick_all(2);
    ASSERT_EQ(p.result().status, ProposalStatus::applied);
  }
  Status before = h.node(3).status();
  ASSERT_GE(before.applied, 6u);
  h.peers[3] = std::make_unique<Harness::Peer>();
  h.peers[3]->log.set_hard_state(HardState{before.term, before.vote, 0});
  h.start(3);
  EXPECT_EQ(h.node(3).status().last_index, 0u);
  ProposalHandle p = h.node(1).propose("after=1");
  h.tick_all(6);
  ASSERT_EQ(p.result().status, ProposalStatus::applied);
  EXPECT_EQ(h.peers[3]->sm.get("k0"), "0");
  EXPECT_EQ(h.peers[3]->sm.get("after"), "1");
  EXPECT_EQ(h.node(3).status().applied, h.node(1).status().applied);
  EXPECT_GE(h.node(1).probe().lost_logs, 1u);
}

// Issue 23: a follower in probe state made the leader read a full 1 MiB append back from its log
// on every heartbeat reply. A probe carries one entry; the batches start once the logs match.
TEST(Replication, AProbingFollowerCostsOneEntryReadPerHeartbeat) {
  Harness h = running(3);
  h.isolate(3);
  h.heal();
  h.cut(1, 3);
  h.cut(3, 1);
  const std::string big(10'000, 'x');
  for (int i = 0; i < 300; ++i) (void)h.node(1).propose(KvStateMachine::encode_put("k", big));
  h.deliver();
  h.tick(1, 10);  // node 3's window stays full: the leader falls back to probing it
  h.deliver();
  h.heal();
  auto no_appends_to_3 = [](const Message& m) {
    return !(m.to == 3 && m.type == MessageType::append);
  };
  for (int i = 0; i < 20; ++i) {
    const uint64_t before = h.node(1).probe().append_entries_read;
    h.tick(1);
    h.deliver(1000, no_appends_to_3);
    EXPECT_LE(h.node(1).probe().append_entries_read - before, 1u) << "heartbeat " << i;
  }
  EXPECT_EQ(h.node(3).leader(), 1u);  // heartbeats kept it a follower throughout
  for (int i = 0; i < 200 && h.node(3).status().last_index < h.node(1).status().last_index; ++i) {
    h.tick_all();
  }
  EXPECT_EQ(h.node(3).status().last_index, h.node(1).status().last_index);
}

// Issue 23: every term change, vote, leader change and step-down is recorded with its reason.
TEST(Events, ElectionsAndStepDownsAreRecordedWithReasons) {
  Config c;
  c.record_events = true;
  Harness h(3, c);
  h.start_all();
  ASSERT_TRUE(h.elect(1));
  h.tick_all(2);
  auto has = [](const std::vector<Event>& es, Event::Kind k, NodeId peer, const std::string& part) {
    return std::any_of(es.begin(), es.end(), [&](const Event& e) {
      return e.kind == k && e.peer == peer && e.reason.find(part) != std::string::npos;
    });
  };
  auto e1 = h.node(1).take_events();
  EXPECT_TRUE(has(e1, Event::Kind::campaign, kNoNode, "election timeout"));
  EXPECT_TRUE(has(e1, Event::Kind::term_changed, kNoNode, "pre-vote won by a quorum"));
  EXPECT_TRUE(has(e1, Event::Kind::leader_changed, 1, "won the election"));
  auto e2 = h.node(2).take_events();
  EXPECT_TRUE(has(e2, Event::Kind::vote_granted, 1, ""));
  EXPECT_TRUE(has(e2, Event::Kind::leader_changed, 1, "leads term"));
  EXPECT_TRUE(h.node(2).take_events().empty());  // taken once

  h.isolate(1);
  h.tick(1, 2 * c.election_ticks + 1);  // a full check-quorum period without answers
  EXPECT_FALSE(h.node(1).is_leader());
  auto down = h.node(1).take_events();
  EXPECT_TRUE(has(down, Event::Kind::stepped_down, kNoNode, "check-quorum"));
  EXPECT_TRUE(has(down, Event::Kind::leader_changed, kNoNode, "check-quorum"));
  EXPECT_EQ(h.node(1).probe().check_quorum_stepdowns, 1u);
  EXPECT_EQ(h.node(2).probe().votes_granted, 1u);
  h.heal();
}

}  // namespace
}  // namespace cairn::raft::test
