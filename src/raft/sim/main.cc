// raft_sim: runs many seeded simulations and reports failing seeds with a replay command.
//   raft_sim --seeds N --steps M [--nodes 3|5] [--seed S]
//            [--bug commit-old-term|no-persist-vote|compact-before-snapshot-durable|apply-before-sync]
//            [--no-membership] [--fail-fast] [--verbose] [--max-inconclusive PERCENT]
//            [--lin-budget STEPS]
// A seed whose linearizability search ran out of budget proved nothing: the run fails when more
// than PERCENT (default 1) of its seeds were inconclusive, and always reports how many were.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "raft/sim/cluster.h"

namespace {

int usage() {
  std::fprintf(
      stderr,
      "usage: raft_sim [--seeds N] [--steps M] [--nodes 3|5] [--seed S]\n"
      "                [--bug commit-old-term|no-persist-vote|compact-before-snapshot-durable|apply-before-sync] "
      "[--no-membership] [--fail-fast] [--verbose]\n"
      "                [--max-inconclusive PERCENT] [--lin-budget STEPS]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using cairn::raft::sim::SimOptions;
  uint64_t seeds = 200, first_seed = 1;
  bool single = false, fail_fast = false;
  double max_inconclusive_percent = 1.0;
  SimOptions base;
  std::string bug;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--seeds" && (v = value())) seeds = std::strtoull(v, nullptr, 10);
    else if (a == "--steps" && (v = value())) base.steps = std::atoi(v);
    else if (a == "--nodes" && (v = value())) base.nodes = std::atoi(v);
    else if (a == "--seed" && (v = value())) first_seed = std::strtoull(v, nullptr, 10), single = true;
    else if (a == "--bug" && (v = value())) bug = v;
    else if (a == "--max-inconclusive" && (v = value())) max_inconclusive_percent = std::atof(v);
    else if (a == "--lin-budget" && (v = value())) base.linearizability_budget = std::strtoull(v, nullptr, 10);
    else if (a == "--no-membership") base.membership = false;
    else if (a == "--fail-fast") fail_fast = true;
    else if (a == "--verbose") base.verbose = true;
    else return usage();
  }
  if (base.nodes < 1 || base.nodes > 9 || base.steps < 300) return usage();
  if (bug == "commit-old-term") base.bugs.commit_old_term = true;
  else if (bug == "no-persist-vote") base.bugs.no_persist_vote = true;
  else if (bug == "compact-before-snapshot-durable")
    base.bugs.compact_before_snapshot_durable = true;
  else if (bug == "apply-before-sync") base.bugs.apply_before_sync = true;
  else if (!bug.empty()) return usage();
  if (single) seeds = 1;

  auto t0 = std::chrono::steady_clock::now();
  uint64_t passed = 0, failed = 0, inconclusive = 0;
  for (uint64_t k = 0; k < seeds; ++k) {
    SimOptions o = base;
    o.seed = first_seed + k;
    auto r = cairn::raft::sim::run_simulation(o);
    if (r.linearizability_inconclusive) ++inconclusive;
    if (base.verbose || single)
      std::printf("seed %llu: %s elections=%llu crashes=%llu partitions=%llu conf_changes=%llu transfers=%llu "
                  "writes=%llu reads=%llu snapshots=%llu commit=%llu messages=%llu\n",
                  static_cast<unsigned long long>(o.seed), r.ok ? "ok" : "FAIL",
                  static_cast<unsigned long long>(r.elections), static_cast<unsigned long long>(r.crashes),
                  static_cast<unsigned long long>(r.partitions), static_cast<unsigned long long>(r.conf_changes),
                  static_cast<unsigned long long>(r.transfers), static_cast<unsigned long long>(r.writes_acked),
                  static_cast<unsigned long long>(r.reads_ok), static_cast<unsigned long long>(r.snapshots_installed),
                  static_cast<unsigned long long>(r.max_commit), static_cast<unsigned long long>(r.messages));
    if (r.ok) {
      ++passed;
      continue;
    }
    ++failed;
    std::printf("FAIL seed %llu at step %lld: %s | replay: %s --seed %llu --steps %d --nodes %d%s%s%s\n",
                static_cast<unsigned long long>(o.seed), static_cast<long long>(r.failed_step), r.failure.c_str(),
                argv[0], static_cast<unsigned long long>(o.seed), o.steps, o.nodes, bug.empty() ? "" : " --bug ",
                bug.c_str(), o.membership ? "" : " --no-membership");
    std::fflush(stdout);
    if (fail_fast) break;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const uint64_t run = passed + failed;
  const bool too_many_inconclusive =
      run > 0 && static_cast<double>(inconclusive) * 100.0 >
                     max_inconclusive_percent * static_cast<double>(run);
  std::printf("inconclusive: %llu of %llu seeds (linearizability search budget exhausted; at most "
              "%.1f%% allowed)\n",
              static_cast<unsigned long long>(inconclusive), static_cast<unsigned long long>(run),
              max_inconclusive_percent);
  if (too_many_inconclusive) {
    std::printf("FAIL: too many inconclusive seeds: their histories were never checked\n");
  }
  std::printf("time: %.1fs for %llu steps per seed, %d nodes\n", secs, static_cast<unsigned long long>(base.steps),
              base.nodes);
  std::printf("%llu passed, %llu failed\n", static_cast<unsigned long long>(passed),
              static_cast<unsigned long long>(failed));
  return failed == 0 && !too_many_inconclusive ? 0 : 1;
}
