#!/usr/bin/env python3
"""Soak (issue 23 §5): three nodes in network namespaces (tests/chaos), a mixed load of strong
reads, writes, compare-and-sets, adds and watches for --duration seconds, a fault every
--fault-every seconds (kill -9, SIGSTOP of the leader, isolations, partitions, one-way, slow
link, in turn), and every --sample-every seconds each node's RSS, open descriptors, threads, WAL
size and database size. Writes <out>.csv, <out>.png (gnuplot) and <out>.txt (the summary);
the end checks are the chaos suite's (lost adds, linearizability, convergence).

Run it through bench/soak.sh (docs/chaos.md#soak). Needs root (network namespaces).
"""

import argparse
import csv
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "chaos"))

import checker  # noqa: E402
import netns  # noqa: E402
import run as chaos  # noqa: E402
from lab import Refused, request  # noqa: E402

ROTATION = ["kill", "pause-leader", "isolate-leader", "partition-2-1", "one-way",
            "isolate-node", "slow-link"]
METRICS = ["rss_mb", "fds", "threads", "wal_mb", "db_mb"]


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def proc_sample(pid):
    """(rss MiB, open fds, threads) of a live process, or Nones."""
    try:
        rss = threads = None
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024.0
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
        fds = len(os.listdir("/proc/%d/fd" % pid))
        return rss, fds, threads
    except (OSError, ValueError, TypeError):
        return None, None, None


class Watcher(threading.Thread):
    """A long-poll watcher of the register namespace pinned to one node (5 s holds)."""

    def __init__(self, run, node):
        super().__init__(name="watch-node%d" % node.raft_id, daemon=True)
        self.run_ = run
        self.node = node
        self.revision = 0
        self.changes = 0
        self.polls = 0
        self.errors = 0

    def run(self):
        while not self.run_.stop_clients.is_set():
            q = urllib.parse.urlencode({"namespace": chaos.REG_NS, "revision": self.revision,
                                        "timeout": "5s"})
            try:
                st, doc = request(self.node.host, self.node.port, "GET",
                                  "/api/v1/config/watch?" + q, timeout=8.0)
            except (Refused, OSError, http.client.HTTPException):
                self.errors += 1
                time.sleep(0.5)
                continue
            self.polls += 1
            d = (doc or {}).get("data") or {}
            if (doc or {}).get("code") != 0:
                self.errors += 1
                time.sleep(0.5)
                continue
            if d.get("reset"):
                self.revision = 0
            else:
                self.changes += len(d.get("changes") or [])
                self.revision = d.get("revision", self.revision)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", required=True)
    p.add_argument("--duration", type=float, default=1800.0)
    p.add_argument("--fault-every", type=float, default=60.0)
    p.add_argument("--sample-every", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True, help="path prefix of the .csv, .png and .txt")
    p.add_argument("--rate", type=float, default=10.0, help="operations/s per client (6 clients)")
    p.add_argument("--server-arg", action="append", default=[])
    a = p.parse_args()

    why = netns.can_run()
    if why:
        print("SKIPPED: the soak %s" % why)
        return 77
    netns.clean_stale()
    work = a.out + ".work"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    # Snapshots and retention run often enough in 30 minutes to show that they bound the WAL
    # and the version rows.
    server_args = ["--snapshot-threshold", "5000", "--retention-interval", "60s"] + a.server_arg
    args = argparse.Namespace(binary=os.path.abspath(a.binary), duration=a.duration, nodes=3,
                              clients_per_node=2, keys=5, rate=a.rate, timeout=2.0, raft_args="",
                              server_arg=server_args, budget=5_000_000, verbose=True)
    r = chaos.Run(args, "soak", a.seed, work)

    def on_signal(signum, _frame):
        chaos.cleanup_all()
        os._exit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    rows = []
    stop_sampler = threading.Event()
    start = None

    def sampler():
        while not stop_sampler.is_set():
            t = r.rec.now() - start
            acked = sum(1 for e in list(r.rec.events)
                        if e.get("type") == "ok" and e.get("f") in checker.WRITE_FS)
            for n in r.cluster.all():
                rss, fds, thr = proc_sample(n.pid) if n.alive() else (None, None, None)
                rows.append({"t_s": round(t, 1), "node": n.raft_id,
                             "rss_mb": None if rss is None else round(rss, 2), "fds": fds,
                             "threads": thr,
                             "wal_mb": round(dir_bytes(os.path.join(n.data_dir, "wal")) / 2**20, 3),
                             "db_mb": round(sum(os.path.getsize(os.path.join(n.data_dir, f))
                                                for f in os.listdir(n.data_dir)
                                                if f.startswith("cairn.db")) / 2**20, 3),
                             "acked_writes": acked})
            stop_sampler.wait(a.sample_every)

    res = {"duration": a.duration, "errors": []}
    try:
        r.setup()
        start = r.rec.now()
        nodes = r.cluster.all()
        clients = [chaos.Client(r, i, nodes[i % 3], random.Random("soak/%d/%d" % (a.seed, i)))
                   for i in range(r.nclients)]
        watchers = [Watcher(r, n) for n in nodes]
        nem = chaos.Nemesis(r, ROTATION[0], random.Random("soak/%d" % a.seed), start + a.duration)
        for th in clients + watchers:
            th.start()
        samp = threading.Thread(target=sampler, daemon=True)
        samp.start()
        k = 0
        next_fault = start + a.fault_every / 2
        while r.rec.now() < start + a.duration:
            if r.rec.now() >= next_fault and r.rec.now() + 10 < start + a.duration:
                nem.fault = ROTATION[k % len(ROTATION)]
                k += 1
                ev = nem.start_fault()
                r.rec.add(process="nemesis", type="info", f="start", value=ev["what"])
                time.sleep(nem.rnd.uniform(3.0, 8.0))
                ev.pop("heal")()
                r.rec.add(process="nemesis", type="info", f="stop", value=ev["what"])
                print("  +%7.1fs %s, healed" % (ev["start"] - start, ev["what"]), flush=True)
                next_fault += a.fault_every
            time.sleep(0.2)
        end = r.rec.now()
        r.stop_clients.set()
        for th in clients + watchers:
            th.join(20)
        stop_sampler.set()
        samp.join(30)
        leader, converged, seen = r.heal_and_settle()
        sets = r.final_reads(10_000_000)
        h = r.rec.events
        lost = checker.check_lost(h, sets, chaos.NOT_WRITTEN)
        lin = checker.check_linearizable(h, budget=args.budget)
        w = checker.availability(h, start, end)
        res.update(converged=bool(converged), lost=lost["lost_count"], adds=lost["acked"],
                   linearizable=lin["valid"], lin_explanation=lin["explanation"],
                   longest_window=round(w[0], 3),
                   acked_writes=sum(1 for e in h if e.get("type") == "ok"
                                    and e.get("f") in checker.WRITE_FS
                                    and isinstance(e.get("process"), int) and e["process"] >= 0),
                   watch={"polls": sum(x.polls for x in watchers),
                          "changes": sum(x.changes for x in watchers),
                          "errors": sum(x.errors for x in watchers)},
                   faults=k)
        for c in clients:
            res["errors"].extend(c.unexpected[:10])
        checker.save_history(h, os.path.join(work, "history.jsonl"))
    finally:
        stop_sampler.set()
        r.teardown()

    with open(a.out + ".csv", "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=["t_s", "node"] + METRICS + ["acked_writes"])
        wr.writeheader()
        for row in rows:
            wr.writerow(row)
    summary = summarize(rows, res, a)
    with open(a.out + ".txt", "w") as f:
        f.write(summary)
    print(summary)
    plot(a.out, rows)
    ok = (res.get("converged") and res.get("lost") == 0 and res.get("linearizable") is True
          and not res["errors"])
    if ok:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("kept %s" % work)
    return 0 if ok else 1


def summarize(rows, res, a):
    """Per node and metric: the first sample after the first minute, the last, the maximum."""
    lines = ["soak: %.0f s, a fault every %.0f s, samples every %.0f s, seed %d"
             % (a.duration, a.fault_every, a.sample_every, a.seed),
             "result: %s" % json.dumps(res, sort_keys=True), "",
             "| node | metric | at 1 min | at end | max |", "|---|---|---:|---:|---:|"]
    for node in sorted({r["node"] for r in rows}):
        rs = [r for r in rows if r["node"] == node]
        later = [r for r in rs if r["t_s"] >= min(60.0, a.duration / 3)] or rs
        for m in METRICS:
            vals = [r[m] for r in later if r[m] is not None]
            if not vals:
                continue
            lines.append("| %d | %s | %s | %s | %s |" % (node, m, vals[0], vals[-1], max(vals)))
    return "\n".join(lines) + "\n"


def plot(out, rows):
    """<out>.png: five panels, one line per node (gnuplot reads <out>.dat: one line per sample
    time, the minutes then every node's metrics; a killed node's gap is "NaN")."""
    if not shutil.which("gnuplot"):
        print("no gnuplot (apt-get install gnuplot-nox): %s.csv written, no PNG" % out)
        return
    nodes = sorted({r["node"] for r in rows})
    times = sorted({r["t_s"] for r in rows})
    at = {(r["t_s"], r["node"]): r for r in rows}
    with open(out + ".dat", "w") as f:
        f.write("# minutes " + " ".join("n%d_%s" % (n, m) for n in nodes for m in METRICS) + "\n")
        for t in times:
            vals = []
            for n in nodes:
                r = at.get((t, n), {})
                vals += ["NaN" if r.get(m) is None else str(r[m]) for m in METRICS]
            f.write("%.3f %s\n" % (t / 60.0, " ".join(vals)))
    titles = {"rss_mb": "RSS (MiB)", "fds": "open descriptors", "threads": "threads",
              "wal_mb": "WAL (MiB)", "db_mb": "database (MiB)"}
    script = ["set terminal pngcairo size 1200,1400 noenhanced" if _has_pngcairo()
              else "set terminal png size 1200,1400",
              "set output '%s.png'" % out, "set datafile missing 'NaN'",
              "set multiplot layout 5,1 title 'cairn soak: %s'" % os.path.basename(out),
              "set key outside right", "set grid", "set xlabel 'minutes'"]
    for mi, m in enumerate(METRICS):
        script.append("set title '%s'" % titles[m])
        script.append("plot " + ", ".join(
            "'%s.dat' using 1:%d with linespoints pt 7 ps 0.4 title 'node%d'"
            % (out, 2 + ni * len(METRICS) + mi, n) for ni, n in enumerate(nodes)))
    script.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(script), text=True, check=False)
    print("plot: %s.png" % out)


def _has_pngcairo():
    p = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
    return "pngcairo" in (p.stdout + p.stderr)


if __name__ == "__main__":
    sys.exit(main())
