#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "core/replicator.h"
#include "core/state_machine.h"

namespace cairn::server {

/// The Replicator of a one-node deployment: commands are applied in arrival order on one
/// apply thread, each as log index applied_index()+1 stamped with this node's clock. The store
/// runs with synchronous=FULL, so a command is durable on disk before `done` is called.
///
/// Lifetime: start() after construction; stop() (also run by the destructor) finishes the
/// command being applied, fails the queued ones with 50301 and joins the thread.
/// Threads: propose() from any thread.
class SingleNodeReplicator final : public core::Replicator {
 public:
  explicit SingleNodeReplicator(core::ConfigStateMachine& state_machine);
  ~SingleNodeReplicator() override;

  void start();
  void stop();
  void propose(api::Command command, Done done) override;

 private:
  struct Pending {
    api::Command command;
    Done done;
  };
  void run();

  core::ConfigStateMachine& state_machine_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cairn::server
