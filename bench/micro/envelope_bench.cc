// Response building: the success envelope around a pre-serialised value (the config/get hot
// path) and an error envelope.
#include <benchmark/benchmark.h>

#include <string>

#include "api/envelope.h"

namespace {

void BM_SuccessEnvelope(benchmark::State& state) {
  std::string data = R"({"namespace":"bench","key":"k0000","value":")" +
                     std::string(static_cast<size_t>(state.range(0)), 'v') +
                     R"(","version":3,"updated_at":"2026-11-28T00:00:00Z"})";
  for (auto _ : state) {
    auto s = cairn::api::success_envelope("success", data, "5afc11ac-7c17-4abf-b053-c0b4e31e8dfc",
                                          1795909333);
    benchmark::DoNotOptimize(s.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}

void BM_ErrorEnvelope(benchmark::State& state) {
  auto e = cairn::api::make_error(cairn::api::Errc::kBadRequest, "namespace must not be empty",
                                   "namespace");
  for (auto _ : state) {
    auto s = cairn::api::error_envelope(e, "5afc11ac-7c17-4abf-b053-c0b4e31e8dfc", 1795909333);
    benchmark::DoNotOptimize(s.data());
  }
}

}  // namespace

BENCHMARK(BM_SuccessEnvelope)->Arg(200)->Arg(4096);
BENCHMARK(BM_ErrorEnvelope);
