#!/usr/bin/env python3
"""A/B of the single-key read between Cairn builds (issue 8): one 3-node `cairn dev` cluster per
binary, all up at once, and wrk rows (config/get on the leader, as bench.py's read rows)
alternating between the binaries, round after round, so that every build faces the same
machine. Prints req/s and p99 per row and the in-round ratio of each binary to the first.

  bench/ab_read.py --binary /tmp/cairn-old --binary build/cairn --rounds 3 --duration 8
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from watch_memory import dev_cluster, req  # noqa: E402 - puts tests/support on the path too

WRK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrk")
RESULT_RE = re.compile(r"RESULT requests=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) "
                       r"errors=(\d+) non2xx=(\d+)")


def wrk(url, conns, duration):
    out = subprocess.run(["wrk", "-t2", "-c%d" % conns, "-d%ds" % duration, "--timeout", "10s",
                          "-s", os.path.join(WRK_DIR, "get.lua"), url],
                         capture_output=True, text=True, env=dict(os.environ,
                                                                  BENCH_WRK_DIR=WRK_DIR))
    m = RESULT_RE.search(out.stdout)
    if not m:
        raise RuntimeError("wrk: %s %s" % (out.stdout[-300:], out.stderr[-300:]))
    n, dur, p50, p99, err, non2xx = (int(x) for x in m.groups())
    return {"rps": n / (dur / 1e6), "p50_ms": p50 / 1000, "p99_ms": p99 / 1000,
            "errors": err + non2xx}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", action="append", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--conns", default="64,256")
    ap.add_argument("--port", type=int, default=19201)
    a = ap.parse_args()
    conns = [int(c) for c in a.conns.split(",")]
    clusters, tmps = [], []
    try:
        for i, b in enumerate(a.binary):
            tmp = tempfile.mkdtemp(prefix="cairn-ab-")
            tmps.append(tmp)
            c = dev_cluster(b, tmp, a.port + 10 * i, a.port + 10 * i + 100)
            clusters.append(c)
            c.start(timeout=60)
            lead = c.leader_port()
            req(lead, "POST", "/api/v1/admin/namespace", '{"name":"bench"}')
            value = '{"v":"%s"}' % ("x" * 180)
            st, _ = req(lead, "POST", "/api/v1/admin/config",
                        '{"namespace":"bench","key":"k0000","value":%s}' % value)
            assert st in (200, 201), st
        res = {(b, c): [] for b in a.binary for c in conns}
        for r in range(a.rounds):
            for c in conns:
                for b, cl in zip(a.binary, clusters):
                    url = "http://127.0.0.1:%d/api/v1/config/get?namespace=bench&key=k0000" % \
                        cl.leader_port()
                    x = wrk(url, c, a.duration)
                    x["load"] = float(open("/proc/loadavg").read().split()[0])
                    res[(b, c)].append(x)
                    print("round %d c=%d %s: %.0f req/s p50 %.2f ms p99 %.2f ms errors %d "
                          "(load %.2f)" % (r + 1, c, b, x["rps"], x["p50_ms"], x["p99_ms"],
                                           x["errors"], x["load"]), flush=True)
        print("\nmedian over %d rounds (ratio to %s in the same round: median, min-max)" %
              (a.rounds, a.binary[0]))
        for c in conns:
            base = res[(a.binary[0], c)]
            for b in a.binary:
                xs = res[(b, c)]
                ratios = [x["rps"] / y["rps"] for x, y in zip(xs, base)]
                print("c=%d %s: %.0f req/s (%.0f-%.0f), p99 %.2f ms; ratio %.2f (%.2f-%.2f)" % (
                    c, b, statistics.median(x["rps"] for x in xs), min(x["rps"] for x in xs),
                    max(x["rps"] for x in xs), statistics.median(x["p99_ms"] for x in xs),
                    statistics.median(ratios), min(ratios), max(ratios)))
    finally:
        for c in clusters:
            c.stop(signal.SIGINT)
        for t in tmps:
            shutil.rmtree(t, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
