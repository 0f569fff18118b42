// The only translation unit that includes Beast and Asio (they dominate build times).
#include "http/server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/envelope.h"
#include "api/errors.h"
#include "common/address.h"
#include "common/ids.h"
#include "common/time.h"
#include "common/tls.h"
#include "http/middleware.h"
#include "http/wire.h"

namespace cairn::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
// Concrete executor types throughout: a type-erased any_io_executor costs a copy and an
// indirect call at every completion of the read path. Each io thread runs its own io_context,
// and a connection belongs to one of them, so its handlers never run concurrently without a
// strand (see Core::contexts).
using Executor = net::io_context::executor_type;
using Socket = net::basic_stream_socket<tcp, Executor>;
using Timer = net::basic_waitable_timer<std::chrono::steady_clock,
                                        net::wait_traits<std::chrono::steady_clock>, Executor>;
using PlainStream = Socket;
using TlsStream = beast::ssl_stream<Socket>;

// How long a connection closed after an error keeps draining what the client still sends, so
// that the kernel does not answer unread data with a reset that destroys our error response.
constexpr int64_t kLingerMs = 1000;
constexpr size_t kFirstReadBytes = 4096;
constexpr size_t kNextReadBytes = 512;  // plain HTTP, the next request on a kept-alive connection
// A stream whose client reads slower than we write is closed once this much waits unsent.
constexpr size_t kMaxStreamQueueBytes = 1 << 20;

std::chrono::milliseconds ms(int64_t v) {
  return std::chrono::milliseconds(std::max<int64_t>(v, 1));
}

std::string to_std(beast::string_view s) { return std::string(s.data(), s.size()); }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string endpoint_text(const tcp::endpoint& ep) {
  const auto address = ep.address();
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

/// The request parser of a connection: allocated with its first request and rebuilt in place
/// for each next one (a Beast parser cannot be reset), released while a request is held so that
/// a parked connection does not carry it. Loop only.
class ParserSlot {
 public:
  using Parser = bhttp::request_parser<bhttp::string_body>;
  Parser& emplace() {
    if (!box_) box_ = std::make_unique<std::optional<Parser>>();
    return box_->emplace();
  }
  void reset() {
    if (box_) box_->reset();
  }
  void release() { box_.reset(); }
  explicit operator bool() const { return box_ && box_->has_value(); }
  Parser* operator->() { return &**box_; }
  const Parser* operator->() const { return &**box_; }

 private:
  std::unique_ptr<std::optional<Parser>> box_;
};

/// What the server needs of a session of either kind (plain or TLS).
class SessionBase : public Loop {
 public:
  virtual ~SessionBase() = default;
  virtual void on_server_stopping() = 0;
  virtual void close() = 0;
  virtual Executor executor() = 0;
};

/// What the Server, its sessions and outstanding Replies share. Held through shared_ptr so that
/// the io_context outlives every session: a handler may keep a Reply (and so its session) after
/// the server stopped. Fields under `mu` are touched from io threads, handler threads and the
/// control thread.
struct Core {
  Core(ServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {
    int n = options.threads;
    if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 0; i < n; ++i) contexts.push_back(std::make_unique<net::io_context>(1));
  }

  /// The io_context of the next connection, round robin.
  net::io_context& next_context() {
    return *contexts[next_context_index.fetch_add(1, std::memory_order_relaxed) % contexts.size()];
  }

  const ServerOptions options;
  const Handler handler;
  // One event loop per io thread (nginx's model): a connection's reads, writes and handlers all
  // run on its loop's thread, so completions need no strand, and a thread that finds work never
  // has to wake the other (with one shared io_context, every post to an idle thread cost an
  // epoll_ctl on the interrupter and a context switch). contexts[0] also accepts.
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::atomic<size_t> next_context_index{0};
  std::unique_ptr<ssl::context> tls;  // set by start() when the API is served over HTTPS

  std::mutex mu;
  std::condition_variable cv;         // signalled when active_requests drops
  std::atomic<bool> stopping{false};  // set under mu: no new requests, close after responses
  bool stopped = false;               // under mu: replies are dropped (no post after the drain)
  uint64_t active_requests = 0;       // under mu: read completely and not yet answered
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;  // under mu
  std::atomic<uint64_t> open_connections{0};
};

/// One accepted connection: reads one request at a time, hands it to the handler and writes the
/// answer, then reads the next (keep-alive) or closes. Runs on the thread of its io_context
/// (its "loop"); deliver() and deliver_dropped() are the only entries from other threads (they
/// post onto the loop).
/// Kept alive by its pending operations and by the Reply of the request being handled.
/// `Stream` is PlainStream or TlsStream (HTTPS: the TLS handshake comes first).
template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  using Clock = std::chrono::steady_clock;

  static Stream make_stream(Core& core, Socket socket) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *core.tls);
    } else {
      return socket;
    }
  }
  Socket& socket() { return beast::get_lowest_layer(stream_); }

 public:
  Session(std::shared_ptr<Core> core, Socket socket)
      : core_(std::move(core)),
        executor_(socket.get_executor()),
        stream_(make_stream(*core_, std::move(socket))),
        timer_(executor_) {
    core_->open_connections.fetch_add(1);
    beast::error_code ec;
    auto ep = this->socket().remote_endpoint(ec);
    if (!ec) remote_ = endpoint_text(ep);
  }

  ~Session() {
    close();
    std::lock_guard lock(core_->mu);
    core_->sessions.erase(this);
  }

  /// Registers with the server and starts reading; called once, right after accept.
  void start() {
    {
      std::lock_guard lock(core_->mu);
      if (!core_->stopping.load()) core_->sessions.emplace(this, this->weak_from_this());
    }
    net::dispatch(executor_, [self = this->shared_from_this()] {
      if (self->core_->stopping.load()) {
        self->close();
      } else if constexpr (kTls) {
        self->handshake();
      } else {
        self->read_next();
      }
    });
  }

  /// Hands the handler's response to the loop. Any thread.
  void deliver(Response res) {
    // Answered at once, inside the handler call on our loop (the common case of a read):
    // written from here, without a round trip through the loop's queue. The write only
    // starts; its completion runs after the handler has returned.
    // The same from work posted through the request's Loop (a held request's answer).
    if (executor_.running_in_this_thread() && (in_handler_ || in_posted_)) {  // in this order
      return write_handler_response(std::move(res));
    }
    std::lock_guard lock(core_->mu);
    if (core_->stopped) return;  // the io threads are gone or about to be: drop it
    net::post(executor_, [self = this->shared_from_this(), res = std::move(res)]() mutable {
      self->write_handler_response(std::move(res));
    });
  }

  /// Loop: runs `fn` on this connection's loop. Any thread.
  bool post(std::function<void()> fn) override {
    std::lock_guard lock(core_->mu);
    if (core_->stopped) return false;  // the io threads are gone or about to be
    net::post(executor_, [self = this->shared_from_this(), fn = std::move(fn)] {
      self->in_posted_ = true;
      try {
        fn();
      } catch (const std::exception& e) {  // as for a handler: never take the io thread down
        spdlog::error("http: work posted for a request threw: {}", e.what());
      }
      self->in_posted_ = false;
    });
    return true;
  }

  /// The handler dropped every copy of its Reply without answering.
  /// Any thread; the response is built on the loop, which owns current_.
  void deliver_dropped() {
    std::lock_guard lock(core_->mu);
    if (core_->stopped) return;
    net::post(executor_, [self = this->shared_from_this()] {
      if (self->state_ != State::kHandling) return;
      self->write_handler_response(self->error_response(
          500, api::make_error(api::Errc::kInternal, "the request was dropped without an answer")));
    });
  }

  /// stop() began: a connection waiting for (or reading) a request is closed now; one with a
  /// request in flight closes after its response.
  void on_server_stopping() override {
    if (state_ == State::kReading) close();
    if (state_ == State::kStreaming) {  // a stream never ends by itself: end it now
      stream_closed_.store(true);
      stream_end_requested_ = true;
      stream_flush();
    }
  }

  void close() override {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    stream_closed_.store(true);
    beast::error_code ignored;
    socket().close(ignored);
    disarm();
    timer_.cancel();  // its pending wait holds this session: let it go now
    core_->open_connections.fetch_sub(1);
    // Whoever holds this request (a watch, a stream) learns that nobody waits for it any more.
    if (current_) current_->cancellation->cancel();
    finish_request();
  }

  /// Streams (StreamWriter), any thread: queue a chunk / end the body.
  bool stream_write(std::string data) {
    if (stream_closed_.load() || data.empty()) return !stream_closed_.load();
    if (stream_queued_.fetch_add(data.size()) + data.size() > kMaxStreamQueueBytes) {
      spdlog::warn("http stream to {} closed: the client does not read", remote_);
      net::post(executor_, [self = this->shared_from_this()] { self->close(); });
      stream_closed_.store(true);
      return false;
    }
    net::post(executor_, [self = this->shared_from_this(), data = std::move(data)]() mutable {
      self->stream_push(std::move(data));
    });
    return true;
  }
  void stream_close() {
    if (stream_closed_.exchange(true)) return;
    net::post(executor_, [self = this->shared_from_this()] {
      self->stream_end_requested_ = true;
      self->stream_flush();
    });
  }
  bool stream_is_closed() const { return stream_closed_.load(); }

  Executor executor() override { return executor_; }

 private:
  enum class State { kReading, kHandling, kWriting, kStreaming, kLingering, kClosed };

  // --- Deadlines ----------------------------------------------------------------------------
  // One timer per connection, armed lazily: arm() only moves deadline_, and the pending wait,
  // when it fires, either closes the connection (the deadline passed) or waits again for the
  // later deadline. Setting a deadline per operation (as beast::tcp_stream does) would start
  // and cancel a timer wait, two more completions, for every read and write.

  void arm(std::chrono::milliseconds d) {
    deadline_ = Clock::now() + d;
    if (!timer_waiting_) start_timer();
  }
  void disarm() { deadline_ = Clock::time_point::max(); }

  void start_timer() {
    timer_waiting_ = true;
    timer_.expires_at(deadline_);
    timer_.async_wait([self = this->shared_from_this()](beast::error_code) {
      self->timer_waiting_ = false;
      if (self->state_ == State::kClosed || self->deadline_ == Clock::time_point::max()) return;
      if (Clock::now() >= self->deadline_) return self->close();  // pending operations fail
      self->start_timer();
    });
  }

  /// HTTPS: the TLS handshake, bounded like a silent new connection, before the first request.
  void handshake() {
    arm(ms(std::min(core_->options.idle_timeout_ms, core_->options.read_timeout_ms)));
    stream_.async_handshake(ssl::stream_base::server,
                            [self = this->shared_from_this()](beast::error_code ec) {
                              if (ec) {
                                spdlog::debug("https: handshake with {} failed: {}",
                                              self->remote_, ec.message());
                                return self->close();
                              }
                              self->read_next();
                            });
  }

  // --- Reading a request --------------------------------------------------------------------
  // The parser is fed synchronously from buffer_ and a read is issued only when it needs more
  // bytes: a request that arrived whole costs one read completion.

  void read_next() {
    if (state_ == State::kClosed) return;
    if (core_->stopping.load()) {
      close();
      return;
    }
    state_ = State::kReading;
    parser_.emplace();
    parser_->header_limit(
        static_cast<uint32_t>(std::min<size_t>(core_->options.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(static_cast<uint64_t>(core_->options.max_body_bytes));
    expect_checked_ = false;
    if (buffer_.size() > 0) {  // a pipelined request is already here
      start_request();
      return;
    }
    // Idle until the first byte of the next request; only then does the read timeout start.
    // A fresh connection that stays silent counts against the read timeout as well.
    const bool fresh = fresh_;
    int64_t wait_ms = core_->options.idle_timeout_ms;
    if (fresh) wait_ms = std::min(wait_ms, core_->options.read_timeout_ms);
    fresh_ = false;
    arm(ms(wait_ms));
    if constexpr (!kTls) {
      if (fresh) return wait_first_bytes();
    }
    // TLS; or plain HTTP kept alive, where a read (tried at once, EAGAIN mostly) is cheaper
    // than waiting, which re-arms the socket in epoll with an epoll_ctl every time. A modest
    // buffer: the next request of a released long poll is allocated this while it comes.
    const size_t size = kTls ? kFirstReadBytes : kNextReadBytes;
    stream_.async_read_some(buffer_.prepare(size),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) {
                                self->close();  // idle timeout, peer closed, or stop()
                                return;
                              }
                              self->buffer_.commit(n);
                              self->start_request();
                            });
  }

  /// Plain HTTP, a new connection: waits until the socket is readable, then reads into the
  /// stack and keeps only what arrived. A freshly accepted connection then holds no read
  /// buffer: a burst of ten thousand new connections (watchers) no longer allocates 4 KiB for
  /// each before any of them sends, which set the process's memory high-water mark.
  void wait_first_bytes() {
    socket().async_wait(tcp::socket::wait_read,
                        [self = this->shared_from_this()](beast::error_code ec) {
                          self->on_first_bytes(ec);
                        });
  }

  void on_first_bytes(beast::error_code ec) {
    if (state_ != State::kReading) return;
    if (ec) return close();  // idle timeout, stop()
    char chunk[kFirstReadBytes];
    const ssize_t n = ::recv(socket().native_handle(), chunk, sizeof chunk, MSG_DONTWAIT);
    if (n > 0) {
      const auto size = static_cast<size_t>(n);
      std::memcpy(buffer_.prepare(size).data(), chunk, size);
      buffer_.commit(size);
      return start_request();
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      return wait_first_bytes();  // readiness that was already gone
    }
    close();  // the peer closed or reset
  }

  /// Beast looks for the end of the header block before parsing anything, so bytes that cannot
  /// start a request (TLS, binary) would otherwise wait for the read timeout.
  static bool can_start_request(char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) ||
           std::string_view("!#$%&'*+-.^_`|~\r\n").find(c) != std::string_view::npos;
  }

  void start_request() {
    const auto first = static_cast<const char*>(buffer_.data().data());
    if (buffer_.size() > 0 && !can_start_request(first[0])) {
      send_error(400, api::make_error(api::Errc::kBadRequest, "malformed HTTP request"));
      return;
    }
    arm(ms(core_->options.read_timeout_ms));  // the whole request from here
    parse();
  }

  /// Feeds what buffer_ holds to the parser: the header block first (non-eager, so that
  /// `Expect: 100-continue` is answered before the body is read), then the body.
  void parse() {
    while (true) {
      if (parser_->is_header_done() && !expect_checked_) {
        expect_checked_ = true;
        parser_->eager(true);
        if (expects_continue()) return send_continue();
      }
      if (parser_->is_done()) return on_request();
      if (buffer_.size() == 0) return read_more();
      const bool had_header = parser_->is_header_done();
      beast::error_code ec;
      const size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) return read_more();
      if (ec) return on_read_error(ec);
      if (used == 0 && had_header == parser_->is_header_done() && !parser_->is_done()) {
        return read_more();  // no progress (never expected): wait for bytes, do not spin
      }
    }
  }

  void read_more() {
    // As Beast's own reads: at least 512 bytes, what the buffer has room for, at most 64 KiB.
    const size_t room = buffer_.capacity() - buffer_.size();
    const size_t want = std::min<size_t>(std::max<size_t>(512, room), 65536);
    stream_.async_read_some(buffer_.prepare(want),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              if (self->state_ != State::kReading) return;
                              // End of stream mid-request, timeout, reset, stop(): nobody to
                              // answer.
                              if (ec) return self->close();
                              self->buffer_.commit(n);
                              self->parse();
                            });
  }

  bool expects_continue() {
    const auto& msg = parser_->get();
    auto expect = msg.find(bhttp::field::expect);
    return msg.version() >= 11 && expect != msg.end() &&
           iequals(to_std(expect->value()), "100-continue");
  }

  void send_continue() {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->close();
                       self->parse();
                     });
  }

  void on_read_error(beast::error_code ec) {
    if (state_ == State::kClosed) return;
    if (ec == bhttp::error::body_limit) {
      send_error(413,
                 api::make_error(api::Errc::kPayloadTooLarge,
                                 "request body exceeds " +
                                     std::to_string(core_->options.max_body_bytes) + " bytes"));
    } else if (ec == bhttp::error::header_limit) {
      send_error(431,
                 api::make_error(api::Errc::kBadRequest,
                                 "request header block exceeds " +
                                     std::to_string(core_->options.max_header_bytes) + " bytes"));
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
               ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      send_error(
          400, api::make_error(api::Errc::kBadRequest, "malformed HTTP request: " + ec.message()));
    } else {
      close();  // timeout, peer gone, stop(): nobody to answer
    }
  }

  void on_request() {
    auto& msg = parser_->get();
    auto req = std::make_shared<Request>();
    req->method = to_std(msg.method_string());
    // Methods are case-sensitive (RFC 9110 §9.1): "get" is not GET. Serving it as GET would
    // let a request past a proxy rule written for GET (`limit_except`, a WAF) that treats it
    // as an unknown method; it is answered 400 instead.
    const bool upper_case = req->method == upper(req->method);
    // HEAD is served as a GET whose body is left out (write(), start_stream()).
    answering_head_ = req->method == "HEAD";
    if (answering_head_) {
      req->method = "GET";
      req->head = true;
    }
    req->target = to_std(msg.target());
    req->headers.reserve(static_cast<size_t>(std::distance(msg.begin(), msg.end())));
    for (const auto& field : msg) {
      req->headers.emplace_back(lower(to_std(field.name_string())), to_std(field.value()));
    }
    req->body = std::move(msg.body());
    req->remote_address = remote_;
    req->loop = this->weak_from_this();
    req->received_monotonic_ms = monotonic_ms();
    version_ = msg.version();
    keep_alive_ = msg.keep_alive();
    parser_.reset();

    state_ = State::kHandling;
    disarm();  // the handler may take as long as it likes (a later issue)
    in_flight_ = true;
    {
      std::lock_guard lock(core_->mu);
      ++core_->active_requests;
    }

    if (!upper_case) {
      current_ = req;
      write_handler_response(error_response(
          400, api::make_error(api::Errc::kBadRequest,
                               "unknown method \"" + req->method.substr(0, 32) +
                                   "\": methods are case-sensitive")));
      return;
    }
    if (!parse_target(req->target, req->path, req->query)) {
      current_ = req;
      write_handler_response(error_response(
          400, api::make_error(api::Errc::kBadRequest,
                               "malformed request target (percent-encoding or path)")));
      return;
    }
    current_ = req;
    Reply reply = make_reply();
    in_handler_ = true;
    try {
      core_->handler(std::move(req), std::move(reply));
    } catch (const std::exception& e) {
      // Handlers report expected failures as responses; a throw is a bug, but it must not take
      // the io thread down. The Reply dropped by the unwinding answers 500 (if still unused).
      spdlog::error("http handler threw: {}", e.what());
    } catch (...) {
      spdlog::error("http handler threw a non-standard exception");
    }
    in_handler_ = false;
    // Still unanswered: the request is held (a watch, a write in replication), so watch for a
    // hang-up. An answer from another thread meanwhile is queued behind this and cancels it.
    if (state_ == State::kHandling) watch_hangup();
  }

  Reply make_reply() {
    /// Shared by every copy of one request's Reply: the first call wins, and the last copy
    /// dropped without a call answers 500 so that the client is not left waiting.
    struct ReplyState {
      explicit ReplyState(std::shared_ptr<Session<Stream>> s) : session(std::move(s)) {}
      ~ReplyState() {
        if (!used.exchange(true)) session->deliver_dropped();
      }
      std::shared_ptr<Session<Stream>> session;
      std::atomic<bool> used{false};
    };
    auto state = std::make_shared<ReplyState>(this->shared_from_this());
    return [state](Response res) {
      if (state->used.exchange(true)) return;
      state->session->deliver(std::move(res));
    };
  }

  /// Server-made error for the current or partially read request: the envelope with the
  /// caller's request id when valid, and the X-Request-ID / traceparent headers.
  Response error_response(int status, const api::Error& error) {
    std::string incoming_id, incoming_tp;
    if (current_) {
      if (!current_->request_id.empty()) incoming_id = current_->request_id;
      if (const auto* h = current_->header("x-request-id"); h && incoming_id.empty()) {
        incoming_id = *h;
      }
      if (const auto* h = current_->header("traceparent")) incoming_tp = *h;
    } else if (parser_) {
      const auto& msg = parser_->get();
      if (auto it = msg.find("x-request-id"); it != msg.end()) incoming_id = to_std(it->value());
      if (auto it = msg.find("traceparent"); it != msg.end()) incoming_tp = to_std(it->value());
    }
    const std::string request_id = is_valid_request_id(incoming_id) ? incoming_id : new_uuid();
    Response res;
    res.status = status;
    res.body = api::error_envelope(error, request_id, wall_clock_ms() / 1000);
    res.headers.emplace_back("X-Request-ID", request_id);
    res.headers.emplace_back("traceparent", next_traceparent(incoming_tp));
    return res;
  }

  void write_handler_response(Response res) {
    if (state_ != State::kHandling) return;  // closed by stop() meanwhile
    stop_watching_hangup();
    if (res.on_stream) return start_stream(std::move(res));
    bool keep_alive = keep_alive_;
    write(std::move(res), keep_alive, /*linger=*/false);
  }

  // --- Held requests: noticing a client that hangs up -------------------------------------

  /// A held request has the connection to itself (one request at a time), so the socket turns
  /// readable only when the client closes, resets, or pipelines its next request.
  void watch_hangup() {
    const uint64_t gen = ++hangup_gen_;
    hangup_armed_ = true;
    // A held request keeps little memory: no read buffer, no last response, no pending wait.
    if (buffer_.size() == 0) buffer_.shrink_to_fit();
    parser_.release();
    std::string().swap(head_text_);
    std::string().swap(body_);
    if (timer_waiting_) timer_.cancel();
    if constexpr (kTls) {
      // Readable TLS records may be a close_notify as well as data, so read through TLS: data
      // is the next pipelined request (kept in buffer_ for read_next()), an error a hang-up.
      stream_.async_read_some(
          buffer_.prepare(kFirstReadBytes),
          [self = this->shared_from_this(), gen](beast::error_code ec, size_t n) {
            if (gen != self->hangup_gen_ || !self->hangup_armed_ ||
                self->state_ != State::kHandling) {
              if (!ec) self->buffer_.commit(n);
              return;
            }
            self->hangup_armed_ = false;
            if (ec == net::error::operation_aborted) return;
            if (!ec) return self->buffer_.commit(n);
            self->close();
          });
      return;
    }
    socket().async_wait(tcp::socket::wait_read,
                        [self = this->shared_from_this(), gen](beast::error_code ec) {
                          self->on_readable(ec, gen);
                        });
  }

  void on_readable(beast::error_code ec, uint64_t gen) {
    if (gen != hangup_gen_ || !hangup_armed_ || state_ != State::kHandling) return;
    hangup_armed_ = false;
    if (ec == net::error::operation_aborted) return;
    if (!ec) {
      // Never block the loop: the reactor may report readiness that is already gone.
      char c = 0;
      ssize_t n = ::recv(socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n > 0) return;  // the next pipelined request: it waits in the socket for read_next()
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return watch_hangup();  // nothing there after all: keep watching
      }
    }
    close();  // EOF or error: the client is gone; fires the request's cancellation
  }

  void stop_watching_hangup() {
    if (!hangup_armed_) return;
    hangup_armed_ = false;
    ++hangup_gen_;
    beast::error_code ignored;
    socket().cancel(ignored);
  }

  // --- Streamed responses (Server-Sent Events) ---------------------------------------------

  class Writer final : public StreamWriter {
   public:
    explicit Writer(std::shared_ptr<Session<Stream>> s) : session_(std::move(s)) {}
    ~Writer() override { session_->stream_close(); }
    bool write(std::string data) override { return session_->stream_write(std::move(data)); }
    void close() override { session_->stream_close(); }
    bool closed() const override { return session_->stream_is_closed(); }

   private:
    std::shared_ptr<Session<Stream>> session_;
  };

  void start_stream(Response res) {
    chunked_ = version_ >= 11;
    std::string head = "HTTP/1." + std::to_string(version_ >= 11 ? 1 : 0) + " " +
                       std::to_string(res.status >= 200 && res.status <= 599 ? res.status : 200) +
                       " " +
                       to_std(bhttp::obsolete_reason(static_cast<bhttp::status>(res.status))) +
                       "\r\nServer: cairn\r\nContent-Type: " + res.content_type + "\r\n";
    for (auto& [name, value] : res.headers) {
      if (iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
          iequals(name, "connection") || iequals(name, "content-type") || iequals(name, "server"))
        continue;
      head += name + ": " + value + "\r\n";
    }
    head += chunked_ ? "Transfer-Encoding: chunked\r\n" : "";
    head += "Connection: close\r\n\r\n";
    state_ = State::kStreaming;
    stream_queue_.push_back(std::move(head));
    if (answering_head_) {
      // HEAD of a stream: the head alone, then the connection closes; the stream never starts
      // (its handler is dropped unused), so nothing is held for a client that wants no body.
      stream_closed_.store(true);
      stream_end_requested_ = true;
      stream_last_sent_ = true;  // no last chunk either: a HEAD response has no body
      stream_flush();
      return;
    }
    stream_flush();
    // The client sends nothing more; a read that completes means it went away.
    drain_stream_input();
    auto on_stream = std::move(res.on_stream);
    try {
      on_stream(std::make_shared<Writer>(this->shared_from_this()));
    } catch (const std::exception& e) {
      spdlog::error("http stream handler threw: {}", e.what());
      stream_close();
    }
  }

  void drain_stream_input() {
    if (!stream_drain_) stream_drain_ = std::make_unique<std::array<char, 512>>();
    auto on_read = [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (self->state_ != State::kStreaming) return;
      if (ec) return self->close();
      self->drain_stream_input();
    };
    stream_.async_read_some(net::buffer(*stream_drain_), std::move(on_read));
  }

  void stream_push(std::string data) {
    if (state_ != State::kStreaming) return;
    stream_queued_.fetch_sub(data.size());
    if (chunked_) {
      char size[20];
      int len = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
      data.insert(0, size, static_cast<size_t>(len));
      data += "\r\n";
    }
    stream_queue_.push_back(std::move(data));
    stream_flush();
  }

  /// Writes everything queued in one gather write; after the end was asked for and the queue
  /// drained, writes the last chunk and closes.
  void stream_flush() {
    if (state_ != State::kStreaming || stream_writing_) return;
    if (stream_queue_.empty()) {
      if (!stream_end_requested_) return;
      if (chunked_ && !stream_last_sent_) {
        stream_last_sent_ = true;
        stream_queue_.push_back("0\r\n\r\n");
      } else {
        beast::error_code ignored;
        socket().shutdown(tcp::socket::shutdown_send, ignored);
        return close();
      }
    }
    auto batch = std::make_shared<std::vector<std::string>>();
    batch->swap(stream_queue_);
    std::vector<net::const_buffer> buffers;
    buffers.reserve(batch->size());
    for (const auto& b : *batch) buffers.emplace_back(net::buffer(b));
    stream_writing_ = true;
    arm(ms(core_->options.read_timeout_ms));  // a client that never reads
    net::async_write(stream_, buffers,
                     [self = this->shared_from_this(), batch](beast::error_code ec, size_t) {
                       self->stream_writing_ = false;
                       if (self->state_ != State::kStreaming) return;
                       if (ec) return self->close();
                       self->disarm();
                       self->stream_flush();
                     });
  }

  /// An error found while reading: answer and close, draining what the client still sends.
  void send_error(int status, const api::Error& error) {
    version_ = parser_ ? parser_->get().version() : 11;
    answering_head_ = parser_ && parser_->is_header_done() && parser_->get().method() == bhttp::verb::head;
    if (version_ != 10 && version_ != 11) version_ = 11;
    write(error_response(status, error), /*keep_alive=*/false, /*linger=*/true);
  }

  /// Serialises the head the way Beast's `response<string_body>` with `keep_alive()` and
  /// `prepare_payload()` did (same fields, same order), into one reused buffer, and writes
  /// {head, body} in one gather write.
  void write(Response res, bool keep_alive, bool linger) {
    if (core_->stopping.load() || asks_close(res)) keep_alive = false;
    const int status = res.status >= 200 && res.status <= 599 ? res.status : 500;
    if (status == 204 || status == 304) res.body.clear();
    const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
    head_text_.clear();
    // A HEAD gets the GET's Content-Length (RFC 9110 §9.3.2) and no body bytes.
    append_response_head(head_text_, version_, status,
                         std::string_view(reason.data(), reason.size()), res, keep_alive,
                         res.body.size());
    body_ = std::move(res.body);
    if (answering_head_) body_.clear();

    state_ = State::kWriting;
    arm(ms(core_->options.read_timeout_ms));  // a client that never reads
    const std::array<net::const_buffer, 2> buffers{net::buffer(head_text_), net::buffer(body_)};
    net::async_write(stream_, buffers,
                     [self = this->shared_from_this(), keep_alive, linger](beast::error_code ec,
                                                                           size_t) {
                       self->on_written(ec, keep_alive, linger);
                     });
  }

  void on_written(beast::error_code ec, bool keep_alive, bool linger) {
    finish_request();
    if (state_ == State::kClosed) return;
    if (ec) return close();
    if (linger) return linger_close();
    if (!keep_alive) {
      beast::error_code ignored;
      socket().shutdown(tcp::socket::shutdown_send, ignored);
      return close();
    }
    read_next();
  }

  void linger_close() {
    state_ = State::kLingering;
    beast::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_send, ignored);
    arm(ms(std::min(kLingerMs, core_->options.read_timeout_ms)));
    drain();
  }

  void drain() {
    if (!drain_) drain_ = std::make_unique<std::array<char, 4096>>();
    stream_.async_read_some(net::buffer(*drain_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (ec || self->state_ != State::kLingering) return self->close();
                              self->drain();
                            });
  }

  /// The current request no longer counts for stop()'s grace period. Idempotent.
  void finish_request() {
    current_.reset();
    if (!in_flight_) return;
    in_flight_ = false;
    std::lock_guard lock(core_->mu);
    --core_->active_requests;
    core_->cv.notify_all();
  }

  const std::shared_ptr<Core> core_;  // declared first: destroyed after the stream
  const Executor executor_;           // its loop's; every handler runs there
  Stream stream_;
  Timer timer_;  // see arm()
  Clock::time_point deadline_ = Clock::time_point::max();
  bool timer_waiting_ = false;
  beast::flat_buffer buffer_;
  ParserSlot parser_;
  std::unique_ptr<std::array<char, 4096>> drain_;  // linger_close() only
  std::string remote_;
  State state_ = State::kReading;
  RequestPtr current_;  // the request being handled (for server-made errors)
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool in_flight_ = false;
  bool fresh_ = true;  // no request read yet on this connection
  bool expect_checked_ = false;  // this request's `Expect` was looked at
  bool in_handler_ = false;  // the handler runs on the loop now (see deliver())
  bool in_posted_ = false;   // work posted through post() runs on the loop now (same)
  // The response being written: its head serialised here, its body moved here.
  std::string head_text_;
  std::string body_;
  bool answering_head_ = false;  // the request being answered is a HEAD: no body goes out
  // Held requests (loop only).
  bool hangup_armed_ = false;
  uint64_t hangup_gen_ = 0;
  // Streams: the queue and flags are loop-only; the atomics are read by the writer.
  std::vector<std::string> stream_queue_;
  std::unique_ptr<std::array<char, 512>> stream_drain_;
  bool chunked_ = true;
  bool stream_writing_ = false;
  bool stream_end_requested_ = false;
  bool stream_last_sent_ = false;
  std::atomic<bool> stream_closed_{false};
  std::atomic<size_t> stream_queued_{0};
};

}  // namespace

/// The HTTPS context of the options, or null for plain HTTP.
Result<std::unique_ptr<ssl::context>, std::string> make_tls_context(const ServerOptions& o) {
  if (o.tls_cert.empty() && o.tls_key.empty()) {
    if (!o.tls_client_ca.empty()) {
      return Unexpected{std::string("tls_client_ca needs tls_cert and tls_key")};
    }
    return std::unique_ptr<ssl::context>();
  }
  if (o.tls_cert.empty() || o.tls_key.empty()) {
    return Unexpected{std::string("HTTPS needs both tls_cert and tls_key")};
  }
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  auto configured = tls::configure(ctx->native_handle(), tls::Role::kServer,
                                   {o.tls_cert, o.tls_key, o.tls_client_ca});
  if (!configured.ok()) return Unexpected{"HTTPS: " + configured.error()};
  return ctx;
}

struct Server::Impl {
  explicit Impl(ServerOptions options, Handler handler)
      : core(std::make_shared<Core>(std::move(options), std::move(handler))),
        accept_executor(core->contexts[0]->get_executor()),
        acceptor(accept_executor),
        retry_timer(accept_executor) {}

  void do_accept() {
    acceptor.async_accept(
        core->next_context().get_executor(),
        [this](beast::error_code ec, Socket socket) { on_accept(ec, std::move(socket)); });
  }

  void on_accept(beast::error_code ec, Socket socket) {
    if (!acceptor.is_open() || ec == net::error::operation_aborted) return;
    if (ec) {
      // Typically out of file descriptors: back off instead of spinning.
      spdlog::warn("http accept failed: {}", ec.message());
      retry_timer.expires_after(std::chrono::milliseconds(50));
      retry_timer.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && acceptor.is_open()) do_accept();
      });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (core->tls) {
      std::make_shared<Session<TlsStream>>(core, std::move(socket))->start();
    } else {
      std::make_shared<Session<PlainStream>>(core, std::move(socket))->start();
    }
    do_accept();
  }

  std::vector<std::shared_ptr<SessionBase>> live_sessions() {
    std::vector<std::shared_ptr<SessionBase>> out;
    std::lock_guard lock(core->mu);
    for (auto& [ptr, weak] : core->sessions) {
      if (auto s = weak.lock()) out.push_back(std::move(s));
    }
    return out;
  }

  // Declared first: the io_context must outlive the acceptor and timer below.
  std::shared_ptr<Core> core;
  net::io_context::executor_type accept_executor;  // contexts[0]: one thread, no strand needed
  tcp::acceptor acceptor;
  net::steady_timer retry_timer;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  bool started = false;
  bool stopped = false;
};

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() { stop(); }

Result<Ok, std::string> Server::start() {
  Impl& s = *impl_;
  if (s.started) return Unexpected{std::string("server already started")};
  auto tls = make_tls_context(s.core->options);
  if (!tls.ok()) return Unexpected{tls.error()};
  s.core->tls = std::move(*tls);
  const std::string& listen = s.core->options.listen;
  // ":port" listens on every IPv4 address.
  auto split =
      split_host_port(!listen.empty() && listen.front() == ':' ? "0.0.0.0" + listen : listen);
  if (!split.ok()) return Unexpected{"listen " + split.error()};
  const std::string& host = split->host;
  const std::string& port = split->port;

  beast::error_code ec;
  tcp::resolver resolver(*s.core->contexts[0]);
  auto results =
      resolver.resolve(host, port, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return Unexpected{"cannot resolve listen address \"" + listen + "\": " + ec.message()};
  }
  const tcp::endpoint endpoint = results.begin()->endpoint();
  auto fail = [&](const char* what) -> Result<Ok, std::string> {
    beast::error_code ignored;
    s.acceptor.close(ignored);
    return Unexpected{"cannot " + std::string(what) + " " + listen + ": " + ec.message()};
  };
  s.acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket for");
  s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("configure");
  s.acceptor.bind(endpoint, ec);
  if (ec) return fail("bind");
  s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  s.port = s.acceptor.local_endpoint(ec).port();

  s.started = true;
  const int n = static_cast<int>(s.core->contexts.size());
  for (auto& ctx : s.core->contexts) s.work.push_back(net::make_work_guard(*ctx));
  net::post(s.accept_executor, [&s] { s.do_accept(); });
  for (int i = 0; i < n; ++i) {
    s.threads.emplace_back([core = s.core, i] { core->contexts[static_cast<size_t>(i)]->run(); });
  }
  spdlog::info("{} listening on {} ({} io threads)", s.core->tls ? "https" : "http",
               endpoint_text(tcp::endpoint(endpoint.address(), s.port)), n);
  return Ok{};
}

uint16_t Server::port() const { return impl_->port; }

uint64_t Server::open_connections() const { return impl_->core->open_connections.load(); }

void Server::stop() {
  Impl& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  Core& core = *s.core;
  {
    std::lock_guard lock(core.mu);
    core.stopping = true;
  }
  if (!s.started) {
    std::lock_guard lock(core.mu);
    core.stopped = true;
    return;
  }

  // 1. No new connections; idle connections close, busy ones close after their response.
  net::post(s.accept_executor, [&s] {
    beast::error_code ignored;
    s.acceptor.close(ignored);
    s.retry_timer.cancel();
  });
  for (auto& session : s.live_sessions()) {
    net::post(session->executor(), [session] { session->on_server_stopping(); });
  }

  // 2. Grace period for requests in flight.
  {
    std::unique_lock lock(core.mu);
    core.cv.wait_for(lock,
                     std::chrono::milliseconds(std::max<int64_t>(core.options.stop_grace_ms, 0)),
                     [&] { return core.active_requests == 0; });
    core.stopped = true;  // from here on, late replies are dropped instead of posted
  }

  // 3. Close what is left; the io threads return once every operation has completed.
  for (auto& session : s.live_sessions()) {
    net::post(session->executor(), [session] { session->close(); });
  }
  s.work.clear();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
}

}  // namespace cairn::http
