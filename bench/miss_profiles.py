#!/usr/bin/env python3
"""The profiles behind issue 21's misses, taken with one binary (bench/RESULTS.md cites them).

    flock /tmp/cairn-heavy.lock python3 bench/miss_profiles.py --binary BIN --out DIR

1. writes (§3): a bench cluster (bench.Cairn, 1,000 keys), wrk -t2 -c64 cairn_put.lua on the
   leader for 14 s; 3 s in, `perf record -F 299 --call-graph dwarf` for 4 s on the leader and
   a follower at once. Written: per-thread sample counts (the Raft thread, the io threads, the
   checkpoint thread: how busy each is), the processes' CPU per write from /proc, and the
   call-graph totals (children) of the node's own, SQLite's and the kernel's frames.
2. access log (§1): the same cluster and one with `--access-log=true`, wrk -t2 -c64 get.lua on
   each leader in turn (8 s), `perf record -F 999` for 5 s during each; written: CPU per read of
   each leader and the symbols with more samples in the logged one.
3. c=1 writes (§3's c=1 p99): wrk -t1 -c1 cairn_put.lua on the leader for 12 s; 2 s in,
   `perf trace -T -e fdatasync,fsync` on all three nodes for 8 s. Written: wrk's p50/p99 and, per
   node and thread, the number of syncs and their p50/p99/max — the thread with the most syncs is
   the Raft log's (one per append), the others the checkpoint's and the snapshot's — and how many
   of the Raft log's syncs of 5 ms or more overlapped a sync of another thread on any node (one
   disk under three nodes).
(The fan-out's profile comes from bench/fanout.py --perf-dir; run.sh passes it through
--fanout-args.)
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench as B  # noqa: E402
from cairn_cluster import QUIET_ARGS  # noqa: E402

ENV = dict(os.environ, BENCH_WRK_DIR=os.path.join(HERE, "wrk"))


def ticks(pids):
    return sum(B.proc_cpu(p) for p in pids)


def wrk(script, port, path, seconds, conns=64):
    return subprocess.Popen(
        ["wrk", "-t%d" % min(2, conns), "-c%d" % conns, "-d%ds" % seconds, "--timeout", "10s", "-s",
         os.path.join(HERE, "wrk", script), "http://127.0.0.1:%d%s" % (port, path)],
        env=ENV, stdout=subprocess.PIPE, text=True)


def result(w):
    out = w.communicate()[0]
    return dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", out.split("RESULT", 1)[1]))


def report(data, *args):
    return subprocess.run(["perf", "report", "-i", data, "--stdio"] + list(args),
                          capture_output=True, text=True).stdout


def thread_samples(data):
    """(samples, tid, entry point) of the busiest threads, from one pass of perf report."""
    counts = {}
    for tid in subprocess.run(["perf", "script", "-i", data, "-F", "tid"], capture_output=True,
                              text=True).stdout.split():
        counts[tid] = counts.get(tid, 0) + 1
    # The threads are not named: each is known by the entry point its samples run under.
    entries = ("RaftReplicator::run", "start_checkpoints", "AccessLogWriter::run",
               "WatchHub::timer_loop", "http::", "transport::")
    seen = {}
    rep = report(data, "--children", "--sort", "pid,symbol", "-g", "none")  # pid: per thread
    for ln in rep.splitlines():
        m = re.match(r"^ +[0-9.]+% +[0-9.]+% +(\d+):\S* +(.*)$", ln)
        if m:
            seen.setdefault(m.group(1), []).append(m.group(2))
    top = sorted(((n, tid) for tid, n in counts.items()), reverse=True)[:6]
    return [(n, tid, next((e for e in entries if any(e in x for x in seen.get(tid, []))), "?"))
            for n, tid in top]


def writes(binary, tmp, out):
    c = B.Cairn(binary, tmp, "w", 18701, 18801)
    c.start()
    c.load()
    lines = []
    try:
        lead = c.leader_port()
        pids = c.node_pids()
        lp = c.leader_pid()
        fp = [p for p in pids if p != lp][0]
        t0 = ticks(pids)
        w = wrk("cairn_put.lua", lead, "/api/v1/admin/config", 14)
        time.sleep(3)
        datas, perfs = {}, []
        for role, pid in (("leader", lp), ("follower", fp)):  # both at once, under the load
            datas[role] = os.path.join(out, "perf-writes-%s.data" % role)
            perfs.append(subprocess.Popen(
                ["perf", "record", "-F", "299", "--call-graph", "dwarf,16384", "-p", str(pid),
                 "-o", datas[role], "--", "sleep", "4"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for p in perfs:
            p.wait()
        r = result(w)
        t1 = ticks(pids)
        for role in ("leader", "follower"):
            datas[role + "_threads"] = thread_samples(datas[role])
        n = r["requests"]
        hz = os.sysconf("SC_CLK_TCK")
        lines.append("# writes c=64, 14 s: %d writes (%.0f/s), p50 %.1f ms, p99 %.1f ms; CPU of "
                     "the three nodes %.0f µs per write" % (
                         n, n / (r["duration_us"] / 1e6), r["p50_us"] / 1e3, r["p99_us"] / 1e3,
                         (t1 - t0) / hz / n * 1e6))
        for role in ("leader", "follower"):
            lines.append("\n## %s: samples per thread (perf -F 299 for 4 s: 1,196 = one busy "
                         "core)" % role)
            for cnt, tid, name in datas[role + "_threads"][:8]:
                lines.append("%6d  %s %s" % (cnt, tid, name))
            lines.append("\n## %s: shared objects (self)" % role)
            lines += [ln for ln in report(datas[role], "--no-children", "--sort", "dso").splitlines()
                      if re.match(r"^ +[0-9]", ln)][:8]
            lines.append("\n## %s: call-graph totals (children) of Cairn's and SQLite's frames" % role)
            rep = report(datas[role], "--children", "--sort", "symbol", "-g", "none")
            keep = [ln for ln in rep.splitlines() if re.match(r"^ +[0-9]", ln) and
                    re.search(r"cairn::|sqlite3|fdatasync|pwrite", ln)]
            lines += [re.sub(r" {3,}", "  ", ln)[:180] for ln in keep[:60]]
            os.unlink(datas[role])
    finally:
        B.stop_all()
    return lines


def access_log(binary, tmp, out):
    plain = B.Cairn(binary, tmp, "plain", 18701, 18801)
    logged = B.Cairn(binary, tmp, "logged", 18721, 18821,
                     tuple(x for x in QUIET_ARGS if not x.startswith("--access-log")) +
                     ("--access-log=true",))
    lines = ["\n# reads c=64 get.lua, access log off (plain) and on (logged), 8 s each, perf "
             "-F 999 for 5 s on each leader"]
    try:
        tops = {}
        for name, c in (("plain", plain), ("logged", logged)):
            c.start()
            c.load(reads_only=True)
        for name, c in (("plain", plain), ("logged", logged)):
            pid = c.leader_pid()
            t0 = ticks([pid])
            w = wrk("get.lua", c.leader_port(),
                    "/api/v1/config/get?namespace=bench&key=k0000", 8)
            time.sleep(2)
            data = os.path.join(out, "perf-reads-%s.data" % name)
            subprocess.run(["perf", "record", "-F", "999", "-p", str(pid), "-o", data, "--",
                            "sleep", "5"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            r = result(w)
            t1 = ticks([pid])
            n = r["requests"]
            lines.append("%-6s %d reads (%.0f/s), leader CPU %.1f µs per read" % (
                name, n, n / (r["duration_us"] / 1e6),
                (t1 - t0) / os.sysconf("SC_CLK_TCK") / n * 1e6))
            tops[name] = {}
            for ln in report(data, "--no-children", "--sort", "symbol").splitlines():
                m = re.match(r"^ +([0-9.]+)%\s+(.*)$", ln)
                if m:
                    tops[name][m.group(2).strip()[:120]] = float(m.group(1))
            os.unlink(data)
        lines.append("\n## symbols with more of the logged leader's samples (logged - plain, "
                     "share of the process's samples)")
        diff = sorted(((v - tops["plain"].get(k, 0.0), k) for k, v in tops["logged"].items()),
                      reverse=True)
        lines += ["%+.2f%%  %s" % (d, k) for d, k in diff[:20] if d > 0.1]
    finally:
        B.stop_all()
    return lines


def c1_syncs(binary, tmp, out):
    c = B.Cairn(binary, tmp, "c1", 18741, 18841)
    c.start()
    c.load()
    lines = ["\n# writes c=1, 12 s; fdatasync/fsync of every node traced for 8 s"]
    try:
        lead = c.leader_port()
        lp = c.leader_pid()
        w = wrk("cairn_put.lua", lead, "/api/v1/admin/config", 12, conns=1)
        time.sleep(2)
        traces = []
        for pid in c.node_pids():
            f = open(os.path.join(out, "trace-%d.txt" % pid), "w+")
            traces.append((pid, f, subprocess.Popen(
                ["perf", "trace", "-T", "-e", "fdatasync,fsync", "-p", str(pid), "--",
                 "sleep", "8"], stdout=f, stderr=subprocess.STDOUT)))
        for _, _, p in traces:
            p.wait()
        r = result(w)
        lines.append("wrk: %d writes, p50 %.2f ms, p99 %.2f ms" % (
            r["requests"], r["p50_us"] / 1e3, r["p99_us"] / 1e3))
        syncs = []  # (start s, end s, pid, tid)
        for pid, f, _ in traces:
            f.seek(0)
            for ln in f:
                m = re.match(r"^\s*([0-9.]+) \(\s*([0-9.]+) ms\): [^/]*/(\d+) (fdatasync|fsync)\(", ln)
                if m:
                    t0 = float(m.group(1)) / 1e3
                    syncs.append((t0, t0 + float(m.group(2)) / 1e3, pid, int(m.group(3))))
            f.close()
            os.unlink(f.name)
        by = {}
        for s0, s1, pid, tid in syncs:
            by.setdefault((pid, tid), []).append((s1 - s0) * 1e3)
        raft = {}
        for (pid, tid), d in by.items():
            if pid not in raft or len(d) > len(by[(pid, raft[pid])]):
                raft[pid] = tid
        lines.append("node (pid) thread: syncs, p50 / p99 / max ms")
        for (pid, tid), d in sorted(by.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
            d.sort()
            role = "Raft log" if raft.get(pid) == tid else "other (checkpoint, snapshot)"
            lines.append("  %s%d thread %d (%s): %d, %.2f / %.2f / %.2f" % (
                "leader " if pid == lp else "", pid, tid, role, len(d), d[len(d) // 2],
                d[min(len(d) - 1, int(len(d) * 0.99))], d[-1]))
        slow = [x for x in syncs if raft.get(x[2]) == x[3] and (x[1] - x[0]) >= 0.005]
        others = [x for x in syncs if raft.get(x[2]) != x[3]]
        overlap = sum(1 for x in slow if any(o[0] < x[1] and x[0] < o[1] for o in others))
        lines.append("Raft log syncs of 5 ms or more: %d; of them overlapping another thread's "
                     "sync on some node: %d" % (len(slow), overlap))
    finally:
        B.stop_all()
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(HERE), "build", "cairn"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-writes", action="store_true")
    ap.add_argument("--no-access-log", action="store_true")
    ap.add_argument("--no-c1", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="cairn-miss-")
    lines = ["# bench/miss_profiles.py --binary %s (load %s)" % (a.binary, B.loadavg())]
    if not a.no_writes:
        lines += writes(a.binary, tmp, a.out)
    if not a.no_access_log:
        lines += access_log(a.binary, tmp, a.out)
    if not a.no_c1:
        lines += c1_syncs(a.binary, tmp, a.out)
    text = "\n".join(lines) + "\n"
    with open(os.path.join(a.out, "miss-profiles.txt"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
