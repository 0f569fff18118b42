#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "core/client_registry.h"
#include "core/core.h"
#include "core/releases.h"
#include "server/clients_view.h"

namespace cairn::server {

struct ReleaseDriverOptions {
  int64_t interval_ms = 1'000;
  /// Whether this node leads (only the leader drives plans). Null: always (standalone).
  std::function<bool()> is_leader;
  int64_t node_id = 0;  // `node` of this node's registry entries
};

/// The plans and guards of gray releases (docs/releases.md), evaluated on the leader every
/// interval: for each active release with a plan, the cluster-wide progress (this node's client
/// registry and every member's) decides core::plan_step(); a step is submitted as a replicated
/// TransitionRelease (operator "cairn", automatic) with its reason. One submission per release
/// at a time; a stale one (another leader moved first) fails in apply and changes nothing.
///
/// Lifetime: borrows everything; stop() (or the destructor) joins the thread.
class ReleaseDriver {
 public:
  ReleaseDriver(ReleaseDriverOptions options, core::Core& core, core::Releases& releases,
                core::ClientRegistry& clients, ClientsView* members);
  ~ReleaseDriver();
  void start();
  void stop();

 private:
  void loop();
  void tick();
  void evaluate(const core::ReleasePtr& release, std::vector<Json> views);

  const ReleaseDriverOptions options_;
  core::Core& core_;
  core::Releases& releases_;
  core::ClientRegistry& clients_;
  ClientsView* members_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::set<std::string> in_flight_;  // release ids with a gather or a submission pending
  std::thread thread_;
};

}  // namespace cairn::server
