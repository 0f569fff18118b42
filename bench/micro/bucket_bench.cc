// Token bucket: one bucket's sync/ms_until (the arithmetic), and Limiter::check, which a
// request pays on every call (shard lock, client lookup, global and per-client buckets).
#include <benchmark/benchmark.h>

#include <atomic>
#include <string>
#include <vector>

#include "limit/bucket.h"
#include "limit/limiter.h"
#include "limit/limits.h"

namespace {

using cairn::limit::RequestClass;

void BM_BucketSync(benchmark::State& state) {
  cairn::limit::Quota q{1000, 2000};
  cairn::limit::Bucket b;
  int64_t now = 1;
  for (auto _ : state) {
    b.sync(q, 1, ++now);
    benchmark::DoNotOptimize(b.ms_until(1, q));
    b.tokens -= 1;
  }
}

cairn::limit::Limits limits() {
  cairn::limit::Limits l;
  for (auto& q : l.global) q = {1e9, 1e9};
  for (auto& q : l.client_default) q = {1e9, 1e9};
  return l;
}

void BM_LimiterCheckOneClient(benchmark::State& state) {
  static std::atomic<int64_t> now{1};
  cairn::limit::Limiter lim(limits(), [] { return now.fetch_add(1); });
  for (auto _ : state) benchmark::DoNotOptimize(lim.check(RequestClass::kRead, "127.0.0.1"));
}

void BM_LimiterCheckManyClients(benchmark::State& state) {
  static std::atomic<int64_t> now{1};
  cairn::limit::Limiter lim(limits(), [] { return now.fetch_add(1); });
  std::vector<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.push_back("10.0." + std::to_string(i / 256) + "." +
                                               std::to_string(i % 256));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(lim.check(RequestClass::kRead, ids[i]));
    i = (i + 1) % ids.size();
  }
}

}  // namespace

BENCHMARK(BM_BucketSync);
BENCHMARK(BM_LimiterCheckOneClient)->Threads(1)->Threads(2);
BENCHMARK(BM_LimiterCheckManyClients);
