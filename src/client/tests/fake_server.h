#pragma once

// A tiny HTTP/1.1 server for the SDK's unit tests: a thread accepts on 127.0.0.1:<free port>,
// each connection gets a thread that reads one request, asks the test's handler for the answer
// and closes. FakeCairn models the few endpoints the watch loop needs (namespace read, get,
// watch with holds, change log and reset).

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cairn/client.h"

namespace cairn::testing {

struct FakeRequest {
  std::string method;
  std::string target;
  std::string path;
  std::map<std::string, std::string> query;    // decoded
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct FakeResponse {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool hang_up = false;  // close the connection without answering
};

std::string ok_envelope(const Json& data);
std::string error_envelope(int code, const std::string& details, const Json& extra_error = {});
FakeResponse ok(const Json& data);
FakeResponse error(int status, int code, const std::string& details = {},
                   const Json& extra_error = {});

/// Lifetime: listens from construction to stop()/destruction; stop joins every thread.
/// Threads: handler runs on connection threads, possibly concurrently.
class FakeServer {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;
  explicit FakeServer(Handler handler);
  ~FakeServer();
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int request_count() const { return requests_.load(); }
  std::vector<FakeRequest> requests() const;
  void stop();
  bool stopping() const { return stopping_.load(); }

 private:
  void accept_loop();
  void serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::vector<std::thread> conns_;
  std::vector<int> conn_fds_;
  std::vector<FakeRequest> log_;
};

/// A port on 127.0.0.1 on which nothing listens (connection refused).
int dead_port();

/// One namespace served like Cairn does: content, revision, change log, watch holds.
/// Threads: all methods are safe from any thread.
class FakeCairn {
 public:
  explicit FakeCairn(std::string ns);
  ~FakeCairn();
  /// Releases held watches and stops listening (the node goes down).
  void shutdown();

  FakeServer& server() { return *server_; }
  std::string url() const { return server_->url(); }
  /// Applies a write (value nullopt: delete) and wakes held watches.
  void put(const std::string& key, std::optional<Json> value);
  /// Replaces content silently (no change log) and makes the next watch answer `reset`.
  void reset_to(std::map<std::string, Json> content);
  /// The next `n` watch requests fail with HTTP 500.
  void fail_watches(int n) { fail_watches_ = n; }
  /// Answers POST /api/v1/config/ack (off: 404/40401 like a server before issue 18).
  void enable_acks(bool on) { acks_enabled_ = on; }
  /// The ack bodies received (with acks enabled), each plus "x_client_id" from its header.
  std::vector<Json> acks() const;
  /// Requests to /config/ack seen, enabled or not.
  int ack_requests() const { return ack_requests_.load(); }
  /// Gray release id put next to `revision` in namespace and watch answers ("" = none).
  void set_release(std::string id);
  std::vector<int64_t> watch_revisions() const;
  int watch_requests() const;
  /// Answers one request (public so that a test can route several FakeCairns behind one port).
  FakeResponse handle(const FakeRequest& r);

 private:
  std::string ns_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Json> content_;
  std::map<std::string, int64_t> versions_;
  int64_t revision_ = 0;
  struct Change {
    std::string key;
    std::string operation;
    int64_t version;
    int64_t revision;
    std::optional<Json> value;
  };
  std::vector<Change> log_;
  bool reset_next_ = false;
  std::atomic<int> fail_watches_{0};
  std::atomic<bool> acks_enabled_{false};
  std::atomic<int> ack_requests_{0};
  std::vector<Json> acks_;
  std::string release_;
  std::vector<int64_t> watch_revisions_;
  bool closing_ = false;
  std::unique_ptr<FakeServer> server_;
};

}  // namespace cairn::testing
