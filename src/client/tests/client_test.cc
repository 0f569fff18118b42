// Request path of cairn::Client against fake servers: envelopes and errors, failover, leader
// hints, Retry-After, the write-retry rule and stale reads from the file cache.

#include "cairn/client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "client/tests/fake_server.h"
#include "test_support.h"

namespace cairn {
namespace {

using namespace cairn::testing;
using cairn::test::TempDir;
using std::chrono::milliseconds;

ClientOptions options_for(std::vector<std::string> endpoints) {
  ClientOptions o;
  o.endpoints = std::move(endpoints);
  o.connect_timeout = milliseconds(500);
  o.request_timeout = milliseconds(2000);
  o.backoff_initial = milliseconds(10);
  o.backoff_max = milliseconds(50);
  return o;
}

Json get_answer(const std::string& key, const Json& value, int version) {
  return {{"namespace", "app"},
          {"key", key},
          {"value", value},
          {"version", version},
          {"updated_at", "2024-01-20T10:00:00Z"}};
}

TEST(Client, GetSendsHeadersAndParses) {
  FakeServer server([](const FakeRequest& r) {
    if (r.headers.count("authorization") == 0 || r.headers.at("authorization") != "Bearer tok" ||
        r.headers.at("x-operator") != "alice") {
      return error(401, 40101, "bad headers");
    }
    return ok(get_answer(r.query.at("key"), Json{{"host", "10.0.0.1"}}, 3));
  });
  auto o = options_for({server.url()});
  o.token = "tok";
  o.operator_name = "alice";
  Client client(o);
  auto r = client.get("app", "db.host");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->key, "db.host");
  EXPECT_EQ(r->version, 3);
  EXPECT_EQ(r->value["host"], "10.0.0.1");
  EXPECT_FALSE(r->stale);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].query.at("namespace"), "app");
  EXPECT_EQ(reqs[0].query.count("version"), 0u);
  ASSERT_TRUE(client.get("app", "k", 2).ok());
  EXPECT_EQ(server.requests()[1].query.at("version"), "2");
}

TEST(Client, ServerErrorsAreValues) {
  FakeServer server([](const FakeRequest&) {
    return error(404, 40403, "config app/nope does not exist", {{"field", "key"}});
  });
  Client client(options_for({server.url()}));
  auto r = client.get("app", "nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 40403);
  EXPECT_EQ(r.error().http_status, 404);
  EXPECT_EQ(r.error().message, "msg-40403");
  EXPECT_EQ(r.error().details, "config app/nope does not exist");
  EXPECT_EQ(r.error().field, "key");
  EXPECT_EQ(server.request_count(), 1);  // a 404 is an answer, not a reason to retry
  EXPECT_NE(r.error().to_string().find("40403"), std::string::npos);
}

TEST(Client, NotAnEnvelopeIsAProtocolError) {
  FakeServer server([](const FakeRequest&) { return FakeResponse{200, "<html>", {}, false}; });
  Client client(options_for({server.url()}));
  auto r = client.get_namespace("app");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ClientError::kProtocol);
}

TEST(Client, FailsOverAndSticksToTheEndpointThatAnswered) {
  FakeServer down([](const FakeRequest&) { return error(503, 50301, "starting"); });
  FakeServer up([](const FakeRequest& r) { return ok(get_answer(r.query.at("key"), 1, 1)); });
  std::string dead = "http://127.0.0.1:" + std::to_string(dead_port());
  Client client(options_for({dead, down.url(), up.url()}));
  auto r = client.get("app", "k");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(down.request_count(), 1);
  EXPECT_EQ(up.request_count(), 1);
  ASSERT_TRUE(client.get("app", "k").ok());
  EXPECT_EQ(down.request_count(), 1);  // went straight to the one that answered
  EXPECT_EQ(up.request_count(), 2);
}

TEST(Client, AllEndpointsDownIsATransportError) {
  std::string a = "http://127.0.0.1:" + std::to_string(dead_port());
  std::string b = "http://127.0.0.1:" + std::to_string(dead_port());
  Client client(options_for({a, b}));
  auto r = client.list_namespaces();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ClientError::kTransport);
  EXPECT_EQ(r.error().http_status, 0);
}

TEST(Client, FollowsLeaderHintOf50302) {
  FakeServer leader([](const FakeRequest& r) {
    if (r.method == "POST") {
      return ok({{"id", 7}, {"namespace", "app"}, {"key", "k"}, {"version", 1}});
    }
    return error(404, 40401, "unexpected");
  });
  std::string leader_url = leader.url();
  FakeServer follower([&](const FakeRequest&) {
    return error(503, 50302, "not the leader", {{"leader_http", leader_url}});
  });
  Client client(options_for({follower.url()}));  // the leader is not even in the list
  auto r = client.create("app", "k", Json{{"a", 1}}, "desc");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->id, 7);
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(follower.request_count(), 1);
  ASSERT_EQ(leader.request_count(), 1);
  Json body = Json::parse(leader.requests()[0].body);
  EXPECT_EQ(body["value"]["a"], 1);
  EXPECT_EQ(body["description"], "desc");
}

TEST(Client, HintlessNotLeaderTriesTheNextEndpoint) {
  FakeServer follower([](const FakeRequest&) { return error(503, 50302, "not the leader"); });
  FakeServer leader([](const FakeRequest&) {
    return ok({{"namespace", "app"}, {"key", "k"}, {"version", 4}, {"old_version", 3}});
  });
  Client client(options_for({follower.url(), leader.url()}));
  auto r = client.update("app", "k", Json(5), 3);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->old_version, 3);
  EXPECT_EQ(Json::parse(leader.requests()[0].body)["expected_version"], 3);
}

TEST(Client, HonoursRetryAfter) {
  std::atomic<int> calls{0};
  FakeServer server([&](const FakeRequest& r) {
    if (calls++ == 0) {
      auto resp = error(429, 42901, "slow down");
      resp.headers.emplace_back("Retry-After", "1");
      return resp;
    }
    return ok(get_answer(r.query.at("key"), 1, 1));
  });
  Client client(options_for({server.url()}));
  auto start = std::chrono::steady_clock::now();
  auto r = client.get("app", "k");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(calls.load(), 2);
  EXPECT_GE(took, milliseconds(950));
}

TEST(Client, RetryAfterBeyondTheLimitReturnsThe429) {
  FakeServer server([](const FakeRequest&) {
    auto resp = error(429, 42901, "slow down");
    resp.headers.emplace_back("Retry-After", "120");
    return resp;
  });
  Client client(options_for({server.url()}));
  auto r = client.get("app", "k");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 42901);
  EXPECT_EQ(r.error().http_status, 429);
  EXPECT_EQ(server.request_count(), 1);
}

TEST(Client, WriteIsNotResentAfterItMayHaveBeenApplied) {
  FakeServer a([](const FakeRequest&) {
    FakeResponse r;
    r.hang_up = true;
    return r;
  });
  FakeServer b([](const FakeRequest&) { return ok({{"version", 1}}); });
  Client client(options_for({a.url(), b.url()}));
  auto r = client.create("app", "k", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ClientError::kTransport);
  EXPECT_EQ(a.request_count(), 1);
  EXPECT_EQ(b.request_count(), 0);
  // A read is idempotent and moves on.
  FakeServer c([](const FakeRequest& r) { return ok(get_answer(r.query.at("key"), 1, 1)); });
  Client reader(options_for({a.url(), c.url()}));
  EXPECT_TRUE(reader.get("app", "k").ok());
}

TEST(Client, StaleReadsFromTheFileCacheWhenEveryEndpointFails) {
  TempDir dir;
  auto cairn = std::make_unique<FakeCairn>("app");
  cairn->put("db", Json{{"host", "a"}});
  cairn->put("flag", true);
  std::string url = cairn->url();
  {
    auto o = options_for({url});
    o.cache_dir = dir.path() + "/cache";
    Client client(o);
    auto ns = client.get_namespace("app");
    ASSERT_TRUE(ns.ok()) << ns.error().to_string();
    EXPECT_FALSE(ns->stale);
    EXPECT_EQ(ns->revision, 2);
    auto g = client.get("app", "db");
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(g->version, 1);
  }
  ASSERT_TRUE(std::filesystem::exists(dir.path() + "/cache/ns-app.json"));
  for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/cache")) {
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << "temp file left behind";
  }
  cairn->shutdown();

  auto o = options_for({url});
  o.cache_dir = dir.path() + "/cache";
  Client client(o);
  auto ns = client.get_namespace("app");
  ASSERT_TRUE(ns.ok()) << ns.error().to_string();
  EXPECT_TRUE(ns->stale);
  EXPECT_EQ(ns->revision, 2);
  EXPECT_EQ(ns->configs.at("db")["host"], "a");
  EXPECT_EQ(ns->configs.at("flag"), true);
  auto g = client.get("app", "db");
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->stale);
  EXPECT_EQ(g->version, 1);
  auto missing = client.get("app", "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ClientError::kTransport);
  auto versioned = client.get("app", "db", 1);  // a pinned version is never served stale
  EXPECT_FALSE(versioned.ok());

  // Without a cache dir nothing is served.
  Client uncached(options_for({url}));
  EXPECT_FALSE(uncached.get_namespace("app").ok());
}

TEST(Client, GetAtSendsTheInstantAsMillisecondsAndDecodesTheOldVersion) {
  FakeServer server([](const FakeRequest& r) -> FakeResponse {
    if (r.query.count("at") == 0) return error(400, 40001, "no at");
    if (r.query.at("at") == "1000") return error(404, 40401, "no version was current then");
    return ok(get_answer(r.query.at("key"), Json{{"host", "old"}}, 2));
  });
  TempDir dir;
  auto o = options_for({server.url()});
  o.cache_dir = dir.path();
  Client client(o);
  // 2026-12-02T06:30:00.123Z, with sub-millisecond parts that are dropped.
  TimePoint at =
      TimePoint(std::chrono::milliseconds(1796193000123)) + std::chrono::microseconds(999);
  auto r = client.get_at("app", "db", at);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->key, "db");
  EXPECT_EQ(r->version, 2);
  EXPECT_EQ(r->value["host"], "old");
  EXPECT_FALSE(r->stale);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].path, "/api/v1/config/get");
  EXPECT_EQ(reqs[0].query.at("namespace"), "app");
  EXPECT_EQ(reqs[0].query.at("key"), "db");
  EXPECT_EQ(reqs[0].query.at("at"), "1796193000123");
  EXPECT_EQ(reqs[0].query.count("version"), 0u);
  // A past read does not refresh the cache of the current content.
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/ns-app.json"));

  auto none = client.get_at("app", "db", TimePoint(std::chrono::seconds(1)));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, 40401);
  EXPECT_EQ(none.error().http_status, 404);

  auto before_1970 = client.get_at("app", "db", TimePoint(std::chrono::milliseconds(-1)));
  ASSERT_FALSE(before_1970.ok());
  EXPECT_EQ(before_1970.error().code, ClientError::kInvalid);
  EXPECT_EQ(server.request_count(), 2);  // refused before sending

  // Text goes as is: the server reads it (a time to the second stands for that whole second).
  auto text = client.get_at("app", "db", std::string("2026-12-02T07:30:00+01:00"));
  ASSERT_TRUE(text.ok()) << text.error().to_string();
  EXPECT_EQ(text->version, 2);
  EXPECT_EQ(server.requests().back().query.at("at"), "2026-12-02T07:30:00+01:00");
}

TEST(Client, GetNamespaceAtSendsTheInstantAndDecodesTheContentOfThen) {
  FakeServer server([](const FakeRequest& r) -> FakeResponse {
    if (r.query.count("at") == 0) return error(400, 40001, "no at");
    return ok({{"namespace", "app"},
               {"configs", {{"db", {{"host", "old"}}}, {"flag", false}}},
               {"version", 7},
               {"updated_at", "2026-12-02T06:29:58Z"},
               {"at", "2026-12-02T06:30:00Z"},
               {"unavailable", {"pruned"}}});
  });
  TempDir dir;
  auto o = options_for({server.url()});
  o.cache_dir = dir.path();
  Client client(o);
  auto r = client.get_namespace_at("app", TimePoint(std::chrono::milliseconds(1796193000000)));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->ns, "app");
  EXPECT_EQ(r->revision, 7);
  EXPECT_EQ(r->updated_at, "2026-12-02T06:29:58Z");
  ASSERT_EQ(r->configs.size(), 2u);
  EXPECT_EQ(r->configs.at("db")["host"], "old");
  EXPECT_EQ(r->configs.at("flag"), false);
  EXPECT_EQ(r->unavailable, std::vector<std::string>{"pruned"});
  EXPECT_FALSE(r->stale);
  auto text = client.get_namespace_at("app", std::string("2026-12-02T06:30:00Z"));
  ASSERT_TRUE(text.ok()) << text.error().to_string();
  EXPECT_EQ(text->revision, 7);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].path, "/api/v1/config/namespace/app");
  EXPECT_EQ(reqs[0].query.at("at"), "1796193000000");
  EXPECT_EQ(reqs[1].query.at("at"), "2026-12-02T06:30:00Z");
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/ns-app.json"));  // cache untouched
}

TEST(Client, PastReadsAreNeverServedFromTheCache) {
  TempDir dir;
  auto cairn = std::make_unique<FakeCairn>("app");
  cairn->put("db", Json{{"host", "a"}});
  std::string url = cairn->url();
  auto o = options_for({url});
  o.cache_dir = dir.path();
  {
    Client client(o);
    ASSERT_TRUE(client.get_namespace("app").ok());  // fills the cache
  }
  cairn->shutdown();
  Client client(o);
  ASSERT_TRUE(client.get_namespace("app").ok());  // stale, from the cache
  auto at = std::chrono::system_clock::now();
  auto g = client.get_at("app", "db", at);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code, ClientError::kTransport);
  auto n = client.get_namespace_at("app", at);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, ClientError::kTransport);
}

TEST(Client, CorruptCacheFileIsIgnored) {
  TempDir dir;
  std::ofstream(dir.path() + "/ns-app.json") << "{not json";
  auto o = options_for({"http://127.0.0.1:" + std::to_string(dead_port())});
  o.cache_dir = dir.path();
  Client client(o);
  auto r = client.get_namespace("app");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ClientError::kTransport);
}

TEST(Client, EveryCallUsesTheContractPaths) {
  FakeServer server([](const FakeRequest& r) -> FakeResponse {
    if (r.path == "/api/v1/config/batch-get") {
      return ok({{"namespace", "app"},
                 {"configs", {{{"key", "a"}, {"value", 1}, {"version", 2}}}},
                 {"missing", {"b"}}});
    }
    if (r.path == "/api/v1/admin/config/list") {
      return ok(
          {{"list",
            {{{"id", 1},
              {"namespace", "app"},
              {"key", "a"},
              {"value", 1},
              {"version", 2},
              {"status", 1}}}},
           {"pagination", {{"page", 1}, {"page_size", 20}, {"total", 1}, {"total_pages", 1}}}});
    }
    if (r.path == "/api/v1/admin/config/history") {
      return ok({{"list",
                  {{{"id", 9},
                    {"key", "a"},
                    {"old_value", nullptr},
                    {"new_value", 1},
                    {"version", 1},
                    {"operation", "CREATE"},
                    {"operator", "bob"}}}},
                 {"pagination", {{"total", 1}}}});
    }
    if (r.path == "/api/v1/config/versions") {
      return ok({{"list", {{{"version", 2}, {"value", 1}, {"is_current", true}}}}});
    }
    if (r.path == "/api/v1/config/diff") {
      return ok({{"from_version", 1},
                 {"to_version", 2},
                 {"changes", {{{"path", "x"}, {"from", 1}, {"to", 2}, {"type", "modified"}}}}});
    }
    if (r.path == "/api/v1/admin/config/rollback") {
      return ok(
          {{"namespace", "app"}, {"key", "a"}, {"current_version", 3}, {"previous_version", 2}});
    }
    if (r.path == "/api/v1/admin/config" && r.method == "DELETE") {
      return ok({{"namespace", "app"}, {"key", r.query.at("key")}, {"version", 3}});
    }
    if (r.path == "/api/v1/admin/namespace" && r.method == "POST") {
      return ok({{"id", 10}, {"name", Json::parse(r.body)["name"]}, {"status", 1}});
    }
    if (r.path == "/api/v1/admin/namespace/app" && r.method == "DELETE") {
      return ok({{"id", 10}, {"name", "app"}});
    }
    if (r.path == "/api/v1/admin/namespace/list") {
      return ok({{"list", {{{"id", 10}, {"name", "app"}, {"config_count", 2}, {"revision", 5}}}}});
    }
    return error(404, 40401, "unknown path " + r.path);
  });
  Client c(options_for({server.url()}));
  auto b = c.batch_get("app", {"a", "b"});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->configs.at(0).version, 2);
  EXPECT_EQ(b->missing, std::vector<std::string>{"b"});
  auto l = c.list({"app", "a", {}});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->list.at(0).key, "a");
  EXPECT_EQ(l->pagination.total, 1);
  auto h = c.history("app", "a");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->list.at(0).operator_name, "bob");
  EXPECT_TRUE(h->list.at(0).old_value.is_null());
  auto v = c.versions("app", "a");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->list.at(0).is_current);
  auto d = c.diff("app", "a", 1, 2);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->changes.at(0).type, "modified");
  auto rb = c.rollback("app", "a", 1, 2);
  ASSERT_TRUE(rb.ok());
  EXPECT_EQ(rb->current_version, 3);
  auto rm = c.remove("app", "a", 3);
  ASSERT_TRUE(rm.ok());
  EXPECT_EQ(rm->version, 3);
  auto nc = c.create_namespace("app", "d");
  ASSERT_TRUE(nc.ok());
  EXPECT_EQ(nc->id, 10);
  auto nl = c.list_namespaces();
  ASSERT_TRUE(nl.ok());
  EXPECT_EQ(nl->list.at(0).config_count, 2);
  ASSERT_TRUE(c.delete_namespace("app").ok());
  auto cs = c.cluster_status();  // single node: 404 surfaces as is
  ASSERT_FALSE(cs.ok());
  EXPECT_EQ(cs.error().code, 40401);

  auto reqs = server.requests();
  auto find = [&](const std::string& path) {
    for (const auto& r : reqs) {
      if (r.path == path) return r;
    }
    return FakeRequest{};
  };
  EXPECT_EQ(find("/api/v1/config/diff").query.at("from"), "1");
  EXPECT_EQ(find("/api/v1/config/diff").query.at("to"), "2");
  EXPECT_EQ(Json::parse(find("/api/v1/admin/config/rollback").body)["target_version"], 1);
  EXPECT_EQ(find("/api/v1/admin/config").query.at("expected_version"), "3");
  EXPECT_EQ(find("/api/v1/admin/config/list").query.at("key"), "a");
}

TEST(Client, MalformedEndpointIsRejected) {
  Client client(options_for({"ftp://nope:1"}));
  auto r = client.get("app", "k");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ClientError::kInvalid);
  auto o = options_for({"https://127.0.0.1:1"});
  o.ca_file = "/nonexistent/ca.pem";
  Client bad_ca(o);
  auto t = bad_ca.get("app", "k");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, ClientError::kInvalid);
  EXPECT_NE(t.error().details.find("CA file"), std::string::npos) << t.error().details;
}

TEST(Client, ConcurrentCallsAreSafe) {
  FakeServer server([](const FakeRequest& r) { return ok(get_answer(r.query.at("key"), 1, 1)); });
  TempDir dir;
  auto o = options_for({server.url()});
  o.cache_dir = dir.path();
  Client client(o);
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        if (client.get("app", "k" + std::to_string(t)).ok()) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 40);
}

}  // namespace
}  // namespace cairn
