#!/usr/bin/env python3
"""Consul KV front-end benchmark (issue 17): blocking-query fan-out and GET throughput.

  python3 bench/consul_bench.py --binary build/cairn [--watchers 1000] [--rounds 3]
                                [--duration 5] [--conns 64]

Starts a 3-node Cairn cluster through the shared launcher (tests/support/cairn_cluster.py), then:

1. fan-out: `--watchers` Consul blocking queries (`GET /v1/kv/bench/k0000?index=I&wait=60s`)
   held on a follower by 4 client processes (asyncio), one PUT of the key through the leader's
   Consul API, and the time from the PUT's acknowledgement until every watcher had its answer
   (p50 / p99 / max over watchers, wall clock);
2. throughput, in the same run and interleaved per round: wrk (2 threads, `--conns`) on the
   leader's `GET /v1/kv/bench/k0000` and on the native `GET /api/v1/config/get?namespace=bench&
   key=k0000` (both 200-byte values), requests/s and p50/p99 per round and their ratio.

Everything it starts is stopped by PID at exit. Standard library only (plus wrk).
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
import cairn_cluster  # noqa: E402

HOST = "127.0.0.1"
WRK_DIR = os.path.join(HERE, "wrk")
RESULT_RE = re.compile(r"RESULT requests=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) "
                       r"errors=(\d+) non2xx=(\d+)")
VALUE = "v" * 200


def http(port, method, target, body=None):
    return cairn_cluster.raw_request(port, method, target, body=body)


def pct(vals, p):
    s = sorted(vals)
    return s[min(len(s) - 1, int(len(s) * p / 100))]


async def hold(port, index, n, held_q):
    """n blocking queries on port; returns each one's answer time (time.time())."""
    times = []
    opened = 0

    async def one():
        nonlocal opened
        r, w = await asyncio.open_connection(HOST, port)
        w.write(("GET /v1/kv/bench/k0000?index=%d&wait=60s HTTP/1.1\r\nHost: x\r\n\r\n"
                 % index).encode())
        await w.drain()
        opened += 1
        await r.readuntil(b"\r\n\r\n")
        times.append(time.time())
        w.close()

    tasks = [asyncio.create_task(one()) for _ in range(n)]
    while opened < n:
        await asyncio.sleep(0.02)
    held_q.put(n)
    await asyncio.wait_for(asyncio.gather(*tasks), 90)
    return times


def holder(port, index, n, held_q, out_q):
    out_q.put(asyncio.run(hold(port, index, n, held_q)))


def held_polls(port):
    r = http(port, "GET", "/api/v1/debug/vars")
    return json.loads(r.body)["data"]["watch_held_polls"]


def fan_out(leader, follower, watchers, procs=4):
    r = http(follower.port, "GET", "/v1/kv/bench/k0000")
    index = int(r.header("X-Consul-Index"))
    held_q, out_q = multiprocessing.Queue(), multiprocessing.Queue()
    share = [watchers // procs + (1 if i < watchers % procs else 0) for i in range(procs)]
    ps = [multiprocessing.Process(target=holder, args=(follower.port, index, k, held_q, out_q))
          for k in share if k]
    for p in ps:
        p.start()
    for _ in ps:
        held_q.get(timeout=60)
    deadline = time.time() + 60
    while held_polls(follower.port) < watchers and time.time() < deadline:
        time.sleep(0.05)
    held = held_polls(follower.port)
    r = http(leader.port, "PUT", "/v1/kv/bench/k0000", body="w" * 200)
    acked = time.time()
    assert r.status == 200 and r.body == b"true", r.describe()
    times = []
    for _ in ps:
        times += out_q.get(timeout=90)
    for p in ps:
        p.join(10)
    lat = [max(0.0, t - acked) * 1000 for t in times]
    return {"watchers": len(lat), "held": held, "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
            "max_ms": max(lat), "all_answered_ms": max(lat)}


def wrk(url, conns, duration):
    env = dict(os.environ, BENCH_WRK_DIR=WRK_DIR)
    out = subprocess.run(["wrk", "-t2", "-c%d" % conns, "-d%ds" % duration, "--timeout", "10s",
                          "-s", os.path.join(WRK_DIR, "get.lua"), url],
                         capture_output=True, text=True, env=env)
    m = RESULT_RE.search(out.stdout)
    if not m:
        raise RuntimeError("wrk gave no result: %s %s" % (out.stdout[-500:], out.stderr[-500:]))
    n, dur, p50, p99, err, non2xx = (int(x) for x in m.groups())
    return {"rps": n / (dur / 1e6), "p50_ms": p50 / 1000, "p99_ms": p99 / 1000,
            "errors": err + non2xx}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.environ.get("CAIRN_BINARY", "build/cairn"))
    ap.add_argument("--watchers", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--conns", type=int, default=64)
    args = ap.parse_args()
    cairn_cluster.BINARY = os.path.abspath(args.binary)

    tmp = tempfile.mkdtemp(prefix="cairn-consul-bench-")
    cluster = cairn_cluster.Cluster(tmp, 3, extra_args=(), binary=cairn_cluster.BINARY)
    try:
        cluster.start()
        leader = cluster.wait_leader()
        follower = next(n for n in cluster.all() if n is not leader)
        r = http(leader.port, "PUT", "/v1/kv/bench/k0000", body=VALUE)
        assert r.status == 200, r.describe()
        deadline = time.time() + 20
        while http(follower.port, "GET", "/v1/kv/bench/k0000").status != 200:
            assert time.time() < deadline, "the follower never saw bench/k0000"
            time.sleep(0.05)
        http(leader.port, "PUT", "/v1/kv/bench/k0000", body=VALUE)

        print("## Consul blocking-query fan-out (follower node %d, write through leader)"
              % follower.raft_id)
        f = fan_out(leader, follower, args.watchers)
        print("watchers=%d held=%d  notified after the PUT's ack: p50 %.1f ms, p99 %.1f ms, "
              "all answered %.1f ms" % (f["watchers"], f["held"], f["p50_ms"], f["p99_ms"],
                                        f["all_answered_ms"]))

        consul_url = "http://%s:%d/v1/kv/bench/k0000" % (HOST, leader.port)
        native_url = ("http://%s:%d/api/v1/config/get?namespace=bench&key=k0000"
                      % (HOST, leader.port))
        print("\n## GET throughput, leader, wrk -t2 -c%d -d%ds, %d rounds (interleaved)"
              % (args.conns, args.duration, args.rounds))
        ratios, rows = [], {"consul": [], "native": []}
        for rnd in range(args.rounds):
            c = wrk(consul_url, args.conns, args.duration)
            n = wrk(native_url, args.conns, args.duration)
            rows["consul"].append(c)
            rows["native"].append(n)
            ratios.append(c["rps"] / n["rps"])
            print("round %d: consul %.0f req/s (p50 %.2f ms, p99 %.2f ms, errors %d) | native "
                  "%.0f req/s (p50 %.2f ms, p99 %.2f ms, errors %d) | ratio %.2f"
                  % (rnd + 1, c["rps"], c["p50_ms"], c["p99_ms"], c["errors"], n["rps"],
                     n["p50_ms"], n["p99_ms"], n["errors"], ratios[-1]))
        med = {k: statistics.median(x["rps"] for x in v) for k, v in rows.items()}
        print("median: consul %.0f req/s, native %.0f req/s, consul/native %.2f (range %.2f-%.2f)"
              % (med["consul"], med["native"], statistics.median(ratios), min(ratios),
                 max(ratios)))
    finally:
        cluster.stop_all()
        cairn_cluster.kill_all_live()


if __name__ == "__main__":
    main()
