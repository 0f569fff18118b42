#!/usr/bin/env python3
"""Cairn's fault suite (issue 23 §1; docs/chaos.md): real `cairn server` processes in network
namespaces, clients pinned to each node, faults, and checkers over the recorded history.

    sudo python3 tests/chaos/run.py --binary build/cairn --duration 60 --seed 1
    sudo python3 tests/chaos/run.py --binary build/cairn --duration 60 --seed 1 --seed 2 \\
        --nodes 5 --faults isolate-leader,kill
    sudo python3 tests/chaos/run.py --binary build/cairn --ci        # the bounded CTest run

For every (fault, seed): a fresh cluster in fresh namespaces; `--duration` seconds of workload
while the fault is applied every 3-6 s for 3-8 s (seeded); then every fault is healed, every node
restarted or resumed, the cluster converges, and the checkers run:

  lost writes       every acknowledged add is present on every node; no failed add, no stranger
  linearizable      every register's history (strong reads, writes, compare-and-set)
  converged         every node has the same applied index, revision and store checksum
  longest window    the longest interval in which no client got a write acknowledged
  self-test         the same history corrupted (an acknowledged add dropped from a node; a read
                    made to return a superseded value) must be flagged by the checkers

Prints one row per run and a table per fault (seeds side by side), writes history.jsonl,
result.json and the node logs under --workdir/<fault>-s<seed>/ (kept when a run fails or with
--keep). Exit status: 0 all safe, 1 a check failed, 77 skipped (not root, no `ip netns`).
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
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import checker  # noqa: E402
import lab as labmod  # noqa: E402
import netns  # noqa: E402
from lab import Refused, request  # noqa: E402

REG_NS = "reg"
SET_NS = "set"
SKIP = 77

FAULTS = {
    "isolate-node": "one node (chosen at random) cut off from the other nodes",
    "isolate-leader": "the current leader cut off from the other nodes",
    "partition-2-1": "nodes split into a majority and a minority (3 nodes: 2|1; 5 nodes: 3|2)",
    "partition-1-1-1": "every node cut off from every other: a majority nowhere",
    "one-way": "the leader hears nobody (or, half the time, nobody hears the leader) while "
               "the other direction still flows",
    "kill": "kill -9 of a node chosen at random, restarted when the fault ends",
    "pause-leader": "SIGSTOP of the leader, SIGCONT when the fault ends",
    "slow-link": "the leader's link slowed both ways (tc netem delay 150±50 ms and 2% loss; "
                 "without netem in the kernel: a tbf rate limit of 256 kbit/s)",
}
CI_FAULTS = ["isolate-leader", "one-way", "kill", "pause-leader"]
NOT_WRITTEN = (50301, 50302)  # docs/api.md: nothing was written (recorded as info, see checker)


# -- the workload ------------------------------------------------------------------------------

class Client(threading.Thread):
    """One client pinned to one node: register reads (strong), writes and compare-and-sets on a
    few keys, and adds of unique keys, one operation at a time, each recorded invoke -> ok / fail
    / info. After an info the client goes on as a new process (Jepsen's convention)."""

    def __init__(self, run, number, node, rnd):
        super().__init__(name="client%d" % number, daemon=True)
        self.run_ = run
        self.process = number
        self.node = node
        self.rnd = rnd
        self.counter = 0
        self.last_version = {}
        self.unexpected = []

    def run(self):
        r = self.run_
        while not r.stop_clients.is_set():
            x = self.rnd.random()
            key = self.rnd.choice(r.keys)
            if x < 0.30:
                self.op_read(key)
            elif x < 0.55:
                self.op_write(key)
            elif x < 0.70:
                self.op_cas(key)
            else:
                self.op_add()
            time.sleep(self.rnd.uniform(0, 2.0 / r.args.rate))

    def _value(self):
        self.counter += 1
        return self.process * 1_000_000 + self.counter

    def _call(self, f, key, value, method, target, body):
        """Records the invoke, sends, records the completion; returns (type, code, data)."""
        rec = self.run_.rec
        node = self.node
        rec.add(process=self.process, type="invoke", f=f, key=key, value=value,
                node=node.raft_id)
        try:
            status, doc = request(node.host, node.port, method, target, body,
                                  timeout=self.run_.args.timeout)
        except Refused:
            rec.add(process=self.process, type="fail", f=f, key=key, value=value,
                    node=node.raft_id, error="connection refused")
            return "fail", None, None
        except (OSError, http.client.HTTPException) as e:
            err = "timeout" if "timed out" in str(e) else "%s: %s" % (type(e).__name__, e)
            rec.add(process=self.process, type="info", f=f, key=key, value=value,
                    node=node.raft_id, error=err)
            self.process += self.run_.nclients
            return "info", None, None
        code = doc.get("code") if isinstance(doc, dict) else None
        data = doc.get("data") if isinstance(doc, dict) else None
        return self._complete(f, key, value, status, code, data)

    def _complete(self, f, key, value, status, code, data):
        rec = self.run_.rec
        base = dict(process=self.process, f=f, key=key, node=self.node.raft_id, code=code)
        if code == 0:
            if f == "read":
                rec.add(type="ok", value=[data["value"], data["version"]], **base)
                return "ok", code, data
            extra = {"version": data.get("version")} if f in ("write", "cas") else {}
            rec.add(type="ok", value=value, **base, **extra)
            return "ok", code, data
        if f == "read":
            if code == 40403:
                rec.add(type="ok", value=None, **base)
                return "ok", code, data
            t = "fail" if code is not None and code < 50000 else "info"
            rec.add(type=t, value=None, **base)
            if code not in (50301, 50302, 50003):
                self.unexpected.append("read %s on node%d: HTTP %s code %s"
                                       % (key, self.node.raft_id, status, code))
            if t == "info":
                self.process += self.run_.nclients
            return t, code, data
        if code == 40901 and f == "cas":
            rec.add(type="fail", value=value, **base)
            return "fail", code, data
        if code in (50003,) + NOT_WRITTEN:
            rec.add(type="info", value=value, **base)
            self.process += self.run_.nclients
            return "info", code, data
        # Anything else is not an answer this workload can get: recorded as unknown (info) and
        # reported, which fails the run.
        rec.add(type="info", value=value, **base)
        self.process += self.run_.nclients
        self.unexpected.append("%s %s on node%d: HTTP %s code %s %s"
                               % (f, key, self.node.raft_id, status, code, json.dumps(data)[:200]))
        return "info", code, data

    def op_read(self, key):
        q = urllib.parse.urlencode({"namespace": REG_NS, "key": key, "consistency": "strong"})
        t, code, data = self._call("read", key, None, "GET", "/api/v1/config/get?" + q, None)
        if t == "ok" and data:
            self.last_version[key] = data["version"]

    def op_write(self, key):
        v = self._value()
        t, code, data = self._call("write", key, v, "PUT", "/api/v1/admin/config",
                                   {"namespace": REG_NS, "key": key, "value": v})
        if t == "ok":
            self.last_version[key] = data.get("version")

    def op_cas(self, key):
        v = self._value()
        expected = self.last_version.get(key) or 1
        t, code, data = self._call("cas", key, [expected, v], "PUT", "/api/v1/admin/config",
                                   {"namespace": REG_NS, "key": key, "value": v,
                                    "expected_version": expected})
        if t == "ok":
            self.last_version[key] = data.get("version")

    def op_add(self):
        k = "a-%d-%d" % (self.process, self._value())
        self._call("add", None, k, "POST", "/api/v1/admin/config",
                   {"namespace": SET_NS, "key": k, "value": {"by": self.name}})


class Monitor(threading.Thread):
    """Polls every node's cluster/status every 0.1 s and records (time, node, role, term,
    leader) whenever it changes: when a new leader appeared after each fault."""

    def __init__(self, run):
        super().__init__(name="monitor", daemon=True)
        self.run_ = run
        self.timeline = []
        self.last = {}

    def run(self):
        r = self.run_
        while not r.stop_monitor.is_set():
            for n in r.cluster.all():
                s = n.status(0.25) if n.alive() and not n.paused else None
                v = (s.get("role"), s.get("term"), s.get("leader")) if s else None
                if v != self.last.get(n.raft_id):
                    self.last[n.raft_id] = v
                    self.timeline.append((r.rec.now(), n.raft_id) + (v or (None, None, None)))
            r.stop_monitor.wait(0.1)

    def elected_after(self, t, old_leader=None, old_term=None):
        """Seconds from t until some node reported itself leader of a term above old_term (and
        not old_leader), or None."""
        for (when, node, role, term, _) in self.timeline:
            if when < t or role != "leader":
                continue
            if (old_term is None or (term or 0) > old_term) and node != old_leader:
                return round(when - t, 3)
        return None


# -- faults ------------------------------------------------------------------------------------

class Nemesis(threading.Thread):
    """Applies `fault` every 3-6 s for 3-8 s (seeded) until `until`, then heals."""

    def __init__(self, run, fault, rnd, until):
        super().__init__(name="nemesis", daemon=True)
        self.run_ = run
        self.fault = fault
        self.rnd = rnd
        self.until = until
        self.begin = run.rec.now()
        self.events = []   # dicts: what, start, end, victim, old_leader, old_term
        self.error = None
        self.stop_now = threading.Event()

    def run(self):
        try:
            self._loop()
        except Exception as e:  # reported by run_one, which fails the run
            self.error = "%s: %s" % (type(e).__name__, e)
            import traceback
            traceback.print_exc()
            self._heal_all()

    def _loop(self):
        r = self.run_
        while True:
            gap = self.rnd.uniform(3.0, 6.0)
            length = self.rnd.uniform(3.0, 8.0)
            if r.rec.now() + gap + length + 1.0 > self.until:
                return
            if self.stop_now.wait(gap):
                return
            ev = self.start_fault()
            r.rec.add(process="nemesis", type="info", f="start", value=ev["what"])
            self.stop_now.wait(length)
            heal = ev.pop("heal")
            heal()
            ev["end"] = r.rec.now()
            r.rec.add(process="nemesis", type="info", f="stop", value=ev["what"])
            self.events.append(ev)
            r.log("  +%6.2fs %s for %.2f s, healed" % (ev["start"] - self.begin, ev["what"],
                                                        ev["end"] - ev["start"]))
            if self.stop_now.is_set():
                return

    def start_fault(self):
        r = self.run_
        c = r.cluster
        lab = r.lab
        ids = sorted(c.nodes)
        leader = c.leader()
        lst = leader.status() if leader else None
        lid = leader.raft_id if leader else None
        lterm = lst.get("term") if lst else None
        target = lid if lid is not None else self.rnd.choice(ids)
        lname = "node%d%s" % (target, "" if lid is not None else " (no leader known)")
        f = self.fault
        ev = {"start": r.rec.now(), "old_leader": lid, "old_term": lterm, "victim": None}
        if f == "isolate-node":
            v = self.rnd.choice(ids)
            lab.isolate(v)
            ev.update(what="isolate node%d%s" % (v, " (leader)" if v == lid else ""), victim=v,
                      heal=lab.heal)
        elif f == "isolate-leader":
            lab.isolate(target)
            ev.update(what="isolate leader " + lname, victim=target, heal=lab.heal)
        elif f == "partition-2-1":
            shuffled = ids[:]
            self.rnd.shuffle(shuffled)
            minority = sorted(shuffled[:len(ids) // 2])
            majority = sorted(shuffled[len(ids) // 2:])
            lab.partition([minority, majority])
            ev.update(what="partition %s | %s (leader node%s)" % (minority, majority, lid),
                      victim=target if target in minority else None, heal=lab.heal)
        elif f == "partition-1-1-1":
            lab.partition([[i] for i in ids])
            ev.update(what="partition %s (every node alone)" % " | ".join(str(i) for i in ids),
                      victim=target, heal=lab.heal)
        elif f == "one-way":
            others = [i for i in ids if i != target]
            if self.rnd.random() < 0.5:
                for j in others:
                    lab.cut(target, j)
                what = "one-way: leader %s hears nobody" % lname
            else:
                for j in others:
                    lab.cut(j, target)
                what = "one-way: nobody hears leader %s" % lname
            ev.update(what=what, victim=target, heal=lab.heal)
        elif f == "kill":
            v = self.rnd.choice(ids)
            node = c.nodes[v]
            rc = node.kill9()
            ev.update(what="kill -9 node%d%s (exit %s)" % (v, " (leader)" if v == lid else "", rc),
                      victim=v, heal=node.start)
        elif f == "pause-leader":
            node = c.nodes[target]
            node.pause()
            ev.update(what="SIGSTOP leader " + lname, victim=target, heal=node.resume)
        elif f == "slow-link":
            what = lab.slow(target)
            ev.update(what="slow link of leader %s: %s" % (lname, what), victim=target,
                      heal=lambda: lab.unslow(target))
        else:
            raise ValueError("unknown fault %r" % f)
        return ev

    def _heal_all(self):
        r = self.run_
        r.lab.heal()
        for n in r.cluster.all():
            if n.paused and n.alive():
                n.resume()


# -- one run -----------------------------------------------------------------------------------

class Run:
    def __init__(self, args, fault, seed, workdir):
        self.args = args
        self.fault = fault
        self.seed = seed
        self.dir = workdir
        self.rnd = random.Random("%s/%d" % (fault, seed))
        self.rec = labmod.Recorder()
        self.stop_clients = threading.Event()
        self.stop_monitor = threading.Event()
        self.keys = ["r%d" % i for i in range(args.keys)]
        self.nclients = args.nodes * args.clients_per_node
        self.lab = None
        self.cluster = None
        self.lines = []

    def log(self, text):
        self.lines.append(text)
        if self.args.verbose:
            print(text, flush=True)

    def setup(self):
        # The subnet is not seeded: two runs at once (two CTest runs) must not pick the same one.
        self.lab = netns.Lab(self.args.nodes, random.SystemRandom()).create()
        ACTIVE_LABS.append(self.lab)
        self.cluster = labmod.NetCluster(self.lab, self.dir, self.args.nodes, self.args.binary,
                                         extra_args=self.args.server_arg,
                                         raft_args=self.args.raft_args.split())
        self.cluster.start()
        leader = self.cluster.wait_agreed_leader(30.0)
        if leader is None:
            raise RuntimeError("no leader within 30 s after start")
        self.log("  cluster up in %s (subnet %s.0/24), leader node%d"
                 % (self.lab.tag, self.lab.ip(0)[:-2], leader.raft_id))
        for ns in (REG_NS, SET_NS):
            self._until_ok(leader, "POST", "/api/v1/admin/namespace", {"name": ns}, (0, 40901))
        for i, k in enumerate(self.keys):
            v = -(i + 1)
            st, doc = self._until_ok(leader, "POST", "/api/v1/admin/config",
                                     {"namespace": REG_NS, "key": k, "value": v}, (0,))
            ver = doc["data"]["version"]
            self.rec.add(process=-1 - i, type="invoke", f="write", key=k, value=v, node=leader.raft_id)
            self.rec.add(process=-1 - i, type="ok", f="write", key=k, value=v, version=ver,
                         node=leader.raft_id, code=0)

    def _until_ok(self, node, method, target, body, codes, timeout=30.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                st, doc = request(node.host, node.port, method, target, body, timeout=5.0)
                last = (st, doc)
                if isinstance(doc, dict) and doc.get("code") in codes:
                    return st, doc
            except (Refused, OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.1)
        raise RuntimeError("%s %s never answered %s: %s" % (method, target, codes, last))

    def workload(self):
        nodes = self.cluster.all()
        clients = []
        for i in range(self.nclients):
            node = nodes[i % len(nodes)]
            clients.append(Client(self, i, node, random.Random("%d/%d" % (self.seed, i))))
        monitor = Monitor(self)
        start = self.rec.now()
        until = start + self.args.duration
        nemesis = Nemesis(self, self.fault, random.Random("%s/%d/nemesis" % (self.fault, self.seed)),
                          until)
        monitor.start()
        for c in clients:
            c.start()
        nemesis.start()
        while self.rec.now() < until:
            time.sleep(0.1)
        end = self.rec.now()
        nemesis.stop_now.set()
        nemesis.join(60)
        self.stop_clients.set()
        for c in clients:
            c.join(self.args.timeout * 3 + 5)
        self.stop_monitor.set()
        monitor.join(5)
        return start, end, clients, monitor, nemesis

    def heal_and_settle(self):
        """Every cut removed, every node resumed or restarted, then a leader and convergence."""
        self.lab.heal()
        for n in self.cluster.all():
            if n.paused and n.alive():
                n.resume()
            if not n.alive():
                n.start()
        leader = self.cluster.wait_agreed_leader(60.0)
        converged, seen = self.cluster.wait_converged(90.0)
        return leader, converged, seen

    def final_reads(self, base_process):
        """A strong read of every register through every node (recorded), and the set namespace
        as every node holds it."""
        p = base_process
        for n in self.cluster.all():
            for k in self.keys:
                q = urllib.parse.urlencode({"namespace": REG_NS, "key": k, "consistency": "strong"})
                for _ in range(20):
                    self.rec.add(process=p, type="invoke", f="read", key=k, value=None,
                                 node=n.raft_id, final=True)
                    try:
                        st, doc = n.get("/api/v1/config/get?" + q, timeout=5.0)
                    except (Refused, OSError, http.client.HTTPException) as e:
                        self.rec.add(process=p, type="info", f="read", key=k, value=None,
                                     node=n.raft_id, error=repr(e), final=True)
                        p += 1
                        time.sleep(0.2)
                        continue
                    code = (doc or {}).get("code")
                    if code == 0:
                        d = doc["data"]
                        self.rec.add(process=p, type="ok", f="read", key=k,
                                     value=[d["value"], d["version"]], node=n.raft_id, code=0,
                                     final=True)
                        break
                    self.rec.add(process=p, type="fail", f="read", key=k, value=None,
                                 node=n.raft_id, code=code, final=True)
                    time.sleep(0.2)
                p += 1
        sets = {}
        for n in self.cluster.all():
            st, doc = n.get("/api/v1/config/namespace/" + SET_NS, timeout=10.0)
            if (doc or {}).get("code") != 0:
                raise RuntimeError("node%d: reading the set namespace answered HTTP %s %s"
                                   % (n.raft_id, st, json.dumps(doc)[:300]))
            sets[n.raft_id] = doc["data"]["configs"]
        return sets

    def execute(self):
        res = {"fault": self.fault, "seed": self.seed, "nodes": self.args.nodes,
               "duration": self.args.duration, "timeout": self.args.timeout,
               "dir": self.dir, "errors": []}
        try:
            self.setup()
            start, end, clients, monitor, nemesis = self.workload()
            if nemesis.error:
                res["errors"].append("nemesis: " + nemesis.error)
            leader, converged, seen = self.heal_and_settle()
            res["converged"] = bool(converged)
            res["convergence"] = converged if converged else seen
            if leader is None:
                res["errors"].append("no agreed leader after the heal")
            sets = self.final_reads(10_000_000)
        except Exception as e:
            import traceback
            traceback.print_exc()
            res["errors"].append("%s: %s" % (type(e).__name__, e))
            res.update(valid=False)
            return res
        finally:
            self.stop_monitor.set()
            checker.save_history(self.rec.events, os.path.join(self.dir, "history.jsonl"))
        h = self.rec.events
        for c in clients:
            res["errors"].extend(c.unexpected[:20])
        ops = checker.pair_ops(h)
        work = [o for o in ops if isinstance(o["process"], int) and 0 <= o["process"] < 10_000_000]
        count = {}
        for o in work:
            k = "%s:%s" % (o["f"], o["type"])
            count[k] = count.get(k, 0) + 1
        res["ops"] = dict(sorted(count.items()))
        res["acked_writes"] = sum(1 for o in work if o["type"] == "ok" and o["f"] in checker.WRITE_FS)
        res["info"] = sum(1 for o in work if o["type"] == "info")
        # Availability
        w, a, b = checker.availability(h, start, end)
        res["window"] = round(w, 3)
        res["window_at"] = [round(a - start, 3), round(b - start, 3)]
        res["faults"] = []
        windows = checker.fault_windows(h, start, end)
        for ev, (_, fa, fb, fw) in zip(nemesis.events, windows):
            d = {"what": ev["what"], "at": round(fa - start, 3), "length": round(fb - fa, 3),
                 "window": round(fw, 3)}
            if ev.get("old_leader") is not None and ev.get("victim") == ev["old_leader"]:
                d["new_leader_after"] = monitor.elected_after(fa, ev["old_leader"], ev["old_term"])
            res["faults"].append(d)
            self.log("   fault at +%.2f s for %.2f s: %s; longest window overlapping it %.2f s%s"
                     % (d["at"], d["length"], d["what"], d["window"],
                        "" if "new_leader_after" not in d else
                        "; a new leader %s" % ("after %.2f s" % d["new_leader_after"]
                                                if d["new_leader_after"] is not None
                                                else "never seen")))
        # Safety
        t0 = time.monotonic()
        lin = checker.check_linearizable(h, budget=self.args.budget)
        res["linearizable"] = lin["valid"]
        res["lin_explanation"] = lin["explanation"]
        res["lin_steps"] = sum(k["steps"] for k in lin["keys"].values())
        res["lin_seconds"] = round(time.monotonic() - t0, 2)
        lost = checker.check_lost(h, sets, NOT_WRITTEN)
        res["lost"] = lost["lost_count"]
        res["lost_detail"] = {k: v for k, v in lost.items() if k in ("lost", "failed_present", "strangers")}
        res["adds_acked"] = lost["acked"]
        res["adds_info_present"] = "%d of %d" % (lost["info_present"], lost["info"])
        notes = ["add %s answered 'nothing was written' (503) but is present" % k
                 for k in lost["not_written_but_present"]]
        notes += checker.not_written_but_observed(h, NOT_WRITTEN)
        res["notes"] = notes
        # Self-test: the checkers must flag a corrupted copy of this very history.
        res["selftest"] = self.selftest(h, sets, lin["valid"] is True and lost["valid"])
        res["valid"] = (lost["valid"] and lin["valid"] is True and res["converged"]
                        and not res["errors"] and res["selftest"]["ok"])
        return res

    def selftest(self, h, sets, was_valid):
        out = {"ok": True}
        bad_sets, key = checker.corrupt_drop_add(sets, h)
        if key is None:
            out.update(ok=False, drop_add="no acknowledged add to drop")
        else:
            flagged = not checker.check_lost(h, bad_sets, NOT_WRITTEN)["valid"]
            out["drop_add"] = "flagged" if flagged else "NOT FLAGGED"
            out["ok"] &= flagged
        bad_h, key, what = checker.corrupt_superseded_read(h)
        if bad_h is None:
            out.update(ok=False, superseded_read=what)
        else:
            ops = checker.register_ops(checker.pair_ops(bad_h))[key]
            r = checker.check_register(ops, self.args.budget)
            flagged = r["valid"] is False
            out["superseded_read"] = ("flagged" if flagged else "NOT FLAGGED") + " (%s)" % what
            out["ok"] &= flagged
        if not was_valid:
            out["note"] = "the original history already failed a check"
        return out

    def teardown(self):
        if self.cluster:
            self.cluster.stop_all()
        if self.lab:
            self.lab.destroy()
            if self.lab in ACTIVE_LABS:
                ACTIVE_LABS.remove(self.lab)


ACTIVE_LABS = []


def cleanup_all():
    labmod.cairn_cluster.kill_all_live()
    for lab in list(ACTIVE_LABS):
        lab.destroy()


# -- output ------------------------------------------------------------------------------------

def yn(v):
    return {True: "yes", False: "NO"}.get(v, str(v))


def print_rows(results):
    hdr = ("fault", "seed", "nodes", "longest window (s)", "at (s)", "lost", "linearizable",
           "converged", "acked writes", "info", "self-test", "notes")
    rows = []
    for r in results:
        rows.append((r["fault"], str(r["seed"]), str(r["nodes"]),
                     "%.2f" % r["window"] if "window" in r else "-",
                     "%s-%s" % tuple(r["window_at"]) if "window_at" in r else "-",
                     str(r.get("lost", "-")), yn(r.get("linearizable", "-")),
                     yn(r.get("converged", "-")), str(r.get("acked_writes", "-")),
                     str(r.get("info", "-")),
                     "ok" if r.get("selftest", {}).get("ok") else "FAILED",
                     str(len(r.get("notes", [])) + len(r.get("errors", [])))))
    print_table(hdr, rows)


def print_table(hdr, rows):
    print("| " + " | ".join(hdr) + " |")
    print("|" + "|".join("---" for _ in hdr) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def print_summary(results):
    """The issue's table: one row per fault, the seeds' longest windows side by side."""
    by_fault = {}
    for r in results:
        by_fault.setdefault(r["fault"], []).append(r)
    seeds = sorted({r["seed"] for r in results})
    hdr = ("fault", "longest window, seeds %s (s)" % " / ".join(map(str, seeds)), "lost",
           "linearizable")
    rows = []
    for f, rs in by_fault.items():
        rs = sorted(rs, key=lambda r: r["seed"])
        rows.append((f, " / ".join("%.2f" % r["window"] if "window" in r else "-" for r in rs),
                     " / ".join(str(r.get("lost", "-")) for r in rs),
                     " / ".join(yn(r.get("linearizable", "-")) for r in rs)))
    print_table(hdr, rows)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.environ.get("CAIRN_BINARY", ""))
    p.add_argument("--duration", type=float, default=60.0, help="workload seconds per run")
    p.add_argument("--seed", type=int, action="append", help="repeatable; default 1")
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--faults", default=",".join(FAULTS),
                   help="comma-separated, of: %s" % ", ".join(FAULTS))
    p.add_argument("--ci", action="store_true",
                   help="the bounded CTest run: %s, 20 s each, seed 1" % ", ".join(CI_FAULTS))
    p.add_argument("--clients-per-node", type=int, default=2)
    p.add_argument("--keys", type=int, default=5, help="registers")
    p.add_argument("--rate", type=float, default=10.0, help="operations per second per client")
    p.add_argument("--timeout", type=float, default=2.0, help="client request timeout (s)")
    p.add_argument("--raft-args", default="", help="e.g. '--raft-tick 20ms'; default: the "
                   "server's defaults")
    p.add_argument("--server-arg", action="append", default=[],
                   help="extra `cairn server` argument (repeatable, e.g. --server-arg=--log-level=debug)")
    p.add_argument("--budget", type=int, default=2_000_000,
                   help="linearizability search states per register")
    p.add_argument("--workdir", default="")
    p.add_argument("--keep", action="store_true", help="keep histories and logs of passing runs")
    p.add_argument("--json", default="", help="write every run's result here")
    p.add_argument("--clean", action="store_true",
                   help="remove namespaces/bridges left by dead runs, then exit")
    p.add_argument("--list-faults", action="store_true")
    p.add_argument("--watchdog", type=float, default=0, help="whole-run limit in seconds")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()

    if args.list_faults:
        for f, d in FAULTS.items():
            print("%-16s %s" % (f, d))
        return 0
    if args.clean:
        print("removed: %s" % (netns.clean_stale() or "nothing"))
        return 0
    if args.ci:
        args.faults = ",".join(CI_FAULTS)
        args.duration = 20.0
        args.seed = args.seed or [1]
    seeds = args.seed or [1]
    faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    for f in faults:
        if f not in FAULTS:
            p.error("unknown fault %r (known: %s)" % (f, ", ".join(FAULTS)))
    if not args.binary or not os.path.exists(args.binary):
        p.error("--binary (or CAIRN_BINARY): cairn binary not found: %r" % args.binary)
    args.binary = os.path.abspath(args.binary)

    why = netns.can_run()
    if why:
        print("SKIPPED: the chaos suite %s" % why, flush=True)
        return SKIP
    netns.clean_stale()

    workdir = args.workdir or tempfile.mkdtemp(prefix="cairn-chaos-")
    os.makedirs(workdir, exist_ok=True)
    atexit.register(cleanup_all)

    def on_signal(signum, _frame):
        cleanup_all()
        os._exit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.watchdog:
        def watchdog():
            print("\nCHAOS WATCHDOG: run exceeded %.0f s; stopping" % args.watchdog, flush=True)
            cleanup_all()
            os._exit(3)
        t = threading.Timer(args.watchdog, watchdog)
        t.daemon = True
        t.start()

    print("chaos: %d node(s), %s, seeds %s, %.0f s each, client timeout %.1f s, work dir %s"
          % (args.nodes, ",".join(faults), seeds, args.duration, args.timeout, workdir), flush=True)
    results = []
    for fault in faults:
        for seed in seeds:
            d = os.path.join(workdir, "%s-s%d" % (fault, seed))
            os.makedirs(d, exist_ok=True)
            run = Run(args, fault, seed, d)
            print("== %s, seed %d" % (fault, seed), flush=True)
            try:
                res = run.execute()
            finally:
                run.teardown()
            if not args.verbose:
                for line in run.lines:
                    print(line)
            with open(os.path.join(d, "result.json"), "w") as f:
                json.dump(res, f, indent=1, sort_keys=True)
            print("   %s: window %s s, lost %s, linearizable %s, converged %s, self-test %s%s"
                  % ("ok" if res["valid"] else "FAILED", res.get("window"), res.get("lost"),
                     yn(res.get("linearizable")), yn(res.get("converged")),
                     "ok" if res.get("selftest", {}).get("ok") else res.get("selftest"),
                     "" if res["valid"] else " (see %s)" % d), flush=True)
            for e in res["errors"]:
                print("   ERROR " + e)
            if res.get("lin_explanation"):
                print("   LINEARIZABILITY: " + res["lin_explanation"])
            for k in ("lost", "failed_present", "strangers"):
                if res.get("lost_detail", {}).get(k):
                    print("   %s: %s" % (k.upper(), json.dumps(res["lost_detail"][k])[:1000]))
            for n in res.get("notes", [])[:10]:
                print("   NOTE " + n)
            results.append(res)
            if res["valid"] and not args.keep:
                shutil.rmtree(d, ignore_errors=True)
    print()
    print_rows(results)
    print()
    print_summary(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
    ok = all(r["valid"] for r in results)
    if ok and not args.keep and not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print("\nwork dir: %s" % workdir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
