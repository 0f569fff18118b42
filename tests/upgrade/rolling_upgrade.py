#!/usr/bin/env python3
"""Rolling upgrade of a 3-node cluster from the previous release to the binary under test
(issue 22, docs/operations.md "Rolling upgrade"). tests/upgrade/run.sh builds the old binary and
calls this; `make test-upgrade` runs both.

    rolling_upgrade.py --old OLD_CAIRN --new NEW_CAIRN [--previous COMMIT]

1. A 3-node cluster on the old binary; writers create fresh keys through every live node from
   start to end, remembering each acknowledged write and when it was acknowledged.
2. Each follower in turn: SIGTERM, restart on the same data dir and ports with the new binary,
   wait until it has caught up with the leader.
3. Leadership moves to an upgraded follower (POST /api/v1/admin/cluster/transfer-leader), then
   the old leader is replaced the same way.
4. After some writes on the all-new cluster: every node has the same applied index, revision and
   contents checksum (GET /api/v1/debug/vars?checksum=1), every acknowledged write reads back
   with its value on every node (0 lost), and the longest time between two acknowledged writes
   during the upgrade stays within a liveness bound.

Every process is started by the shared launcher (tests/support/cairn_cluster.py) on 127.0.0.1
and stopped by PID, whatever happens (a watchdog, atexit and signal handlers). Exit 0 when every
check holds, 1 when one fails, 3 when the watchdog fires. CAIRN_UPGRADE_KEEP=1 keeps the
temporary folder (node logs) for inspection.
"""

import argparse
import atexit
import http.client
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))

import cairn_cluster  # noqa: E402
from cairn_cluster import Cluster, eventually, raw_request  # noqa: E402

TRANSFER = "/api/v1/admin/cluster/transfer-leader"
# Retried answers while a node restarts or an election runs (docs/cluster.md).
TRANSIENT = (50301, 50302, 50003)

# Liveness bound on the longest window without an acknowledged write. This is not a speed
# assertion: an election takes a fraction of a second here (election timeout 200 ms, RAFT_ARGS)
# and a planned restart should cost none at all, so a gap this long means the cluster stopped
# taking writes (a lost quorum, a node that never rejoined), however slow the machine. The
# measured value is printed either way.
MAX_GAP_SECONDS = 5.0
CATCH_UP_TIMEOUT = 60.0
LEADER_TIMEOUT = 30.0


class Failure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


def log(msg):
    print("[upgrade %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def call(node, method, target, body=None, timeout=10):
    """The response of one request to `node`, or None when it did not answer."""
    try:
        return raw_request(node.port, method, target,
                           body=None if body is None else json.dumps(body), timeout=timeout)
    except (OSError, http.client.HTTPException):
        return None


def status(node):
    return cairn_cluster.cluster_status(node.port)


def debug_vars(node):
    r = call(node, "GET", "/api/v1/debug/vars?checksum=1")
    return r.data if r is not None and r.code == 0 else None


class Writer:
    """Threads creating fresh keys through random live nodes until stopped. Remembers every
    acknowledged write (code 0) and when it was acknowledged; a write whose answer was lost or
    transient is "unknown" (it may or may not have committed) and never counted as lost."""

    def __init__(self, cluster, ns, threads=3):
        self.cluster = cluster
        self.ns = ns
        self.threads = threads
        self.lock = threading.Lock()
        self.acked = {}        # key -> value
        self.ack_times = []    # time.monotonic() of each acknowledgement
        self.unknown = 0
        self.errors = []       # answers that are neither success nor a transient refusal
        self.stop_event = threading.Event()
        self.workers = []

    def start(self):
        for t in range(self.threads):
            th = threading.Thread(target=self.run, args=(t,), daemon=True)
            th.start()
            self.workers.append(th)
        return self

    def count(self):
        with self.lock:
            return len(self.acked)

    def run(self, t):
        rnd = random.Random(t)
        i = 0
        while not self.stop_event.is_set():
            key = "w%d-%06d" % (t, i)
            value = {"t": t, "i": i, "pad": "x" * rnd.randint(0, 48)}
            i += 1
            nodes = self.cluster.live()
            if not nodes:
                time.sleep(0.05)
                continue
            node = rnd.choice(nodes)
            r = call(node, "POST", "/api/v1/admin/config",
                     {"namespace": self.ns, "key": key, "value": value})
            with self.lock:
                if r is not None and r.code == 0:
                    self.acked[key] = value
                    self.ack_times.append(time.monotonic())
                    continue
                self.unknown += 1
                if r is not None and r.code not in TRANSIENT:
                    self.errors.append(r.describe())
            time.sleep(0.02)

    def stop(self):
        self.stop_event.set()
        for th in self.workers:
            th.join(30)

    def longest_gap(self, since, until):
        """The longest time in [since, until] without an acknowledged write."""
        with self.lock:
            times = sorted(t for t in self.ack_times if since <= t <= until)
        points = [since] + times + [until]
        return max(b - a for a, b in zip(points, points[1:]))


class Upgrade:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        # No cluster secret: the previous release has no peer authentication, an upgraded node
        # keeps the configuration it had, and a node without a secret still speaks protocol 1
        # to one that knows nothing newer (docs/transport.md, "Versions"); the secret is turned
        # on after the upgrade.
        self.cluster = Cluster(tmp, 3, cluster_id="upgrade", name="u", binary=args.old,
                               secret="")
        self.writer = None

    def leader(self):
        leader, _ = eventually(lambda: self.cluster.leader(), LEADER_TIMEOUT, 0.05)
        check(leader is not None, "no agreed leader within %.0f s: %s" % (
            LEADER_TIMEOUT, {n.raft_id: status(n) for n in self.cluster.live()}))
        return leader

    def until_ok(self, fn, what, timeout=LEADER_TIMEOUT):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            r = fn()
            if r is not None and r.code == 0:
                return r
            if r is not None and r.code not in TRANSIENT:
                raise Failure("%s failed: %s" % (what, r.describe()))
            last = r.describe() if r is not None else "no answer"
            time.sleep(0.1)
        raise Failure("%s did not succeed within %.0f s; last: %s" % (what, timeout, last))

    def wait_caught_up(self, node):
        """Until `node` is a member that knows the leader and has applied what the leader had
        committed when we started waiting."""
        leader = self.leader()
        target = status(leader)["commit"] if leader is not node else 0

        def probe():
            s = status(node)
            return s is not None and s.get("leader") and s["applied"] >= target
        ok, _ = eventually(probe, CATCH_UP_TIMEOUT, 0.1)
        check(ok, "%r did not catch up to index %d within %.0f s: %s\n--- log ---\n%s" % (
            node, target, CATCH_UP_TIMEOUT, status(node), node.log_tail()))

    def replace(self, node):
        """Stops `node` (SIGTERM) and starts it again on the new binary, same dir and ports."""
        before = self.writer.count()
        rc = node.stop()
        log("node%d (old binary) stopped with %s; %d writes acknowledged so far"
            % (node.raft_id, rc, before))
        node.binary = self.args.new
        node.start()
        self.check_runs(node, self.args.new)
        self.wait_caught_up(node)
        log("node%d runs the new binary and has caught up" % node.raft_id)
        # Writes go on through the upgraded node too before the next one is replaced.
        ok, _ = eventually(lambda: self.writer.count() >= before + 30, CATCH_UP_TIMEOUT, 0.05)
        check(ok, "writes stalled after node%d was replaced" % node.raft_id)

    def check_runs(self, node, binary):
        """The process of `node` is `binary` (not a stale path or another build)."""
        exe = os.path.realpath("/proc/%d/exe" % node.pid)
        check(exe == os.path.realpath(binary), "%r runs %s, not %s" % (node, exe, binary))

    def transfer_away(self, leader, to):
        self.until_ok(lambda: call(leader, "POST", TRANSFER, {"to": to.raft_id}),
                      "transfer leadership from node%d to node%d" % (leader.raft_id, to.raft_id))

        def moved():
            cur = self.cluster.leader()
            return cur is not None and cur is not leader and cur
        new_leader, _ = eventually(moved, LEADER_TIMEOUT, 0.05)
        check(new_leader, "leadership did not leave node%d within %.0f s" % (
            leader.raft_id, LEADER_TIMEOUT))
        log("leadership moved from node%d to node%d" % (leader.raft_id, new_leader.raft_id))
        return new_leader

    def run(self):
        c = self.cluster
        c.start()
        for n in c.all():
            self.check_runs(n, self.args.old)
        leader = self.leader()
        log("3 nodes on %s (previous release %s), leader node%d"
            % (self.args.old, self.args.previous, leader.raft_id))
        self.until_ok(lambda: call(leader, "POST", "/api/v1/admin/namespace", {"name": "up"}),
                      "create namespace up")
        self.writer = Writer(c, "up").start()
        ok, _ = eventually(lambda: self.writer.count() >= 50, 60, 0.05)
        check(ok, "the old cluster took no writes: %s" % self.writer.errors[:3])

        started = time.monotonic()
        leader = self.leader()
        followers = [n for n in c.all() if n is not leader]
        for f in followers:
            self.replace(f)
        leader = self.leader()
        if leader.binary == self.args.old:
            leader = self.transfer_away(leader, followers[0])
        else:  # an election meanwhile already moved it to an upgraded node
            log("node%d (upgraded) already leads" % leader.raft_id)
        old_leader = [n for n in c.all() if n.binary == self.args.old]
        check(len(old_leader) == 1, "one node left on the old binary: %r" % old_leader)
        self.replace(old_leader[0])
        finished = time.monotonic()
        self.leader()
        self.writer.stop()
        gap = self.writer.longest_gap(started, finished)
        log("upgrade took %.1f s; %d writes acknowledged, %d unknown; longest window without an "
            "acknowledged write: %.2f s (liveness bound %.0f s)"
            % (finished - started, self.writer.count(), self.writer.unknown, gap,
               MAX_GAP_SECONDS))

        check(self.writer.errors == [], "unexpected answers to writes: %s"
              % self.writer.errors[:5])
        nodes = c.all()
        converged = self.converged(nodes)
        log("converged: applied index %s, revision %s, checksum %s" % converged)
        self.check_all_present(nodes)
        check(gap <= MAX_GAP_SECONDS,
              "no write was acknowledged for %.2f s during the upgrade (liveness bound %.0f s)"
              % (gap, MAX_GAP_SECONDS))
        log("PASS: 0 of %d acknowledged writes lost, checksums equal on all 3 nodes"
            % self.writer.count())

    def converged(self, nodes):
        seen = {}

        def probe():
            for n in nodes:
                d = debug_vars(n) or {}
                seen[n.raft_id] = (d.get("applied_index"), d.get("revision"), d.get("checksum"))
            values = set(seen.values())
            return len(values) == 1 and next(iter(values))[2] and next(iter(values))
        v, _ = eventually(probe, CATCH_UP_TIMEOUT, 0.1)
        check(v, "nodes did not converge: (applied index, revision, checksum) per node: %s"
              % seen)
        return v

    def check_all_present(self, nodes):
        with self.writer.lock:
            acked = dict(self.writer.acked)
        for n in nodes:
            lost = []
            for key, value in sorted(acked.items()):
                r = call(n, "GET", "/api/v1/config/get?namespace=up&key=" + key)
                if r is None or r.code != 0 or r.data["value"] != value:
                    lost.append((key, r and r.code))
            check(lost == [], "node%d lost %d acknowledged writes, e.g. %s"
                  % (n.raft_id, len(lost), lost[:10]))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True, help="cairn binary of the previous release")
    parser.add_argument("--new", required=True, help="cairn binary under test")
    parser.add_argument("--previous", default="?", help="the old binary's commit (for the log)")
    parser.add_argument("--timeout", type=float, default=600.0, help="watchdog, seconds")
    args = parser.parse_args()
    for b in (args.old, args.new):
        if not os.access(b, os.X_OK):
            parser.error("not an executable: %s" % b)
    args.old, args.new = os.path.abspath(args.old), os.path.abspath(args.new)

    tmp = tempfile.mkdtemp(prefix="cairn-upgrade-")
    atexit.register(cairn_cluster.kill_all_live)

    def on_signal(signum, _frame):
        cairn_cluster.kill_all_live()
        os._exit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def watchdog():
        print("UPGRADE WATCHDOG: the run exceeded %.0f s; killing the nodes" % args.timeout,
              file=sys.stderr, flush=True)
        cairn_cluster.kill_all_live()
        os._exit(3)
    timer = threading.Timer(args.timeout, watchdog)
    timer.daemon = True
    timer.start()

    up = Upgrade(args, tmp)
    ok = False
    try:
        up.run()
        ok = True
    except (Failure, RuntimeError) as e:
        print("FAIL: %s" % e, file=sys.stderr, flush=True)
        for n in up.cluster.all():
            print("--- %r log %s ---\n%s" % (n, n.log_path, n.log_tail(2000)), file=sys.stderr)
    finally:
        timer.cancel()
        if up.writer:
            up.writer.stop()
        up.cluster.stop_all()
        cairn_cluster.kill_all_live()
        if ok and not os.environ.get("CAIRN_UPGRADE_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("node logs and data kept in %s" % tmp, file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
