// The client registry (docs/releases.md): heap bytes per client and the cost of recording a
// read, an ack and a view. Memory: glibc's mallinfo2() before and after recording N clients
// (each with 3 labels, one namespace read, watched and acked), divided by N, next to the
// registry's own estimate (ClientRegistry::memory_bytes).
//
//   build-bench/bench/micro/cairn_micro --benchmark_filter=ClientRegistry

#include <malloc.h>

#include <benchmark/benchmark.h>

#include <string>

#include "core/client_registry.h"

namespace {

using cairn::core::ClientIdentity;
using cairn::core::ClientRegistry;

ClientIdentity identity(int i) {
  ClientIdentity c;
  c.id = "orders-7d9f8c6b5-" + std::to_string(i) + ":" + std::to_string(10000 + i);
  c.ip = "10.1." + std::to_string(i / 250 % 250) + "." + std::to_string(i % 250);
  c.labels = {{"app", "orders"}, {"version", "1.4.2"}, {"zone", "eu-1"}};
  return c;
}

void BM_ClientRegistryMemory(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    malloc_trim(0);
    const size_t before = mallinfo2().uordblks;
    state.ResumeTiming();
    auto registry = std::make_unique<ClientRegistry>();
    for (int i = 0; i < n; ++i) {
      auto c = identity(i);
      registry->sent(c, "orders", 1234, i % 10 == 0 ? "r-0123456789abcdef" : "", +1);
      registry->ack(c, "orders", 1234, "applied", "", "");
    }
    state.PauseTiming();
    const size_t after = mallinfo2().uordblks;
    state.counters["heap_bytes_per_client"] =
        static_cast<double>(after - before) / static_cast<double>(n);
    state.counters["estimate_bytes_per_client"] =
        static_cast<double>(registry->memory_bytes()) / static_cast<double>(n);
    registry.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_ClientRegistryMemory)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);

void BM_ClientRegistrySent(benchmark::State& state) {
  ClientRegistry registry;
  std::vector<ClientIdentity> clients;
  for (int i = 0; i < 10'000; ++i) clients.push_back(identity(i));
  size_t i = 0;
  for (auto _ : state) {
    registry.sent(clients[i++ % clients.size()], "orders", i, "");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClientRegistrySent);

}  // namespace
