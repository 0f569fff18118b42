"""Cairn nodes in the namespaces of a netns.Lab, the clients' HTTP calls, and the history
recorder (docs/chaos.md). Used by run.py (the fault suite) and bench/soak.py.

Each node i runs `cairn server` inside namespace n<i> on its own address (10.x.y.i), HTTP on
port 8080 and Raft on 7001: no port can collide with anything else on the machine. Processes are
started through tests/support/cairn_cluster.py (registered by PID, stopped by PID).
"""

import http.client
import json
import os
import signal
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))

import cairn_cluster  # noqa: E402
from cairn_cluster import STATUS, agreed_leader, eventually  # noqa: E402

HTTP_PORT = 8080
PEER_PORT = 7001


class Refused(Exception):
    """The connection was refused: the request was certainly not received."""


def request(host, port, method, target, body=None, timeout=2.0):
    """One request on a fresh connection. Returns (HTTP status, parsed JSON or None). Raises
    Refused when nothing was sent, socket.timeout / OSError / HTTPException otherwise."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        try:
            conn.connect()
        except ConnectionRefusedError as e:
            raise Refused(str(e))
        data = None
        headers = {}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif method in ("POST", "PUT"):
            headers["Content-Length"] = "0"
        conn.request(method, target, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        return resp.status, doc
    finally:
        conn.close()


class NetNode(cairn_cluster.Node):
    """A cluster member inside a lab namespace, on the lab's address for its id."""

    def __init__(self, lab, raft_id, data_dir, cluster_id, members_fn, extra_args=(),
                 raft_args=(), binary=None):
        self.lab = lab
        self.host = lab.ip(raft_id)
        super().__init__(raft_id, data_dir, HTTP_PORT, PEER_PORT, cluster_id, members_fn,
                         extra_args=extra_args, raft_args=raft_args, binary=binary)
        self.paused = False

    @property
    def peer(self):
        return "%s:%d" % (self.host, self.peer_port)

    @property
    def http_addr(self):
        return "%s:%d" % (self.host, self.port)

    def __repr__(self):
        return "node%d(%s, pid %s)" % (self.raft_id, self.host, self.pid)

    def args(self):
        return self.lab.exec_prefix(self.raft_id) + super().args()

    def _wait_healthy(self, timeout, statuses=(200,)):
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False, "process exited with %s" % self.proc.returncode
            try:
                st, _ = request(self.host, self.port, "GET", "/api/v1/health", timeout=1.0)
                if st in statuses:
                    return True, None
                last = "health answered HTTP %d" % st
            except (Refused, OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.05)
        return False, "not healthy within %.0f s (%s)" % (timeout, last)

    def pause(self):
        self.paused = True
        super().pause()

    def resume(self):
        super().resume()
        self.paused = False

    def status(self, timeout=0.5):
        """`data` of cluster/status, or None."""
        try:
            st, doc = request(self.host, self.port, "GET", STATUS, timeout=timeout)
        except (Refused, OSError, http.client.HTTPException):
            return None
        if st == 200 and isinstance(doc, dict) and isinstance(doc.get("data"), dict):
            return doc["data"]
        return None

    def get(self, target, timeout=5.0):
        st, doc = request(self.host, self.port, "GET", target, timeout=timeout)
        return st, doc


class NetCluster:
    """N NetNodes in a lab; data dirs <dir>/node<i>, logs beside them."""

    def __init__(self, lab, directory, size, binary, extra_args=(), raft_args=(),
                 cluster_id="chaos"):
        self.lab = lab
        self.dir = directory
        self.nodes = {}
        # Peers prove membership with a shared cluster secret (issue 23 §4) where the binary
        # reads CAIRN_CLUSTER_SECRET; a binary without it ignores the variable. A new one per
        # cluster (restarts of a node inherit it through the environment).
        os.environ["CAIRN_CLUSTER_SECRET"] = os.urandom(16).hex()
        for i in range(1, size + 1):
            d = os.path.join(directory, "node%d" % i)
            os.makedirs(d, exist_ok=True)
            self.nodes[i] = NetNode(lab, i, d, cluster_id, self.members_text,
                                    extra_args=extra_args, raft_args=raft_args, binary=binary)

    def members_text(self):
        return ",".join("%d@%s@%s" % (i, n.peer, n.http_addr) for i, n in sorted(self.nodes.items()))

    def all(self):
        return [self.nodes[i] for i in sorted(self.nodes)]

    def start(self):
        for n in self.all():
            n.spawn()
        for n in self.all():
            n.wait_up(timeout=20.0)
        # `ip netns exec` must have exec'd cairn in place, or signals would go to `ip`.
        for n in self.all():
            with open("/proc/%d/comm" % n.pid) as f:
                comm = f.read().strip()
            if comm != "cairn":
                raise RuntimeError("node%d's PID %d is %r, not cairn" % (n.raft_id, n.pid, comm))
        return self

    def statuses(self, timeout=0.5):
        out = {}
        for n in self.all():
            if n.alive() and not n.paused:
                out[n.raft_id] = n.status(timeout)
        return out

    def leader(self, timeout=0.5):
        """The node that calls itself leader with the highest term (alive, not paused), or None."""
        best = None
        for i, s in self.statuses(timeout).items():
            if s and s.get("role") == "leader" and (best is None or s["term"] > best[1]):
                best = (i, s["term"])
        return self.nodes[best[0]] if best else None

    def wait_agreed_leader(self, timeout=30.0):
        def probe():
            sts = self.statuses(1.0)
            if None in sts.values() or len(sts) != len(self.nodes):
                return None
            return agreed_leader(sts)
        lid, _ = eventually(probe, timeout, 0.1)
        return self.nodes[lid] if lid else None

    def wait_converged(self, timeout=60.0):
        """(applied_index, revision, checksum) once every node answers the same, else None and
        the last answers."""
        seen = {}

        def probe():
            for n in self.all():
                try:
                    st, doc = n.get("/api/v1/debug/vars?checksum=1", timeout=5.0)
                except (Refused, OSError, http.client.HTTPException):
                    return None
                d = (doc or {}).get("data") or {}
                seen[n.raft_id] = (d.get("applied_index"), d.get("revision"), d.get("checksum"))
            values = set(seen.values())
            if len(values) == 1:
                v = values.pop()
                return v if v[2] else None
            return None
        v, _ = eventually(probe, timeout, 0.2)
        return v, dict(seen)

    def stop_all(self):
        for n in self.all():
            if n.paused and n.alive():
                try:
                    n.resume()
                except ProcessLookupError:
                    pass
            if n.alive():
                n.stop(signal.SIGTERM, timeout=5)
            else:
                n.stop(signal.SIGKILL, timeout=1)


class Recorder:
    """The history: events appended under one lock, so that `index` order is real-time order
    (an invoke is recorded before its request is sent, a completion after its answer came)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events = []
        self.t0 = time.monotonic()

    def now(self):
        return time.monotonic() - self.t0

    def add(self, **e):
        with self.lock:
            e["index"] = len(self.events)
            e["time"] = round(time.monotonic() - self.t0, 6)
            self.events.append(e)
            return e
