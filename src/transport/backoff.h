#pragma once

#include <algorithm>
#include <cstdint>

namespace cairn::transport {

/// Delay before the next dial to a peer that is down: exponential from `initial_ms`, doubling
/// up to `max_ms`, with "equal jitter" (a uniform pick in [d/2, d]) so that the nodes of a
/// cluster restarted together do not dial in lock-step. The caller supplies the random bits,
/// which keeps this a pure, testable value type. Not thread-safe (one per peer, on its strand).
class Backoff {
 public:
  Backoff(int64_t initial_ms, int64_t max_ms)
      : initial_(std::max<int64_t>(1, initial_ms)),
        max_(std::max(initial_, max_ms)),
        next_(initial_) {}

  /// The delay to wait now; the following call returns up to twice as much.
  int64_t next(uint64_t random) {
    const int64_t d = next_;
    next_ = std::min(max_, next_ * 2);
    const int64_t half = d / 2;
    return d - half + static_cast<int64_t>(random % static_cast<uint64_t>(half + 1));
  }

  /// Jumps to the longest delay (after a rejected handshake: retrying fast cannot help).
  void saturate() { next_ = max_; }

  /// After a successful connection: the next outage starts from the shortest delay again.
  void reset() { next_ = initial_; }

 private:
  int64_t initial_;
  int64_t max_;
  int64_t next_;
};

}  // namespace cairn::transport
