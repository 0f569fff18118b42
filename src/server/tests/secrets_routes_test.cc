// docs/secrets.md: walks every route a node serves (routes/table.h: the native API and the
// Consul, Nacos and Apollo front-ends) with a token that may read every namespace but not
// reveal, with the parameters that make each read route answer the secret's key, and checks that
// no answer carries the plaintext (nor its base64, as Consul encodes values) or the sealed form.
// Then the same with a token holding `reveal`: the native API answers plaintext only when asked,
// the front-ends (whose clients cannot ask) by the grant alone.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "common/json.h"
#include "routes/table.h"
#include "secrets/aead.h"
#include "server/node.h"
#include "test_support.h"

namespace cairn::server {
namespace {

constexpr const char* kRoot = "secrets-route-root";
constexpr const char* kPlain = "Pl41nT3xt-of-the-db-password";

struct Answer {
  int status = 0;
  std::string body;
};

Answer request(uint16_t port, const std::string& method, const std::string& target,
               const std::vector<std::pair<std::string, std::string>>& headers,
               const std::string& body) {
  Answer out;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return out;
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return out;
  }
  std::string text = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers) text += k + ": " + v + "\r\n";
  text += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\nConnection: close\r\n\r\n" + body;
  ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
  std::string got;
  char buf[4096];
  while (got.size() < (1 << 20)) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;  // closed, or a held stream timed out (SO_RCVTIMEO)
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (got.rfind("HTTP/1.1 ", 0) == 0) out.status = std::atoi(got.c_str() + 9);
  out.body = got;
  return out;
}

/// A target for a route: its path parameters filled so that the route names namespace "pay"
/// and key "db.password", and every query parameter some read route takes.
std::string target_of(const routes::Route& r) {
  std::string path(r.path_template);
  auto fill = [&path](const std::string& param, const std::string& value) {
    size_t at = path.find(param);
    if (at != std::string::npos) path.replace(at, param.size(), value);
  };
  if (path.starts_with("/v1/kv/")) fill("{key}", "pay/db.password");
  fill("{namespace}", "pay");
  fill("{namespaceName}", "pay");
  fill("{appId}", "app");
  fill("{cluster}", "default");
  fill("{id}", "pay");
  fill("{key}", "pay/db.password");
  fill("{file}", "index.html");
  for (size_t open = path.find('{'); open != std::string::npos; open = path.find('{')) {
    path.replace(open, path.find('}', open) - open + 1, "x1");
  }
  return path +
         "?namespace=pay&key=db.password&version=1&from=1&to=2&include_values=true&timeout=1ms"
         "&revision=0&dataId=db.password&group=pay&recurse=true&page_size=100&reveal=true";
}

class SecretRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("CAIRN_ROOT_TOKEN", kRoot, 1);
    ::setenv("CAIRN_SECRET_KEY", ("k1:" + secrets::base64_encode(std::string(32, 'q'))).c_str(),
             1);
    ServerConfig config;
    config.data_dir = dir_.path();
    config.listen_http = "127.0.0.1:0";
    config.auth_enabled = true;
    config.auth_failure_burst = 1'000'000;
    config.rate_limit_enabled = false;
    config.access_log = false;
    config.retention_interval_ms = 0;
    auto node = Node::start(config);
    ASSERT_TRUE(node.ok()) << node.error();
    node_ = std::move(*node);
    port_ = node_->http_port();
    ok("POST", "/api/v1/admin/namespace", R"({"name":"pay","secret_keys":["*.password"]})");
    ok("POST", "/api/v1/admin/config",
       std::string(R"({"namespace":"pay","key":"db.password","value":")") + kPlain + "\"}");
    ok("PUT", "/api/v1/admin/config",
       std::string(R"({"namespace":"pay","key":"db.password","value":")") + kPlain + "-2\"}");
    reader_ = token("reader", R"([{"namespace":"*","permission":"admin"}])");
    revealer_ = token("revealer", R"([{"namespace":"pay","permission":"read"},)"
                                  R"({"namespace":"pay","permission":"reveal"}])");
  }
  void TearDown() override {
    node_.reset();
    ::unsetenv("CAIRN_ROOT_TOKEN");
    ::unsetenv("CAIRN_SECRET_KEY");
  }

  Answer ok(const std::string& method, const std::string& target, const std::string& body) {
    Answer a = request(port_, method, target, {{"Authorization", std::string("Bearer ") + kRoot}},
                       body);
    EXPECT_EQ(a.status, 200) << method << " " << target << ": " << a.body;
    return a;
  }
  std::string token(const std::string& name, const std::string& grants) {
    Answer a = ok("POST", "/api/v1/admin/tokens",
                  R"({"name":")" + name + R"(","grants":)" + grants + "}");
    auto j = parse_json(a.body.substr(a.body.find("\r\n\r\n") + 4), 16);
    return j ? (*j)["data"]["token"].get<std::string>() : "";
  }
  std::vector<std::pair<std::string, std::string>> auth(const std::string& t, bool ask) const {
    std::vector<std::pair<std::string, std::string>> h = {
        {"Authorization", "Bearer " + t}, {"X-Consul-Token", t}, {"X-Apollo-Token", t}};
    if (ask) h.emplace_back("X-Cairn-Reveal", "true");
    return h;
  }

  cairn::test::TempDir dir_{"cairn-secret-routes"};
  std::unique_ptr<Node> node_;
  uint16_t port_ = 0;
  std::string reader_, revealer_;
};

TEST_F(SecretRoutesTest, NoRouteAnswersASecretToATokenWithoutReveal) {
  const std::string plain_b64 = secrets::base64_encode(std::string(kPlain) + "-2");
  int walked = 0;
  for (const routes::Route* r : node_->routes()) {
    const std::string method(r->method);
    // A write's answer carries no value (its outcome); walking it would change the secret.
    if (r->effect == routes::Effect::kWrite) continue;
    const std::string target = target_of(*r) + "&accessToken=" + reader_;
    const std::string body = method == "GET" ? "" : R"({"namespace":"pay","keys":["db.password"]})";
    Answer a = request(port_, method, target, auth(reader_, true), body);
    ++walked;
    EXPECT_NE(a.status, 0) << method << " " << target << " did not answer";
    EXPECT_EQ(a.body.find(kPlain), std::string::npos) << method << " " << target << " leaks";
    EXPECT_EQ(a.body.find(plain_b64), std::string::npos) << method << " " << target << " leaks";
    EXPECT_EQ(a.body.find("$sealed"), std::string::npos)
        << method << " " << target << " shows the sealed form";
  }
  EXPECT_GT(walked, 30);
  // The native read says so.
  Answer get = request(port_, "GET", "/api/v1/config/get?namespace=pay&key=db.password",
                       auth(reader_, true), "");
  EXPECT_NE(get.body.find(R"("value":"******")"), std::string::npos) << get.body;
  EXPECT_NE(get.body.find(R"("secret":true)"), std::string::npos) << get.body;
}

TEST_F(SecretRoutesTest, RevealNeedsTheGrantAndOnTheNativeApiTheAsking) {
  const std::string plain = std::string(kPlain) + "-2";
  auto get = [&](bool ask) {
    return request(port_, "GET", "/api/v1/config/get?namespace=pay&key=db.password",
                   auth(revealer_, ask), "");
  };
  EXPECT_EQ(get(false).body.find(plain), std::string::npos);
  EXPECT_NE(get(true).body.find(plain), std::string::npos) << get(true).body;
  // Consul's clients cannot ask: the grant decides.
  Answer kv = request(port_, "GET", "/v1/kv/pay/db.password?raw", auth(revealer_, false), "");
  EXPECT_NE(kv.body.find(plain), std::string::npos) << kv.body;
  Answer masked = request(port_, "GET", "/v1/kv/pay/db.password?raw", auth(reader_, false), "");
  EXPECT_NE(masked.body.find("******"), std::string::npos) << masked.body;
}

}  // namespace
}  // namespace cairn::server
