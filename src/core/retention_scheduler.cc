#include "core/retention_scheduler.h"

#include <atomic>
#include <chrono>
#include <string>

#include "common/json.h"

namespace cairn::core {

struct RetentionScheduler::Shared {
  std::atomic<bool> in_flight{false};
  std::atomic<uint64_t> sequence{0};
  std::atomic<uint64_t> proposed{0};
  std::atomic<uint64_t> succeeded{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> removed{0};
};

RetentionScheduler::RetentionScheduler(Replicator& replicator, RetentionSchedulerOptions options)
    : replicator_(replicator), options_(std::move(options)), shared_(std::make_shared<Shared>()) {
  if (options_.interval_ms <= 0) options_.interval_ms = 3'600'000;
}

RetentionScheduler::~RetentionScheduler() { stop(); }

void RetentionScheduler::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (cv_.wait_for(lock, std::chrono::milliseconds(options_.interval_ms),
                       [this] { return stopping_; })) {
        break;
      }
      lock.unlock();
      run_once();
      lock.lock();
    }
  });
}

void RetentionScheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool RetentionScheduler::run_once() {
  if (options_.is_leader && !options_.is_leader()) return false;
  bool expected = false;
  if (!shared_->in_flight.compare_exchange_strong(expected, true)) return false;
  uint64_t n = ++shared_->sequence;
  shared_->proposed.fetch_add(1);
  api::CleanupVersions cleanup;
  if (options_.audit_keep_days > 0) cleanup.audit_keep_days = options_.audit_keep_days;
  api::Command command{"retention-" + std::to_string(n), "retention", std::move(cleanup)};
  std::shared_ptr<Shared> shared = shared_;
  replicator_.propose(std::move(command), [shared](api::CommandResult result) {
    if (result.ok()) {
      shared->succeeded.fetch_add(1);
      if (const auto* cleaned = result.as<api::VersionsCleaned>()) {
        shared->removed.fetch_add(cleaned->removed.size());
      }
    } else {
      shared->failed.fetch_add(1);
    }
    shared->in_flight = false;
  });
  return true;
}

RetentionScheduler::Counters RetentionScheduler::counters() const {
  return Counters{shared_->proposed.load(), shared_->succeeded.load(), shared_->failed.load(),
                  shared_->removed.load()};
}

}  // namespace cairn::core
