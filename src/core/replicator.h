#pragma once

#include <functional>

#include "api/command.h"
#include "api/outcome.h"

namespace cairn::core {

/// Turns a command into a durable, applied state change and reports the state machine's result.
/// The API layer depends only on this interface: a single node applies locally
/// (server/single_node_replicator.h); a cluster replicates through Raft first.
///
/// Threads: propose() may be called from any thread. `done` is called exactly once, from a
/// replicator thread (never inline from propose()), after the command is durable and applied,
/// with the apply result — or with an error when it could not be (50003 timeout, 50301 stopping,
/// 50302 not the leader).
class Replicator {
 public:
  using Done = std::function<void(api::CommandResult)>;

  virtual ~Replicator() = default;
  virtual void propose(api::Command command, Done done) = 0;
};

}  // namespace cairn::core
