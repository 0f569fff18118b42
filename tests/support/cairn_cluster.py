"""The one launcher of real Cairn processes for every Python suite and bench script (issue 16
item 8): tests/e2e (harness.py and cluster.py build their unittest layer on it),
src/cli/tests/cli_e2e.py and bench/*.py.

What it starts, each process registered by PID so that kill_all_live() (a runner's watchdog,
atexit or signal handler) stops whatever is still alive:

  Server       one `cairn server` on a free port in its own data dir; a start that fails with
               "address in use" is retried on another port; ready when /api/v1/health answers 200.
  Node         a Server that is a Raft member: HTTP and peer ports fixed for its whole life (they
               are in every member's --members list), so a restart comes back on the same ports.
  Cluster      N Nodes with one --members list; start(), add_node(), leader(), wait_leader().
  DevCluster   `cairn dev --nodes N`: one supervisor and its nodes on consecutive ports.
  Redis        a throw-away redis-server (the cache tier) on a given port.
  Process      any other child (nginx, Alertmanager, rsyslog) under the same registry and rule.

Every node can be stopped (SIGTERM, then SIGKILL after a timeout), killed (kill9), paused and
resumed (SIGSTOP/SIGCONT) and restarted, always by PID. Every wait is bounded.

The UI test (tests/ui/cluster.mjs) mirrors DevCluster's options in JavaScript (node cannot import
this file); the C++ SDK e2e (src/client/tests/e2e_test.cc) forks its servers itself.

Python 3 standard library only.
"""

import contextlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

BINARY = os.environ.get("CAIRN_BINARY", "")  # a runner sets it (tests/e2e/run.py)
REDIS_SERVER = shutil.which("redis-server")  # None: the suites that need it skip

HTTP_TIMEOUT = 15.0        # every socket operation of a request
START_TIMEOUT = 10.0       # from spawn to a healthy answer
STOP_TIMEOUT = 10.0        # SIGTERM to exit, before SIGKILL
START_ATTEMPTS = 5         # port collisions are retried with new ports

# Small timings so that elections take a fraction of a second (election timeout 200 ms).
RAFT_ARGS = ("--raft-tick", "20ms", "--election-ticks", "10")
# Cluster writers go as fast as the cluster allows from one address, above the default
# per-client write quota (docs/rate-limits.md), and an access log line per request costs time.
QUIET_ARGS = ("--access-log=false", "--rate-limit-enabled=false")
STATUS = "/api/v1/cluster/status"

# An ssl.SSLContext while a test talks HTTPS to its servers (test_tls.py sets and resets it).
TLS_CONTEXT = None

IN_USE_RE = re.compile(r"(?i)address (already )?in use|eaddrinuse")
# What a node's log says when it does not know a cluster flag at all (CLI11's wording).
UNKNOWN_FLAG_RE = re.compile(r"(?i)(were not expected|unknown option|extras?:).*")


class PortCollision(Exception):
    """A process could not bind one of its ports (another process took it)."""


class MissingFeature(AssertionError):
    """The binary lacks a flag or an endpoint the cluster tests need (issue 4)."""


# -- the registry of live processes -----------------------------------------------------------

_live_lock = threading.Lock()
_live = {}  # pid -> an object with stop(sig, timeout)


def register(owner, pid):
    with _live_lock:
        _live[pid] = owner


def unregister(pid):
    with _live_lock:
        _live.pop(pid, None)


def kill_all_live():
    """SIGKILLs every process still registered (watchdog / atexit / signal handler)."""
    with _live_lock:
        owners = list(_live.values())
    for owner in owners:
        with contextlib.suppress(Exception):
            owner.stop(signal.SIGKILL, timeout=5)


def stop_process(proc, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
    """Sends `sig` to a child process, waits up to `timeout`, then SIGKILLs and waits."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def pid_alive(pid):
    """True while `pid` runs; a zombie (exited, not yet reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


# -- ports and waiting ----------------------------------------------------------------------

def free_port():
    """A port on 127.0.0.1 that was free a moment ago (bind to 0, read, close)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def distinct_port(used):
    """A free port not in `used` (which it joins)."""
    for _ in range(100):
        p = free_port()
        if p not in used:
            used.add(p)
            return p
    raise RuntimeError("no free port")


def ports_free(ports):
    for p in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_range(n, lo=20000, hi=60000, avoid=(), rnd=random):
    """The first port of `n` consecutive free ports in [lo, hi), none of them in `avoid`."""
    for _ in range(200):
        base = rnd.randrange(lo, hi - n)
        ports = range(base, base + n)
        if not any(p in avoid for p in ports) and ports_free(ports):
            return base
    raise RuntimeError("no %d free consecutive ports" % n)


def eventually(fn, timeout, interval=0.05):
    """Calls fn until it returns something truthy or `timeout` passes; returns (value, last).
    A socket error counts as "not yet"."""
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


# -- HTTP -----------------------------------------------------------------------------------

class Response:
    def __init__(self, method, target, status, reason, headers, body):
        self.method = method
        self.target = target
        self.status = status
        self.reason = reason
        self.header_list = headers  # list of (name, value)
        self.headers = {}
        for name, value in headers:
            self.headers.setdefault(name.lower(), value)
        self.body = body
        self.text = body.decode("utf-8", errors="replace")
        try:
            self.json = json.loads(self.text) if body else None
        except ValueError:
            self.json = None

    @property
    def code(self):
        return self.json.get("code") if isinstance(self.json, dict) else None

    @property
    def data(self):
        return self.json.get("data") if isinstance(self.json, dict) else None

    @property
    def error(self):
        return self.json.get("error") if isinstance(self.json, dict) else None

    def header(self, name):
        return self.headers.get(name.lower())

    def describe(self):
        return "%s %s -> HTTP %s %s" % (self.method, self.target, self.status, self.text[:2000])


def raw_request(port, method, target, body=None, headers=None, timeout=HTTP_TIMEOUT):
    """One request to 127.0.0.1:port (HTTPS while TLS_CONTEXT is set) on a fresh connection."""
    if TLS_CONTEXT is not None:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                           context=TLS_CONTEXT)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, bytearray)):
            body = body.encode("utf-8")
        if body is None and method in ("POST", "PUT", "PATCH"):
            hdrs.setdefault("Content-Length", "0")
        conn.request(method, target, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return Response(method, target, resp.status, resp.reason, resp.getheaders(), data)
    finally:
        conn.close()


def cluster_status(port, timeout=2.0):
    """`data` of GET /api/v1/cluster/status on 127.0.0.1:port, or None (no answer, not 200)."""
    try:
        r = raw_request(port, "GET", STATUS, timeout=timeout)
    except (OSError, http.client.HTTPException):
        return None
    return r.data if r.status == 200 and isinstance(r.data, dict) else None


def agreed_leader(statuses):
    """The raft id every status in {raft id: cluster status data} names as leader, when that
    node's own status says it leads; else None."""
    leaders = {s.get("leader") for s in statuses.values()}
    if len(leaders) != 1:
        return None
    lid = leaders.pop()
    if not lid or lid not in statuses or statuses[lid].get("role") != "leader":
        return None
    return lid


# -- processes ------------------------------------------------------------------------------

class Process:
    """Any child process with its output in a log file, registered until stopped."""

    def __init__(self, args, log_path, cwd=None, env=None, kill_group=False):
        self.args = list(args)
        self.log_path = log_path
        self.kill_group = kill_group  # also SIGKILL its process group (nginx's workers)
        self.log_file = open(log_path, "wb")
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                     start_new_session=True)
        register(self, self.proc.pid)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """`sig` by PID, SIGKILL after `timeout`; returns the exit status."""
        proc = self.proc
        stop_process(proc, sig, timeout)
        if self.kill_group:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        unregister(proc.pid)
        if self.log_file:
            self.log_file.close()
            self.log_file = None
        return proc.returncode

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, n=4000):
        return self.output()[-n:]


class Redis(Process):
    """A throw-away redis-server on 127.0.0.1:`port`, without persistence: a restart on the same
    port comes back empty."""

    def __init__(self, port, log_path, binary=None):
        self.port = port
        super().__init__([binary or REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no"], log_path)

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def wait_ready(self, timeout=10.0):
        return bool(eventually(self.ping, timeout, 0.05)[0])


class Server:
    """One `cairn server` child process with its own data dir and port."""

    def __init__(self, data_dir, extra_args=(), binary=None):
        self.binary = binary or BINARY
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.env = {}  # added to the environment of the process (CAIRN_CLUSTER_SECRET)
        self.proc = None
        self.port = None
        self.log_path = None
        self.log_file = None
        self.starts = 0

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def base(self):
        return "127.0.0.1:%d" % self.port

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def args(self):
        return [self.binary, "server", "--data-dir", self.data_dir,
                "--listen-http", "127.0.0.1:%d" % self.port] + self.extra_args

    def _log_name(self):
        return "server-%s-%d.log" % (os.path.basename(self.data_dir), self.starts)

    def spawn(self):
        """Starts the process without waiting for it."""
        if not self.binary or not os.path.exists(self.binary):
            raise RuntimeError("cairn binary not found: %r" % self.binary)
        if self.alive():
            raise RuntimeError("%r is already running" % self)
        self.starts += 1
        self.log_path = os.path.join(os.path.dirname(self.data_dir.rstrip("/")) or ".",
                                     self._log_name())
        self.log_file = open(self.log_path, "wb")
        env = dict(os.environ, **self.env) if self.env else None
        self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True, env=env)
        register(self, self.proc.pid)

    def start(self, timeout=START_TIMEOUT):
        """Starts on a free port and waits for a healthy answer; "address in use" picks another
        port. Raises RuntimeError with the log's tail otherwise."""
        last_error = None
        for _ in range(START_ATTEMPTS):
            self.port = free_port()
            self.spawn()
            ok, last_error = self._wait_healthy(timeout)
            if ok:
                return self
            exited = self.proc.poll() is not None
            self.stop(signal.SIGKILL, timeout=5)
            log = self.log_tail()
            if exited and IN_USE_RE.search(log):
                continue  # port collision: try another port
            raise RuntimeError("server did not become healthy: %s\n--- log ---\n%s"
                               % (last_error, log))
        raise RuntimeError("server could not start after %d attempts: %s\n%s"
                           % (START_ATTEMPTS, last_error, self.log_tail()))

    def _wait_healthy(self, timeout, statuses=(200,)):
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False, "process exited with %s" % self.proc.returncode
            try:
                r = raw_request(self.port, "GET", "/api/v1/health", timeout=1.0)
                if r.status in statuses:
                    return True, None
                last = "health answered HTTP %d" % r.status
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.05)
        return False, "not healthy within %.0f s (%s)" % (timeout, last)

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends `sig` to the server's PID, waits up to `timeout`, then SIGKILLs. Returns the exit
        status (negative signal number when killed)."""
        if self.proc is None:
            return None
        proc = self.proc
        stop_process(proc, sig, timeout)
        unregister(proc.pid)
        if self.log_file:
            self.log_file.close()
            self.log_file = None
        return proc.returncode

    def kill9(self):
        return self.stop(signal.SIGKILL, timeout=10)

    def restart(self, sig=signal.SIGTERM):
        """Stops with `sig` (SIGKILL: a crash) and starts again on the same data dir."""
        self.stop(sig)
        return self.start()

    def pause(self):
        """SIGSTOP: a stalled process (its sockets still accept connections), not a dead one."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.pid, signal.SIGCONT)

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
            return data[-n:].decode("utf-8", errors="replace")
        except (OSError, TypeError):
            return ""


class Node(Server):
    """One `cairn server` member with fixed ports: HTTP on `port`, Raft peers on `peer_port`."""

    def __init__(self, raft_id, data_dir, http_port, peer_port, cluster_id, members_fn,
                 extra_args=(), join=False, raft_args=RAFT_ARGS, binary=None):
        super().__init__(data_dir, extra_args, binary)
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

    def _log_name(self):
        return "%s-%d.log" % (os.path.basename(self.data_dir), self.starts)

    def wait_up(self, timeout=START_TIMEOUT):
        """Waits until the node's HTTP server answers /api/v1/health (any status: a node without
        a leader may call itself unhealthy). Raises PortCollision, MissingFeature or a clear
        error otherwise."""
        ok, last = self._wait_healthy(timeout, statuses=(200, 503))
        if ok:
            return
        exited = self.proc.poll() is not None
        self.stop(signal.SIGKILL, timeout=5)
        log = self.log_tail()
        if exited and IN_USE_RE.search(log):
            raise PortCollision("%r: %s" % (self, log[-500:]))
        m = UNKNOWN_FLAG_RE.search(log)
        if exited and m:
            raise MissingFeature("`cairn server` does not accept the cluster flags (%s); this "
                                 "binary has no replication yet (issue 4). Log:\n%s"
                                 % (m.group(0)[:300], log))
        raise RuntimeError("%r did not come up: %s\n--- log %s ---\n%s"
                           % (self, last, self.log_path, log))

    def start(self, timeout=START_TIMEOUT):
        """(Re)starts on the same ports; a port taken meanwhile is retried a few times."""
        for attempt in range(START_ATTEMPTS):
            self.spawn()
            try:
                self.wait_up(timeout)
                return self
            except PortCollision:
                if attempt == START_ATTEMPTS - 1:
                    raise
                time.sleep(0.5)
        return self


class Cluster:
    """N Nodes with one --members list, data dirs `<tmp>/<name>-node<i>`. Ports are picked at
    start; a collision while the whole cluster starts picks new ports for everyone and tries
    again. Node i is nodes[i] (raft id i)."""

    def __init__(self, tmp, size, extra_args=(), cluster_id="cairn", name="c",
                 raft_args=RAFT_ARGS, binary=None, secret=None):
        self.tmp = tmp
        # The cluster secret every node gets in CAIRN_CLUSTER_SECRET (docs/security.md): a new
        # random one per cluster unless given; "" starts the nodes without one.
        self.secret = secret if secret is not None else "%032x" % random.getrandbits(128)
        self.raft_args = list(raft_args)
        self.size = size
        self.extra_args = list(extra_args)
        self.cluster_id = cluster_id
        self.name = name
        self.binary = binary
        self.nodes = {}  # raft id -> Node (includes nodes added later)
        self.bootstrap_ids = list(range(1, size + 1))

    def members_text(self, ids=None):
        ids = ids if ids is not None else self.bootstrap_ids
        return ",".join("%d@%s@%s" % (i, self.nodes[i].peer, self.nodes[i].http_addr)
                        for i in ids)

    def make_node(self, raft_id, http_port, peer_port, ids=None, join=False, extra_args=()):
        """A Node (not started) whose --members lists `ids` (default: the bootstrap members)."""
        d = os.path.join(self.tmp, "%s-node%d" % (self.name, raft_id))
        os.makedirs(d, exist_ok=True)
        ids_fixed = list(ids) if ids is not None else None
        node = Node(raft_id, d, http_port, peer_port, self.cluster_id,
                    lambda: self.members_text(ids_fixed), list(self.extra_args) + list(extra_args),
                    join=join, raft_args=self.raft_args, binary=self.binary)
        if self.secret:
            node.env["CAIRN_CLUSTER_SECRET"] = self.secret
        self.nodes[raft_id] = node
        return node

    def start(self):
        last = None
        for _ in range(START_ATTEMPTS):
            used = set()
            for i in self.bootstrap_ids:
                hp, pp = distinct_port(used), distinct_port(used)
                self.make_node(i, hp, pp)
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
                           % (START_ATTEMPTS, last))

    def used_ports(self):
        return {n.port for n in self.all()} | {n.peer_port for n in self.all()}

    def add_node(self, raft_id, join=True, extra_args=()):
        """A new node (not started) with fresh ports; its --members lists every node so far."""
        used = self.used_ports()
        ids = sorted(self.nodes) + [raft_id]
        return self.make_node(raft_id, distinct_port(used), distinct_port(used), ids=ids,
                              join=join, extra_args=extra_args)

    def all(self):
        return [self.nodes[i] for i in sorted(self.nodes)]

    def live(self):
        return [n for n in self.all() if n.alive()]

    def leader(self, among=None):
        """The Node that every node in `among` (default: every live node) names as leader and
        that says so itself, or None."""
        nodes = among if among is not None else self.live()
        sts = {n.raft_id: cluster_status(n.port) for n in nodes}
        if not nodes or None in sts.values():
            return None
        lid = agreed_leader(sts)
        return self.nodes.get(lid) if lid else None

    def wait_leader(self, timeout=20.0, among=None):
        leader, _ = eventually(lambda: self.leader(among), timeout)
        if leader is None:
            raise RuntimeError("no agreed leader within %.0f s" % timeout)
        return leader

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


class DevCluster:
    """`cairn dev --nodes N` as one registered child: node i (1-based) serves HTTP on
    http_port+i-1 and Raft on peer_port+i-1, with data in <data_dir>/node<i> and its PID in
    <data_dir>/node<i>/cairn.pid. Ports left None are picked free (a start that reports "in use"
    is retried on others); fixed ports (bench) are used as given. Its nodes die with it
    (PR_SET_PDEATHSIG); stop() also SIGKILLs any node PID still alive."""

    def __init__(self, data_dir, nodes=3, http_port=None, peer_port=None, cluster_id=None,
                 server_args=(), dev_args=(), env=None, binary=None, log_path=None):
        self.binary = binary or BINARY
        self.data_dir = data_dir
        self.size = nodes
        self.fixed = (http_port, peer_port)
        self.http_port, self.peer_port = http_port, peer_port
        self.cluster_id = cluster_id
        self.server_args = list(server_args)
        self.dev_args = list(dev_args)
        self.env = env
        self.log_path = log_path or os.path.join(data_dir, "dev.log")
        self.process = None
        self.starts = 0

    @property
    def pid(self):
        return self.process.pid if self.process else None

    @property
    def proc(self):
        return self.process.proc if self.process else None

    def ports(self):
        return [self.http_port + i for i in range(self.size)]

    def urls(self):
        return ["http://127.0.0.1:%d" % p for p in self.ports()]

    def spawn(self):
        """Starts `cairn dev` without waiting (ports picked now when not fixed)."""
        self.starts += 1
        rnd = random.Random()
        if self.fixed[0] is None:
            self.http_port = free_range(self.size, 20000, 40000, rnd=rnd)
        if self.fixed[1] is None:
            self.peer_port = free_range(self.size, 40000, 60000, rnd=rnd)
        os.makedirs(self.data_dir, exist_ok=True)
        args = [self.binary, "dev", "--nodes", str(self.size), "--data-dir", self.data_dir,
                "--http-port", str(self.http_port), "--peer-port", str(self.peer_port)]
        if self.cluster_id:
            args += ["--cluster-id", self.cluster_id]
        args += self.dev_args
        if self.server_args:
            args += ["--"] + self.server_args
        log_path = self.log_path if self.starts == 1 else "%s.%d" % (self.log_path, self.starts)
        env = dict(os.environ, **self.env) if self.env else None
        self.process = Process(args, log_path, env=env)
        return self

    def start(self, timeout=60.0):
        """Spawns and waits until a leader is known (see leader_port); retries another port
        range when `cairn dev` reports a port in use."""
        for _ in range(START_ATTEMPTS):
            self.spawn()
            port, _ = eventually(lambda: self.leader_port() or not self.process.alive(),
                                 timeout, 0.1)
            if port and self.process.alive():
                return self
            out = self.output()
            self.stop(signal.SIGKILL)
            if "in use" in out and None in self.fixed:
                continue
            raise RuntimeError("cairn dev did not elect a leader within %.0f s:\n%s"
                               % (timeout, out[-4000:]))
        raise RuntimeError("cairn dev could not start after %d attempts" % START_ATTEMPTS)

    def node_pids(self):
        """{node number: PID} from each node's cairn.pid (nodes that wrote one)."""
        pids = {}
        for i in range(1, self.size + 1):
            with contextlib.suppress(OSError, ValueError):
                with open(os.path.join(self.data_dir, "node%d" % i, "cairn.pid")) as f:
                    pids[i] = int(f.read().strip())
        return pids

    def pid_of_port(self, port):
        return self.node_pids().get(port - self.http_port + 1)

    def leader_port(self):
        """The HTTP port of the node whose cluster status says role leader, or None."""
        for port in self.ports():
            st = cluster_status(port)
            if st and st.get("role") == "leader":
                return port
        return None

    def leader_pid(self):
        return self.pid_of_port(self.leader_port())

    def alive(self):
        return self.process is not None and self.process.alive()

    def output(self):
        return self.process.output() if self.process else ""

    def stop(self, sig=signal.SIGTERM, timeout=20, nodes_too=True):
        """`sig` to `cairn dev` (it stops its nodes), SIGKILL after `timeout`, then (nodes_too)
        SIGKILL to any node of this data dir still alive. Returns cairn dev's exit status."""
        if self.process is None:
            return None
        rc = self.process.stop(sig, timeout)
        if nodes_too:
            for i, pid in self.node_pids().items():
                if pid_alive(pid) and self._is_node(pid, i):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        return rc

    def _is_node(self, pid, i):
        """Whether `pid` is still node i (not a PID reused since its cairn.pid was written)."""
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            return False
        return os.path.join(self.data_dir, "node%d" % i).encode() in args
