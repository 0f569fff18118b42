#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "http/types.h"

namespace cairn::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // "host:port"; port 0 picks a free one
  int threads = 0;                        // io threads; 0 = one per core
  size_t max_header_bytes = 16 * 1024;    // larger header block: 431 envelope (40001)
  size_t max_body_bytes = 4 * 1024 * 1024;  // larger body: 413 envelope (41301)
  int64_t read_timeout_ms = 30'000;   // a request must arrive completely within this
  int64_t idle_timeout_ms = 75'000;   // keep-alive connection closed after this idle time
  int64_t stop_grace_ms = 5'000;      // stop(): how long in-flight requests may still finish
};

/// Asynchronous HTTP/1.1 server on Boost.Beast: keep-alive, pipelining-safe (one request at a
/// time per connection), size limits and timeouts as in ServerOptions. Every request is handed
/// to `handler` on an io thread; the handler answers through its Reply, possibly later and from
/// another thread. Errors the server detects itself (malformed HTTP, limits) are answered with
/// the seed's envelope.
///
/// Lifetime: construct, start(), then stop() (idempotent; also run by the destructor). start()
/// and stop() are called from one control thread.
class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds, listens and starts the io threads. Error text when the address cannot be bound.
  Result<Ok, std::string> start();

  /// The bound port (useful after listening on port 0).
  uint16_t port() const;

  /// Stops accepting, lets in-flight requests finish for up to stop_grace_ms, closes every
  /// connection and joins the io threads.
  void stop();

  /// Connections currently open (probe).
  uint64_t open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::http
