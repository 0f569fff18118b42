// The guard in front of a Router, with a real Store holding the tokens and an injected clock.

#include "auth/authenticator.h"

#include <gtest/gtest.h>

#include "auth/secret.h"
#include "common/json.h"
#include "http/router.h"
#include "routes/table.h"
#include "test_support.h"

namespace cairn::auth {
namespace {

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::Options options;
    options.path = dir_.file("cairn.db");
    auto opened = store::Store::open(options);
    ASSERT_TRUE(opened.ok()) << opened.error().details;
    store_ = std::move(*opened);
    AuthOptions auth_options;
    auth_options.root_secret = "root-secret";
    auth_options.failures = {1.0, 3.0};
    auth_ = std::make_unique<Authenticator>(auth_options, *store_, [this] { return now_; });
    for (const routes::Route* route : {&routes::kConfigGet, &routes::kNamespaceList,
                                       &routes::kHealth, &routes::kClusterStatus}) {
      router_.add(*route, [this](http::RequestPtr req, http::Reply reply) {
        seen_principal_ = req->caller.name;
        seen_visible_ = req->caller.visible_patterns();
        reply(http::Response{});
      });
    }
    router_.add(routes::kAdminConfigCreate,
                [](http::RequestPtr, http::Reply reply) { reply(http::Response{}); });
    router_.add(routes::kNamespaceUpdate,
                [](http::RequestPtr, http::Reply reply) { reply(http::Response{}); });
    router_.set_guard(auth_->guard(
        [](int64_t id) -> std::optional<std::string> {
          return id == 7 ? std::optional<std::string>("b-svc") : std::nullopt;
        },
        [this](api::AuditEntry e) { audit_.push_back(std::move(e)); }));
  }
  void TearDown() override { store_.reset(); }

  std::string add_token(const std::string& name, std::vector<api::Grant> grants,
                        int64_t expires_at_ms = 0) {
    std::string secret = generate_secret();
    api::Command c{"r", "root",
                   api::CreateToken{generate_token_id(), name, hash_secret(secret),
                                    std::move(grants), expires_at_ms}};
    auto applied = store_->apply(c, ++index_, now_);
    EXPECT_TRUE(applied.result.ok()) << applied.result.details;
    return secret;
  }

  /// Status and error code of one request through guard and router.
  std::pair<int, int64_t> call(const std::string& method, const std::string& target,
                               const std::string& token, std::string body = {},
                               std::string address = "10.0.0.1:5555") {
    auto req = std::make_shared<http::Request>();
    req->method = method;
    req->target = target;
    EXPECT_TRUE(http::parse_target(target, req->path, req->query));
    if (!token.empty()) req->headers.emplace_back("authorization", "Bearer " + token);
    req->body = std::move(body);
    req->remote_address = std::move(address);
    http::Response got;
    got.status = 0;
    router_.as_handler()(req, [&got](http::Response r) { got = std::move(r); });
    int64_t code = 0;
    if (auto j = parse_json(got.body, 8); j && j->is_object() && j->contains("code")) {
      code = (*j)["code"].get<int64_t>();
    }
    return {got.status, code};
  }

  cairn::test::TempDir dir_{"cairn-auth-test"};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Authenticator> auth_;
  http::Router router_{routes::declared};
  int64_t now_ = 1'700'000'000'000;
  uint64_t index_ = 0;
  std::vector<api::AuditEntry> audit_;
  std::string seen_principal_;
  std::optional<std::vector<std::string>> seen_visible_;
};

using Status = std::pair<int, int64_t>;

TEST_F(AuthenticatorTest, PublicRoutesNeedNoToken) {
  EXPECT_EQ(call("GET", "/api/v1/health", ""), (Status{200, 0}));
  // ... and their caller holds no grant (the core refuses it everything).
  EXPECT_EQ(seen_principal_, "anonymous");
  EXPECT_EQ(seen_visible_, std::vector<std::string>{});
  EXPECT_TRUE(audit_.empty());
}

TEST_F(AuthenticatorTest, MissingMalformedAndUnknownTokensAre401AndAudited) {
  EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=a", ""), (Status{401, 40101}));
  EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=a", "nope", {}, "10.0.0.2:1"),
            (Status{401, 40101}));
  ASSERT_EQ(audit_.size(), 2u);
  EXPECT_EQ(audit_[0].action, "GET /api/v1/config/get");
  EXPECT_EQ(audit_[0].client_ip, "10.0.0.1");
  EXPECT_EQ(audit_[0].code, 40101);
  EXPECT_EQ(auth_->denied(), 2u);
}

TEST_F(AuthenticatorTest, ProtocolRoutesTakeTheTokenWhereTheirClientsSendIt) {
  // Nacos (routes::kNacosToken): accessToken in the query or a form body, an accessToken
  // header, or a password parameter; form fields only from a form body.
  router_.add(routes::kNacosConfigPublish, [this](http::RequestPtr req, http::Reply reply) {
    seen_principal_ = req->caller.name;
    reply(http::Response{});
  });
  const std::string secret = add_token("svc", {{"a", "write"}});
  int requests = 0;
  auto post = [&](const std::string& target, const std::string& body, const std::string& type,
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
    seen_principal_.clear();
    auto req = std::make_shared<http::Request>();
    req->method = "POST";
    req->target = target;
    EXPECT_TRUE(http::parse_target(target, req->path, req->query));
    req->headers = std::move(headers);
    if (!type.empty()) req->headers.emplace_back("content-type", type);
    req->body = body;
    req->remote_address = "10.0.1." + std::to_string(++requests) + ":1";  // no failure limit
    int status = 0;
    router_.as_handler()(req, [&status](http::Response r) { status = r.status; });
    return status;
  };
  const std::string form = "application/x-www-form-urlencoded; charset=utf8";
  EXPECT_EQ(post("/nacos/v1/cs/configs", "dataId=k&accessToken=" + secret, form), 200);
  EXPECT_EQ(seen_principal_, "svc");
  EXPECT_EQ(post("/nacos/v1/cs/configs", "username=u&password=" + secret, form), 200);
  EXPECT_EQ(seen_principal_, "svc");
  EXPECT_EQ(post("/nacos/v1/cs/configs?accessToken=" + secret, "", ""), 200);
  EXPECT_EQ(post("/nacos/v1/cs/configs", "", "", {{"accesstoken", secret}}), 200);
  EXPECT_EQ(post("/nacos/v1/cs/configs", "accessToken=" + secret, "text/plain"), 401);
  EXPECT_EQ(post("/nacos/v1/cs/configs", "accessTokenX=" + secret, form), 401);
  EXPECT_EQ(post("/nacos/v1/cs/configs", "accessToken=%zz", form), 401);
  EXPECT_EQ(post("/nacos/v1/cs/configs", "accessToken=cairn_wrong", form), 401);
  // The native routes take no token from a form.
  EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=a&accessToken=" + secret, ""),
            (Status{401, 40101}));
}

TEST_F(AuthenticatorTest, RootIsClusterAdmin) {
  EXPECT_EQ(call("GET", "/api/v1/cluster/status", "root-secret"), (Status{200, 0}));
  EXPECT_EQ(seen_principal_, "root");
  EXPECT_EQ(seen_visible_, std::nullopt);
}

TEST_F(AuthenticatorTest, NamespaceGrantsAreEnforcedWhereverTheNamespaceIsNamed) {
  std::string a = add_token("svc-a", {{"a-*", "write"}});
  EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=a-svc&key=k", a), (Status{200, 0}));
  EXPECT_EQ(seen_principal_, "svc-a");
  EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=b-svc&key=k", a), (Status{403, 40301}));
  EXPECT_EQ(call("POST", "/api/v1/admin/config", a, R"({"namespace":"a-svc","key":"k"})"),
            (Status{200, 0}));
  EXPECT_EQ(call("POST", "/api/v1/admin/config", a, R"({"namespace":"b-svc","key":"k"})"),
            (Status{403, 40301}));
  // Named twice, differently: both must be allowed.
  EXPECT_EQ(call("POST", "/api/v1/admin/config?namespace=a-svc", a, R"({"namespace":"b-svc"})"),
            (Status{403, 40301}));
  // A numeric namespace id is resolved to its name; admin is stronger than write.
  EXPECT_EQ(call("PUT", "/api/v1/admin/namespace/7", a, "{}"), (Status{403, 40301}));
  EXPECT_EQ(call("PUT", "/api/v1/admin/namespace/a-svc", a, "{}"), (Status{403, 40301}));
  EXPECT_EQ(call("GET", "/api/v1/cluster/status", a), (Status{403, 40301}));
  EXPECT_EQ(call("GET", "/api/v1/admin/namespace/list", a), (Status{200, 0}));
  EXPECT_EQ(seen_visible_, (std::vector<std::string>{"a-*"}));
  ASSERT_FALSE(audit_.empty());
  EXPECT_EQ(audit_.back().actor, "svc-a");
  EXPECT_EQ(audit_.back().code, 40301);
}

TEST_F(AuthenticatorTest, ExpiredAndRevokedTokensAre401) {
  std::string t = add_token("short", {{"*", "read"}}, now_ + 1000);
  EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=x", t), (Status{200, 0}));
  now_ += 1000;
  EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=x", t), (Status{401, 40101}));

  std::string u = add_token("long", {{"*", "read"}});
  EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=x", u), (Status{200, 0}));
  auto tokens = store_->tokens();
  ASSERT_TRUE(tokens.ok());
  std::string id;
  for (const auto& row : *tokens) {
    if (row.name == "long") id = row.id;
  }
  ASSERT_TRUE(
      store_->apply(api::Command{"r", "root", api::RevokeToken{id}}, ++index_, now_).result.ok());
  EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=x", u), (Status{401, 40101}));
}

TEST_F(AuthenticatorTest, RepeatedFailuresFromOneAddressAreSlowed) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(call("GET", "/api/v1/config/get?namespace=a", "bad"), (Status{401, 40101}));
  }
  // Burst spent: even the right token waits, and other addresses are unaffected.
  EXPECT_EQ(call("GET", "/api/v1/cluster/status", "root-secret"), (Status{429, 42902}));
  EXPECT_EQ(call("GET", "/api/v1/cluster/status", "root-secret", {}, "10.9.9.9:1"),
            (Status{200, 0}));
  now_ += 1000;  // one attempt back
  EXPECT_EQ(call("GET", "/api/v1/cluster/status", "root-secret"), (Status{200, 0}));
}

TEST(ClientIp, StripsThePort) {
  http::Request r;
  r.remote_address = "10.1.2.3:443";
  EXPECT_EQ(client_ip(r), "10.1.2.3");
  r.remote_address = "[::1]:8080";
  EXPECT_EQ(client_ip(r), "::1");
  r.remote_address = "";
  EXPECT_EQ(client_ip(r), "");
}

}  // namespace
}  // namespace cairn::auth
