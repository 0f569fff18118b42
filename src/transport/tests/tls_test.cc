// Mutual TLS between peers (docs/security.md), with certificates made by openssl for the test
// (tests/tls/make_pki.sh): same CA talks; another CA's certificate, no certificate, or a plain
// TCP peer never gets a message through.

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "test_support.h"
#include "transport/transport.h"

namespace cairn::transport {
namespace {

using raft::Message;
using raft::MessageType;
using raft::NodeId;
using namespace std::chrono_literals;
using cairn::test::wait_until;

/// The PKI of this test binary: CA "ca" with n1, n2; CA "rogue" with r1. Made once.
const std::string& pki() {
  static const std::string dir = [] {
    static const cairn::test::TempDir tmp("cairn-tls-test");
    const std::string& d = tmp.path();
    std::string script = CAIRN_PKI_SCRIPT;
    int rc =
        std::system((script + " " + d + " ca n1 n2 && " + script + " " + d + " rogue r1").c_str());
    EXPECT_EQ(rc, 0) << "make_pki.sh failed (is the openssl command installed?)";
    return d;
  }();
  return dir;
}

struct Node {
  Node(NodeId id, const std::string& cert, const std::string& ca) {
    TransportOptions o;
    o.node_id = id;
    o.cluster_id = "tls-test";
    o.listen = "127.0.0.1:0";
    o.backoff_initial_ms = 10;
    o.backoff_max_ms = 100;
    if (!cert.empty()) {
      o.tls_cert = pki() + "/" + cert + ".pem";
      o.tls_key = pki() + "/" + cert + ".key";
      o.tls_ca = pki() + "/" + ca + ".pem";
    }
    transport = std::make_unique<TcpTransport>(std::move(o), [this](Message m) {
      std::lock_guard lock(mu);
      got.push_back(std::move(m));
      cv.notify_all();
    });
    auto started = transport->start();
    EXPECT_TRUE(started.ok()) << (started.ok() ? "" : started.error());
  }
  ~Node() { transport->stop(); }
  size_t received() {
    std::lock_guard lock(mu);
    return got.size();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(transport->port()); }

  std::unique_ptr<TcpTransport> transport;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Message> got;
};

Message heartbeat(NodeId from, NodeId to) {
  Message m;
  m.type = MessageType::heartbeat;
  m.from = from;
  m.to = to;
  m.term = 3;
  return m;
}

void link(Node& a, NodeId a_id, Node& b, NodeId b_id) {
  ASSERT_TRUE(a.transport->set_peers({{b_id, b.address()}}).ok());
  ASSERT_TRUE(b.transport->set_peers({{a_id, a.address()}}).ok());
}

TEST(PeerTls, NodesOfTheSameCaExchangeMessages) {
  Node a(1, "n1", "ca"), b(2, "n2", "ca");
  link(a, 1, b, 2);
  ASSERT_TRUE(wait_until([&] {
    return a.transport->probe().peers[2].connected && b.transport->probe().peers[1].connected;
  }));
  for (int i = 0; i < 5; ++i) a.transport->send(heartbeat(1, 2));
  b.transport->send(heartbeat(2, 1));
  ASSERT_TRUE(wait_until([&] { return b.received() == 5 && a.received() == 1; }));
}

TEST(PeerTls, ACertificateFromAnotherCaIsRefusedBothWays) {
  Node a(1, "n1", "ca"), rogue(2, "r1", "ca");  // rogue trusts our CA, but is not signed by it
  link(a, 1, rogue, 2);
  ASSERT_TRUE(wait_until([&] {
    return a.transport->probe().rejected_handshakes >= 2 &&
           rogue.transport->probe().rejected_handshakes >= 2;
  }));
  for (int i = 0; i < 20; ++i) {
    rogue.transport->send(heartbeat(2, 1));
    a.transport->send(heartbeat(1, 2));
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(a.received(), 0u);
  EXPECT_EQ(rogue.received(), 0u);
  EXPECT_EQ(a.transport->probe().peers[2].connects, 0u);
  EXPECT_EQ(rogue.transport->probe().peers[1].connects, 0u);
}

TEST(PeerTls, APlainTcpPeerGetsNothingThrough) {
  Node a(1, "n1", "ca"), plain(2, "", "");
  link(a, 1, plain, 2);
  ASSERT_TRUE(wait_until([&] {
    return a.transport->probe().rejected_handshakes >= 2 &&
           plain.transport->probe().peers[1].connect_failures >= 2;
  }));
  for (int i = 0; i < 20; ++i) {
    plain.transport->send(heartbeat(2, 1));
    a.transport->send(heartbeat(1, 2));
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(a.received(), 0u);
  EXPECT_EQ(plain.received(), 0u);
}

TEST(PeerTls, IncompleteOrUnreadableSettingsAreRefusedAtStart) {
  TransportOptions o;
  o.node_id = 1;
  o.cluster_id = "tls-test";
  o.tls_cert = pki() + "/n1.pem";
  {
    TcpTransport t(o, [](Message) {});
    auto r = t.start();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("all of"), std::string::npos) << r.error();
  }
  o.tls_key = pki() + "/n1.key";
  o.tls_ca = pki() + "/missing.pem";
  {
    TcpTransport t(o, [](Message) {});
    auto r = t.start();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("CA"), std::string::npos) << r.error();
  }
  o.tls_ca = pki() + "/ca.pem";
  o.tls_key = pki() + "/n2.key";  // not the certificate's key
  {
    TcpTransport t(o, [](Message) {});
    EXPECT_FALSE(t.start().ok());
  }
}

}  // namespace
}  // namespace cairn::transport
