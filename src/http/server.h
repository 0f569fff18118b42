#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "http/types.h"

namespace cairn::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";    // "host:port" or "[::1]:port"; port 0: a free one
  int threads = 0;                          // io threads (one event loop each); 0 = one per core
  size_t max_header_bytes = 16 * 1024;      // larger header block: 431 envelope (40001)
  size_t max_body_bytes = 4 * 1024 * 1024;  // larger body: 413 envelope (41301)
  // A request must arrive completely within this, counted from its first byte. Also bounds
  // writing a response to a client that does not read, and how long a silent new connection
  // may wait for its first byte (together with idle_timeout_ms, whichever is shorter).
  int64_t read_timeout_ms = 30'000;
  int64_t idle_timeout_ms = 75'000;  // no byte of a next request for this long: closed
  int64_t stop_grace_ms = 5'000;     // stop(): how long in-flight requests may still finish
  // HTTPS (docs/security.md): PEM certificate chain and key; both or neither. With
  // tls_client_ca, clients must present a certificate signed by that CA.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
};

/// Asynchronous HTTP/1.1 server on Boost.Beast: keep-alive, pipelining-safe (one request at a
/// time per connection), size limits and timeouts as in ServerOptions. Every request is handed
/// to `handler` on an io thread; the handler answers through its Reply, possibly later and from
/// another thread. Errors the server detects itself (malformed HTTP, limits, bad
/// percent-encoding in the target) are answered with the seed's envelope, an `X-Request-ID`
/// (the caller's when valid) and a `traceparent`; after a framing error the connection closes.
///
/// A handler that lets every copy of its Reply go without calling it, or throws, gets a 500
/// envelope (50001) sent for it. A handler that keeps the Reply and never calls it keeps the
/// connection waiting. Content-Length, Transfer-Encoding and Connection are the server's: such
/// entries in Response::headers are dropped, except that `Connection: close` closes after the
/// response. `Expect: 100-continue` is answered before the body is read.
///
/// Lifetime: construct, start(), then stop() (idempotent; also run by the destructor). start()
/// and stop() are called from one control thread, never from an io thread (a handler). A Reply
/// may outlive the Server: calling it then does nothing.
class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds, listens and starts the io threads. Error text when the address cannot be bound or
  /// the TLS files cannot be loaded.
  Result<Ok, std::string> start();

  /// The bound port (useful after listening on port 0).
  uint16_t port() const;

  /// Stops accepting, closes connections that wait for a request, lets in-flight requests
  /// finish for up to stop_grace_ms (their responses say `Connection: close`), closes every
  /// connection and joins the io threads. Replies that come later are dropped.
  void stop();

  /// Connections currently open (probe). A connection whose request waits for its Reply counts
  /// until the reply is written, even if the client has gone meanwhile.
  uint64_t open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::http
