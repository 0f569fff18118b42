#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "http/types.h"

namespace cairn::http {
class Client;
}

namespace cairn::server {

/// The leader as a node sees it: its raft id (0: none known), the term, its HTTP address ("" when
/// unknown). A plain value type.
struct LeaderTarget {
  uint64_t id = 0;
  uint64_t term = 0;
  std::string http;
  bool same(const LeaderTarget& o) const { return id == o.id && term == o.term; }
};

/// How a Forwarder paces itself (docs/cluster.md, "Failover tuning"). A plain value type.
struct ForwardTiming {
  int64_t timeout_ms = 7'000;          // one whole forward, re-sends and waiting included
  int64_t connect_timeout_ms = 500;    // the TCP connect to the leader alone
  int64_t leader_wait_ms = 1'000;      // how long to wait for a leader to be known
  int64_t retry_pause_ms = 50;         // before re-sending to the same leader
};

/// Sends a request on to another node and hands its answer back: the HTTP half of "writes sent
/// to a follower are forwarded to the leader transparently" (and the member fan-outs of the
/// cluster pages). http::Client's blocking exchanges on a few worker threads, so io threads
/// never wait.
///
/// To a fixed address (first constructor): one exchange, bounded by `timeout_ms`.
///
/// To the leader (second constructor, forward_to_leader()): `leader` is asked for the current leader before each attempt and every 20 ms
/// while one runs. An exchange under way when the leader or the term changes is abandoned at
/// once. A request known not to have reached the leader (the connect failed or timed out, the
/// exchange was abandoned before a byte was written, or the node answered 50302 "not the
/// leader", which applies nothing) is sent again to the leader known then, as is an abandoned
/// idempotent request (GET); a write that may have reached a leader that vanished is answered
/// with the error at once (`sent` true: it may still commit). While no leader is known the
/// request waits up to `leader_wait_ms`. Everything is bounded by `timeout_ms`.
///
/// Threads: forward() from any thread; `done` runs on a worker thread; `leader` from worker
/// threads. Lifetime: the destructor answers what is still queued (503) and joins the workers.
class Forwarder {
 public:
  using Leader = std::function<LeaderTarget()>;
  Forwarder(int threads, int64_t timeout_ms);
  Forwarder(int threads, ForwardTiming timing, Leader leader);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  /// Sends `req` (method, target, body, end-to-end headers) to `http_address` ("host:port")
  /// with `extra_headers` added. `done` gets the peer's response, or nullopt and an error text
  /// when it could not be reached or did not answer in time; `sent` then says whether the
  /// request may have reached it (a write may still take effect).
  using Done = std::function<void(std::optional<http::Response>, std::string error, bool sent)>;
  void forward(const http::Request& req, std::string http_address,
               std::vector<std::pair<std::string, std::string>> extra_headers, Done done);

  /// The same, to the leader (second constructor only): see the class comment. `done` also
  /// gets the last address tried ("" when no leader was known).
  using LeaderDone = std::function<void(std::optional<http::Response>, std::string error,
                                        bool sent, const std::string& forwarded_to)>;
  void forward_to_leader(const http::Request& req,
                         std::vector<std::pair<std::string, std::string>> extra_headers,
                         LeaderDone done);

  /// Requests sent again (to a new leader, or after a connect that failed) and exchanges
  /// abandoned on a leader change, since start (telemetry and tests).
  uint64_t resent() const { return resent_.load(); }
  uint64_t abandoned() const { return abandoned_.load(); }

  /// Speak HTTPS to the other nodes (docs/security.md): their certificate must be valid for
  /// the address forwarded to and signed by `ca_file` (the system's CAs when empty); `cert` and
  /// `key`, when set, are presented to nodes that ask for client certificates. Call before the
  /// first forward(); an error when a file cannot be loaded.
  Result<Ok, std::string> use_tls(const std::string& ca_file, const std::string& cert,
                                  const std::string& key);

 private:
  std::unique_ptr<http::Client> client_;  // use_tls() configures it before the first job
  struct Job {
    std::string address;  // "" for the leader
    std::string method, target, body;
    std::vector<std::pair<std::string, std::string>> headers;
    LeaderDone done;
  };
  void enqueue(const http::Request& req, std::string address,
               std::vector<std::pair<std::string, std::string>> extra_headers, LeaderDone done);
  void execute_fixed(Job& job);
  void run();
  void execute(Job& job);
  void finish(Job& job, http::Response res);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  const ForwardTiming timing_;
  const Leader leader_;
  std::atomic<uint64_t> resent_{0};
  std::atomic<uint64_t> abandoned_{0};
};

}  // namespace cairn::server
