"""GET /api/v1/cluster/health (docs/cluster.md): any node answers with every member's health,
asking the others over HTTP with a short bound per member. A member killed (kill -9) or stopped
(SIGSTOP) is listed as unreachable with the error, and the call still answers: its socket timeout
(harness.HTTP_TIMEOUT) is the only bound checked; no test asserts on how long a call took."""

import contextlib
import signal

from cluster import ClusterCase, eventually

HEALTH = "/api/v1/cluster/health"


class ClusterHealth(ClusterCase):

    def cluster_health(self, node):
        r = self.call("GET", HEALTH, server=node)
        d = r.data
        for field in ("raft_id", "leader", "members", "total", "reachable", "healthy"):
            self.assertIn(field, d, r.describe())
        self.assertEqual(d["raft_id"], node.raft_id, r.describe())
        return d

    def by_id(self, data):
        return {m["id"]: m for m in data["members"]}

    def test_every_member_from_every_node(self):
        def all_healthy():
            # Right after the election a follower may not have heard from the leader yet.
            return all(self.cluster_health(n)["healthy"] == 3 for n in self.cluster.live())
        ok, _ = eventually(all_healthy, 20, 0.1)
        self.assertTrue(ok, "not every member healthy: %s"
                        % [self.cluster_health(n) for n in self.cluster.live()])
        for node in self.cluster.live():
            d = self.cluster_health(node)
            members = self.by_id(d)
            self.assertEqual(sorted(members), [1, 2, 3], d)
            self.assertEqual((d["total"], d["reachable"]), (3, 3), d)
            roles = []
            for raft_id, m in members.items():
                n = self.cluster.nodes[raft_id]
                self.assertEqual(m["http"], n.http_addr, m)
                self.assertIs(m["voter"], True, m)
                self.assertIs(m["self"], raft_id == node.raft_id, m)
                self.assertIs(m["reachable"], True, m)
                self.assertEqual(m["status"], "healthy", m)
                self.assertNotIn("error", m)
                health = m["health"]
                self.assertEqual(health["node_id"], "node%d" % raft_id, m)
                self.assertIn("database", health["components"], m)
                self.assertIn("raft", health["components"], m)
                self.assertEqual(m["role"], health["components"]["raft"]["role"], m)
                roles.append(m["role"])
            self.assertEqual(roles.count("leader"), 1, d)
            self.assertEqual(members[self.leader.raft_id]["role"], "leader", d)

    def test_a_killed_member_is_unreachable_and_the_call_still_answers(self):
        victim = self.followers()[0]
        victim.stop(signal.SIGKILL, timeout=10)
        for node in self.cluster.live():
            d = self.cluster_health(node)
            members = self.by_id(d)
            self.assertEqual(sorted(members), [1, 2, 3], d)
            self.assertEqual((d["total"], d["reachable"]), (3, 2), d)
            dead = members[victim.raft_id]
            self.assertIs(dead["reachable"], False, dead)
            self.assertEqual(dead["status"], "unreachable", dead)
            self.assertTrue(dead["error"], dead)
            self.assertIsNone(dead["role"], dead)
            self.assertEqual(dead["http"], victim.http_addr, dead)
            self.assertNotIn("health", dead)
            for raft_id, m in members.items():
                if raft_id != victim.raft_id:
                    self.assertIs(m["reachable"], True, m)
                    self.assertIn("raft", m["health"]["components"], m)
        # Back again: reachable again.
        victim.start()

        def back():
            return self.by_id(self.cluster_health(self.leader))[victim.raft_id]["reachable"]
        ok, _ = eventually(back, 20, 0.1)
        self.assertTrue(ok, self.cluster_health(self.leader))

    def test_a_stopped_member_costs_its_bound_not_a_hang(self):
        # SIGSTOP: the kernel still accepts the connection, nothing answers; the member's
        # bound (1 s) ends the inner call well within this request's socket timeout.
        victim = self.followers()[0]
        victim.pause()
        self.addCleanup(self._resume, victim)
        d = self.cluster_health(self.leader)
        stopped = self.by_id(d)[victim.raft_id]
        self.assertIs(stopped["reachable"], False, stopped)
        self.assertEqual(stopped["status"], "unreachable", stopped)
        self.assertTrue(stopped["error"], stopped)
        self.assertEqual(d["reachable"], 2, d)
        victim.resume()

        def back():
            return self.by_id(self.cluster_health(self.leader))[victim.raft_id]["reachable"]
        ok, _ = eventually(back, 20, 0.1)
        self.assertTrue(ok, self.cluster_health(self.leader))

    def _resume(self, node):
        if node.alive():
            with contextlib.suppress(ProcessLookupError):
                node.resume()
