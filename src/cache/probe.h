#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace cairn::cache {

/// The cache tiers a read can be answered from (DESIGN.md §2: local index → version ring →
/// Redis → SQLite). The label values are those of `config_center_cache_hits_total{cache_type}`.
enum class CacheType : int { kLocal = 0, kVersionRing = 1, kRedis = 2 };
inline constexpr int kCacheTypes = 3;

inline std::string_view cache_type_label(CacheType t) {
  switch (t) {
    case CacheType::kLocal: return "local";
    case CacheType::kVersionRing: return "version_ring";
    case CacheType::kRedis: return "redis";
  }
  return "unknown";
}

/// Hit and miss counts per cache tier. One per node, owned by the node and shared by every part
/// that looks something up in a cache; only the metrics layer turns it into Prometheus
/// (`config_center_cache_hits_total{cache_type,hit="true|false"}`). Thread-safe, lock-free.
class Probe {
 public:
  void record(CacheType type, bool hit) {
    auto& slot = hit ? hits_[index(type)] : misses_[index(type)];
    slot.fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t hits(CacheType type) const { return hits_[index(type)].load(std::memory_order_relaxed); }
  uint64_t misses(CacheType type) const {
    return misses_[index(type)].load(std::memory_order_relaxed);
  }

 private:
  static size_t index(CacheType t) { return static_cast<size_t>(t); }
  std::array<std::atomic<uint64_t>, kCacheTypes> hits_{};
  std::array<std::atomic<uint64_t>, kCacheTypes> misses_{};
};

}  // namespace cairn::cache
