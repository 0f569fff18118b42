#!/usr/bin/env python3
"""Write p99 per time window across snapshot thresholds (issue 21 §2).

Starts a 3-node `cairn dev` cluster, creates 1,000 keys and runs wrk with bench/wrk/cairn_put.lua
(200-byte updates of random keys) against the leader, one wrk run per window (default 30 windows
of 10 s: 5 minutes), so that each window has its own exact p99 from wrk's histogram. Reports the
p99 of every window, the median window's p99, the largest ratio of a window's p99 to that median
(target: <= 2x), and the snapshots each node took and installed (its /api/v1/metrics), with the windows
in which the leader's count moved.

    flock /tmp/cairn-heavy.lock python3 bench/snapshot_stalls.py --binary build/cairn

--snapshot-threshold passes `cairn server --snapshot-threshold` (default: the server's own, 100k
entries); pick one that the run's write rate crosses at least twice. Every process started here
is stopped by PID (cairn dev stops its nodes; any node left is killed by PID) in a finally block.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402 - req, run_wrk, QUIET_ARGS, DevCluster
from bench import QUIET_ARGS, DevCluster, log, req, run_wrk  # noqa: E402

VALUE200 = bench.VALUE200
# The windows run back to back: no sync of the page cache between them (bench.settle_disk),
# whose writeback is part of what a snapshot's window measures.
bench.SETTLE = False


def metric(port, name):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/metrics" % port, timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    m = re.search(r"^%s(?:\{[^}]*\})? ([0-9.e+]+)$" % re.escape(name), text, re.M)
    return int(float(m.group(1))) if m else None


def snapshot_counts(dev):
    out = {}
    for i, port in enumerate(dev.ports(), 1):
        out[i] = (metric(port, "config_center_raft_snapshots_taken_total"),
                  metric(port, "config_center_raft_snapshots_installed_total"))
    return out


def load(port):
    st, body = req(port, "POST", "/api/v1/admin/namespace", {"name": "bench"})
    if st not in (200, 201, 409):
        raise RuntimeError("namespace create: %s %s" % (st, body[:200]))
    import concurrent.futures as cf

    def create(i):
        body = '{"namespace":"bench","key":"k%04d","value":%s}' % (i, VALUE200)
        st, resp = req(port, "POST", "/api/v1/admin/config", body)
        if st not in (200, 201, 409):
            raise RuntimeError("config create k%04d: %s %s" % (i, st, resp[:200]))
    with cf.ThreadPoolExecutor(32) as ex:
        list(ex.map(create, range(1000)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--windows", type=int, default=30)
    ap.add_argument("--window", type=int, default=10, help="seconds per window")
    ap.add_argument("--snapshot-threshold", type=int, default=None)
    ap.add_argument("--http-port", type=int, default=19201)
    ap.add_argument("--peer-port", type=int, default=19251)
    ap.add_argument("--json", help="write the figures here too")
    ap.add_argument("--keep-data", action="store_true",
                    help="keep the nodes' data directory (removed after the run by default)")
    a = ap.parse_args()

    server_args = list(QUIET_ARGS)
    if a.snapshot_threshold:
        server_args += ["--snapshot-threshold", str(a.snapshot_threshold)]
    tmp = tempfile.mkdtemp(prefix="cairn-snapstall-")
    dev = DevCluster(os.path.join(tmp, "cairn"), 3, a.http_port, a.peer_port, cluster_id="snapstall",
                     server_args=server_args, binary=os.path.abspath(a.binary))
    windows = []

    def on_signal(signum, _frame):  # bench/run.sh stops a step with SIGTERM: stop the cluster
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_signal)
    try:
        dev.start()
        bench.record_pid(dev.pid)  # run.sh's trap stops it even if this script is killed
        leader = dev.leader_port()
        log("leader on %d; loading 1,000 keys" % leader)
        load(leader)
        pids = list(dev.node_pids().values())
        before = snapshot_counts(dev)
        for w in range(a.windows):
            t0 = time.time()
            res = run_wrk("http://127.0.0.1:%d" % leader, "cairn_put.lua", a.conns, a.window, pids)
            counts = snapshot_counts(dev)
            taken = {i: c[0] for i, c in counts.items()}
            windows.append({"window": w, "start_s": round(t0, 1), "rps": round(res["rps"]),
                            "p50_ms": res["p50_ms"], "p99_ms": res["p99_ms"],
                            "errors": res["errors"], "non2xx": res["non2xx"], "snapshots_taken": taken})
            log("window %2d: %6.0f writes/s  p50 %6.1f ms  p99 %7.1f ms  errors %d non2xx %d  snapshots taken %s"
                % (w, res["rps"], res["p50_ms"], res["p99_ms"], res["errors"], res["non2xx"], taken))
        after = snapshot_counts(dev)
    finally:
        dev.stop()
        # The nodes' data is 3-5 GB after 5 minutes of writes: left in /tmp, a few runs filled
        # the disk (2026-12-03). --keep-data keeps it for a post-mortem.
        if not a.keep_data:
            shutil.rmtree(tmp, ignore_errors=True)
    p99s = [w["p99_ms"] for w in windows]
    med = statistics.median(p99s)
    worst = max(windows, key=lambda w: w["p99_ms"])
    prev = {i: c[0] for i, c in before.items()}
    snap_windows = []
    for w in windows:
        if any((w["snapshots_taken"][i] or 0) > (prev[i] or 0) for i in prev):
            snap_windows.append(w["window"])
        prev = w["snapshots_taken"]
    summary = {
        "binary": a.binary, "conns": a.conns, "windows": a.windows, "window_s": a.window,
        "snapshot_threshold": a.snapshot_threshold or "server default",
        "writes_per_s_median": statistics.median(w["rps"] for w in windows),
        "p99_ms_per_window": p99s, "median_window_p99_ms": med,
        "max_window_p99_ms": worst["p99_ms"], "max_ratio": round(worst["p99_ms"] / med, 2),
        "worst_window": worst["window"], "windows_with_a_snapshot": snap_windows,
        "snapshots_before": before, "snapshots_after": after,
        "errors": sum(w["errors"] for w in windows), "non2xx": sum(w["non2xx"] for w in windows),
    }
    print(json.dumps(summary, indent=1))
    print("median window p99 %.1f ms, max %.1f ms (window %d), max ratio %.2fx (target <= 2x: %s); "
          "snapshots in windows %s" % (med, worst["p99_ms"], worst["window"], worst["p99_ms"] / med,
                                      "met" if worst["p99_ms"] <= 2 * med else "NOT met", snap_windows))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"summary": summary, "windows": windows}, f, indent=1)


if __name__ == "__main__":
    main()
