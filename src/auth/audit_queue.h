#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "api/command.h"

namespace cairn::auth {

/// Collects the audit entries of denied requests and hands them on in batches (one
/// api::AppendAudit per flush), so that a burst of refusals costs one replicated command, not
/// one each. Bounded: when `capacity` entries wait, new ones are dropped and counted.
///
/// Threads: add() from any thread, never blocks; `submit` runs on the queue's own thread.
/// Lifetime: stop() (or the destructor) submits what is left and joins the thread.
class AuditQueue {
 public:
  using Submit = std::function<void(api::AppendAudit)>;
  AuditQueue(Submit submit, size_t capacity = 10'000, int64_t flush_interval_ms = 200);
  ~AuditQueue();
  AuditQueue(const AuditQueue&) = delete;
  AuditQueue& operator=(const AuditQueue&) = delete;

  void add(api::AuditEntry entry);
  void stop();
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void run();

  static constexpr size_t kMaxBatch = 500;
  const Submit submit_;
  const size_t capacity_;
  const int64_t flush_interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<api::AuditEntry> pending_;
  bool stopping_ = false;
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace cairn::auth
