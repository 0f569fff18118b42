// The retention scheduler: when it proposes a clean-up, and what it counts.

#include "core/retention_scheduler.h"

#include <gtest/gtest.h>

#include <mutex>
#include <variant>
#include <vector>

#include "test_support.h"

namespace cairn::core {
namespace {

/// Counts proposals and holds their callbacks, so a test decides when they complete.
class HoldingReplicator final : public Replicator {
 public:
  void propose(api::Command command, Done done) override {
    std::lock_guard lock(mu);
    commands.push_back(std::move(command));
    pending.push_back(std::move(done));
  }
  std::mutex mu;
  std::vector<api::Command> commands;
  std::vector<Done> pending;
};

TEST(RetentionSchedulerTest, ProposesCleanupOnlyWhenLeaderAndOneAtATime) {
  HoldingReplicator replicator;
  bool leader = false;
  RetentionScheduler scheduler(replicator, {3'600'000, [&leader] { return leader; }});
  EXPECT_FALSE(scheduler.run_once());
  leader = true;
  EXPECT_TRUE(scheduler.run_once());
  EXPECT_FALSE(scheduler.run_once());  // the first is still in flight
  ASSERT_EQ(replicator.commands.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<api::CleanupVersions>(replicator.commands[0].body));
  const auto& c = std::get<api::CleanupVersions>(replicator.commands[0].body);
  EXPECT_FALSE(c.dry_run);
  EXPECT_FALSE(c.ns || c.keep_latest || c.keep_days);  // the namespaces' own policies
  api::CommandResult done;
  done.outcome = api::VersionsCleaned{false, {}, std::vector<api::RemovedVersion>(4), "", false, 0};
  replicator.pending[0](done);
  EXPECT_EQ(scheduler.counters().removed, 4u);
  EXPECT_EQ(scheduler.counters().succeeded, 1u);
  EXPECT_TRUE(scheduler.run_once());
  replicator.pending[1](api::CommandResult::failure(api::make_error(api::Errc::kNotLeader, "x")));
  EXPECT_EQ(scheduler.counters().failed, 1u);
}

TEST(RetentionSchedulerTest, TimerThreadProposesAndStops) {
  HoldingReplicator replicator;
  RetentionScheduler scheduler(replicator, {1, {}});
  scheduler.start();
  // Waits for the first proposal by its effect, not by time.
  cairn::test::wait_until(
      [&] {
        std::lock_guard lock(replicator.mu);
        return !replicator.commands.empty();
      },
      std::chrono::seconds(5), std::chrono::milliseconds(1));
  scheduler.stop();
  std::lock_guard lock(replicator.mu);
  EXPECT_EQ(replicator.commands.size(), 1u);  // in flight: no second proposal
}

}  // namespace
}  // namespace cairn::core
