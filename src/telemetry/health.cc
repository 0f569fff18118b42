#include "telemetry/health.h"


#include <chrono>

namespace cairn::telemetry {
namespace {

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

HealthChecker::HealthChecker(int64_t interval_ms, Family<Gauge>& status)
    : interval_ms_(interval_ms), status_(status) {}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::add(std::string component, Check check) {
  checks_.emplace_back(std::move(component), std::move(check));
}

void HealthChecker::start() {
  check_now();
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (
        !cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [&] { return stopping_; })) {
      lock.unlock();
      check_now();
      lock.lock();
    }
  });
}

void HealthChecker::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HealthChecker::check_now() {
  for (const auto& [name, check] : checks_) {
    const int64_t start = steady_ms();
    auto r = check();
    CheckResult result{r.ok(), steady_ms() - start, r.ok() ? std::string() : r.error()};
    status_.with({name}).set(result.healthy ? 1 : 0);
    std::lock_guard lock(mu_);
    results_[name] = std::move(result);
  }
}

std::optional<CheckResult> HealthChecker::last(const std::string& component) const {
  std::lock_guard lock(mu_);
  auto it = results_.find(component);
  if (it == results_.end()) return std::nullopt;
  return it->second;
}

}  // namespace cairn::telemetry
