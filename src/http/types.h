#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/principal.h"

namespace cairn::http {

/// Tells a handler that holds a request (a long-poll watch, a stream) that nobody waits for the
/// answer any more: the client hung up, or the server closed the connection. Thread-safe.
class Cancellation {
 public:
  /// Runs `fn` once when cancelled: at once on the calling thread if already cancelled, else
  /// later on the thread that cancels (an io thread: keep it short, never block). A second call
  /// replaces the first callback.
  void on_cancel(std::function<void()> fn);
  /// Drops the callback (the handler answered and no longer cares).
  void clear();
  bool cancelled() const;
  /// Called by the server (and tests). Idempotent.
  void cancel();

 private:
  mutable std::mutex mu_;
  bool cancelled_ = false;
  std::function<void()> fn_;
};

/// The io thread of the connection a request came on. A handler that answers later from some
/// other thread (a watch woken by an apply, which wakes thousands at once) posts the answer's
/// work here, so that the waking thread only hands out work and every connection's answer is
/// built on the thread that writes it. Thread-safe.
class Loop {
 public:
  virtual ~Loop() = default;
  /// Runs `fn` on the loop's thread after what is queued there already; an answer given
  /// through the request's Reply from inside `fn` is written at once, without another hop.
  /// False, and `fn` dropped unrun, once the server has stopped.
  virtual bool post(std::function<void()> fn) = 0;
};

/// What the router needs of a route: its method and path template. The route table
/// (src/routes) declares every route of the API as a routes::Route, which extends this with the
/// permission, rate class and metrics label that the layers above read; the router keeps the
/// address it was given (Router::add) and hands it back on a match (Request::route). Declared
/// with static storage duration, so the address stays valid for every request.
struct Route {
  std::string_view method;         // upper case: "GET", "POST", …
  std::string_view path_template;  // "/api/v1/admin/namespace/{id}"
};

struct Request;
struct Response;

/// How a protocol front-end words an error answered for one of its routes before or instead of
/// its handler (Router::add, error_response): fills `res.body`, `res.content_type` and
/// headers, and may change `res.status` (set from the error's code). A plain function: no
/// state, any thread.
using ErrorRenderer = void (*)(const Request& req, const api::Error& error, Response& res);

/// A parsed HTTP request, independent of Beast so that handlers never include Beast headers.
/// Created by the server on an io thread; shared (RequestPtr) so handlers that answer later
/// (replication, watches) can keep it alive. Middleware may set the fields marked "set by".
struct Request {
  std::string method;  // upper case: "GET", "POST", …; "GET" for a HEAD (see `head`)
  /// The client sent HEAD: the server hands it on as a GET (so routes, limits, auth and
  /// forwarding treat it as one) and sends the GET's status and headers without the body.
  bool head = false;
  std::string target;  // raw request target, e.g. "/api/v1/config/get?namespace=a&key=b"
  std::string path;    // percent-decoded path without the query string
  std::vector<std::pair<std::string, std::string>> query;        // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;      // names lower-cased
  std::vector<std::pair<std::string, std::string>> path_params;  // set by the router
  /// Set by the router (Router::resolve, before the middlewares run, or else at dispatch): the
  /// route serving (method, path); null when none does (a 404 or a 405).
  const Route* route = nullptr;
  /// Set with `route`: a route whose template matches the path, for any method. `route` when
  /// that is set; a route of another method on a 405; null on a 404.
  const Route* path_route = nullptr;
  /// Set with `route` (or `path_route`): how errors for it are worded (error_response).
  ErrorRenderer error_renderer = nullptr;
  std::string body;
  std::string remote_address;  // "ip:port" of the peer
  std::string request_id;      // set by the request-id middleware
  std::string traceparent;     // set by the request-id middleware (W3C trace context)
  /// Set by the auth guard (docs/security.md): who calls, as the core checks it (its name is
  /// the operator of its writes). Unrestricted with an empty name while auth is off.
  api::Principal caller = api::Principal::unrestricted();
  int64_t received_monotonic_ms = 0;
  /// Fired when the client hangs up while the request waits for its Reply (or stream).
  std::shared_ptr<Cancellation> cancellation = std::make_shared<Cancellation>();
  /// Set by the server: the connection's io thread (empty once the connection is gone, and for
  /// requests made up in tests: then do the work where you are).
  std::weak_ptr<Loop> loop;

  /// The method as the client sent it: "HEAD" for a HEAD, else `method`.
  std::string_view wire_method() const { return head ? std::string_view("HEAD") : method; }
  /// First header with this lower-case name, or nullptr.
  const std::string* header(std::string_view lower_name) const;
  /// First query parameter with this name, or nullopt.
  std::optional<std::string_view> query_param(std::string_view name) const;
  /// Path parameter set by the router, or nullopt.
  std::optional<std::string_view> path_param(std::string_view name) const;
};
using RequestPtr = std::shared_ptr<Request>;

/// The body of a streamed response (Server-Sent Events): sent with chunked transfer encoding, a
/// chunk per write(), until close(). Thread-safe; every method may be called from any thread.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  /// Queues `data` as one chunk. False, and nothing queued, once the stream is closed: the client
  /// went away, the server is stopping, or the client stopped reading and the queue overflowed.
  virtual bool write(std::string data) = 0;
  /// Ends the body; the connection is then closed. Idempotent. Dropping the last reference to
  /// the writer closes it too.
  virtual void close() = 0;
  virtual bool closed() const = 0;
};
using StreamPtr = std::shared_ptr<StreamWriter>;

struct Response {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// When set, the response is a stream: status and headers go out at once, then `on_stream`
  /// receives the writer (on an io thread) and `body` is ignored.
  std::function<void(StreamPtr)> on_stream;
};

/// Sends the response for one request. Must be called exactly once, from any thread; later
/// calls are ignored. Copyable (shared state), so it can travel through callbacks.
using Reply = std::function<void(Response)>;

/// Handles one request and eventually calls the Reply.
using Handler = std::function<void(RequestPtr, Reply)>;

/// Wraps the rest of the chain: may inspect or change the request, answer without calling
/// `next`, or wrap the Reply to see the response.
using Middleware = std::function<void(RequestPtr, Reply, const Handler& next)>;

/// Composes middlewares around `last`; the first middleware runs first.
Handler chain(std::vector<Middleware> middlewares, Handler last);

/// The caller's address without the port ("10.0.0.1", "::1"), from remote_address.
std::string client_ip(const Request& req);

/// Splits a raw target into decoded path and query parameters ('+' is a space in the query).
/// False on malformed percent-encoding or a path not starting with '/'.
bool parse_target(std::string_view target, std::string& path,
                  std::vector<std::pair<std::string, std::string>>& query);

/// Percent-decodes `in`; `plus_is_space` for query components. False on a malformed escape.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space);

}  // namespace cairn::http
