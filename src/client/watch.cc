// The watch thread of cairn::Client: one thread long-polls GET /api/v1/config/watch for every
// watched namespace at once (one socket per namespace, multiplexed with poll()), keeps each
// namespace's content to hand listeners the old value, re-reads on `reset`, and writes the file
// cache after every change. A stop eventfd is part of every wait, so stopping is immediate.

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "client/client_impl.h"

namespace cairn {

using client_detail::Clock;
using client_detail::Endpoint;
using client_detail::HttpRequest;
using client_detail::HttpResponse;
using client_detail::ResponseReader;
using client_detail::TransportError;
using std::chrono::milliseconds;

namespace {

bool matches(const WatchFilter& f, const std::string& key) {
  if (!f.keys.empty()) return std::find(f.keys.begin(), f.keys.end(), key) != f.keys.end();
  if (!f.prefix.empty()) return key.rfind(f.prefix, 0) == 0;
  return true;
}

std::string format_timeout(milliseconds d) { return std::to_string(d.count()) + "ms"; }

}  // namespace

WatchId Client::Impl::add_watch(const std::string& ns, WatchFilter filter,
                                CheckedWatchListener listener) {
  WatchId id;
  {
    std::lock_guard lock(watch_mu_);
    id = next_id_++;
    listeners_[id] =
        Listener{ns, std::move(filter), std::make_shared<CheckedWatchListener>(std::move(listener))};
    if (!namespaces_.count(ns)) {
      auto w = std::make_unique<NsWatch>();
      w->ns = ns;
      w->next_try = Clock::now();
      w->endpoint_index = preferred_.load();
      namespaces_[ns] = std::move(w);
    }
    if (!thread_.joinable() && !stopping_) {
      thread_ = std::thread([this] { watch_loop(); });
      thread_id_ = thread_.get_id();
    }
  }
  if (wake_fds_[1] >= 0) {
    char c = 1;
    [[maybe_unused]] auto n = ::write(wake_fds_[1], &c, 1);
  }
  return id;
}

void Client::Impl::remove_watch(WatchId id) {
  std::thread::id watch_thread;
  {
    std::lock_guard lock(watch_mu_);
    listeners_.erase(id);
    watch_thread = thread_id_;
  }
  // Wait out a running dispatch (it may hold a copy of this listener), unless we are it.
  if (std::this_thread::get_id() != watch_thread) {
    std::lock_guard wait(dispatch_mu_);
  }
}

std::optional<NamespaceContent> Client::Impl::watched_content(const std::string& ns) const {
  std::lock_guard lock(watch_mu_);
  auto it = namespaces_.find(ns);
  if (it == namespaces_.end() || !it->second->ever_loaded) return std::nullopt;
  const NsWatch& w = *it->second;
  return NamespaceContent{ns, w.content, w.revision, w.updated_at, w.stale, w.release, {}, {}};
}

void Client::Impl::stop_watch_thread() {
  {
    std::lock_guard lock(watch_mu_);
    stopping_ = true;
  }
  if (stop_fd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
}

std::optional<std::string> Client::Impl::emit(const std::string& ns,
                                              const std::vector<ConfigChange>& changes) {
  std::optional<std::string> failure;
  if (changes.empty()) return failure;
  std::lock_guard dispatch(dispatch_mu_);
  std::vector<std::pair<WatchFilter, std::shared_ptr<CheckedWatchListener>>> targets;
  {
    std::lock_guard lock(watch_mu_);
    for (const auto& [id, l] : listeners_) {
      if (l.ns == ns) targets.emplace_back(l.filter, l.fn);
    }
  }
  for (const auto& change : changes) {
    for (const auto& [filter, fn] : targets) {
      if (!matches(filter, change.key)) continue;
      // A listener's exception must not kill the watch thread: it fails the ack instead.
      std::optional<std::string> why;
      try {
        ApplyResult r = (*fn)(change);
        if (!r.ok) why = r.error.empty() ? "listener failed" : r.error;
      } catch (const std::exception& e) {
        why = std::string("listener threw: ") + e.what();
      } catch (...) {
        why = "listener threw a non-standard exception";
      }
      if (why && !failure) failure = change.key + ": " + *why;
    }
  }
  return failure;
}

void Client::Impl::auto_ack(NsWatch& w, std::optional<std::string> failure) {
  if (failure && !w.pending_failure) w.pending_failure = std::move(failure);
  if (!options_.auto_ack || acks_unsupported_ || !w.ack_due || stopping_) return;
  // Called only once a node answered (a read or a poll): a watch seeded from the file cache
  // acks the cached revision after its first poll confirmed it.
  int64_t revision;
  {
    std::lock_guard lock(watch_mu_);
    revision = w.revision;
  }
  const bool failed = w.pending_failure.has_value();
  auto r = send_ack(w.ns, revision, failed ? AckStatus::kFailed : AckStatus::kApplied,
                    failed ? *w.pending_failure : std::string(), stop_fd_);
  if (r.ok() || acks_unsupported_ || (r.error().code > 0 && r.error().http_status < 500 &&
                                      r.error().http_status != 429)) {
    // Delivered, or refused for good (a retry would be refused again): done with this content.
    w.ack_due = false;
    w.pending_failure.reset();
  }
}

void Client::Impl::save_cache(const NsWatch& w) {
  client_detail::CachedNamespace entry;
  {
    std::lock_guard lock(watch_mu_);
    entry.ns = w.ns;
    entry.revision = w.revision;
    entry.updated_at = w.updated_at;
    entry.complete = true;
    entry.configs = w.content;
    entry.versions = w.versions;
  }
  cache_.store(entry);
}

bool Client::Impl::reload(NsWatch& w) {
  auto r = fetch_namespace(w.ns, stop_fd_);
  if (!r.ok()) {
    if (stopping_) return false;
    const auto& e = r.error();
    bool down = e.code == ClientError::kTransport || e.is(api::Errc::kUnavailable) ||
                e.is(api::Errc::kNotLeader) || e.code == ClientError::kProtocol;
    bool seeded = false;
    if (down && !w.ever_loaded) {
      // The cluster is unreachable: start from the file cache so that the app has its last
      // known config, and poll from the cached revision once a node answers.
      if (auto cached = cache_.load(w.ns); cached && cached->complete) {
        std::lock_guard lock(watch_mu_);
        w.content = std::move(cached->configs);
        w.versions = std::move(cached->versions);
        w.revision = cached->revision;
        w.updated_at = cached->updated_at;
        w.loaded = w.ever_loaded = w.stale = true;
        w.ack_due = true;
        seeded = true;
      }
    }
    if (e.is(api::Errc::kNamespaceNotFound) && w.ever_loaded) {
      // The namespace is gone or disabled: its keys are no longer served.
      std::vector<ConfigChange> removed;
      {
        std::lock_guard lock(watch_mu_);
        for (const auto& [k, v] : w.content) {
          removed.push_back(ConfigChange{w.ns, k, "RESET", 0, w.revision, v, std::nullopt});
        }
        w.content.clear();
        w.versions.clear();
      }
      emit(w.ns, removed);
    }
    if (!seeded) fail_poll(w);
    return seeded;
  }
  std::vector<ConfigChange> changes;
  {
    std::lock_guard lock(watch_mu_);
    if (w.ever_loaded) {
      // Report what changed while we were not following the change log.
      for (const auto& [k, v] : r->configs) {
        auto it = w.content.find(k);
        if (it == w.content.end() || it->second != v) {
          ConfigChange c{w.ns, k, "RESET", 0, r->revision, std::nullopt, v};
          if (it != w.content.end()) c.old_value = it->second;
          changes.push_back(std::move(c));
        }
      }
      for (const auto& [k, v] : w.content) {
        if (!r->configs.count(k)) {
          changes.push_back(ConfigChange{w.ns, k, "RESET", 0, r->revision, v, std::nullopt});
        }
      }
    }
    std::map<std::string, int64_t> versions;
    for (const auto& [k, v] : w.versions) {
      auto a = w.content.find(k);
      auto b = r->configs.find(k);
      if (a != w.content.end() && b != r->configs.end() && a->second == b->second) {
        versions[k] = v;
      }
    }
    w.versions = std::move(versions);
    w.content = std::move(r->configs);
    w.revision = r->revision;
    w.release = r->release;
    w.updated_at = r->updated_at;
    w.loaded = w.ever_loaded = true;
    w.stale = false;
  }
  save_cache(w);
  w.ack_due = true;  // the first read too: the application runs this content from now on
  auto_ack(w, emit(w.ns, changes));
  return true;
}

void Client::Impl::close_poll(NsWatch& w) {
  w.conn.close();
  w.reader.reset();
}

void Client::Impl::fail_poll(NsWatch& w, milliseconds at_least) {
  close_poll(w);
  w.backoff = w.backoff.count() == 0 ? options_.backoff_initial
                                     : std::min(w.backoff * 2, options_.backoff_max);
  w.next_try = Clock::now() + std::max(w.backoff, at_least);
  w.redirect.reset();
  if (!endpoints_.empty()) w.endpoint_index = (w.endpoint_index + 1) % endpoints_.size();
}

void Client::Impl::start_poll(NsWatch& w) {
  if (endpoints_.empty()) {
    w.next_try = Clock::now() + options_.backoff_max;
    return;
  }
  Endpoint ep = w.redirect ? *w.redirect : endpoints_[w.endpoint_index % endpoints_.size()];
  HttpRequest request;
  request.method = "GET";
  request.target = "/api/v1/config/watch?namespace=" + client_detail::url_encode(w.ns) +
                   "&revision=" + std::to_string(w.revision) +
                   "&timeout=" + format_timeout(options_.watch_timeout) + "&include_values=true";
  add_headers(request.headers);
  TransportError error;
  if (!client_detail::open_connection(ep, tls_.get(), options_.connect_timeout, stop_fd_,
                                      &w.conn, &error)) {
    fail_poll(w);
    return;
  }
  w.wait_events = POLLIN;
  w.deadline = Clock::now() + options_.watch_timeout + options_.request_timeout;
  if (!client_detail::send_all(w.conn, client_detail::serialize_request(ep, request), w.deadline,
                               stop_fd_, &error)) {
    fail_poll(w);
    return;
  }
  w.reader = std::make_unique<ResponseReader>();
}

void Client::Impl::finish_poll(NsWatch& w, const HttpResponse& response) {
  close_poll(w);
  auto envelope = api::decode_envelope(response.body);
  if (!envelope.ok()) {
    fail_poll(w);
    return;
  }
  const auto code = static_cast<api::Errc>(envelope->code);
  if (code != api::Errc::kOk) {
    if (response.status == 429) {
      std::string h = response.header("retry-after");
      milliseconds wait(1000);
      if (!h.empty() && h.size() < 7 &&
          std::all_of(h.begin(), h.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        wait = milliseconds(std::stoll(h) * 1000);
      }
      close_poll(w);
      w.next_try = Clock::now() + wait;
      return;
    }
    const Json e = code == api::Errc::kNotLeader
                       ? Json::parse(envelope->error_json, nullptr, /*allow_exceptions=*/false)
                       : Json();
    if (e.is_object()) {
      for (const char* name : {"leader_http", "leader_endpoint", "leader_url", "leader_addr",
                               "leader_http_addr", "leader"}) {
        if (e.contains(name) && e[name].is_string()) {
          if (auto ep = client_detail::parse_endpoint(e[name].get<std::string>())) {
            w.redirect = ep;
            w.next_try = Clock::now();
            return;
          }
        }
      }
    }
    if (code == api::Errc::kNamespaceNotFound) {
      std::lock_guard lock(watch_mu_);
      w.loaded = false;  // namespace gone or disabled: re-read (reporting removals) when back
    }
    fail_poll(w);
    return;
  }
  auto data = api::from_json<api::WatchPoll>(
      envelope->data_json.empty() ? std::string_view("{}") : envelope->data_json);
  if (!data.ok()) {
    fail_poll(w);
    return;
  }
  w.backoff = milliseconds(0);
  w.next_try = Clock::now();
  const std::string release = release_of(envelope->data_json);
  if (data->reset) {
    std::lock_guard lock(watch_mu_);
    w.loaded = false;
    return;
  }
  std::vector<ConfigChange> changes;
  bool need_reload = false;
  {
    std::lock_guard lock(watch_mu_);
    if (data->changed) {
      for (const api::WatchChange& c : data->changes) {
        ConfigChange change;
        change.ns = w.ns;
        change.key = c.key;
        change.operation = c.operation;
        change.version = c.version;
        change.revision = static_cast<int64_t>(c.revision);
        auto it = w.content.find(change.key);
        if (it != w.content.end()) change.old_value = it->second;
        if (c.value) {
          Json value = Json::parse(*c.value, nullptr, /*allow_exceptions=*/false);
          change.new_value = value;
          w.content[change.key] = std::move(value);
          w.versions[change.key] = change.version;
        } else if (change.operation == "DELETE" || change.operation == "DISABLE") {
          if (it != w.content.end()) w.content.erase(it);
          w.versions.erase(change.key);
        } else {
          need_reload = true;  // the server left the value out: learn it from a re-read
          continue;
        }
        changes.push_back(std::move(change));
      }
    }
    if (data->revision != 0 && static_cast<int64_t>(data->revision) != w.revision) {
      if (static_cast<int64_t>(data->revision) > w.revision) w.ack_due = true;
      w.revision = std::max(w.revision, static_cast<int64_t>(data->revision));
    }
    if (data->changed && release != w.release) {
      w.release = release;
      w.ack_due = true;
    }
    if (!changes.empty()) w.ack_due = true;
    if (need_reload) {
      w.loaded = false;
      w.ack_due = false;  // acked after the re-read, with what it finds
    }
  }
  std::optional<std::string> failure;
  if (!changes.empty()) {
    save_cache(w);
    failure = emit(w.ns, changes);
  }
  auto_ack(w, std::move(failure));  // with need_reload: keeps the failure for the re-read's ack
}

void Client::Impl::watch_loop() {
  std::vector<NsWatch*> active;
  while (!stopping_) {
    if (wake_fds_[0] >= 0) {
      char buf[64];
      while (::read(wake_fds_[0], buf, sizeof buf) > 0) {
      }
    }
    active.clear();
    {
      std::lock_guard lock(watch_mu_);
      for (auto it = namespaces_.begin(); it != namespaces_.end();) {
        bool wanted = std::any_of(listeners_.begin(), listeners_.end(),
                                  [&](const auto& l) { return l.second.ns == it->first; });
        if (!wanted) {
          it->second->conn.close();
          it = namespaces_.erase(it);
          continue;
        }
        active.push_back(it->second.get());
        ++it;
      }
    }
    // Start what is due: a (re-)read when the content is not current, then a poll.
    for (NsWatch* w : active) {
      if (stopping_) break;
      if (w->conn.is_open() || Clock::now() < w->next_try) continue;
      if (!w->loaded && !reload(*w)) continue;
      if (stopping_) break;
      start_poll(*w);
    }
    if (stopping_) break;
    std::vector<pollfd> fds;
    std::vector<NsWatch*> owners;
    fds.push_back({stop_fd_, POLLIN, 0});
    fds.push_back({wake_fds_[0], POLLIN, 0});
    auto wake_at = Clock::now() + milliseconds(1000);
    for (NsWatch* w : active) {
      if (w->conn.is_open()) {
        // Decrypted bytes already waiting: no need to sleep in poll().
        if (w->conn.buffered()) wake_at = Clock::now();
        fds.push_back({w->conn.fd(), w->wait_events, 0});
        owners.push_back(w);
        wake_at = std::min(wake_at, w->deadline);
      } else {
        wake_at = std::min(wake_at, w->next_try);
      }
    }
    auto wait = std::chrono::duration_cast<milliseconds>(wake_at - Clock::now()).count();
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(0, wait)));
    if (n < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) break;
    for (size_t i = 0; i < owners.size(); ++i) {
      NsWatch& w = *owners[i];
      if (fds[i + 2].revents != 0 || w.conn.buffered()) {
        char buf[16384];
        for (;;) {
          short wait = POLLIN;
          std::string why;
          long got = w.conn.read_some(buf, sizeof buf, &wait, &why);
          ResponseReader::State state;
          if (got > 0) {
            state = w.reader->feed(buf, static_cast<size_t>(got));
          } else if (got == 0) {
            state = w.reader->feed_eof();
          } else if (got == -1) {
            w.wait_events = wait;  // TLS may need to write before it can read
            break;
          } else {
            state = ResponseReader::State::kError;
          }
          if (state == ResponseReader::State::kDone) {
            HttpResponse response = w.reader->take();
            finish_poll(w, response);
            break;
          }
          if (state == ResponseReader::State::kError) {
            fail_poll(w);
            break;
          }
        }
      }
      if (w.conn.is_open() && Clock::now() >= w.deadline) fail_poll(w);
    }
  }
  std::lock_guard lock(watch_mu_);
  for (auto& [ns, w] : namespaces_) close_poll(*w);
}

}  // namespace cairn
