// The one translation unit of src/transport/ that includes Asio. Three kinds of objects live
// here, each on its own strand:
//   Peer     — the outbound connection to one peer: dial, handshake, queue, coalesced writes,
//              reconnect with backoff.
//   Inbound  — one connection a peer dialed to us: handshake, then read frames and deliver.
//   Core     — the listener, the io threads, the peer set and the counters.
// Locks: Core::mu (peer set, inbound registry, lifecycle) may be taken before Peer::qmu_ (the
// send queue), which may be taken before Core::stats_mu; never the other way round.

#include "transport/transport.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "common/address.h"
#include "common/endian.h"
#include "common/tls.h"
#include "transport/backoff.h"
#include "transport/frame.h"
#include "transport/handshake.h"

namespace cairn::transport {
namespace tcp_detail {

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
// A TLS session over a socket it does not own, so that the socket outlives (and is reused
// after) each session.
using TlsStream = ssl::stream<tcp::socket&>;
using error_code = boost::system::error_code;
using Strand = net::strand<net::io_context::executor_type>;
using SteadyClock = std::chrono::steady_clock;
using raft::NodeId;

// Frames gathered into one write at most (two buffers each; the kernel takes 1024 iovecs).
constexpr size_t kMaxBatchFrames = 256;
// An inbound read buffer grown by a large frame (a snapshot chunk) is released afterwards.
constexpr size_t kKeepReadBufferBytes = 1u << 20;

std::string endpoint_text(const tcp::socket& socket) {
  error_code ec;
  const tcp::endpoint ep = socket.remote_endpoint(ec);
  if (ec) return "?";
  const std::string host = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(ep.port());
}

// TransportOptions::user_timeout_ms on a connected peer socket (Linux; elsewhere a no-op).
void set_user_timeout(tcp::socket& socket, int64_t ms) {
#ifdef TCP_USER_TIMEOUT
  if (ms <= 0) return;
  const unsigned int value = static_cast<unsigned int>(ms);
  (void)::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT, &value, sizeof value);
#else
  (void)socket;
  (void)ms;
#endif
}

std::string frame_with_header(FrameKind kind, const std::string& payload) {
  const HeaderBytes h = encode_header(kind, payload);
  std::string out(reinterpret_cast<const char*>(h.data()), h.size());
  out += payload;
  return out;
}

/// The mutual-TLS context of the options (null without TLS): our certificate and key, and the
/// cluster CA that every peer's certificate must chain to, required both ways.
Result<std::unique_ptr<ssl::context>, std::string> make_tls_context(const TransportOptions& o) {
  const int set = !o.tls_cert.empty() + !o.tls_key.empty() + !o.tls_ca.empty();
  if (set == 0) return std::unique_ptr<ssl::context>();
  if (set != 3) {
    return Unexpected{std::string(
        "transport: peer TLS needs all of the certificate, the key and the CA file")};
  }
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls);
  auto configured =
      tls::configure(ctx->native_handle(), tls::Role::kMutual, {o.tls_cert, o.tls_key, o.tls_ca});
  if (!configured.ok()) return Unexpected{"transport: " + configured.error()};
  return ctx;
}

/// Runs `f` with a connection's stream: its TLS session when it has one, else the socket.
template <class F>
void with_stream(const std::unique_ptr<TlsStream>& tls, tcp::socket& socket, F&& f) {
  if (tls) {
    f(*tls);
  } else {
    f(socket);
  }
}

class Peer;
class Inbound;

/// Shared state of one TcpTransport; see the file comment. Outlives every Peer and Inbound
/// handler: the io threads are joined before it is destroyed.
struct Core {
  Core(TransportOptions o, MessageHandler h)
      : options(std::move(o)),
        on_message(std::move(h)),
        max_frame(std::min(options.max_frame_bytes, raft::kMaxMessageBytes)),
        secrets(options.cluster_secrets.empty() ? std::vector<std::string>{""}
                                                : options.cluster_secrets),
        speaks_legacy(options.cluster_secrets.empty() || options.protocol < 2),
        accept_strand(net::make_strand(ioc)),
        acceptor(accept_strand),
        accept_retry(accept_strand) {}

  template <class F>
  void count(F&& f) {
    std::lock_guard lock(stats_mu);
    f(stats);
  }

  void do_accept();
  void on_accept(error_code ec, tcp::socket socket);
  // An Inbound passed its handshake: it becomes the connection of `id`, replacing an older one
  // (whose dialer has evidently reconnected; the old one is half-open or about to close).
  void register_peer_connection(NodeId id, const std::shared_ptr<Inbound>& conn);
  void unregister(Inbound* conn, NodeId id);
  bool on_io_thread() const { return io_thread_core == this; }
  // Set on each io thread to the Core it serves.
  static thread_local const Core* io_thread_core;

  const TransportOptions options;
  const MessageHandler on_message;
  const size_t max_frame;
  // The handshake's secrets: the options', or the empty secret (no authentication) when none.
  const std::vector<std::string> secrets;
  // Protocol 1 (no challenge-response) is spoken with a peer that speaks nothing newer, and only
  // by a node without a cluster secret: the empty secret proves nothing, so nothing is lost, and
  // a cluster can be upgraded from a release before peer authentication one node at a time
  // with every node connected to every other (docs/transport.md, "Versions").
  const bool speaks_legacy;
  std::unique_ptr<ssl::context> tls;  // set by start() when the options ask for mutual TLS

  net::io_context ioc;  // declared before every io object: destroyed after them
  Strand accept_strand;
  tcp::acceptor acceptor;
  net::steady_timer accept_retry;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  uint16_t port = 0;

  std::mutex stop_mu;  // serialises start() and stop()
  std::mutex mu;       // guards what follows
  bool started = false;
  bool stopping = false;
  std::map<NodeId, std::shared_ptr<Peer>> peers;
  std::map<Inbound*, std::weak_ptr<Inbound>> inbound;
  std::map<NodeId, std::weak_ptr<Inbound>> inbound_by_node;

  mutable std::mutex stats_mu;
  TransportProbe stats;
};

/// The outbound connection to one peer and its send queue. Created by set_peers(); lives until
/// removed (or stop()) and its last handler has run. enqueue() and close() may be called from
/// any thread; everything else runs on strand_.
class Peer : public std::enable_shared_from_this<Peer> {
 public:
  Peer(Core& core, NodeId id, std::string address, HostPort hp)
      : core_(core),
        id_(id),
        address_(std::move(address)),
        hp_(std::move(hp)),
        strand_(net::make_strand(core.ioc)),
        resolver_(strand_),
        socket_(strand_),
        deadline_(strand_),
        retry_(strand_),
        backoff_(core.options.backoff_initial_ms, core.options.backoff_max_ms),
        rng_(std::random_device{}() ^ id) {}

  const std::string& address() const { return address_; }

  void start() {
    net::post(strand_, [self = shared_from_this()] { self->dial(); });
  }

  void close() {
    {
      std::lock_guard lock(qmu_);
      closed_ = true;
    }
    net::post(strand_, [self = shared_from_this()] { self->do_close(); });
  }

  // Bounded, drop-oldest. Never blocks on the network: the write is started on the strand.
  void enqueue(std::string payload) {
    uint64_t dropped = 0;
    bool post = false;
    {
      std::lock_guard lock(qmu_);
      if (closed_) {
        dropped = 1;
      } else {
        const size_t size = payload.size() + kFrameHeaderBytes;
        while (!queue_.empty() && (queue_.size() + 1 > core_.options.max_queue_frames ||
                                   queued_bytes_ + size > core_.options.max_queue_bytes)) {
          queued_bytes_ -= queue_.front().wire_size();
          queue_.pop_front();
          ++dropped;
        }
        queued_bytes_ += size;
        queue_.push_back(Out{{}, std::move(payload)});
        if (!kick_posted_) kick_posted_ = post = true;
      }
    }
    if (dropped) core_.count([&](TransportProbe& s) { s.peers[id_].dropped += dropped; });
    if (post) net::post(strand_, [self = shared_from_this()] { self->kick(); });
  }

 private:
  enum class State { idle, dialing, connected, waiting, closed };
  struct Out {
    HeaderBytes header;  // filled in when written (the CRC is computed on the io thread)
    std::string payload;
    size_t wire_size() const { return payload.size() + kFrameHeaderBytes; }
  };

  // Handlers of an earlier attempt (or after close) find attempt_ moved on and do nothing.
  bool stale(uint64_t attempt) const { return attempt != attempt_ || state_ == State::closed; }

  // The stream of this attempt: the TLS session, or the plain socket.
  template <class F>
  void io(F&& f) {
    with_stream(tls_, socket_, std::forward<F>(f));
  }

  void dial() {
    if (state_ == State::closed) return;
    state_ = State::dialing;
    const uint64_t a = ++attempt_;
    core_.count([&](TransportProbe& s) { ++s.peers[id_].dials; });
    connecting_ = true;
    arm_deadline(std::min(core_.options.connect_timeout_ms, core_.options.handshake_timeout_ms));
    resolver_.async_resolve(
        hp_.host, hp_.port, tcp::resolver::numeric_service,
        [self = shared_from_this(), a](error_code ec, tcp::resolver::results_type results) {
          self->on_resolve(a, ec, std::move(results));
        });
  }

  void on_resolve(uint64_t a, error_code ec, tcp::resolver::results_type results) {
    if (stale(a)) return;
    if (ec) return fail("cannot resolve: " + ec.message());
    net::async_connect(socket_, results,
                       [self = shared_from_this(), a](error_code ec, const tcp::endpoint&) {
                         self->on_connect(a, ec);
                       });
  }

  void on_connect(uint64_t a, error_code ec) {
    if (stale(a)) return;
    if (ec) return fail("cannot connect: " + ec.message());
    connecting_ = false;
    arm_deadline(core_.options.handshake_timeout_ms);  // hello / ack (and TLS) from here
    error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    set_user_timeout(socket_, core_.options.user_timeout_ms);
    if (!core_.tls) return send_hello(a);
    tls_ = std::make_unique<TlsStream>(socket_, *core_.tls);
    tls_->async_handshake(ssl::stream_base::client, [self = shared_from_this(), a](error_code ec) {
      if (self->stale(a)) return;
      if (ec) {
        self->core_.count([](TransportProbe& s) { ++s.rejected_handshakes; });
        return self->fail("TLS handshake failed: " + ec.message(), /*rejected=*/true);
      }
      self->send_hello(a);
    });
  }

  void send_hello(uint64_t a) {
    Hello hello;
    hello.protocol = protocol_;
    hello.message_version = raft::kMessageVersion;
    hello.from = core_.options.node_id;
    hello.to = id_;
    hello.cluster_id = core_.options.cluster_id;
    hello_ = frame_with_header(FrameKind::hello, encode_hello(hello));
    io([&](auto& stream) {
      net::async_write(stream, net::buffer(hello_),
                       [self = shared_from_this(), a](error_code ec, size_t) {
                         if (self->stale(a)) return;
                         if (ec) return self->fail("cannot send hello: " + ec.message());
                         self->read_ack_header(a, FrameKind::hello_ack);
                       });
    });
  }

  // Reads the acceptor's next handshake frame, which must be of kind `expected`.
  void read_ack_header(uint64_t a, FrameKind expected) {
    awaiting_ = expected;
    io([&](auto& stream) {
      net::async_read(
          stream, net::buffer(rheader_),
          [self = shared_from_this(), a](error_code ec, size_t) { self->on_ack_header(a, ec); });
    });
  }

  void on_ack_header(uint64_t a, error_code ec) {
    if (stale(a)) return;
    if (ec) return fail("no handshake answer: " + ec.message());
    auto h = decode_header(rheader_, kMaxHandshakeBytes);
    if (!h || h->kind != awaiting_) {
      return fail(std::string("bad handshake answer: ") +
                  (h ? "unexpected frame kind" : to_string(h.error())));
    }
    ack_header_ = *h;
    rpayload_.resize(h->length);
    io([&](auto& stream) {
      net::async_read(
          stream, net::buffer(rpayload_),
          [self = shared_from_this(), a](error_code ec, size_t) { self->on_ack_payload(a, ec); });
    });
  }

  void on_ack_payload(uint64_t a, error_code ec) {
    if (stale(a)) return;
    if (ec) return fail("truncated handshake answer: " + ec.message());
    if (!crc_matches(ack_header_, rpayload_)) return fail("handshake answer fails its CRC");
    if (ack_header_.kind == FrameKind::auth_ack) return on_auth_ack(a);
    auto ack = decode_hello_ack(rpayload_);
    if (!ack) return fail("malformed handshake answer");
    if (ack->status == HandshakeStatus::version_mismatch && core_.speaks_legacy &&
        core_.options.protocol >= 2) {
      // A release before peer authentication refuses our protocol-2 hello (or, with
      // protocol 1, a newer one refuses a legacy hello: it has a secret after all). Try the
      // other protocol at once; a real mismatch alternates at the longest backoff.
      const uint32_t next = protocol_ == 1 ? kProtocolVersion : 1;
      spdlog::warn("transport: peer {} at {} does not speak protocol {} ({}); trying protocol {}",
                   id_, address_, protocol_, ack->reason, next);
      const bool first = protocol_ == kProtocolVersion;
      protocol_ = next;
      return fail("protocol " + std::to_string(next == 1 ? 2 : 1) + " refused",
                  /*rejected=*/!first);
    }
    if (ack->status != HandshakeStatus::ok) {
      core_.count([](TransportProbe& s) { ++s.rejected_handshakes; });
      spdlog::error(
          "transport: peer {} at {} (node {}, cluster \"{}\") refused our connection: {}{}{} "
          "(we are node {} of cluster \"{}\")",
          id_, address_, ack->from, ack->cluster_id, to_string(ack->status),
          ack->reason.empty() ? "" : ": ", ack->reason, core_.options.node_id,
          core_.options.cluster_id);
      return fail("handshake refused", /*rejected=*/true);
    }
    if (ack->from != id_) {
      core_.count([](TransportProbe& s) { ++s.rejected_handshakes; });
      spdlog::error("transport: {} answered as node {}, but the peer set says node {} is there",
                    address_, ack->from, id_);
      return fail("wrong node at address", /*rejected=*/true);
    }
    if (protocol_ == 1) {
      // A protocol-1 acceptor answers ok and expects Raft frames (speaks_legacy: no secret).
      spdlog::warn("transport: peer {} at {} speaks protocol 1 (a release before peer "
                   "authentication): connected without a challenge; upgrade it",
                   id_, address_);
      return established();
    }
    if (ack->nonce.size() != kNonceBytes) return fail("the peer sent no challenge");
    send_auth(a, std::move(ack->nonce));
  }

  // Answers the acceptor's challenge with our proof and a challenge of our own.
  void send_auth(uint64_t a, std::string acceptor_nonce) {
    transcript_ = HandshakeTranscript{core_.options.cluster_id, core_.options.node_id, id_,
                                      random_bytes(kNonceBytes), std::move(acceptor_nonce)};
    Auth auth{transcript_.dialer_nonce,
              handshake_proof(core_.secrets.front(), HandshakeSide::dialer, transcript_)};
    hello_ = frame_with_header(FrameKind::auth, encode_auth(auth));
    io([&](auto& stream) {
      net::async_write(stream, net::buffer(hello_),
                       [self = shared_from_this(), a](error_code ec, size_t) {
                         if (self->stale(a)) return;
                         if (ec) return self->fail("cannot send the proof: " + ec.message());
                         self->read_ack_header(a, FrameKind::auth_ack);
                       });
    });
  }

  void on_auth_ack(uint64_t) {
    auto ack = decode_auth_ack(rpayload_);
    if (!ack) return fail("malformed handshake answer");
    if (ack->status != HandshakeStatus::ok) {
      core_.count([](TransportProbe& s) { ++s.rejected_handshakes; });
      spdlog::error("transport: peer {} at {} refused our connection: {}{}{}", id_, address_,
                    to_string(ack->status), ack->reason.empty() ? "" : ": ", ack->reason);
      return fail("handshake refused", /*rejected=*/true);
    }
    if (!match_proof(core_.secrets, HandshakeSide::acceptor, transcript_, ack->proof)) {
      core_.count([](TransportProbe& s) { ++s.rejected_handshakes; });
      spdlog::error("transport: peer {} at {} accepted us but did not prove it knows the cluster "
                    "secret (is cluster_secret the same on every node?); not talking to it",
                    id_, address_);
      return fail("the peer did not prove the cluster secret", /*rejected=*/true);
    }
    established();
  }

  void established() {
    state_ = State::connected;
    deadline_active_ = false;
    deadline_.cancel();
    backoff_.reset();
    quiet_ = false;
    core_.count([&](TransportProbe& s) {
      PeerCounters& p = s.peers[id_];
      ++p.connects;
      p.connected = true;
    });
    spdlog::info("transport: connected to peer {} at {}", id_, address_);
    watch_for_close(attempt_);
    if (!writing_) write_more();
  }

  // The acceptor never sends after its ack: any byte or EOF means the connection is over.
  void watch_for_close(uint64_t a) {
    io([&](auto& stream) {
      net::async_read(stream, net::buffer(&sink_, 1),
                      [self = shared_from_this(), a](error_code ec, size_t) {
                        if (self->stale(a)) return;
                        self->fail(ec ? "closed by peer: " + ec.message()
                                      : std::string("peer sent unexpected data"));
                      });
    });
  }

  void kick() {
    {
      std::lock_guard lock(qmu_);
      kick_posted_ = false;
    }
    if (state_ == State::connected && !writing_) write_more();
  }

  // Gathers queued frames into one gathered write (coalescing: one syscall for many messages).
  void write_more() {
    size_t bytes = 0;
    {
      std::lock_guard lock(qmu_);
      while (
          !queue_.empty() && batch_.size() < kMaxBatchFrames &&
          (batch_.empty() || bytes + queue_.front().wire_size() <= core_.options.max_write_bytes)) {
        bytes += queue_.front().wire_size();
        queued_bytes_ -= queue_.front().wire_size();
        batch_.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (batch_.empty()) {
      writing_ = false;
      return;
    }
    writing_ = true;
    buffers_.clear();
    for (Out& f : batch_) {
      f.header = encode_header(FrameKind::message, f.payload);
      buffers_.push_back(net::buffer(f.header));
      buffers_.push_back(net::buffer(f.payload));
    }
    arm_deadline(core_.options.write_timeout_ms);
    const uint64_t a = attempt_;
    io([&](auto& stream) {
      net::async_write(stream, buffers_,
                       [self = shared_from_this(), a, bytes](error_code ec, size_t) {
                         self->on_written(a, ec, bytes);
                       });
    });
  }

  void on_written(uint64_t a, error_code ec, size_t bytes) {
    if (stale(a)) return;
    if (ec) return fail("write failed: " + ec.message());
    deadline_active_ = false;
    const uint64_t frames = batch_.size();
    core_.count([&](TransportProbe& s) {
      PeerCounters& p = s.peers[id_];
      p.frames_sent += frames;
      p.bytes_sent += bytes;
    });
    batch_.clear();
    write_more();
  }

  void arm_deadline(int64_t ms) {
    deadline_active_ = true;
    deadline_.expires_after(std::chrono::milliseconds(std::max<int64_t>(ms, 1)));
    const uint64_t a = attempt_;
    deadline_.async_wait([self = shared_from_this(), a](error_code ec) {
      if (ec || self->stale(a) || !self->deadline_active_) return;
      if (self->deadline_.expiry() > SteadyClock::now()) return;  // re-armed meanwhile
      if (self->connecting_) {
        self->fail("connect timed out", /*rejected=*/false, /*timed_out=*/true);
        return;
      }
      self->fail(self->state_ == State::connected ? "write timed out" : "handshake timed out");
    });
  }

  // Drops the queue and the batch being written; returns how many messages were lost.
  uint64_t drop_all() {
    uint64_t n = batch_.size();
    batch_.clear();
    std::lock_guard lock(qmu_);
    n += queue_.size();
    queue_.clear();
    queued_bytes_ = 0;
    return n;
  }

  void close_socket() {
    error_code ignored;
    resolver_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    // tls_ stays: its pending operations complete (aborted) on this strand before the next
    // attempt replaces it in on_connect.
    deadline_active_ = false;
    deadline_.cancel();
    writing_ = false;
  }

  // Ends the current attempt or connection and schedules the next dial. Messages queued for the
  // peer are dropped: while it is unreachable nothing is stored (Raft resends what matters).
  void fail(const std::string& why, bool rejected = false, bool timed_out = false) {
    if (state_ == State::closed || state_ == State::waiting) return;
    connecting_ = false;
    const bool was_connected = state_ == State::connected;
    close_socket();
    const uint64_t dropped = drop_all();
    state_ = State::waiting;
    const uint64_t a = ++attempt_;
    core_.count([&](TransportProbe& s) {
      PeerCounters& p = s.peers[id_];
      p.connected = false;
      p.dropped += dropped;
      if (!was_connected) ++p.connect_failures;
    });
    if (was_connected) {
      spdlog::warn("transport: connection to peer {} at {} lost: {}", id_, address_, why);
    } else if (!rejected && !quiet_) {
      spdlog::warn("transport: peer {} at {} unreachable: {}; retrying with backoff", id_, address_,
                   why);
      quiet_ = true;  // one line per outage; the rest at debug level
    } else {
      spdlog::debug("transport: peer {} at {}: {}", id_, address_, why);
    }
    if (rejected) backoff_.saturate();
    if (timed_out) backoff_.reset();  // the timeout spaced the attempts; dial a fresh SYN soon
    retry_.expires_after(std::chrono::milliseconds(backoff_.next(rng_())));
    retry_.async_wait([self = shared_from_this(), a](error_code ec) {
      if (ec || self->stale(a)) return;
      self->dial();
    });
  }

  void do_close() {
    if (state_ == State::closed) return;
    const bool was_connected = state_ == State::connected;
    close_socket();
    retry_.cancel();
    state_ = State::closed;
    const uint64_t dropped = drop_all();
    core_.count([&](TransportProbe& s) {
      PeerCounters& p = s.peers[id_];
      p.connected = false;
      p.dropped += dropped;
    });
    if (was_connected) spdlog::info("transport: closed connection to peer {} at {}", id_, address_);
  }

  Core& core_;
  const NodeId id_;
  const std::string address_;
  const HostPort hp_;
  Strand strand_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  std::unique_ptr<TlsStream> tls_;  // this attempt's TLS session, with mutual TLS
  net::steady_timer deadline_;  // handshake, then each write
  net::steady_timer retry_;     // backoff between dials
  Backoff backoff_;
  // The protocol of our next hello: the newest we speak, or 1 after a protocol-2 hello was
  // refused as too new (Core::speaks_legacy).
  uint32_t protocol_ = std::min(core_.options.protocol, kProtocolVersion);
  std::mt19937_64 rng_;

  // strand_ only
  State state_ = State::idle;
  uint64_t attempt_ = 0;
  bool deadline_active_ = false;
  bool connecting_ = false;  // the deadline is the connect timeout
  bool writing_ = false;
  bool quiet_ = false;
  std::string hello_;  // the handshake frame being written: hello, then auth
  FrameKind awaiting_ = FrameKind::hello_ack;
  HandshakeTranscript transcript_;
  HeaderBytes rheader_{};
  FrameHeader ack_header_;
  std::string rpayload_;
  char sink_ = 0;
  std::vector<Out> batch_;
  std::vector<net::const_buffer> buffers_;

  // qmu_ guards the queue, shared with senders on any thread
  std::mutex qmu_;
  std::deque<Out> queue_;
  size_t queued_bytes_ = 0;
  bool kick_posted_ = false;
  bool closed_ = false;
};

/// One connection a peer dialed to this node: the handshake, then a read loop that validates
/// frames, decodes them and hands the messages to on_message. Lives while a handler holds it;
/// Core keeps a weak reference so that stop() can close it. close() from any thread; the rest
/// runs on the socket's strand.
class Inbound : public std::enable_shared_from_this<Inbound> {
 public:
  Inbound(Core& core, tcp::socket socket)
      : core_(core),
        socket_(std::move(socket)),
        deadline_(socket_.get_executor()),
        remote_(endpoint_text(socket_)) {
    if (core_.tls) tls_ = std::make_unique<TlsStream>(socket_, *core_.tls);
  }

  void start() {
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      self->deadline_.expires_after(std::chrono::milliseconds(
          std::max<int64_t>(self->core_.options.handshake_timeout_ms, 1)));
      self->deadline_.async_wait([self](error_code ec) {
        if (ec || self->state_ == State::established || self->state_ == State::closed) return;
        if (self->state_ == State::handshake || self->state_ == State::authenticating) {
          self->core_.count([](TransportProbe& s) { ++s.handshake_timeouts; });
          spdlog::warn("transport: connection from {} did not complete the handshake in time; "
                       "closing",
                       self->remote_);
        }
        self->do_close();
      });
      if (!self->tls_) return self->read_header();
      self->tls_->async_handshake(ssl::stream_base::server, [self](error_code ec) {
        if (self->state_ == State::closed) return;
        if (ec) {
          self->core_.count([](TransportProbe& s) { ++s.rejected_handshakes; });
          spdlog::error("transport: refused connection from {}: TLS handshake failed: {}",
                        self->remote_, ec.message());
          return self->do_close();
        }
        self->read_header();
      });
    });
  }

  void close() {
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->do_close(); });
  }

 private:
  // handshake: waiting for the hello; authenticating: hello answered with our challenge,
  // waiting for the dialer's proof (auth); established: raft messages.
  enum class State { handshake, authenticating, established, closing, closed };

  std::string who() const {
    return peer_ == raft::kNoNode ? remote_
                                  : "peer " + std::to_string(peer_) + " (" + remote_ + ")";
  }

  template <class F>
  void io(F&& f) {
    with_stream(tls_, socket_, std::forward<F>(f));
  }

  void read_header() {
    io([&](auto& stream) {
      net::async_read(
          stream, net::buffer(header_),
          [self = shared_from_this()](error_code ec, size_t n) { self->on_header(ec, n); });
    });
  }

  void on_header(error_code ec, size_t n) {
    if (state_ == State::closed || state_ == State::closing) return;
    if (ec) {
      if (n > 0) return refuse("connection ended inside a frame header");
      spdlog::debug("transport: connection from {} closed: {}", who(), ec.message());
      return do_close();
    }
    const bool handshake = state_ == State::handshake || state_ == State::authenticating;
    const size_t limit = handshake ? kMaxHandshakeBytes : core_.max_frame;
    auto h = decode_header(header_, limit);
    if (!h && h.error() == FrameError::oversized) {
      // Refused on the header alone: nothing is allocated for the claimed payload.
      core_.count([](TransportProbe& s) { ++s.oversized_frames; });
      const uint32_t claimed = endian::load_be<uint32_t>(&header_[8]);
      spdlog::warn("transport: {} announced a {}-byte frame, limit {}; disconnecting", who(),
                   claimed, limit);
      return do_close();
    }
    if (!h) return refuse(to_string(h.error()));
    const FrameKind expected = state_ == State::handshake        ? FrameKind::hello
                               : state_ == State::authenticating ? FrameKind::auth
                                                                 : FrameKind::message;
    if (h->kind != expected) {
      return refuse("unexpected frame kind");
    }
    frame_ = *h;
    payload_.resize(frame_.length);
    io([&](auto& stream) {
      net::async_read(stream, net::buffer(payload_), [self = shared_from_this()](
                                                         error_code ec, size_t) {
        self->on_payload(ec);
      });
    });
  }

  void on_payload(error_code ec) {
    if (state_ == State::closed || state_ == State::closing) return;
    if (ec) return refuse("connection ended inside a frame (" + ec.message() + ")");
    if (!crc_matches(frame_, payload_)) return refuse("payload CRC mismatch");
    if (frame_.kind == FrameKind::hello) return on_hello();
    if (frame_.kind == FrameKind::auth) return on_auth();
    on_message();
  }

  void on_hello() {
    auto hello = decode_hello(payload_);
    if (!hello || hello->from == raft::kNoNode) return refuse("malformed hello");
    const TransportOptions& o = core_.options;
    peer_ = hello->from;
    // Protocol 1 only from a node without a challenge when this node has no secret either
    // (Core::speaks_legacy); a node playing protocol 1 (TransportOptions::protocol) speaks
    // nothing newer.
    const uint32_t newest = std::min(o.protocol, kProtocolVersion);
    const bool legacy = hello->protocol == 1 && core_.speaks_legacy;
    if ((hello->protocol != newest && !legacy) ||
        hello->message_version != raft::kMessageVersion) {
      return reject(HandshakeStatus::version_mismatch,
                    "protocol " + std::to_string(hello->protocol) + "/message version " +
                        std::to_string(hello->message_version) + " not supported (ours " +
                        std::to_string(newest) + "/" +
                        std::to_string(raft::kMessageVersion) + ")" +
                        (hello->protocol < kProtocolVersion
                             ? "; that node predates peer authentication: upgrade it"
                             : ""));
    }
    if (hello->cluster_id != o.cluster_id) {
      return reject(HandshakeStatus::cluster_mismatch,
                    "node " + std::to_string(hello->from) + " belongs to cluster \"" +
                        hello->cluster_id + "\", node " + std::to_string(o.node_id) +
                        " to cluster \"" + o.cluster_id + "\"");
    }
    if (hello->to != o.node_id) {
      return reject(HandshakeStatus::wrong_node, "dialed node " + std::to_string(hello->to) +
                                                     " but reached node " +
                                                     std::to_string(o.node_id));
    }
    if (hello->from == o.node_id) {
      return reject(HandshakeStatus::wrong_node,
                    "dialer claims this node's own id " + std::to_string(o.node_id));
    }
    if (hello->protocol == 1) return accept_legacy();
    // The hello is fine: challenge the dialer (the handshake deadline still runs).
    transcript_ = HandshakeTranscript{o.cluster_id, peer_, o.node_id, {},
                                      random_bytes(kNonceBytes)};
    HelloAck ack;
    ack.from = o.node_id;
    ack.cluster_id = o.cluster_id;
    ack.nonce = transcript_.acceptor_nonce;
    out_ = frame_with_header(FrameKind::hello_ack, encode_hello_ack(ack));
    state_ = State::authenticating;
    io([&](auto& stream) {
      net::async_write(stream, net::buffer(out_),
                       [self = shared_from_this()](error_code ec, size_t) {
                         if (self->state_ == State::closed) return;
                         if (ec) return self->do_close();
                         self->read_header();
                       });
    });
  }

  // The dialer's proof: checked against every cluster secret; answered with ours under the one
  // that matched (the dialer knows it), or refused.
  void on_auth() {
    auto auth = decode_auth(payload_);
    if (!auth) return refuse("malformed auth");
    transcript_.dialer_nonce = auth->nonce;
    auto matched = match_proof(core_.secrets, HandshakeSide::dialer, transcript_, auth->proof);
    if (!matched) {
      core_.count([](TransportProbe& s) { ++s.rejected_handshakes; });
      spdlog::error("transport: refused connection from {}: {}: its proof matches none of this "
                    "node's cluster secrets",
                    who(), to_string(HandshakeStatus::bad_secret));
      AuthAck nack{HandshakeStatus::bad_secret, {},
                   "node " + std::to_string(core_.options.node_id) +
                       " does not share your cluster secret (cluster_secret must be the same "
                       "on every node)"};
      out_ = frame_with_header(FrameKind::auth_ack, encode_auth_ack(nack));
      state_ = State::closing;
      io([&](auto& stream) {
        net::async_write(stream, net::buffer(out_),
                         [self = shared_from_this()](error_code, size_t) { self->do_close(); });
      });
      return;
    }
    AuthAck ack{HandshakeStatus::ok,
                handshake_proof(core_.secrets[*matched], HandshakeSide::acceptor, transcript_),
                {}};
    spdlog::info("transport: accepted connection from peer {} ({})", peer_, remote_);
    establish(frame_with_header(FrameKind::auth_ack, encode_auth_ack(ack)));
  }

  // A protocol-1 dialer (on_hello allowed it): ok without a challenge, then Raft frames.
  void accept_legacy() {
    HelloAck ack;
    ack.from = core_.options.node_id;
    ack.cluster_id = core_.options.cluster_id;
    spdlog::warn("transport: accepted connection from peer {} ({}) over protocol 1, without a "
                 "challenge (a release before peer authentication; upgrade it)",
                 peer_, remote_);
    establish(frame_with_header(FrameKind::hello_ack, encode_hello_ack(ack)));
  }

  // The handshake passed: this connection becomes the peer's; `answer` (its last handshake
  // frame) is written, then Raft frames are read.
  void establish(std::string answer) {
    out_ = std::move(answer);
    state_ = State::established;
    deadline_.cancel();
    core_.register_peer_connection(peer_, shared_from_this());
    io([&](auto& stream) {
      net::async_write(stream, net::buffer(out_),
                       [self = shared_from_this()](error_code ec, size_t) {
                         if (self->state_ == State::closed) return;
                         if (ec) return self->do_close();
                         self->read_header();
                       });
    });
  }

  // Answers a refused hello, then closes once the answer is written (or the deadline passes).
  void reject(HandshakeStatus status, const std::string& reason) {
    core_.count([](TransportProbe& s) { ++s.rejected_handshakes; });
    spdlog::error("transport: refused connection from {}: {}: {}", who(), to_string(status),
                  reason);
    HelloAck ack;
    ack.status = status;
    ack.from = core_.options.node_id;
    ack.cluster_id = core_.options.cluster_id;
    ack.reason = reason.substr(0, 1024);
    out_ = frame_with_header(FrameKind::hello_ack, encode_hello_ack(ack));
    state_ = State::closing;
    io([&](auto& stream) {
      net::async_write(stream, net::buffer(out_),
                       [self = shared_from_this()](error_code, size_t) { self->do_close(); });
    });
  }

  void on_message() {
    auto msg = raft::decode(payload_);
    if (!msg) {
      core_.count([](TransportProbe& s) { ++s.decode_errors; });
      spdlog::warn("transport: undecodable message from {}: {}; disconnecting", who(),
                   raft::to_string(msg.error()));
      return do_close();
    }
    const uint64_t bytes = payload_.size() + kFrameHeaderBytes;
    if (payload_.capacity() > kKeepReadBufferBytes) std::string().swap(payload_);
    if (msg->to != core_.options.node_id || msg->from != peer_) {
      core_.count([](TransportProbe& s) { ++s.dropped_misaddressed; });
      spdlog::debug("transport: dropped a {} from {} addressed {} -> {}",
                    raft::to_string(msg->type), who(), msg->from, msg->to);
    } else {
      core_.count([&](TransportProbe& s) {
        PeerCounters& p = s.peers[peer_];
        ++p.frames_received;
        p.bytes_received += bytes;
      });
      core_.on_message(std::move(msg).value());
    }
    read_header();
  }

  // A framing error: counted, logged, and the connection is closed (the stream cannot be
  // resynchronised once a frame boundary is lost).
  void refuse(const std::string& what) {
    core_.count([](TransportProbe& s) { ++s.bad_frames; });
    spdlog::warn("transport: bad frame from {}: {}; disconnecting", who(), what);
    do_close();
  }

  void do_close() {
    if (state_ == State::closed) return;
    state_ = State::closed;
    error_code ignored;
    deadline_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    core_.unregister(this, peer_);
  }

  Core& core_;
  tcp::socket socket_;  // its executor is this connection's strand
  std::unique_ptr<TlsStream> tls_;  // with mutual TLS; lives as long as the connection
  net::steady_timer deadline_;
  const std::string remote_;
  State state_ = State::handshake;
  NodeId peer_ = raft::kNoNode;  // from the hello
  HandshakeTranscript transcript_;
  HeaderBytes header_{};
  FrameHeader frame_;
  std::string payload_;
  std::string out_;
};

void Core::do_accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void Core::on_accept(error_code ec, tcp::socket socket) {
  if (!acceptor.is_open() || ec == net::error::operation_aborted) return;
  if (ec) {
    // Typically out of file descriptors: back off instead of spinning.
    spdlog::warn("transport: accept failed: {}", ec.message());
    accept_retry.expires_after(std::chrono::milliseconds(50));
    accept_retry.async_wait([this](error_code wait_ec) {
      if (!wait_ec && acceptor.is_open()) do_accept();
    });
    return;
  }
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  set_user_timeout(socket, options.user_timeout_ms);
  auto conn = std::make_shared<Inbound>(*this, std::move(socket));
  {
    std::lock_guard lock(mu);
    if (stopping) return;  // the socket closes with conn
    inbound[conn.get()] = conn;
  }
  count([](TransportProbe& s) { ++s.accepted_connections; });
  conn->start();
  do_accept();
}

void Core::register_peer_connection(NodeId id, const std::shared_ptr<Inbound>& conn) {
  std::shared_ptr<Inbound> old;
  {
    std::lock_guard lock(mu);
    auto& slot = inbound_by_node[id];
    old = slot.lock();
    slot = conn;
  }
  if (old && old != conn) old->close();
}

void Core::unregister(Inbound* conn, NodeId id) {
  std::lock_guard lock(mu);
  inbound.erase(conn);
  auto it = inbound_by_node.find(id);
  if (it != inbound_by_node.end()) {
    auto current = it->second.lock();
    if (!current || current.get() == conn) inbound_by_node.erase(it);
  }
}

thread_local const Core* Core::io_thread_core = nullptr;

}  // namespace tcp_detail

using namespace tcp_detail;

struct TcpTransport::Impl {
  Impl(TransportOptions o, MessageHandler h) : core(std::move(o), std::move(h)) {}
  Core core;
};

TcpTransport::TcpTransport(TransportOptions options, MessageHandler on_message)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(on_message))) {}

TcpTransport::~TcpTransport() { stop(); }

Result<Ok, std::string> TcpTransport::start() {
  Core& c = impl_->core;
  std::lock_guard stop_lock(c.stop_mu);
  const TransportOptions& o = c.options;
  {
    std::lock_guard lock(c.mu);
    if (c.started || c.stopping) return Unexpected{std::string("transport already started")};
  }
  if (o.node_id == raft::kNoNode) return Unexpected{std::string("transport: node_id must be set")};
  if (o.cluster_id.empty() || o.cluster_id.size() > kMaxClusterIdBytes)
    return Unexpected{std::string("transport: cluster_id must be 1..255 bytes")};
  if (o.threads < 1) return Unexpected{std::string("transport: threads must be >= 1")};
  if (o.max_frame_bytes == 0 || o.max_queue_frames == 0 || o.max_queue_bytes == 0 ||
      o.max_write_bytes == 0)
    return Unexpected{std::string("transport: frame, queue and write limits must be positive")};
  if (o.backoff_initial_ms < 1 || o.backoff_max_ms < o.backoff_initial_ms)
    return Unexpected{std::string("transport: need 1 <= backoff_initial_ms <= backoff_max_ms")};
  if (o.connect_timeout_ms < 1 || o.user_timeout_ms < 0)
    return Unexpected{std::string("transport: need connect_timeout_ms >= 1, user_timeout_ms >= 0")};
  if (auto tls = make_tls_context(o); !tls.ok()) {
    return Unexpected{tls.error()};
  } else {
    c.tls = std::move(*tls);
  }

  auto hp = split_host_port(o.listen);
  if (!hp) return Unexpected{"transport: listen " + hp.error()};
  error_code ec;
  tcp::resolver resolver(c.ioc);
  auto results = resolver.resolve(hp->host, hp->port,
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty())
    return Unexpected{"transport: cannot resolve listen address \"" + o.listen +
                      "\": " + ec.message()};
  const tcp::endpoint endpoint = results.begin()->endpoint();
  auto fail = [&](const char* what) -> Result<Ok, std::string> {
    error_code ignored;
    c.acceptor.close(ignored);
    return Unexpected{"transport: cannot " + std::string(what) + " " + o.listen + ": " +
                      ec.message()};
  };
  c.acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket for");
  c.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("configure");
  c.acceptor.bind(endpoint, ec);
  if (ec) return fail("bind");
  c.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  c.port = c.acceptor.local_endpoint(ec).port();

  std::vector<std::shared_ptr<Peer>> peers;
  {
    std::lock_guard lock(c.mu);
    c.started = true;
    for (auto& [id, p] : c.peers) peers.push_back(p);
  }
  c.work.emplace(net::make_work_guard(c.ioc));
  net::post(c.accept_strand, [&c] { c.do_accept(); });
  for (auto& p : peers) p->start();
  for (int i = 0; i < o.threads; ++i) {
    c.threads.emplace_back([&c] {
      Core::io_thread_core = &c;
      c.ioc.run();
    });
  }
  spdlog::info("transport: node {} of cluster \"{}\" listening on {}:{} ({} io threads)", o.node_id,
               o.cluster_id, hp->host, c.port, o.threads);
  return Ok{};
}

uint16_t TcpTransport::port() const { return impl_->core.port; }

Result<Ok, std::string> TcpTransport::set_peers(const std::map<raft::NodeId, std::string>& peers) {
  Core& c = impl_->core;
  std::map<NodeId, HostPort> parsed;
  for (const auto& [id, address] : peers) {
    if (id == raft::kNoNode) return Unexpected{std::string("transport: peer id 0 is invalid")};
    auto hp = split_host_port(address);
    if (!hp) return Unexpected{"transport: peer " + std::to_string(id) + ": " + hp.error()};
    parsed.emplace(id, std::move(hp).value());
  }
  std::vector<std::shared_ptr<Peer>> to_close, to_start;
  {
    std::lock_guard lock(c.mu);
    if (c.stopping) return Ok{};
    for (auto it = c.peers.begin(); it != c.peers.end();) {
      auto want = peers.find(it->first);
      if (want == peers.end() || want->second != it->second->address()) {
        to_close.push_back(it->second);
        it = c.peers.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& [id, address] : peers) {
      if (id == c.options.node_id || c.peers.count(id)) continue;
      auto p = std::make_shared<Peer>(c, id, address, parsed.at(id));
      c.peers.emplace(id, p);
      if (c.started) to_start.push_back(p);
    }
    c.count([&](TransportProbe& s) {
      for (const auto& [id, p] : c.peers) s.peers[id];  // listed in the probe from now on
    });
  }
  for (auto& p : to_close) p->close();
  for (auto& p : to_start) p->start();
  return Ok{};
}

void TcpTransport::send(raft::Message msg) {
  Core& c = impl_->core;
  std::shared_ptr<Peer> peer;
  bool running = false;
  {
    std::lock_guard lock(c.mu);
    running = c.started && !c.stopping;
    if (running && msg.to != c.options.node_id) {
      auto it = c.peers.find(msg.to);
      if (it != c.peers.end()) peer = it->second;
    }
  }
  if (!peer) {
    c.count([&](TransportProbe& s) {
      if (running)
        ++s.dropped_unknown_peer;
      else
        ++s.dropped_not_running;
    });
    return;
  }
  std::string payload = raft::encode(msg);
  if (payload.size() > c.max_frame) {
    c.count([&](TransportProbe& s) {
      ++s.dropped_too_large;
      ++s.peers[msg.to].dropped;
    });
    spdlog::warn("transport: dropped a {}-byte {} to peer {}: over max_frame_bytes {}",
                 payload.size(), raft::to_string(msg.type), msg.to, c.max_frame);
    return;
  }
  peer->enqueue(std::move(payload));
}

void TcpTransport::stop() {
  Core& c = impl_->core;
  if (c.on_io_thread()) {
    // Joining the io threads from one of them cannot work; this is a caller bug.
    spdlog::critical("transport: stop() called from an io thread (on_message)");
    std::abort();
  }
  std::lock_guard stop_lock(c.stop_mu);
  std::vector<std::shared_ptr<Peer>> peers;
  std::vector<std::shared_ptr<Inbound>> inbound;
  {
    std::lock_guard lock(c.mu);
    if (c.stopping) return;
    c.stopping = true;
    if (!c.started) return;  // nothing was posted; the peers die with the Core
    for (auto& [id, p] : c.peers) peers.push_back(p);
    c.peers.clear();
    for (auto& [ptr, weak] : c.inbound)
      if (auto conn = weak.lock()) inbound.push_back(std::move(conn));
  }
  net::post(c.accept_strand, [&c] {
    error_code ignored;
    c.acceptor.close(ignored);
    c.accept_retry.cancel();
  });
  for (auto& p : peers) p->close();
  for (auto& conn : inbound) conn->close();
  peers.clear();
  inbound.clear();
  // Every operation is now cancelled or about to be; the io threads return once they drain.
  c.work.reset();
  for (auto& t : c.threads) t.join();
  c.threads.clear();
  spdlog::info("transport: node {} stopped", c.options.node_id);
}

TransportProbe TcpTransport::probe() const {
  const Core& c = impl_->core;
  std::lock_guard lock(c.stats_mu);
  return c.stats;
}

}  // namespace cairn::transport
