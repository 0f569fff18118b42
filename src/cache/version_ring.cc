#include "cache/version_ring.h"

#include <algorithm>

namespace cairn::cache {

Result<Ok, api::Error> VersionRing::load(const store::Store& store) {
  std::vector<std::pair<std::string, std::string>> keys;
  auto listed = store.load_all([](const store::NamespaceRow&) {},
                               [&](const store::ConfigRow& c) { keys.emplace_back(c.ns, c.key); });
  if (!listed.ok()) return Unexpected{listed.error()};
  std::map<Key, std::deque<RingVersion>, std::less<>> rings;
  for (auto& [ns, key] : keys) {
    auto page = store.versions(ns, key, {1, static_cast<int64_t>(kSize)});
    if (!page.ok()) return Unexpected{page.error()};
    auto& ring = rings[{ns, key}];
    for (auto it = page->items.rbegin(); it != page->items.rend(); ++it) {  // oldest first
      ring.push_back(RingVersion{it->version, it->value, it->created_at_ms, it->created_by});
    }
  }
  std::unique_lock lock(mu_);
  rings_ = std::move(rings);
  return Ok{};
}

void VersionRing::record(const std::vector<store::Change>& changes) {
  std::unique_lock lock(mu_);
  for (const auto& c : changes) {
    if (c.kind == store::Change::Kind::kNamespaceDelete) {
      auto it = rings_.lower_bound(Key{c.ns.name, ""});
      while (it != rings_.end() && it->first.first == c.ns.name) it = rings_.erase(it);
      continue;
    }
    if (c.kind != store::Change::Kind::kConfigPut) continue;
    auto& ring = rings_[{c.config.ns, c.config.key}];
    if (!ring.empty() && ring.back().version >= c.config.version) {
      // The same version again (a description or status change): keep the newest content.
      if (ring.back().version == c.config.version) ring.back().value = c.config.value;
      continue;
    }
    ring.push_back(
        RingVersion{c.config.version, c.config.value, c.config.updated_at_ms, c.config.updated_by});
    while (ring.size() > kSize) ring.pop_front();
  }
}

void VersionRing::clear() {
  std::unique_lock lock(mu_);
  rings_.clear();
}

void VersionRing::forget(std::string_view ns, std::string_view key, int64_t version) {
  std::unique_lock lock(mu_);
  auto it = rings_.find(Key{std::string(ns), std::string(key)});
  if (it == rings_.end()) return;
  auto& ring = it->second;
  ring.erase(std::remove_if(ring.begin(), ring.end(),
                            [&](const RingVersion& v) { return v.version == version; }),
             ring.end());
  if (ring.empty()) rings_.erase(it);
}

std::optional<RingVersion> VersionRing::find(std::string_view ns, std::string_view key,
                                             int64_t version) const {
  std::shared_lock lock(mu_);
  auto it = rings_.find(Key{std::string(ns), std::string(key)});
  if (it == rings_.end()) return std::nullopt;
  for (const auto& v : it->second) {
    if (v.version == version) return v;
  }
  return std::nullopt;
}

size_t VersionRing::keys() const {
  std::shared_lock lock(mu_);
  return rings_.size();
}

}  // namespace cairn::cache
