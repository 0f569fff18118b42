#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "telemetry/metrics.h"

namespace cairn::telemetry {

/// The outcome of one component's last check.
struct CheckResult {
  bool healthy = false;
  int64_t latency_ms = 0;
  std::string error;  // why it failed; empty when healthy
};

/// Runs named checks (seed §3.7.5: database, Redis, …) every `interval_ms` on its own thread,
/// keeps the last result of each and sets `health_check_status{component}` to 1 (healthy) or 0.
///
/// Threads: add() before start(); last() and the gauge from any thread; a check runs on the
/// checker's thread only and must be bounded in time. Lifetime: stop() (idempotent, also run
/// by the destructor) joins the thread; what the checks borrow must outlive it.
class HealthChecker {
 public:
  using Check = std::function<Result<Ok, std::string>()>;

  HealthChecker(int64_t interval_ms, Family<Gauge>& status);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  void add(std::string component, Check check);
  /// Runs every check once on the calling thread (so that results exist from the start), then
  /// on the interval in the background.
  void start();
  void stop();
  /// Runs every check once now, on the calling thread.
  void check_now();
  std::optional<CheckResult> last(const std::string& component) const;

 private:
  const int64_t interval_ms_;
  Family<Gauge>& status_;
  std::vector<std::pair<std::string, Check>> checks_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, CheckResult> results_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace cairn::telemetry
