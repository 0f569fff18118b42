#!/usr/bin/env python3
"""Availability of a 3-node cluster through leader faults (issue 23 §2): the longest window in
which no client got a write acknowledged.

Three real `cairn server` processes on 127.0.0.1 with the server's default Raft timing (50 ms
tick, election timeout 500-1000 ms), one writer thread pinned to each node (unique-key creates,
a 2 s client timeout like the outside harness), and faults of the leader:

  pause   SIGSTOP of the leader for --fault-s seconds, then SIGCONT
  kill9   kill -9 of the leader, restart after --fault-s seconds

For each fault it prints the longest gap between two acknowledged writes (any client) from just
before the fault until the cluster is whole again, and how the writes ended meanwhile.

    python3 bench/failover.py --binary build/cairn --faults pause,kill9 --rounds 3

A measuring script, not a test (it asserts nothing); the fault suite is tests/chaos/. Python 3
standard library only; every process is stopped by PID on exit.
"""

import argparse
import atexit
import collections
import json
import os
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))

import cairn_cluster  # noqa: E402
from cairn_cluster import Cluster, raw_request  # noqa: E402


class Writer(threading.Thread):
    def __init__(self, node, ns, timeout):
        super().__init__(daemon=True)
        self.node, self.ns, self.timeout = node, ns, timeout
        self.acks = []  # monotonic time of each acknowledged write
        self.outcomes = []  # (monotonic time, outcome)
        self.stop = False
        self.n = 0

    def run(self):
        while not self.stop:
            self.n += 1
            key = "k%d-%d" % (self.node.raft_id, self.n)
            body = json.dumps({"namespace": self.ns, "key": key, "value": str(self.n)})
            try:
                r = raw_request(self.node.port, "POST", "/api/v1/admin/config", body=body,
                                headers={"Content-Type": "application/json"},
                                timeout=self.timeout)
                code = r.code
            except Exception as e:  # noqa: BLE001 - a timeout or refused connect is an outcome
                code = type(e).__name__
                time.sleep(0.05)
            now = time.monotonic()
            if code == 0:
                self.acks.append(now)
            else:
                self.outcomes.append((now, str(code)))
                if isinstance(code, int):
                    time.sleep(0.02)


def longest_gap(acks, lo, hi):
    ts = sorted(t for t in acks if lo <= t <= hi)
    points = [lo] + ts + [hi]
    return max(b - a for a, b in zip(points, points[1:]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--faults", default="pause,kill9")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--fault-s", type=float, default=3.0)
    ap.add_argument("--client-timeout", type=float, default=2.0)
    ap.add_argument("--keep", action="store_true", help="keep the nodes' data and logs")
    args = ap.parse_args()
    cairn_cluster.BINARY = os.path.abspath(args.binary)
    atexit.register(cairn_cluster.kill_all_live)
    tmp = tempfile.mkdtemp(prefix="cairn-failover-")
    cluster = Cluster(tmp, 3, raft_args=(), binary=cairn_cluster.BINARY)
    cluster.start()
    leader = cluster.wait_leader(20.0)
    ns = "failover"
    for _ in range(100):
        r = raw_request(leader.port, "POST", "/api/v1/admin/namespace",
                        body=json.dumps({"name": ns}), headers={"Content-Type": "application/json"})
        if r.code == 0 or r.status == 409:
            break
        time.sleep(0.1)
    writers = [Writer(n, ns, args.client_timeout) for n in cluster.all()]
    for w in writers:
        w.start()
    time.sleep(2.0)
    rows = []
    try:
        for fault in args.faults.split(","):
            for rnd in range(args.rounds):
                leader = cluster.wait_leader(20.0)
                t0 = time.monotonic()
                if fault == "pause":
                    leader.pause()
                    time.sleep(args.fault_s)
                    leader.resume()
                elif fault == "kill9":
                    leader.kill9()
                    time.sleep(args.fault_s)
                    leader.start()
                else:
                    raise SystemExit("unknown fault " + fault)
                cluster.wait_leader(20.0)
                time.sleep(2.0)
                t1 = time.monotonic()
                acks = [t for w in writers for t in w.acks]
                gap = longest_gap(acks, t0 - 0.2, t1)
                outcomes = collections.Counter(o for w in writers for (t, o) in w.outcomes
                                               if t0 <= t <= t1)
                rows.append((fault, rnd + 1, gap, dict(outcomes)))
                print("%-6s round %d: longest window without an acknowledged write %.2f s; "
                      "failures meanwhile %s" % (fault, rnd + 1, gap, dict(outcomes)), flush=True)
    finally:
        for w in writers:
            w.stop = True
        for w in writers:
            w.join(timeout=args.client_timeout + 1)
        cluster.stop_all()
        cairn_cluster.kill_all_live()
        if args.keep:
            print("data and logs kept in " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("\n| fault | rounds | longest window (s), each round |")
    print("|---|---:|---|")
    for fault in args.faults.split(","):
        gaps = [g for f, _, g, _ in rows if f == fault]
        print("| %s | %d | %s |" % (fault, len(gaps), " / ".join("%.2f" % g for g in gaps)))


if __name__ == "__main__":
    main()
