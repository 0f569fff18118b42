#!/usr/bin/env python3
"""A/B of write cost between Cairn binaries (issue 21 §3).

    flock /tmp/cairn-heavy.lock python3 bench/write_ab.py BIN_A BIN_B [...]   # ROUNDS=2 by default

Starts one fresh 3-node `cairn dev` cluster per binary (HTTP 18701+20·i, peers 18801+20·i; the
bench.py launcher and 1,000-key load), then alternates rounds: wrk `cairn_put.lua` at c=64 for
10 s and c=1 for 5 s against each leader. Prints writes/s, p50/p99 and the CPU the three nodes
used per write (utime+stime from /proc, µs) — the figure that moves least with the load of a
shared machine. Stops every cluster it started.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402


def ticks(pids):
    t = 0
    for p in pids:
        with open("/proc/%d/stat" % p) as f:
            s = f.read().rsplit(")", 1)[1].split()
        t += int(s[11]) + int(s[12])
    return t


def main():
    bins = sys.argv[1:]
    if not bins:
        sys.exit(__doc__)
    rounds = int(os.environ.get("ROUNDS", "2"))
    hz = os.sysconf("SC_CLK_TCK")
    clusters = []
    tmp = tempfile.mkdtemp(prefix="cairn-write-ab-")
    env = dict(os.environ, BENCH_WRK_DIR=os.path.join(HERE, "wrk"))
    try:
        for i, b in enumerate(bins):
            c = bench.Cairn(b, tmp, "c%d" % i, 18701 + 20 * i, 18801 + 20 * i)
            c.start()
            c.load()
            clusters.append(c)
        for r in range(rounds):
            for b, c in zip(bins, clusters):
                for conns, dur in ((64, 10), (1, 5)):
                    pids = c.node_pids()
                    t0 = ticks(pids)
                    out = subprocess.run(
                        ["wrk", "-t%d" % min(2, conns), "-c%d" % conns, "-d%ds" % dur,
                         "--timeout", "10s", "-s", os.path.join(HERE, "wrk", "cairn_put.lua"),
                         "http://127.0.0.1:%d/api/v1/admin/config" % c.leader_port()],
                        env=env, capture_output=True, text=True).stdout
                    t1 = ticks(pids)
                    m = dict(re.findall(r"(\w+)=(\d+)", out.split("RESULT", 1)[1].split("\n")[0]))
                    n = int(m["requests"])
                    d = int(m["duration_us"]) / 1e6
                    print("round %d %-40s c=%-3d %7.0f/s p50 %6.1f ms p99 %6.1f ms "
                          "cpu %5.0f us/write non2xx %s" % (
                              r, b, conns, n / d, int(m["p50_us"]) / 1e3,
                              int(m["p99_us"]) / 1e3, (t1 - t0) * 1e6 / hz / max(n, 1),
                              m["non2xx"]), flush=True)
    finally:
        for c in clusters:
            try:
                c.dev.stop()
            except Exception as e:  # noqa: BLE001 - keep stopping the others
                print("stop:", e)
        bench.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
