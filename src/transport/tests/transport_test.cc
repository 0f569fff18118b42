// TcpTransport over real TCP on 127.0.0.1 with ephemeral ports. Every wait is bounded
// (condition variables or polling a probe with a deadline); no test asserts on timing.

#include "transport/transport.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "test_support.h"
#include "transport/frame.h"
#include "transport/handshake.h"

namespace cairn::transport {
namespace {

using namespace std::chrono_literals;
using raft::Message;
using raft::MessageType;
using raft::NodeId;
using cairn::test::wait_until;

constexpr auto kWait = 10s;  // upper bound of every wait; tests normally take milliseconds

// A message of type `t` with every field set (as in the raft codec test), valid for decode().
Message sample(MessageType t, NodeId from, NodeId to, uint64_t context = 99) {
  Message m;
  m.type = t;
  m.from = from;
  m.to = to;
  m.term = 1ull << 40;
  m.index = 41;
  m.log_term = 7;
  m.commit = 39;
  m.reject = t == MessageType::vote_resp || t == MessageType::append_resp;
  m.reject_hint = 12;
  m.reject_term = 3;
  m.context = context;
  if (t == MessageType::append) {
    m.entries = {raft::Entry{7, 42, raft::EntryType::normal, "{\"k\":\"v\"}"},
                 raft::Entry{7, 43, raft::EntryType::noop, ""},
                 raft::Entry{7, 44, raft::EntryType::conf_change,
                             raft::encode_conf_state(raft::ConfState{{1, 2, 3}, {4}})}};
  }
  if (t == MessageType::snapshot) {
    m.snapshot = raft::SnapshotMeta{40, 6, raft::ConfState{{1, 2, 3}, {}}};
    m.offset = 1 << 20;
    m.chunk = std::string(100'000, '\xab');
    m.done = true;
  }
  return m;
}

std::vector<Message> every_type(NodeId from, NodeId to) {
  std::vector<Message> out;
  for (int t = 1; t <= 11; ++t) out.push_back(sample(static_cast<MessageType>(t), from, to));
  return out;
}

/// Collects delivered messages; waiters block on a condition variable with a timeout.
class Inbox {
 public:
  void push(Message m) {
    std::lock_guard lock(mu_);
    got_.push_back(std::move(m));
    cv_.notify_all();
  }
  bool wait_for(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return got_.size() >= n; });
  }
  std::vector<Message> messages() {
    std::lock_guard lock(mu_);
    return got_;
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return got_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Message> got_;
};

TransportOptions options(NodeId id, std::string cluster = "test-cluster", uint16_t port = 0) {
  TransportOptions o;
  o.node_id = id;
  o.cluster_id = std::move(cluster);
  o.listen = "127.0.0.1:" + std::to_string(port);
  return o;
}

std::string local(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

/// One transport plus the inbox its on_message fills.
struct TestNode {
  explicit TestNode(TransportOptions o)
      : id(o.node_id), transport(std::make_unique<TcpTransport>(std::move(o), [this](Message m) {
          inbox.push(std::move(m));
        })) {
    auto started = transport->start();
    EXPECT_TRUE(started) << (started ? "" : started.error());
  }
  TestNode(NodeId node, std::string cluster = "test-cluster", uint16_t port = 0)
      : TestNode(options(node, std::move(cluster), port)) {}

  uint16_t port() const { return transport->port(); }
  PeerCounters peer(NodeId p) const {
    auto probe = transport->probe();
    auto it = probe.peers.find(p);
    return it == probe.peers.end() ? PeerCounters{} : it->second;
  }
  bool connected_to(NodeId p) const { return peer(p).connected; }

  NodeId id;
  Inbox inbox;
  std::unique_ptr<TcpTransport> transport;
};

void connect_all(const std::vector<TestNode*>& nodes) {
  std::map<NodeId, std::string> peers;
  for (TestNode* n : nodes) peers[n->id] = local(n->port());
  for (TestNode* n : nodes) ASSERT_TRUE(n->transport->set_peers(peers));
  for (TestNode* n : nodes) {
    for (TestNode* other : nodes) {
      if (other == n) continue;
      ASSERT_TRUE(wait_until([&] { return n->connected_to(other->id); }));
    }
  }
}

// --- A raw TCP client that speaks (or mangles) the protocol, for hostile-peer tests. ---

std::string frame(FrameKind kind, const std::string& payload) {
  HeaderBytes h = encode_header(kind, payload);
  return std::string(reinterpret_cast<const char*>(h.data()), h.size()) + payload;
}

class RawConn {
 public:
  explicit RawConn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{static_cast<time_t>(std::chrono::seconds(kWait).count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConn() { ::close(fd_); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool connected() const { return connected_; }
  void write(const std::string& bytes) {
    // MSG_NOSIGNAL: the transport may already have closed on us.
    (void)::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  // Reads exactly n bytes; nullopt on EOF, error or timeout.
  std::optional<std::string> read(size_t n) {
    std::string out(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::recv(fd_, out.data() + got, n - got, 0);
      if (r <= 0) return std::nullopt;
      got += static_cast<size_t>(r);
    }
    return out;
  }

  // True once the transport has closed the connection (EOF or reset); false on timeout.
  bool closed_by_peer() {
    char buf[4096];
    for (;;) {
      ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r == 0) return true;
      if (r < 0) return errno == ECONNRESET || errno == EPIPE;
    }
  }

  // Sends a hello and returns the answer; when that is ok, also proves `secret` (auth) and
  // returns the verdict in `auth` (when given) with `status` bad_secret when refused.
  std::optional<HelloAck> handshake(NodeId from, NodeId to, const std::string& cluster,
                                    const std::string& secret = "",
                                    std::optional<AuthAck>* auth = nullptr) {
    write(frame(FrameKind::hello,
                encode_hello(Hello{kProtocolVersion, raft::kMessageVersion, from, to, cluster})));
    auto payload = read_frame(FrameKind::hello_ack);
    if (!payload) return std::nullopt;
    auto ack = decode_hello_ack(*payload);
    if (!ack) return std::nullopt;
    if (ack->status != HandshakeStatus::ok) return *ack;
    HandshakeTranscript t{cluster, from, to, std::string(kNonceBytes, 'n'), ack->nonce};
    write(frame(FrameKind::auth,
                encode_auth(Auth{t.dialer_nonce,
                                 handshake_proof(secret, HandshakeSide::dialer, t)})));
    auto verdict_payload = read_frame(FrameKind::auth_ack);
    if (!verdict_payload) return std::nullopt;
    auto verdict = decode_auth_ack(*verdict_payload);
    if (!verdict) return std::nullopt;
    if (auth) *auth = *verdict;
    if (verdict->status == HandshakeStatus::ok &&
        !constant_time_equal(verdict->proof,
                             handshake_proof(secret, HandshakeSide::acceptor, t))) {
      return std::nullopt;  // the acceptor did not prove the secret
    }
    HelloAck out = *ack;
    out.status = verdict->status;
    return out;
  }

  // Reads one handshake frame of `kind`; its payload, or nullopt.
  std::optional<std::string> read_frame(FrameKind kind) {
    auto header = read(kFrameHeaderBytes);
    if (!header) return std::nullopt;
    HeaderBytes h;
    std::copy(header->begin(), header->end(), h.begin());
    auto fh = decode_header(h, kMaxHandshakeBytes);
    if (!fh || fh->kind != kind) return std::nullopt;
    auto payload = read(fh->length);
    if (!payload || !crc_matches(*fh, *payload)) return std::nullopt;
    return payload;
  }

  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

/// A listening socket on an ephemeral port. Without accept(), the kernel still completes TCP
/// handshakes into the backlog: a dialer gets connected and then waits for an answer forever.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() { ::close(fd_); }
  uint16_t port() const { return port_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// --- Delivery ---

TEST(Transport, TwoNodesExchangeEveryMessageType) {
  TestNode a(1), b(2);
  connect_all({&a, &b});
  for (const Message& m : every_type(1, 2)) a.transport->send(m);
  for (const Message& m : every_type(2, 1)) b.transport->send(m);
  ASSERT_TRUE(b.inbox.wait_for(11));
  ASSERT_TRUE(a.inbox.wait_for(11));
  EXPECT_EQ(b.inbox.messages(), every_type(1, 2));  // decoded equal, in order
  EXPECT_EQ(a.inbox.messages(), every_type(2, 1));
  auto pa = a.peer(2), pb = b.peer(1);
  EXPECT_EQ(pa.frames_sent, 11u);
  EXPECT_EQ(pb.frames_received, 11u);
  EXPECT_EQ(pa.bytes_sent, pb.bytes_received);
  EXPECT_EQ(pa.dropped, 0u);
  EXPECT_EQ(pa.connects, 1u);
}

TEST(Transport, ThreeNodesFullMeshWithSeveralIoThreads) {
  TransportOptions o3 = options(3);
  o3.threads = 3;
  TestNode a(1), b(2), c(o3);
  connect_all({&a, &b, &c});
  std::vector<TestNode*> nodes{&a, &b, &c};
  for (TestNode* from : nodes)
    for (TestNode* to : nodes)
      if (from != to)
        for (const Message& m : every_type(from->id, to->id)) from->transport->send(m);
  for (TestNode* n : nodes) {
    ASSERT_TRUE(n->inbox.wait_for(22));
    // Per sender, messages arrive decoded equal and in the order sent.
    for (TestNode* from : nodes) {
      if (from == n) continue;
      std::vector<Message> got;
      for (Message& m : n->inbox.messages())
        if (m.from == from->id) got.push_back(std::move(m));
      EXPECT_EQ(got, every_type(from->id, n->id)) << from->id << " -> " << n->id;
    }
  }
}

TEST(Transport, LargeChunkAndManySmallMessagesArriveInOrder) {
  TestNode a(1), b(2);
  connect_all({&a, &b});
  Message big = sample(MessageType::snapshot, 1, 2);
  big.chunk = std::string(8u << 20, '\x5a');
  a.transport->send(big);
  constexpr int kSmall = 2000;
  for (int i = 0; i < kSmall; ++i) a.transport->send(sample(MessageType::heartbeat, 1, 2, i));
  ASSERT_TRUE(b.inbox.wait_for(kSmall + 1));
  auto got = b.inbox.messages();
  EXPECT_EQ(got[0], big);
  for (int i = 0; i < kSmall; ++i) EXPECT_EQ(got[i + 1].context, static_cast<uint64_t>(i));
  EXPECT_EQ(a.peer(2).frames_sent, static_cast<uint64_t>(kSmall + 1));
  EXPECT_EQ(a.peer(2).dropped, 0u);
}

// --- Reconnection ---

TEST(Transport, PeerThatStartsLaterIsDialedUntilUp) {
  uint16_t port = 0;
  {
    TestNode probe_port(2);  // learn a free port, then free it
    port = probe_port.port();
  }
  TestNode a(1);
  ASSERT_TRUE(a.transport->set_peers({{2, local(port)}}));
  ASSERT_TRUE(wait_until([&] { return a.peer(2).connect_failures >= 2; }));
  // Sent while the peer is down: dropped (counted) at the next failed dial, never stored.
  for (int i = 0; i < 5; ++i) a.transport->send(sample(MessageType::heartbeat, 1, 2, i));
  ASSERT_TRUE(wait_until([&] { return a.peer(2).dropped >= 5; }));

  TestNode b(2, "test-cluster", port);
  ASSERT_EQ(b.port(), port);
  ASSERT_TRUE(wait_until([&] { return a.connected_to(2); }));
  a.transport->send(sample(MessageType::vote, 1, 2, 77));
  ASSERT_TRUE(b.inbox.wait_for(1));
  EXPECT_EQ(b.inbox.messages().back(), sample(MessageType::vote, 1, 2, 77));
}

TEST(Transport, RestartedPeerIsReconnected) {
  TestNode a(1);
  auto b = std::make_unique<TestNode>(2);
  const uint16_t port = b->port();
  connect_all({&a, b.get()});
  a.transport->send(sample(MessageType::append, 1, 2));
  ASSERT_TRUE(b->inbox.wait_for(1));

  b.reset();  // stop and destroy: a sees its connection close
  ASSERT_TRUE(wait_until([&] { return !a.connected_to(2); }));
  b = std::make_unique<TestNode>(2, "test-cluster", port);
  ASSERT_TRUE(b->transport->set_peers({{1, local(a.port())}}));
  ASSERT_TRUE(wait_until([&] { return a.peer(2).connects >= 2 && a.connected_to(2); }));
  a.transport->send(sample(MessageType::append, 1, 2, 5));
  ASSERT_TRUE(b->inbox.wait_for(1));
  EXPECT_EQ(b->inbox.messages()[0], sample(MessageType::append, 1, 2, 5));
  // And the other direction, on the restarted node's own outbound connection.
  b->transport->send(sample(MessageType::append_resp, 2, 1));
  ASSERT_TRUE(a.inbox.wait_for(1));
}

// --- Handshake ---

TEST(Transport, ClusterIdMismatchIsRefusedOnBothSides) {
  TestNode a(1, "cluster-x"), b(2, "cluster-y");
  ASSERT_TRUE(a.transport->set_peers({{2, local(b.port())}}));
  ASSERT_TRUE(b.transport->set_peers({{1, local(a.port())}}));
  // Each node refuses the other's hello and sees its own refused: two per side.
  ASSERT_TRUE(wait_until([&] {
    return a.transport->probe().rejected_handshakes >= 2 &&
           b.transport->probe().rejected_handshakes >= 2;
  }));
  for (const Message& m : every_type(1, 2)) a.transport->send(m);
  for (const Message& m : every_type(2, 1)) b.transport->send(m);
  // The messages are dropped when the next dial is refused again.
  ASSERT_TRUE(wait_until([&] { return a.peer(2).dropped >= 11 && b.peer(1).dropped >= 11; }));
  EXPECT_EQ(a.inbox.size(), 0u);
  EXPECT_EQ(b.inbox.size(), 0u);
  EXPECT_EQ(a.peer(2).connects, 0u);
  EXPECT_EQ(b.peer(1).connects, 0u);
  EXPECT_EQ(b.peer(1).frames_received, 0u);
}

TransportOptions with_secrets(NodeId id, std::vector<std::string> secrets) {
  TransportOptions o = options(id);
  o.cluster_secrets = std::move(secrets);
  return o;
}

TEST(Transport, HandshakeAnswersEachRefusalReason) {
  TestNode b(2, "prod");
  {
    RawConn raw(b.port());
    auto ack = raw.handshake(1, 2, "staging");
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->status, HandshakeStatus::cluster_mismatch);
    EXPECT_EQ(ack->cluster_id, "prod");
    EXPECT_EQ(ack->from, 2u);
    EXPECT_TRUE(raw.closed_by_peer());
  }
  {
    RawConn raw(b.port());
    auto ack = raw.handshake(1, 3, "prod");  // dialed node 3, reached node 2
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->status, HandshakeStatus::wrong_node);
    EXPECT_TRUE(raw.closed_by_peer());
  }
  {
    RawConn raw(b.port());
    raw.write(frame(FrameKind::hello, encode_hello(Hello{kProtocolVersion + 1,
                                                         raft::kMessageVersion, 1, 2, "prod"})));
    auto header = raw.read(kFrameHeaderBytes);
    ASSERT_TRUE(header);
    auto payload = raw.read(static_cast<uint8_t>((*header)[11]));
    ASSERT_TRUE(payload);
    EXPECT_EQ(decode_hello_ack(*payload)->status, HandshakeStatus::version_mismatch);
  }
  {
    // A protocol-1 node (before the cluster secret) is accepted without a challenge by a node
    // that has no secret either (docs/transport.md, "Versions")…
    RawConn raw(b.port());
    raw.write(frame(FrameKind::hello,
                    encode_hello(Hello{1, raft::kMessageVersion, 1, 2, "prod"})));
    auto payload = raw.read_frame(FrameKind::hello_ack);
    ASSERT_TRUE(payload);
    auto ack = decode_hello_ack(*payload);
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->status, HandshakeStatus::ok);
    EXPECT_TRUE(ack->nonce.empty());
  }
  {
    // …and refused, readably, by a node that has one.
    TestNode c(with_secrets(3, {"secret"}));
    RawConn raw(c.port());
    raw.write(frame(FrameKind::hello,
                    encode_hello(Hello{1, raft::kMessageVersion, 1, 3, "test-cluster"})));
    auto payload = raw.read_frame(FrameKind::hello_ack);
    ASSERT_TRUE(payload);
    auto ack = decode_hello_ack(*payload);
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->status, HandshakeStatus::version_mismatch);
    EXPECT_NE(ack->reason.find("protocol 1"), std::string::npos) << ack->reason;
  }
  {
    RawConn raw(b.port());
    auto ack = raw.handshake(1, 2, "prod");
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->status, HandshakeStatus::ok);
  }
  EXPECT_EQ(b.transport->probe().rejected_handshakes, 3u);
}


TEST(Transport, NodeWithAnotherClusterSecretNeverConnects) {
  TestNode a(with_secrets(1, {"secret-a"})), b(with_secrets(2, {"secret-b"}));
  ASSERT_TRUE(a.transport->set_peers({{2, local(b.port())}}));
  ASSERT_TRUE(b.transport->set_peers({{1, local(a.port())}}));
  // Each acceptor refuses the other's proof; each dialer sees its proof refused.
  ASSERT_TRUE(wait_until([&] {
    return a.transport->probe().rejected_handshakes >= 2 &&
           b.transport->probe().rejected_handshakes >= 2;
  }));
  for (const Message& m : every_type(1, 2)) a.transport->send(m);
  for (const Message& m : every_type(2, 1)) b.transport->send(m);
  ASSERT_TRUE(wait_until([&] { return a.peer(2).dropped >= 11 && b.peer(1).dropped >= 11; }));
  EXPECT_EQ(a.inbox.size(), 0u);
  EXPECT_EQ(b.inbox.size(), 0u);
  EXPECT_EQ(a.peer(2).connects, 0u);
  EXPECT_EQ(b.peer(1).connects, 0u);
}

TEST(Transport, NodeWithoutASecretCannotJoinNodesThatHaveOne) {
  TestNode a(with_secrets(1, {"secret"})), b(options(2));
  ASSERT_TRUE(a.transport->set_peers({{2, local(b.port())}}));
  ASSERT_TRUE(b.transport->set_peers({{1, local(a.port())}}));
  ASSERT_TRUE(wait_until([&] {
    return a.transport->probe().rejected_handshakes >= 2 &&
           b.transport->probe().rejected_handshakes >= 2;
  }));
  EXPECT_FALSE(a.connected_to(2));
  EXPECT_FALSE(b.connected_to(1));
}

TransportOptions speaking_protocol_1(NodeId id) {
  TransportOptions o = options(id);
  o.protocol = 1;
  return o;
}

// A rolling upgrade from a release before peer authentication (docs/transport.md, "Versions"):
// without a cluster secret, a current node and an old one talk, in both directions.
TEST(Transport, NodeWithoutASecretTalksToANodeBeforePeerAuthentication) {
  TestNode old_node(speaking_protocol_1(1)), b(options(2));
  ASSERT_TRUE(old_node.transport->set_peers({{2, local(b.port())}}));
  ASSERT_TRUE(b.transport->set_peers({{1, local(old_node.port())}}));
  // b's first hello (protocol 2) is refused as too new; it dials again with protocol 1.
  ASSERT_TRUE(wait_until([&] { return b.connected_to(1) && old_node.connected_to(2); }));
  b.transport->send(sample(MessageType::vote, 2, 1));
  old_node.transport->send(sample(MessageType::vote, 1, 2));
  ASSERT_TRUE(old_node.inbox.wait_for(1));
  ASSERT_TRUE(b.inbox.wait_for(1));
  EXPECT_EQ(b.transport->probe().rejected_handshakes, 0u);
}

// With a secret, protocol 1 (no challenge) is refused both ways: the secret must be proven.
TEST(Transport, NodeWithASecretRefusesANodeBeforePeerAuthentication) {
  TestNode old_node(speaking_protocol_1(1)), b(with_secrets(2, {"secret"}));
  ASSERT_TRUE(old_node.transport->set_peers({{2, local(b.port())}}));
  ASSERT_TRUE(b.transport->set_peers({{1, local(old_node.port())}}));
  ASSERT_TRUE(wait_until([&] {
    return old_node.transport->probe().rejected_handshakes >= 2 &&
           b.transport->probe().rejected_handshakes >= 2;
  }));
  b.transport->send(sample(MessageType::vote, 2, 1));
  old_node.transport->send(sample(MessageType::vote, 1, 2));
  EXPECT_FALSE(b.connected_to(1));
  EXPECT_FALSE(old_node.connected_to(2));
  EXPECT_EQ(old_node.inbox.size(), 0u);
  EXPECT_EQ(b.inbox.size(), 0u);
}

TEST(Transport, RotationAcceptsEveryListedSecretAndProvesWithTheFirst) {
  // Mid-rotation: node 1 already proves with the new secret and still accepts the old one;
  // node 2 knows only the old one (it proves with it, and cannot check a proof under the new).
  TestNode a(with_secrets(1, {"new", "old"})), b(with_secrets(2, {"old"}));
  ASSERT_TRUE(a.transport->set_peers({{2, local(b.port())}}));
  ASSERT_TRUE(b.transport->set_peers({{1, local(a.port())}}));
  // 2 -> 1: 2 proves "old", 1 accepts it and answers under "old": connected.
  ASSERT_TRUE(wait_until([&] { return b.connected_to(1); }));
  b.transport->send(sample(MessageType::vote, 2, 1));
  ASSERT_TRUE(a.inbox.wait_for(1));
  // 1 -> 2: 1 proves "new", which 2 does not know: refused.
  ASSERT_TRUE(wait_until([&] { return b.transport->probe().rejected_handshakes >= 1; }));
  EXPECT_FALSE(a.connected_to(2));
}

TEST(Transport, HandshakeProofsAreCheckedBothWays) {
  TestNode b(with_secrets(2, {"s3cret"}));
  {
    RawConn raw(b.port());
    std::optional<AuthAck> verdict;
    auto ack = raw.handshake(1, 2, "test-cluster", "guess", &verdict);
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->status, HandshakeStatus::bad_secret);
    ASSERT_TRUE(verdict);
    EXPECT_TRUE(verdict->proof.empty());  // nothing under the secret for a dialer that failed
    EXPECT_NE(verdict->reason.find("cluster secret"), std::string::npos) << verdict->reason;
    EXPECT_TRUE(raw.closed_by_peer());
  }
  {
    // A hello, then a message instead of the proof: the connection is closed.
    RawConn raw(b.port());
    raw.write(frame(FrameKind::hello,
                    encode_hello(Hello{kProtocolVersion, raft::kMessageVersion, 1, 2,
                                       "test-cluster"})));
    ASSERT_TRUE(raw.read_frame(FrameKind::hello_ack));
    raw.write(frame(FrameKind::message, raft::encode(sample(MessageType::vote, 1, 2))));
    EXPECT_TRUE(raw.closed_by_peer());
  }
  {
    RawConn raw(b.port());
    auto ack = raw.handshake(1, 2, "test-cluster", "s3cret");  // checks the acceptor's proof
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->status, HandshakeStatus::ok);
    raw.write(frame(FrameKind::message, raft::encode(sample(MessageType::vote, 1, 2))));
    ASSERT_TRUE(b.inbox.wait_for(1));
  }
  EXPECT_EQ(b.inbox.size(), 1u);
}

TEST(Transport, HelloWithoutProofTimesOut) {
  TransportOptions o = with_secrets(2, {"s"});
  o.handshake_timeout_ms = 200;
  TestNode b(o);
  RawConn raw(b.port());
  raw.write(frame(FrameKind::hello, encode_hello(Hello{kProtocolVersion, raft::kMessageVersion,
                                                       1, 2, "test-cluster"})));
  ASSERT_TRUE(raw.read_frame(FrameKind::hello_ack));
  EXPECT_TRUE(raw.closed_by_peer());
  EXPECT_EQ(b.transport->probe().handshake_timeouts, 1u);
  EXPECT_EQ(b.inbox.size(), 0u);
}

TEST(Transport, WrongNodeAtPeerAddressIsRefused) {
  TestNode a(1), b(2);
  ASSERT_TRUE(a.transport->set_peers({{3, local(b.port())}}));  // says node 3 lives there
  ASSERT_TRUE(wait_until([&] {
    return a.transport->probe().rejected_handshakes >= 1 &&
           b.transport->probe().rejected_handshakes >= 1;
  }));
  EXPECT_FALSE(a.connected_to(3));
}

TEST(Transport, SilentConnectionIsClosedAfterTheHandshakeTimeout) {
  TransportOptions o = options(2);
  o.handshake_timeout_ms = 200;
  TestNode b(o);
  RawConn raw(b.port());
  ASSERT_TRUE(raw.connected());
  EXPECT_TRUE(raw.closed_by_peer());
  EXPECT_EQ(b.transport->probe().handshake_timeouts, 1u);
}

// --- Hostile or broken input ---

TEST(Transport, OversizedFrameClaimDisconnectsBeforeAllocating) {
  TransportOptions o = options(2);
  o.max_frame_bytes = 1u << 20;
  TestNode b(o);
  {
    // After the handshake: limit max_frame_bytes. The claim is 4 GiB - 1; only the header is read.
    RawConn raw(b.port());
    ASSERT_EQ(raw.handshake(1, 2, "test-cluster")->status, HandshakeStatus::ok);
    HeaderBytes h = encode_header(FrameKind::message, "");
    h[8] = h[9] = h[10] = h[11] = 0xFF;
    raw.write(std::string(reinterpret_cast<const char*>(h.data()), h.size()));
    EXPECT_TRUE(raw.closed_by_peer());
  }
  {
    // Just over the limit.
    RawConn raw(b.port());
    ASSERT_EQ(raw.handshake(1, 2, "test-cluster")->status, HandshakeStatus::ok);
    std::string f = frame(FrameKind::message, std::string((1u << 20) + 1, 'x'));
    raw.write(f.substr(0, kFrameHeaderBytes));
    EXPECT_TRUE(raw.closed_by_peer());
  }
  {
    // Before the handshake the limit is kMaxHandshakeBytes: a 1 MiB "hello" is refused.
    RawConn raw(b.port());
    std::string f = frame(FrameKind::hello, std::string(1u << 20, 'x'));
    raw.write(f.substr(0, kFrameHeaderBytes));
    EXPECT_TRUE(raw.closed_by_peer());
  }
  EXPECT_EQ(b.transport->probe().oversized_frames, 3u);
  EXPECT_EQ(b.inbox.size(), 0u);
}

TEST(Transport, MalformedInputDisconnectsAndOtherPeersAreStillServed) {
  TestNode a(1), b(2);
  connect_all({&a, &b});
  const std::string good = frame(FrameKind::message, raft::encode(sample(MessageType::vote, 7, 2)));
  struct Case {
    const char* name;
    bool handshake;  // send a valid hello first
    std::string bytes;
    bool shutdown;  // half-close after the bytes (truncation)
  };
  std::string wrong_magic = good;
  wrong_magic[0] = 'X';
  std::string bad_crc = good;
  bad_crc.back() ^= 1;
  std::string bad_version = good;
  bad_version[4] = 9;
  const std::vector<Case> cases = {
      {"garbage", false, std::string(64, '\x17'), false},
      {"garbage after hello", true, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", false},
      {"wrong magic", true, wrong_magic, false},
      {"wrong frame version", true, bad_version, false},
      {"bad crc", true, bad_crc, false},
      {"message before hello", false, good, false},
      {"second hello", true, frame(FrameKind::hello, encode_hello(Hello{1, 1, 7, 2, "x"})), false},
      {"truncated header", true, good.substr(0, 9), true},
      {"truncated payload", true, good.substr(0, good.size() - 3), true},
      {"undecodable raft message", true, frame(FrameKind::message, "\x01\x05garbage"), false},
  };
  for (const Case& c : cases) {
    RawConn raw(b.port());
    if (c.handshake) {
      ASSERT_EQ(raw.handshake(7, 2, "test-cluster")->status, HandshakeStatus::ok) << c.name;
    }
    raw.write(c.bytes);
    if (c.shutdown) raw.shutdown_write();
    EXPECT_TRUE(raw.closed_by_peer()) << c.name;
  }
  auto probe = b.transport->probe();
  EXPECT_EQ(probe.bad_frames, 9u);
  EXPECT_EQ(probe.decode_errors, 1u);
  EXPECT_EQ(b.inbox.size(), 0u);
  // The real peer's connection was never disturbed.
  a.transport->send(sample(MessageType::heartbeat, 1, 2, 1));
  ASSERT_TRUE(b.inbox.wait_for(1));
  EXPECT_EQ(a.peer(2).connects, 1u);
}

TEST(Transport, MisaddressedMessagesAreDroppedButTheConnectionStays) {
  TestNode b(2);
  RawConn raw(b.port());
  ASSERT_EQ(raw.handshake(7, 2, "test-cluster")->status, HandshakeStatus::ok);
  raw.write(frame(FrameKind::message, raft::encode(sample(MessageType::vote, 7, 3))));  // not us
  raw.write(frame(FrameKind::message, raft::encode(sample(MessageType::vote, 8, 2))));  // not 7
  raw.write(frame(FrameKind::message, raft::encode(sample(MessageType::vote, 7, 2))));
  ASSERT_TRUE(b.inbox.wait_for(1));
  EXPECT_EQ(b.inbox.messages()[0], sample(MessageType::vote, 7, 2));
  EXPECT_EQ(b.transport->probe().dropped_misaddressed, 2u);
  EXPECT_EQ(b.peer(7).frames_received, 1u);
}

// --- Drops and backpressure ---

TEST(Transport, SendToUnknownPeerOrWhenNotRunningIsCountedAndDropped) {
  TransportOptions o = options(1);
  TcpTransport t(o, [](Message) {});
  t.send(sample(MessageType::vote, 1, 2));  // before start()
  ASSERT_TRUE(t.start());
  t.send(sample(MessageType::vote, 1, 42));  // not a peer
  t.send(sample(MessageType::vote, 1, 1));   // to self
  t.stop();
  t.send(sample(MessageType::vote, 1, 2));  // after stop()
  auto probe = t.probe();
  EXPECT_EQ(probe.dropped_unknown_peer, 2u);
  EXPECT_EQ(probe.dropped_not_running, 2u);
}

TEST(Transport, FullQueueDropsOldestWithoutBlocking) {
  Listener never_answers;
  TransportOptions o = options(1);
  o.max_queue_frames = 4;
  o.handshake_timeout_ms = 60'000;  // the dial stays pending for the whole test
  TestNode a(o);
  ASSERT_TRUE(a.transport->set_peers({{9, local(never_answers.port())}}));
  ASSERT_TRUE(wait_until([&] { return a.peer(9).dials == 1; }));
  for (int i = 0; i < 100; ++i) a.transport->send(sample(MessageType::heartbeat, 1, 9, i));
  EXPECT_EQ(a.peer(9).dropped, 96u);
  Message too_big = sample(MessageType::snapshot, 1, 9);
  too_big.chunk = std::string(raft::kMaxMessageBytes, 'x');
  a.transport->send(too_big);
  EXPECT_EQ(a.transport->probe().dropped_too_large, 1u);
  EXPECT_EQ(a.peer(9).dropped, 97u);
}

// A fake peer that completes the handshake and then never reads: the kernel buffers fill, the
// transport's write stalls, its queue fills, and send() must still return at once.
TEST(Transport, StalledPeerDoesNotBlockSend) {
  Listener listener;
  std::atomic<bool> done{false};
  std::thread fake([&] {
    int fd = ::accept(listener.fd(), nullptr, nullptr);
    if (fd < 0) return;
    // Reads one handshake frame (its payload), as a peer would.
    auto read_frame = [fd]() -> std::optional<std::string> {
      std::string buf(kFrameHeaderBytes, '\0');
      if (::recv(fd, buf.data(), buf.size(), MSG_WAITALL) !=
          static_cast<ssize_t>(kFrameHeaderBytes))
        return std::nullopt;
      std::string payload(static_cast<uint8_t>(buf[11]), '\0');
      (void)::recv(fd, payload.data(), payload.size(), MSG_WAITALL);
      return payload;
    };
    HandshakeTranscript t{"test-cluster", 1, 9, "", std::string(kNonceBytes, 'a')};
    if (read_frame()) {
      std::string ack = frame(FrameKind::hello_ack,
                              encode_hello_ack(HelloAck{HandshakeStatus::ok, 9, "test-cluster",
                                                        "", t.acceptor_nonce}));
      (void)::send(fd, ack.data(), ack.size(), MSG_NOSIGNAL);
      if (auto auth = read_frame()) {
        t.dialer_nonce = decode_auth(*auth).value().nonce;
        std::string verdict = frame(
            FrameKind::auth_ack,
            encode_auth_ack(AuthAck{HandshakeStatus::ok,
                                    handshake_proof("", HandshakeSide::acceptor, t), ""}));
        (void)::send(fd, verdict.data(), verdict.size(), MSG_NOSIGNAL);
      }
    }
    while (!done) std::this_thread::sleep_for(5ms);
    ::close(fd);
  });
  struct Release {  // whatever happens below, the fake peer thread ends
    Listener& l;
    std::atomic<bool>& done;
    ~Release() {
      done = true;
      ::shutdown(l.fd(), SHUT_RDWR);  // unblocks accept() if no dial ever came
    }
  };
  TransportOptions o = options(1);
  o.max_queue_bytes = 2u << 20;
  o.write_timeout_ms = 60'000;
  // The fake peer never reads, so its window stays closed; Linux caps zero-window probing with
  // TCP_USER_TIMEOUT too (1 s by default), which cut the connection before the checks below in
  // an ASan build on a loaded machine (CI, 2026-12-03).
  o.user_timeout_ms = 60'000;
  {
    Release release{listener, done};
    TestNode a(o);
    ASSERT_TRUE(a.transport->set_peers({{9, local(listener.port())}}));
    ASSERT_TRUE(wait_until([&] { return a.connected_to(9); }));
    Message m = sample(MessageType::append, 1, 9);
    m.entries[0].data = std::string(64 << 10, 'v');
    for (int i = 0; i < 2000; ++i) a.transport->send(m);  // 128 MiB: far more than buffers hold
    auto p = a.peer(9);
    EXPECT_GT(p.dropped, 0u);
    EXPECT_TRUE(p.connected);
  }  // stop() with a write stalled in flight, then the fake peer is released
  fake.join();
}

// --- Membership changes ---

TEST(Transport, SetPeersClosesRemovedPeersAndDialsNewOnes) {
  TestNode a(1), b(2), c(3);
  connect_all({&a, &b});
  ASSERT_FALSE(a.transport->set_peers({{2, "no-port"}}));  // invalid: nothing changes
  EXPECT_TRUE(a.connected_to(2));

  ASSERT_TRUE(a.transport->set_peers({{1, local(a.port())}, {3, local(c.port())}}));
  ASSERT_TRUE(wait_until([&] { return !a.connected_to(2); }));
  ASSERT_TRUE(wait_until([&] { return a.connected_to(3); }));
  a.transport->send(sample(MessageType::vote, 1, 2));  // removed: unknown now
  EXPECT_EQ(a.transport->probe().dropped_unknown_peer, 1u);
  a.transport->send(sample(MessageType::vote, 1, 3));
  ASSERT_TRUE(c.inbox.wait_for(1));

  ASSERT_TRUE(a.transport->set_peers({{2, local(b.port())}, {3, local(c.port())}}));
  ASSERT_TRUE(wait_until([&] { return a.connected_to(2); }));
  a.transport->send(sample(MessageType::vote, 1, 2, 5));
  ASSERT_TRUE(b.inbox.wait_for(1));
  EXPECT_EQ(b.inbox.messages()[0].context, 5u);
  EXPECT_EQ(a.transport->probe().peers.count(1), 0u);  // own id ignored
}

// --- Lifecycle ---

TEST(Transport, StopWithTrafficInFlightIsClean) {
  std::vector<std::unique_ptr<TestNode>> nodes;
  for (NodeId id = 1; id <= 3; ++id) {
    TransportOptions o = options(id);
    o.threads = 2;
    o.max_queue_bytes = 4u << 20;
    nodes.push_back(std::make_unique<TestNode>(o));
  }
  connect_all({nodes[0].get(), nodes[1].get(), nodes[2].get()});
  std::atomic<bool> done{false};
  std::vector<std::thread> senders;
  for (auto& n : nodes) {
    TcpTransport* t = n->transport.get();
    const NodeId from = n->id;
    for (int k = 0; k < 2; ++k) {
      senders.emplace_back([t, from, &done] {
        uint64_t i = 0;
        while (!done) {
          const NodeId to = 1 + (from + i % 2) % 3;
          t->send(sample(static_cast<MessageType>(1 + i % 11), from, to, i));
          ++i;
        }
      });
    }
  }
  for (auto& n : nodes) ASSERT_TRUE(n->inbox.wait_for(200));
  // Stop each node while every sender is still sending, to it and from it.
  for (auto& n : nodes) n->transport->stop();
  done = true;
  for (auto& s : senders) s.join();
  for (auto& n : nodes) {
    n->transport->stop();  // idempotent
    n->transport->send(sample(MessageType::vote, n->id, 1 + n->id % 3));
    EXPECT_GE(n->transport->probe().dropped_not_running, 1u);
  }
}

TEST(Transport, LifecycleEdgeCases) {
  {
    TcpTransport never_started(options(1), [](Message) {});
    ASSERT_TRUE(never_started.set_peers({{2, "127.0.0.1:1"}}));
    never_started.stop();
    never_started.stop();
  }
  {
    TcpTransport destroyed_running(options(1), [](Message) {});
    ASSERT_TRUE(destroyed_running.start());
    ASSERT_TRUE(destroyed_running.set_peers({{2, "127.0.0.1:1"}}));
  }  // the destructor stops it
  TestNode a(1);
  TcpTransport same_port(options(2, "test-cluster", a.port()), [](Message) {});
  EXPECT_FALSE(same_port.start());     // address in use
  EXPECT_FALSE(a.transport->start());  // already started
  TransportOptions no_id = options(0);
  EXPECT_FALSE(TcpTransport(no_id, [](Message) {}).start());
  EXPECT_FALSE(TcpTransport(options(1, ""), [](Message) {}).start());
  EXPECT_FALSE(TcpTransport(options(1, std::string(256, 'c')), [](Message) {}).start());
  TransportOptions bad_listen = options(1);
  bad_listen.listen = "localhost";
  EXPECT_FALSE(TcpTransport(bad_listen, [](Message) {}).start());
}

}  // namespace
}  // namespace cairn::transport
