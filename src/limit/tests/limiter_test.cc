#include "limit/limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace cairn::limit {
namespace {

using Verdict = Decision::Verdict;
constexpr auto kRead = RequestClass::kRead;
constexpr auto kWrite = RequestClass::kWrite;
constexpr auto kAdmin = RequestClass::kAdmin;

/// A hand-driven monotonic clock.
struct FakeClock {
  int64_t now = 1'000'000;
  Limiter::Clock fn() {
    return [this] { return now; };
  }
};

/// Limits with nothing limited, for tests to fill in.
Limits open_limits() {
  Limits l;
  l.global = {Quota{}, Quota{}, Quota{}};
  l.client_default = {Quota{}, Quota{}, Quota{}};
  return l;
}

size_t count_allowed(Limiter& lim, RequestClass c, const std::string& client, int n) {
  size_t ok = 0;
  for (int i = 0; i < n; ++i) ok += lim.check(c, client).allowed();
  return ok;
}

TEST(Limiter, ClientBurstThenRefill) {
  FakeClock clock;
  Limits l = open_limits();
  l.client_default[0] = {1, 3};  // read: 1/s, burst 3
  Limiter lim(l, clock.fn());

  for (int i = 0; i < 3; ++i) {
    Decision d = lim.check(kRead, "a");
    ASSERT_TRUE(d.allowed()) << i;
    EXPECT_TRUE(d.limited);
    EXPECT_EQ(d.limit, 1);
    EXPECT_EQ(d.remaining, 2 - i);
  }
  Decision d = lim.check(kRead, "a");
  EXPECT_EQ(d.verdict, Verdict::kClientLimited);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(d.retry_after_ms, 1'000);
  EXPECT_EQ(d.reset_ms, 3'000);

  clock.now += 999;
  EXPECT_FALSE(lim.check(kRead, "a").allowed());
  clock.now += 1;
  EXPECT_TRUE(lim.check(kRead, "a").allowed());
  EXPECT_FALSE(lim.check(kRead, "a").allowed());
  clock.now += 60'000;  // never more than the burst
  EXPECT_EQ(count_allowed(lim, kRead, "a", 10), 3u);
}

TEST(Limiter, OtherClientsAndClassesAreUnaffected) {
  FakeClock clock;
  Limits l = open_limits();
  l.client_default = {Quota{0.001, 2}, Quota{0.001, 1}, Quota{}};
  Limiter lim(l, clock.fn());
  EXPECT_EQ(count_allowed(lim, kRead, "a", 5), 2u);
  EXPECT_EQ(count_allowed(lim, kRead, "b", 5), 2u);
  EXPECT_EQ(count_allowed(lim, kWrite, "a", 5), 1u);
  EXPECT_EQ(count_allowed(lim, kAdmin, "a", 50), 50u);  // no admin quota per client
  Decision d = lim.check(kAdmin, "a");
  EXPECT_TRUE(d.allowed());
  EXPECT_FALSE(d.limited);  // nothing to report
}

TEST(Limiter, GlobalLimitIsSharedByAllClients) {
  FakeClock clock;
  Limits l = open_limits();
  l.global[1] = {0.001, 3};  // write
  Limiter lim(l, clock.fn());
  EXPECT_TRUE(lim.check(kWrite, "a").allowed());
  EXPECT_TRUE(lim.check(kWrite, "b").allowed());
  Decision d = lim.check(kWrite, "c");
  ASSERT_TRUE(d.allowed());
  EXPECT_EQ(d.remaining, 0);  // the global bucket is reported: the client has no quota
  d = lim.check(kWrite, "d");
  EXPECT_EQ(d.verdict, Verdict::kGlobalLimited);
  EXPECT_EQ(d.limit, 0.001);
  EXPECT_EQ(d.retry_after_ms, 1'000'000);
  EXPECT_TRUE(lim.check(kRead, "d").allowed());   // other classes have their own bucket
  EXPECT_FALSE(lim.check(kWrite, "").allowed());  // no client id: still the global limit
}

TEST(Limiter, GlobalIsCheckedFirstAndAClientRejectionGivesItsTokenBack) {
  FakeClock clock;
  Limits l = open_limits();
  l.global[0] = {0.001, 3};
  l.client_default[0] = {0.001, 1};
  Limiter lim(l, clock.fn());
  EXPECT_TRUE(lim.check(kRead, "greedy").allowed());
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(lim.check(kRead, "greedy").verdict, Verdict::kClientLimited);
  }
  // The greedy client's rejections took nothing from the shared bucket.
  EXPECT_TRUE(lim.check(kRead, "b").allowed());
  EXPECT_TRUE(lim.check(kRead, "c").allowed());
  EXPECT_EQ(lim.check(kRead, "d").verdict, Verdict::kGlobalLimited);
  EXPECT_EQ(lim.check(kRead, "greedy").verdict, Verdict::kGlobalLimited);

  LimiterProbe p = lim.probe();
  EXPECT_EQ(p.allowed[0], 3u);
  EXPECT_EQ(p.rejected_client[0], 20u);
  EXPECT_EQ(p.rejected_global[0], 2u);
}

TEST(Limiter, VipClientsHaveTheirOwnQuota) {
  FakeClock clock;
  Limits l = open_limits();
  l.client_default[0] = {0.001, 2};
  l.clients["core-service"] = {Quota{0.001, 5}, Quota{}, Quota{}};
  Limiter lim(l, clock.fn());
  EXPECT_EQ(count_allowed(lim, kRead, "core-service", 10), 5u);
  EXPECT_EQ(count_allowed(lim, kRead, "other", 10), 2u);
  EXPECT_EQ(count_allowed(lim, kWrite, "core-service", 10), 10u);
}

TEST(Limiter, SuccessReportsTheClientBucket) {
  FakeClock clock;
  Limits l = open_limits();
  l.global[0] = {100, 200};
  l.client_default[0] = {2, 4};
  Limiter lim(l, clock.fn());
  Decision d = lim.check(kRead, "a");
  EXPECT_EQ(d.limit, 2);
  EXPECT_EQ(d.remaining, 3);
  EXPECT_EQ(d.reset_ms, 500);
  EXPECT_EQ(d.retry_after_ms, 0);
}

// Issue 15 item 15: success reports the bucket closest to refusing, with its capacity.
TEST(Limiter, SuccessReportsTheBucketWithFewestTokens) {
  FakeClock clock;
  Limits l = open_limits();
  l.global[0] = {1, 2};
  l.client_default[0] = {2, 4};
  Limiter lim(l, clock.fn());
  Decision d = lim.check(kRead, "a");
  EXPECT_EQ(d.limit, 1);  // the global bucket: 1 token left against the client's 3
  EXPECT_EQ(d.burst, 2);
  EXPECT_EQ(d.remaining, 1);
  d = lim.check(kRead, "a");
  EXPECT_EQ(d.burst, 2);
  EXPECT_EQ(d.remaining, 0);
  EXPECT_EQ(lim.check(kRead, "a").verdict, Verdict::kGlobalLimited);
  clock.now += 60'000;
  l.global[0] = {100, 200};
  lim.reload(l);
  d = lim.check(kRead, "a");
  EXPECT_EQ(d.limit, 2);  // now the client's own
  EXPECT_EQ(d.burst, 4);
  EXPECT_EQ(d.remaining, 3);
}

TEST(Limiter, EmptyClientIdCountsOnlyGlobally) {
  FakeClock clock;
  Limits l = open_limits();
  l.client_default[0] = {0.001, 1};
  Limiter lim(l, clock.fn());
  EXPECT_EQ(count_allowed(lim, kRead, "", 10), 10u);
  EXPECT_EQ(lim.tracked_clients(), 0u);
}

TEST(Limiter, ReloadAppliesNewLimitsWithFreshBuckets) {
  FakeClock clock;
  Limits l = open_limits();
  l.global[1] = {0.001, 1};
  l.client_default[0] = {0.001, 1};
  Limiter lim(l, clock.fn());
  EXPECT_EQ(count_allowed(lim, kRead, "a", 3), 1u);
  EXPECT_EQ(count_allowed(lim, kWrite, "a", 3), 1u);

  Limits bigger = l;
  bigger.client_default[0] = {0.001, 4};
  lim.reload(bigger);
  EXPECT_EQ(lim.limits()->client_default[0].burst, 4);
  Decision d = lim.check(kRead, "a");
  ASSERT_TRUE(d.allowed());
  EXPECT_EQ(d.remaining, 3);
  EXPECT_EQ(count_allowed(lim, kRead, "a", 10), 3u);
  EXPECT_EQ(count_allowed(lim, kWrite, "a", 3), 1u);  // the global bucket restarted too
  EXPECT_EQ(lim.probe().reloads, 1u);

  lim.reload(open_limits());
  EXPECT_EQ(count_allowed(lim, kRead, "a", 100), 100u);
}

TEST(Limiter, IdleClientsExpireOnceTheirBucketsAreFull) {
  FakeClock clock;
  Limits l = open_limits();
  l.client_default[0] = {1, 2};
  Limiter lim(l, clock.fn(), 1);
  for (int i = 0; i < 100; ++i) lim.check(kRead, "c" + std::to_string(i));
  EXPECT_EQ(lim.tracked_clients(), 100u);
  clock.now += 999;  // one token short of full
  EXPECT_EQ(lim.sweep(), 0u);
  clock.now += 1;
  EXPECT_EQ(lim.sweep(), 100u);
  EXPECT_EQ(lim.tracked_clients(), 0u);
  EXPECT_EQ(lim.probe().clients_expired, 100u);
}

TEST(Limiter, ChecksDrainIdleClientsIncrementally) {
  FakeClock clock;
  Limits l = open_limits();
  l.client_default[0] = {1, 2};
  Limiter lim(l, clock.fn(), 1);
  for (int i = 0; i < 10; ++i) lim.check(kRead, "idle" + std::to_string(i));
  clock.now += 5'000;
  for (int i = 0; i < 5; ++i) lim.check(kRead, "busy");
  EXPECT_EQ(lim.tracked_clients(), 1u);  // only "busy" is left, with no sweep() call
}

TEST(Limiter, AClientOverItsQuotaIsNotForgotten) {
  FakeClock clock;
  Limits l = open_limits();
  l.client_default[0] = {0.001, 1};
  Limiter lim(l, clock.fn(), 1);
  EXPECT_TRUE(lim.check(kRead, "greedy").allowed());
  for (int i = 0; i < 50; ++i) lim.check(kRead, "other" + std::to_string(i));
  clock.now += 10'000;
  EXPECT_EQ(lim.sweep(), 0u);
  EXPECT_FALSE(lim.check(kRead, "greedy").allowed());
}

TEST(Limiter, HardCapEvictsTheLeastRecentlySeen) {
  FakeClock clock;
  Limits l = open_limits();
  l.client_default[0] = {0.001, 1};
  l.max_clients = 3;
  Limiter lim(l, clock.fn(), 1);
  for (const char* c : {"a", "b", "c"}) EXPECT_TRUE(lim.check(kRead, c).allowed());
  EXPECT_FALSE(lim.check(kRead, "a").allowed());  // "a" is now the most recently seen
  EXPECT_TRUE(lim.check(kRead, "d").allowed());   // evicts "b"
  EXPECT_EQ(lim.tracked_clients(), 3u);
  EXPECT_EQ(lim.probe().clients_evicted, 1u);
  EXPECT_FALSE(lim.check(kRead, "a").allowed());
  EXPECT_FALSE(lim.check(kRead, "c").allowed());
  EXPECT_TRUE(lim.check(kRead, "b").allowed());  // forgotten: a full bucket again
}

TEST(Limiter, MemoryStaysBoundedWithManyDistinctClients) {
  FakeClock clock;
  Limits l = open_limits();
  l.client_default[0] = {0.001, 5};  // never full again during the test: only the cap helps
  l.max_clients = 1'000;
  const size_t shards = 16;
  Limiter lim(l, clock.fn(), shards);
  for (int i = 0; i < 200'000; ++i) {
    ASSERT_TRUE(lim.check(kRead, "client-" + std::to_string(i)).allowed());
    if (i % 10'000 == 0) {
      ASSERT_LE(lim.tracked_clients(), l.max_clients + shards);
    }
  }
  EXPECT_LE(lim.tracked_clients(), l.max_clients + shards);
  EXPECT_GE(lim.probe().clients_evicted, 200'000u - l.max_clients - shards);
}

/// Runs `fn(thread, i)` on 4 threads, 2500 times each, and counts the allowed answers.
template <class Fn>
size_t allowed_from_threads(Fn fn) {
  std::atomic<size_t> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2'500; ++i) ok += fn(t, i).allowed();
    });
  }
  for (auto& th : threads) th.join();
  return ok.load();
}

TEST(Limiter, ConcurrentChecksNeverOverspend) {
  FakeClock clock;  // never advanced: no refill during the race
  Limits l = open_limits();
  l.global[0] = {0.001, 3'000};
  l.client_default[0] = {0.001, 1'000};
  {
    Limiter lim(l, clock.fn(), 4);
    // One client from every thread: its own bucket binds.
    EXPECT_EQ(allowed_from_threads([&](int, int) { return lim.check(kRead, "shared"); }), 1'000u);
  }
  {
    Limiter lim(l, clock.fn(), 4);
    // Distinct clients: the global bucket binds.
    EXPECT_EQ(allowed_from_threads([&](int t, int i) {
                return lim.check(kRead, "c" + std::to_string(t * 10'000 + i));
              }),
              3'000u);
  }
}

}  // namespace
}  // namespace cairn::limit
