"""Chaos (issue 4, "Tests"): a 3-node cluster under a steady write load while nodes are killed
with SIGKILL and restarted, paused with SIGSTOP and resumed, and leadership is moved around.
The invariant checked at the end of every test: every write acknowledged with code 0 (and every
write whose outcome a read proved) is present with its own value on every node, and all nodes
agree (same applied index, revision and checksum over the SQLite contents).

Every test prints its seed and a timestamped line per action, so that a failure can be replayed:

    CAIRN_CHAOS_SEED=1234 python3 tests/e2e/run.py --binary build/cairn --suite chaos -v

The seed fixes the random choices (the sequence of actions, random victims, down and pause
lengths, the writers' node picks); which node is leader at a given round, and thread timing,
still vary from run to run. CAIRN_CHAOS_ROUNDS overrides the number of chaos rounds (30).

Every wait is bounded; no test asserts on how long something took. Nodes run with an election
timeout of 200 ms (cluster.py: --raft-tick 20ms --election-ticks 10).

Logged as NOTE lines, not failed: a write whose every answer was 503/50302 but that committed
all the same (a follower forwarded it, the leader committed it, then the forward broke and the
follower said "cannot reach the leader"). The writers notice when a retry meets 40902.
"""

import contextlib
import http.client
import json
import os
import random
import signal
import threading
import time
import unittest
import urllib.parse

from cluster import ClusterCase, LEADER_TIMEOUT, TRANSFER, eventually
from harness import raw_request

NS = "chaos"
ELECTION_TIMEOUT = 0.2    # seconds: 10 ticks of 20 ms (the randomised timeout is up to 2x)
PROGRESS_TIMEOUT = 30.0   # writes must be acknowledged again within this after a disruption
KEY_DEADLINE = 30.0       # a writer gives up on one key (outcome unknown) after this
REQUEST_TIMEOUT = 4.0     # one write or read-back by a writer thread (then: outcome unknown)
RETRY_CODES = (50301, 50302)  # no leader (yet): nothing was proposed, retry the same write


def _seed():
    env = os.environ.get("CAIRN_CHAOS_SEED", "")
    return int(env) if env else random.SystemRandom().randrange(1, 2 ** 31)


class ChaosWriter:
    """Writer threads, each creating its own distinct keys with unique values through a random
    available node, until stopped.

    Outcomes per key:
      acked    -- answered code 0: must be present with its value forever after;
      observed -- a 500/50003, a socket error or a 40902 on a retry was followed by a strong read
                  showing our value: committed, so it must stay (not counted as acknowledged);
      unknown  -- outcome never settled (the writer gave up or was stopped): may be absent, but
                  if present it carries our value and every node agrees.
    503/50301-50302 (no leader) are retried with the same key and value; after an uncertain
    attempt (50003, timeout, reset) the key is read back first and only re-sent if absent.
    Anything else is recorded in `errors` and fails the test.
    """

    def __init__(self, case, nodes_fn, seed, threads=3, prefix="w"):
        self.case = case
        self.nodes_fn = nodes_fn  # () -> nodes a writer may talk to (alive, not paused)
        self.seed = seed
        self.threads = threads
        self.prefix = prefix
        self.acked = {}
        self.observed = {}
        self.unknown = {}
        self.errors = []
        self.stats = {}
        # Keys answered only 503/50302 (no socket error, no 50003) that turned out committed:
        # 50302 told the client nothing was written. Reported, not failed (see the suite doc).
        self.committed_after_not_leader = []
        self.inflight = {}  # thread -> "nodeN" it is waiting on (for the action log)
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.workers = []

    def start(self):
        for t in range(self.threads):
            th = threading.Thread(target=self._run, args=(t,), name="writer%d" % t, daemon=True)
            th.start()
            self.workers.append(th)
        self.case.addCleanup(self.stop)
        return self

    def stop(self):
        self.stop_event.set()
        for th in self.workers:
            th.join(REQUEST_TIMEOUT * 2 + 5)
        alive = [th.name for th in self.workers if th.is_alive()]
        if alive:
            raise AssertionError("writer threads did not stop: %s" % alive)

    def count(self):
        with self.lock:
            return len(self.acked)

    def committed(self):
        """Every key whose write is known to have committed -> its value."""
        with self.lock:
            out = dict(self.observed)
            out.update(self.acked)
            return out

    def summary(self):
        with self.lock:
            return ("acked %d, observed %d, unknown %d, answers %s"
                    % (len(self.acked), len(self.observed), len(self.unknown),
                       json.dumps(self.stats, sort_keys=True)))

    def _count(self, what):
        with self.lock:
            self.stats[what] = self.stats.get(what, 0) + 1

    def _pick(self, rnd):
        nodes = [n for n in self.nodes_fn() if n.alive()]
        return rnd.choice(nodes) if nodes else None

    def _run(self, t):
        rnd = random.Random(self.seed * 1000 + t)
        i = 0
        while not self.stop_event.is_set():
            key = "%s%d-%06d" % (self.prefix, t, i)
            value = {"t": t, "i": i, "nonce": "%016x" % rnd.getrandbits(64),
                     "pad": "x" * rnd.randint(0, 48)}
            i += 1
            outcome = self._write(rnd, key, value)
            with self.lock:
                {"acked": self.acked, "observed": self.observed,
                 "unknown": self.unknown}[outcome][key] = value

    def _write(self, rnd, key, value):
        body = json.dumps({"namespace": NS, "key": key, "value": value})
        deadline = time.monotonic() + KEY_DEADLINE
        uncertain = False  # an earlier attempt may have committed
        answers = []       # (node, code or exception, error details) of every attempt
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            if uncertain:
                found = self._read_back(rnd, key)
                if found == "absent":
                    uncertain = False  # nothing landed (yet): re-send; a late commit shows as 40902
                elif found is not None:
                    if found == value:
                        if all(a[1] in RETRY_CODES + (40902,) for a in answers):
                            with self.lock:
                                self.committed_after_not_leader.append((key, answers))
                        return "observed"
                    self._error("%s holds %s, not the value this writer wrote (%s)"
                                % (key, json.dumps(found), json.dumps(value)))
                    return "unknown"
                else:
                    time.sleep(0.05)
                    continue
            node = self._pick(rnd)
            if node is None:
                time.sleep(0.05)
                continue
            self.inflight[threading.current_thread().name] = "node%d" % node.raft_id
            try:
                r = raw_request(node.port, "POST", "/api/v1/admin/config", body=body,
                                timeout=REQUEST_TIMEOUT)
            except (OSError, http.client.HTTPException) as e:
                self._count("socket:" + type(e).__name__)
                answers.append(("node%d" % node.raft_id, type(e).__name__, ""))
                uncertain = True
                time.sleep(0.02)
                continue
            code = r.code
            self._count(str(code))
            answers.append(("node%d" % node.raft_id, code, (r.error or {}).get("details", "")))
            if code == 0:
                return "acked"
            if code in RETRY_CODES:
                time.sleep(0.05)
                continue
            if code == 50003:
                uncertain = True
                continue
            if code == 40902:  # an earlier attempt of ours committed after all
                uncertain = True
                continue
            self._error("%s on %r: %s" % (key, node, r.describe()))
            return "unknown"
        return "unknown"

    def _read_back(self, rnd, key):
        """Our key as a strong read sees it: its value, "absent", or None (no answer yet)."""
        node = self._pick(rnd)
        if node is None:
            return None
        target = "/api/v1/config/get?" + urllib.parse.urlencode(
            {"namespace": NS, "key": key, "consistency": "strong"})
        try:
            r = raw_request(node.port, "GET", target, timeout=REQUEST_TIMEOUT)
        except (OSError, http.client.HTTPException):
            return None
        self._count("read:%s" % r.code)
        if r.code == 0:
            return r.data["value"]
        if r.code == 40403:
            return "absent"
        if r.code in RETRY_CODES or r.code == 50003:
            return None
        self._error("read-back of %s on %r: %s" % (key, node, r.describe()))
        return None

    def _error(self, text):
        with self.lock:
            self.errors.append(text)


class ChaosCase(ClusterCase):
    """A 3-node cluster, a seeded RNG, a log of actions, and the checks shared by the tests."""

    # (Rate limiting is off in every cluster of tests/e2e/cluster.py: writers here go as fast as
    # the cluster allows, from one address.)

    def setUp(self):
        self.seed = _seed()
        self.rnd = random.Random(self.seed)
        self.t0 = time.monotonic()
        self.paused = set()
        print("\n[%s] seed %d (replay: CAIRN_CHAOS_SEED=%d)"
              % (self._testMethodName, self.seed, self.seed), flush=True)
        super().setUp()
        # Cleanups run last-in first-out: paused nodes are resumed before the cluster stops.
        self.addCleanup(self._resume_all)
        self.log("cluster up: %s, leader node%d" % (self.cluster.all(), self.leader.raft_id))
        self.ensure_ns(NS)

    def log(self, text):
        print("  +%6.2fs %s" % (time.monotonic() - self.t0, text), flush=True)

    # -- availability -----------------------------------------------------------------------

    def reachable(self):
        """Nodes a request can be sent to without hanging: alive and not paused."""
        return [n for n in self.cluster.live() if n not in self.paused]

    def pause(self, node):
        self.paused.add(node)  # first, so that no writer picks it from now on
        node.pause()
        self.log("SIGSTOP node%d (pid %d); writers were last sending to %s"
                 % (node.raft_id, node.pid, self.writer_targets()))

    def resume(self, node):
        node.resume()
        self.paused.discard(node)
        self.log("SIGCONT node%d" % node.raft_id)

    def _resume_all(self):
        for n in list(self.paused):
            with contextlib.suppress(ProcessLookupError, TypeError):
                n.resume()
        self.paused.clear()

    def kill9(self, node):
        rc = node.kill9()
        self.log("kill -9 node%d -> exit %s" % (node.raft_id, rc))
        self.assertEqual(rc, -signal.SIGKILL, "node%d was not alive when killed" % node.raft_id)

    def restart(self, node):
        node.start()
        self.log("restarted node%d (pid %d)" % (node.raft_id, node.pid))

    def writer_targets(self):
        w = getattr(self, "writer", None)
        return dict(sorted(w.inflight.items())) if w else {}

    def start_writer(self, threads=3, prefix="w"):
        w = ChaosWriter(self, self.reachable, self.seed, threads=threads, prefix=prefix)
        self.writer = w.start()
        self.log("writer: %d threads through random reachable nodes" % threads)
        return w

    def wait_progress(self, w, n, what):
        """Waits until `n` more writes are acknowledged; fails (with the cluster's state) if not."""
        before = w.count()
        ok, _ = eventually(lambda: w.count() >= before + n, PROGRESS_TIMEOUT, 0.02)
        if not ok:
            self.fail("%s: only %d of %d more writes acknowledged within %.0f s (%s); errors %s; "
                      "statuses %s" % (what, w.count() - before, n, PROGRESS_TIMEOUT, w.summary(),
                                       w.errors[:3], self._statuses_text()))
        self.log("%s: %d -> %d acknowledged" % (what, before, w.count()))

    def _statuses_text(self):
        return json.dumps({i: {k: s.get(k) for k in ("role", "term", "leader", "commit",
                                                      "applied")}
                           for i, s in self.statuses(self.reachable()).items()})

    def agreed_leader(self, not_id=None):
        """The leader every reachable node agrees on (cluster.py's wait_leader), logged."""
        leader = self.wait_leader(among=self.reachable(), not_id=not_id)
        self.leader = leader
        self.log("leader node%d (term %d)" % (leader.raft_id, self.status(leader)["term"]))
        return leader

    # -- final checks ------------------------------------------------------------------------

    def stop_and_check(self, w):
        """Stops the writers, brings every node back, waits for quiescence and checks that every
        committed write is on every node with its value and that all nodes agree."""
        w.stop()
        self.log("writers stopped: " + w.summary())
        for key, answers in w.committed_after_not_leader:
            self.log("NOTE: %s committed although every answer was 'not leader' (so a client "
                     "would think nothing was written): %s" % (key, answers))
        self.assertEqual(w.errors, [], "unexpected answers to the writers (seed %d)" % self.seed)
        self._resume_all()
        for n in self.cluster.all():
            if not n.alive():
                self.restart(n)
        self.assertEqual(len(self.cluster.live()), len(self.cluster.all()))
        self.agreed_leader()
        applied, revision, checksum = self.wait_converged()
        self.log("converged: applied_index %s, revision %s, checksum %s"
                 % (applied, revision, checksum))
        committed = w.committed()
        self.assertGreater(len(w.acked), 0, "no write was ever acknowledged")
        tried = dict(w.unknown)
        tried.update(committed)
        reads = {}
        for n in self.cluster.all():
            r = self.http("GET", "/api/v1/config/namespace/" + NS, server=n)
            self.check_envelope(r)
            self.assertEqual(r.code, 0, r.describe()[:500])
            configs = r.data["configs"]
            reads[n.raft_id] = configs
            missing = [(k, v, configs.get(k)) for k, v in sorted(committed.items())
                       if configs.get(k) != v]
            self.assertEqual(missing, [], "node%d lost or changed committed writes (key, "
                             "written, read) (seed %d): %s" % (n.raft_id, self.seed, missing[:10]))
            strangers = [(k, v, tried.get(k)) for k, v in sorted(configs.items())
                         if tried.get(k) != v]
            self.assertEqual(strangers, [], "node%d holds values no writer wrote (seed %d): %s"
                             % (n.raft_id, self.seed, strangers[:10]))
            # The same keys through the per-key read path.
            keys = self.rnd.sample(sorted(committed), min(50, len(committed)))
            for k in keys:
                g = self.read(n, NS, k)
                self.assertEqual((g.code, g.data and g.data.get("value")), (0, committed[k]),
                                 g.describe()[:500])
        first = reads[self.cluster.all()[0].raft_id]
        for i, configs in reads.items():
            self.assertTrue(configs == first, "node%d's namespace read differs from node%d's"
                            % (i, self.cluster.all()[0].raft_id))
        landed = sum(1 for k in w.unknown if k in first)
        self.log("checked on every node: %d acknowledged, %d observed, %d unknown (%d of them "
                 "landed), checksums equal" % (len(w.acked), len(w.observed), len(w.unknown),
                                              landed))


class Chaos(ChaosCase):

    def test_kill9_leader_under_load(self):
        w = self.start_writer(threads=3)
        self.wait_progress(w, 40, "before the kill")
        old = self.leader
        old_term = self.status(old)["term"]
        self.kill9(old)
        new = self.agreed_leader(not_id=old.raft_id)
        self.assertNotEqual(new.raft_id, old.raft_id)
        self.assertGreater(self.status(new)["term"], old_term)
        self.wait_progress(w, 40, "after the kill, old leader down")
        self.restart(old)
        self.agreed_leader()
        self.wait_progress(w, 40, "after the old leader's restart")
        self.stop_and_check(w)

    def test_sigstop_follower_does_not_depose_the_leader(self):
        w = self.start_writer(threads=3)
        self.wait_progress(w, 30, "before the pause")
        leader = self.leader
        before = self.status(leader)
        victim = self.rnd.choice(self.followers(leader))
        self.log("leader node%d term %d; pausing follower node%d"
                 % (leader.raft_id, before["term"], victim.raft_id))
        self.pause(victim)
        paused_at = time.monotonic()
        pause_for = 7.5 * ELECTION_TIMEOUT
        # The cluster keeps serving while the follower is stopped: writes are acknowledged and
        # the leader stays the same (checked on the reachable nodes every 100 ms).
        acked_at_pause = w.count()
        seen = set()
        while time.monotonic() - paused_at < pause_for:
            for n, s in self.statuses(self.reachable()).items():
                seen.add((n, s["leader"], s["term"]))
            time.sleep(0.1)
        self.wait_progress(w, 20, "while node%d is stopped" % victim.raft_id)
        self.log("acknowledged while stopped: %d; (node, leader, term) seen: %s"
                 % (w.count() - acked_at_pause, sorted(seen)))
        self.assertEqual({(l, t) for _, l, t in seen}, {(leader.raft_id, before["term"])},
                         "the leader changed while a follower was stopped (seed %d)" % self.seed)
        self.resume(victim)
        resumed_commit = self.status(leader)["commit"]
        # The resumed node catches up ...
        st, last = eventually(lambda: (lambda s: s["applied"] >= resumed_commit and s)(
            self.status(victim)), 30)
        self.assertTrue(st, "node%d did not catch up to commit %d after SIGCONT: %s"
                        % (victim.raft_id, resumed_commit, last))
        self.log("node%d caught up: applied %d >= %d" % (victim.raft_id, st["applied"],
                                                          resumed_commit))
        self.wait_progress(w, 20, "after the resume")
        # ... without deposing the leader: same leader, same term on every node (pre-vote kept
        # the resumed node from starting a real election).
        for _ in range(10):  # 1 s, five election timeouts, after the resume
            for n in self.cluster.all():
                s = self.status(n)
                self.assertEqual((s["leader"], s["term"]), (leader.raft_id, before["term"]),
                                 "node%d after node%d resumed (seed %d): %s"
                                 % (n.raft_id, victim.raft_id, self.seed, json.dumps(s)))
            time.sleep(0.1)
        self.stop_and_check(w)
        after = self.status(leader)
        self.assertEqual((after["role"], after["term"]), ("leader", before["term"]), after)

    def test_sigstop_leader_steps_down_when_resumed(self):
        w = self.start_writer(threads=3)
        self.wait_progress(w, 30, "before the pause")
        old = self.leader
        old_term = self.status(old)["term"]
        self.pause(old)
        # Writes sent straight to the stopped leader wait in its socket backlog; it answers them
        # after SIGCONT. Whatever it acknowledges must have committed.
        direct = {}

        def send(i):
            key = "direct-%02d" % i
            value = {"direct": i, "nonce": self.seed}
            try:
                r = raw_request(old.port, "POST", "/api/v1/admin/config", timeout=30,
                                body=json.dumps({"namespace": NS, "key": key, "value": value}))
                direct[key] = (value, r.code, r)
            except (OSError, http.client.HTTPException) as e:
                direct[key] = (value, None, repr(e))
        senders = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(6)]
        for th in senders:
            th.start()
        self.addCleanup(lambda: [th.join(35) for th in senders])
        new = self.agreed_leader(not_id=old.raft_id)
        self.wait_progress(w, 30, "while the old leader node%d is stopped" % old.raft_id)
        new_term = self.status(new)["term"]
        self.assertGreater(new_term, old_term)
        self.resume(old)

        def stepped_down():
            s = self.status(old)
            return s["role"] != "leader" and s["term"] > old_term and s
        s, last = eventually(stepped_down, LEADER_TIMEOUT)
        self.assertTrue(s, "node%d still leader of term %d after SIGCONT: %s"
                        % (old.raft_id, old_term, last))
        self.log("node%d stepped down: role %s, term %d -> %d, leader %s"
                 % (old.raft_id, s["role"], old_term, s["term"], s["leader"]))
        for th in senders:
            th.join(35)
        self.assertFalse(any(th.is_alive() for th in senders), "a direct write never returned")
        outcomes = {k: c for k, (_, c, _) in sorted(direct.items())}
        self.log("writes sent to the stopped leader answered: %s" % outcomes)
        for k, (v, code, r) in direct.items():
            with w.lock:
                (w.acked if code == 0 else w.unknown)[k] = v
            if code != 0 and code is not None:
                self.check_envelope(r)
                self.assertIn(code, RETRY_CODES + (50003,), r.describe())
        self.agreed_leader()
        self.wait_progress(w, 20, "after the resume")
        self.stop_and_check(w)


class SeededChaos(ChaosCase):
    # Snapshots compact the log often, so that a restarted node sometimes catches up by
    # snapshot rather than from the log.
    CLUSTER_ARGS = ("--snapshot-threshold", "300")

    def test_seeded_chaos(self):
        rounds = int(os.environ.get("CAIRN_CHAOS_ROUNDS", "30"))
        w = self.start_writer(threads=3)
        self.wait_progress(w, 20, "warm-up")
        actions = []
        for rnd_no in range(1, rounds + 1):
            action = self.rnd.choice(["kill_restart", "kill_leader", "transfer", "pause"])
            leader = self.agreed_leader()
            if action == "kill_restart":
                victim = self.rnd.choice(self.cluster.all())
                down = self.rnd.uniform(0.0, 1.0)
                desc = "kill -9 node%d%s, down %.2f s, restart" % (
                    victim.raft_id, " (leader)" if victim is leader else "", down)
            elif action == "kill_leader":
                victim = leader
                down = self.rnd.uniform(0.0, 1.0)
                desc = "kill -9 leader node%d, down %.2f s, restart" % (victim.raft_id, down)
            elif action == "transfer":
                victim = self.rnd.choice(self.followers(leader))
                desc = "transfer leadership node%d -> node%d" % (leader.raft_id, victim.raft_id)
            else:
                victim = self.rnd.choice(self.cluster.all())
                down = self.rnd.uniform(0.1, 1.5)
                desc = "SIGSTOP node%d%s for %.2f s, SIGCONT" % (
                    victim.raft_id, " (leader)" if victim is leader else "", down)
            actions.append(desc)
            self.log("round %d/%d: %s" % (rnd_no, rounds, desc))
            if action in ("kill_restart", "kill_leader"):
                self.kill9(victim)
                time.sleep(down)
                self.agreed_leader(not_id=victim.raft_id if victim is leader else None)
                self.restart(victim)
            elif action == "transfer":
                r = self.http("POST", TRANSFER, server=leader, json_body={"to": victim.raft_id},
                              timeout=10)
                self.check_envelope(r)
                # 40901: the transfer was refused (e.g. leadership moved meanwhile); the rest of
                # the round still checks that the cluster serves.
                self.assertIn(r.code, (0, 40901) + RETRY_CODES + (50003,), r.describe())
                self.log("transfer answered %s %s" % (r.code, r.error or ""))
                if r.code == 0:
                    # Logged, not asserted: a transfer may lose to an election under load.
                    moved, _ = eventually(
                        lambda: self.status(leader)["leader"] == victim.raft_id, 3.0)
                    self.log("leadership %s node%d" % ("moved to" if moved else "did not reach",
                                                      victim.raft_id))
            else:
                self.pause(victim)
                time.sleep(down)
                self.resume(victim)
            self.agreed_leader()
            self.wait_progress(w, 5, "round %d" % rnd_no)
        self.log("rounds done (seed %d): %s" % (self.seed, "; ".join(actions)))
        self.stop_and_check(w)


if __name__ == "__main__":
    unittest.main()
