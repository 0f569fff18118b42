// Walks every route a node registers: each is a route of the table (routes/table.h) and every
// route of the table is registered by some node (standalone or cluster member), so a handler
// cannot exist without a permission, rate class and label, nor a table entry without a
// handler. Then checks that the auth guard covers every route: without a token, each route
// that is not public answers 401/40101; with the root token none answers 401 or 403.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "common/ids.h"
#include "common/json.h"
#include "routes/table.h"
#include "server/node.h"
#include "test_support.h"

namespace cairn::server {
namespace {

struct Answer {
  int status = 0;
  int64_t code = -1;
};

/// One HTTP/1.1 request on a fresh connection to 127.0.0.1:port; the connection is closed.
Answer request(uint16_t port, const std::string& method, const std::string& target,
               const std::string& token) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Answer out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return out;
  }
  std::string body = method == "GET" ? "" : "{}";
  std::string text =
      method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
      (token.empty() ? "" : "Authorization: Bearer " + token + "\r\n") +
      "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + body;
  ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[4096];
  // Enough for the status line and an error envelope; a stream (watch) is cut off here.
  while (got.size() < 65536) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
    size_t head_end = got.find("\r\n\r\n");
    if (head_end != std::string::npos && got.find("}", head_end) != std::string::npos) break;
  }
  ::close(fd);
  if (got.rfind("HTTP/1.1 ", 0) == 0) out.status = std::atoi(got.c_str() + 9);
  size_t head_end = got.find("\r\n\r\n");
  if (head_end != std::string::npos) {
    if (auto j = parse_json(got.substr(head_end + 4), 16);
        j && j->is_object() && j->contains("code")) {
      out.code = (*j)["code"].get<int64_t>();
    }
  }
  return out;
}

/// A target for a route template: every {param} replaced by a placeholder value.
std::string target_of(const std::string& route) {
  std::string out;
  size_t i = 0;
  while (i < route.size()) {
    if (route[i] == '{') {
      size_t close = route.find('}', i);
      out += "x1";
      i = close + 1;
    } else {
      out += route[i++];
    }
  }
  return out;
}

class RouteTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("CAIRN_ROOT_TOKEN", "route-test-root", 1);
    ServerConfig config;
    config.data_dir = dir_.path();
    config.listen_http = "127.0.0.1:0";
    config.auth_enabled = true;
    config.auth_failure_burst = 1'000'000;
    config.rate_limit_enabled = false;
    config.access_log = false;
    config.retention_interval_ms = 0;
    config.fault_injection = true;  // POST /api/v1/debug/fault
    auto node = Node::start(config);
    ASSERT_TRUE(node.ok()) << node.error();
    node_ = std::move(*node);
  }
  void TearDown() override {
    node_.reset();
    ::unsetenv("CAIRN_ROOT_TOKEN");
  }

  cairn::test::TempDir dir_{"cairn-routes"};
  std::unique_ptr<Node> node_;
};

TEST_F(RouteTableTest, EveryRouteButThePublicOnesNeedsAToken) {
  auto routes = node_->routes();
  ASSERT_GT(routes.size(), 20u);
  std::set<std::string> public_routes;
  for (const routes::Route* r : routes) {
    const std::string method(r->method);
    const std::string route(r->path_template);
    std::string target = target_of(route);
    Answer a = request(node_->http_port(), method, target, "");
    if (r->permission == routes::Permission::kPublic) {
      public_routes.insert(method + " " + route);
      EXPECT_NE(a.status, 401) << method << " " << route << " is public";
      continue;
    }
    Answer wrong = request(node_->http_port(), method, target, "not-a-token");
    // Each protocol words the refusal its own way (docs/compat.md): Consul and Nacos answer 403,
    // Apollo 401 in its JSON, the native API 401 with the envelope's code 40101.
    const bool forbids = route.starts_with("/v1/") || route.starts_with("/nacos/");
    const int refused = forbids ? 403 : 401;
    EXPECT_EQ(a.status, refused) << method << " " << target << " answered without a token";
    if (route.rfind("/api/", 0) == 0) {
      EXPECT_EQ(a.code, 40101) << method << " " << target;
    }
    EXPECT_EQ(wrong.status, refused) << method << " " << target << " took a wrong token";
  }
  EXPECT_TRUE(public_routes.count("GET /api/v1/health")) << "health must stay open";
  // The token and audit routes exist only with auth on.
  EXPECT_TRUE(std::count(routes.begin(), routes.end(), &routes::kTokenCreate));
}

TEST_F(RouteTableTest, TheRootTokenPassesTheGuardEverywhere) {
  for (const routes::Route* r : node_->routes()) {
    const std::string method(r->method);
    const std::string route(r->path_template);
    if (route.find("/watch") != std::string::npos) continue;  // would hold the request
    if (method == "DELETE" && route == "/api/v1/admin/tokens/{id}") continue;
    Answer a = request(node_->http_port(), method, target_of(route), "route-test-root");
    EXPECT_NE(a.status, 401) << method << " " << route;
    EXPECT_NE(a.status, 403) << method << " " << route;
    EXPECT_NE(a.status, 0) << method << " " << route << " did not answer";
  }
}

// Every handler a node registers has a route in the table, and every route of the table has a
// handler: the routes of a standalone node with auth and fault injection on, and of a
// one-member cluster (the cluster routes), together are exactly the table.
TEST_F(RouteTableTest, RegisteredRoutesAreExactlyTheTable) {
  std::set<const routes::Route*> registered;
  for (const routes::Route* r : node_->routes()) {
    EXPECT_TRUE(routes::declared(*r)) << r->method << " " << r->path_template;
    registered.insert(r);
  }
  const std::string cluster_dir = dir_.file("member");
  ServerConfig config;
  config.data_dir = cluster_dir;
  config.listen_http = "127.0.0.1:0";
  config.raft_id = 1;
  config.listen_peer = "127.0.0.1:0";
  config.members = "1@127.0.0.1:1@127.0.0.1:1";  // this node only; never dialled
  config.auth_enabled = true;
  config.rate_limit_enabled = false;
  config.access_log = false;
  config.retention_interval_ms = 0;
  auto member = Node::start(config);
  ASSERT_TRUE(member.ok()) << member.error();
  for (const routes::Route* r : (*member)->routes()) {
    EXPECT_TRUE(routes::declared(*r)) << r->method << " " << r->path_template;
    registered.insert(r);
  }
  member->reset();
  for (const routes::Route* r : routes::kAll) {
    EXPECT_TRUE(registered.count(r)) << r->method << " " << r->path_template
                                     << " is in the table but no node serves it";
  }
  EXPECT_EQ(registered.size(), std::size(routes::kAll));
}

}  // namespace
}  // namespace cairn::server
