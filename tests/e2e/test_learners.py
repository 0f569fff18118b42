"""Learners (issue 21 §5, docs/scaling.md): 3 voters + 2 nodes added through the membership API
as non-voting members (`POST /api/v1/admin/cluster/members {"voter": false}`); watchers held on
those two nodes — long polls that re-poll from each answer's revision, with and without
`include_values`, and SSE streams — see every change of a series of writes, in order, none
missed, none twice.

Nothing here asserts on how long something took; every wait is bounded.
"""

import json
import threading
import unittest

from cluster import MEMBERS, ClusterCase, eventually
from harness import raw_request
from test_watch import SseReader

NS = "fan"
CREATES = 40     # distinct keys: a long poll sees each one on its own
UPDATES = 20     # updates of one key: the stream sees every version, a long poll the latest


class LongPoller(threading.Thread):
    """Long-polls `NS` on one node from `revision`, each next poll from the answer's revision,
    until stop(); records every change in the order answered."""

    def __init__(self, port, revision, include_values):
        super().__init__(daemon=True)
        self.port = port
        self.revision = revision
        self.include_values = include_values
        self.changes = []
        self.answers = 0
        self.errors = []
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            target = "/api/v1/config/watch?namespace=%s&revision=%d&timeout=2s%s" % (
                NS, self.revision, "&include_values=true" if self.include_values else "")
            try:
                r = raw_request(self.port, "GET", target, timeout=10)
            except OSError as e:
                self.errors.append(repr(e))
                continue
            if r.status != 200 or not isinstance(r.data, dict):
                self.errors.append(r.describe())
                continue
            d = r.data
            if d.get("reset"):
                self.errors.append("reset at revision %d: %s" % (self.revision, r.text[:300]))
                return
            self.answers += 1
            if d.get("changed"):
                self.changes.extend(d["changes"])
            self.revision = d["revision"]

    def stop(self):
        self._halt.set()


class Learners(ClusterCase):
    SIZE = 3

    def add_learner(self, raft_id):
        node = self.cluster.add_node(raft_id, join=True)
        node.start()
        leader = self.wait_leader(among=self.base)
        r = self.http("POST", MEMBERS, server=leader,
                      json_body={"id": raft_id, "peer": node.peer, "http": node.http_addr,
                                 "voter": False})
        self.check_envelope(r)
        self.assertEqual(r.code, 0, r.describe())
        return node

    def setUp(self):
        super().setUp()
        self.base = self.cluster.all()
        self.ensure_ns(NS)
        # Writes before the learners join: they get them from the log (or a snapshot).
        for i in range(10):
            self.assertEqual(self.create_on(self.leader, NS, "before%02d" % i, i).code, 0)
        self.learners = [self.add_learner(4), self.add_learner(5)]
        self.wait_converged()

    def members(self):
        s = self.status(self.wait_leader(among=self.base))
        return {m["id"]: m for m in s["members"]}

    def test_watchers_on_two_learners_see_every_change_in_order(self):
        # Start every watcher from the same revision, read on the learner it watches.
        start = {}
        for n in self.learners:
            start[n.raft_id] = self.ns_read(NS, server=n).data["version"]
        pollers, streams = [], []
        for n in self.learners:
            for iv in (False, True):
                p = LongPoller(n.port, start[n.raft_id], iv)
                p.start()
                pollers.append((n, p))
            streams.append((n, SseReader(n.port, {"namespace": NS,
                                                  "revision": start[n.raft_id],
                                                  "include_values": "true"}, timeout=30)))
        self.addCleanup(lambda: [p.stop() for _, p in pollers])
        self.addCleanup(lambda: [s.close() for _, s in streams])
        for n, _ in streams:
            self.assertTrue(eventually(lambda: self.vars(n)["watch_open_streams"] >= 1, 20)[0],
                            "the stream on node %d never opened" % n.raft_id)

        # The series: sequential writes (each acknowledged before the next), through the leader
        # and through a voter follower (forwarded), creates of distinct keys interleaved with
        # updates of one key.
        expected = []  # (key, operation, value) in write order
        follower = [n for n in self.base if n is not self.leader][0]
        self.assertEqual(self.create_on(self.leader, NS, "hot", 0).code, 0)
        expected.append(("hot", "CREATE", 0))
        u = 0
        for i in range(CREATES):
            via = self.leader if i % 2 == 0 else follower
            r = self.write_until_ok(lambda: self.create_on(via, NS, "k%03d" % i, i))
            self.assertEqual(r.code, 0, r.describe())
            expected.append(("k%03d" % i, "CREATE", i))
            if i % 2 == 1 and u < UPDATES:
                u += 1
                r = self.write_until_ok(lambda: self.http(
                    "PUT", "/api/v1/admin/config", server=self.leader,
                    json_body={"namespace": NS, "key": "hot", "value": u}))
                self.assertEqual(r.code, 0, r.describe())
                expected.append(("hot", "UPDATE", u))
        last_hot = u

        # Every stream receives every change, in order, with its value.
        for n, s in streams:
            ok = s.wait_for(lambda sr: len(sr.changes()) >= len(expected), timeout=30)
            got = [(c["key"], c["operation"], c.get("value")) for c in s.changes()]
            self.assertTrue(ok, "node %d stream: %d of %d changes: %s"
                            % (n.raft_id, len(got), len(expected), got[-5:]))
            self.assertEqual(got, expected, "node %d stream" % n.raft_id)
            revs = [c["revision"] for c in s.changes()]
            self.assertEqual(revs, sorted(set(revs)), "revisions strictly increase")

        # Every long poll: each created key once, in write order; the hot key's versions only
        # increase and end at the last one; revisions strictly increase; nothing twice.
        final_rev = {n.raft_id: self.ns_read(NS, server=n).data["version"]
                     for n in self.learners}
        for n, p in pollers:
            done, _ = eventually(lambda: p.revision >= final_rev[n.raft_id], 30)
            p.stop()
            p.join(15)
            self.assertEqual(p.errors, [], "node %d poller" % n.raft_id)
            self.assertTrue(done, "node %d poller stopped at revision %d < %d"
                            % (n.raft_id, p.revision, final_rev[n.raft_id]))
            revs = [c["revision"] for c in p.changes]
            self.assertEqual(revs, sorted(set(revs)),
                             "node %d poller: revisions strictly increase" % n.raft_id)
            created = [c["key"] for c in p.changes if c["key"].startswith("k")]
            self.assertEqual(created, ["k%03d" % i for i in range(CREATES)],
                             "node %d poller saw every create once, in order" % n.raft_id)
            hot = [c for c in p.changes if c["key"] == "hot"]
            versions = [c["version"] for c in hot]
            self.assertEqual(versions, sorted(set(versions)), "hot versions only increase")
            self.assertEqual(versions[-1], last_hot + 1, "the last hot version was seen")
            if p.include_values:
                self.assertEqual(hot[-1].get("value"), last_hot)
                for c in p.changes:
                    if c["key"].startswith("k"):
                        self.assertEqual(c.get("value"), int(c["key"][1:]))
        # The learners hold the same state as the voters.
        self.wait_converged()

    def test_learners_stay_non_voting_until_asked_to_vote(self):
        """A node added with "voter": false stays a learner: the quorum stays 2 of 3, so the
        learners add read and watch capacity without slowing writes (docs/scaling.md). Asked for
        again with "voter": true, it is promoted like any joining node."""
        ok, ms = eventually(lambda: len(self.members()) == 5 and self.members(), 20)
        self.assertTrue(ok)
        # Give a promoting server the time it takes (the leader checks every 20 ticks).
        eventually(lambda: any(ms[i].get("voter") for i in (4, 5)) and ms, 3)
        ms = self.members()
        self.assertEqual([ms[i].get("voter") for i in (1, 2, 3, 4, 5)],
                         [True, True, True, False, False], json.dumps(ms))

        node = self.learners[0]
        leader = self.wait_leader(among=self.base)
        r = self.http("POST", MEMBERS, server=leader,
                      json_body={"id": node.raft_id, "peer": node.peer, "http": node.http_addr,
                                 "voter": True})
        self.check_envelope(r)
        self.assertEqual(r.code, 0, r.describe())
        ok, ms = eventually(lambda: self.members()[node.raft_id].get("voter") and self.members(), 20)
        self.assertTrue(ok, "node %d was not promoted" % node.raft_id)
        self.assertFalse(ms[5].get("voter"), json.dumps(ms))
        # A learner asked for as a learner again, or a voter added twice, is refused.
        for raft_id, voter in ((5, False), (1, True)):
            r = self.http("POST", MEMBERS, server=leader,
                          json_body={"id": raft_id, "peer": "x:1", "http": "x:2", "voter": voter})
            self.assertEqual((r.status, r.code), (409, 40901), r.describe())

    def test_voter_must_be_a_boolean(self):
        r = self.http("POST", MEMBERS, server=self.wait_leader(among=self.base),
                      json_body={"id": 9, "peer": "x:1", "http": "x:2", "voter": "no"})
        self.assertEqual(r.status, 400, r.describe())

if __name__ == "__main__":
    unittest.main()
