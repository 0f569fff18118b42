// Client identity and acknowledgements (issue 18) against fake servers: X-Client-ID and
// X-Client-Labels on every request (calls and watch polls), their validation, automatic acks
// after the listeners (applied, failed by a checked listener or an exception, off), the explicit
// ack call, a server without acks (404: acks stop, the application sees nothing), and the
// registry / release calls' paths and bodies.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "cairn/client.h"
#include "client/tests/fake_server.h"
#include "test_support.h"

namespace cairn {
namespace {

using namespace cairn::testing;
using cairn::test::wait_until;
using std::chrono::milliseconds;

ClientOptions opts(const std::string& url) {
  ClientOptions o;
  o.endpoints = {url};
  o.connect_timeout = milliseconds(500);
  o.request_timeout = milliseconds(2000);
  o.backoff_initial = milliseconds(10);
  o.backoff_max = milliseconds(50);
  return o;
}

std::string header(const FakeRequest& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string("<absent>") : it->second;
}

TEST(Identity, ValidationFollowsTheServerRules) {
  EXPECT_FALSE(validate_identity("web-1:4242", {{"app", "orders"}, {"zone", "eu-1"}}));
  EXPECT_FALSE(validate_identity("a.b_c:d@e/f-g", {}));
  EXPECT_FALSE(validate_identity("x", {{"k8s.io/app", ""}, {"v", "1.4.2_rc-1"}}));
  EXPECT_TRUE(validate_identity(std::string(129, 'a'), {}));
  EXPECT_FALSE(validate_identity(std::string(128, 'a'), {}));
  EXPECT_TRUE(validate_identity("has space", {}));
  EXPECT_TRUE(validate_identity("comma,id", {}));
  EXPECT_TRUE(validate_identity("x", {{"", "v"}}));
  EXPECT_TRUE(validate_identity("x", {{"-app", "v"}}));      // must start alphanumeric
  EXPECT_TRUE(validate_identity("x", {{"app=", "v"}}));
  EXPECT_TRUE(validate_identity("x", {{std::string(64, 'n'), "v"}}));
  EXPECT_FALSE(validate_identity("x", {{std::string(63, 'n'), std::string(63, 'v')}}));
  EXPECT_TRUE(validate_identity("x", {{"app", std::string(64, 'v')}}));
  EXPECT_TRUE(validate_identity("x", {{"app", "a/b"}}));       // '/' only in names
  EXPECT_TRUE(validate_identity("x", {{"app", "a,b"}}));
  std::map<std::string, std::string> many;
  for (int i = 0; i < 16; ++i) many["l" + std::to_string(i)] = "v";
  EXPECT_FALSE(validate_identity("x", many));
  many["l16"] = "v";
  EXPECT_TRUE(validate_identity("x", many));
  EXPECT_EQ(format_labels({{"zone", "eu-1"}, {"app", "orders"}}), "app=orders,zone=eu-1");
  EXPECT_EQ(format_labels({}), "");
}

TEST(Identity, DefaultIdIsHostColonPid) {
  const std::string id = default_client_id();
  EXPECT_FALSE(validate_identity(id, {}));
  const std::string suffix = ":" + std::to_string(::getpid());
  ASSERT_GT(id.size(), suffix.size());
  EXPECT_EQ(id.substr(id.size() - suffix.size()), suffix);
  FakeServer server([](const FakeRequest&) { return ok(Json::object()); });
  Client client(opts(server.url()));
  EXPECT_EQ(client.client_id(), id);
  EXPECT_EQ(client.options().client_id, id);
}

TEST(Identity, EveryRequestCarriesIdAndLabels) {
  FakeCairn cairn("app");
  cairn.put("db", 1);
  auto o = opts(cairn.url());
  o.client_id = "orders-7";
  o.labels = {{"zone", "eu-1"}, {"app", "orders"}};
  Client client(o);
  ASSERT_TRUE(client.get("app", "db").ok());
  ASSERT_TRUE(client.get_namespace("app").ok());
  client.watch("app", [](const ConfigChange&) {});
  ASSERT_TRUE(wait_until([&] { return cairn.watch_requests() >= 1; }));
  auto reqs = cairn.server().requests();
  ASSERT_GE(reqs.size(), 3u);
  for (const auto& r : reqs) {
    EXPECT_EQ(header(r, "x-client-id"), "orders-7") << r.target;
    EXPECT_EQ(header(r, "x-client-labels"), "app=orders,zone=eu-1") << r.target;
  }
}

TEST(Identity, NoLabelsNoLabelsHeader) {
  FakeCairn cairn("app");
  cairn.put("db", 1);
  Client client(opts(cairn.url()));
  ASSERT_TRUE(client.get("app", "db").ok());
  auto reqs = cairn.server().requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(header(reqs[0], "x-client-labels"), "<absent>");
  EXPECT_EQ(header(reqs[0], "x-client-id"), client.client_id());
}

TEST(Identity, InvalidIdentityFailsEveryCallBeforeSending) {
  FakeCairn cairn("app");
  auto o = opts(cairn.url());
  o.labels = {{"zone", "eu 1"}};
  Client client(o);
  auto r = client.get("app", "db");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ClientError::kInvalid);
  EXPECT_NE(r.error().details.find("zone"), std::string::npos);
  auto a = client.ack("app", 1);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, ClientError::kInvalid);
  EXPECT_EQ(cairn.server().request_count(), 0);
}

TEST(Ack, AutomaticAckAfterTheListenersWithTheRevisionApplied) {
  FakeCairn cairn("app");
  cairn.enable_acks(true);
  cairn.put("db", 1);  // revision 1
  auto o = opts(cairn.url());
  o.client_id = "svc-1";
  Client client(o);
  std::atomic<int> calls{0};
  client.watch("app", [&](const ConfigChange&) { ++calls; });
  // The first read is acked: the application runs revision 1 from now on.
  ASSERT_TRUE(wait_until([&] { return cairn.acks().size() >= 1; }));
  auto acks = cairn.acks();
  EXPECT_EQ(acks[0]["namespace"], "app");
  EXPECT_EQ(acks[0]["revision"], 1);
  EXPECT_EQ(acks[0]["status"], "applied");
  EXPECT_FALSE(acks[0].contains("error"));
  EXPECT_EQ(acks[0]["x_client_id"], "svc-1");
  cairn.put("db", 2);  // revision 2
  ASSERT_TRUE(wait_until([&] { return cairn.acks().size() >= 2; }));
  EXPECT_EQ(calls.load(), 1);
  acks = cairn.acks();
  EXPECT_EQ(acks[1]["revision"], 2);
  EXPECT_EQ(acks[1]["status"], "applied");
  // Held polls that end without a change do not ack again.
  cairn.put("other", 3);  // revision 3
  ASSERT_TRUE(wait_until([&] { return cairn.acks().size() >= 3; }));
  EXPECT_EQ(cairn.acks()[2]["revision"], 3);  // no listener matched: still acked, applied
  EXPECT_EQ(cairn.acks().size(), 3u);
}

TEST(Ack, CheckedListenerFailureIsReportedWithItsMessage) {
  FakeCairn cairn("app");
  cairn.enable_acks(true);
  cairn.put("pool", 10);
  Client client(opts(cairn.url()));
  client.watch_checked("app", WatchFilter{}, [](const ConfigChange& c) {
    if (c.new_value && *c.new_value == 0) return ApplyResult::failed("pool size 0 refused");
    return ApplyResult::applied();
  });
  ASSERT_TRUE(wait_until([&] { return cairn.acks().size() >= 1; }));
  cairn.put("pool", 0);  // revision 2
  ASSERT_TRUE(wait_until([&] { return cairn.acks().size() >= 2; }));
  auto a = cairn.acks()[1];
  EXPECT_EQ(a["revision"], 2);
  EXPECT_EQ(a["status"], "failed");
  EXPECT_EQ(a["error"], "pool: pool size 0 refused");
  cairn.put("pool", 20);  // revision 3: applied again
  ASSERT_TRUE(wait_until([&] { return cairn.acks().size() >= 3; }));
  EXPECT_EQ(cairn.acks()[2]["status"], "applied");
  EXPECT_FALSE(cairn.acks()[2].contains("error"));
}

TEST(Ack, ThrowingListenerFailsTheAckAndTheWatchGoesOn) {
  FakeCairn cairn("app");
  cairn.enable_acks(true);
  cairn.put("a", 1);
  Client client(opts(cairn.url()));
  std::atomic<int> other_calls{0};
  client.watch("app", [](const ConfigChange& c) {
    if (c.key == "bad") throw std::runtime_error("cannot parse bad");
  });
  client.watch("app", [&](const ConfigChange&) { ++other_calls; });
  ASSERT_TRUE(wait_until([&] { return cairn.acks().size() >= 1; }));
  cairn.put("bad", "x");
  ASSERT_TRUE(wait_until([&] { return cairn.acks().size() >= 2; }));
  EXPECT_EQ(cairn.acks()[1]["status"], "failed");
  EXPECT_EQ(cairn.acks()[1]["error"], "bad: listener threw: cannot parse bad");
  EXPECT_EQ(other_calls.load(), 1);  // the other listener still ran
  cairn.put("a", 2);
  ASSERT_TRUE(wait_until([&] { return cairn.acks().size() >= 3; }));
  EXPECT_EQ(cairn.acks()[2]["status"], "applied");
}

TEST(Ack, LongErrorIsCutTo1024BytesOnACharacterBoundary) {
  FakeCairn cairn("app");
  cairn.enable_acks(true);
  Client client(opts(cairn.url()));
  auto r = client.ack("app", 5, AckStatus::kFailed, std::string(3000, 'e'));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(cairn.acks().at(0)["error"].get<std::string>().size(), 1024u);
  // 1023 bytes, then a 3-byte character: cut before it.
  ASSERT_TRUE(client.ack("app", 5, AckStatus::kFailed, std::string(1023, 'e') + "\xe2\x82\xac!").ok());
  EXPECT_EQ(cairn.acks().at(1)["error"].get<std::string>(), std::string(1023, 'e'));
}

TEST(Ack, ErrorThatIsNotUtf8IsSentWithReplacementCharacters) {
  FakeCairn cairn("app");
  cairn.enable_acks(true);
  cairn.put("k", 1);
  Client client(opts(cairn.url()));
  // A listener whose exception message holds a stray byte must not take the watch thread down.
  client.watch("app", [](const ConfigChange& c) {
    if (c.key == "bin") throw std::runtime_error("bad byte \xff here");
  });
  ASSERT_TRUE(wait_until([&] { return cairn.acks().size() >= 1; }));
  cairn.put("bin", 2);
  ASSERT_TRUE(wait_until([&] { return cairn.acks().size() >= 2; }));
  EXPECT_EQ(cairn.acks()[1]["status"], "failed");
  EXPECT_EQ(cairn.acks()[1]["error"], "bin: listener threw: bad byte \xef\xbf\xbd here");
  cairn.put("k", 3);  // still watching
  ASSERT_TRUE(wait_until([&] { return cairn.acks().size() >= 3; }));
  EXPECT_EQ(cairn.acks()[2]["status"], "applied");
}

TEST(Ack, AutoAckOffSendsNothingAndExplicitAckSendsWhatItIsTold) {
  FakeCairn cairn("app");
  cairn.enable_acks(true);
  cairn.set_release("r-42");
  cairn.put("db", 1);
  auto o = opts(cairn.url());
  o.auto_ack = false;
  o.client_id = "checker";
  Client client(o);
  std::atomic<int> calls{0};
  client.watch("app", [&](const ConfigChange&) { ++calls; });
  ASSERT_TRUE(wait_until([&] { return cairn.watch_requests() >= 1; }));
  cairn.put("db", 2);
  ASSERT_TRUE(wait_until([&] { return calls.load() >= 1 && cairn.watch_requests() >= 2; }));
  EXPECT_EQ(cairn.ack_requests(), 0);
  auto content = client.watched_content("app");
  ASSERT_TRUE(content);
  auto r = client.ack("app", content->revision, AckStatus::kFailed, "health check failed");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->ns, "app");
  EXPECT_EQ(r->revision, 2);
  EXPECT_EQ(r->status, "failed");
  EXPECT_EQ(r->client_id, "checker");
  EXPECT_EQ(r->release_id, "r-42");
  auto acks = cairn.acks();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0]["error"], "health check failed");
  // An applied ack never carries an error, whatever the caller passed.
  ASSERT_TRUE(client.ack("app", 2, AckStatus::kApplied, "ignored").ok());
  EXPECT_FALSE(cairn.acks().at(1).contains("error"));
}

TEST(Ack, GrayReleaseIdIsReadFromTheAnswers) {
  FakeCairn cairn("app");
  cairn.set_release("r-7");
  cairn.put("db", 1);
  Client client(opts(cairn.url()));
  auto ns = client.get_namespace("app");
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(ns->release, "r-7");
  cairn.set_release("");
  ns = client.get_namespace("app");
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(ns->release, "");
}

TEST(Ack, ServerWithoutAcksStopsTheAcksSilently) {
  FakeCairn cairn("app");  // acks off: POST /config/ack answers 404/40401
  cairn.put("db", 1);
  Client client(opts(cairn.url()));
  std::atomic<int> calls{0};
  client.watch("app", [&](const ConfigChange&) { ++calls; });
  ASSERT_TRUE(wait_until([&] { return cairn.ack_requests() >= 1; }));
  for (int i = 2; i <= 4; ++i) {
    cairn.put("db", i);
    ASSERT_TRUE(wait_until([&] { return calls.load() >= i - 1; }));
  }
  ASSERT_TRUE(wait_until([&] { return cairn.watch_requests() >= 4; }));
  EXPECT_EQ(cairn.ack_requests(), 1);  // tried once, then never again
  EXPECT_EQ(calls.load(), 3);          // the application saw every change
  // The explicit call still answers what the server says.
  auto r = client.ack("app", 4);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().http_status, 404);
}

TEST(Ack, FailedSendIsRetriedAfterTheNextPoll) {
  std::atomic<int> ack_calls{0};
  FakeCairn cairn("app");
  cairn.put("db", 1);
  // Route through a front server that fails the first ack with 503, then passes to cairn.
  cairn.enable_acks(true);
  FakeServer front([&](const FakeRequest& r) {
    if (r.path == "/api/v1/config/ack" && ack_calls++ == 0) {
      return error(503, 50301, "unavailable");
    }
    return cairn.handle(r);
  });
  auto o = opts(front.url());
  o.max_rounds = 1;
  Client client(o);
  client.watch_checked("app", WatchFilter{}, [](const ConfigChange& c) {
    return c.key == "x" ? ApplyResult::failed("x refused") : ApplyResult::applied();
  });
  ASSERT_TRUE(wait_until([&] { return ack_calls.load() >= 1; }));
  cairn.put("x", 1);  // revision 2: its listener fails; the first ack (503) was not delivered
  ASSERT_TRUE(wait_until([&] { return cairn.acks().size() >= 1; }));
  EXPECT_EQ(ack_calls.load(), 2);
  EXPECT_EQ(cairn.acks()[0]["revision"], 2);
  EXPECT_EQ(cairn.acks()[0]["status"], "failed");
  cairn.put("y", 1);  // revision 3: the failure was delivered, this one applies
  ASSERT_TRUE(wait_until([&] { return cairn.acks().size() >= 2; }));
  EXPECT_EQ(cairn.acks()[1]["revision"], 3);
  EXPECT_EQ(cairn.acks()[1]["status"], "applied");
  cairn.shutdown();  // releases the poll held through `front`, so that `front` stops promptly
}

TEST(Registry, ClientsAndReleaseCallsUseTheContractPaths) {
  FakeServer server([](const FakeRequest& r) {
    return ok({{"method", r.method}, {"target", r.target}, {"body", r.body}});
  });
  Client client(opts(server.url()));
  auto c = client.clients({"orders", {{"zone", "eu-1"}, {"app", "orders"}}, true});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)["target"],
            "/api/v1/clients?namespace=orders&label=zone%3Deu-1%2Capp%3Dorders&stale=true");
  EXPECT_EQ((*client.clients({}))["target"], "/api/v1/clients");
  Json release = {{"namespace", "orders"}, {"changes", {{"db.pool", 20}}}};
  auto s = client.start_release(release);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)["method"], "POST");
  EXPECT_EQ((*s)["target"], "/api/v1/admin/releases");
  EXPECT_EQ(Json::parse((*s)["body"].get<std::string>()), release);
  EXPECT_EQ((*client.list_releases("orders", "active"))["target"],
            "/api/v1/admin/releases?namespace=orders&state=active");
  EXPECT_EQ((*client.list_releases())["target"], "/api/v1/admin/releases");
  EXPECT_EQ((*client.get_release("r-1"))["target"], "/api/v1/admin/releases/r-1");
  auto p = client.release_action("r-1", "promote", "looks good");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)["target"], "/api/v1/admin/releases/r-1/promote");
  EXPECT_EQ(Json::parse((*p)["body"].get<std::string>()), Json({{"reason", "looks good"}}));
  auto bad = client.release_action("r-1", "explode");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ClientError::kInvalid);
  EXPECT_FALSE(client.get_release("").ok());
  const int before = server.request_count();
  EXPECT_FALSE(client.start_release(Json::array()).ok());
  auto not_utf8 = client.start_release({{"namespace", "orders"}, {"changes", {{"k", "\xff"}}}});
  ASSERT_FALSE(not_utf8.ok());
  EXPECT_EQ(not_utf8.error().code, ClientError::kInvalid);
  EXPECT_EQ(server.request_count(), before);
}

}  // namespace
}  // namespace cairn
