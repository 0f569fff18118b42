#pragma once

// Minimal blocking HTTP/1.1 client over POSIX sockets with poll() deadlines. Every wait also
// watches a cancel descriptor so that a stopping Client never waits out a held request.
// Private to the SDK (not installed).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct ssl_st;
struct ssl_ctx_st;

namespace cairn::client_detail {

using Clock = std::chrono::steady_clock;

/// A parsed endpoint URL. Plain value type.
struct Endpoint {
  std::string host;
  std::string port;
  std::string url;  ///< normalised "http://host:port" or "https://host:port"
  bool tls = false;
};

/// "http://host:port", "https://host:port", "host:port" or "host" (port 80, 443 for https);
/// nullopt when malformed or of another scheme.
std::optional<Endpoint> parse_endpoint(const std::string& text);

/// Client-side TLS settings (OpenSSL) shared by every connection of one Client: the CAs that
/// may sign a server's certificate and, optionally, a client certificate. Thread-safe.
class TlsContext {
 public:
  /// `ca_file` empty: the system's CAs. `cert`/`key` empty: no client certificate. Null and
  /// `error` set when a file cannot be loaded.
  static std::shared_ptr<TlsContext> create(const std::string& ca_file, const std::string& cert,
                                            const std::string& key, std::string* error);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  ssl_ctx_st* get() const { return ctx_; }

 private:
  explicit TlsContext(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* ctx_;
};

/// One connection: the non-blocking socket and, for an https endpoint, its TLS session.
/// Move-only; closed on destruction. Single-threaded.
class Conn {
 public:
  Conn() = default;
  ~Conn() { close(); }
  Conn(Conn&& other) noexcept;
  Conn& operator=(Conn&& other) noexcept;

  int fd() const { return fd_; }
  bool is_open() const { return fd_ >= 0; }
  /// Decrypted bytes are waiting: read_some() returns them although the socket is not readable.
  bool buffered() const;
  /// > 0: bytes read; 0: end of stream; -1: nothing yet, wait for `*wait` (POLLIN/POLLOUT) on
  /// fd(); -2: failed (`*error` says why).
  long read_some(char* buf, size_t size, short* wait, std::string* error);
  /// > 0: bytes written; -1: wait for `*wait`; -2: failed.
  long write_some(const char* buf, size_t size, short* wait, std::string* error);
  void close();

 private:
  friend struct ConnOpener;
  int fd_ = -1;
  ssl_st* ssl_ = nullptr;
};

struct HttpRequest {
  std::string method;
  std::string target;  ///< path and query, already encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

enum class TransportFailure {
  kConnect,     ///< nothing was sent: safe to retry anything elsewhere
  kSend,        ///< the request may have been partly sent
  kReceive,     ///< sent; no complete answer in time (the request may have been applied)
  kCancelled,   ///< the cancel descriptor became readable
  kBadResponse  ///< the bytes received were not an HTTP response
};

struct TransportError {
  TransportFailure kind = TransportFailure::kConnect;
  std::string what;
};

/// Opens a TCP connection within `timeout`. Returns the connected non-blocking socket or -1 and
/// fills `error`.
int connect_socket(const Endpoint& endpoint, std::chrono::milliseconds timeout, int cancel_fd,
                   TransportError* error);

/// Serialises `request` (HTTP/1.1, Host, Content-Length, Connection: close).
std::string serialize_request(const Endpoint& endpoint, const HttpRequest& request);

/// Connects (and, for https, completes the TLS handshake, checking the server's certificate
/// against `tls` and the endpoint's host) within `timeout`. False with `error` set otherwise;
/// an https endpoint without `tls` fails.
bool open_connection(const Endpoint& endpoint, const TlsContext* tls,
                     std::chrono::milliseconds timeout, int cancel_fd, Conn* conn,
                     TransportError* error);

/// Writes all of `data` before `deadline`.
bool send_all(Conn& conn, const std::string& data, Clock::time_point deadline, int cancel_fd,
              TransportError* error);

/// Incremental response parser (Beast's, behind a pimpl so that only one translation unit pays
/// for Beast). One per response; single-threaded.
class ResponseReader {
 public:
  enum class State { kNeedMore, kDone, kError };
  ResponseReader();
  ~ResponseReader();
  ResponseReader(const ResponseReader&) = delete;
  ResponseReader& operator=(const ResponseReader&) = delete;

  /// Feeds received bytes.
  State feed(const char* data, size_t size);
  /// The peer closed the connection.
  State feed_eof();
  /// Valid after kDone.
  HttpResponse take();
  /// While receiving: the body bytes so far, and the length the header announced (0 when
  /// none, or before the header is complete).
  uint64_t body_received() const;
  uint64_t content_length() const;
  const std::string& error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Told, as a response arrives, its body bytes so far and its announced length (0: unknown).
using ProgressFn = std::function<void(uint64_t received, uint64_t total)>;

/// Reads from `conn` until `reader` is done, `deadline` passes or `cancel_fd` is readable.
/// `progress` (optional) is called after each read once the header is complete.
bool receive_response(Conn& conn, ResponseReader& reader, Clock::time_point deadline,
                      int cancel_fd, TransportError* error, const ProgressFn* progress = nullptr);

/// One request on a fresh connection, closed before returning.
bool http_exchange(const Endpoint& endpoint, const TlsContext* tls, const HttpRequest& request,
                   std::chrono::milliseconds connect_timeout,
                   std::chrono::milliseconds request_timeout, int cancel_fd, HttpResponse* response,
                   TransportError* error, const ProgressFn* progress = nullptr);

/// Percent-encodes a query component.
std::string url_encode(const std::string& text);

}  // namespace cairn::client_detail
