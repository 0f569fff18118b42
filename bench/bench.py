#!/usr/bin/env python3
"""Cairn side-by-side benchmark: starts a 3-node Cairn cluster (`cairn dev`), a 3-node etcd
cluster and nginx on 127.0.0.1, drives them all with wrk in rounds and prints in-round ratios.

Python 3 standard library only. Every process started here is recorded (PID per line) in
$BENCH_PIDFILE so that bench/run.sh's trap can stop it even if this script is killed; the
script itself stops them by PID in a finally block and on SIGINT/SIGTERM.
"""

import argparse
import base64
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from cairn_cluster import QUIET_ARGS, DevCluster  # noqa: E402 - the one launcher
WRK_DIR = os.path.join(HERE, "wrk")

CAIRN_HTTP = 18101   # node i: +i-1
CAIRN_PEER = 18201
CAIRN_LOG_HTTP = 18111  # the second cluster, access log on (issue 21 §1)
CAIRN_LOG_PEER = 18211
ETCD_CLIENT = 18301  # node i: +i-1
ETCD_PEER = 18311
NGINX_PORT = 18401
VALUE200 = '"' + "v" * 198 + '"'

STARTED = []  # Popen objects, stopped in reverse order


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def record_pid(pid):
    pf = os.environ.get("BENCH_PIDFILE")
    if pf:
        with open(pf, "a") as f:
            f.write("%d\n" % pid)


def start(args, logfile, **kw):
    out = open(logfile, "ab")
    p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         **kw)
    STARTED.append(p)
    record_pid(p.pid)
    return p


def stop_all():
    for p in reversed(STARTED):
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGINT)  # cairn dev stops its children on SIGINT
            except ProcessLookupError:
                pass
    deadline = time.time() + 20
    for p in reversed(STARTED):
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    STARTED.clear()


def req(port, method, path, body=None, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body) if isinstance(body, (dict, list)) else body
        c.request(method, path, body=data, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def wait_until(fn, timeout, what):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - any failure means "not yet"
            last = e
        time.sleep(0.1)
    raise RuntimeError("timed out waiting for %s (%s)" % (what, last))


# ---------------------------------------------------------------- targets

class Cairn:
    """A 3-node `cairn dev` cluster on the fixed bench ports, started by the shared launcher
    (tests/support/cairn_cluster.py) and recorded like every other process here."""

    def __init__(self, binary, tmp, name="cairn", http_port=CAIRN_HTTP, peer_port=CAIRN_PEER,
                 server_args=QUIET_ARGS):
        self.dir = os.path.join(tmp, name)
        self.dev = DevCluster(self.dir, 3, http_port, peer_port, cluster_id="bench",
                              server_args=server_args, binary=binary)

    def start(self):
        self.dev.spawn()
        STARTED.append(self.dev.proc)
        record_pid(self.dev.pid)
        wait_until(self.leader_port, 60, "a Cairn leader")

    def node_pids(self):
        return list(self.dev.node_pids().values())

    def leader_port(self):
        return self.dev.leader_port()

    def leader_pid(self):
        return self.dev.leader_pid()

    def load(self, reads_only=False):
        port = self.leader_port()
        if reads_only:  # what the read rows ask for
            for path, body in (("/api/v1/admin/namespace", {"name": "bench"}),
                               ("/api/v1/admin/config", '{"namespace":"bench","key":"k0000",'
                                                        '"value":%s}' % VALUE200)):
                st, resp = req(port, "POST", path, body)
                if st not in (200, 201, 409):
                    raise RuntimeError("%s: %s %s" % (path, st, resp[:200]))
            return
        for ns in ("bench", "bench50"):
            st, body = req(port, "POST", "/api/v1/admin/namespace", {"name": ns})
            if st not in (200, 201, 409):
                raise RuntimeError("namespace create: %s %s" % (st, body[:200]))
        # 1,000 keys for the write row, 50 for the namespace row; parallel connections keep
        # this short (group commit batches them).
        jobs = [("bench", "k%04d" % i) for i in range(1000)] + \
               [("bench50", "k%02d" % i) for i in range(50)]
        import concurrent.futures as cf

        def create(job):
            ns, key = job
            body = '{"namespace":"%s","key":"%s","value":%s}' % (ns, key, VALUE200)
            st, resp = req(port, "POST", "/api/v1/admin/config", body)
            if st not in (200, 201, 409):
                raise RuntimeError("config create %s/%s: %s %s" % (ns, key, st, resp[:200]))
        with cf.ThreadPoolExecutor(32) as ex:
            list(ex.map(create, jobs))


class Etcd:
    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "etcd")
        self.procs = {}

    def args(self, i):
        name = "e%d" % i
        cluster = ",".join("e%d=http://127.0.0.1:%d" % (j, ETCD_PEER + j - 1) for j in (1, 2, 3))
        return ["etcd", "--name", name, "--data-dir", os.path.join(self.dir, name),
                "--listen-client-urls", "http://127.0.0.1:%d" % (ETCD_CLIENT + i - 1),
                "--advertise-client-urls", "http://127.0.0.1:%d" % (ETCD_CLIENT + i - 1),
                "--listen-peer-urls", "http://127.0.0.1:%d" % (ETCD_PEER + i - 1),
                "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % (ETCD_PEER + i - 1),
                "--initial-cluster", cluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", "bench", "--log-level", "warn"]

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        env = dict(os.environ, ETCD_UNSUPPORTED_ARCH=os.environ.get("ETCD_UNSUPPORTED_ARCH", ""))
        for i in (1, 2, 3):
            self.procs[i] = start(self.args(i), os.path.join(self.dir, "e%d.log" % i), env=env)
        wait_until(self.leader_port, 60, "an etcd leader")

    def node_pids(self):
        return [p.pid for p in self.procs.values() if p.poll() is None]

    def status(self, port):
        st, body = req(port, "POST", "/v3/maintenance/status", "{}", timeout=2)
        return json.loads(body) if st == 200 else None

    def leader_port(self):
        for i in (1, 2, 3):
            try:
                s = self.status(ETCD_CLIENT + i - 1)
            except OSError:
                continue
            if s and s.get("leader") and s.get("leader") == s.get("header", {}).get("member_id"):
                return ETCD_CLIENT + i - 1
        return None

    def load(self):
        port = self.leader_port()
        k = base64.b64encode(b"bench/k0000").decode()
        v = base64.b64encode(b"v" * 200).decode()
        st, body = req(port, "POST", "/v3/kv/put", {"key": k, "value": v})
        if st != 200:
            raise RuntimeError("etcd put: %s %s" % (st, body[:200]))


class Nginx:
    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "nginx")
        self.proc = None

    def start(self):
        os.makedirs(os.path.join(self.dir, "www"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        doc = {"code": 0, "message": "success", "data": {
            "namespace": "bench", "key": "k0000", "value": "v" * 120, "version": 1,
            "updated_at": "2026-11-28T00:00:00Z"}, "request_id": "0" * 32,
            "timestamp": 1764288000}
        with open(os.path.join(self.dir, "www", "config.json"), "w") as f:
            json.dump(doc, f)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""daemon off;
worker_processes auto;
pid %(d)s/nginx.pid;
error_log %(d)s/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %(d)s/tmp_body;
  proxy_temp_path %(d)s/tmp_proxy;
  fastcgi_temp_path %(d)s/tmp_fcgi;
  uwsgi_temp_path %(d)s/tmp_uwsgi;
  scgi_temp_path %(d)s/tmp_scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:%(p)d;
    root %(d)s/www;
    default_type application/json;
  }
}
""" % {"d": self.dir, "p": NGINX_PORT})
        self.proc = start(["nginx", "-p", self.dir, "-c", conf], os.path.join(self.dir, "out.log"))
        wait_until(lambda: req(NGINX_PORT, "GET", "/config.json")[0] == 200, 20, "nginx")

    def node_pids(self):
        # master and its workers
        pids = [self.proc.pid]
        try:
            out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                                 text=True).stdout
            pids += [int(x) for x in out.split()]
        except OSError:
            pass
        return pids


# ---------------------------------------------------------------- measurement

def proc_cpu(pid):
    """utime+stime of a process in clock ticks (0 if gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
        fields = s[s.rindex(")") + 2:].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        return 0


def machine_cpu():
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    vals = [int(x) for x in parts]
    idle = vals[3] + vals[4]
    return sum(vals[:8]) - idle  # busy ticks over all cores


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


RESULT_RE = re.compile(r"RESULT requests=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) "
                       r"errors=(\d+) non2xx=(\d+)")
STATUS_RE = re.compile(r"STATUS (\d+) count=(\d+) body=(.*)")


def meminfo_kb(field):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


SETTLE = True  # --no-settle turns it off


def settle_disk():
    """Writes back what earlier rows left dirty in the page cache (the access-log cluster's
    log file grows by ~200 MB per read row, plus etcd's and Cairn's own files) before a row
    starts, so that one row's fsyncs do not queue behind an earlier row's writeback (issue 21 §3,
    the c=1 p99). Returns the dirty KiB found and the seconds the sync took."""
    dirty = meminfo_kb("Dirty") + meminfo_kb("Writeback")
    t0 = time.time()
    os.sync()
    return dirty, time.time() - t0


def run_wrk(url, script, conns, duration, server_pids, env_extra=None):
    dirty_kb, sync_s = settle_disk() if SETTLE else (meminfo_kb("Dirty"), 0.0)
    threads = min(2, conns)
    env = dict(os.environ, BENCH_WRK_DIR=WRK_DIR, **(env_extra or {}))
    args = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % duration, "--timeout", "10s",
            "-s", os.path.join(WRK_DIR, script), url]
    srv0 = {p: proc_cpu(p) for p in server_pids}
    m0 = machine_cpu()
    ru0 = os.times()
    t0 = time.time()
    out = subprocess.run(args, capture_output=True, text=True, env=env)
    wall = time.time() - t0
    ru1 = os.times()
    m1 = machine_cpu()
    srv = sum(proc_cpu(p) - c for p, c in srv0.items())
    hz = os.sysconf("SC_CLK_TCK")
    wrk_cpu = (ru1.children_user - ru0.children_user) + (ru1.children_system - ru0.children_system)
    total = (m1 - m0) / hz
    m = RESULT_RE.search(out.stdout)
    if not m:
        raise RuntimeError("wrk gave no result: %s %s" % (out.stdout[-500:], out.stderr[-500:]))
    n, dur, p50, p99, err, non2xx = (int(x) for x in m.groups())
    srv_s = srv / hz
    statuses = {int(c): {"count": int(k), "body": b}
                for c, k, b in STATUS_RE.findall(out.stdout)}
    for code, s in sorted(statuses.items()):
        log("    status %d: %d answers, e.g. %s" % (code, s["count"], s["body"]))
    return {"dirty_kb_before": dirty_kb, "sync_s_before": sync_s,
            "rps": n / (dur / 1e6), "p50_ms": p50 / 1000, "p99_ms": p99 / 1000,
            "errors": err, "non2xx": non2xx, "statuses": statuses, "requests": n,
            "cpu_wrk": wrk_cpu / wall, "cpu_srv": srv_s / wall,
            "cpu_rest": max(0.0, total - wrk_cpu - srv_s) / wall,
            # issue 21 §6: the servers' CPU seconds over the row (every node of the target,
            # utime+stime) divided by the requests wrk counted, in µs
            "srv_cpu_s": srv_s, "srv_cpu_us_per_req": srv_s / n * 1e6 if n else None}


# ---------------------------------------------------------------- rows

LOGGED_GET = "cairn get, access log on"


def round_order(rows, r):
    """The rows of round `r`: in odd rounds the access-log pair ("cairn get" and LOGGED_GET of
    one group) runs in the opposite order (A B, B A, A B, …), so that a drift of the machine
    within a round (another tenant's load, the page cache's writeback) does not always land on
    the same side of their in-round ratio (issue 21 §1)."""
    rows = list(rows)
    if r % 2 == 0:
        return rows
    pos = {(row[0], row[1]): i for i, row in enumerate(rows)}
    for (group, name), i in list(pos.items()):
        j = pos.get((group, LOGGED_GET))
        if name == "cairn get" and j is not None:
            rows[i], rows[j] = rows[j], rows[i]
    return rows


def build_rows(quick, cairn, etcd, nginx, logged=None):
    """Each row: (group, name, url, script, conns, env, pids_fn). Ports resolved per round.
    `logged`: the cluster with the access log on, whose read row follows Cairn's."""
    c_lead = lambda: cairn.leader_port()  # noqa: E731
    e_lead = lambda: etcd.leader_port()   # noqa: E731
    # a follower for reads: any node; node 2's port (reads are local on every node)
    rows = []
    for conns in (64, 256):
        rows += [
            ("read c=%d" % conns, "cairn get",
             lambda: "http://127.0.0.1:%d/api/v1/config/get?namespace=bench&key=k0000" % c_lead(),
             "get.lua", conns, None, cairn.node_pids),
        ]
        if logged:
            rows.append(
                ("read c=%d" % conns, LOGGED_GET,
                 lambda: "http://127.0.0.1:%d/api/v1/config/get?namespace=bench&key=k0000"
                         % logged.leader_port(),
                 "get.lua", conns, None, logged.node_pids))
        rows += [
            ("read c=%d" % conns, "etcd serializable range",
             lambda: "http://127.0.0.1:%d/v3/kv/range" % e_lead(),
             "etcd_range.lua", conns, {"ETCD_SERIALIZABLE": "1"}, etcd.node_pids),
            ("read c=%d" % conns, "nginx static",
             lambda: "http://127.0.0.1:%d/config.json" % NGINX_PORT,
             "get.lua", conns, None, nginx.node_pids),
        ]
    # c=1: one request at a time, the commit latency alone (issue 21 §3: p99 ≤ 2× etcd's)
    for conns in ((64,) if quick else (1, 16, 64, 256)):
        rows += [
            ("write c=%d" % conns, "cairn put",
             lambda: "http://127.0.0.1:%d/api/v1/admin/config" % c_lead(),
             "cairn_put.lua", conns, None, cairn.node_pids),
            ("write c=%d" % conns, "etcd put",
             lambda: "http://127.0.0.1:%d/v3/kv/put" % e_lead(),
             "etcd_put.lua", conns, None, etcd.node_pids),
        ]
    if not quick:
        rows += [
            ("namespace read c=64", "cairn namespace (50 keys)",
             lambda: "http://127.0.0.1:%d/api/v1/config/namespace/bench50" % c_lead(),
             "get.lua", 64, None, cairn.node_pids),
            ("strong read c=64", "cairn consistency=strong",
             lambda: "http://127.0.0.1:%d/api/v1/config/get?namespace=bench&key=k0000"
                     "&consistency=strong" % c_lead(),
             "get.lua", 64, None, cairn.node_pids),
            ("strong read c=64", "etcd linearizable range",
             lambda: "http://127.0.0.1:%d/v3/kv/range" % e_lead(),
             "etcd_range.lua", 64, None, etcd.node_pids),
        ]
    return rows


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def watch_rows(cairn, etcd, counts):
    """Watch latency on a follower of each cluster (write to the leader), and Cairn's RSS
    growth per held watch on that follower."""
    import resource
    import watch_latency
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    out = []
    for n in counts:
        for kind, target in (("cairn", cairn), ("etcd", etcd)):
            lead = target.leader_port()
            base = CAIRN_HTTP if kind == "cairn" else ETCD_CLIENT
            follower = next(base + i for i in range(3) if base + i != lead)
            pids = target.node_pids()
            fpid = pids[follower - base] if kind == "cairn" else \
                target.procs[follower - base + 1].pid
            rss0 = rss_kib(fpid)
            held = {}
            res = watch_latency.run(kind, [follower], lead, n, 3,
                                    lambda k: held.setdefault("rss", rss_kib(fpid)))
            res.update(kind=kind, rss_before_kib=rss0, rss_held_kib=held.get("rss", 0))
            res["bytes_per_watch"] = (res["rss_held_kib"] - rss0) * 1024 / n
            log("  watch %-5s n=%-6d p50 %.2f ms p99 %.2f ms max %.2f ms; follower RSS %d → %d "
                "KiB (%.0f B/watch)" % (kind, n, res["p50_ms"], res["p99_ms"], res["max_ms"],
                                        rss0, res["rss_held_kib"], res["bytes_per_watch"]))
            out.append(res)
    return out


def failover(target, kind):
    """kill -9 the leader, then a write through a survivor every 10 ms until one succeeds."""
    lead = target.leader_port()
    base = CAIRN_HTTP if kind == "cairn" else ETCD_CLIENT
    survivor = next(base + i for i in range(3) if base + i != lead)
    if kind == "cairn":
        pid = target.node_pids()[lead - base]
        path, body = "/api/v1/admin/config", ('{"namespace":"bench","key":"k0001","value":'
                                              '"failover-%d"}')
    else:
        pid = target.procs[lead - base + 1].pid
        path, body = "/v3/kv/put", ('{"key":"YmVuY2gvazAwMDE=","value":"%s"}')
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    n = 0
    while time.monotonic() - t0 < 60:
        n += 1
        b = body % n if kind == "cairn" else body % base64.b64encode(b"f%d" % n).decode()
        try:
            st, _ = req(survivor, "PUT" if kind == "cairn" else "POST", path, b, timeout=2)
            if st == 200:
                return (time.monotonic() - t0) * 1000, n
        except OSError:
            pass
        time.sleep(0.01)
    return None, n


def fdatasync_rate(directory, seconds=3.0):
    path = os.path.join(directory, "fsync.probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    n = 0
    buf = b"x" * 200
    t0 = time.time()
    try:
        while time.time() - t0 < seconds:
            os.write(fd, buf)
            os.fdatasync(fd)
            n += 1
    finally:
        os.close(fd)
        os.unlink(path)
    return n / (time.time() - t0)


def fmt_range(vals, f="%.0f"):
    med = statistics.median(vals)
    if len(vals) == 1:
        return f % med
    return (f + " (" + f + "–" + f + ")") % (med, min(vals), max(vals))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "cairn"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--duration", type=int, default=None, help="seconds per wrk row")
    ap.add_argument("--json", default=None, help="write raw results here")
    ap.add_argument("--hold", type=float, default=0,
                    help="after loading, keep everything up this many seconds (profiling)")
    ap.add_argument("--watchers", default="1000,10000",
                    help="watcher counts for the watch rows ('' to skip)")
    ap.add_argument("--no-failover", action="store_true")
    ap.add_argument("--no-access-log-row", action="store_true",
                    help="skip the second Cairn cluster (default flags: access log on) and its "
                         "read rows")
    ap.add_argument("--no-settle", action="store_true",
                    help="start each row without first writing back the dirty page cache "
                         "(os.sync) that earlier rows left")
    ap.add_argument("--only", default=None,
                    help="run only the rows whose 'group: target' matches this regex")
    a = ap.parse_args()
    global SETTLE
    SETTLE = not a.no_settle
    rounds = a.rounds if a.rounds is not None else (1 if a.quick else 3)
    duration = a.duration or (5 if a.quick else 8)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_signal)

    tmp = tempfile.mkdtemp(prefix="cairn-bench-")
    os.chmod(tmp, 0o755)  # nginx workers run as an unprivileged user and read www/ below it
    cairn, etcd, nginx = Cairn(a.binary, tmp), Etcd(tmp), Nginx(tmp)
    # The same cluster with the access log on (the default), on its own ports, so that its read
    # row runs in the same rounds as the one with --access-log=false.
    logged = None if a.no_access_log_row else Cairn(
        a.binary, tmp, "cairn-log", CAIRN_LOG_HTTP, CAIRN_LOG_PEER,
        tuple(x for x in QUIET_ARGS if not x.startswith("--access-log")) + ("--access-log=true",))
    results = {}
    try:
        log("load average before start: %s" % loadavg())
        fsync = fdatasync_rate(tmp)
        log("raw fdatasync rate (200 B + fdatasync, 3 s, %s): %.0f/s" % (tmp, fsync))
        log("starting Cairn (3 nodes), etcd (3 nodes), nginx …")
        cairn.start()
        if logged:
            logged.start()
        etcd.start()
        nginx.start()
        log("loading keys …")
        cairn.load()
        if logged:
            logged.load(reads_only=True)
        etcd.load()
        log("Cairn leader :%d pids %s; etcd leader :%d pids %s; nginx pids %s" % (
            cairn.leader_port(), cairn.node_pids(), etcd.leader_port(), etcd.node_pids(),
            nginx.node_pids()))
        if a.hold:
            with open(os.path.join(tmp, "ready"), "w") as f:
                f.write("%d %d\n" % (cairn.leader_port(), cairn.leader_pid()))
            log("holding %.0f s (leader pid %d) …" % (a.hold, cairn.leader_pid()))
            time.sleep(a.hold)
            return 0
        rows = build_rows(a.quick, cairn, etcd, nginx, logged)
        if a.only:
            rows = [r for r in rows if re.search(a.only, "%s: %s" % (r[0], r[1]))]
        loads = []
        for r in range(rounds):
            log("round %d/%d (load average %s)" % (r + 1, rounds, loadavg()))
            for group, name, url_fn, script, conns, env, pids_fn in round_order(rows, r):
                res = run_wrk(url_fn(), script, conns, duration, pids_fn(), env)
                results.setdefault((group, name), []).append(res)
                log("  %-22s %-28s %8.0f req/s p50 %6.2f ms p99 %7.2f ms err %d non2xx %d "
                    "cpu wrk %.2f srv %.2f rest %.2f; srv %.1f µs/req; dirty before %d MiB "
                    "(sync %.1f s)" % (
                        group, name, res["rps"], res["p50_ms"], res["p99_ms"], res["errors"],
                        res["non2xx"], res["cpu_wrk"], res["cpu_srv"], res["cpu_rest"],
                        res["srv_cpu_us_per_req"] or 0, res["dirty_kb_before"] // 1024,
                        res["sync_s_before"]))
            loads.append(loadavg())
        # in-round ratios
        def ratio(g, num, den, key="rps"):
            a_, b_ = results.get((g, num)), results.get((g, den))
            if not a_ or not b_:
                return None
            return [x[key] / y[key] if y[key] else float("inf") for x, y in zip(a_, b_)]

        print()
        print("| row | target | req/s | p50 ms | p99 ms | errors | CPU wrk / servers / rest "
              "(cores) | server CPU per request (µs) |")
        print("|---|---|---:|---:|---:|---:|---|---:|")
        for (g, n), vals in results.items():
            us = [v["srv_cpu_us_per_req"] for v in vals if v.get("srv_cpu_us_per_req")]
            print("| %s | %s | %s | %s | %s | %d | %.2f / %.2f / %.2f | %s |" % (
                g, n, fmt_range([v["rps"] for v in vals]),
                fmt_range([v["p50_ms"] for v in vals], "%.2f"),
                fmt_range([v["p99_ms"] for v in vals], "%.2f"),
                sum(v["errors"] + v["non2xx"] for v in vals),
                statistics.median(v["cpu_wrk"] for v in vals),
                statistics.median(v["cpu_srv"] for v in vals),
                statistics.median(v["cpu_rest"] for v in vals),
                fmt_range(us, "%.1f") if us else "—"))
        print()
        print("In-round ratios (median, min–max over rounds):")
        pairs = []
        for conns in (64, 256):
            g = "read c=%d" % conns
            pairs += [(g, LOGGED_GET, "cairn get", "rps"),
                      (g, "cairn get", "etcd serializable range", "rps"),
                      (g, "cairn get", "nginx static", "rps"),
                      (g, "etcd serializable range", "cairn get", "p99_ms")]
        for conns in (1, 16, 64, 256):
            g = "write c=%d" % conns
            pairs += [(g, "cairn put", "etcd put", "rps"), (g, "cairn put", "etcd put", "p99_ms")]
        pairs += [("strong read c=64", "cairn consistency=strong", "etcd linearizable range",
                   "rps")]
        ratios = []
        for g, num, den, key in pairs:
            rr = ratio(g, num, den, key)
            if rr:
                if key == "rps":
                    what = "throughput"
                elif num.startswith("cairn"):
                    what = "p99 (Cairn ÷ other: <1 means Cairn lower)"
                else:
                    what = "p99 (other ÷ Cairn: >1 means Cairn lower)"
                print("  %-18s %s / %s %s: %s" % (g, num, den, what, fmt_range(rr, "%.2f")))
                ratios.append({"group": g, "num": num, "den": den, "key": key,
                               "median": statistics.median(rr), "rounds": rr})
        for conns in (1, 16, 64, 256):
            v = results.get(("write c=%d" % conns, "cairn put"))
            if v and fsync:
                print("  write c=%d cairn put / raw fdatasync rate (%.0f/s): %s" % (
                    conns, fsync, fmt_range([x["rps"] / fsync for x in v], "%.2f")))
        watch, fo = [], {}
        if not a.quick and a.watchers:
            log("watch latency (load average %s) …" % loadavg())
            watch = watch_rows(cairn, etcd, [int(x) for x in a.watchers.split(",")])
        if not a.quick and not a.no_failover:
            for kind, target in (("cairn", cairn), ("etcd", etcd)):
                ms, tries = failover(target, kind)
                fo[kind] = ms
                log("  failover %-5s kill -9 leader → first write ok: %s ms (%d attempts)" % (
                    kind, "%.0f" % ms if ms is not None else "none in 60 s", tries))
        if watch:
            print()
            print("| watchers | target | p50 ms | p99 ms | max ms | follower RSS before → held "
                  "(KiB) | bytes per watch |")
            print("|---:|---|---:|---:|---:|---|---:|")
            for w in watch:
                print("| %d | %s | %.2f | %.2f | %.2f | %d → %d | %.0f |" % (
                    w["watchers"], w["kind"], w["p50_ms"], w["p99_ms"], w["max_ms"],
                    w["rss_before_kib"], w["rss_held_kib"], w["bytes_per_watch"]))
        if fo:
            print()
            print("failover (kill -9 leader → first successful write via a survivor, 10 ms "
                  "polling): " + ", ".join("%s %s ms" % (k, "%.0f" % v if v else "n/a")
                                           for k, v in fo.items()))
        print()
        print("load average at end of each round: %s" % "; ".join(loads))
        if a.json:
            with open(a.json, "w") as f:
                def med(vals, k):
                    xs = [v[k] for v in vals if v.get(k) is not None]
                    return statistics.median(xs) if xs else None
                json.dump({"binary": a.binary, "quick": a.quick, "rounds": rounds,
                           "duration_s": duration,
                           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                           "fsync_per_s": fsync, "loads": loads, "watch": watch, "failover": fo,
                           "ratios": ratios,
                           "rows": [{"group": g, "name": n, "rounds": v,
                                     "median": {k: med(v, k) for k in
                                                ("rps", "p50_ms", "p99_ms", "cpu_srv",
                                                 "srv_cpu_us_per_req")}}
                                    for (g, n), v in results.items()]}, f, indent=1)
        return 0
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
