#include "auth/audit_queue.h"

#include <chrono>

namespace cairn::auth {

AuditQueue::AuditQueue(Submit submit, size_t capacity, int64_t flush_interval_ms)
    : submit_(std::move(submit)), capacity_(capacity), flush_interval_ms_(flush_interval_ms) {
  thread_ = std::thread([this] { run(); });
}

AuditQueue::~AuditQueue() { stop(); }

void AuditQueue::add(api::AuditEntry entry) {
  std::lock_guard lock(mu_);
  if (stopping_ || pending_.size() >= capacity_) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  pending_.push_back(std::move(entry));
}

void AuditQueue::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AuditQueue::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_for(lock, std::chrono::milliseconds(flush_interval_ms_), [this] { return stopping_; });
    while (!pending_.empty()) {
      api::AppendAudit batch;
      size_t n = std::min(pending_.size(), kMaxBatch);
      batch.entries.assign(std::make_move_iterator(pending_.begin()),
                           std::make_move_iterator(pending_.begin() + static_cast<long>(n)));
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(n));
      lock.unlock();
      submit_(std::move(batch));
      lock.lock();
    }
    if (stopping_) return;
  }
}

}  // namespace cairn::auth
