// The Nacos handlers in process: a real SQLite store in a temp dir, the index, the watch hub
// and a replicator that applies on the calling thread. Black-box tests over HTTP and with a
// real client library live in tests/e2e/test_nacos.py.

#include "frontends/nacos/frontend.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "common/json.h"
#include "core/state_machine.h"
#include "core/test_replicator.h"
#include "routes/table.h"
#include "test_support.h"

namespace cairn::nacos {
namespace {

struct Answer {
  int status = 0;
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return {};
  }
};

class NacosFrontendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::Options options;
    options.path = dir_.file("cairn.db");
    options.max_value_bytes = 1024;
    auto opened = store::Store::open(options);
    ASSERT_TRUE(opened.ok()) << opened.error().details;
    store_ = std::move(*opened);
    ASSERT_TRUE(index_.load(*store_).ok());
    sm_ = std::make_unique<core::ConfigStateMachine>(*store_, index_);
    hub_ = std::make_unique<core::WatchHub>(core::WatchOptions{}, index_, 0);
    core::WatchHub* hub = hub_.get();
    sm_->add_listener([hub](const api::Command&, const store::Applied& applied) {
      hub->on_applied(applied.changes, applied.result.revision);
    });
    replicator_ = std::make_unique<core::InlineReplicator>(*sm_);
    core_ = std::make_unique<core::Core>(core::CoreOptions{}, *store_, index_, *replicator_);
    FrontendOptions fo;
    fo.max_value_bytes = 1024;
    frontend_ = std::make_unique<Frontend>(fo, *core_, hub_.get(), nullptr);
    frontend_->register_routes(router_);
  }
  void TearDown() override { hub_->shutdown(); }

  /// Sends one request; `answer` is filled when the handler answers (maybe later).
  http::RequestPtr send(const std::string& method, const std::string& target,
                        const std::string& form, std::shared_ptr<std::optional<Answer>> answer,
                        std::vector<std::pair<std::string, std::string>> headers = {},
                        api::Principal caller = api::Principal::unrestricted()) {
    auto req = std::make_shared<http::Request>();
    req->method = method;
    req->target = target;
    EXPECT_TRUE(http::parse_target(target, req->path, req->query)) << target;
    req->body = form;
    req->request_id = "test";
    req->headers = std::move(headers);
    if (!form.empty())
      req->headers.emplace_back("content-type", "application/x-www-form-urlencoded");
    req->caller = std::move(caller);
    router_.dispatch(req, [answer](http::Response res) {
      *answer = Answer{res.status, res.body, res.content_type, res.headers};
    });
    return req;
  }
  Answer call(const std::string& method, const std::string& target, const std::string& form = "",
              std::vector<std::pair<std::string, std::string>> headers = {},
              api::Principal caller = api::Principal::unrestricted()) {
    auto answer = std::make_shared<std::optional<Answer>>();
    send(method, target, form, answer, std::move(headers), std::move(caller));
    EXPECT_TRUE(answer->has_value()) << "no answer for " << target;
    return answer->value_or(Answer{});
  }
  int64_t version(const std::string& ns, const std::string& key) {
    auto v = core_->get_config(api::Principal::unrestricted(), core::GetConfig{ns, key, {}, {}});
    return v.ok() ? v->version : 0;
  }

  cairn::test::TempDir dir_{"nacos_test"};
  std::unique_ptr<store::Store> store_;
  cache::Index index_;
  std::unique_ptr<core::ConfigStateMachine> sm_;
  std::unique_ptr<core::WatchHub> hub_;
  std::unique_ptr<core::InlineReplicator> replicator_;
  std::unique_ptr<core::Core> core_;
  std::unique_ptr<Frontend> frontend_;
  http::Router router_{routes::declared};
};

constexpr const char* kV1 = "/nacos/v1/cs/configs";
constexpr const char* kV2 = "/nacos/v2/cs/config";
constexpr const char* kListener = "/nacos/v1/cs/configs/listener";

TEST_F(NacosFrontendTest, PublishGetDeleteV1) {
  auto put =
      call("POST", kV1, "dataId=app.yaml&group=DEFAULT_GROUP&content=a%3A+1%0Ab%3A+%E4%BD%A0");
  EXPECT_EQ(put.status, 200);
  EXPECT_EQ(put.body, "true");
  auto got = call("GET", std::string(kV1) + "?dataId=app.yaml&group=DEFAULT_GROUP");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "a: 1\nb: \xe4\xbd\xa0");
  EXPECT_EQ(got.content_type, "text/plain;charset=UTF-8");
  EXPECT_EQ(got.header("Content-MD5"), md5_hex("a: 1\nb: \xe4\xbd\xa0"));
  EXPECT_EQ(version("DEFAULT_GROUP", "app.yaml"), 1);

  // The same content again writes nothing; other content a new version.
  call("POST", kV1, "dataId=app.yaml&group=DEFAULT_GROUP&content=a%3A+1%0Ab%3A+%E4%BD%A0");
  EXPECT_EQ(version("DEFAULT_GROUP", "app.yaml"), 1);
  EXPECT_EQ(call("POST", kV1, "dataId=app.yaml&content=two").body, "true");  // default group
  EXPECT_EQ(version("DEFAULT_GROUP", "app.yaml"), 2);

  EXPECT_EQ(call("DELETE", std::string(kV1) + "?dataId=app.yaml&group=DEFAULT_GROUP").body, "true");
  auto gone = call("GET", std::string(kV1) + "?dataId=app.yaml&group=DEFAULT_GROUP");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.body, "config data not exist\n");
  // Deleting what is not there is a success, as in Nacos.
  EXPECT_EQ(call("DELETE", std::string(kV1) + "?dataId=app.yaml&group=DEFAULT_GROUP").body, "true");
  EXPECT_EQ(call("DELETE", std::string(kV1) + "?dataId=x&group=nogroup").body, "true");
}

TEST_F(NacosFrontendTest, TenantMapsToNamespace) {
  call("POST", kV1, "dataId=k&group=g&tenant=dev&content=v");
  EXPECT_EQ(version("dev.g", "k"), 1);
  call("POST", kV1, "dataId=k&group=g&tenant=public&content=w");
  EXPECT_EQ(version("g", "k"), 1);
  EXPECT_EQ(call("GET", std::string(kV1) + "?dataId=k&group=g&tenant=dev").body, "v");
  EXPECT_EQ(call("GET", std::string(kV1) + "?dataId=k&group=g").body, "w");
}

TEST_F(NacosFrontendTest, V2AnswersResults) {
  auto put = call("POST", kV2, "dataId=k&group=g&namespaceId=dev&content=hello");
  EXPECT_EQ(put.status, 200);
  EXPECT_EQ(Json::parse(put.body), Json::parse(R"({"code":0,"message":"success","data":true})"));
  auto got = call("GET", std::string(kV2) + "?dataId=k&group=g&namespaceId=dev");
  EXPECT_EQ(Json::parse(got.body)["data"], "hello");
  auto missing = call("GET", std::string(kV2) + "?dataId=nope&group=g");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Json::parse(missing.body),
            Json::parse(
                R"({"code":20004,"message":"resource not found","data":"config data not exist"})"));
  auto bad = call("POST", kV2, "group=g&content=x");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Json::parse(bad.body)["code"], 10000);
  EXPECT_EQ(call("DELETE", std::string(kV2) + "?dataId=k&group=g&namespaceId=dev").status, 200);
  EXPECT_EQ(version("dev.g", "k"), 0);
}

TEST_F(NacosFrontendTest, BadInputChangesNothing) {
  struct Case {
    std::string method, target, form;
    int status;
    std::string body;
  };
  std::vector<Case> cases = {
      {"GET", std::string(kV1) + "?group=g", "", 400,
       "caused: Required String parameter 'dataId' is not present;"},
      {"POST", kV1, "dataId=k&group=g", 400,
       "caused: Required String parameter 'content' is not present;"},
      {"POST", kV1, "dataId=k&group=g&content=+++", 400, "caused: content is blank :    ;"},
      {"POST", kV1, "dataId=k&group=a%3Ab&content=x", 400, "caused: invalid group : a:b;"},
      {"POST", kV1, "dataId=a+b&group=g&content=x", 400, "caused: invalid dataId : a b;"},
      {"POST", kV1, "dataId=k&group=g&tenant=t%2Fx&content=x", 400, "caused: invalid tenant;"},
      {"POST", kV1, "dataId=k&group=g&content=%zz", 400,
       "caused: the form body is malformed (a bad percent escape);"},
      {"POST", kV1, "dataId=k&group=g&content=%FF", 400, "caused: content is not valid UTF-8;"},
      {"POST", kV1, "dataId=k&group=g&content=" + std::string(2000, 'x'), 400,
       "caused: invalid content, over 1024;"},
      {"POST", kListener, "", 400, "caused: invalid probeModify;"},
      {"POST", kListener, "Listening-Configs=a%01", 400, "caused: invalid probeModify;"},
  };
  for (const auto& c : cases) {
    auto a = call(c.method, c.target, c.form);
    EXPECT_EQ(a.status, c.status) << c.target << " " << c.form;
    EXPECT_EQ(a.body, c.body) << c.target << " " << c.form;
  }
  EXPECT_EQ(store_->applied_index(), 0u);
}

TEST_F(NacosFrontendTest, TokenScopedToOneNamespace) {
  auto scoped = api::Principal::with_grants("svc", {api::Grant{"a", "write"}});
  EXPECT_EQ(call("POST", kV1, "dataId=k&group=a&content=x", {}, scoped).body, "true");
  auto refused = call("POST", kV1, "dataId=k&group=b&content=x", {}, scoped);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(Json::parse(refused.body)["status"], 403);
  EXPECT_EQ(call("GET", std::string(kV1) + "?dataId=k&group=b", "", {}, scoped).status, 403);
  EXPECT_EQ(call("DELETE", std::string(kV1) + "?dataId=k&group=b", "", {}, scoped).status, 403);
  std::string listen = "Listening-Configs=k%02b%02%01";
  EXPECT_EQ(call("POST", kListener, listen, {}, scoped).status, 403);
  EXPECT_EQ(version("b", "k"), 0);
}

TEST_F(NacosFrontendTest, ListenerAnswersAtOnceWhenAnMd5Differs) {
  call("POST", kV1, "dataId=k&group=g&content=v1");
  // The client holds nothing (empty MD5): k changed for it.
  auto a =
      call("POST", kListener, "Listening-Configs=k%02g%02%01", {{"long-pulling-timeout", "30000"}});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "k%02g%01\n");
  // Up to date and no Long-Pulling-Timeout: short polling, an empty answer at once.
  auto same = call("POST", kListener, "Listening-Configs=k%02g%02" + md5_hex("v1") + "%01");
  EXPECT_EQ(same.status, 200);
  EXPECT_EQ(same.body, "");
  // Long-Pulling-No-Hangup: no hold either.
  auto nohang = call("POST", kListener, "Listening-Configs=k%02g%02" + md5_hex("v1") + "%01",
                     {{"long-pulling-timeout", "30000"}, {"long-pulling-no-hangup", "true"}});
  EXPECT_EQ(nohang.body, "");
  auto bad =
      call("POST", kListener, "Listening-Configs=k%02g%02%01", {{"long-pulling-timeout", "3s"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body, "caused: For input string: \"3s\";");
}

TEST_F(NacosFrontendTest, ListenerHeldUntilAChange) {
  call("POST", kV1, "dataId=k&group=g&content=v1");
  call("POST", kV1, "dataId=other&group=g&content=o");
  call("POST", kV1, "dataId=k&group=g&tenant=dev&content=d");
  auto answer = std::make_shared<std::optional<Answer>>();
  // k in g, an absent key in h, and k in g under tenant dev.
  std::string form = "Listening-Configs=k%02g%02" + md5_hex("v1") + "%01absent%02h%02%01k%02g%02" +
                     md5_hex("d") + "%02dev%01";
  send("POST", kListener, form, answer, {{"long-pulling-timeout", "30000"}});
  EXPECT_FALSE(answer->has_value());
  EXPECT_EQ(hub_->held_polls(), 3u);  // one per namespace: g, h, dev.g
  // Another key of the same namespace, and the same content again: still held.
  call("POST", kV1, "dataId=other&group=g&content=o2");
  call("POST", kV1, "dataId=k&group=g&content=v1");
  EXPECT_FALSE(answer->has_value());
  // A change of a listened key answers at once, naming it as the client did.
  call("POST", kV1, "dataId=k&group=g&tenant=dev&content=d2");
  ASSERT_TRUE(answer->has_value());
  EXPECT_EQ((*answer)->status, 200);
  EXPECT_EQ((*answer)->body, "k%02g%02dev%01\n");
  EXPECT_EQ(hub_->held_polls(), 0u);  // the other polls were dropped
}

TEST_F(NacosFrontendTest, ListenerForgottenWhenTheClientHangsUp) {
  auto answer = std::make_shared<std::optional<Answer>>();
  auto req = send("POST", kListener, "Listening-Configs=k%02g%02%01a%02b%02%02d%01", answer,
                  {{"long-pulling-timeout", "30000"}});
  // Both absent and the client says so (empty MD5s): nothing differs; a/b is under tenant d.
  EXPECT_FALSE(answer->has_value());
  EXPECT_EQ(hub_->held_polls(), 2u);
  req->cancellation->cancel();
  EXPECT_EQ(hub_->held_polls(), 0u);
  EXPECT_FALSE(answer->has_value());
}

TEST_F(NacosFrontendTest, LoginWithAuthOffEchoesThePassword) {
  auto a = call("POST", "/nacos/v1/auth/login", "username=u&password=cairn_x");
  EXPECT_EQ(a.status, 200);
  auto body = Json::parse(a.body);
  EXPECT_EQ(body["accessToken"], "cairn_x");
  EXPECT_EQ(body["tokenTtl"], 18000);
  EXPECT_EQ(body["globalAdmin"], true);
}

TEST_F(NacosFrontendTest, GuardErrorsInNacosStyle) {
  http::Request req;
  req.path = kV1;
  http::Response res;
  render_v1_error(req, api::make_error(api::Errc::kUnauthorized, "unknown token"), res);
  EXPECT_EQ(res.status, 403);
  EXPECT_EQ(Json::parse(res.body)["message"], "unknown token");
  res = {};
  res.status = 429;
  render_v1_error(req, api::make_error(api::Errc::kRateLimited, "slow down"), res);
  EXPECT_EQ(res.status, 429);
  EXPECT_EQ(res.body, "caused: slow down;");
  res = {};
  render_v2_error(req, api::make_error(api::Errc::kMethodNotAllowed, "no"), res);
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(Json::parse(res.body)["data"], "no");
}

}  // namespace
}  // namespace cairn::nacos
