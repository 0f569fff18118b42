#include "limit/limiter.h"

#include <algorithm>
#include <cmath>

#include "common/time.h"

namespace cairn::limit {
namespace {

/// Expired clients looked at per check: enough to drain idle clients as fast as new ones come.
constexpr size_t kTailSweep = 2;
/// …and when a shard is at its cap, before the least recently seen is evicted.
constexpr size_t kCapSweep = 8;

void report(Decision& d, const Quota& q, const Bucket& b) {
  d.limited = true;
  d.limit = q.qps;
  d.burst = q.burst;
  d.remaining = static_cast<int64_t>(std::floor(std::max(0.0, b.tokens)));
  d.retry_after_ms = b.ms_until(1, q);
  d.reset_ms = b.ms_until_full(q);
}

size_t index_of(RequestClass c) { return static_cast<size_t>(c); }

}  // namespace

Limiter::Limiter(Limits limits, Clock clock, size_t shards)
    : clock_(clock ? std::move(clock) : Clock(&monotonic_ms)),
      limits_(std::make_shared<const Limits>(std::move(limits))) {
  shards_.reserve(std::max<size_t>(1, shards));
  for (size_t i = 0; i < std::max<size_t>(1, shards); ++i) {
    shards_.push_back(std::make_unique<Shard>());
  }
}

Limiter::Snapshot Limiter::snapshot() const {
  std::lock_guard lock(config_mu_);
  return {limits_, generation_};
}

std::shared_ptr<const Limits> Limiter::limits() const { return snapshot().limits; }

void Limiter::reload(Limits limits) {
  auto next = std::make_shared<const Limits>(std::move(limits));
  {
    std::lock_guard lock(config_mu_);
    limits_ = std::move(next);
    ++generation_;  // buckets of older generations read as full and are reset on next use
  }
  reloads_.fetch_add(1, std::memory_order_relaxed);
}

Limiter::Shard& Limiter::shard_for(std::string_view client_id) {
  return *shards_[std::hash<std::string_view>{}(client_id) % shards_.size()];
}

size_t Limiter::shard_cap(const Limits& l) const {
  return std::max<size_t>(1, (l.max_clients + shards_.size() - 1) / shards_.size());
}

bool Limiter::expired(const Entry& e, const Snapshot& snap, int64_t now) const {
  const ClassQuotas& q = snap.limits->client(e.id);
  for (size_t c = 0; c < kClassCount; ++c) {
    if (!e.buckets[c].full_at(q[c], snap.generation, now)) return false;
  }
  return true;
}

void Limiter::erase(Shard& s, std::list<Entry>::iterator it) {
  s.index.erase(std::string_view(it->id));
  s.lru.erase(it);
}

size_t Limiter::drop_expired_tail(Shard& s, const Snapshot& snap, int64_t now, size_t max) {
  size_t dropped = 0;
  while (dropped < max && !s.lru.empty() && expired(s.lru.back(), snap, now)) {
    erase(s, std::prev(s.lru.end()));
    ++dropped;
  }
  if (dropped) clients_expired_.fetch_add(dropped, std::memory_order_relaxed);
  return dropped;
}

Limiter::Entry& Limiter::touch(Shard& s, std::string_view client_id, const Snapshot& snap,
                               int64_t now) {
  if (auto it = s.index.find(client_id); it != s.index.end()) {
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    return *it->second;
  }
  const size_t cap = shard_cap(*snap.limits);
  if (s.lru.size() >= cap) drop_expired_tail(s, snap, now, kCapSweep);
  while (s.lru.size() >= cap) {
    erase(s, std::prev(s.lru.end()));
    clients_evicted_.fetch_add(1, std::memory_order_relaxed);
  }
  s.lru.push_front(Entry{std::string(client_id), {}});
  s.index.emplace(std::string_view(s.lru.front().id), s.lru.begin());
  return s.lru.front();
}

Decision Limiter::check(RequestClass c, std::string_view client_id) {
  const size_t ci = index_of(c);
  const Snapshot snap = snapshot();
  const int64_t now = clock_();
  const Quota& gq = snap.limits->global[ci];
  Decision d;

  bool took_global = false;
  if (!gq.unlimited()) {
    Global& g = global_[ci];
    std::lock_guard lock(g.mu);
    g.bucket.sync(gq, snap.generation, now);
    if (g.bucket.tokens < 1) {
      d.verdict = Decision::Verdict::kGlobalLimited;
      report(d, gq, g.bucket);
      rejected_global_[ci].fetch_add(1, std::memory_order_relaxed);
      return d;
    }
    g.bucket.tokens -= 1;
    took_global = true;
    report(d, gq, g.bucket);
  }

  const Quota& cq = snap.limits->client(client_id)[ci];
  if (!client_id.empty() && !cq.unlimited()) {
    Shard& s = shard_for(client_id);
    bool refused = false;
    const Decision global = d;
    {
      std::lock_guard lock(s.mu);
      Entry& e = touch(s, client_id, snap, now);
      Bucket& b = e.buckets[ci];
      b.sync(cq, snap.generation, now);
      d = Decision{};
      if (b.tokens < 1) {
        refused = true;
        d.verdict = Decision::Verdict::kClientLimited;
      } else {
        b.tokens -= 1;
      }
      report(d, cq, b);
      drop_expired_tail(s, snap, now, kTailSweep);
    }
    if (refused) {
      if (took_global) {
        Global& g = global_[ci];
        std::lock_guard lock(g.mu);
        if (g.bucket.generation == snap.generation) {
          g.bucket.tokens = std::min(gq.burst, g.bucket.tokens + 1);
        }
      }
      rejected_client_[ci].fetch_add(1, std::memory_order_relaxed);
      return d;
    }
    if (took_global && global.remaining < d.remaining) d = global;  // closer to refusing
  }
  allowed_[ci].fetch_add(1, std::memory_order_relaxed);
  return d;
}

size_t Limiter::sweep() {
  const Snapshot snap = snapshot();
  const int64_t now = clock_();
  size_t dropped = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    for (auto it = shard->lru.begin(); it != shard->lru.end();) {
      auto next = std::next(it);
      if (expired(*it, snap, now)) {
        erase(*shard, it);
        ++dropped;
      }
      it = next;
    }
  }
  clients_expired_.fetch_add(dropped, std::memory_order_relaxed);
  return dropped;
}

size_t Limiter::tracked_clients() const {
  size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    n += shard->lru.size();
  }
  return n;
}

LimiterProbe Limiter::probe() const {
  LimiterProbe p;
  for (size_t c = 0; c < kClassCount; ++c) {
    p.allowed[c] = allowed_[c].load(std::memory_order_relaxed);
    p.rejected_global[c] = rejected_global_[c].load(std::memory_order_relaxed);
    p.rejected_client[c] = rejected_client_[c].load(std::memory_order_relaxed);
  }
  p.clients_expired = clients_expired_.load(std::memory_order_relaxed);
  p.clients_evicted = clients_evicted_.load(std::memory_order_relaxed);
  p.reloads = reloads_.load(std::memory_order_relaxed);
  p.tracked_clients = tracked_clients();
  return p;
}

}  // namespace cairn::limit
