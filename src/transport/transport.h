#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "raft/env.h"
#include "raft/message.h"
#include "transport/frame.h"
#include "transport/probe.h"

namespace cairn::transport {

/// Settings of one TcpTransport. Every field has a default fit for a LAN except the identity
/// (node_id, cluster_id), which the caller must set.
struct TransportOptions {
  raft::NodeId node_id = raft::kNoNode;  // this node; required (non-zero)
  std::string cluster_id;              // required, 1..255 bytes; peers with another id are refused
  std::string listen = "127.0.0.1:0";  // "host:port" or "[::1]:port"; port 0 picks a free one
  int threads = 1;                     // io threads (>= 1)
  // Largest raft message accepted or sent (the frame payload). A peer that announces more is
  // disconnected before anything is allocated; a larger send() is dropped. Capped at
  // raft::kMaxMessageBytes.
  size_t max_frame_bytes = raft::kMaxMessageBytes;
  // Per-peer send queue bounds. When a message does not fit, the oldest queued ones are dropped
  // (and counted): Raft resends what still matters, and the newest messages are the useful ones.
  // A message always fits into an empty queue.
  size_t max_queue_frames = 4096;
  size_t max_queue_bytes = 64u << 20;
  // Write coalescing: one write gathers queued frames up to this many bytes (at least one frame).
  size_t max_write_bytes = 1u << 20;
  // Reconnect backoff: 50 ms doubling to 500 ms, each delay jittered within [d/2, d]. A dial
  // that timed out (the peer's host dropped the SYN: partition) is retried after the initial
  // delay: the timeout itself spaced the attempts.
  int64_t backoff_initial_ms = 50;
  int64_t backoff_max_ms = 500;
  // The TCP connect alone must finish within this. Short, because a fresh SYN is what gets
  // through first once a partition heals: the kernel retries an unanswered one only after
  // 1 s, 3 s, 7 s. Longer than the round trip of the slowest link between members.
  int64_t connect_timeout_ms = 500;
  // Resolve + connect + hello/ack must finish within this (both directions: an inbound
  // connection that sends no valid hello in time is closed).
  int64_t handshake_timeout_ms = 5'000;
  // TCP_USER_TIMEOUT of every peer connection (0: the kernel's default, about 15 minutes): a
  // connection whose sent data stays unacknowledged this long is aborted and redialed. Without
  // it a connection open through a partition stays "up" while the kernel backs its
  // retransmissions off exponentially, and the first message after the heal waits for the next
  // one (seconds; issue 23). Must exceed the round trip plus a few retransmissions.
  int64_t user_timeout_ms = 1'000;
  // A gathered write (at most max_write_bytes, or one larger frame) that does not complete
  // within this closes the connection: the peer stopped reading or vanished without a FIN. The
  // dialer then reconnects.
  int64_t write_timeout_ms = 10'000;
  // Mutual TLS (docs/security.md): all three set, or none (plain TCP). PEM files: this node's
  // certificate chain and key, and the cluster CA that must have signed every peer's
  // certificate, both ways: a peer without one cannot connect, and we do not talk to a listener
  // without one. Hostnames are not checked: the CA is the cluster's own.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  // The cluster secrets (docs/security.md), checked by the challenge-response of every
  // connection (transport/handshake.h): this node proves itself with the first; a peer's proof
  // under any of them is accepted, so that a secret can be rotated node by node. Empty: the
  // empty secret, which every node knows: peers are then not authenticated (the server warns).
  std::vector<std::string> cluster_secrets;
  // The newest connection protocol this node speaks (frame.h kProtocolVersion). Tests set 1 to
  // play a node of a release before peer authentication: it sends protocol-1 hellos, answers
  // none with a challenge, and refuses protocol-2 hellos, as such a release does.
  uint32_t protocol = kProtocolVersion;
};

/// Receives every raft message that arrived for this node. Runs on an io thread, on the strand of
/// the connection it came from: messages from one peer arrive in order, one at a time, but with
/// threads > 1 messages from different peers may be delivered concurrently. It must be quick and
/// must not throw; the intended use is to post the message onto the raft node's executor (the
/// node must never be called from here directly). It must not call stop().
using MessageHandler = std::function<void(raft::Message)>;

/// Raft's peer transport over TCP (Boost.Asio; only transport.cc includes Asio).
///
/// Each node dials one outbound connection to every peer and sends its messages to that peer on
/// it; messages from a peer arrive on the connection that peer dialed. A connection starts with a
/// handshake (hello / hello_ack) that checks the cluster id, the versions and the callee's node
/// id, then a mutual challenge-response over the cluster secret (auth / auth_ack,
/// transport/handshake.h); then frames of raft::encode()d messages flow one way. Delivery is best effort, as
/// raft::Transport allows: messages are dropped (and counted) when a peer's queue is full, when
/// the peer is unreachable, and when a connection breaks. See docs/transport.md.
///
/// Threads: send(), set_peers() and probe() may be called from any thread, concurrently;
/// send() never blocks on the network (it encodes, queues and posts). start() and stop() are
/// called from one control thread that is not an io thread.
/// Lifetime: construct, optionally set_peers(), start(), ..., stop() (idempotent; the destructor
/// runs it). send() before start() or after stop() is dropped. A TcpTransport is not
/// restartable.
class TcpTransport final : public raft::Transport {
 public:
  TcpTransport(TransportOptions options, MessageHandler on_message);
  ~TcpTransport() override;
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  /// Validates the options, binds and listens on `listen`, starts the io threads and begins
  /// dialing the peers set so far. An error text when the options are invalid, the address
  /// cannot be bound, or start() was already called.
  Result<Ok, std::string> start();

  /// The bound port (after start(); useful with port 0).
  uint16_t port() const;

  /// Replaces the peer set: node id -> "host:port". New peers are dialed; removed ones have their
  /// outbound connection closed and queue dropped; a peer whose address changed is redialed. An
  /// entry for this node's own id is ignored, so the full membership may be passed. On an invalid
  /// address nothing changes and the error names it. Callable before start().
  Result<Ok, std::string> set_peers(const std::map<raft::NodeId, std::string>& peers);

  /// Queues encode(msg) for peer msg.to and returns at once (the encoding happens here, on the
  /// caller's thread). Dropped and counted when msg.to is not a peer, the message exceeds
  /// max_frame_bytes, or the transport is not running (before start(), after stop()).
  void send(raft::Message msg) override;

  /// Closes the listener and every connection, drops queued messages and joins the io threads.
  /// on_message is not called once stop() returns. Idempotent.
  void stop();

  /// A copy of the counters.
  TransportProbe probe() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::transport
