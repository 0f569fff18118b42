#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace cairn::limit {

/// The three request classes of seed §3.5.1, each with its own buckets (docs/rate-limits.md):
/// read = reads (GET /api/v1/config/*, POST /api/v1/config/batch-get, GET /api/v1/admin/*),
/// write = config writes (POST/PUT/DELETE /api/v1/admin/config*), admin = every other change
/// under /api/v1/admin/ (namespaces, cluster). Each route states its class (routes/table.h).
enum class RequestClass : uint8_t { kRead = 0, kWrite = 1, kAdmin = 2 };
inline constexpr size_t kClassCount = 3;

std::string_view to_string(RequestClass c);

/// One token bucket's parameters: refilled at `qps` tokens per second up to `burst` tokens; a
/// request takes one. `qps` may be fractional (0.01: one request per 100 s). qps == 0 means no
/// limit: the bucket is not tracked at all.
struct Quota {
  double qps = 0;
  double burst = 0;

  bool unlimited() const { return qps <= 0; }
  friend bool operator==(const Quota&, const Quota&) = default;
};

/// A quota per request class, indexed by RequestClass.
using ClassQuotas = std::array<Quota, kClassCount>;

/// Every limit of a node: immutable once built; the Limiter swaps a whole Limits on reload.
/// Plain value type.
struct Limits {
  /// Node-wide buckets, one per class (429/42901 when empty).
  ClassQuotas global;
  /// Per-client buckets for clients not listed in `clients` (429/42902 when empty).
  ClassQuotas client_default;
  /// Per-client quotas by client id (the seed's `vip_clients`). Ordered for reproducible output.
  std::map<std::string, ClassQuotas, std::less<>> clients;
  /// Hard cap on clients tracked at once: beyond it the least recently seen is forgotten
  /// (which gives it a full bucket again when it returns).
  size_t max_clients = 100'000;

  /// The quotas of `client_id`: its VIP entry, else `client_default`.
  const ClassQuotas& client(std::string_view client_id) const;
};

/// The seed's numbers (§3.5.1): global read 10000/s burst 20000, write 1000/2000, admin
/// 100/200; per client read 1000/s, write 100/s (burst twice the rate), admin unlimited per
/// client; VIP `core-service` read 5000/s, write 500/s.
Limits default_limits();

/// Parses the YAML of docs/rate-limits.md (seed §3.5.1, optionally under a top-level
/// `rate_limits:` key). Keys left out keep the defaults above; unknown keys, wrong types,
/// negative rates and duplicate client ids are errors, with the offending key named. `origin`
/// (a file name) prefixes the messages.
Result<Limits, std::string> parse_limits(std::string_view yaml_text, std::string_view origin);

/// Reads and parses a limits file.
Result<Limits, std::string> load_limits_file(const std::string& path);

}  // namespace cairn::limit
