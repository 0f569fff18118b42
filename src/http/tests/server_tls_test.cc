// HTTPS (docs/security.md): the server with a certificate made by openssl for the test
// (tests/tls/make_pki.sh), a blocking Asio SSL client, and the cases that differ from plain
// HTTP: the handshake, client certificates, hang-up detection and streams over TLS.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "http/client.h"
#include "http/server.h"
#include "test_support.h"

namespace cairn::http {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using cairn::test::wait_until;

const std::string& pki() {
  static const std::string dir = [] {
    static const cairn::test::TempDir tmp("cairn-https-test");
    const std::string& d = tmp.path();
    std::string script = CAIRN_PKI_SCRIPT;
    int rc = std::system(
        (script + " " + d + " ca server client && " + script + " " + d + " rogue stranger")
            .c_str());
    EXPECT_EQ(rc, 0) << "make_pki.sh failed (is the openssl command installed?)";
    return d;
  }();
  return dir;
}

std::string file(const std::string& name) { return pki() + "/" + name; }

/// A blocking HTTPS client that trusts `ca` and, when given, presents `cert`.
class TlsClient {
 public:
  static ssl::context make_context(const std::string& ca, const std::string& cert) {
    ssl::context ctx(ssl::context::tls_client);
    ctx.load_verify_file(file(ca + ".pem"));
    if (!cert.empty()) {
      ctx.use_certificate_chain_file(file(cert + ".pem"));
      ctx.use_private_key_file(file(cert + ".key"), ssl::context::pem);
    }
    return ctx;
  }

  TlsClient(uint16_t port, const std::string& ca, const std::string& cert = {})
      : ctx_(make_context(ca, cert)), stream_(ioc_, ctx_) {
    stream_.set_verify_mode(ssl::verify_peer);
    stream_.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    timeval tv{10, 0};
    boost::system::error_code ec;
    stream_.next_layer().connect({net::ip::make_address("127.0.0.1"), port}, ec);
    ::setsockopt(stream_.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (!ec)
      stream_.handshake(ssl::stream_base::client, handshake_error_);
    else
      handshake_error_ = ec;
  }
  bool ok() const { return !handshake_error_; }
  std::string error() const { return handshake_error_.message(); }

  /// Sends `request` and reads until the connection closes (requests say Connection: close).
  std::string exchange(const std::string& request) {
    boost::system::error_code ec;
    net::write(stream_, net::buffer(request), ec);
    if (ec) return {};
    return read_all();
  }
  void send(const std::string& data) {
    boost::system::error_code ec;
    net::write(stream_, net::buffer(data), ec);
  }
  std::string read_some() {
    char buf[4096];
    boost::system::error_code ec;
    size_t n = stream_.read_some(net::buffer(buf), ec);
    return std::string(buf, ec ? 0 : n);
  }
  std::string read_all() {
    std::string out;
    char buf[4096];
    for (;;) {
      boost::system::error_code ec;
      size_t n = stream_.read_some(net::buffer(buf), ec);
      out.append(buf, n);
      if (ec) return out;
    }
  }
  void hang_up() {
    boost::system::error_code ec;
    stream_.next_layer().close(ec);
  }

 private:
  net::io_context ioc_;
  ssl::context ctx_;
  ssl::stream<tcp::socket> stream_;
  boost::system::error_code handshake_error_;
};

ServerOptions https_options(std::string client_ca = {}) {
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 2;
  o.stop_grace_ms = 500;
  o.tls_cert = file("server.pem");
  o.tls_key = file("server.key");
  if (!client_ca.empty()) o.tls_client_ca = file(client_ca + ".pem");
  return o;
}

Handler hello_handler() {
  return [](RequestPtr req, Reply reply) {
    Response res;
    res.body = "{\"path\":\"" + req->path + "\"}";
    reply(std::move(res));
  };
}

const std::string kGet = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

TEST(Https, ServesRequestsOverTls) {
  Server server(https_options(), hello_handler());
  ASSERT_TRUE(server.start().ok());
  TlsClient client(server.port(), "ca");
  ASSERT_TRUE(client.ok()) << client.error();
  std::string answer = client.exchange(kGet);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_NE(answer.find("{\"path\":\"/hello\"}"), std::string::npos) << answer;
}

TEST(Https, PlainHttpAndUntrustedClientsGetNothing) {
  Server server(https_options(), hello_handler());
  ASSERT_TRUE(server.start().ok());
  // A client that does not trust the server's CA refuses the handshake itself.
  TlsClient wrong_ca(server.port(), "rogue");
  EXPECT_FALSE(wrong_ca.ok());
  // Plain HTTP to the HTTPS port: no HTTP answer, the connection is closed.
  net::io_context ioc;
  tcp::socket s(ioc);
  s.connect({net::ip::make_address("127.0.0.1"), server.port()});
  timeval tv{10, 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  net::write(s, net::buffer(kGet));
  std::string got;
  char buf[1024];
  boost::system::error_code ec;
  while (!ec) got.append(buf, s.read_some(net::buffer(buf), ec));
  EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos) << got;
}

TEST(Https, ClientCertificatesAreRequiredWhenAsked) {
  Server server(https_options("ca"), hello_handler());
  ASSERT_TRUE(server.start().ok());
  TlsClient with_cert(server.port(), "ca", "client");
  ASSERT_TRUE(with_cert.ok()) << with_cert.error();
  EXPECT_EQ(with_cert.exchange(kGet).rfind("HTTP/1.1 200", 0), 0u);
  // Without a certificate, or with one from another CA, no request is answered (TLS 1.3
  // reports the refusal on the first read rather than in the handshake).
  for (std::string cert : {"", "stranger"}) {
    TlsClient client(server.port(), "ca", cert);
    std::string answer = client.ok() ? client.exchange(kGet) : "";
    EXPECT_EQ(answer.find("HTTP/1.1 200"), std::string::npos) << cert << ": " << answer;
  }
}

TEST(Https, HangUpDuringAHeldRequestFiresItsCancellation) {
  std::atomic<bool> cancelled{false};
  std::atomic<bool> held{false};
  Reply kept;
  std::mutex mu;
  Server server(https_options(), [&](RequestPtr req, Reply reply) {
    req->cancellation->on_cancel([&] { cancelled = true; });
    std::lock_guard lock(mu);
    kept = std::move(reply);  // held, like a watch
    held = true;
  });
  ASSERT_TRUE(server.start().ok());
  {
    TlsClient client(server.port(), "ca");
    ASSERT_TRUE(client.ok()) << client.error();
    client.send("GET /watch HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(wait_until([&] { return held.load(); }));
    client.hang_up();
  }
  EXPECT_TRUE(wait_until([&] { return cancelled.load(); }));
  std::lock_guard lock(mu);
  kept = nullptr;
}

TEST(Https, StreamsOverTls) {
  Server server(https_options(), [](RequestPtr, Reply reply) {
    Response res;
    res.content_type = "text/event-stream";
    res.on_stream = [](StreamPtr w) {
      w->write("data: one\n\n");
      w->write("data: two\n\n");
      w->close();
    };
    reply(std::move(res));
  });
  ASSERT_TRUE(server.start().ok());
  TlsClient client(server.port(), "ca");
  ASSERT_TRUE(client.ok()) << client.error();
  std::string answer = client.exchange("GET /s HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(answer.find("data: one"), std::string::npos) << answer;
  EXPECT_NE(answer.find("data: two"), std::string::npos) << answer;
  EXPECT_NE(answer.find("0\r\n\r\n"), std::string::npos) << "the last chunk: " << answer;
}

TEST(Https, BadTlsSettingsAreRefusedAtStart) {
  ServerOptions only_cert = https_options();
  only_cert.tls_key.clear();
  EXPECT_FALSE(Server(only_cert, hello_handler()).start().ok());
  ServerOptions missing = https_options();
  missing.tls_cert = file("nope.pem");
  EXPECT_FALSE(Server(missing, hello_handler()).start().ok());
  ServerOptions ca_only;
  ca_only.listen = "127.0.0.1:0";
  ca_only.tls_client_ca = file("ca.pem");
  EXPECT_FALSE(Server(ca_only, hello_handler()).start().ok());
}

// http::Client over TLS (forwarding and the cluster health fan-out between HTTPS nodes).

TEST(HttpsClient, TalksToATrustedServer) {
  Server server(https_options(), hello_handler());
  ASSERT_TRUE(server.start().ok());
  Client client(5'000);
  ASSERT_TRUE(client.use_tls(file("ca.pem"), {}, {}).ok());
  EXPECT_TRUE(client.uses_tls());
  ClientRequest req;
  req.target = "/hello";
  auto got = client.send("127.0.0.1:" + std::to_string(server.port()), req);
  ASSERT_TRUE(got.response) << got.error;
  EXPECT_EQ(got.response->status, 200);
  EXPECT_EQ(got.response->body, "{\"path\":\"/hello\"}");
}

TEST(HttpsClient, RefusesAnUntrustedServerBeforeSending) {
  Server server(https_options(), hello_handler());
  ASSERT_TRUE(server.start().ok());
  Client client(5'000);
  ASSERT_TRUE(client.use_tls(file("rogue.pem"), {}, {}).ok());
  auto got = client.send("127.0.0.1:" + std::to_string(server.port()), {});
  EXPECT_FALSE(got.response);
  EXPECT_NE(got.error.find("TLS handshake"), std::string::npos) << got.error;
  EXPECT_FALSE(got.sent);
}

TEST(HttpsClient, PresentsItsCertificateWhenAsked) {
  Server server(https_options("ca"), hello_handler());
  ASSERT_TRUE(server.start().ok());
  const std::string address = "127.0.0.1:" + std::to_string(server.port());
  Client with_cert(5'000);
  ASSERT_TRUE(with_cert.use_tls(file("ca.pem"), file("client.pem"), file("client.key")).ok());
  auto got = with_cert.send(address, {});
  ASSERT_TRUE(got.response) << got.error;
  EXPECT_EQ(got.response->status, 200);
  Client without(5'000);
  ASSERT_TRUE(without.use_tls(file("ca.pem"), {}, {}).ok());
  EXPECT_FALSE(without.send(address, {}).response);
}

TEST(HttpsClient, BadFilesAreRefused) {
  Client client(1'000);
  auto missing_ca = client.use_tls(file("nope.pem"), {}, {});
  ASSERT_FALSE(missing_ca.ok());
  EXPECT_NE(missing_ca.error().find("nope.pem"), std::string::npos) << missing_ca.error();
  EXPECT_FALSE(client.use_tls(file("ca.pem"), file("client.pem"), file("nope.key")).ok());
  EXPECT_FALSE(client.uses_tls());
}

}  // namespace
}  // namespace cairn::http
