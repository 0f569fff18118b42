#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "core/replicator.h"

namespace cairn::core {

struct RetentionSchedulerOptions {
  /// Time between two clean-ups (seed §3.6.1.2 "定时清理任务"). Must be > 0.
  int64_t interval_ms = 3'600'000;
  /// Whether this node should propose now. A cluster passes "am I the leader" so that one node,
  /// not all, proposes; empty means always (a standalone node).
  std::function<bool()> is_leader;
  /// Audit-log rows older than this many days go with each clean-up; 0 keeps them all.
  int64_t audit_keep_days = 0;
};

/// Proposes a retention clean-up (api::CleanupVersions with the namespaces' policies) through
/// the Replicator every `interval_ms`. The command is replicated and applied like any write, so
/// every node removes the same versions; the scheduler itself decides nothing but "now".
///
/// Lifetime: borrows the replicator, which must outlive it; stop() (or the destructor) joins
/// the thread, and a proposal still in flight then completes harmlessly. Threads: start(),
/// stop() and run_once() from the owner's thread; the counters from any thread.
class RetentionScheduler {
 public:
  RetentionScheduler(Replicator& replicator, RetentionSchedulerOptions options);
  ~RetentionScheduler();
  RetentionScheduler(const RetentionScheduler&) = delete;
  RetentionScheduler& operator=(const RetentionScheduler&) = delete;

  /// Starts the timer thread; the first clean-up comes one interval after start.
  void start();
  /// Stops and joins the thread. Idempotent.
  void stop();
  /// Proposes one clean-up now, when leader and no earlier one is still in flight. Returns
  /// whether it proposed.
  bool run_once();

  /// Probe: clean-ups proposed, completed successfully, and versions they removed.
  struct Counters {
    uint64_t proposed = 0;
    uint64_t succeeded = 0;
    uint64_t failed = 0;
    uint64_t removed = 0;
  };
  Counters counters() const;

 private:
  struct Shared;  // outlives the scheduler while a proposal is in flight
  Replicator& replicator_;
  RetentionSchedulerOptions options_;
  std::shared_ptr<Shared> shared_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cairn::core
