"""Degraded mode (issue 7, docs/observability.md, seed §3.7.5): a node whose database fails
(fault injection: POST /api/v1/debug/fault, servers started with --fault-injection) keeps
answering client reads from memory, marked degraded; refuses writes with 500/50002 and changes
nothing; reports it in health; and recovers by itself when the database does. In a cluster the
node's log entries wait, never skipped, and are applied once the database works again.

Every wait is a bounded poll; nothing asserts on how long a step took."""

import os
import shutil
import subprocess
import unittest

from cluster import ClusterCase, eventually
from harness import CairnTestCase

FAULT = "/api/v1/debug/fault"
GET = "/api/v1/config/get"
CONFIG = "/api/v1/admin/config"
ARGS = ("--fault-injection", "--health-check-interval", "200ms")


class DegradedMixin:

    def fault(self, node, reason):
        self.call("POST", FAULT, json_body={"database": reason}, server=node)

    def health(self, node):
        r = self.http("GET", "/api/v1/health", server=node)
        self.check_envelope(r)
        return r.json["data"] if r.code == 0 else r.json.get("data") or {}

    def wait_health(self, node, healthy):
        def probe():
            r = self.http("GET", "/api/v1/health", server=node)
            data = r.json.get("data") if isinstance(r.json, dict) else None
            if not data:
                return None
            db = data["components"]["database"]["status"]
            return (db == "healthy") == healthy and data
        data, last = eventually(probe, 20, 0.1)
        self.assertTrue(data, "health never became %s: %s" % (
            "healthy" if healthy else "unhealthy", last))
        return data


class DegradedNode(DegradedMixin, CairnTestCase):
    SERVER_ARGS = ARGS

    def test_failed_database_serves_reads_from_memory_and_refuses_writes(self):
        self.create_ns("svc")
        self.create_config("svc", "k", {"v": 1})
        self.update_config("svc", "k", value={"v": 2})
        self.fault(self.server, "disk on fire")

        data = self.wait_health(self.server, healthy=False)
        self.assertTrue(data["degraded"], data)
        self.assertIn("disk on fire", data["components"]["database"].get("error", ""))

        r = self.call("GET", GET, params={"namespace": "svc", "key": "k"})
        self.assertEqual(r.data["value"], {"v": 2})
        self.assertIs(r.data["degraded"], True)
        self.assertIn("disk on fire", r.data["degraded_reason"])
        r = self.call("GET", "/api/v1/config/namespace/svc")
        self.assertIs(r.data["degraded"], True)
        # A recent version comes from the version ring, without the database.
        r = self.call("GET", GET, params={"namespace": "svc", "key": "k", "version": 1})
        self.assertEqual((r.data["value"], r.data["degraded"]), ({"v": 1}, True))
        self.assertNotIn("warning", r.data)
        # What needs the database fails clearly; writes change nothing.
        self.call("GET", "/api/v1/admin/config/history", params={"namespace": "svc", "key": "k"},
                  expect=50002)
        self.call("PUT", CONFIG, json_body={"namespace": "svc", "key": "k", "value": 3},
                  expect=50002)
        self.call("POST", CONFIG, json_body={"namespace": "svc", "key": "new", "value": 1},
                  expect=50002)

        self.fault(self.server, "")
        self.wait_health(self.server, healthy=True)

        def writable():
            r = self.http("PUT", CONFIG, json_body={"namespace": "svc", "key": "k", "value": 3})
            return r.code == 0 and r
        r, last = eventually(writable, 20, 0.1)
        self.assertTrue(r, "writes never came back: %s" % (last.describe() if last else last))
        self.assertEqual(r.data["version"], 3, "a refused write took a version")
        r = self.call("GET", GET, params={"namespace": "svc", "key": "k"})
        self.assertNotIn("degraded", r.data)
        hist = self.call("GET", "/api/v1/admin/config/history",
                         params={"namespace": "svc", "key": "k"}).data["list"]
        self.assertEqual([h["version"] for h in hist], [3, 2, 1])
        self.call("GET", GET, params={"namespace": "svc", "key": "new"}, expect=40403)


class DegradedOldVersion(DegradedMixin, CairnTestCase):
    SERVER_ARGS = ARGS

    def test_a_version_beyond_the_ring_is_refused_with_a_warning(self):
        self.create_ns("svc")
        self.create_config("svc", "k", {"v": 1})
        for i in range(2, 13):  # version 1 and 2 fall out of the ring of 10
            self.update_config("svc", "k", value={"v": i})
        self.fault(self.server, "disk on fire")
        self.wait_health(self.server, healthy=False)
        r = self.call("GET", GET, params={"namespace": "svc", "key": "k", "version": 1},
                      expect=50002)
        self.assertIn("not among the last 10 versions", r.error["details"])
        r = self.call("GET", GET, params={"namespace": "svc", "key": "k", "version": 3})
        self.assertEqual(r.data["value"], {"v": 3})


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("mount"), "needs root to mount a tmpfs")
class FullFileSystem(DegradedMixin, CairnTestCase):
    """A real failure: the node's data directory is a small tmpfs that the test fills up."""
    START_SERVER = False

    def setUp(self):
        super().setUp()
        self.mnt = self.new_data_dir("small-fs")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", self.mnt],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs here: " + r.stderr.strip())
        self.addCleanup(subprocess.run, ["umount", "-l", self.mnt], capture_output=True)
        self.server = self.start_server(["--health-check-interval", "200ms"],
                                        data_dir=os.path.join(self.mnt, "data"))

    def test_a_full_disk_degrades_the_node_until_space_is_freed(self):
        self.create_ns("svc")
        self.create_config("svc", "k", {"v": 1})
        filler = os.path.join(self.mnt, "filler")
        subprocess.run(["dd", "if=/dev/zero", "of=" + filler, "bs=64k"], capture_output=True)

        def write_refused():
            r = self.http("PUT", CONFIG, json_body={"namespace": "svc", "key": "k",
                                                    "value": {"v": "x" * 200000}})
            return r.code == 50002 and r
        r, last = eventually(write_refused, 20, 0.2)
        self.assertTrue(r, "a full disk did not refuse writes: %s" % last)
        self.wait_health(self.server, healthy=False)
        got = self.call("GET", GET, params={"namespace": "svc", "key": "k"})
        self.assertEqual((got.data["value"], got.data["degraded"]), ({"v": 1}, True))

        os.remove(filler)
        self.wait_health(self.server, healthy=True)

        def writable():
            r = self.http("PUT", CONFIG, json_body={"namespace": "svc", "key": "k", "value": 2})
            return r.code == 0 and r
        r, last = eventually(writable, 20, 0.2)
        self.assertTrue(r, "writes never came back after space was freed: %s" % last)
        self.assertEqual(r.data["version"], 2, "a refused write took a version")


class DegradedFollower(DegradedMixin, ClusterCase):
    CLUSTER_ARGS = ARGS

    def test_a_follower_with_a_failed_database_catches_up_by_itself(self):
        self.ensure_ns("svc")
        self.write_until_ok(lambda: self.create_on(self.leader, "svc", "k", 0))
        self.wait_converged()
        follower = self.followers()[0]
        self.fault(follower, "read-only file system")
        self.wait_health(follower, healthy=False)

        # The cluster goes on without it: the leader and the other follower are a quorum.
        acked = {"k": 0}
        for i in range(1, 11):
            r = self.write_until_ok(lambda: self.create_on(self.leader, "svc", "n%d" % i, i))
            acked["n%d" % i] = i
        # The faulty node still answers reads from what it had, and says so.
        r = self.call("GET", GET, params={"namespace": "svc", "key": "k"}, server=follower)
        self.assertEqual(r.data["value"], 0)
        self.assertIs(r.data["degraded"], True)
        # It refuses writes instead of forwarding them into a state it cannot apply.
        self.call("POST", CONFIG, json_body={"namespace": "svc", "key": "x", "value": 1},
                  server=follower, expect=50002)
        s = self.status(follower)
        self.assertLess(s["applied"], s["commit"], "the faulty node applied entries: %s" % s)

        self.fault(follower, "")
        self.wait_converged()
        self.assert_all_present(self.cluster.live(), "svc", acked)
        self.wait_health(follower, healthy=True)


if __name__ == "__main__":
    unittest.main()
