#include "limit/bucket.h"

#include <algorithm>
#include <cmath>

namespace cairn::limit {

void Bucket::sync(const Quota& q, uint64_t gen, int64_t now_ms) {
  if (generation != gen) {
    generation = gen;
    tokens = q.burst;
    last_ms = now_ms;
    return;
  }
  if (now_ms <= last_ms) return;
  tokens = std::min(q.burst, tokens + static_cast<double>(now_ms - last_ms) * q.qps / 1000.0);
  last_ms = now_ms;
}

int64_t Bucket::ms_until(double n, const Quota& q) const {
  if (tokens >= n || q.qps <= 0) return 0;
  return static_cast<int64_t>(std::ceil((n - tokens) * 1000.0 / q.qps));
}

bool Bucket::full_at(const Quota& q, uint64_t gen, int64_t now_ms) const {
  if (generation != gen || q.unlimited()) return true;
  const double elapsed = static_cast<double>(std::max<int64_t>(0, now_ms - last_ms));
  return tokens + elapsed * q.qps / 1000.0 >= q.burst;
}

}  // namespace cairn::limit
