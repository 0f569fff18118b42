#pragma once

// Minimal blocking HTTP/1.1 client over POSIX sockets with poll() deadlines. Every wait also
// watches a cancel descriptor so that a stopping Client never waits out a held request.
// Private to the SDK (not installed).

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cairn::client_detail {

using Clock = std::chrono::steady_clock;

/// A parsed endpoint URL. Plain value type.
struct Endpoint {
  std::string host;
  std::string port;
  std::string url;  ///< normalised "http://host:port"
};

/// "http://host:port", "host:port" or "host" (port 80); nullopt when malformed or not http.
std::optional<Endpoint> parse_endpoint(const std::string& text);

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

/// Writes all of `data` before `deadline`.
bool send_all(int fd, const std::string& data, Clock::time_point deadline, int cancel_fd,
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
  const std::string& error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Reads from `fd` until `reader` is done, `deadline` passes or `cancel_fd` is readable.
bool receive_response(int fd, ResponseReader& reader, Clock::time_point deadline, int cancel_fd,
                      TransportError* error);

/// One request on a fresh connection, closed before returning.
bool http_exchange(const Endpoint& endpoint, const HttpRequest& request,
                   std::chrono::milliseconds connect_timeout,
                   std::chrono::milliseconds request_timeout, int cancel_fd, HttpResponse* response,
                   TransportError* error);

/// Percent-encodes a query component.
std::string url_encode(const std::string& text);

}  // namespace cairn::client_detail
