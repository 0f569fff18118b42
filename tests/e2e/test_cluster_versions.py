"""Concurrency control and version retention across a 3-node cluster (issue 6, docs/versions.md):
compare-and-set writers spread over every node lose no update, and a clean-up, whether asked of
a follower or run by the leader's schedule, prunes and archives the same versions on every node.

Every wait is bounded (cluster.py); no test asserts on how long something took."""

import glob
import os
import unittest

from cluster import ClusterCase, eventually
from test_retention import CLEANUP, CONFIG, HIST, TAG, VERS, CompareAndSetWriters

NAMESPACE = "/api/v1/admin/namespace"


class ClusterCompareAndSet(CompareAndSetWriters, ClusterCase):
    WRITERS = 6
    WRITES_EACH = 8

    def test_writers_through_every_node_lose_no_update(self):
        nodes = self.cluster.live()
        self.ensure_ns("svc")
        first = {"writer": -1, "seq": 0}
        self.write_until_ok(lambda: self.create_on(self.leader, "svc", "counter", first))
        for n in nodes:
            self.wait_value(n, "svc", "counter", first)
        # Writers on followers read their node's copy, which may lag: their update is then
        # refused with 40901 and retried, never applied on top of a version they did not see.
        hist = self.run_cas_writers(nodes)
        self.wait_converged()
        params = {"namespace": "svc", "key": "counter", "page_size": 1000}
        for n in nodes:
            other = self.call("GET", HIST, params=params, server=n).data
            self.assertEqual(other["list"], hist["list"], "%r has another history" % n)


class ClusterRetention(ClusterCase):
    # The scheduler runs every second; only namespaces with an override prune anything here
    # (the default policy keeps 30 versions).
    CLUSTER_ARGS = ("--retention-interval", "1s")

    def make_versions(self, ns, key, count):
        self.ensure_ns(ns)
        self.write_until_ok(lambda: self.create_on(self.leader, ns, key, {"v": 1}))
        for i in range(2, count + 1):
            self.call("PUT", CONFIG, json_body={"namespace": ns, "key": key, "value": {"v": i}},
                      server=self.leader)

    def versions_on(self, node, ns, key, strict=True):
        """The versions `node` keeps of ns/key. strict=False (inside eventually()): None while
        the node cannot answer yet, e.g. 40402 from a follower that has not applied the
        namespace."""
        r = self.call("GET", VERS, params={"namespace": ns, "key": key, "page_size": 100},
                      server=node, expect=0 if strict else None)
        if r.code != 0:
            return None
        return [v["version"] for v in r.data["list"]]

    def archives(self, node):
        """{file name: content} of the node's archive directory."""
        out = {}
        for path in sorted(glob.glob(os.path.join(node.data_dir, "archive", "*.jsonl"))):
            with open(path, encoding="utf-8") as f:
                out[os.path.basename(path)] = f.read()
        return out

    def test_cleanup_through_a_follower_prunes_the_same_versions_everywhere(self):
        nodes = self.cluster.live()
        follower = self.followers()[0]
        self.make_versions("svc", "k", 6)
        self.call("POST", TAG, json_body={"namespace": "svc", "key": "k", "version": 2,
                                          "tag": "golden"}, server=follower)
        body = {"namespace": "svc", "keep_latest": 2, "keep_days": 0}
        dry = self.call("POST", CLEANUP, json_body=dict(body, dry_run=True), server=follower).data
        self.assertEqual([(x["key"], x["version"]) for x in dry["removed"]],
                         [("k", 1), ("k", 3), ("k", 4)])
        self.wait_converged()
        for n in nodes:
            self.assertEqual(self.versions_on(n, "svc", "k"), [6, 5, 4, 3, 2, 1],
                             "a dry run removed something on %r" % n)
            self.assertEqual(self.archives(n), {}, "a dry run archived something on %r" % n)

        real = self.call("POST", CLEANUP, json_body=body, server=follower).data
        self.assertEqual(real["removed"], dry["removed"])
        self.wait_converged()
        reference = self.archives(self.leader)
        self.assertEqual(len(reference), 1, reference)
        self.assertEqual(len(next(iter(reference.values())).splitlines()), 3)
        for n in nodes:
            self.assertEqual(self.versions_on(n, "svc", "k"), [6, 5, 2], "on %r" % n)
            self.assertEqual(self.archives(n), reference, "%r archived otherwise" % n)

    def test_scheduled_cleanup_prunes_the_same_versions_everywhere(self):
        nodes = self.cluster.live()
        self.make_versions("svc", "k", 5)
        self.make_versions("other", "k", 5)  # no override: the default policy keeps all 5
        self.call("PUT", NAMESPACE + "/svc", json_body={
            "retention": {"keep_latest": 2, "keep_days": 0}}, server=self.leader)

        def pruned():
            return all(self.versions_on(n, "svc", "k", strict=False) == [5, 4] for n in nodes)
        ok, _ = eventually(pruned, 60, 0.2)
        self.assertTrue(ok, "the scheduled clean-up did not prune svc/k on every node: %s" % {
            n.raft_id: self.versions_on(n, "svc", "k", strict=False) for n in nodes})
        self.wait_converged()
        reference = self.archives(self.leader)
        self.assertEqual(len(reference), 1, reference)
        for n in nodes:
            self.assertEqual(self.versions_on(n, "other", "k"), [5, 4, 3, 2, 1])
            self.assertEqual(self.archives(n), reference, "%r archived otherwise" % n)


if __name__ == "__main__":
    unittest.main()
