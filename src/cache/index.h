#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "api/errors.h"
#include "common/result.h"
#include "store/store.h"

namespace cairn::cache {

/// A current config as the index holds it: the value is compact JSON text, ready to be spliced
/// into a response without re-encoding.
struct ConfigEntry {
  int64_t id = 0;
  std::string key;
  std::string value;
  int64_t version = 0;
  int status = 1;
  std::string description;
  std::string updated_by;
  int64_t updated_at_ms = 0;
  uint64_t revision = 0;
};

struct NamespaceEntry {
  int64_t id = 0;
  std::string name;
  std::string description;
  int status = 1;
  uint64_t revision = 0;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::vector<std::string> secret_keys;  // docs/secrets.md
  std::map<std::string, ConfigEntry, std::less<>> configs;  // ordered by key
};

/// The in-memory image of every namespace and current config, so that client reads
/// (config/get, batch-get, namespace) never query SQLite. Built from the store at start and after
/// a snapshot restore, then kept current by apply() with the changes of every applied command.
///
/// Threads: load() and apply() run on the apply thread; the read methods run on any thread. A
/// reader sees the state before or after an apply() call, never half of one.
class Index {
 public:
  /// Replaces the whole content with what the store holds.
  Result<Ok, api::Error> load(const store::Store& store);

  /// Applies the changes of one command, in order.
  void apply(const std::vector<store::Change>& changes);

  /// Calls `fn` under the read lock with the namespace named `name`; false when unknown.
  /// `fn` must not call back into the index.
  bool read_namespace(std::string_view name,
                      const std::function<void(const NamespaceEntry&)>& fn) const;

  /// Namespace id by name, name by id.
  std::optional<int64_t> namespace_id(std::string_view name) const;
  std::optional<std::string> namespace_name(int64_t id) const;

  /// Probe: reads served (each read_namespace call). Thread-safe.
  uint64_t reads() const { return reads_.load(std::memory_order_relaxed); }

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, NamespaceEntry, std::less<>> by_name_;
  std::map<int64_t, std::string> name_by_id_;
  mutable std::atomic<uint64_t> reads_{0};
};

}  // namespace cairn::cache
