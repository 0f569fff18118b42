#pragma once

// Private state of cairn::Client (include/cairn/client.h). client.cc holds the request path
// (envelopes, failover, leader hints, Retry-After, stale reads), watch.cc the watch thread.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api/envelope.h"
#include "api/wire.h"
#include "cairn/client.h"
#include "client/file_cache.h"
#include "client/http_transport.h"

namespace cairn {

/// `release` of an answer's data ("r-…"), empty when absent or null.
std::string release_of(const std::string& data_json);

/// See Client. Threads: `call` and the read/write helpers are safe from any thread; the fields
/// under "watch thread only" are touched by the watch thread alone.
class Client::Impl {
 public:
  explicit Impl(ClientOptions options);
  ~Impl();

  /// One API call: method, path, query (unencoded pairs) and optional JSON body.
  struct Call {
    std::string method = "GET";
    std::string path;
    std::vector<std::pair<std::string, std::string>> query;
    std::optional<Json> body;
    bool idempotent = true;  ///< may be re-sent after the request possibly reached a server
    /// Bytes sent as they are (application/octet-stream) instead of `body`: an import file.
    std::optional<std::string> raw_body = {};
    /// Set: a 200 answer is a file, not an envelope (an export); its bytes and headers go
    /// here. Errors are envelopes all the same.
    client_detail::HttpResponse* raw_out = nullptr;
    /// Told the answer's body bytes received so far and its length (0: unknown).
    client_detail::ProgressFn on_progress = {};
  };

  /// Sends `call` with failover; returns the raw text of the envelope's `data` ("null" when
  /// absent) or the error. `cancel_fd` (or -1) aborts waits when readable.
  ClientResult<std::string> call(const Call& call, int cancel_fd = -1);

  /// call, then `data` decoded as the wire type T (api/wire.h); an answer that does not decode
  /// is a kProtocol error.
  template <class T>
  ClientResult<T> call_as(const Call& c, int cancel_fd = -1) {
    auto r = call(c, cancel_fd);
    if (!r.ok()) return r.error();
    auto decoded = api::from_json<T>(*r);
    if (!decoded.ok()) return undecodable(decoded.error());
    return std::move(*decoded);
  }

  /// call, with `data` parsed as a document: the answers that have no wire type (cluster,
  /// tokens, audit).
  ClientResult<Json> call_json(const Call& c, int cancel_fd = -1);

  /// The kProtocol error of an answer whose `data` did not decode.
  static ClientError undecodable(const api::Error& e);

  /// get_namespace without the stale fallback (the watch thread re-reads with it).
  /// `GET /api/v1/config/namespace/{ns}` with `query` (e.g. `at`).
  ClientResult<NamespaceContent> fetch_namespace(
      const std::string& ns, int cancel_fd,
      std::vector<std::pair<std::string, std::string>> query = {});

  const ClientOptions options_;  // client_id resolved (never empty)
  std::string labels_header_;    // X-Client-Labels value, empty when no labels
  /// Adds Authorization, X-Operator, X-Client-ID and X-Client-Labels.
  void add_headers(std::vector<std::pair<std::string, std::string>>& headers) const;
  /// POST /config/ack; a 404/405 (a server without acks) sets acks_unsupported_.
  ClientResult<AckResult> send_ack(const std::string& ns, int64_t revision, AckStatus status,
                                   const std::string& error, int cancel_fd);
  std::atomic<bool> acks_unsupported_{false};
  std::vector<client_detail::Endpoint> endpoints_;  // immutable after construction
  std::shared_ptr<client_detail::TlsContext> tls_;  // for https endpoints; immutable
  bool tls_failed_ = false;  // TLS files unloadable or identity invalid: every call fails
  std::string endpoint_error_;                      // set when an endpoint did not parse
  std::atomic<size_t> preferred_{0};                // index of the endpoint that last answered
  client_detail::FileCache cache_;

  // ---- watch (watch.cc) ----
  struct NsWatch;
  WatchId add_watch(const std::string& ns, WatchFilter filter, CheckedWatchListener listener);
  void remove_watch(WatchId id);
  std::optional<NamespaceContent> watched_content(const std::string& ns) const;
  void stop_watch_thread();

 private:
  void watch_loop();
  /// Runs the listeners; the first failure's message (a failed ApplyResult or an exception),
  /// nullopt when every listener applied.
  std::optional<std::string> emit(const std::string& ns, const std::vector<ConfigChange>& changes);
  /// After the listeners ran for the content now held: acks its revision (auto_ack), once after
  /// each change of content; a send that failed is retried after the next poll.
  void auto_ack(NsWatch& w, std::optional<std::string> failure);
  bool reload(NsWatch& w);
  void start_poll(NsWatch& w);
  void finish_poll(NsWatch& w, const client_detail::HttpResponse& response);
  void fail_poll(NsWatch& w, std::chrono::milliseconds at_least = std::chrono::milliseconds(0));
  void close_poll(NsWatch& w);
  void save_cache(const NsWatch& w);

  struct Listener {
    std::string ns;
    WatchFilter filter;
    std::shared_ptr<CheckedWatchListener> fn;
  };

  int stop_fd_ = -1;            // eventfd, readable once stopping: cancels every wait
  int wake_fds_[2] = {-1, -1};  // pipe, written when a namespace is added
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::thread::id thread_id_;
  mutable std::mutex watch_mu_;  // guards listeners_, namespaces_ membership, NsWatch content
  std::map<WatchId, Listener> listeners_;
  std::map<std::string, std::unique_ptr<NsWatch>> namespaces_;
  WatchId next_id_ = 1;
  std::mutex dispatch_mu_;  // held while listeners run, so that unwatch can wait them out
};

/// State of one watched namespace. Content fields are guarded by watch_mu_ (read by
/// watched_content); the poll fields belong to the watch thread.
struct Client::Impl::NsWatch {
  std::string ns;
  // content (watch_mu_)
  bool loaded = false;       // content and revision are current enough to poll from
  bool ever_loaded = false;  // listeners have seen a baseline: re-reads report differences
  bool stale = false;        // baseline came from the file cache
  int64_t revision = 0;
  std::string release;  // the gray release of the content held, empty when stable
  std::string updated_at;
  std::map<std::string, Json> content;
  std::map<std::string, int64_t> versions;
  // poll (watch thread)
  client_detail::Conn conn;
  short wait_events = 1;  // POLLIN; what conn waits for next (TLS may need POLLOUT)
  std::unique_ptr<client_detail::ResponseReader> reader;
  client_detail::Clock::time_point deadline;
  client_detail::Clock::time_point next_try;
  std::chrono::milliseconds backoff{0};
  size_t endpoint_index = 0;
  std::optional<client_detail::Endpoint> redirect;  // leader hint to use for the next poll
  // acks (watch thread)
  std::optional<std::string> pending_failure;  // failure of the revision not yet acked
  bool ack_due = false;                        // content changed since the last ack sent
};

}  // namespace cairn
