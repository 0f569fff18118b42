// WAL append: batches of 200-byte entries appended to a real segment file, with and without
// the fdatasync that makes them durable (the group commit of the write path).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "raft/types.h"
#include "wal/crc32c.h"
#include "wal/wal.h"

namespace {

namespace fs = std::filesystem;

std::string scratch_dir() {
  const char* base = std::getenv("CAIRN_BENCH_DIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/cairn-walbench-XXXXXX";
  char* d = mkdtemp(tmpl.data());
  return d ? std::string(d) : std::string();
}

void append(benchmark::State& state, bool sync) {
  const auto batch = static_cast<size_t>(state.range(0));
  std::string dir = scratch_dir();
  cairn::wal::WalOptions opts;
  opts.dir = dir + "/wal";
  auto w = cairn::wal::WalLogStore::open(opts);
  if (!w) {
    state.SkipWithError("cannot open WAL");
    return;
  }
  auto& log = *w.value();
  cairn::raft::Index next = log.last_index() + 1;
  std::vector<cairn::raft::Entry> entries(batch);
  for (auto _ : state) {
    for (auto& e : entries) {
      e.term = 1;
      e.index = next++;
      e.data.assign(200, 'v');
    }
    if (!log.append(entries)) state.SkipWithError("append failed");
    if (sync && !log.sync()) state.SkipWithError("sync failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
  fs::remove_all(dir);
}

void BM_WalAppend(benchmark::State& s) { append(s, false); }
void BM_WalAppendSync(benchmark::State& s) { append(s, true); }

void BM_Crc32c(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), 'v');
  for (auto _ : state) benchmark::DoNotOptimize(cairn::wal::crc32c_extend(0, data.data(), data.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}

}  // namespace

BENCHMARK(BM_WalAppend)->Arg(1)->Arg(64);
BENCHMARK(BM_WalAppendSync)->Arg(1)->Arg(64)->UseRealTime();
BENCHMARK(BM_Crc32c)->Arg(256);
