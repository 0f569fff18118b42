#!/usr/bin/env python3
"""Fan-out at scale and learners (issue 21 §4–5). Runnable alone (run it under the machine-wide
lock on a shared machine):

  flock /tmp/cairn-heavy.lock python3 bench/fanout.py --binary build/cairn --json /tmp/fanout.json

Parts (each can be skipped: --watchers '', --sse '', --etcd '', --no-large, --no-learners):

1. Long-poll fan-out: a 3-node `cairn dev` cluster (HTTP 19301-19303, peers 19401-19403); N
   `config/watch?namespace=bench&keys=k0000&timeout=120s` long polls held on one follower by
   --procs client processes (bench/fanout_client.c, one epoll loop each, built here with `cc`;
   source addresses 127.0.0.10+i so that 50,000 connections do not run out of ephemeral ports);
   once the follower's `watch_held_polls` shows all N, one write of bench/k0000 through the
   leader; latency = notification time - the write's acknowledgement (wall clock, the same in
   every process). Reported: p50/p99/max (max = the last watcher), follower RSS before and while
   held, bytes per watch, follower CPU seconds for the fan-out. --watchers 10000,50000.
2. SSE: the same with `config/watch/stream` (held = the stream's headers arrived and the node's
   `watch_open_streams` shows all N). --sse 10000.
3. etcd 3.4 (`etcd` on PATH, 3 members, client 19501-19503, peer 19511-19513): N grpc-gateway
   `POST /v3/watch` streams on a follower (held = "created":true), one put through the leader.
   --etcd 10000.
4. Large namespace: namespace `big` with 10,000 keys of ~1 KB (~10 MB), 1,000 long polls
   `config/watch?namespace=big&include_values=true` (no key filter) on a follower (asyncio,
   every answer read whole and parsed), one key changed: asserts every answer carries exactly
   that key and its new value; reports bytes per answer and the follower's CPU seconds from the
   write to the last answer (/proc/<pid>/stat), next to the same write with no watcher.
5. Writes with and without learners: wrk -t2 -c64 (bench/wrk/cairn_put.lua) on the leader of
   3 `cairn server` nodes (default Raft timing; HTTP 19311-19315, peers 19411-19415), then with
   nodes 4 and 5 added through POST /api/v1/admin/cluster/members {"voter": false}, then after
   removing them; --learner-rounds rounds of the pair. The cluster status after the adds is
   printed: a server that promotes every learner shows 5 voters, and the row then measures 5
   voters, not 3 voters + 2 learners.

Every process started here is stopped by PID (tests/support/cairn_cluster.py's registry and
bench.py's stop_all).
"""

import argparse
import asyncio
import base64
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import bench as B  # noqa: E402 - bench/ is this script's own folder
import cairn_cluster as CC  # noqa: E402
from cairn_cluster import QUIET_ARGS, Cluster, DevCluster  # noqa: E402

HTTP, PEER = 19301, 19401
LEARN_HTTP, LEARN_PEER = 19311, 19411
B.ETCD_CLIENT, B.ETCD_PEER = 19501, 19511
HOLD = 120  # seconds a long poll may be held (the setup of 50,000 takes a while)
log = B.log


def pct(vals, p):
    s = sorted(vals)
    return s[min(len(s) - 1, int(len(s) * p / 100))] if s else float("nan")


def cpu_s(pids):
    return sum(B.proc_cpu(p) for p in pids) / os.sysconf("SC_CLK_TCK")


def build_client(tmp):
    exe = os.path.join(tmp, "fanout_client")
    subprocess.run(["cc", "-O2", "-Wall", "-o", exe, os.path.join(HERE, "fanout_client.c")],
                   check=True)
    return exe


def debug_vars(port):
    st, body = B.req(port, "GET", "/api/v1/debug/vars", timeout=10)
    return json.loads(body)["data"]


# ---------------------------------------------------------------- fan-out (parts 1-3)

def fanout(exe, tmp, mode, follower, write_fn, n, procs, fpid, held_probe, settle=2.0,
           perf_out=None):
    """Holds n watches (mode poll|sse|etcd) on 127.0.0.1:follower over `procs` client
    processes, calls write_fn() (returns the acknowledgement time) and collects the answers."""
    if mode == "etcd":
        key = base64.b64encode(b"bench/k0000").decode()
        body = json.dumps({"create_request": {"key": key}})
        request = ("POST /v3/watch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n%s" % (len(body), body))
    else:
        rev = json.loads(B.req(follower, "GET", "/api/v1/config/namespace/bench")[1])["data"][
            "version"]
        path = "/api/v1/config/watch%s?namespace=bench&revision=%d&keys=k0000%s" % (
            "/stream" if mode == "sse" else "", rev,
            "" if mode == "sse" else "&timeout=%ds" % HOLD)
        request = "GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path
    rfile = os.path.join(tmp, "request-%s.txt" % mode)
    with open(rfile, "w") as f:
        f.write(request)
    rss0 = B.rss_kib(fpid)
    per_proc = resource.getrlimit(resource.RLIMIT_NOFILE)[1] - 100
    procs = max(procs, -(-n // per_proc))
    share = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
    children = []
    t_open = time.time()
    for i, k in enumerate(share):
        if not k:
            continue
        srcs = ",".join("127.0.0.%d" % (10 + i * 4 + j) for j in range(4))
        p = subprocess.Popen([exe, mode, "127.0.0.1", str(follower), str(k), srcs,
                              str(HOLD - 10), rfile], stdout=subprocess.PIPE, text=True)
        B.STARTED.append(p)
        B.record_pid(p.pid)
        children.append(p)
    try:
        for p in children:
            line = p.stdout.readline().strip()
            if not line.startswith("HELD"):
                raise RuntimeError("watch client: %s" % (line or "exited %s" % p.wait()))
        if held_probe:
            B.wait_until(lambda: held_probe() >= n, 60, "%d watches held (%s)" % (n, mode))
        open_s = time.time() - t_open
        time.sleep(settle)  # let the server park every request
        rss1 = B.rss_kib(fpid)
        perf = None
        if perf_out:
            perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999", "-g",
                                     "-p", str(fpid), "-o", perf_out + ".data"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            B.STARTED.append(perf)
            B.record_pid(perf.pid)
            time.sleep(1.0)
        cpu0 = cpu_s([fpid])
        ack = write_fn()
        times, bad, lost, nbytes = [], 0, 0, 0
        for p in children:
            for line in p.stdout:
                if line.startswith("T "):
                    times.append(float(line[2:]))
                elif line.startswith("DONE"):
                    kv = dict(x.split("=") for x in line.split()[1:])
                    bad += int(kv["bad"])
                    lost += int(kv["lost"])
                    nbytes += int(kv["bytes"])
                elif line.startswith("FAIL"):
                    raise RuntimeError("watch client: %s" % line.strip())
            p.wait(timeout=30)
        cpu1 = cpu_s([fpid])
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=30)
            with open(perf_out + ".txt", "w") as f:
                for args in (["--no-children", "-g", "none"], ["--children", "-g", "none"]):
                    f.write("## perf report %s (follower, %d watchers, 1 s before the write "
                            "to the last answer)\n" % (" ".join(args), n))
                    rep = subprocess.run(["perf", "report", "-i", perf_out + ".data",
                                          "--sort", "symbol", "--stdio", "--percent-limit",
                                          "0.7"] + args, capture_output=True, text=True).stdout
                    f.write("\n".join(re.sub(r" {3,}", "  ", ln).rstrip()
                                       for ln in rep.splitlines()) + "\n")
            os.unlink(perf_out + ".data")
    finally:
        for p in children:
            if p.poll() is None:
                p.kill()
                p.wait()
    lat = [max(0.0, t - ack) * 1000 for t in times]
    res = {"mode": mode, "watchers": n, "procs": len(children), "answered": len(lat),
           "bad": bad, "lost": lost, "open_s": round(open_s, 1),
           "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": max(lat) if lat else None,
           "within_1s": sum(1 for x in lat if x <= 1000),
           "rss_before_kib": rss0, "rss_held_kib": rss1,
           "bytes_per_watch": (rss1 - rss0) * 1024 / n,
           "follower_cpu_s": round(cpu1 - cpu0, 2), "load": B.loadavg()}
    log("  %-4s n=%-6d answered %d (bad %d, lost %d) p50 %.1f ms p99 %.1f ms max %.1f ms; "
        "within 1 s %d; RSS %d -> %d KiB = %.0f B/watch; follower CPU %.2f s; opened in %.1f s"
        % (mode, n, len(lat), bad, lost, res["p50_ms"], res["p99_ms"], res["max_ms"] or -1,
           res["within_1s"], rss0, rss1, res["bytes_per_watch"], res["follower_cpu_s"], open_s))
    return res


def cairn_write(lead, seq):
    def fn():
        body = '{"namespace":"bench","key":"k0000","value":"fanout-%d-%f"}' % (seq, time.time())
        st, resp = B.req(lead, "PUT", "/api/v1/admin/config", body)
        ack = time.time()
        if st != 200:
            raise RuntimeError("write failed %s %s" % (st, resp[:200]))
        return ack
    return fn


def etcd_write(lead, seq):
    def fn():
        key = base64.b64encode(b"bench/k0000").decode()
        val = base64.b64encode(b"fanout-%d" % seq).decode()
        st, resp = B.req(lead, "POST", "/v3/kv/put", {"key": key, "value": val})
        ack = time.time()
        if st != 200:
            raise RuntimeError("etcd write failed %s %s" % (st, resp[:200]))
        return ack
    return fn


# ---------------------------------------------------------------- large namespace (part 4)

async def big_watchers(port, rev, n, changed_key, expect_value):
    """n long polls on namespace big with include_values; returns (bytes per answer list,
    answer times). Asserts every answer carries only the changed key with its new value."""
    held = 0

    async def one():
        nonlocal held
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(("GET /api/v1/config/watch?namespace=big&revision=%d&timeout=%ds"
                 "&include_values=true HTTP/1.1\r\nHost: x\r\n\r\n" % (rev, HOLD)).encode())
        await w.drain()
        held += 1
        head = await r.readuntil(b"\r\n\r\n")
        t = time.time()
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = await r.readexactly(length)
        w.close()
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        data = json.loads(body)["data"]
        assert data["changed"] is True, data
        keys = [c["key"] for c in data["changes"]]
        assert keys == [changed_key], "answer carries %d keys: %s" % (len(keys), keys[:5])
        assert data["changes"][0]["value"] == expect_value, data["changes"][0]
        return len(head) + len(body), t

    tasks = [asyncio.create_task(one()) for _ in range(n)]
    while held < n:
        await asyncio.sleep(0.05)
    return tasks


def large_namespace(dev, lead, follower, fpid, n_keys, watchers, value_bytes):
    import concurrent.futures as cf
    st, _ = B.req(lead, "POST", "/api/v1/admin/namespace", {"name": "big"})
    pad = "x" * (value_bytes - 40)

    def create(i):
        body = '{"namespace":"big","key":"k%05d","value":{"i":%d,"pad":"%s"}}' % (i, i, pad)
        for _ in range(5):
            st, resp = B.req(lead, "POST", "/api/v1/admin/config", body, timeout=30)
            if st in (200, 201, 409):
                return
            time.sleep(0.2)
        raise RuntimeError("create big/k%05d: %s %s" % (i, st, resp[:200]))
    t0 = time.time()
    with cf.ThreadPoolExecutor(32) as ex:
        list(ex.map(create, range(n_keys)))
    log("  loaded %d keys in %.1f s" % (n_keys, time.time() - t0))
    # The namespace as a client reads it (what an Apollo-style full push would send).
    def ns_read():
        st, body = B.req(follower, "GET", "/api/v1/config/namespace/big", timeout=30)
        d = json.loads(body)["data"]
        return d if d.get("version") and len(d.get("configs", d.get("items", []))) >= n_keys \
            else None
    d = B.wait_until(ns_read, 60, "the follower to hold every key of big")
    ns_bytes = len(B.req(follower, "GET", "/api/v1/config/namespace/big", timeout=30)[1])
    rev = d["version"]
    changed = "k%05d" % (n_keys // 2)

    def write(seq):
        val = {"i": -seq, "pad": pad[:-10] + "changed%03d" % seq}
        body = json.dumps({"namespace": "big", "key": changed, "value": val})
        st, resp = B.req(lead, "PUT", "/api/v1/admin/config", body)
        ack = time.time()
        if st != 200:
            raise RuntimeError("big write failed %s %s" % (st, resp[:200]))
        return ack, val

    # Baseline: the same write with no watcher, CPU over the same kind of window.
    c0 = cpu_s([fpid])
    write(0)
    time.sleep(1.0)
    base_cpu = cpu_s([fpid]) - c0
    rev = json.loads(B.req(follower, "GET", "/api/v1/config/namespace/big")[1])["data"]["version"]

    loop = asyncio.new_event_loop()
    seq = 1
    val = {"i": -seq, "pad": pad[:-10] + "changed%03d" % seq}
    tasks = loop.run_until_complete(big_watchers(follower, rev, watchers, changed, val))
    B.wait_until(lambda: debug_vars(follower)["watch_held_polls"] >= watchers, 60,
                 "the big watchers to be held")
    loop.run_until_complete(asyncio.sleep(1.0))
    c0 = cpu_s([fpid])
    ack, _ = write(seq)
    results = loop.run_until_complete(asyncio.wait_for(asyncio.gather(*tasks), 60))
    last = max(t for _, t in results)
    c1 = cpu_s([fpid])
    loop.close()
    sizes = [b for b, _ in results]
    res = {"keys": n_keys, "namespace_bytes": ns_bytes, "watchers": watchers,
           "answers": len(results), "bytes_per_answer_median": statistics.median(sizes),
           "bytes_per_answer_max": max(sizes), "last_answer_ms": (last - ack) * 1000,
           "follower_cpu_s": round(c1 - c0, 3), "baseline_write_cpu_s": round(base_cpu, 3),
           "load": B.loadavg()}
    log("  big: %d keys, namespace read %d bytes; %d watchers with include_values each got "
        "only %s: %.0f bytes per answer (max %d); last answer %.1f ms after the ack; follower "
        "CPU %.3f s (same write, no watcher: %.3f s)" % (
            n_keys, ns_bytes, len(results), changed, res["bytes_per_answer_median"],
            res["bytes_per_answer_max"], res["last_answer_ms"], res["follower_cpu_s"],
            base_cpu))
    return res


# ---------------------------------------------------------------- learners (part 5)

def learner_writes(binary, tmp, duration, rounds):
    c = Cluster(os.path.join(tmp, "learn"), 3, extra_args=(), cluster_id="fanlearn",
                name="l", raft_args=(), binary=binary)
    for i in (1, 2, 3):
        c.make_node(i, LEARN_HTTP + i - 1, LEARN_PEER + i - 1)
    try:
        for nd in c.all():
            nd.spawn()
        for nd in c.all():
            nd.wait_up()
        base = c.all()
        lead = c.wait_leader(30, among=base)
        port = lead.port
        B.req(port, "POST", "/api/v1/admin/namespace", {"name": "bench"})
        import concurrent.futures as cf

        def create(i):
            body = '{"namespace":"bench","key":"k%04d","value":%s}' % (i, B.VALUE200)
            st, resp = B.req(port, "POST", "/api/v1/admin/config", body)
            if st not in (200, 201, 409):
                raise RuntimeError("create: %s %s" % (st, resp[:200]))
        with cf.ThreadPoolExecutor(32) as ex:
            list(ex.map(create, range(1000)))
        extra = {}
        rows = []

        def members():
            st, body = B.req(c.leader(among=base).port, "GET", "/api/v1/cluster/status")
            return {m["id"]: m for m in json.loads(body)["data"]["members"]}

        def row(label):
            ld = c.wait_leader(30, among=base)
            ms = members()
            role = {nd.pid: ("leader" if nd is ld else
                             "voter" if ms.get(nd.raft_id, {}).get("voter") else "learner")
                    for nd in c.live()}
            cpu0 = {p: B.proc_cpu(p) for p in role}
            t0 = time.time()
            r = B.run_wrk("http://127.0.0.1:%d/api/v1/admin/config" % ld.port, "cairn_put.lua",
                          64, duration, list(role))
            wall = time.time() - t0
            hz = os.sysconf("SC_CLK_TCK")
            cores = {}
            for p, kind in role.items():
                cores[kind] = cores.get(kind, 0.0) + (B.proc_cpu(p) - cpu0[p]) / hz / wall
            ms = members()
            writes = r["rps"] * wall
            r.update({"label": label, "voters": sum(1 for m in ms.values() if m.get("voter")),
                      "learners": sum(1 for m in ms.values() if not m.get("voter")),
                      "cores": cores,
                      "leader_cpu_us_per_write": cores["leader"] * wall / writes * 1e6,
                      "load": B.loadavg()})
            log("  writes c=64, %-22s %6.0f/s p50 %.1f ms p99 %.1f ms (non-2xx %d); members: "
                "%d voters, %d learners; CPU cores %s; leader %.0f us/write" % (
                    label, r["rps"], r["p50_ms"], r["p99_ms"], r["non2xx"], r["voters"],
                    r["learners"], " ".join("%s %.2f" % kv for kv in sorted(cores.items())),
                    r["leader_cpu_us_per_write"]))
            rows.append(r)

        for rnd in range(rounds):
            row("3 voters")
            ids = (4 + 2 * rnd, 5 + 2 * rnd)  # never reuse a raft id (docs/cluster.md)
            for i in ids:
                nd = c.make_node(i, LEARN_HTTP + i - 1, LEARN_PEER + i - 1, ids=[1, 2, 3, i],
                                 join=True)
                extra[i] = nd
                nd.start()
                ld = c.wait_leader(30, among=base)
                st, body = B.req(ld.port, "POST", "/api/v1/admin/cluster/members",
                                 {"id": i, "peer": nd.peer, "http": nd.http_addr,
                                  "voter": False})
                if st != 200:
                    raise RuntimeError("add member %d: %s %s" % (i, st, body[:300]))
                # Caught up: the same applied index as the leader.
                B.wait_until(lambda: debug_vars(nd.port)["applied_index"] >=
                             debug_vars(c.wait_leader(30, among=base).port)["applied_index"]
                             - 5, 60, "node %d to catch up" % i)
                time.sleep(2.0)  # a server that promotes learners does so within ~1 s
            row("+ 2 added (voter:false)")
            # Remove them again.
            for i in ids:
                ld = c.wait_leader(30, among=base)
                st, body = B.req(ld.port, "DELETE", "/api/v1/admin/cluster/members/%d" % i)
                if st != 200:
                    raise RuntimeError("remove member %d: %s %s" % (i, st, body[:300]))
                extra[i].stop()
            time.sleep(1.0)
        return rows
    finally:
        c.stop_all()


# ---------------------------------------------------------------- main

def start_cairn(binary, tmp, name):
    """A fresh 3-node `cairn dev` cluster on the fixed ports with namespace bench and key
    k0000; returns (dev, leader port, follower port, follower pid)."""
    dev = DevCluster(os.path.join(tmp, "cairn-" + name), 3, HTTP, PEER, cluster_id="fanout",
                     server_args=list(QUIET_ARGS) + ["--watch-max-timeout", "%ds" % HOLD],
                     binary=binary)
    dev.spawn()
    B.STARTED.append(dev.proc)
    B.record_pid(dev.pid)
    B.wait_until(dev.leader_port, 60, "a Cairn leader")
    lead = dev.leader_port()
    B.req(lead, "POST", "/api/v1/admin/namespace", {"name": "bench"})
    B.req(lead, "POST", "/api/v1/admin/config", '{"namespace":"bench","key":"k0000","value":"x"}')
    follower = next(p for p in dev.ports() if p != lead)
    fpid = dev.pid_of_port(follower)
    B.wait_until(lambda: json.loads(B.req(follower, "GET", "/api/v1/config/namespace/bench")[1])
                 ["data"]["version"] >= 2, 20, "the follower to apply the setup")
    log("cairn %s: leader %d, follower %d (pid %d); load %s" % (name, lead, follower, fpid,
                                                              B.loadavg()))
    time.sleep(1.0)
    return dev, lead, follower, fpid


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "cairn"))
    ap.add_argument("--watchers", default="10000,50000", help="long-poll counts ('' to skip)")
    ap.add_argument("--sse", default="10000", help="SSE stream counts ('' to skip)")
    ap.add_argument("--etcd", default="10000", help="etcd watcher counts ('' to skip)")
    ap.add_argument("--trials", type=int, default=3, help="writes (fresh watchers) per count")
    ap.add_argument("--procs", type=int, default=4, help="client processes")
    ap.add_argument("--no-large", action="store_true")
    ap.add_argument("--large-keys", type=int, default=10000)
    ap.add_argument("--large-watchers", type=int, default=1000)
    ap.add_argument("--large-value-bytes", type=int, default=1000)
    ap.add_argument("--no-learners", action="store_true")
    ap.add_argument("--learner-rounds", type=int, default=2)
    ap.add_argument("--learner-duration", type=int, default=10)
    ap.add_argument("--json", default=None)
    ap.add_argument("--perf-dir", default=None,
                    help="perf record (cpu-clock, call graphs) of the follower during the first "
                         "fan-out of the largest long-poll count; report written here")
    a = ap.parse_args()
    counts = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731

    # Enough descriptors for 50,000 connections on each side; children inherit the limits
    # (`cairn server` raises its soft limit to the hard one).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (262144, 262144))
    except (ValueError, OSError):  # no CAP_SYS_RESOURCE: the hard limit stays
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    # One node holds at most its descriptor limit of connections: a count above it is run at
    # the most the limit allows (hard - 500) and marked `capped_from`.
    cap = hard - 500
    tmp = tempfile.mkdtemp(prefix="cairn-fanout-")
    out = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load": B.loadavg(),
           "binary": a.binary, "fanout": [], "large": None, "learners": []}

    def on_signal(signum, _frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    try:
        exe = build_client(tmp)
        if counts(a.watchers) or counts(a.sse) or not a.no_large:
            runs = [(m, asked) for m, ns in (("poll", counts(a.watchers)),
                                             ("sse", counts(a.sse))) for asked in ns]
            biggest = max([x for m, x in runs if m == "poll"] or [0])
            for mode, asked in runs:
                # A fresh cluster per count: RSS is a high-water mark (the allocator keeps what
                # an earlier set of watchers used), so only a first set on a fresh node shows
                # the memory per watch.
                dev, lead, follower, fpid = start_cairn(a.binary, tmp, "%s-%d" % (mode, asked))
                key = "watch_held_polls" if mode == "poll" else "watch_open_streams"
                n = min(asked, cap)
                if n < asked:
                    log("  %d %s watches asked, but RLIMIT_NOFILE's hard limit is %d and "
                        "cannot be raised here: measuring %d" % (asked, mode, hard, n))
                for t in range(a.trials if n <= 10000 else 1):
                    lead = dev.leader_port()
                    perf = None
                    if a.perf_dir and mode == "poll" and asked == biggest and t == 0:
                        os.makedirs(a.perf_dir, exist_ok=True)
                        perf = os.path.join(a.perf_dir, "perf-fanout-poll-%d" % n)
                    r = fanout(exe, tmp, mode, follower, cairn_write(lead, t), n, a.procs,
                               fpid, lambda: debug_vars(follower)[key], perf_out=perf)
                    r["trial"] = t
                    if n < asked:
                        r["capped_from"] = asked
                    out["fanout"].append(dict(r, target="cairn"))
                    time.sleep(2.0)  # closed sockets drain
                dev.stop(signal.SIGINT)
            if not a.no_large:
                dev, lead, follower, fpid = start_cairn(a.binary, tmp, "large")
                out["large"] = large_namespace(dev, lead, follower, fpid, a.large_keys,
                                               a.large_watchers, a.large_value_bytes)
                dev.stop(signal.SIGINT)
        if counts(a.etcd):
            etcd = B.Etcd(tmp)
            etcd.start()
            lead = etcd.leader_port()
            etcd.load()
            follower = next(B.ETCD_CLIENT + i for i in range(3)
                            if B.ETCD_CLIENT + i != lead)
            fpid = etcd.procs[follower - B.ETCD_CLIENT + 1].pid
            log("etcd: leader %d, follower %d (pid %d)" % (lead, follower, fpid))
            for n in counts(a.etcd):
                for t in range(a.trials):
                    r = fanout(exe, tmp, "etcd", follower, etcd_write(etcd.leader_port(), t), n,
                               a.procs, fpid, None)
                    r["trial"] = t
                    out["fanout"].append(dict(r, target="etcd"))
                    time.sleep(2.0)
        B.stop_all()
        if not a.no_learners:
            out["learners"] = learner_writes(a.binary, tmp, a.learner_duration,
                                             a.learner_rounds)
    finally:
        B.stop_all()
        CC.kill_all_live()
        shutil.rmtree(tmp, ignore_errors=True)

    # Summary: per (target, mode, n) the median over trials of p50/p99/max.
    print("| target | watchers | trials | p50 ms | p99 ms | max ms | answered / bad / lost | "
          "bytes per watch (first set, fresh node) | follower CPU s |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|")
    groups = {}
    for r in out["fanout"]:
        groups.setdefault((r["target"], r["mode"], r["watchers"]), []).append(r)
    for (tgt, mode, n), rs in groups.items():
        med = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
        print("| %s %s | %d | %d | %.1f | %.1f | %.1f | %d / %d / %d | %.0f | %.2f |" % (
            tgt, mode, n, len(rs), med("p50_ms"), med("p99_ms"), med("max_ms"),
            sum(r["answered"] for r in rs), sum(r["bad"] for r in rs),
            sum(r["lost"] for r in rs), rs[0]["bytes_per_watch"], med("follower_cpu_s")))
    if out["large"]:
        print("\nlarge namespace: %s" % json.dumps(out["large"]))
    for r in out["learners"]:
        print("writes c=64 %-24s %6.0f/s p99 %.1f ms (%d voters, %d learners); cores %s; "
              "leader %.0f us/write" % (r["label"], r["rps"], r["p99_ms"], r["voters"],
                                        r["learners"], " ".join("%s %.2f" % kv for kv in
                                                                sorted(r["cores"].items())),
                                        r["leader_cpu_us_per_write"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
