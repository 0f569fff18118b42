#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cache/index.h"
#include "store/store.h"

namespace cairn::core {

struct WatchOptions {
  size_t history = 10'000;              // changes kept for watchers that fall behind
  size_t history_bytes = 64 << 20;      // and at most this many bytes of values in them
  int64_t default_timeout_ms = 30'000;  // a long poll without `timeout`
  int64_t max_timeout_ms = 60'000;      // longer `timeout`s are cut to this
  int64_t heartbeat_ms = 15'000;        // Subscriber::heartbeat() interval
};

/// Which keys of a namespace a watcher cares about: all, a set, or a prefix.
struct WatchFilter {
  std::vector<std::string> keys;  // sorted; empty means no key filter
  std::string prefix;
  bool matches(const std::string& key) const;
};

/// One key change as watchers see it.
struct WatchEvent {
  uint64_t revision = 0;
  std::string ns;
  std::string key;
  std::string operation;  // CREATE, UPDATE, DELETE, ROLLBACK, ENABLE, DISABLE
  int64_t version = 0;
  std::shared_ptr<const std::string> value;  // compact JSON; null after DELETE and DISABLE
  bool gray = false;  // a gray release moved (start, stage, abort, promote): stable state here
};

/// What front-ends make of one set of changes that the hub gives to several watchers at once
/// (every long poll or subscription whose filter picks the same changes of one apply): each
/// encoding is made once, by the first watcher that asks, and shared by the others. Keys are
/// the front-end's own (which encoding: with values or not, …). Thread-safe.
class SharedEncodings {
 public:
  /// The encoding under `key`, made by `make` on first use.
  template <class Make>
  std::shared_ptr<const std::string> get(int key, Make&& make) {
    std::lock_guard lock(mu_);
    for (const auto& [k, text] : made_) {
      if (k == key) return text;
    }
    made_.emplace_back(key, std::make_shared<const std::string>(make()));
    return made_.back().second;
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<int, std::shared_ptr<const std::string>>> made_;
};

/// What a long poll is answered with.
struct WatchAnswer {
  bool changed = false;
  bool reset = false;
  uint64_t revision = 0;
  std::vector<WatchEvent> changes;  // the latest change per key, oldest first
  /// Set on the changes WatchHub::on_applied answers: one object shared by every poll given
  /// this same answer. Null on an answer made for one poll (a backlog, a timeout, a reset).
  std::shared_ptr<SharedEncodings> shared;
};

/// Where a subscription's changes go, as calls (the native front-end writes them as
/// Server-Sent Events). Calls queue and return; they never block.
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  /// The subscription is open; its backlog (if any) follows at once.
  virtual void opened() {}
  /// Changes after the subscription's revision, oldest first. False: the subscriber is gone.
  virtual bool changes(const std::vector<WatchEvent>& events) = 0;
  /// The same, for changes of one apply that several subscriptions get alike: `shared` is the
  /// same object for all of them, so that a front-end encodes the changes once.
  virtual bool changes(const std::vector<WatchEvent>& events, SharedEncodings& shared) {
    (void)shared;
    return changes(events);
  }
  /// The namespace must be read again at `revision`; end() follows.
  virtual void reset(const std::string& ns, uint64_t revision) = 0;
  /// Nothing happened for WatchOptions::heartbeat_ms (keeps idle connections open).
  virtual void heartbeat() = 0;
  /// The subscription is over (reset, cancel, shutdown). Idempotent.
  virtual void end() = 0;
};
using SubscriberPtr = std::shared_ptr<Subscriber>;

/// Keeps the recent changes of the node's applied state and the watchers waiting for them:
/// long polls (answered once, then forgotten) and subscriptions (told until they end).
///
/// Fed by the state machine right after every apply, on every node, so a follower notifies its
/// own watchers. A held watch costs a map entry and its callback, not a thread: one timer thread
/// answers the long polls whose timeout passed and sends the subscriptions' heartbeats.
///
/// Fan-out: the watchers of one apply whose filters pick the same changes get one answer (or
/// one list of events) between them, with a SharedEncodings, so that a change watched by ten
/// thousand clients is assembled and encoded once, not ten thousand times. The callbacks still
/// run one by one on the apply thread: a front-end hands the per-connection work (envelope,
/// write) to its connection's own thread.
///
/// Reset: a watcher whose revision is older than the retained changes (and whose namespace did
/// change since), or whose namespace is disabled, deleted or restored from a snapshot, is told
/// `reset` and must re-read the namespace.
///
/// Threads: on_applied() and reset_all() from the apply thread; poll(), subscribe() and cancel()
/// from any thread; answers and subscriber calls are made from whichever thread completes them,
/// never under the lock (but for a subscription's opening and backlog, so that no change
/// overtakes them).
class WatchHub {
 public:
  WatchHub(WatchOptions options, const cache::Index& index, uint64_t revision);
  ~WatchHub();
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  const WatchOptions& options() const { return options_; }

  /// The changes of one applied command (after the index took them) and the revision after it.
  void on_applied(const std::vector<store::Change>& changes, uint64_t revision);

  /// After a snapshot restore: every watcher is reset; the history starts again at `revision`.
  void reset_all(uint64_t revision);

  /// A long poll for changes to `ns` after `revision`. Answers at once through `answer` when
  /// there are some (or a reset), else holds until a change or `timeout_ms`. The namespace must
  /// exist and be enabled (the caller checked). Returns the id of the held poll for cancel(),
  /// or 0 when it was answered at once.
  using AnswerFn = std::function<void(const WatchAnswer&)>;
  uint64_t poll(const std::string& ns, uint64_t revision, WatchFilter filter, int64_t timeout_ms,
                AnswerFn answer);

  /// A subscription to the changes to `ns` after `revision`: the backlog first, then every
  /// change as it is applied, until cancel(), a reset or shutdown. Returns its id for cancel(),
  /// or 0 when it ended at once.
  uint64_t subscribe(const std::string& ns, uint64_t revision, WatchFilter filter,
                     SubscriberPtr subscriber);

  /// Forgets a held poll (never answered) or ends a subscription (the caller went away).
  /// Unknown or finished ids are ignored.
  void cancel(uint64_t id);

  /// Answers every held poll (changed: false), ends every subscription and stops the timer
  /// thread. Idempotent; later poll()/subscribe() calls are answered at once.
  void shutdown();

  /// Probes.
  size_t held_polls() const;
  size_t open_streams() const;
  uint64_t revision() const;
  uint64_t horizon() const;  // changes after this revision are all retained

 private:
  struct Watcher {
    uint64_t id = 0;
    std::string ns;
    uint64_t revision = 0;
    WatchFilter filter;
    int64_t deadline_ms = 0;  // polls only
    AnswerFn answer;          // polls
    SubscriberPtr sub;        // subscriptions
  };
  enum class Backlog { kNone, kChanges, kReset };

  /// Under mu_: the retained events of `ns` after `revision` that match, or reset.
  Backlog backlog(const std::string& ns, uint64_t revision, const WatchFilter& filter,
                  std::vector<WatchEvent>& out) const;
  uint64_t add_locked(Watcher w);
  void erase_locked(std::unordered_map<uint64_t, Watcher>::iterator it);
  void push_event(WatchEvent e);
  void timer_loop();

  const WatchOptions options_;
  const cache::Index& index_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WatchEvent> events_;  // oldest first
  size_t event_bytes_ = 0;
  uint64_t revision_ = 0;  // last applied revision
  uint64_t horizon_ = 0;   // every event after this revision is in events_
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Watcher> watchers_;
  std::unordered_map<std::string, std::unordered_set<uint64_t>> by_ns_;
  std::set<std::pair<int64_t, uint64_t>> deadlines_;  // polls: (deadline, id)
  size_t streams_ = 0;  // subscriptions
  bool stopping_ = false;
  std::thread timer_;
};

}  // namespace cairn::core
