#pragma once

// The SDK's local file cache: the last known content of each namespace a client read or
// watched, one JSON file per namespace, replaced atomically so that a crash never leaves a torn
// file. It is what a client serves (marked stale) when no endpoint answers.
//
// Layout: <dir>/ns-<namespace>.json =
//   {"namespace":"N","revision":15,"updated_at":"…","complete":true,
//    "configs":{"k":<value>,…},"versions":{"k":3,…},"saved_at":1705734400}
// `complete` is false when the file was built from single-key reads only.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "cairn/client.h"

namespace cairn::client_detail {

/// One namespace as cached. Plain value type.
struct CachedNamespace {
  std::string ns;
  int64_t revision = 0;
  std::string updated_at;
  bool complete = false;
  std::map<std::string, Json> configs;
  std::map<std::string, int64_t> versions;
};

/// Reads and writes the cache files of one directory, keeping a copy of each namespace in
/// memory. Lifetime: any; holds no descriptor between calls. Threads: every method may be called concurrently (one mutex serialises the
/// read-modify-write of `merge_key` with `store`).
class FileCache {
 public:
  /// An empty `dir` disables the cache (every load misses, every store is a no-op).
  explicit FileCache(std::string dir);

  bool enabled() const { return !dir_.empty(); }
  std::optional<CachedNamespace> load(const std::string& ns) const;
  /// Replaces the namespace's file: write a temporary, fsync, rename, fsync the directory.
  bool store(const CachedNamespace& content, std::string* error = nullptr);
  /// Records one key read with `get`; keeps the rest of the file (creates it, incomplete).
  bool merge_key(const std::string& ns, const std::string& key, const Json& value, int64_t version,
                 std::string* error = nullptr);
  std::string path_of(const std::string& ns) const;

 private:
  bool store_locked(const CachedNamespace& content, std::string* error);
  std::optional<CachedNamespace> load_locked(const std::string& ns) const;

  std::string dir_;
  mutable std::mutex mu_;
  // What this process last read or wrote per namespace, so that reads of the hot path (`get`
  // merging its key) do not re-read the file each time. Other processes' writes to the same
  // directory are seen when a namespace was not yet loaded here.
  mutable std::map<std::string, CachedNamespace> memo_;
};

}  // namespace cairn::client_detail
