#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>
#include <string_view>

#include "api/command.h"
#include "cache/index.h"
#include "store/store.h"

namespace cairn::core {

/// The replicated state machine of a node: applies a command to the SQLite store, then brings
/// the in-memory index up to date with what changed. Every node runs the same sequence, so every
/// node's index and tables agree at equal applied index.
///
/// Lifetime: borrows the store and the index, which must outlive it. Threads: apply() and
/// apply_encoded() are called from the single apply thread.
class ConfigStateMachine {
 public:
  ConfigStateMachine(store::Store& store, cache::Index& index) : store_(store), index_(index) {}

  api::CommandResult apply(const api::Command& command, uint64_t index, int64_t timestamp_ms);

  /// Decodes a log entry's bytes and applies them. An undecodable entry is recorded as applied
  /// (so the log can move on) and reported as 50001.
  api::CommandResult apply_encoded(std::string_view bytes, uint64_t index, int64_t timestamp_ms);

  store::Store& store() { return store_; }

  /// Applies made between begin_group() and finish_group() go into one store transaction
  /// (Store::begin_group); what they change in memory (the index, watchers, listeners) is held
  /// back and happens, in order, only once finish_group() has seen the transaction commit. If
  /// it did not, nothing of the group took effect anywhere. Apply thread.
  void begin_group();
  /// Commits the store's group; false when nothing of it took effect.
  bool finish_group();

  /// Derived state kept next to the index (the watch hub, the version ring, the Redis tier):
  /// `on_applied` runs after every successfully applied command, in the order the listeners
  /// were added, right after the index took its changes; `on_reload` after the whole state was
  /// replaced (snapshot restore). Both on the apply thread; they must be quick. Added before
  /// the first apply.
  using AppliedListener = std::function<void(const api::Command&, const store::Applied&)>;
  void add_listener(AppliedListener on_applied, std::function<void()> on_reload = {});
  /// The same, but `on_applied` runs before the index takes the command's changes: for state a
  /// reader combines with the index's, which must never lag behind it. A gray release read with
  /// a namespace: a reader that saw the index's new revision with the release as it was before
  /// would poll from that revision and never hear of the release (docs/releases.md).
  void add_listener_before_index(AppliedListener on_applied, std::function<void()> on_reload = {});
  /// The store was replaced under the index (snapshot restore): tells the listeners.
  void reloaded();

 private:
  store::Store& store_;
  cache::Index& index_;
  std::vector<std::pair<AppliedListener, std::function<void()>>> listeners_;
  std::vector<std::pair<AppliedListener, std::function<void()>>> before_index_;
  void publish(const api::Command& command, const store::Applied& applied);
  bool grouping_ = false;
  std::vector<std::pair<api::Command, store::Applied>> held_;  // a group's successful applies
};

}  // namespace cairn::core
