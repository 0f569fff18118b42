#!/usr/bin/env python3
"""Watch notification latency: N watchers held on Cairn (long poll) or etcd (grpc-gateway watch
stream), one write, time from the write's acknowledgement to each watcher's notification.

Standard library only (asyncio). Used by bench.py; also runnable alone:
  watch_latency.py cairn 18101 18102 1000     (watch port, write port, watchers)
  watch_latency.py etcd 18301 18302 1000
Latency = notification time - write acknowledgement time (wall clock, CLOCK_REALTIME, the same
in every process), so a watcher notified before the writer's acknowledgement arrives counts as 0.

The watchers are spread over several client processes (`procs`, default 4), each an asyncio loop
holding its share: one Python process reading 10,000 answers one after another takes longer than
the server needs to send them, and would measure itself.
"""

import asyncio
import base64
import json
import multiprocessing
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


async def cairn_watchers(watch_ports, rev, ids, held_q, go):
    """Holds one long poll per id; returns each one's notification time (time.time())."""
    ns = "bench"
    times = {}
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
        times[i] = time.time()
        w.close()

    tasks = [asyncio.create_task(watcher(i)) for i in ids]
    while held < len(ids):
        for t in tasks:
            if t.done() and t.exception():
                raise t.exception()
        await asyncio.sleep(0.05)
    held_q.put(len(ids))
    await asyncio.wait_for(asyncio.gather(*tasks), 90)
    return times


async def etcd_watchers(watch_ports, rev, ids, held_q, go):
    key = base64.b64encode(b"bench/k0000").decode()
    times = {}
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
                times[i] = time.time()
                break
        w.close()

    tasks = [asyncio.create_task(watcher(i)) for i in ids]
    deadline = time.monotonic() + 120
    while created < len(ids):
        if time.monotonic() > deadline:
            raise RuntimeError("only %d/%d etcd watches created" % (created, len(ids)))
        for t in tasks:
            if t.done() and t.exception():
                raise t.exception()
        await asyncio.sleep(0.05)
    held_q.put(len(ids))
    await asyncio.wait_for(asyncio.gather(*tasks), 90)
    return times


def _client(kind, watch_ports, rev, ids, held_q, out_q):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    fn = cairn_watchers if kind == "cairn" else etcd_watchers
    try:
        times = asyncio.run(fn(watch_ports, rev, ids, held_q, None))
        out_q.put(("ok", list(times.values())))
    except Exception as e:  # noqa: BLE001 - reported to the parent
        held_q.put(-1)
        out_q.put(("error", repr(e)))


async def write_once(kind, write_port, seq):
    """The write the watchers wait for; returns the acknowledgement's wall-clock time."""
    if kind == "cairn":
        body = ('{"namespace":"bench","key":"k0000","value":"watch-%d-%f"}' %
                (seq, time.time())).encode()
        st, resp = await http_once(write_port, "PUT", "/api/v1/admin/config", body)
    else:
        key = base64.b64encode(b"bench/k0000").decode()
        val = base64.b64encode(("watch-%d-%f" % (seq, time.time())).encode()).decode()
        st, resp = await http_once(write_port, "POST", "/v3/kv/put",
                                   json.dumps({"key": key, "value": val}).encode())
    ack = time.time()
    if st != 200:
        raise RuntimeError("%s write failed %s %s" % (kind, st, resp[:200]))
    return ack


def trial(kind, watch_ports, write_port, n, seq, on_held=None, procs=4):
    rev = asyncio.run(cairn_revision(write_port, "bench")) if kind == "cairn" else 0
    ctx = multiprocessing.get_context("fork")
    held_q, out_q = ctx.Queue(), ctx.Queue()
    shares = [list(range(i, n, procs)) for i in range(procs)]
    children = [ctx.Process(target=_client, args=(kind, watch_ports, rev, ids, held_q, out_q))
                for ids in shares if ids]
    for c in children:
        c.start()
    try:
        for _ in children:
            if held_q.get(timeout=180) < 0:
                raise RuntimeError("a watch client failed: %s" % (out_q.get(timeout=5),))
        time.sleep(1.0)  # let the server park every request
        if on_held:
            on_held(n)
        ack = asyncio.run(write_once(kind, write_port, seq))
        times = []
        for _ in children:
            status, val = out_q.get(timeout=120)
            if status != "ok":
                raise RuntimeError("a watch client failed: %s" % val)
            times += val
    finally:
        for c in children:
            c.join(timeout=5)
            if c.is_alive():
                c.kill()
    return [max(0.0, t - ack) * 1000 for t in times]


def run(kind, watch_ports, write_port, n, trials=3, on_held=None, procs=4):
    lat = []
    for seq in range(trials):
        lat += trial(kind, watch_ports, write_port, n, seq, on_held if seq == 0 else None, procs)
    return {"watchers": n, "procs": procs, "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
            "max_ms": max(lat), "mean_ms": statistics.mean(lat), "samples": len(lat)}


if __name__ == "__main__":
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    k, wp, pp, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(run(k, [wp], pp, n)))
