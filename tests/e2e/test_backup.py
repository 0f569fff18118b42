"""Backup and disaster recovery (issue 22, docs/operations.md): `cairn backup --out` from a live
follower while writes go on, kill -9 of every node and removal of every data directory, the
SDK's file cache carrying applications meanwhile (the CLI's reads, and examples/watch_config
running through the outage and started during it), `cairn backup verify`, `cairn server
--restore-from` seeding a new cluster (new cluster id, on the old addresses) that the others join
through the membership API: every write acknowledged before the backup began is there, the
contents checksum equals the backup's, tags, retention, schemas, tokens, releases and the audit
log came back, the revision continues, and the watcher that had seen the old cluster past the
backup is reset and follows the new one. Also: the backup route's guard and errors, refusals of
restore (cluster id, data dir in use or not empty without --force), scheduled backups and their
metrics.
"""

import json
import os
import pty
import shutil
import subprocess
import time

import harness
from cluster import LEADER_TIMEOUT, MEMBERS, ClusterCase, Writer, eventually
from cairn_cluster import Cluster, Process, distinct_port

BACKUP = "/api/v1/admin/backup"
TOKENS = "/api/v1/admin/tokens"
AUDIT = "/api/v1/admin/audit"
RELEASES = "/api/v1/admin/releases"
SCHEMA = "/api/v1/config/schema"
ROOT = "backup-root-secret"


def cli(*args, timeout=120):
    """Runs the `cairn` CLI; (exit code, stdout, stderr)."""
    p = subprocess.run([harness.BINARY] + list(args), capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def on_terminal(*args):
    """Runs the CLI with stderr on a pseudo-terminal (stdout discarded); (exit code, what the
    terminal showed)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([harness.BINARY] + list(args), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    rc = p.wait(timeout=60)
    os.close(master)
    return rc, shown.decode("utf-8", errors="replace")


class DisasterRecoveryTest(ClusterCase):
    SIZE = 3
    CLUSTER_ID = "prod-a"

    def endpoints(self, nodes):
        return ",".join("http://%s" % n.http_addr for n in nodes)

    def test_restore_after_losing_every_node(self):
        old_nodes = self.cluster.all()
        self.ensure_ns("dr")
        self.ensure_ns("app")
        # State besides configs that must come back: a tag, a retention override, a schema, a
        # gray release, the audit log (tokens: BackupAuthTest, auth is off here).
        self.write_until_ok(lambda: self.create_on(self.leader, "dr", "tagged", {"v": 1}))
        self.write_until_ok(lambda: self.http(
            "POST", "/api/v1/admin/config/tag", server=self.leader,
            json_body={"namespace": "dr", "key": "tagged", "version": 1, "tag": "golden"}))
        self.write_until_ok(lambda: self.http(
            "PUT", "/api/v1/admin/namespace/dr", server=self.leader,
            json_body={"retention": {"keep_latest": 5, "keep_days": 0}}))
        self.write_until_ok(lambda: self.http(
            "PUT", "/api/v1/admin/namespace/dr", server=self.leader,
            json_body={"schemas": [{"keys": "typed.*", "schema": {"type": "integer"}}]}))
        self.write_until_ok(lambda: self.create_on(self.leader, "app", "feature", 1))
        self.write_until_ok(lambda: self.create_on(self.leader, "app", "pool", 8))
        release = self.write_until_ok(lambda: self.http(
            "POST", RELEASES, server=self.leader,
            json_body={"namespace": "app", "changes": {"pool": 16},
                       "target": {"labels": {"zone": "eu-1"}},
                       "plan": {"stages": [{"percent": 50, "hold": "1h"}, {"percent": 100}]},
                       "description": "bigger pool"})).data
        schema_before = self.call("GET", SCHEMA, params={"namespace": "dr"},
                                  server=self.leader).data

        # Applications read through the SDK with a file cache: the CLI, and a long-running
        # watcher (examples/watch_config) following namespace `app`.
        endpoints = self.endpoints(old_nodes)
        cache = os.path.join(self.tmp, "app-cache")
        rc, out, err = cli("get", "--endpoints", endpoints, "--cache-dir", cache, "-o", "json",
                           "dr", "tagged")
        self.assertEqual(rc, 0, err)
        app = WatchApp(self, endpoints, os.path.join(self.tmp, "watcher-cache"), "app")
        app.wait_for("feature = 1")

        writer = Writer(self, "dr", self.cluster.live, threads=3).start()
        eventually(lambda: writer.count() >= 40, 60)
        with writer.lock:
            before = dict(writer.acked)  # acknowledged before the backup began
        # A backup holds what its node has applied. The leader applies a write before it
        # acknowledges it; a follower may be a few entries behind, so, as the runbook says, the
        # backup is taken once the follower has applied the leader's commit index of now.
        follower = self.followers()[0]
        commit = self.status(self.leader)["commit"]
        ok, _ = eventually(lambda: self.status(follower)["applied"] >= commit, LEADER_TIMEOUT)
        self.assertTrue(ok, "%r did not apply index %d" % (follower, commit))
        path = os.path.join(self.tmp, "dr.cairn")
        rc, out, err = cli("backup", "--endpoints", "http://%s" % follower.http_addr,
                           "--out", path, "-o", "json")
        self.assertEqual(rc, 0, err)
        header = json.loads(out)
        self.assertEqual(header["cluster_id"], "prod-a")
        self.assertEqual(header["node_id"], "node%d" % follower.raft_id)
        self.assertEqual(len(header["checksum"]), 64)
        self.assertGreater(os.path.getsize(path), header["payload_bytes"])
        self.assertFalse(os.path.exists(path + ".part"))
        eventually(lambda: writer.count() >= len(before) + 10, 60)  # load went on meanwhile
        # A change after the backup: the watcher sees it; the restored cluster will not have it.
        self.write_until_ok(lambda: self.http(
            "PUT", "/api/v1/admin/config", server=self.leader,
            json_body={"namespace": "app", "key": "feature", "value": 2}))
        app.wait_for("feature = 2")
        self.assertEqual(writer.errors, [])

        # Total loss: kill -9 every node, delete every data directory.
        for n in old_nodes:
            n.kill9()
        writer.stop()
        for n in old_nodes:
            shutil.rmtree(n.data_dir)

        # The applications go on from their file caches: the CLI reads its last value, a
        # watcher started now comes up on its last known namespace, the running one stays up.
        rc, out, err = cli("get", "--endpoints", endpoints, "--cache-dir", cache, "-o", "json",
                           "--timeout", "2", "dr", "tagged")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["value"], {"v": 1})
        self.assertIn("local cache", err)
        restarted = WatchApp(self, endpoints, os.path.join(self.tmp, "watcher-cache"), "app",
                             name="restarted")
        restarted.wait_for("stale: from the local cache")
        restarted.wait_for("feature = 2")
        self.assertTrue(app.alive(), app.output())

        rc, out, err = cli("backup", "verify", path, "-o", "json")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["checksum"], header["checksum"])

        # A new cluster on the same addresses: node 1 from the backup, under a new cluster id.
        new = Cluster(self.tmp, 1, cluster_id="prod-b", name="restored",
                      raft_args=self.RAFT_ARGS)
        self.addCleanup(new.stop_all)
        first = new.make_node(1, old_nodes[0].port, old_nodes[0].peer_port, ids=[1],
                              extra_args=["--restore-from", path])
        first.start()
        self.cluster = new
        self.leader = self.wait_leader()
        self.assertIs(self.leader, first)
        self.assertIn("restored %s" % path, first.log_tail(20000))
        d = self.vars(first, checksum=True)
        self.assertEqual(d["content_checksum"], header["checksum"])
        self.assertEqual(d["revision"], header["revision"])

        # The others join with the membership API, one at a time.
        for old in old_nodes[1:]:
            raft_id = old.raft_id
            node = new.make_node(raft_id, old.port, old.peer_port, ids=sorted(new.nodes) + [raft_id],
                                 join=True)
            node.start()
            r = self.write_until_ok(lambda: self.http(
                "POST", MEMBERS, server=self.leader,
                json_body={"id": raft_id, "peer": node.peer, "http": node.http_addr}),
                what="add member %d" % raft_id)
            self.assertEqual(r.code, 0)

            def promoted():
                s = self.status(self.leader)
                return any(m["id"] == raft_id and m.get("voter") for m in s["members"])
            ok, _ = eventually(promoted, LEADER_TIMEOUT)
            self.assertTrue(ok, "member %d was not promoted" % raft_id)
        nodes = new.all()
        self.wait_converged(nodes)
        # Every write acknowledged before the backup began, byte for byte, on every node.
        self.assert_all_present(nodes, "dr", before)
        for n in nodes:
            r = self.http("GET", "/api/v1/admin/config/versions", server=n,
                          params={"namespace": "dr", "key": "tagged"})
            self.assertEqual(r.data["list"][-1]["tags"], ["golden"], r.describe())
        listed = self.call("GET", "/api/v1/admin/namespace/list", server=nodes[2]).data["list"]
        self.assertEqual([x["retention"] for x in listed if x["name"] == "dr"],
                         [{"keep_latest": 5, "keep_days": 0}])
        # Schemas, releases and the audit log came back.
        self.assertEqual(self.call("GET", SCHEMA, params={"namespace": "dr"},
                                   server=nodes[2]).data, schema_before)
        self.call("POST", "/api/v1/admin/config", server=self.leader, expect=40002,
                  json_body={"namespace": "dr", "key": "typed.n", "value": "text"})
        got = self.call("GET", RELEASES + "/" + release["id"], server=nodes[1]).data
        self.assertEqual((got["state"], got["stage"], got["changes"]),
                         ("active", release["stage"], release["changes"]))
        audit = self.call("GET", AUDIT, params={"action": "release.*", "page_size": 100},
                          server=nodes[2]).data["list"]
        self.assertEqual([(a["action"], a["namespace"], a["key"]) for a in audit],
                         [("release.start", "app", release["id"])])

        # The running watcher had seen a revision of the old cluster past the backup: it is
        # reset, re-reads the restored namespace (the change after the backup is gone), and
        # then follows the new cluster's changes.
        app.wait_for("-- RESET feature (2 -> 1)")
        # The revision continues from the backup's.
        self.write_until_ok(lambda: self.http(
            "PUT", "/api/v1/admin/config", server=self.leader,
            json_body={"namespace": "app", "key": "feature", "value": 3}))
        ns = self.call("GET", "/api/v1/config/namespace/app", server=self.leader).data
        self.assertGreater(ns["version"], header["revision"])
        app.wait_for("-- UPDATE feature (1 -> 3)")
        restarted.wait_for("feature = 3")
        self.wait_converged(nodes)

        # A plain watch poll from a revision the restored cluster never had: reset at once.
        r = self.http("GET", "/api/v1/config/watch", server=nodes[1],
                      params={"namespace": "dr", "revision": header["revision"] + 100000,
                              "timeout": "0s"})
        self.assertEqual(r.code, 0, r.describe())
        self.assertTrue(r.data["reset"], r.describe())

        # The old cluster's id cannot be reused for the restore, and a used data dir is refused
        # (without --force), as is one a running node holds.
        spare = os.path.join(self.tmp, "spare")
        rc, _, err = cli("restore", path, "--data-dir", spare, "--raft-id", "1",
                         "--cluster-id", "prod-a")
        self.assertEqual(rc, 2)
        self.assertIn("needs a new --cluster-id", err)
        rc, _, err = cli("restore", path, "--data-dir", first.data_dir, "--raft-id", "1",
                         "--cluster-id", "prod-c")
        self.assertEqual(rc, 2)
        self.assertIn("in use by a running cairn process", err)
        used = os.path.join(self.tmp, "used")
        os.makedirs(os.path.join(used, "wal"))
        rc, _, err = cli("restore", path, "--data-dir", used, "--raft-id", "1",
                         "--cluster-id", "prod-c")
        self.assertEqual(rc, 2)
        self.assertIn("is not empty (wal)", err)
        self.assertIn("--force", err)
        rc, out, err = cli("restore", path, "--data-dir", used, "--raft-id", "1",
                           "--cluster-id", "prod-c", "--force")
        self.assertEqual(rc, 0, err)
        self.assertIn("revision %d" % header["revision"], out)


class WatchApp:
    """examples/watch_config (the SDK's watch loop with a file cache) as an application: one
    process following a namespace, its output in a log, stopped by PID in cleanup."""

    def __init__(self, case, endpoints, cache_dir, ns, name="app"):
        binary = os.path.join(os.path.dirname(harness.BINARY), "examples", "watch_config")
        case.assertTrue(os.path.exists(binary), "%s is not built (cmake target watch_config)"
                        % binary)
        self.case = case
        self.proc = Process([binary, "--endpoints", endpoints, "--cache-dir", cache_dir,
                             "--client-id", name, ns],
                            os.path.join(case.tmp, "watch-%s.log" % name))
        case.addCleanup(self.proc.stop)

    def alive(self):
        return self.proc.alive()

    def output(self):
        return self.proc.output()

    def wait_for(self, text, timeout=90):
        """Until `text` is in the output. The bound covers a held watch of the SDK (30 s)
        answered at its timeout, plus the SDK's retry backoff."""
        ok, _ = eventually(lambda: text in self.output(), timeout, 0.1)
        self.case.assertTrue(ok, "watch_config never printed %r; output:\n%s"
                             % (text, self.output()[-4000:]))


class BackupRouteTest(harness.CairnTestCase):
    """One standalone node: the route, its guard, bad files, scheduled backups."""

    SERVER_ARGS = ("--backup-interval", "1s", "--backup-keep", "2")

    def test_download_verify_and_restore_standalone(self):
        self.create_ns("svc")
        # Raw JSON text: the number's digits (1.50) must survive the backup as written.
        self.call("POST", "/api/v1/admin/config",
                  body='{"namespace": "svc", "key": "k", "value": {"n": 1.50, "s": "\u00e9"}}')
        r = self.http("GET", BACKUP)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-type"), "application/octet-stream")
        self.assertTrue(r.body.startswith(b"CAIRN-BACKUP\n"), r.body[:40])
        path = os.path.join(self.tmp, "one.cairn")
        with open(path, "wb") as f:
            f.write(r.body)
        rc, out, err = cli("backup", "verify", path, "-o", "json")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out and json.loads(out)["cluster_id"], "")
        # Piped: no progress line on stderr. On a terminal: bytes done of the total and rate.
        self.assertEqual(err, "")
        rc, shown = on_terminal("backup", "verify", path)
        self.assertEqual(rc, 0, shown)
        self.assertIn("verifying %s: " % path, shown)
        self.assertIn("(100%)", shown)
        # Damaged: refused with the reason, exit 2.
        with open(path, "r+b") as f:
            f.seek(-10, os.SEEK_END)
            f.write(b"xxxxxxxxxx")
        rc, _, err = cli("backup", "verify", path)
        self.assertEqual(rc, 2)
        self.assertIn("SHA-256 mismatch", err)
        rc, _, err = cli("restore", path, "--data-dir", os.path.join(self.tmp, "x"))
        self.assertEqual(rc, 2)
        # Restored as a standalone node: the same value, number digits and all.
        with open(path, "wb") as f:
            f.write(r.body)
        srv = self.start_server(["--restore-from", path],
                                data_dir=os.path.join(self.tmp, "restored"))
        got = self.http("GET", "/api/v1/config/get", params={"namespace": "svc", "key": "k"},
                        server=srv)
        self.assertIn(b'"value":{"n":1.50,"s":"\xc3\xa9"}', got.body)

    def test_scheduled_backups_are_kept_and_measured(self):
        folder = os.path.join(self.server.data_dir, "backups")

        def files():
            try:
                return sorted(f for f in os.listdir(folder) if f.endswith(".cairn"))
            except OSError:
                return []
        ok, _ = eventually(lambda: len(files()) >= 2, 30)
        self.assertTrue(ok, files())
        time.sleep(2.5)  # more scheduled backups: still only the newest 2 kept
        self.assertLessEqual(len(files()), 2)
        rc, _, err = cli("backup", "verify", os.path.join(folder, files()[-1]))
        self.assertEqual(rc, 0, err)
        metrics = self.http("GET", "/api/v1/metrics").body.decode()
        values = {}
        for line in metrics.splitlines():
            if line.startswith("cairn_backup"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        self.assertEqual(values["cairn_backup_interval_seconds"], 1.0)
        self.assertLess(values["cairn_backup_age_seconds"], 60.0)
        self.assertGreaterEqual(values['cairn_backups_total{result="ok"}'], 2.0)

    def test_bad_requests(self):
        r = self.http("POST", BACKUP)
        self.assertEqual(r.status, 405)
        self.check_envelope(r)
        # A CLI pointed at nothing that answers: exit 3.
        rc, _, err = cli("backup", "--endpoints", "http://127.0.0.1:%d" % distinct_port(set()),
                         "--out", os.path.join(self.tmp, "none.cairn"), "--timeout", "1")
        self.assertEqual(rc, 3, err)
        rc, _, err = cli("backup", "--endpoints", "http://127.0.0.1:%d" % self.server.port)
        self.assertEqual(rc, 2)
        self.assertIn("--out", err)


class BackupAuthTest(harness.CairnTestCase):
    SERVER_ARGS = ("--auth-enabled=true",)

    def setUp(self):
        # The servers this test starts take their root token from the environment.
        old = os.environ.get("CAIRN_ROOT_TOKEN")
        os.environ["CAIRN_ROOT_TOKEN"] = ROOT

        def restore():
            if old is None:
                os.environ.pop("CAIRN_ROOT_TOKEN", None)
            else:
                os.environ["CAIRN_ROOT_TOKEN"] = old
        self.addCleanup(restore)
        super().setUp()

    def test_cluster_admin_only(self):
        r = self.http("GET", BACKUP)
        self.assertEqual(r.status, 401)
        self.check_envelope(r)
        rc, _, err = cli("backup", "--endpoints", "http://127.0.0.1:%d" % self.server.port,
                         "--out", os.path.join(self.tmp, "x.cairn"))
        self.assertEqual(rc, 1)
        self.assertIn("40101", err)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x.cairn")))

    def test_tokens_and_audit_come_back(self):
        root = {"Authorization": "Bearer " + ROOT}
        self.call("POST", "/api/v1/admin/namespace", json_body={"name": "svc"}, headers=root)
        tok = self.call("POST", TOKENS, headers=root, json_body={
            "name": "svc-reader", "grants": [{"namespace": "svc", "permission": "read"}]}).data
        path = os.path.join(self.tmp, "auth.cairn")
        rc, _, err = cli("backup", "--endpoints", "http://127.0.0.1:%d" % self.server.port,
                         "--token", ROOT, "--out", path)
        self.assertEqual(rc, 0, err)
        self.server.stop()
        # A standalone node restored from it: the token authenticates there with its grants,
        # and the audit log still has its creation.
        srv = self.start_server(["--auth-enabled=true", "--restore-from", path],
                                data_dir=os.path.join(self.tmp, "restored"))
        me = self.call("GET", "/api/v1/auth/whoami", server=srv,
                       headers={"Authorization": "Bearer " + tok["token"]}).data
        self.assertEqual((me["name"], me["grants"]),
                         ("svc-reader", [{"namespace": "svc", "permission": "read"}]))
        listed = self.call("GET", TOKENS, headers=root, server=srv).data["list"]
        self.assertEqual([t["id"] for t in listed], [tok["id"]])
        rows = self.call("GET", AUDIT, params={"action": "token.*"}, headers=root,
                         server=srv).data["list"]
        self.assertEqual([(r["action"], r["actor"]) for r in rows], [("token.create", "root")])
