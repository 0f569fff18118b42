"""Failover (issue 23 §2): what a follower does with a write it forwarded when the leader
vanishes, and that elections are logged and counted.

- A write forwarded to a leader that is then paused (SIGSTOP: its kernel still accepts the
  connection and the request) is abandoned as soon as the follower learns of the new leader:
  answered 500/50003 ("may still commit", the forward had reached the old leader) or, when the
  new leader was already known, committed; a retry lands either way. The follower counts the
  abandoned forward, and both sides log the election.
- A write forwarded to a leader killed with SIGKILL never reached it (the connect is refused):
  the follower sends it again to the new leader itself, and the client gets success.

Each test runs a 3-node cluster (election timeout 200 ms, cluster.py). Every wait is bounded;
nothing asserts on how long a thing took.
"""

import time

from cluster import ClusterCase, LEADER_TIMEOUT, eventually

NS = "failover"


class FailoverTest(ClusterCase):
    def log_of(self, node):
        with open(node.log_path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")

    def test_a_write_forwarded_to_a_paused_leader_is_abandoned_and_its_retry_lands(self):
        self.ensure_ns(NS)
        old = self.leader
        follower = self.followers()[0]
        old.pause()
        self.addCleanup(lambda: old.alive() and old.resume())
        # Sent while the follower still takes `old` for the leader: the forward is with it.
        r = self.create_on(follower, NS, "paused", {"v": 1})
        self.check_envelope(r)
        self.assertIn(r.code, (0, 50003, 50302), r.describe())
        print("  the forwarded write was answered: %s" % r.text[:300], flush=True)
        if r.code == 50003:
            self.assertIn("leader changed", r.text, r.describe())
            self.assertGreaterEqual(
                self.metric(follower, "config_center_forward_abandoned_total"), 1, r.describe())
        if r.code != 0:
            # The client's retry (what the SDK does with 50302; with 50003 after reading back).
            def retried():
                rr = self.create_on(follower, NS, "paused", {"v": 1})
                return rr.code in (0, 40902) and rr  # 40902: an earlier attempt committed it
            rr, last = eventually(retried, LEADER_TIMEOUT, 0.1)
            self.assertTrue(rr, "the retried write never landed; last: %s"
                            % (last.describe() if hasattr(last, "describe") else last))
        new = self.wait_leader(among=self.followers(old), not_id=old.raft_id)
        self.wait_value(follower, NS, "paused", {"v": 1})

        # Logged and counted: the follower saw the leader change, the new leader won an election.
        self.assertGreaterEqual(
            self.metric(follower, "config_center_raft_leader_changes_total"), 1)
        self.assertGreaterEqual(self.metric(new, "config_center_raft_term_changes_total"), 1)
        self.assertIn("is the leader of term", self.log_of(follower))
        self.assertIn("raft: this node (node %d) is the leader of term" % new.raft_id,
                      self.log_of(new))
        old.resume()

        def stepped_down():
            return (self.metric(old, "config_center_raft_step_downs_total") >= 1 and
                    "stepped down as leader in term" in self.log_of(old))
        ok, _ = eventually(stepped_down, LEADER_TIMEOUT)
        self.assertTrue(ok, "node%d resumed without logging and counting its step-down; log:\n%s"
                        % (old.raft_id, old.log_tail()))
        self.wait_converged()

    def test_a_write_forwarded_to_a_killed_leader_is_sent_again_to_the_new_one(self):
        self.ensure_ns(NS)
        old = self.leader
        follower = self.followers()[0]
        old.kill9()  # returns once the process is gone: its ports refuse connections
        r = self.create_on(follower, NS, "killed", {"v": 2})
        self.check_envelope(r)
        self.assertEqual(r.code, 0, r.describe())
        print("  resent: %s" % self.metric(follower, "config_center_forward_resent_total"))
        self.assertGreaterEqual(self.metric(follower, "config_center_forward_resent_total"), 1)
        self.wait_leader(among=self.followers(old), not_id=old.raft_id)
        old.start()
        self.wait_value(old, NS, "killed", {"v": 2})
        self.wait_converged()
