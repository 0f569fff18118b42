#pragma once

#include <cstdint>

#include "limit/limits.h"

namespace cairn::limit {

/// The state of one token bucket; its parameters (a Quota) are passed in on every call, so
/// that a reload changes them without touching the state. A bucket stamped with an older
/// generation of the limits counts as full (a reload starts every bucket afresh). Not
/// thread-safe: the Limiter guards each bucket with a lock.
struct Bucket {
  double tokens = 0;
  int64_t last_ms = 0;
  uint64_t generation = 0;  // 0: never used

  /// Brings the bucket to `now`: reset to full when of another generation, else refilled at
  /// the quota's rate up to its burst. A clock that steps back adds nothing.
  void sync(const Quota& q, uint64_t gen, int64_t now_ms);
  /// Milliseconds until `n` tokens are present (0 when they are), after sync().
  int64_t ms_until(double n, const Quota& q) const;
  /// Milliseconds until the bucket is full, after sync().
  int64_t ms_until_full(const Quota& q) const { return ms_until(q.burst, q); }
  /// Whether the bucket would be full at `now` (without changing it): such a bucket is the
  /// same as no bucket, so its client may be forgotten.
  bool full_at(const Quota& q, uint64_t gen, int64_t now_ms) const;
};

}  // namespace cairn::limit
