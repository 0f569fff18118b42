#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "limit/bucket.h"
#include "limit/limits.h"

namespace cairn::limit {

/// The answer to one Limiter::check().
struct Decision {
  enum class Verdict : uint8_t {
    kAllowed,
    kGlobalLimited,  // the node-wide bucket of the class is empty: 429/42901
    kClientLimited,  // the client's own bucket is empty: 429/42902
  };
  Verdict verdict = Verdict::kAllowed;
  /// False when no bucket applies (every quota unlimited): nothing to report to the caller.
  bool limited = false;
  /// The bucket reported to the caller: the one that refused, or on success the one of the
  /// buckets checked (global, client) with the fewest whole tokens left (the client's on a tie),
  /// the one closest to refusing.
  double limit = 0;            // its rate in requests per second (the seed's `limit`)
  double burst = 0;            // its capacity, which `remaining` never exceeds
  int64_t remaining = 0;       // whole tokens left in it after this request
  int64_t retry_after_ms = 0;  // rejections: until one token is back
  int64_t reset_ms = 0;        // until it is full again

  bool allowed() const { return verdict == Verdict::kAllowed; }
};

/// What the limiter did, for the metrics layer (only src/telemetry/ formats metrics). Counters
/// only grow, except `tracked_clients`.
struct LimiterProbe {
  std::array<uint64_t, kClassCount> allowed{};          // requests that passed, per class
  std::array<uint64_t, kClassCount> rejected_global{};  // 42901, per class
  std::array<uint64_t, kClassCount> rejected_client{};  // 42902, per class
  uint64_t clients_expired = 0;  // forgotten because their buckets were full again
  uint64_t clients_evicted = 0;  // forgotten early because max_clients was reached
  uint64_t reloads = 0;
  uint64_t tracked_clients = 0;  // now
};

/// Token buckets of seed §3.5: one node-wide bucket per request class, then one per client and
/// class. A request passes when both have a token; it takes one from each. A rejection by the
/// client's bucket gives the global token back, so that a client over its quota does not eat
/// everybody else's share.
///
/// Memory stays bounded however many client ids appear: a client whose buckets are all full
/// again is equivalent to an unknown one and is dropped (incrementally, from the least recently
/// seen end, on later checks, or by sweep()); and at most about `max_clients` are tracked
/// (ceil(max_clients / shards) per shard), the least recently seen being evicted first.
///
/// Thread-safety: every method may be called from any thread. Clients are spread over shards,
/// each with its own lock; each global bucket has its own lock. The clock is injected
/// (monotonic milliseconds) so that tests control time.
class Limiter {
 public:
  using Clock = std::function<int64_t()>;

  /// `shards` ≥ 1; `clock` defaults to cairn::monotonic_ms.
  explicit Limiter(Limits limits, Clock clock = {}, size_t shards = 16);
  Limiter(const Limiter&) = delete;
  Limiter& operator=(const Limiter&) = delete;

  /// Counts one request of class `c` from `client_id` (empty: only the global bucket applies).
  Decision check(RequestClass c, std::string_view client_id);

  /// Replaces the limits. Every bucket starts afresh (full) under the new limits.
  void reload(Limits limits);

  /// The limits in force.
  std::shared_ptr<const Limits> limits() const;

  /// Drops every client whose buckets are full again; returns how many.
  size_t sweep();
  size_t tracked_clients() const;
  LimiterProbe probe() const;

 private:
  struct Entry {
    std::string id;
    std::array<Bucket, kClassCount> buckets;
  };
  struct Shard {
    std::mutex mu;
    std::list<Entry> lru;  // front: most recently seen
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // views into lru
  };
  struct Global {
    std::mutex mu;
    Bucket bucket;
  };
  struct Snapshot {
    std::shared_ptr<const Limits> limits;
    uint64_t generation = 0;
  };

  Snapshot snapshot() const;
  Shard& shard_for(std::string_view client_id);
  /// The client's entry, moved to the front; created (evicting if the shard is at its cap).
  Entry& touch(Shard& s, std::string_view client_id, const Snapshot& snap, int64_t now);
  bool expired(const Entry& e, const Snapshot& snap, int64_t now) const;
  /// Removes up to `max` expired entries from the least recently seen end of `s`.
  size_t drop_expired_tail(Shard& s, const Snapshot& snap, int64_t now, size_t max);
  void erase(Shard& s, std::list<Entry>::iterator it);
  size_t shard_cap(const Limits& l) const;

  Clock clock_;
  mutable std::mutex config_mu_;
  std::shared_ptr<const Limits> limits_;  // guarded by config_mu_
  uint64_t generation_ = 1;               // guarded by config_mu_
  std::array<Global, kClassCount> global_;
  std::vector<std::unique_ptr<Shard>> shards_;

  std::array<std::atomic<uint64_t>, kClassCount> allowed_{};
  std::array<std::atomic<uint64_t>, kClassCount> rejected_global_{};
  std::array<std::atomic<uint64_t>, kClassCount> rejected_client_{};
  std::atomic<uint64_t> clients_expired_{0};
  std::atomic<uint64_t> clients_evicted_{0};
  std::atomic<uint64_t> reloads_{0};
};

}  // namespace cairn::limit
