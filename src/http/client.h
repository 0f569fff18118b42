#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "http/types.h"

namespace cairn::http {

/// A request for Client::send. `target` is the path and query, already encoded. `headers` are
/// sent as given; Host (the address dialed) and `Connection: close` are set by the client, and
/// Content-Length from `body`.
struct ClientRequest {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// What came of one exchange: the peer's answer, or why there is none.
struct ClientResult {
  /// Status, body, Content-Type in `content_type` (http::Response's default when the peer sent
  /// none) and every other header as received (name case and order kept).
  std::optional<Response> response;
  std::string error;  // set when `response` is empty: where it failed ("connect: …", "read: …")
  /// Whether the request may have reached the peer: false only when nothing was written, so
  /// that a caller knows a write was not applied and may be sent elsewhere.
  bool sent = false;
  /// The exchange was abandoned because the caller's `cancelled` said so (error says when).
  bool cancelled = false;
};

/// The server's one HTTP client: forwarding to the leader, the cluster health fan-out, the OTLP
/// trace export and `cairn dev`'s probes. HTTP/1.1, one request per connection (`Connection:
/// close`), blocking the calling thread; the connect, the TLS handshake, the write and the read
/// are together bounded by `timeout_ms` (asynchronous operations on a private io_context, so a
/// peer that stops answering cannot hold the caller past the deadline). HTTPS once use_tls()
/// succeeded. Only client.cc includes Beast and Asio.
///
/// The SDK (src/client) keeps its own transport: it must build and install without any server
/// library, and it needs what this client does not do (a cancel descriptor that ends a held
/// watch at once). Both share common/address.h and common/tls.h.
///
/// Threads: send() from any number of threads at once, each on its own connection; use_tls()
/// before the first send(). Lifetime: a plain object; nothing outlives a send() call.
class Client {
 public:
  /// `connect_timeout_ms` (0: no bound of its own) bounds the TCP connect alone: a request never
  /// sent is known to be safe to send elsewhere, so a caller gains by learning early that the
  /// peer cannot be reached (an isolated host drops the SYN and the kernel retries it for
  /// seconds).
  explicit Client(int64_t timeout_ms, int64_t connect_timeout_ms = 0);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Speak HTTPS: the peer's certificate must be valid for the host dialed and signed by
  /// `ca_file` (the system's CAs when empty); `cert` and `key`, when set, are presented to
  /// peers that ask for a client certificate. An error text when a file cannot be loaded.
  Result<Ok, std::string> use_tls(const std::string& ca_file, const std::string& cert,
                                  const std::string& key);
  bool uses_tls() const { return tls_ != nullptr; }

  /// Sends `request` to `address` ("host:port", "[v6]:port") and waits for the whole answer.
  /// `cancelled`, when set, is asked about every 20 ms while the exchange runs; once it returns
  /// true the exchange is abandoned (`cancelled` and `sent` say how far it got).
  ClientResult send(const std::string& address, ClientRequest request,
                    const std::function<bool()>& cancelled = {}) const;

  int64_t timeout_ms() const { return timeout_ms_; }

 private:
  struct Tls;
  std::shared_ptr<Tls> tls_;  // set once by use_tls(); SSL_CTX is shared by every connection
  const int64_t timeout_ms_;
  const int64_t connect_timeout_ms_;
};

}  // namespace cairn::http
