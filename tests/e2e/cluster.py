"""Cluster harness for Cairn's end-to-end tests: N real `cairn server` processes replicating with
Raft over real TCP on 127.0.0.1 (docs/cluster.md), on top of harness.py.

A `Node` is a harness.Server whose HTTP and peer ports are fixed for its whole life (they are
part of every member's --members list), so a restarted node comes back on the same addresses.
Every started process is in harness's registry, so run.py's watchdog and atexit hook stop it by
PID whatever happens. `ClusterCase` starts one cluster per test and stops it in cleanup.

Python 3 standard library only. Every wait is bounded; nothing asserts on how long a thing took.
"""

import contextlib
import http.client
import json
import os
import random
import re
import signal
import subprocess
import threading
import time

import harness
from harness import CairnTestCase, free_port, raw_request

# Small timings so that elections take a fraction of a second (election timeout 200 ms).
RAFT_ARGS = ("--raft-tick", "20ms", "--election-ticks", "10")
# Writers in these tests go as fast as the cluster allows from one address, above the default
# per-client write quota (docs/rate-limits.md); rate limiting has its own suite (limits).
QUIET_ARGS = ("--access-log=false", "--rate-limit-enabled=false")
LEADER_TIMEOUT = 20.0     # a leader is elected (and known to every live node) within this
CONVERGE_TIMEOUT = 45.0   # live nodes reach the same applied index and checksum within this
STATUS = "/api/v1/cluster/status"
TRANSFER = "/api/v1/admin/cluster/transfer-leader"
MEMBERS = "/api/v1/admin/cluster/members"

# What a node's log says when it does not know a cluster flag at all (CLI11's wording).
UNKNOWN_FLAG_RE = re.compile(r"(?i)(were not expected|unknown option|extras?:).*")


class PortCollision(Exception):
    """The node could not bind one of its ports (another process took it)."""


class MissingFeature(AssertionError):
    """The binary lacks a flag or an endpoint the cluster tests need (issue 4)."""


class Node(harness.Server):
    """One `cairn server` member with fixed ports: HTTP on `port`, Raft peers on `peer_port`."""

    def __init__(self, raft_id, data_dir, http_port, peer_port, cluster_id, members_fn,
                 extra_args=(), join=False, raft_args=RAFT_ARGS):
        super().__init__(data_dir, extra_args)
        self.raft_args = list(raft_args)
        self.raft_id = raft_id
        self.port = http_port
        self.peer_port = peer_port
        self.cluster_id = cluster_id
        self.members_fn = members_fn  # () -> the --members text
        self.join = join

    @property
    def peer(self):
        return "127.0.0.1:%d" % self.peer_port

    @property
    def http_addr(self):
        return "127.0.0.1:%d" % self.port

    def __repr__(self):
        return "node%d(http %d, peer %d, pid %s)" % (self.raft_id, self.port, self.peer_port,
                                                    self.pid)

    def args(self):
        args = [self.binary, "server", "--node-id", "node%d" % self.raft_id,
                "--data-dir", self.data_dir, "--listen-http", self.http_addr,
                "--raft-id", str(self.raft_id), "--cluster-id", self.cluster_id,
                "--listen-peer", self.peer, "--members", self.members_fn()]
        if self.join:
            args.append("--join=true")
        return args + self.raft_args + list(QUIET_ARGS) + self.extra_args

    def spawn(self):
        """Starts the process without waiting for it."""
        if not self.binary or not os.path.exists(self.binary):
            raise RuntimeError("cairn binary not found: %r" % self.binary)
        if self.alive():
            raise RuntimeError("%r is already running" % self)
        self.starts += 1
        self.log_path = os.path.join(os.path.dirname(self.data_dir.rstrip("/")),
                                     "%s-%d.log" % (os.path.basename(self.data_dir), self.starts))
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        with harness._live_lock:
            harness._live[self.proc.pid] = self

    def wait_up(self, timeout=harness.START_TIMEOUT):
        """Waits until the node's HTTP server answers /api/v1/health (any status: a node without
        a leader may call itself unhealthy). Raises PortCollision or a clear error otherwise."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                last = "process exited with %s" % self.proc.returncode
                break
            try:
                r = raw_request(self.port, "GET", "/api/v1/health", timeout=1.0)
                if r.status in (200, 503):
                    return
                last = "health answered HTTP %d" % r.status
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.05)
        exited = self.proc.poll() is not None
        self.stop(signal.SIGKILL, timeout=5)
        log = self.log_tail()
        if exited and re.search(r"(?i)address (already )?in use|eaddrinuse", log):
            raise PortCollision("%r: %s" % (self, log[-500:]))
        m = UNKNOWN_FLAG_RE.search(log)
        if exited and m:
            raise MissingFeature("`cairn server` does not accept the cluster flags (%s); this "
                                 "binary has no replication yet (issue 4). Log:\n%s"
                                 % (m.group(0)[:300], log))
        raise RuntimeError("%r did not come up: %s\n--- log %s ---\n%s"
                           % (self, last, self.log_path, log))

    def start(self, timeout=harness.START_TIMEOUT):
        """(Re)starts on the same ports; a port taken meanwhile is retried a few times."""
        for attempt in range(harness.START_ATTEMPTS):
            self.spawn()
            try:
                self.wait_up(timeout)
                return self
            except PortCollision:
                if attempt == harness.START_ATTEMPTS - 1:
                    raise
                time.sleep(0.5)
        return self


class Cluster:
    """N Nodes with one --members list. Ports are picked at start; a collision while the whole
    cluster starts picks new ports for everyone and tries again (like harness.Server)."""

    def __init__(self, tmp, size, extra_args=(), cluster_id="cairn", name="c",
                 raft_args=RAFT_ARGS):
        self.tmp = tmp
        self.raft_args = list(raft_args)
        self.size = size
        self.extra_args = list(extra_args)
        self.cluster_id = cluster_id
        self.name = name
        self.nodes = {}  # raft id -> Node (includes nodes added later)
        self.bootstrap_ids = list(range(1, size + 1))

    def members_text(self, ids=None):
        ids = ids if ids is not None else self.bootstrap_ids
        return ",".join("%d@%s@%s" % (i, self.nodes[i].peer, self.nodes[i].http_addr)
                        for i in ids)

    def _make_node(self, raft_id, http_port, peer_port, ids=None, join=False, extra_args=()):
        d = os.path.join(self.tmp, "%s-node%d" % (self.name, raft_id))
        os.makedirs(d, exist_ok=True)
        ids_fixed = list(ids) if ids is not None else None
        node = Node(raft_id, d, http_port, peer_port, self.cluster_id,
                    lambda: self.members_text(ids_fixed), list(self.extra_args) + list(extra_args),
                    join=join, raft_args=self.raft_args)
        self.nodes[raft_id] = node
        return node

    def start(self):
        last = None
        for _ in range(harness.START_ATTEMPTS):
            used = set()
            for i in self.bootstrap_ids:
                hp, pp = _distinct_port(used), _distinct_port(used)
                self._make_node(i, hp, pp)
            for n in self.all():
                n.spawn()
            try:
                for n in self.all():
                    n.wait_up()
                return self
            except PortCollision as e:
                last = e
                self.kill_all(signal.SIGKILL)
        raise RuntimeError("cluster could not start after %d attempts: %s"
                           % (harness.START_ATTEMPTS, last))

    def add_node(self, raft_id, join=True, extra_args=()):
        """A new node (not started) with fresh ports; its --members lists every node so far."""
        used = {n.port for n in self.all()} | {n.peer_port for n in self.all()}
        ids = sorted(self.nodes) + [raft_id]
        return self._make_node(raft_id, _distinct_port(used), _distinct_port(used), ids=ids,
                               join=join, extra_args=extra_args)

    def all(self):
        return [self.nodes[i] for i in sorted(self.nodes)]

    def live(self):
        return [n for n in self.all() if n.alive()]

    def kill_all(self, sig=signal.SIGKILL):
        """Signals every live node by PID first, then waits for each: they die together."""
        nodes = self.live()
        for n in nodes:
            with contextlib.suppress(ProcessLookupError):
                os.kill(n.pid, sig)
        for n in nodes:
            n.stop(signal.SIGKILL, timeout=10)

    def stop_all(self):
        for n in self.all():
            with contextlib.suppress(Exception):
                n.stop()


def _distinct_port(used):
    for _ in range(100):
        p = free_port()
        if p not in used:
            used.add(p)
            return p
    raise RuntimeError("no free port")


def eventually(fn, timeout, interval=0.05):
    """Calls fn until it returns something truthy or `timeout` passes; returns (value, last)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
        except (OSError, http.client.HTTPException) as e:
            last = e
        if last and not isinstance(last, Exception):
            return last, last
        if time.monotonic() > deadline:
            return None, last
        time.sleep(interval)


class ClusterCase(CairnTestCase):
    """One fresh cluster per test (SIZE nodes, CLUSTER_ARGS for each), stopped in cleanup."""

    START_SERVER = False
    SIZE = 3
    CLUSTER_ARGS = ()
    CLUSTER_ID = "cairn"
    RAFT_ARGS = RAFT_ARGS  # the Raft timing flags of every node

    def setUp(self):
        super().setUp()
        self.cluster = self.start_cluster(self.SIZE, self.CLUSTER_ARGS, self.CLUSTER_ID)
        self.leader = self.wait_leader()
        self.server = self.leader

    def start_cluster(self, size, extra_args=(), cluster_id="cairn", name="c"):
        c = Cluster(self.tmp, size, extra_args, cluster_id, name, self.RAFT_ARGS)
        self.addCleanup(c.stop_all)
        try:
            c.start()
        except MissingFeature as e:
            self.fail(str(e))
        return c

    # -- cluster views ------------------------------------------------------------------------

    def status(self, node):
        """`data` of GET /api/v1/cluster/status on `node` (envelope checked)."""
        r = self.http("GET", STATUS, server=node, timeout=5)
        if r.status == 404:
            raise MissingFeature("GET %s answers 404 on %r: the node has no cluster status "
                                 "endpoint (issue 4). %s" % (STATUS, node, r.describe()))
        self.check_envelope(r)
        self.assertEqual(r.code, 0, r.describe())
        d = r.data
        for field in ("raft_id", "role", "term", "leader", "commit", "applied", "members"):
            self.assertIn(field, d, "cluster status lacks %r: %s" % (field, r.describe()))
        return d

    def statuses(self, nodes=None):
        out = {}
        for n in nodes if nodes is not None else self.cluster.live():
            with contextlib.suppress(OSError, http.client.HTTPException):
                out[n.raft_id] = self.status(n)
        return out

    def wait_leader(self, among=None, not_id=None, timeout=LEADER_TIMEOUT):
        """The node every live node in `among` agrees is the leader (and which says so itself).
        Fails with every node's last status when none is agreed on in time."""
        def probe():
            nodes = among if among is not None else self.cluster.live()
            sts = self.statuses(nodes)
            if len(sts) < len(nodes):
                return None
            leaders = {s["leader"] for s in sts.values()}
            if len(leaders) != 1:
                return None
            lid = leaders.pop()
            if not lid or lid == not_id or lid not in sts or sts[lid]["role"] != "leader":
                return None
            return self.cluster.nodes[lid]
        try:
            leader, _ = eventually(probe, timeout, 0.05)
        except MissingFeature as e:
            self.fail(str(e))
        if leader is None:
            self.fail("no agreed leader within %.0f s%s; statuses: %s" % (
                timeout, "" if not_id is None else " (other than node%d)" % not_id,
                json.dumps(self.statuses(among), ensure_ascii=False)[:3000]))
        return leader

    def assert_member_addresses(self, nodes):
        """Every member listed by every node in `nodes` carries the peer and HTTP addresses the
        cluster knows for it (a leader needs them to replicate and to be forwarded to)."""
        for n in nodes:
            s = self.status(n)
            for m in s["members"]:
                node = self.cluster.nodes.get(m["id"])
                self.assertIsNotNone(node, "unknown member %s on %r" % (m, n))
                self.assertEqual((m.get("peer"), m.get("http")), (node.peer, node.http_addr),
                                 "node%d lists member %d without its addresses: %s"
                                 % (n.raft_id, m["id"], json.dumps(s)))

    def followers(self, leader=None):
        leader = leader or self.leader
        return [n for n in self.cluster.live() if n is not leader]

    def vars(self, node, checksum=False):
        r = self.call("GET", "/api/v1/debug/vars", params={"checksum": 1} if checksum else None,
                      server=node)
        return r.data

    def wait_converged(self, nodes=None, timeout=CONVERGE_TIMEOUT):
        """Waits until `nodes` (default: every live node) have the same applied index, revision
        and non-empty checksum; returns that (applied_index, revision, checksum)."""
        nodes = nodes if nodes is not None else self.cluster.live()
        seen = {}

        def probe():
            for n in nodes:
                d = self.vars(n, checksum=True)
                seen[n.raft_id] = (d.get("applied_index"), d.get("revision"), d.get("checksum"))
            values = set(seen.values())
            if len(values) == 1:
                v = values.pop()
                return v if v[2] else None
            return None
        v, _ = eventually(probe, timeout, 0.1)
        if v is None:
            self.fail("nodes did not converge within %.0f s: (applied_index, revision, checksum)"
                      " per node: %s" % (timeout, seen))
        return v

    # -- requests that may meet a dead node or an election --------------------------------------

    def try_http(self, method, path, node, **kw):
        """The response, or None when the node did not answer (dead, or a socket error)."""
        try:
            return self.http(method, path, server=node, **kw)
        except (OSError, http.client.HTTPException):
            return None

    def write_until_ok(self, fn, timeout=LEADER_TIMEOUT, what="write"):
        """Calls fn() -> Response until code 0; elections in between answer 503/50302 or
        500/50003 (then retried). Fails on any other answer or after `timeout`."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                r = fn()
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
                time.sleep(0.1)
                continue
            self.check_envelope(r)
            if r.code == 0:
                return r
            if r.code not in (50302, 50003, 50301):
                self.fail("%s failed: %s" % (what, r.describe()))
            last = r.describe()
            time.sleep(0.1)
        self.fail("%s did not succeed within %.0f s; last: %s" % (what, timeout, last))

    def create_on(self, node, ns, key, value, headers=None):
        return self.http("POST", "/api/v1/admin/config", server=node, headers=headers,
                         json_body={"namespace": ns, "key": key, "value": value})

    def ensure_ns(self, name, node=None):
        node = node or self.leader
        return self.write_until_ok(lambda: self.http("POST", "/api/v1/admin/namespace",
                                                     server=node, json_body={"name": name}),
                                   what="create namespace " + name)

    def read(self, node, ns, key, strong=False):
        params = {"namespace": ns, "key": key}
        if strong:
            params["consistency"] = "strong"
        return self.http("GET", "/api/v1/config/get", params=params, server=node)

    def wait_value(self, node, ns, key, value, timeout=CONVERGE_TIMEOUT):
        def probe():
            r = self.read(node, ns, key)
            return r.code == 0 and r.data["value"] == value and r
        r, last = eventually(probe, timeout)
        if not r:
            self.fail("%r never served %s/%s = %s; last: %s" % (
                node, ns, key, json.dumps(value), last.describe() if hasattr(last, "describe")
                else last))
        self.check_envelope(r)
        return r

    def assert_all_present(self, nodes, ns, acked):
        """Every acknowledged {key: value} reads back with that value on every node in `nodes`
        (after wait_converged, so a plain local read suffices)."""
        for n in nodes:
            missing = []
            for key, value in sorted(acked.items()):
                r = self.read(n, ns, key)
                if r.code != 0 or r.data["value"] != value:
                    missing.append((key, r.code, r.data and r.data.get("value")))
            self.assertEqual(missing, [], "%r lost acknowledged writes (key, code, value): %s"
                             % (n, missing[:20]))


class Writer:
    """Threads writing fresh keys (create) to the given nodes until stopped, remembering every
    acknowledged one (code 0). Dead nodes and elections are expected: those attempts count as
    unacknowledged and the thread moves on to another node."""

    def __init__(self, case, ns, nodes_fn, threads=3, prefix="w", limit=None):
        self.case = case
        self.ns = ns
        self.nodes_fn = nodes_fn
        self.threads = threads
        self.prefix = prefix
        self.limit = limit  # keys per thread, None = until stopped
        self.acked = {}
        self.unacked = set()  # tried, outcome unknown (may or may not have committed)
        self.errors = []      # unexpected answers
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.workers = []

    def start(self):
        for t in range(self.threads):
            th = threading.Thread(target=self._run, args=(t,), daemon=True)
            th.start()
            self.workers.append(th)
        self.case.addCleanup(self.stop)
        return self

    def count(self):
        with self.lock:
            return len(self.acked)

    def _run(self, t):
        rnd = random.Random(t)
        i = 0
        while not self.stop_event.is_set() and (self.limit is None or i < self.limit):
            key = "%s%d-%05d" % (self.prefix, t, i)
            value = {"t": t, "i": i, "pad": "x" * rnd.randint(0, 64)}
            i += 1
            nodes = [n for n in self.nodes_fn() if n.alive()]
            if not nodes:
                time.sleep(0.05)
                self.unacked.add(key)
                continue
            node = rnd.choice(nodes)
            try:
                r = raw_request(node.port, "POST", "/api/v1/admin/config",
                                body=json.dumps({"namespace": self.ns, "key": key,
                                                 "value": value}), timeout=10)
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.unacked.add(key)
                time.sleep(0.02)
                continue
            with self.lock:
                if r.code == 0:
                    self.acked[key] = value
                else:
                    self.unacked.add(key)
                    if r.code not in (50302, 50003, 50301):
                        self.errors.append(r.describe())
            if r.code != 0:
                time.sleep(0.05)

    def stop(self):
        self.stop_event.set()
        for th in self.workers:
            th.join(30)
