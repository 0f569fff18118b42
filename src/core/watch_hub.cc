#include "core/watch_hub.h"

#include <algorithm>

#include "common/json.h"
#include "common/time.h"

namespace cairn::core {

bool WatchFilter::matches(const std::string& key) const {
  if (!keys.empty()) return std::binary_search(keys.begin(), keys.end(), key);
  return key.compare(0, prefix.size(), prefix) == 0;
}

namespace {

/// Keeps only the latest event per key, oldest first.
std::vector<WatchEvent> latest_per_key(std::vector<WatchEvent> events) {
  std::unordered_set<std::string> seen;
  std::vector<WatchEvent> out;
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    if (seen.insert(it->key).second) out.push_back(std::move(*it));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace

WatchHub::WatchHub(WatchOptions options, const cache::Index& index, uint64_t revision)
    : options_(options), index_(index), revision_(revision), horizon_(revision) {
  timer_ = std::thread([this] { timer_loop(); });
}

WatchHub::~WatchHub() { shutdown(); }

void WatchHub::push_event(WatchEvent e) {
  event_bytes_ += e.value ? e.value->size() : 0;
  events_.push_back(std::move(e));
  // Drop whole revisions from the front until within both bounds.
  while (!events_.empty() &&
         (events_.size() > options_.history || event_bytes_ > options_.history_bytes)) {
    const uint64_t rev = events_.front().revision;
    while (!events_.empty() && events_.front().revision == rev) {
      event_bytes_ -= events_.front().value ? events_.front().value->size() : 0;
      events_.pop_front();
    }
    horizon_ = std::max(horizon_, rev);
  }
}

void WatchHub::on_applied(const std::vector<store::Change>& changes, uint64_t revision) {
  std::vector<WatchEvent> batch;
  std::vector<std::string> reset_ns;
  for (const auto& c : changes) {
    using Kind = store::Change::Kind;
    if (c.kind == Kind::kNamespaceDelete || (c.kind == Kind::kNamespacePut && c.ns.status == 0)) {
      reset_ns.push_back(c.ns.name);
      continue;
    }
    if (c.kind != Kind::kConfigPut && c.kind != Kind::kConfigDelete && c.kind != Kind::kGray) {
      continue;
    }
    WatchEvent e;
    e.revision = c.config.revision ? c.config.revision : revision;
    e.ns = c.ns.name;
    e.key = c.config.key;
    e.version = c.config.version;
    e.operation = c.operation.empty() ? (c.kind == Kind::kConfigDelete ? "DELETE" : "UPDATE")
                                      : c.operation;
    if (c.kind == Kind::kGray) {
      // A gray release moved (docs/releases.md): the stable state of the key, which the native
      // front-end replaces with the gray one for the clients the release targets.
      e.gray = true;
      const bool visible = c.config.version > 0 && c.config.status == 1;
      e.operation = visible ? "UPDATE" : "DELETE";
      if (visible) e.value = std::make_shared<const std::string>(c.config.value);
    } else if (c.kind == Kind::kConfigPut && c.config.status == 1 && e.operation != "DISABLE") {
      e.value = std::make_shared<const std::string>(c.config.value);
    }
    batch.push_back(std::move(e));
  }

  std::vector<std::pair<AnswerFn, std::shared_ptr<const WatchAnswer>>> answers;
  struct Reset {
    SubscriberPtr sub;
    std::string ns;
    uint64_t revision;
  };
  std::vector<Reset> resets;
  /// The watchers whose filters pick the same events of `batch` (by index) share one answer
  /// and one list of events, each made on first use.
  struct Group {
    std::shared_ptr<const WatchAnswer> answer;  // polls
    std::shared_ptr<const std::vector<WatchEvent>> events;  // subscriptions
    std::shared_ptr<SharedEncodings> encodings = std::make_shared<SharedEncodings>();
  };
  std::map<std::vector<uint32_t>, Group> groups;
  struct Write {
    SubscriberPtr sub;
    const Group* group;  // in `groups`, which outlives `writes`
  };
  std::vector<Write> writes;
  {
    std::lock_guard lock(mu_);
    revision_ = std::max(revision_, revision);
    for (const auto& e : batch) push_event(e);

    auto visit = [&](const std::string& ns, auto&& fn) {
      auto it = by_ns_.find(ns);
      if (it == by_ns_.end()) return;
      std::vector<uint64_t> ids(it->second.begin(), it->second.end());
      for (uint64_t id : ids) {
        auto w = watchers_.find(id);
        if (w != watchers_.end()) fn(w);
      }
    };
    for (const auto& ns : reset_ns) {
      visit(ns, [&](auto w) {
        if (w->second.sub) {
          resets.push_back({w->second.sub, ns, revision_});
        } else {
          auto a = std::make_shared<WatchAnswer>();
          a->reset = true;
          a->revision = revision_;
          answers.emplace_back(std::move(w->second.answer), std::move(a));
        }
        erase_locked(w);
      });
    }
    std::unordered_set<std::string> touched;
    for (const auto& e : batch) touched.insert(e.ns);
    std::vector<uint32_t> picked;
    for (const auto& ns : touched) {
      visit(ns, [&](auto w) {
        picked.clear();
        for (uint32_t i = 0; i < batch.size(); ++i) {
          const WatchEvent& e = batch[i];
          if (e.ns == ns && e.revision > w->second.revision && w->second.filter.matches(e.key)) {
            picked.push_back(i);
          }
        }
        if (picked.empty()) return;
        Group& g = groups[picked];
        auto events = [&] {
          std::vector<WatchEvent> out;
          out.reserve(picked.size());
          for (uint32_t i : picked) out.push_back(batch[i]);
          return out;
        };
        if (w->second.sub) {
          if (!g.events) g.events = std::make_shared<const std::vector<WatchEvent>>(events());
          w->second.revision = g.events->back().revision;
          writes.push_back({w->second.sub, &g});
          return;
        }
        if (!g.answer) {
          auto a = std::make_shared<WatchAnswer>();
          a->changed = true;
          a->revision = revision_;
          a->changes = latest_per_key(events());
          a->shared = g.encodings;
          g.answer = std::move(a);
        }
        answers.emplace_back(std::move(w->second.answer), g.answer);
        erase_locked(w);
      });
    }
  }
  for (auto& [fn, a] : answers) fn(*a);
  for (auto& r : resets) {
    r.sub->reset(r.ns, r.revision);
    r.sub->end();
  }
  for (auto& [sub, group] : writes) sub->changes(*group->events, *group->encodings);
}

void WatchHub::reset_all(uint64_t revision) {
  std::vector<AnswerFn> polls;
  std::vector<std::pair<SubscriberPtr, std::string>> streams;  // and the namespace
  {
    std::lock_guard lock(mu_);
    revision_ = revision;
    horizon_ = revision;
    events_.clear();
    event_bytes_ = 0;
    while (!watchers_.empty()) {
      auto it = watchers_.begin();
      if (it->second.sub) {
        streams.emplace_back(it->second.sub, it->second.ns);
      } else {
        polls.push_back(std::move(it->second.answer));
      }
      erase_locked(it);
    }
  }
  WatchAnswer a;
  a.reset = true;
  a.revision = revision;
  for (auto& fn : polls) fn(a);
  for (auto& [sub, ns] : streams) {
    sub->reset(ns, revision);
    sub->end();
  }
}

WatchHub::Backlog WatchHub::backlog(const std::string& ns, uint64_t revision,
                                    const WatchFilter& filter,
                                    std::vector<WatchEvent>& out) const {
  // A revision past this node's is held like the current one (a follower behind the node the
  // client read from catches up within moments); poll() answers reset if it is still ahead at
  // the deadline, and subscribe() resets at once (see there).
  if (revision >= revision_) return Backlog::kNone;
  if (revision < horizon_) {
    // Changes after `revision` may be gone; that matters only if the namespace changed since.
    uint64_t ns_revision = 0;
    index_.read_namespace(ns, [&](const cache::NamespaceEntry& e) { ns_revision = e.revision; });
    if (ns_revision <= revision) return Backlog::kNone;
    return Backlog::kReset;
  }
  std::vector<WatchEvent> newer;
  for (auto it = events_.rbegin(); it != events_.rend() && it->revision > revision; ++it) {
    if (it->ns == ns && filter.matches(it->key)) newer.push_back(*it);
  }
  if (newer.empty()) return Backlog::kNone;
  std::reverse(newer.begin(), newer.end());
  out = std::move(newer);
  return Backlog::kChanges;
}

uint64_t WatchHub::poll(const std::string& ns, uint64_t revision, WatchFilter filter,
                        int64_t timeout_ms, AnswerFn answer) {
  WatchAnswer a;
  {
    std::unique_lock lock(mu_);
    a.revision = revision_;
    std::vector<WatchEvent> events;
    Backlog b = stopping_ ? Backlog::kNone : backlog(ns, revision, filter, events);
    if (b == Backlog::kReset || (!stopping_ && timeout_ms <= 0 && revision > revision_)) {
      a.reset = true;
    } else if (b == Backlog::kChanges) {
      a.changed = true;
      a.changes = latest_per_key(std::move(events));
    } else if (!stopping_ && timeout_ms > 0) {
      Watcher w;
      w.ns = ns;
      w.revision = revision;
      w.filter = std::move(filter);
      w.deadline_ms = monotonic_ms() + std::min(timeout_ms, options_.max_timeout_ms);
      w.answer = std::move(answer);
      return add_locked(std::move(w));
    }
  }
  answer(a);
  return 0;
}

uint64_t WatchHub::subscribe(const std::string& ns, uint64_t revision, WatchFilter filter,
                             SubscriberPtr subscriber) {
  std::unique_lock lock(mu_);
  if (stopping_) {
    lock.unlock();
    subscriber->end();
    return 0;
  }
  std::vector<WatchEvent> events;
  Backlog b = backlog(ns, revision, filter, events);
  // A subscription has no deadline to wait for this node to reach a revision it never saw:
  // the client re-reads (here, or after a restore from a backup taken before that revision).
  if (b == Backlog::kReset || revision > revision_) {
    const uint64_t current = revision_;
    lock.unlock();
    subscriber->reset(ns, current);
    subscriber->end();
    return 0;
  }
  // Told under the lock so that no change applied meanwhile overtakes the backlog (a
  // subscriber only queues).
  subscriber->opened();
  if (!events.empty()) subscriber->changes(events);
  Watcher w;
  w.ns = ns;
  w.revision = events.empty() ? revision : events.back().revision;
  w.filter = std::move(filter);
  w.sub = std::move(subscriber);
  return add_locked(std::move(w));
}

uint64_t WatchHub::add_locked(Watcher w) {
  const uint64_t id = next_id_++;
  w.id = id;
  if (w.sub) {
    ++streams_;
  } else {
    deadlines_.emplace(w.deadline_ms, id);
  }
  by_ns_[w.ns].insert(id);
  watchers_.emplace(id, std::move(w));
  cv_.notify_all();
  return id;
}

void WatchHub::cancel(uint64_t id) {
  AnswerFn dropped;
  SubscriberPtr sub;
  {
    std::lock_guard lock(mu_);
    auto it = watchers_.find(id);
    if (it == watchers_.end()) return;
    dropped = std::move(it->second.answer);
    sub = it->second.sub;  // a copy: erase_locked() tells subscriptions by their subscriber
    erase_locked(it);
  }
  // Dropped outside the lock: a front-end's answer callback may talk to its server.
  dropped = nullptr;
  if (sub) sub->end();
}

void WatchHub::erase_locked(std::unordered_map<uint64_t, Watcher>::iterator it) {
  const Watcher& w = it->second;
  if (w.sub) {
    --streams_;
  } else {
    deadlines_.erase({w.deadline_ms, w.id});
  }
  if (auto ns = by_ns_.find(w.ns); ns != by_ns_.end()) {
    ns->second.erase(w.id);
    if (ns->second.empty()) by_ns_.erase(ns);
  }
  watchers_.erase(it);
}

void WatchHub::timer_loop() {
  int64_t next_heartbeat = monotonic_ms() + options_.heartbeat_ms;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const int64_t now = monotonic_ms();
    std::vector<std::pair<AnswerFn, bool>> expired;  // and whether it is a reset
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      auto it = watchers_.find(deadlines_.begin()->second);
      // Still short of the revision the client holds: not this node's history (a cluster
      // restored from a backup taken before it, docs/operations.md) or a node far behind.
      // Either way the client must re-read, not wait on.
      expired.emplace_back(std::move(it->second.answer), it->second.revision > revision_);
      erase_locked(it);
    }
    std::vector<SubscriberPtr> beats;
    if (now >= next_heartbeat) {
      next_heartbeat = now + options_.heartbeat_ms;
      for (const auto& [id, w] : watchers_) {
        if (w.sub) beats.push_back(w.sub);
      }
    }
    if (!expired.empty() || !beats.empty()) {
      WatchAnswer a;
      a.revision = revision_;
      lock.unlock();
      for (auto& [fn, reset] : expired) {
        WatchAnswer answer = a;
        answer.reset = reset;
        fn(answer);
      }
      expired.clear();
      for (auto& sub : beats) sub->heartbeat();
      beats.clear();
      lock.lock();
      continue;
    }
    int64_t wake = next_heartbeat;
    if (!deadlines_.empty()) wake = std::min(wake, deadlines_.begin()->first);
    cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(wake - now, 1)));
  }
}

void WatchHub::shutdown() {
  std::vector<AnswerFn> polls;
  std::vector<SubscriberPtr> streams;
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !timer_.joinable()) return;
    stopping_ = true;
    while (!watchers_.empty()) {
      auto it = watchers_.begin();
      if (it->second.sub) {
        streams.push_back(it->second.sub);
      } else {
        polls.push_back(std::move(it->second.answer));
      }
      erase_locked(it);
    }
    cv_.notify_all();
  }
  if (timer_.joinable()) timer_.join();
  WatchAnswer a;
  a.revision = revision();
  for (auto& fn : polls) fn(a);
  for (auto& sub : streams) sub->end();
}

size_t WatchHub::held_polls() const {
  std::lock_guard lock(mu_);
  return watchers_.size() - streams_;
}

size_t WatchHub::open_streams() const {
  std::lock_guard lock(mu_);
  return streams_;
}

uint64_t WatchHub::revision() const {
  std::lock_guard lock(mu_);
  return revision_;
}

uint64_t WatchHub::horizon() const {
  std::lock_guard lock(mu_);
  return horizon_;
}

}  // namespace cairn::core
