#!/usr/bin/env python3
"""Watch notification latency: N watchers held on Cairn (long poll) or etcd (grpc-gateway watch
stream), one write, time from the write's acknowledgement to each watcher's notification.

Standard library only (asyncio). Used by bench.py; also runnable alone:
  watch_latency.py cairn 18101 18102 1000     (watch port, write port, watchers)
  watch_latency.py etcd 18301 18302 1000
Latency = notification time - write acknowledgement time (both taken in this process), so a
watcher notified before the writer's acknowledgement arrives counts as 0.
"""

import asyncio
import base64
import json
import statistics
import sys
import time

HOST = "127.0.0.1"


def pct(vals, p):
    if not vals:
        return float("nan")
    s = sorted(vals)
    return s[min(len(s) - 1, int(len(s) * p / 100))]


async def http_once(port, method, path, body=b""):
    r, w = await asyncio.open_connection(HOST, port)
    w.write(("%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: %d\r\nConnection: close\r\n\r\n" % (method, path, len(body))).encode()
            + body)
    await w.drain()
    data = await r.read()
    w.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), rest


async def cairn_revision(port, ns):
    st, body = await http_once(port, "GET", "/api/v1/config/namespace/%s" % ns)
    return json.loads(body)["data"]["version"]


async def cairn_trial(watch_ports, write_port, n, seq, on_held=None):
    ns = "bench"
    rev = await cairn_revision(write_port, ns)
    times = [None] * n
    held = 0

    async def watcher(i):
        nonlocal held
        port = watch_ports[i % len(watch_ports)]
        r, w = await asyncio.open_connection(HOST, port)
        w.write(("GET /api/v1/config/watch?namespace=%s&revision=%d&timeout=60s&keys=k0000 "
                 "HTTP/1.1\r\nHost: x\r\n\r\n" % (ns, rev)).encode())
        await w.drain()
        held += 1
        await r.readuntil(b"\r\n\r\n")  # headers arrive with the answer
        times[i] = time.monotonic()
        w.close()

    tasks = [asyncio.create_task(watcher(i)) for i in range(n)]
    while held < n:
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # let the server park every request
    if on_held:
        on_held(n)
    body = ('{"namespace":"%s","key":"k0000","value":"watch-%d-%f"}' %
            (ns, seq, time.time())).encode()
    st, resp = await http_once(write_port, "PUT", "/api/v1/admin/config", body)
    ack = time.monotonic()
    if st != 200:
        raise RuntimeError("write failed %s %s" % (st, resp[:200]))
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    return [max(0.0, t - ack) * 1000 for t in times]


async def etcd_trial(watch_ports, write_port, n, seq, on_held=None):
    key = base64.b64encode(b"bench/k0000").decode()
    times = [None] * n
    created = 0

    async def watcher(i):
        nonlocal created
        port = watch_ports[i % len(watch_ports)]
        r, w = await asyncio.open_connection(HOST, port)
        body = json.dumps({"create_request": {"key": key}}).encode()
        w.write(("POST /v3/watch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Content-Length: %d\r\n\r\n" % len(body)).encode() + body)
        await w.drain()
        buf = b""
        counted = False
        while True:
            chunk = await r.read(65536)
            if not chunk:
                raise RuntimeError("etcd watch stream closed")
            buf += chunk
            if not counted and b'"created":true' in buf:
                counted = True
                created += 1
            if b'"events"' in buf:
                times[i] = time.monotonic()
                break
        w.close()

    tasks = [asyncio.create_task(watcher(i)) for i in range(n)]
    deadline = time.monotonic() + 120
    while created < n:
        if time.monotonic() > deadline:
            raise RuntimeError("only %d/%d etcd watches created" % (created, n))
        for t in tasks:
            if t.done() and t.exception():
                raise t.exception()
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    if on_held:
        on_held(n)
    val = base64.b64encode(("watch-%d-%f" % (seq, time.time())).encode()).decode()
    st, resp = await http_once(write_port, "POST", "/v3/kv/put",
                               json.dumps({"key": key, "value": val}).encode())
    ack = time.monotonic()
    if st != 200:
        raise RuntimeError("etcd put failed %s %s" % (st, resp[:200]))
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    return [max(0.0, t - ack) * 1000 for t in times]


async def measure(kind, watch_ports, write_port, n, trials=3, on_held=None):
    lat = []
    for seq in range(trials):
        fn = cairn_trial if kind == "cairn" else etcd_trial
        lat += await fn(watch_ports, write_port, n, seq, on_held if seq == 0 else None)
    return {"watchers": n, "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
            "max_ms": max(lat), "mean_ms": statistics.mean(lat), "samples": len(lat)}


def run(kind, watch_ports, write_port, n, trials=3, on_held=None):
    return asyncio.run(measure(kind, watch_ports, write_port, n, trials, on_held))


if __name__ == "__main__":
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    k, wp, pp, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(run(k, [wp], pp, n)))
