"""Cluster layer of Cairn's end-to-end tests: ClusterCase starts one cluster of N real `cairn
server` processes replicating with Raft over real TCP on 127.0.0.1 (docs/cluster.md) per test and
stops it in cleanup; Writer keeps writing through the live nodes.

The processes themselves (Node, Cluster: fixed ports per node, restart on the same addresses,
kill -9, SIGSTOP, stop by PID) come from the shared launcher tests/support/cairn_cluster.py, whose
registry run.py's watchdog and atexit hook empty whatever happens.

Python 3 standard library only. Every wait is bounded; nothing asserts on how long a thing took.
"""

import contextlib
import http.client
import json
import random
import re
import threading
import time

from cairn_cluster import (  # noqa: F401 - eventually: the suites import it from here
    RAFT_ARGS, STATUS, Cluster, MissingFeature, agreed_leader, eventually)
from harness import CairnTestCase, raw_request

LEADER_TIMEOUT = 20.0     # a leader is elected (and known to every live node) within this
CONVERGE_TIMEOUT = 45.0   # live nodes reach the same applied index and checksum within this
TRANSFER = "/api/v1/admin/cluster/transfer-leader"
MEMBERS = "/api/v1/admin/cluster/members"


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
            lid = agreed_leader(sts)
            if not lid or lid == not_id:
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

    def metric(self, node, name, labels=None):
        """The sum of the samples of `name` (with `labels`, a substring of the label set) on
        `node`'s /api/v1/metrics."""
        r = self.http("GET", "/api/v1/metrics", server=node, timeout=5)
        self.assertEqual(r.status, 200, r.describe())
        total = 0.0
        for line in r.body.decode().splitlines():
            m = re.match(r"^%s(\{[^}]*\})? ([0-9.e+-]+)$" % re.escape(name), line)
            if m and (labels is None or labels in (m.group(1) or "")):
                total += float(m.group(2))
        return total

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
