#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"
#include "store/store.h"

namespace cairn::cache {

/// One remembered version of a key (seed §3.7.5 VersionRing).
struct RingVersion {
  int64_t version = 0;
  std::string value;  // compact JSON text
  int64_t created_at_ms = 0;
  std::string created_by;
};

/// The last kSize versions of every key, in memory, so that recent `version=` reads (and reads
/// of a node whose database failed) need no SQLite (docs/cache.md). Fed by every applied change
/// and filled from the store at start; forgets a namespace's keys when the namespace goes, and
/// the versions retention removes (forget()), so that it never answers a version the store no
/// longer keeps.
///
/// Threads: load(), record(), forget_namespace() and clear() on the apply thread; find() from
/// any thread.
class VersionRing {
 public:
  static constexpr size_t kSize = 10;

  /// Replaces the content with the last kSize versions of every current key in the store.
  Result<Ok, api::Error> load(const store::Store& store);
  /// Remembers the versions the changes produced (config puts), dropping the oldest beyond
  /// kSize; a deleted namespace's keys are forgotten.
  void record(const std::vector<store::Change>& changes);
  void clear();
  /// Forgets one version (retention removed it from the store).
  void forget(std::string_view ns, std::string_view key, int64_t version);

  /// Version `version` of ns/key when remembered.
  std::optional<RingVersion> find(std::string_view ns, std::string_view key, int64_t version) const;
  /// Keys with at least one remembered version (probe).
  size_t keys() const;

 private:
  using Key = std::pair<std::string, std::string>;  // namespace, key
  mutable std::shared_mutex mu_;
  std::map<Key, std::deque<RingVersion>, std::less<>> rings_;
};

}  // namespace cairn::cache
