#!/usr/bin/env python3
"""Writes to a namespace with a non-trivial JSON Schema vs one without (issue 20,
docs/schemas.md), in the same run on the same `cairn dev` cluster: rounds alternate between the
two namespaces so that machine noise falls on both alike. Each round runs WRITERS threads doing
sequential updates (keep-alive HTTP to the leader) for --seconds, and reports writes/s and the
median latency per namespace, then the ratio typed/plain.

    python3 bench/schema_writes.py --binary build/cairn [--nodes 3] [--rounds 4] [--seconds 5]

Python 3 standard library only; the cluster comes from tests/support/cairn_cluster.py and is
stopped by PID whatever happens.
"""

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "support"))
from cairn_cluster import QUIET_ARGS, DevCluster  # noqa: E402

SCHEMA = {"type": "object", "required": ["host", "port", "pool"], "additionalProperties": False,
          "definitions": {"ms": {"type": "integer", "minimum": 0, "maximum": 600000}},
          "properties": {
              "host": {"type": "string", "format": "hostname"},
              "port": {"type": "integer", "minimum": 1, "maximum": 65535},
              "user": {"type": "string", "pattern": "^[a-z_][a-z0-9_]{0,31}$"},
              "tls": {"type": "boolean"},
              "pool": {"type": "object", "properties": {
                  "min": {"type": "integer", "minimum": 0}, "max": {"type": "integer", "minimum": 1},
                  "idle_ms": {"$ref": "#/definitions/ms"}}},
              "replicas": {"type": "array", "maxItems": 16, "uniqueItems": True,
                           "items": {"type": "string", "format": "ipv4"}},
              "mode": {"enum": ["ro", "rw"]}}}


def value(i):
    return {"host": "db-%d.internal" % (i % 7), "port": 5432, "user": "svc_user", "tls": True,
            "pool": {"min": 2, "max": 20, "idle_ms": i % 600000},
            "replicas": ["10.0.0.2", "10.0.0.3", "10.0.0.4"], "mode": "rw"}


def request(conn, method, path, body):
    conn.request(method, path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = json.loads(r.read())
    return data


def run_round(port, ns, writers, seconds):
    stop = time.monotonic() + seconds
    lat, errors = [], []
    lock = threading.Lock()

    def work(t):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        mine, i = [], 0
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            d = request(conn, "PUT", "/api/v1/admin/config",
                        {"namespace": ns, "key": "db.w%d" % t, "value": value(i)})
            mine.append(time.perf_counter() - t0)
            if d["code"] != 0:
                errors.append(d)
            i += 1
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(writers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise SystemExit("write failed: %r" % errors[0])
    return len(lat) / seconds, statistics.median(lat) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(HERE), "build", "cairn"))
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--writers", type=int, default=4)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="cairn-schema-bench-")
    dev = DevCluster(tmp, nodes=args.nodes, server_args=QUIET_ARGS, binary=os.path.abspath(args.binary))
    try:
        dev.start()
        port = dev.leader_port()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        for ns in ("plain", "typed"):
            assert request(conn, "POST", "/api/v1/admin/namespace", {"name": ns})["code"] == 0
            for t in range(args.writers):
                d = request(conn, "POST", "/api/v1/admin/config",
                            {"namespace": ns, "key": "db.w%d" % t, "value": value(0)})
                assert d["code"] == 0, d
        d = request(conn, "PUT", "/api/v1/admin/namespace/typed",
                    {"schemas": [{"keys": "db.*", "schema": SCHEMA}]})
        assert d["code"] == 0, d
        rows = {"plain": [], "typed": []}
        for r in range(args.rounds):
            for ns in (("plain", "typed") if r % 2 == 0 else ("typed", "plain")):
                rows[ns].append(run_round(port, ns, args.writers, args.seconds))
                print("round %d %-5s %8.1f writes/s  median %.2f ms" % ((r + 1, ns) + rows[ns][-1]),
                      flush=True)
        med = {ns: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
               for ns, v in rows.items()}
        print("\nnodes=%d writers=%d rounds=%d seconds=%g" % (args.nodes, args.writers, args.rounds,
                                                            args.seconds))
        for ns in ("plain", "typed"):
            print("%-5s median %8.1f writes/s  median latency %.2f ms" % ((ns,) + med[ns]))
        print("typed/plain throughput ratio: %.3f" % (med["typed"][0] / med["plain"][0]))
    finally:
        dev.stop()


if __name__ == "__main__":
    main()
