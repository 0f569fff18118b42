#pragma once

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

/// Sends a request on to another node (the leader) and hands its answer back: the HTTP half of
/// "writes sent to a follower are forwarded to the leader transparently". http::Client's
/// blocking exchanges on a few worker threads, so io threads never wait; every exchange is
/// bounded by `timeout_ms`.
///
/// Threads: forward() from any thread; `done` runs on a worker thread. Lifetime: the destructor
/// answers what is still queued (503) and joins the workers.
class Forwarder {
 public:
  Forwarder(int threads, int64_t timeout_ms);
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

  /// Speak HTTPS to the other nodes (docs/security.md): their certificate must be valid for
  /// the address forwarded to and signed by `ca_file` (the system's CAs when empty); `cert` and
  /// `key`, when set, are presented to nodes that ask for client certificates. Call before the
  /// first forward(); an error when a file cannot be loaded.
  Result<Ok, std::string> use_tls(const std::string& ca_file, const std::string& cert,
                                  const std::string& key);

 private:
  std::unique_ptr<http::Client> client_;  // use_tls() configures it before the first job
  struct Job {
    std::string address;
    std::string method, target, body;
    std::vector<std::pair<std::string, std::string>> headers;
    Done done;
  };
  void run();
  void execute(Job& job);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace cairn::server
