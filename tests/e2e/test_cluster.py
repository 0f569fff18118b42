"""Cluster (docs/cluster.md, issue 4): 3 and 5 real `cairn server` processes replicating with
Raft over real TCP on 127.0.0.1: elections, forwarding, strong reads, kill -9 of followers, the
leader and every node, a torn WAL tail, loss of quorum, snapshots, watch across nodes, leadership
transfer, membership changes and cluster-id isolation.

Every wait is bounded (cluster.py); no test asserts on how long something took. Nodes run with an
election timeout of 200 ms (--raft-tick 20ms --election-ticks 10)."""

import contextlib
import glob
import json
import os
import re
import shutil
import signal
import threading
import time
import unittest

from cairn_cluster import Cluster, DevCluster, distinct_port, pid_alive
from cluster import MEMBERS, TRANSFER, ClusterCase, Writer, eventually
from harness import CairnTestCase, raw_request


class Election(ClusterCase):

    def test_one_leader_and_consistent_status_on_every_node(self):
        sts = self.statuses()
        self.assertEqual(sorted(sts), [1, 2, 3], sts)
        leaders = [i for i, s in sts.items() if s["role"] == "leader"]
        self.assertEqual(leaders, [self.leader.raft_id], "exactly one node says leader: %s" % sts)
        terms = {s["term"] for s in sts.values()}
        self.assertEqual(len(terms), 1, "every node is in the leader's term: %s" % sts)
        for i, s in sts.items():
            node = self.cluster.nodes[i]
            ctx = json.dumps(s)
            self.assertEqual(s["raft_id"], i, ctx)
            self.assertIsInstance(s.get("node_id"), str, ctx)
            self.assertEqual(s["leader"], self.leader.raft_id, ctx)
            self.assertEqual(s.get("leader_http"), self.leader.http_addr, ctx)
            if i != self.leader.raft_id:
                self.assertEqual(s["role"], "follower", ctx)
            self.assertIsInstance(s["commit"], int, ctx)
            self.assertIsInstance(s["applied"], int, ctx)
            members = sorted(s["members"], key=lambda m: m["id"])
            self.assertEqual([m["id"] for m in members], [1, 2, 3], ctx)
            for m in members:
                other = self.cluster.nodes[m["id"]]
                self.assertEqual(m["peer"], other.peer, ctx)
                self.assertEqual(m["http"], other.http_addr, ctx)
                self.assertIs(m["voter"], True, ctx)
            self.assertEqual(node.raft_id, i)

    def test_health_and_debug_vars_answer_on_every_node(self):
        for n in self.cluster.live():
            r = self.http("GET", "/api/v1/health", server=n)
            self.check_envelope(r)
            self.assertEqual(r.code, 0, r.describe())
            raft = r.data.get("components", {}).get("raft")
            self.assertIsInstance(raft, dict, "health has no raft component: " + r.describe())
            for field in ("status", "role", "term", "leader"):
                self.assertIn(field, raft, r.describe())
            self.assertEqual(raft["leader"], self.leader.raft_id, r.describe())
            c = self.http("GET", "/api/v1/cluster", server=n)
            self.check_envelope(c)
            self.assertEqual(c.code, 0, "GET /api/v1/cluster: " + c.describe())
            self.assertEqual(sorted(m["id"] for m in c.data["members"]), [1, 2, 3],
                             c.describe())
            d = self.vars(n, checksum=True)
            for field in ("revision", "applied_index", "checksum"):
                self.assertIn(field, d, "%r debug/vars: %s" % (n, d))


class Forwarding(ClusterCase):

    def test_writes_through_leader_and_follower(self):
        f1, f2 = self.followers()
        self.ensure_ns("svc")
        direct = self.create_on(self.leader, "svc", "direct", {"via": "leader"},
                                headers={"X-Request-ID": "e2e-direct-1"})
        self.check_envelope(direct, request_id="e2e-direct-1")
        self.assertEqual(direct.code, 0, direct.describe())

        fwd = self.create_on(f1, "svc", "forwarded", {"via": "follower"},
                             headers={"X-Request-ID": "e2e-forwarded-1"})
        self.check_envelope(fwd, request_id="e2e-forwarded-1")
        self.assertEqual(fwd.code, 0, "a write to a follower is forwarded: " + fwd.describe())
        self.assertEqual(fwd.json["message"], direct.json["message"], fwd.describe())
        self.assertEqual(sorted(fwd.json), sorted(direct.json), "same envelope shape")
        self.assertEqual(sorted(fwd.data), sorted(direct.data), "same data shape")
        self.assertEqual(fwd.data.get("version"), 1, fwd.describe())

        # Without a request id of ours, the follower still answers with one.
        fwd2 = self.create_on(f2, "svc", "forwarded2", [1, 2, 3])
        self.check_envelope(fwd2)
        self.assertEqual(fwd2.code, 0, fwd2.describe())

        # Updates and deletes are forwarded too, with the caller's trace id.
        trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        up = self.http("PUT", "/api/v1/admin/config", server=f2,
                       headers={"traceparent": "00-%s-00f067aa0ba902b7-01" % trace},
                       json_body={"namespace": "svc", "key": "direct", "value": {"v": 2}})
        self.check_envelope(up)
        self.assertEqual((up.code, up.data.get("version")), (0, 2), up.describe())
        self.assertEqual(up.header("traceparent").split("-")[1], trace,
                         "the forwarded write keeps the caller's trace id: " + up.describe())
        self.assertEqual(self.create_on(f1, "svc", "gone", 1).code, 0)
        rm = self.http("DELETE", "/api/v1/admin/config", server=f2,
                       json_body={"namespace": "svc", "key": "gone"})
        self.check_envelope(rm)
        self.assertEqual(rm.code, 0, rm.describe())
        self.assertEqual(self.read(self.leader, "svc", "gone").code, 40403)
        # A bad body sent to a follower gets the same error, with the caller's request id.
        bad = self.http("POST", "/api/v1/admin/config", server=f1, body="{not json",
                        headers={"X-Request-ID": "e2e-bad-1"})
        self.check_envelope(bad, request_id="e2e-bad-1")
        self.assertEqual(bad.code, 40001, bad.describe())

        for n in self.cluster.live():
            self.wait_value(n, "svc", "direct", {"v": 2})
            self.wait_value(n, "svc", "forwarded", {"via": "follower"})
            self.wait_value(n, "svc", "forwarded2", [1, 2, 3])

        # consistency=strong on a follower sees a write as soon as it was acknowledged.
        for i in range(10):
            writer = (self.leader, f1, f2)[i % 3]
            reader = (f1, f2)[i % 2]
            r = self.http("PUT", "/api/v1/admin/config", server=writer,
                          json_body={"namespace": "svc", "key": "direct", "value": {"v": 10 + i}})
            self.check_envelope(r)
            self.assertEqual(r.code, 0, r.describe())
            g = self.read(reader, "svc", "direct", strong=True)
            self.check_envelope(g)
            self.assertEqual(g.code, 0, g.describe())
            self.assertEqual(g.data["value"], {"v": 10 + i},
                             "strong read on %r right after an acknowledged write: %s"
                             % (reader, g.describe()))
            self.assertEqual(g.data["version"], 3 + i, g.describe())
        self.wait_converged()


class Failures(ClusterCase):

    def test_kill9_follower_then_it_catches_up(self):
        self.ensure_ns("svc")
        victim, other = self.followers()
        acked = {}
        for i in range(10):
            acked["a%d" % i] = i
            self.assertEqual(self.create_on(self.leader, "svc", "a%d" % i, i).code, 0)
        self.assertEqual(victim.kill9(), -signal.SIGKILL)
        for i in range(30):
            node = (self.leader, other)[i % 2]
            r = self.write_until_ok(lambda: self.create_on(node, "svc", "b%d" % i, {"i": i}),
                                    what="write with one follower down")
            self.assertEqual(r.code, 0)
            acked["b%d" % i] = {"i": i}
        victim.start()
        self.wait_converged()
        self.assert_all_present(self.cluster.live(), "svc", acked)

    def test_kill9_leader_new_leader_keeps_every_acknowledged_write(self):
        self.ensure_ns("svc")
        old = self.leader
        w = Writer(self, "svc", self.cluster.live, threads=3, prefix="w").start()
        ok, _ = eventually(lambda: w.count() >= 30, 30)
        self.assertTrue(ok, "no writes acknowledged before the kill: %s" % w.errors[:3])
        self.assertEqual(old.kill9(), -signal.SIGKILL)
        survivors = self.cluster.live()
        new = self.wait_leader(among=survivors, not_id=old.raft_id)
        self.assertNotEqual(new.raft_id, old.raft_id)
        before = w.count()
        ok, _ = eventually(lambda: w.count() >= before + 30, 30)
        w.stop()
        self.assertTrue(ok, "writes did not go on after the leader died (acked %d -> %d): %s"
                        % (before, w.count(), w.errors[:3]))
        self.assertEqual(w.errors, [], "unexpected answers during failover")
        # Writes through the new leader and its follower.
        for i, n in enumerate(survivors):
            r = self.write_until_ok(lambda: self.create_on(n, "svc", "after%d" % i, i))
            w.acked["after%d" % i] = i
            self.assertEqual(r.code, 0)
        self.wait_converged(survivors)
        self.assert_all_present(survivors, "svc", w.acked)
        old.start()
        self.wait_converged()
        self.assert_all_present([old], "svc", w.acked)
        self.wait_leader()

    def test_acknowledged_writes_survive_kill9_of_every_node(self):
        self.ensure_ns("svc")
        w = Writer(self, "svc", self.cluster.live, threads=4, prefix="k").start()
        ok, _ = eventually(lambda: w.count() >= 200, 60)
        self.assertTrue(ok, "writes were not acknowledged: %d, %s" % (w.count(), w.errors[:3]))
        # Kill every node in the middle of the load.
        self.cluster.kill_all(signal.SIGKILL)
        w.stop()
        acked = dict(w.acked)
        self.assertEqual(w.errors, [])
        for n in self.cluster.all():
            n.spawn()
        for n in self.cluster.all():
            n.wait_up()
        self.leader = self.wait_leader()
        self.wait_converged()
        self.assert_all_present(self.cluster.live(), "svc", acked)
        # Keys tried but not acknowledged may or may not exist; wait_converged has checked that
        # every node agrees on them. The cluster takes writes again.
        r = self.write_until_ok(lambda: self.create_on(self.leader, "svc", "after", 1))
        self.assertEqual(r.code, 0)

    def test_torn_wal_tail_is_truncated_and_the_node_catches_up(self):
        self.ensure_ns("svc")
        victim = self.followers()[0]
        acked = {}
        for variant in ("cut", "garbage"):
            with self.subTest(variant=variant):
                for i in range(20):
                    k = "%s%d" % (variant, i)
                    r = self.write_until_ok(lambda: self.create_on(self.leader, "svc", k, i))
                    self.assertEqual(r.code, 0)
                    acked[k] = i
                self.wait_converged()
                self.assertEqual(victim.kill9(), -signal.SIGKILL)
                wal_dir = os.path.join(victim.data_dir, "wal")
                segments = sorted(glob.glob(os.path.join(wal_dir, "*.wal")))
                self.assertTrue(segments, "no WAL segment (*.wal) in %s; data dir holds %s"
                                % (wal_dir, sorted(os.listdir(victim.data_dir))))
                newest = segments[-1]
                size = os.path.getsize(newest)
                self.assertGreater(size, 16, newest)
                if variant == "cut":
                    with open(newest, "r+b") as f:
                        f.truncate(size - 7)  # the last record loses its end
                else:
                    with open(newest, "ab") as f:
                        f.write(b"\x5a\x17\x00\x00\xff\xff\x00\x00\x01torn-garbage" * 3)
                # The cluster goes on meanwhile.
                for i in range(5):
                    k = "%s-while-down%d" % (variant, i)
                    r = self.write_until_ok(lambda: self.create_on(self.leader, "svc", k, i))
                    acked[k] = i
                victim.start()
                self.wait_converged()
                self.assert_all_present([victim], "svc", acked)
                self.leader = self.wait_leader()


class QuorumLoss(ClusterCase):
    CLUSTER_ARGS = ("--proposal-timeout", "2s", "--stale-read-bound", "1s")

    def _assert_all_or_nothing(self, keys, value_of):
        """After recovery: on every node, either every key of the batch is there with its value
        or none is (and all nodes agree, checked by wait_converged)."""
        self.wait_converged()
        for n in self.cluster.live():
            found = {}
            for k in keys:
                r = self.read(n, "svc", k)
                self.check_envelope(r)
                self.assertIn(r.code, (0, 40403), r.describe())
                if r.code == 0:
                    self.assertEqual(r.data["value"], value_of(k), r.describe())
                    found[k] = True
            self.assertIn(len(found), (0, len(keys)),
                          "half-applied batch on %r: %s of %s" % (n, sorted(found), keys))

    def _write_without_quorum(self, node, keys):
        body = {"namespace": "svc",
                "operations": [{"op": "create", "key": k, "value": {"k": k}} for k in keys]}
        r = self.http("POST", "/api/v1/admin/config/batch", server=node, json_body=body)
        self.check_envelope(r)
        self.assertIn(r.code, (50302, 50003),
                      "a write without a quorum answers 503/50302 or 500/50003: " + r.describe())
        if r.code == 50003:
            self.assertIn("commit", r.error["details"].lower(),
                          "50003 details should say whether the write may still commit: "
                          + r.describe())
        return r

    def test_survivor_leader_without_quorum(self):
        self.ensure_ns("svc")
        self.assertEqual(self.create_on(self.leader, "svc", "before", 1).code, 0)
        self.wait_converged()
        for f in self.followers():
            f.kill9()
        keys = ["lq-a", "lq-b", "lq-c"]
        self._write_without_quorum(self.leader, keys)
        # A single create too (not a batch): the same answers.
        r = self.create_on(self.leader, "svc", "lq-single", 1)
        self.check_envelope(r)
        self.assertIn(r.code, (50302, 50003), r.describe())
        for n in self.cluster.all():
            if not n.alive():
                n.start()
        self.leader = self.wait_leader()
        self._assert_all_or_nothing(keys, lambda k: {"k": k})
        self._assert_all_or_nothing(["lq-single"], lambda k: 1)
        self.assertEqual(self.write_until_ok(
            lambda: self.create_on(self.leader, "svc", "after", 2)).code, 0)

    def test_survivor_follower_without_quorum(self):
        self.ensure_ns("svc")
        self.assertEqual(self.create_on(self.leader, "svc", "before", 1).code, 0)
        self.wait_converged()
        survivor = self.followers()[0]
        for n in self.cluster.live():
            if n is not survivor:
                n.kill9()
        keys = ["fq-a", "fq-b"]
        self._write_without_quorum(survivor, keys)
        # Local reads still work, and say they may be stale once the leader is silent for
        # longer than the stale bound (1 s here).
        def degraded():
            r = self.read(survivor, "svc", "before")
            self.check_envelope(r)
            return r.code == 0 and r.data.get("degraded") is True and r
        r, last = eventually(degraded, 15)
        self.assertTrue(r, "a read on a follower cut off from the leader should carry "
                           "degraded: true; last: %s" % getattr(last, "describe", lambda: last)())
        self.assertEqual(r.data["value"], 1)
        strong = self.read(survivor, "svc", "before", strong=True)
        self.check_envelope(strong)
        self.assertIn(strong.code, (50302, 50003), "strong read without a leader: "
                      + strong.describe())
        for n in self.cluster.all():
            if not n.alive():
                n.start()
        self.leader = self.wait_leader()
        self._assert_all_or_nothing(keys, lambda k: {"k": k})
        r = self.read(survivor, "svc", "before")
        self.assertEqual(r.code, 0, r.describe())
        self.assertFalse(r.data.get("degraded", False), "degraded after the leader is back: "
                         + r.describe())


class Snapshots(ClusterCase):
    CLUSTER_ARGS = ("--snapshot-threshold", "50")

    def test_follower_behind_a_compacted_log_installs_a_snapshot(self):
        self.ensure_ns("svc")
        victim = self.followers()[0]
        self.assertEqual(victim.kill9(), -signal.SIGKILL)
        acked = {}
        for i in range(300):
            k = "s%03d" % (i % 120)  # creates then updates
            v = {"i": i}
            if k in acked:
                r = self.write_until_ok(lambda: self.http(
                    "PUT", "/api/v1/admin/config", server=self.leader,
                    json_body={"namespace": "svc", "key": k, "value": v}))
            else:
                r = self.write_until_ok(lambda: self.create_on(self.leader, "svc", k, v))
            acked[k] = v
        # The leader compacted its log: snapshots (DATA/snap/snap-<index>-<term>.db) were taken
        # every 50 entries, so the follower, still at the start of the log, needs one.
        snaps = glob.glob(os.path.join(self.leader.data_dir, "snap", "snap-*.db"))
        newest = max([int(os.path.basename(f).split("-")[1]) for f in snaps] or [0])
        self.assertGreaterEqual(newest, 250, "no recent snapshot on the leader with "
                                "--snapshot-threshold 50: %s" % snaps)
        victim.start()
        self.wait_converged()
        self.assert_all_present([victim], "svc", acked)
        # The restored follower keeps replicating normally.
        r = self.write_until_ok(lambda: self.create_on(victim, "svc", "after-snapshot", True))
        self.assertEqual(r.code, 0)
        self.wait_value(victim, "svc", "after-snapshot", True)

    def test_whole_cluster_restored_from_a_snapshot_file(self):
        # docs/cluster.md, "Backup and restore": every node restarts from the same backup with
        # an empty log; the cluster goes on from the backup's state.
        self.ensure_ns("svc")
        for i in range(120):
            self.write_until_ok(lambda: self.create_on(self.leader, "svc", "b%03d" % i, i))
        self.wait_converged()
        snaps = sorted(glob.glob(os.path.join(self.leader.data_dir, "snap", "snap-*.db")))
        self.assertTrue(snaps, "no snapshot to back up")
        backup = os.path.join(self.tmp, "backup.db")
        shutil.copyfile(snaps[-1], backup)
        backed_up_to = int(os.path.basename(snaps[-1]).split("-")[1])
        self.cluster.kill_all(signal.SIGTERM)
        for n in self.cluster.all():
            shutil.rmtree(n.data_dir)
            os.makedirs(n.data_dir)
            shutil.copyfile(backup, os.path.join(n.data_dir, "cairn.db"))
        for n in self.cluster.all():
            n.spawn()
        for n in self.cluster.all():
            n.wait_up()
        self.leader = self.wait_leader()
        self.wait_converged()
        applied = {n.raft_id: self.vars(n)["applied_index"] for n in self.cluster.all()}
        self.assertTrue(all(a >= backed_up_to for a in applied.values()), applied)
        # What the backup held is there; the cluster takes writes again.
        r = self.read(self.leader, "svc", "b000")
        self.assertEqual((r.code, r.data["value"]), (0, 0))
        r = self.write_until_ok(lambda: self.create_on(self.leader, "svc", "after-restore", 1))
        self.assertEqual(r.code, 0)
        self.wait_converged()
        self.wait_converged()


class WatchAcrossNodes(ClusterCase):

    def test_long_poll_on_a_follower_sees_a_write_through_the_leader(self):
        self.ensure_ns("svc")
        self.assertEqual(self.create_on(self.leader, "svc", "a", 1).code, 0)
        follower = self.followers()[0]
        _, rev, _ = self.wait_converged()
        box = {}

        def run():
            box["r"] = self.http("GET", "/api/v1/config/watch", server=follower, timeout=30,
                                 params={"namespace": "svc", "revision": rev, "timeout": "20s",
                                         "include_values": "true"})
        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.addCleanup(t.join, 30)
        held, _ = eventually(lambda: self.vars(follower).get("watch_held_polls") == 1, 10)
        self.assertTrue(held, "the follower never held the long poll")
        r = self.http("PUT", "/api/v1/admin/config", server=self.leader,
                      json_body={"namespace": "svc", "key": "a", "value": {"new": True}})
        self.assertEqual(r.code, 0, r.describe())
        t.join(25)
        self.assertIn("r", box, "the watch on the follower did not answer")
        w = box["r"]
        self.check_envelope(w)
        self.assertEqual(w.code, 0, w.describe())
        self.assertIs(w.data["changed"], True, w.describe())
        self.assertEqual(w.data["revision"], rev + 1, w.describe())
        self.assertEqual(w.data["changes"], [{"key": "a", "operation": "UPDATE", "version": 2,
                                              "revision": rev + 1, "value": {"new": True}}])


class Membership(ClusterCase):

    def test_transfer_leadership(self):
        self.ensure_ns("svc")
        for target in [n.raft_id for n in self.followers()]:
            r = self.http("POST", TRANSFER, server=self.leader, json_body={"to": target})
            if r.status == 404 and r.code in (None, 40401):
                self.fail("POST %s answers 404: no transfer endpoint. %s"
                          % (TRANSFER, r.describe()))
            self.check_envelope(r)
            self.assertEqual(r.code, 0, r.describe())
            new = self.wait_leader()
            if new.raft_id != target:
                # A transfer may lose to an election; it must still end with the target after
                # asking again (bounded).
                def settled():
                    cur = self.wait_leader()
                    if cur.raft_id == target:
                        return cur
                    self.http("POST", TRANSFER, server=cur, json_body={"to": target})
                    return None
                new, _ = eventually(settled, 20, 0.3)
                self.assertTrue(new, "leadership never moved to node%d" % target)
            self.assertEqual(new.raft_id, target)
            self.leader = new
            r = self.write_until_ok(lambda: self.create_on(self.leader, "svc", "t%d" % target, 1))
            self.assertEqual(r.code, 0)
        # Asked on a follower: forwarded, or refused with the envelope; never a crash.
        f = self.followers()[0]
        r = self.http("POST", TRANSFER, server=f, json_body={"to": f.raft_id})
        self.check_envelope(r)
        self.wait_converged()

    def test_add_a_learner_promote_it_and_remove_it(self):
        self.ensure_ns("svc")
        acked = {}
        for i in range(40):
            self.assertEqual(self.create_on(self.leader, "svc", "m%d" % i, i).code, 0)
            acked["m%d" % i] = i
        n4 = self.cluster.add_node(4, join=True)
        n4.start()
        r = self.http("POST", MEMBERS, server=self.leader,
                      json_body={"id": 4, "peer": n4.peer, "http": n4.http_addr})
        if r.status == 404 and r.code in (None, 40401):
            self.fail("POST %s answers 404: no membership endpoint. %s" % (MEMBERS, r.describe()))
        self.check_envelope(r)
        self.assertEqual(r.code, 0, r.describe())

        def promoted():
            s = self.status(self.wait_leader(among=self.cluster.live()))
            m = [m for m in s["members"] if m["id"] == 4]
            return m and m[0].get("voter") is True and m[0]
        m, _ = eventually(promoted, 30, 0.1)
        self.assertTrue(m, "node4 was never promoted to voter: %s"
                        % json.dumps(self.status(self.leader)["members"]))
        self.assertEqual((m["peer"], m["http"]), (n4.peer, n4.http_addr))
        self.wait_converged()
        self.assert_all_present([n4], "svc", acked)
        # The new node takes writes (forwarded) and reads them back.
        r = self.write_until_ok(lambda: self.create_on(n4, "svc", "via4", 4))
        acked["via4"] = 4
        self.wait_converged()
        self.assert_all_present(self.cluster.live(), "svc", acked)
        s4 = self.status(n4)
        self.assertEqual(sorted(x["id"] for x in s4["members"]), [1, 2, 3, 4], s4)

        # Remove it again.
        leader = self.wait_leader()
        r = self.http("DELETE", MEMBERS + "/4", server=leader)
        self.check_envelope(r)
        self.assertEqual(r.code, 0, r.describe())

        def removed():
            sts = self.statuses([n for n in self.cluster.live() if n.raft_id != 4])
            return all(sorted(x["id"] for x in s["members"]) == [1, 2, 3] for s in sts.values())
        ok, _ = eventually(removed, 20)
        self.assertTrue(ok, "node4 still listed: %s" % self.statuses())
        n4.stop()
        self.leader = self.wait_leader()
        r = self.write_until_ok(lambda: self.create_on(self.leader, "svc", "after-remove", 1))
        self.assertEqual(r.code, 0)
        self.wait_converged()


class MembershipRestart(ClusterCase):

    def test_an_added_member_survives_a_restart_of_every_node(self):
        self.ensure_ns("svc")
        old3 = self.cluster.all()
        n4 = self.cluster.add_node(4, join=True)
        n4.start()
        r = self.write_until_ok(lambda: self.http(
            "POST", MEMBERS, server=self.wait_leader(among=old3),
            json_body={"id": 4, "peer": n4.peer, "http": n4.http_addr}), what="add node4")

        def voter4():
            # Once a voter, node4 may win an election itself: ask the old members directly.
            return any(any(m["id"] == 4 and m.get("voter") is True for m in s["members"])
                       for s in self.statuses(old3).values())
        ok, _ = eventually(voter4, 30, 0.1)
        self.assertTrue(ok, "node4 never became a voter: %s" % self.statuses())
        acked = {}
        for i in range(10):
            r = self.write_until_ok(lambda: self.create_on(n4, "svc", "r%d" % i, i))
            acked["r%d" % i] = i
        self.wait_converged()
        self.cluster.kill_all(signal.SIGKILL)
        for n in self.cluster.all():
            n.spawn()
        for n in self.cluster.all():
            n.wait_up()
        self.leader = self.wait_leader()  # node4 included: it may lead
        self.assert_member_addresses(old3)
        self.leader = self.wait_leader()
        # Whoever leads now, node4 gets new writes; then move leadership to every node in turn.
        for target in (1, 2, 3, 4):
            leader = self.wait_leader()
            if leader.raft_id != target:
                self.try_http("POST", TRANSFER, leader, json_body={"to": target})
            k = "after-restart-%d" % target
            r = self.write_until_ok(lambda: self.create_on(self.wait_leader(), "svc", k, target))
            acked[k] = target
            self.wait_converged()
        self.assert_all_present(self.cluster.live(), "svc", acked)


class Pauses(ClusterCase):
    """SIGSTOP/SIGCONT by PID: a stalled process, not a dead one. Slower ticks than the other
    cases (election timeout 0.5-1 s) so that a busy test machine does not cause elections of its
    own while the test checks that none happened."""

    RAFT_ARGS = ("--raft-tick", "50ms", "--election-ticks", "10")

    def _pause(self, node):
        node.pause()
        self.addCleanup(self._resume_quietly, node)

    def _resume_quietly(self, node):
        if node.alive():
            with contextlib.suppress(ProcessLookupError):
                node.resume()

    def test_paused_follower_rejoins_without_deposing_the_leader(self):
        self.ensure_ns("svc")
        self.wait_converged()
        leader = self.leader
        term = self.status(leader)["term"]
        victim = self.followers()[0]
        self._pause(victim)
        acked = {}
        # Several election timeouts of writes while it is stopped.
        for i in range(40):
            r = self.write_until_ok(lambda: self.create_on(leader, "svc", "p%d" % i, i))
            acked["p%d" % i] = i
        time.sleep(2.5)  # let the stopped node's election timer run out (no timing asserted)
        victim.resume()
        self.wait_converged()
        self.assert_all_present(self.cluster.live(), "svc", acked)
        s = self.status(leader)
        self.assertEqual((s["role"], s["term"]), ("leader", term),
                         "the resumed follower deposed the leader (pre-vote should prevent "
                         "it): %s" % s)
        self.assertEqual(self.wait_leader().raft_id, leader.raft_id)

    def test_paused_leader_is_replaced_and_steps_down(self):
        self.ensure_ns("svc")
        self.wait_converged()
        old = self.leader
        self._pause(old)
        others = [n for n in self.cluster.live() if n is not old]
        new = self.wait_leader(among=others, not_id=old.raft_id)
        # A write sent to the stalled old leader waits in its socket until it resumes.
        box = {}

        def write_to_old():
            box["r"] = self.try_http("POST", "/api/v1/admin/config", old, timeout=30,
                                     json_body={"namespace": "svc", "key": "to-old",
                                                "value": "x"})
        t = threading.Thread(target=write_to_old, daemon=True)
        t.start()
        self.addCleanup(t.join, 30)
        acked = {}
        for i in range(20):
            r = self.write_until_ok(lambda: self.create_on(new, "svc", "n%d" % i, i))
            acked["n%d" % i] = i
        time.sleep(0.3)
        old.resume()
        t.join(30)
        self.assertIn("r", box, "the write held by the paused leader never answered")
        r = box["r"]
        self.assertIsNotNone(r, "the resumed old leader dropped the connection")
        self.check_envelope(r)
        self.assertIn(r.code, (0, 50302, 50003), r.describe())
        self.leader = self.wait_leader()
        self.assertNotEqual(self.status(old)["role"], "leader")
        self.wait_converged()
        if r.code == 0:
            acked["to-old"] = "x"
        self.assert_all_present(self.cluster.live(), "svc", acked)


class Chaos(ClusterCase):
    """Seeded random kill -9 / restart / leadership transfer under a write load, then: no
    acknowledged write is missing and every node agrees. CAIRN_CHAOS_SEED replays a run."""

    ROUNDS = 20

    def test_random_faults_under_load(self):
        import random
        seed = int(os.environ.get("CAIRN_CHAOS_SEED", "0") or 0) or random.randrange(1, 10**6)
        rnd = random.Random(seed)
        ctx = "chaos seed %d (CAIRN_CHAOS_SEED=%d replays the schedule)" % (seed, seed)
        self.ensure_ns("svc")
        w = Writer(self, "svc", self.cluster.live, threads=3, prefix="c").start()
        log = []
        for rnd_i in range(self.ROUNDS):
            down = [n for n in self.cluster.all() if not n.alive()]
            action = rnd.choice(["kill_leader", "kill_follower", "transfer", "restart"]
                                if not down else ["restart", "restart", "transfer"])
            if action == "restart" and down:
                n = rnd.choice(down)
                n.start()
            elif action == "kill_leader":
                self.leader = self.wait_leader()
                n = self.leader
                n.kill9()
            elif action == "kill_follower":
                self.leader = self.wait_leader()
                n = rnd.choice(self.followers())
                n.kill9()
            elif action == "transfer":
                self.leader = self.wait_leader()
                fs = self.followers()
                if fs:
                    n = rnd.choice(fs)
                    self.try_http("POST", TRANSFER, self.leader, json_body={"to": n.raft_id})
                else:
                    n = None
            else:
                n = None
            log.append((rnd_i, action, n.raft_id if n else None))
            before = w.count()
            ok, _ = eventually(lambda: w.count() >= before + 5, 30)
            self.assertTrue(ok, "writes stopped after round %d %s; %s; errors %s"
                            % (rnd_i, log[-1], ctx, w.errors[:3]))
        for n in self.cluster.all():
            if not n.alive():
                n.start()
        w.stop()
        self.assertEqual(w.errors, [], ctx)
        self.leader = self.wait_leader()
        self.wait_converged()
        try:
            self.assert_all_present(self.cluster.live(), "svc", w.acked)
        except AssertionError as e:
            raise AssertionError("%s; %s; rounds %s" % (e, ctx, log))


class MembershipUnderLoad(ClusterCase):

    def test_add_a_node_and_remove_an_old_one_while_writing(self):
        self.ensure_ns("svc")
        w = Writer(self, "svc", lambda: [n for n in self.cluster.live()], threads=2,
                   prefix="u").start()
        ok, _ = eventually(lambda: w.count() >= 20, 30)
        self.assertTrue(ok, w.errors[:3])
        old3 = self.cluster.all()
        n4 = self.cluster.add_node(4, join=True)
        n4.start()
        r = self.write_until_ok(lambda: self.http(
            "POST", MEMBERS, server=self.wait_leader(among=old3),
            json_body={"id": 4, "peer": n4.peer, "http": n4.http_addr}), what="add node4")

        def voter4():
            # Once a voter, node4 may win an election itself: ask the old members directly.
            return any(any(m["id"] == 4 and m.get("voter") is True for m in s["members"])
                       for s in self.statuses(old3).values())
        ok, _ = eventually(voter4, 30, 0.1)
        self.assertTrue(ok, "node4 never became a voter: %s" % self.statuses())
        # Remove the leader that added node4: the new leader must know node4's addresses too
        # (they are part of the replicated membership, not only of the old leader's memory).
        # (node4 is a voter now and may itself lead; then an old member goes instead.)
        gone = self.wait_leader()
        if gone is n4:
            gone = old3[0]
        remaining = [n for n in self.cluster.all() if n is not gone]
        r = self.write_until_ok(lambda: self.http("DELETE", MEMBERS + "/%d" % gone.raft_id,
                                                  server=self.wait_leader()),
                                what="remove node%d" % gone.raft_id)
        self.assertEqual(r.code, 0)
        want = sorted(n.raft_id for n in remaining)

        def removed():
            sts = self.statuses(remaining)
            return len(sts) == 3 and all(sorted(m["id"] for m in s["members"]) == want
                                         for s in sts.values())
        ok, _ = eventually(removed, 30, 0.1)
        self.assertTrue(ok, "node%d still a member: %s" % (gone.raft_id,
                                                           self.statuses(remaining)))
        self.assert_member_addresses(remaining)
        self.leader = self.wait_leader(among=remaining)
        gone.stop()
        before = w.count()
        ok, _ = eventually(lambda: w.count() >= before + 20, 30)
        w.stop()
        self.assertTrue(ok, "writes stopped after the membership changes: %s" % w.errors[:3])
        self.assertEqual(w.errors, [])
        self.wait_converged(remaining)
        self.assert_all_present(remaining, "svc", w.acked)


class FiveNodes(ClusterCase):
    SIZE = 5

    def test_survives_kill9_of_two_nodes(self):
        self.ensure_ns("svc")
        sts = self.statuses()
        self.assertEqual(sorted(sts), [1, 2, 3, 4, 5])
        for s in sts.values():
            self.assertEqual(sorted(m["id"] for m in s["members"]), [1, 2, 3, 4, 5], s)
        w = Writer(self, "svc", self.cluster.live, threads=3, prefix="f").start()
        ok, _ = eventually(lambda: w.count() >= 30, 30)
        self.assertTrue(ok, w.errors[:3])
        old = self.leader
        victims = [old, self.followers(old)[0]]
        for v in victims:
            v.kill9()
        survivors = self.cluster.live()
        self.assertEqual(len(survivors), 3)
        self.leader = self.wait_leader(among=survivors, not_id=old.raft_id)
        before = w.count()
        ok, _ = eventually(lambda: w.count() >= before + 30, 30)
        w.stop()
        self.assertTrue(ok, "writes did not go on with 3 of 5 nodes: %s" % w.errors[:3])
        self.assertEqual(w.errors, [])
        self.wait_converged(survivors)
        self.assert_all_present(survivors, "svc", w.acked)
        for v in victims:
            v.start()
        self.wait_converged()
        self.assert_all_present(victims, "svc", w.acked)


class ClusterIdIsolation(ClusterCase):
    CLUSTER_ID = "alpha"

    def test_a_node_of_another_cluster_never_joins(self):
        self.ensure_ns("alpha-only")
        self.assertEqual(self.create_on(self.leader, "alpha-only", "k", 1).code, 0)
        a1, a2 = self.cluster.nodes[1], self.cluster.nodes[2]
        # A stranger that claims to be member 3 of a cluster made of alpha's nodes 1 and 2.
        beta = Cluster(self.tmp, 0, cluster_id="beta", name="beta")
        self.addCleanup(beta.stop_all)
        used = self.cluster.used_ports()
        stranger = beta.make_node(3, distinct_port(used), distinct_port(used))
        members = "1@%s@%s,2@%s@%s,3@%s@%s" % (a1.peer, a1.http_addr, a2.peer, a2.http_addr,
                                               stranger.peer, stranger.http_addr)
        stranger.members_fn = lambda: members
        stranger.start()
        deadline = time.monotonic() + 4.0  # 20 election timeouts
        seen = []
        while time.monotonic() < deadline:
            s = self.status(stranger)
            seen.append((s["role"], s["leader"], s["term"]))
            self.assertNotEqual(s["role"], "leader", "the stranger became leader: %s" % s)
            self.assertIn(s["leader"], (0, None, 3),
                          "the stranger follows a leader of another cluster: %s" % s)
            self.assertEqual(self.vars(stranger)["revision"], 0,
                             "the stranger received another cluster's data")
            for n in self.cluster.live():
                st = self.status(n)
                self.assertEqual(sorted(m["id"] for m in st["members"]), [1, 2, 3], st)
            time.sleep(0.2)
        self.assertTrue(stranger.alive(), "the stranger should keep running: " +
                        stranger.log_tail())
        r = self.read(stranger, "alpha-only", "k")
        self.check_envelope(r)
        self.assertNotEqual(r.code, 0, "alpha's data on the beta node: " + r.describe())
        # Alpha is undisturbed: still one leader, writes go on, all three agree.
        self.leader = self.wait_leader(among=self.cluster.live())
        r = self.write_until_ok(lambda: self.create_on(self.leader, "alpha-only", "k2", 2))
        self.assertEqual(r.code, 0)
        self.wait_converged()


class DevCommand(CairnTestCase):
    """`cairn dev --nodes 3 --http-port P --data-dir D` (issue 4's acceptance): a working
    cluster; killing the leader's PID leaves one that accepts writes with every acknowledged
    write intact; SIGTERM stops every node."""

    START_SERVER = False

    def start_dev(self, nodes=3):
        """Starts `cairn dev` on consecutive free ports (the launcher retries other ports when
        one is in use) and waits for its "leader: node" line."""
        dev = DevCluster(os.path.join(self.tmp, "dev"), nodes,
                         server_args=["--raft-tick", "20ms", "--access-log=false"],
                         log_path=os.path.join(self.tmp, "dev.out"))
        self.addCleanup(dev.stop, signal.SIGKILL)
        try:
            dev.start(timeout=40)
        except RuntimeError as e:
            self.fail(str(e))
        eventually(lambda: "leader: node" in dev.output() or not dev.alive(), 40, 0.1)
        if "leader: node" not in dev.output():
            self.fail("cairn dev did not report a leader:\n" + dev.output())
        return dev

    def node(self, port):
        return type("Addr", (), {"port": port})()

    def test_dev_cluster_survives_killing_the_leader_and_stops_on_sigterm(self):
        dev = self.start_dev(3)
        base = dev.http_port
        out = dev.output()
        for i in range(3):
            self.assertIn("http://127.0.0.1:%d" % (base + i), out, out)
        nodes = [self.node(base + i) for i in range(3)]
        pids = dev.node_pids()
        self.assertEqual(sorted(pids), [1, 2, 3], "each node writes DATA/node<i>/cairn.pid")
        r = self.call("POST", "/api/v1/admin/namespace", json_body={"name": "demo"},
                      server=nodes[0])
        acked = {}
        for i in range(10):
            r = self.call("POST", "/api/v1/admin/config", server=nodes[i % 3],
                          json_body={"namespace": "demo", "key": "k%d" % i, "value": i})
            acked["k%d" % i] = i
        st = self.call("GET", "/api/v1/cluster/status", server=nodes[2]).data
        leader = st["leader"]
        self.assertIn(leader, (1, 2, 3), st)
        os.kill(pids[leader], signal.SIGKILL)
        survivors = [nodes[i - 1] for i in (1, 2, 3) if i != leader]

        def write_ok(i):
            def attempt():
                r = raw_request(survivors[i % 2].port, "POST", "/api/v1/admin/config",
                                body=json.dumps({"namespace": "demo", "key": "after%d" % i,
                                                 "value": i}))
                return r.code == 0 and r
            r, last = eventually(attempt, 20, 0.1)
            self.assertTrue(r, "no write accepted after the leader's PID was killed: %s"
                            % getattr(last, "describe", lambda: last)())
        for i in range(5):
            write_ok(i)
            acked["after%d" % i] = i
        for n in survivors:
            for k, v in acked.items():
                g = self.call("GET", "/api/v1/config/get", server=n,
                              params={"namespace": "demo", "key": k, "consistency": "strong"})
                self.assertEqual(g.data["value"], v, g.describe())
        ok, _ = eventually(lambda: "node%d (pid %d" % (leader, pids[leader]) in dev.output(), 10)
        self.assertTrue(ok, "cairn dev did not report the killed node:\n" + dev.output())
        self.assertIn("killed by signal 9", dev.output())
        rc = dev.stop(signal.SIGTERM, nodes_too=False)
        self.assertEqual(rc, 0, dev.output())
        for i, pid in pids.items():
            self.assertFalse(pid_alive(pid), "node%d (pid %d) still running after cairn dev "
                             "stopped" % (i, pid))
        self.assertRegex(dev.output(), re.compile(r"cairn dev: stopped"))


if __name__ == "__main__":
    unittest.main()
