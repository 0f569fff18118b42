"""Disk faults (issue 23 §3, docs/wal.md "Disk faults") on 3 real nodes:

- an fdatasync of the leader's write-ahead log fails (EIO, injected with --fault-injection): the
  leader crash-stops with a FATAL line naming the file and the error, never retries the sync,
  the others elect a leader and go on, and every acknowledged write is on every node once the
  node restarts and converges;
- a flipped byte in the middle of a follower's WAL segment or in its SQLite file: the node
  refuses to start (exit code, log line naming `cairn recover`), `cairn recover --data-dir`
  moves the damaged state aside (nothing deleted), and the node rejoins and converges;
- a failed write of a follower's log (ENOSPC): it crash-stops too, restarts and converges;
- a flipped byte in a snapshot image: set aside by the node itself (derived data), never sent —
  at start, and on a running leader when a follower far behind needs it;
- a leader whose database fails (degraded mode) hands leadership to a healthy member, so
  writes go on without anyone stepping in.

Every wait is bounded; nothing asserts on how long a step took. Processes are stopped by PID."""

import glob
import os
import subprocess
import unittest

import harness
from cluster import ClusterCase, eventually

FAULT = "/api/v1/debug/fault"
CONFIG = "/api/v1/admin/config"
WAL_FAILURE_EXIT = 74  # server/raft_replicator.h, kWalFailureExitCode


def flip_middle_byte(path, mask):
    """XORs the byte in the middle of `path` with `mask`: a bit flip on disk."""
    with open(path, "r+b") as fh:
        data = fh.read()
        at = len(data) // 2
        fh.seek(at)
        fh.write(bytes([data[at] ^ mask]))


class DiskFaultCase(ClusterCase):
    CLUSTER_ARGS = ("--fault-injection", "--health-check-interval", "200ms")

    def write_keys(self, prefix, n, node=None, acked=None):
        acked = {} if acked is None else acked
        for i in range(n):
            key = "%s%02d" % (prefix, i)
            self.write_until_ok(lambda: self.create_on(node or self.leader, "svc", key, i),
                                what="create " + key)
            acked[key] = i
        return acked

    def stopped_follower(self, writes):
        """`writes` acknowledged keys on every node, then one follower stopped: (it, acked)."""
        self.ensure_ns("svc")
        acked = self.write_keys("a", writes)
        self.wait_converged()
        f = self.followers()[0]
        f.stop()
        return f, acked

    def wait_exit(self, node, timeout=30):
        try:
            return node.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.fail("%r did not exit within %d s; log:\n%s" % (node, timeout, node.log_tail()))

    def recover(self, node):
        r = subprocess.run([harness.BINARY, "recover", "--data-dir", node.data_dir],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, "cairn recover failed: %s %s" % (r.stdout, r.stderr))
        aside = glob.glob(os.path.join(node.data_dir, "damaged-*"))
        self.assertEqual(len(aside), 1, "expected one damaged-* folder: %s" % aside)
        self.assertIn(aside[0], r.stdout)
        return aside[0], r.stdout

    def refused_then_recovered(self, node, expect_in_log, acked):
        """`node` is stopped with a damaged file: it must refuse to start, then recover."""
        node.spawn()
        rc = self.wait_exit(node)
        log = node.log_tail(20000)
        node.stop()  # already gone: just unregisters the PID
        self.assertNotEqual(rc, 0, "a node with damaged state started: %s" % log)
        self.assertIn(expect_in_log, log)
        self.assertIn("cairn recover --data-dir " + node.data_dir, log)
        self.assertNotIn(".. If", log)  # one sentence, one full stop
        aside, _ = self.recover(node)
        # Nothing deleted: what was damaged is in the folder.
        self.assertTrue(os.listdir(aside))
        node.start()
        self.wait_converged(self.cluster.all())
        self.assert_all_present(self.cluster.all(), "svc", acked)
        # The leader saw the rebuilt node refuse what it had acknowledged, and says so.
        self.assertGreaterEqual(self.metric(self.leader, "config_center_raft_lost_logs_total"), 1)
        return aside


class WalSyncFailure(DiskFaultCase):

    def test_leader_crash_stops_on_fdatasync_eio_and_no_acked_write_is_lost(self):
        self.ensure_ns("svc")
        acked = self.write_keys("a", 10)
        old = self.leader
        self.call("POST", FAULT, json_body={"wal_sync": "EIO"}, server=old)
        # The next write makes the leader sync its log: the sync fails, the node stops. The write
        # itself is not acknowledged (the connection drops or it times out).
        r = self.try_http("POST", CONFIG, old, timeout=10,
                          json_body={"namespace": "svc", "key": "lost", "value": 1})
        self.assertFalse(r is not None and r.code == 0,
                         "a write was acknowledged by a leader whose log sync failed: %s"
                         % (r.describe() if r else r))
        rc = self.wait_exit(old)
        log = old.log_tail(20000)
        old.stop()
        self.assertEqual(rc, WAL_FAILURE_EXIT, log)
        self.assertIn("FATAL: the write-ahead log", log)
        self.assertIn("fdatasync " + os.path.join(old.data_dir, "wal"), log)
        self.assertIn("Input/output error", log)

        others = [n for n in self.cluster.all() if n is not old]
        self.leader = self.wait_leader(among=others)
        self.write_keys("b", 10, acked=acked)
        # Back with a working disk (the fault lives in memory): it reopens its log from disk,
        # rejoins and converges.
        old.start()
        self.write_keys("c", 5, acked=acked)
        self.wait_converged(self.cluster.all())
        self.assert_all_present(self.cluster.all(), "svc", acked)

    def test_follower_crash_stops_on_a_failed_write_and_rejoins(self):
        # A write(2) that fails (a full disk) is not a sync that failed, but the group's bytes
        # may be partly in the file: the node stops the same way and comes back from its files.
        self.ensure_ns("svc")
        acked = self.write_keys("a", 10)
        f = self.followers()[0]
        r = self.call("POST", FAULT, json_body={"wal_write": "ENOSPC"}, server=f)
        self.assertEqual(r.json["data"], {"wal_write": "ENOSPC"})
        # The leader goes on with the other follower; the faulty one stops at its next append.
        self.write_keys("b", 10, acked=acked)
        rc = self.wait_exit(f)
        log = f.log_tail(20000)
        f.stop()
        self.assertEqual(rc, WAL_FAILURE_EXIT, log)
        self.assertIn("FATAL: the write-ahead log", log)
        self.assertIn("write " + os.path.join(f.data_dir, "wal"), log)
        self.assertIn("No space left on device", log)
        f.start()
        self.write_keys("c", 5, acked=acked)
        self.wait_converged(self.cluster.all())
        self.assert_all_present(self.cluster.all(), "svc", acked)

    def test_unknown_fault_names_are_refused(self):
        for body in ({"wal_write": "EPERM"}, {"wal_sync": "ENOSPC!"}, {"wal_write": 5}):
            r = self.http("POST", FAULT, json_body=body, server=self.leader)
            self.assertEqual(r.status, 400, r.describe())


class DamagedFollower(DiskFaultCase):

    def test_bit_flip_in_the_middle_of_a_wal_segment_is_refused_then_recovered(self):
        f, acked = self.stopped_follower(30)
        segments = sorted(glob.glob(os.path.join(f.data_dir, "wal", "*.wal")))
        self.assertTrue(segments)
        seg = max(segments, key=os.path.getsize)
        flip_middle_byte(seg, 0x10)
        self.write_keys("b", 5, acked=acked)  # the cluster goes on meanwhile
        aside = self.refused_then_recovered(
            f, "corruption in the middle of the log, not a torn write", acked)
        self.assertTrue(os.path.isdir(os.path.join(aside, "wal")))
        self.assertTrue(os.path.exists(os.path.join(aside, "cairn.db")))

    def test_bit_flip_in_the_sqlite_file_is_refused_then_recovered(self):
        f, acked = self.stopped_follower(30)
        db = os.path.join(f.data_dir, "cairn.db")
        wal = db + "-wal"
        self.assertFalse(os.path.exists(wal) and os.path.getsize(wal) > 0,
                         "the database was not checkpointed at shutdown")
        with open(db, "r+b") as fh:
            data = fh.read()
            page = int.from_bytes(data[16:18], "big") or 65536
            # The first b-tree page after page 1: flip its page-type byte.
            flipped = False
            for off in range(page, len(data), page):
                if data[off] in (0x02, 0x05, 0x0A, 0x0D):
                    fh.seek(off)
                    fh.write(bytes([data[off] ^ 0xFF]))
                    flipped = True
                    break
            self.assertTrue(flipped, "no b-tree page found in %s" % db)
        self.write_keys("b", 5, acked=acked)
        self.refused_then_recovered(f, "is damaged (quick_check", acked)



class DamagedSnapshot(DiskFaultCase):
    CLUSTER_ARGS = DiskFaultCase.CLUSTER_ARGS + ("--snapshot-threshold", "10")

    def test_bit_flip_in_a_snapshot_is_set_aside_by_the_node_itself(self):
        self.ensure_ns("svc")
        acked = self.write_keys("a", 30)
        self.wait_converged()
        f = self.followers()[0]

        def snapshots():
            return sorted(glob.glob(os.path.join(f.data_dir, "snap", "snap-*.db")))
        snaps, _ = eventually(snapshots, 20, 0.1)
        self.assertTrue(snaps, "no snapshot was written (--snapshot-threshold 10)")
        f.stop()
        snap = snaps[-1]
        flip_middle_byte(snap, 0x01)
        f.start()
        self.assertTrue(os.path.exists(snap + ".damaged"), os.listdir(os.path.dirname(snap)))
        self.assertFalse(os.path.exists(snap))
        self.assertIn("is damaged (CRC-32C", f.log_tail(50000))
        self.write_keys("b", 5, acked=acked)
        self.wait_converged(self.cluster.all())
        self.assert_all_present(self.cluster.all(), "svc", acked)

    def test_a_damaged_snapshot_on_the_leader_is_never_sent(self):
        # A follower far behind needs a snapshot; the leader's newest image was damaged on disk
        # while it ran. The leader checks the image each time it sends one: it sets the damaged
        # one aside, takes a fresh one and sends that, so the follower converges.
        f, acked = self.stopped_follower(10)
        acked = self.write_keys("b", 40, acked=acked)  # several snapshots; the log is compacted
        leader_snap = os.path.join(self.leader.data_dir, "snap")

        def leader_snapshots():
            return sorted(glob.glob(os.path.join(leader_snap, "snap-*.db")))
        snaps, _ = eventually(leader_snapshots, 20, 0.1)
        self.assertTrue(snaps, "the leader wrote no snapshot (--snapshot-threshold 10)")
        snap = snaps[-1]
        flip_middle_byte(snap, 0x01)
        f.start()
        self.wait_converged(self.cluster.all())
        self.assert_all_present(self.cluster.all(), "svc", acked)
        self.assertTrue(os.path.exists(snap + ".damaged"), os.listdir(leader_snap))
        self.assertIn("is damaged (CRC-32C", self.leader.log_tail(100000))
        self.assertGreaterEqual(
            self.metric(f, "config_center_raft_snapshots_installed_total"), 1)


class DegradedLeader(DiskFaultCase):

    def test_a_leader_whose_database_fails_hands_leadership_to_a_healthy_member(self):
        self.ensure_ns("svc")
        acked = self.write_keys("a", 5)
        old = self.leader
        self.call("POST", FAULT, json_body={"database": "disk on fire"}, server=old)
        # Nobody intervenes: a healthy member takes over and writes go on through it.
        self.leader = self.wait_leader(not_id=old.raft_id)
        self.write_keys("b", 10, acked=acked)
        self.assertIn("handing leadership to node %d" % self.leader.raft_id,
                      old.log_tail(50000))
        self.call("POST", FAULT, json_body={"database": ""}, server=old)
        self.wait_converged()
        self.assert_all_present(self.cluster.live(), "svc", acked)


if __name__ == "__main__":
    unittest.main()
