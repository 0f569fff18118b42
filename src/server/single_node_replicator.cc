#include "server/single_node_replicator.h"

#include "common/time.h"

namespace cairn::server {

SingleNodeReplicator::SingleNodeReplicator(core::ConfigStateMachine& state_machine)
    : state_machine_(state_machine) {}

SingleNodeReplicator::~SingleNodeReplicator() { stop(); }

void SingleNodeReplicator::start() { thread_ = std::thread([this] { run(); }); }

void SingleNodeReplicator::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::deque<Pending> left;
  {
    std::lock_guard lock(mu_);
    left.swap(queue_);
  }
  for (auto& p : left) {
    p.done(api::CommandResult::failure(
        api::make_error(api::Errc::kUnavailable, "the node is stopping; the write was not applied")));
  }
}

void SingleNodeReplicator::propose(api::Command command, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back({std::move(command), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(api::CommandResult::failure(
      api::make_error(api::Errc::kUnavailable, "the node is stopping; the write was not applied")));
}

void SingleNodeReplicator::run() {
  for (;;) {
    Pending p;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      p = std::move(queue_.front());
      queue_.pop_front();
    }
    uint64_t index = state_machine_.store().applied_index() + 1;
    api::CommandResult result = state_machine_.apply(p.command, index, wall_clock_ms());
    p.done(std::move(result));
  }
}

}  // namespace cairn::server
