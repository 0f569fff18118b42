// http::Client against the real http::Server and against peers that misbehave.
#include "http/client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "http/server.h"

namespace cairn::http {
namespace {

using Clock = std::chrono::steady_clock;

ServerOptions local_options() {
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 1;
  o.stop_grace_ms = 200;
  return o;
}

/// Echoes what it received: method, target, one request header and the body.
Handler echo_handler() {
  return [](RequestPtr req, Reply reply) {
    Response res;
    res.status = req->method == "POST" ? 201 : 200;
    res.content_type = "text/plain";
    std::string token;
    for (const auto& [name, value] : req->headers) {
      if (name == "authorization") token = value;
    }
    res.headers.emplace_back("X-Echo-Target", req->target);
    res.body = req->method + " " + token + " " + req->body;
    reply(std::move(res));
  };
}

/// A socket that listens and never answers (the kernel completes the connect).
struct SilentPeer {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  uint16_t port = 0;
  SilentPeer() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0 && ::listen(fd, 8) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
  }
  ~SilentPeer() { ::close(fd); }
};

TEST(Client, SendsTheRequestAndReturnsTheWholeAnswer) {
  Server server(local_options(), echo_handler());
  ASSERT_TRUE(server.start().ok());
  const Client client(5'000);
  EXPECT_FALSE(client.uses_tls());
  ClientRequest req;
  req.method = "POST";
  req.target = "/a/b?x=1";
  req.headers = {{"Authorization", "Bearer t"}};
  req.body = std::string(100'000, 'z');
  auto got = client.send("127.0.0.1:" + std::to_string(server.port()), req);
  ASSERT_TRUE(got.response) << got.error;
  EXPECT_TRUE(got.sent);
  EXPECT_EQ(got.response->status, 201);
  EXPECT_EQ(got.response->content_type, "text/plain");
  EXPECT_EQ(got.response->body, "POST Bearer t " + std::string(100'000, 'z'));
  bool echoed = false;
  for (const auto& [name, value] : got.response->headers) {
    EXPECT_NE(name, "Content-Type");  // reported in content_type, not twice
    if (name == "X-Echo-Target") echoed = value == "/a/b?x=1";  // name case kept
  }
  EXPECT_TRUE(echoed);
}

TEST(Client, ASilentPeerCostsTheTimeoutAndMayHaveTheRequest) {
  SilentPeer peer;
  ASSERT_NE(peer.port, 0);
  const Client client(300);
  const auto start = Clock::now();
  auto got = client.send("127.0.0.1:" + std::to_string(peer.port), {});
  const auto took = Clock::now() - start;
  EXPECT_FALSE(got.response);
  EXPECT_TRUE(got.sent);  // written into the socket: the peer may act on it
  EXPECT_NE(got.error.find("read"), std::string::npos) << got.error;
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST(Client, NothingSentWhenNothingListensOrTheAddressIsBad) {
  uint16_t closed_port = 0;
  {
    SilentPeer gone;  // bound, then closed: nothing listens there any more
    closed_port = gone.port;
  }
  const Client client(1'000);
  auto refused = client.send("127.0.0.1:" + std::to_string(closed_port), {});
  EXPECT_FALSE(refused.response);
  EXPECT_FALSE(refused.sent);
  EXPECT_NE(refused.error.find("connect"), std::string::npos) << refused.error;
  for (const char* bad : {"127.0.0.1", "::1:80", ""}) {
    auto got = client.send(bad, {});
    EXPECT_FALSE(got.response) << bad;
    EXPECT_FALSE(got.sent) << bad;
    EXPECT_NE(got.error.find("bad address"), std::string::npos) << got.error;
  }
}

}  // namespace
}  // namespace cairn::http
