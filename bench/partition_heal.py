#!/usr/bin/env python3
"""How long a node isolated by a network partition stays leaderless after the heal (issue 23
§2, "a healed node can stay leaderless for 1.2-5.8 s").

Needs root, `ip netns` and iptables (no tc netem). Three `cairn server` processes, each in a
network namespace of its own (fo-n1..3, 10.99.0.1-3 on a bridge fo-br0 with 10.99.0.254 on the
host). A partition drops, inside the node's namespace, every packet except its own HTTP port
(so the poller on the host still reaches it): a silent blackhole, as a pulled cable or a dead
switch port looks. The script isolates the leader for --partition-s seconds, heals, and polls
the healed node's /api/v1/cluster/status every 20 ms until it names a leader; it also writes
through the other two nodes and reports the longest window without an acknowledged write.

    sudo python3 bench/partition_heal.py --binary build/cairn --rounds 3 --partition-s 7

A measuring script, not a test (the fault suite is tests/chaos/). Everything it creates
(namespaces, bridge, processes) is removed on exit.
"""

import argparse
import atexit
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

NS = ["fo-n1", "fo-n2", "fo-n3"]
BR = "fo-br0"
HTTP, PEER = 8080, 7000


def sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def ip_of(i):
    return "10.99.0.%d" % i


def setup_net():
    teardown_net()
    sh("ip", "link", "add", BR, "type", "bridge")
    sh("ip", "addr", "add", "10.99.0.254/24", "dev", BR)
    sh("ip", "link", "set", BR, "up")
    for i, ns in enumerate(NS, 1):
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", "fo-h%d" % i, "type", "veth", "peer", "name", "fo-c%d" % i)
        sh("ip", "link", "set", "fo-c%d" % i, "netns", ns)
        sh("ip", "link", "set", "fo-h%d" % i, "master", BR)
        sh("ip", "link", "set", "fo-h%d" % i, "up")
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", ip_of(i) + "/24", "dev", "fo-c%d" % i)
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "fo-c%d" % i, "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")


def teardown_net():
    for i, ns in enumerate(NS, 1):
        sh("ip", "link", "del", "fo-h%d" % i, check=False)
        sh("ip", "netns", "del", ns, check=False)
    sh("ip", "link", "del", BR, check=False)


def isolate(i):
    ns = NS[i - 1]
    ipt = ["ip", "netns", "exec", ns, "iptables"]
    sh(*ipt, "-A", "INPUT", "-i", "lo", "-j", "ACCEPT")
    sh(*ipt, "-A", "OUTPUT", "-o", "lo", "-j", "ACCEPT")
    sh(*ipt, "-A", "INPUT", "-s", "10.99.0.254", "-p", "tcp", "--dport", str(HTTP), "-j", "ACCEPT")
    sh(*ipt, "-A", "OUTPUT", "-d", "10.99.0.254", "-p", "tcp", "--sport", str(HTTP), "-j",
       "ACCEPT")
    sh(*ipt, "-A", "INPUT", "-j", "DROP")
    sh(*ipt, "-A", "OUTPUT", "-j", "DROP")


def heal(i):
    sh("ip", "netns", "exec", NS[i - 1], "iptables", "-F")


def request(i, method, path, body=None, timeout=2.0):
    conn = http.client.HTTPConnection(ip_of(i), HTTP, timeout=timeout)
    try:
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


def status(i):
    try:
        s, d = request(i, "GET", "/api/v1/cluster/status", timeout=0.5)
        return d.get("data") if s == 200 else None
    except (OSError, http.client.HTTPException, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--partition-s", type=float, default=7.0)
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    tmp = tempfile.mkdtemp(prefix="cairn-heal-")
    procs = []

    def cleanup():
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        teardown_net()
        shutil.rmtree(tmp, ignore_errors=True)
    atexit.register(cleanup)
    setup_net()
    members = ",".join("%d@%s:%d@%s:%d" % (i, ip_of(i), PEER, ip_of(i), HTTP) for i in (1, 2, 3))
    for i in (1, 2, 3):
        d = os.path.join(tmp, "n%d" % i)
        os.makedirs(d)
        log = open(os.path.join(tmp, "n%d.log" % i), "wb")
        procs.append(subprocess.Popen(
            ["ip", "netns", "exec", NS[i - 1], binary, "server", "--node-id", "node%d" % i,
             "--data-dir", d, "--listen-http", "%s:%d" % (ip_of(i), HTTP), "--raft-id", str(i),
             "--cluster-id", "heal", "--listen-peer", "%s:%d" % (ip_of(i), PEER),
             "--members", members, "--access-log=false", "--rate-limit-enabled=false"],
            stdout=log, stderr=subprocess.STDOUT))

    def leader_of(i):
        s = status(i)
        return s and s.get("leader")

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(leader_of(i) for i in (1, 2, 3)):
        time.sleep(0.1)
    lid = leader_of(1)
    for _ in range(100):
        try:
            s, d = request(lid, "POST", "/api/v1/admin/namespace", json.dumps({"name": "h"}))
            if s in (200, 409):
                break
        except OSError:
            pass
        time.sleep(0.1)

    acks, stop = [], [False]

    def writer(i):
        n = 0
        while not stop[0]:
            n += 1
            try:
                s, d = request(i, "POST", "/api/v1/admin/config",
                               json.dumps({"namespace": "h", "key": "w%d-%d" % (i, n), "value": "v"}))
                if s == 200 and d.get("code") == 0:
                    acks.append(time.monotonic())
                else:
                    time.sleep(0.02)
            except (OSError, http.client.HTTPException):
                time.sleep(0.05)

    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in (1, 2, 3)]
    for t in threads:
        t.start()
    rows = []
    for rnd in range(args.rounds):
        time.sleep(2)
        lid = leader_of(1) or leader_of(2) or leader_of(3)
        t0 = time.monotonic()
        isolate(lid)
        time.sleep(args.partition_s)
        heal(lid)
        t_heal = time.monotonic()
        rejoined = None
        while time.monotonic() - t_heal < 20:
            s = status(lid)
            if s and s.get("leader") and s.get("role") == "follower":
                rejoined = time.monotonic() - t_heal
                break
            time.sleep(0.02)
        time.sleep(1)
        ts = sorted(t for t in acks if t0 - 0.2 <= t <= time.monotonic())
        pts = [t0 - 0.2] + ts + [time.monotonic()]
        gap = max(b - a for a, b in zip(pts, pts[1:]))
        rows.append((lid, rejoined, gap))
        print("round %d: isolated the leader (node %d) for %.1f s; after the heal it knew a "
              "leader again in %s; longest window without an acknowledged write %.2f s"
              % (rnd + 1, lid, args.partition_s,
                 "%.2f s" % rejoined if rejoined is not None else "> 20 s", gap), flush=True)
    stop[0] = True


if __name__ == "__main__":
    main()
