// The watch thread against FakeCairn: old/new values, filters, reset, resume after errors,
// cache seeding and prompt shutdown.

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "cairn/client.h"
#include "client/tests/fake_server.h"
#include "test_support.h"

namespace cairn {
namespace {

using namespace cairn::testing;
using cairn::test::TempDir;
using cairn::test::wait_until;
using std::chrono::milliseconds;

ClientOptions watch_options(const std::string& url) {
  ClientOptions o;
  o.endpoints = {url};
  o.connect_timeout = milliseconds(500);
  o.request_timeout = milliseconds(2000);
  o.backoff_initial = milliseconds(10);
  o.backoff_max = milliseconds(50);
  o.watch_timeout = milliseconds(30000);
  return o;
}

/// Collects the changes a listener receives; waits for a number of them.
class Recorder {
 public:
  WatchListener listener() {
    return [this](const ConfigChange& c) {
      std::lock_guard lock(mu_);
      changes_.push_back(c);
      cv_.notify_all();
    };
  }
  bool wait_for(size_t n, milliseconds timeout = milliseconds(5000)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return changes_.size() >= n; });
  }
  std::vector<ConfigChange> changes() {
    std::lock_guard lock(mu_);
    return changes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ConfigChange> changes_;
};

TEST(Watch, ListenerGetsOldAndNewValues) {
  FakeCairn cairn("app");
  cairn.put("db", Json{{"host", "a"}});
  Client client(watch_options(cairn.url()));
  Recorder rec;
  client.watch("app", rec.listener());
  ASSERT_TRUE(wait_until([&] { return cairn.watch_requests() >= 1; }));
  auto known = client.watched_content("app");
  ASSERT_TRUE(known);
  EXPECT_EQ(known->configs.at("db")["host"], "a");
  EXPECT_EQ(known->revision, 1);
  EXPECT_EQ(cairn.watch_revisions().at(0), 1);

  cairn.put("db", Json{{"host", "b"}});
  ASSERT_TRUE(rec.wait_for(1));
  cairn.put("new", 42);
  ASSERT_TRUE(rec.wait_for(2));
  cairn.put("db", std::nullopt);
  ASSERT_TRUE(rec.wait_for(3));
  auto ch = rec.changes();
  EXPECT_EQ(ch[0].key, "db");
  EXPECT_EQ(ch[0].operation, "UPDATE");
  EXPECT_EQ(ch[0].version, 2);
  EXPECT_EQ(ch[0].revision, 2);
  EXPECT_EQ((*ch[0].old_value)["host"], "a");
  EXPECT_EQ((*ch[0].new_value)["host"], "b");
  EXPECT_EQ(ch[1].operation, "CREATE");
  EXPECT_FALSE(ch[1].old_value);
  EXPECT_EQ(*ch[1].new_value, 42);
  EXPECT_EQ(ch[2].operation, "DELETE");
  EXPECT_EQ((*ch[2].old_value)["host"], "b");
  EXPECT_FALSE(ch[2].new_value);
  auto now = client.watched_content("app");
  EXPECT_EQ(now->revision, 4);
  EXPECT_EQ(now->configs.count("db"), 0u);
  // Each poll resumed from the revision the previous answer gave.
  auto revs = cairn.watch_revisions();
  for (size_t i = 1; i < revs.size(); ++i) EXPECT_GE(revs[i], revs[i - 1]);
}

TEST(Watch, KeyAndPrefixFilters) {
  FakeCairn cairn("app");
  Client client(watch_options(cairn.url()));
  Recorder by_prefix, by_keys, all;
  client.watch("app", WatchFilter{{}, "db."}, by_prefix.listener());
  client.watch("app", WatchFilter{{"flag", "other"}, ""}, by_keys.listener());
  client.watch("app", all.listener());
  ASSERT_TRUE(wait_until([&] { return cairn.watch_requests() >= 1; }));
  cairn.put("db.host", "h");
  cairn.put("flag", true);
  cairn.put("misc", 1);
  ASSERT_TRUE(all.wait_for(3));
  ASSERT_TRUE(by_prefix.wait_for(1));
  ASSERT_TRUE(by_keys.wait_for(1));
  std::this_thread::sleep_for(milliseconds(50));
  ASSERT_EQ(by_prefix.changes().size(), 1u);
  EXPECT_EQ(by_prefix.changes()[0].key, "db.host");
  ASSERT_EQ(by_keys.changes().size(), 1u);
  EXPECT_EQ(by_keys.changes()[0].key, "flag");
  EXPECT_EQ(cairn.watch_requests() > 0, true);
}

TEST(Watch, ResetReReadsAndReportsDifferences) {
  FakeCairn cairn("app");
  cairn.put("a", 1);
  cairn.put("b", 2);
  Client client(watch_options(cairn.url()));
  Recorder rec;
  client.watch("app", rec.listener());
  ASSERT_TRUE(wait_until([&] { return cairn.watch_requests() >= 1; }));
  cairn.reset_to({{"a", 1}, {"b", 20}, {"c", 3}});  // b changed, c new
  ASSERT_TRUE(rec.wait_for(2));
  auto ch = rec.changes();
  std::map<std::string, ConfigChange> by_key;
  for (const auto& c : ch) by_key[c.key] = c;
  EXPECT_EQ(by_key.count("a"), 0u);
  EXPECT_EQ(by_key["b"].operation, "RESET");
  EXPECT_EQ(*by_key["b"].old_value, 2);
  EXPECT_EQ(*by_key["b"].new_value, 20);
  EXPECT_FALSE(by_key["c"].old_value);
  EXPECT_EQ(*by_key["c"].new_value, 3);
  EXPECT_TRUE(wait_until([&] { return client.watched_content("app")->revision == 3; }));
}

TEST(Watch, ResumesFromTheLastRevisionAfterErrors) {
  FakeCairn cairn("app");
  cairn.put("a", 1);
  Client client(watch_options(cairn.url()));
  Recorder rec;
  cairn.fail_watches(3);
  client.watch("app", rec.listener());
  ASSERT_TRUE(wait_until([&] { return cairn.watch_requests() >= 4; }));
  cairn.put("a", 2);
  ASSERT_TRUE(rec.wait_for(1));
  EXPECT_EQ(*rec.changes()[0].old_value, 1);
  auto revs = cairn.watch_revisions();
  for (int64_t r : revs) EXPECT_GE(r, 1);  // never restarted from 0
}

TEST(Watch, UnwatchStopsDeliveryAndListenerMayCallTheClient) {
  FakeCairn cairn("app");
  Client client(watch_options(cairn.url()));
  Recorder rec;
  std::atomic<int> nested_ok{0};
  WatchId id = 0;
  id = client.watch("app", [&](const ConfigChange& c) {
    if (client.get("app", c.key).ok()) ++nested_ok;  // a listener may call the client
    client.unwatch(id);                              // and unwatch itself
  });
  client.watch("app", rec.listener());
  ASSERT_TRUE(wait_until([&] { return cairn.watch_requests() >= 1; }));
  cairn.put("x", 1);
  ASSERT_TRUE(rec.wait_for(1));
  cairn.put("x", 2);
  ASSERT_TRUE(rec.wait_for(2));
  EXPECT_EQ(nested_ok.load(), 1);
}

TEST(Watch, FollowsTheLeaderHintAndHonoursRetryAfter) {
  FakeCairn leader("app");
  leader.put("k", 1);
  std::string leader_url = leader.url();
  std::atomic<int> follower_watches{0};
  FakeServer follower([&](const FakeRequest& r) {
    if (r.path == "/api/v1/config/watch" && follower_watches++ == 0) {
      auto resp = error(429, 42901, "slow down");
      resp.headers.emplace_back("Retry-After", "1");
      return resp;
    }
    return error(503, 50302, "not the leader", {{"leader_http", leader_url}});
  });
  Client client(watch_options(follower.url()));
  Recorder rec;
  auto start = std::chrono::steady_clock::now();
  client.watch("app", rec.listener());
  ASSERT_TRUE(wait_until([&] { return leader.watch_requests() >= 1; }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(950));  // waited Retry-After
  EXPECT_EQ(follower_watches.load(), 2);
  leader.put("k", 2);
  ASSERT_TRUE(rec.wait_for(1));
  EXPECT_EQ(*rec.changes()[0].old_value, 1);
  EXPECT_EQ(*rec.changes()[0].new_value, 2);
}

TEST(Watch, DestructorDoesNotWaitOutAHeldPoll) {
  FakeCairn cairn("app");
  auto start = std::chrono::steady_clock::now();
  {
    Client client(watch_options(cairn.url()));
    client.watch("app", [](const ConfigChange&) {});
    ASSERT_TRUE(wait_until([&] { return cairn.watch_requests() >= 1; }));
    std::this_thread::sleep_for(milliseconds(100));  // the poll is held by the server now
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(3000));
}

TEST(Watch, StartsFromTheFileCacheWhenTheClusterIsDown) {
  TempDir dir;
  auto cairn = std::make_unique<FakeCairn>("app");
  cairn->put("a", Json{{"x", 1}});
  std::string url = cairn->url();
  {
    auto o = watch_options(url);
    o.cache_dir = dir.path();
    Client client(o);
    Recorder rec;
    client.watch("app", rec.listener());
    ASSERT_TRUE(wait_until([&] { return cairn->watch_requests() >= 1; }));
    cairn->put("a", Json{{"x", 2}});  // the watch writes the cache after each change
    ASSERT_TRUE(rec.wait_for(1));
  }
  cairn->shutdown();
  auto o = watch_options(url);
  o.cache_dir = dir.path();
  Client client(o);
  client.watch("app", [](const ConfigChange&) {});
  ASSERT_TRUE(wait_until([&] { return client.watched_content("app").has_value(); }));
  auto known = client.watched_content("app");
  EXPECT_TRUE(known->stale);
  EXPECT_EQ(known->revision, 2);
  EXPECT_EQ(known->configs.at("a")["x"], 2);
  auto ns = client.get_namespace("app");
  ASSERT_TRUE(ns.ok());
  EXPECT_TRUE(ns->stale);
}

TEST(Watch, SeveralNamespacesAreWatchedAtOnce) {
  FakeCairn one("one");
  FakeCairn two("two");
  // One endpoint serving both namespaces; one client, one thread, both polls held at once.
  FakeServer router([&](const FakeRequest& r) {
    bool is_one = r.path.find("/one") != std::string::npos ||
                  (r.query.count("namespace") && r.query.at("namespace") == "one");
    return is_one ? one.handle(r) : two.handle(r);
  });
  {
    Client client(watch_options(router.url()));
    Recorder ra, rb;
    client.watch("one", ra.listener());
    client.watch("two", rb.listener());
    ASSERT_TRUE(wait_until([&] { return one.watch_requests() >= 1 && two.watch_requests() >= 1; }));
    two.put("k", 1);
    ASSERT_TRUE(rb.wait_for(1));
    one.put("k", 2);
    ASSERT_TRUE(ra.wait_for(1));
    EXPECT_EQ(ra.changes()[0].ns, "one");
    EXPECT_EQ(rb.changes()[0].ns, "two");
  }
  one.shutdown();  // releases the holds the router's threads are in
  two.shutdown();
}

}  // namespace
}  // namespace cairn
