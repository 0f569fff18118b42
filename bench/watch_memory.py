#!/usr/bin/env python3
"""Memory per held long-poll watch (issue 8): starts a 3-node `cairn dev` cluster per binary,
holds N `config/watch … timeout=60s` long polls on a follower and reports the follower's RSS
growth / N, as bench.py's watch rows do. Several binaries run alternately, round after round,
so that an old and a new build face the same machine.

  bench/watch_memory.py --binary build/cairn --binary /tmp/cairn-new --watchers 10000 --rounds 3
"""
import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "support"))
from bench import rss_kib  # noqa: E402 - bench/ is this script's own folder
from cairn_cluster import QUIET_ARGS, DevCluster  # noqa: E402 - the one launcher

HOST = "127.0.0.1"


def req(port, method, path, body=None):
    data = body.encode() if isinstance(body, str) else body
    r = urllib.request.Request("http://%s:%d%s" % (HOST, port, path), data=data, method=method,
                               headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(r, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def dev_cluster(binary, tmp, http_port, peer_port):
    """A 3-node `cairn dev` cluster (cluster id "wm") on fixed ports, not started."""
    return DevCluster(tmp, 3, http_port, peer_port, cluster_id="wm", server_args=QUIET_ARGS,
                      binary=binary)


async def hold(port, rev, n):
    """Opens the n watches concurrently, as bench/watch_latency.py does (its tasks all connect
    at once): the server sees a burst, which is what its memory high-water mark depends on."""
    async def one(i):
        r, w = await asyncio.open_connection(HOST, port)
        w.write(("GET /api/v1/config/watch?namespace=bench&revision=%d&timeout=60s&keys=k0000 "
                 "HTTP/1.1\r\nHost: x\r\n\r\n" % rev).encode())
        await w.drain()
        return r, w
    return await asyncio.gather(*(one(i) for i in range(n)))


def one(binary, n, settle, base):
    tmp = tempfile.mkdtemp(prefix="cairn-wm-")
    c = dev_cluster(binary, tmp, base, base + 100)
    try:
        c.start(timeout=60)
        lead = c.leader_port()
        req(lead, "POST", "/api/v1/admin/namespace", '{"name":"bench"}')
        req(lead, "POST", "/api/v1/admin/config",
            '{"namespace":"bench","key":"k0000","value":"x"}')
        follower = next(p for p in c.ports() if p != lead)
        time.sleep(1.0)
        st, body = req(follower, "GET", "/api/v1/config/namespace/bench")
        rev = json.loads(body)["data"]["version"]
        fpid = c.pid_of_port(follower)
        rss0 = rss_kib(fpid)
        loop = asyncio.new_event_loop()
        conns = loop.run_until_complete(hold(follower, rev, n))
        loop.run_until_complete(asyncio.sleep(settle))
        rss1 = rss_kib(fpid)
        for _, w in conns:
            w.close()
        loop.run_until_complete(asyncio.sleep(0.5))
        loop.close()
        return {"rss_before_kib": rss0, "rss_held_kib": rss1,
                "bytes_per_watch": (rss1 - rss0) * 1024 / n}
    finally:
        c.stop(signal.SIGINT)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", action="append", required=True)
    ap.add_argument("--watchers", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--settle", type=float, default=2.0, help="seconds after the last request")
    ap.add_argument("--port", type=int, default=19101, help="first HTTP port (peer: +100)")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    results = {b: [] for b in a.binary}
    for r in range(a.rounds):
        for i, b in enumerate(a.binary):
            res = one(b, a.watchers, a.settle, a.port + 10 * i)
            results[b].append(res)
            print("round %d %s: RSS %d -> %d KiB, %.0f B/watch (load %s)" % (
                r + 1, b, res["rss_before_kib"], res["rss_held_kib"], res["bytes_per_watch"],
                open("/proc/loadavg").read().split()[0]), flush=True)
    for b, rs in results.items():
        v = [x["bytes_per_watch"] for x in rs]
        print("%s: median %.0f B/watch (min %.0f, max %.0f) over %d rounds, %d watchers" % (
            b, statistics.median(v), min(v), max(v), len(v), a.watchers))


if __name__ == "__main__":
    sys.exit(main())
