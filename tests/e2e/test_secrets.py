"""Secrets (issue 19, docs/secrets.md) on real processes: envelope-encrypted values that never
reach a disk, the access log or an answer in plain, masked for tokens without `reveal`, opened
for those with it (audited), refused with 50005 when tampered with or moved, and rotated under
write load without a version changing.

Every wait is bounded; no test asserts on how long something took."""

import base64
import json
import os
import sqlite3
import subprocess
import threading
import time
import unittest

import cairn_cluster
from cluster import ClusterCase, eventually
from harness import CairnTestCase
from test_auth import ROOT, bearer

CONFIG = "/api/v1/admin/config"
GET = "/api/v1/config/get"
NS = "/api/v1/admin/namespace"
TOKENS = "/api/v1/admin/tokens"
REWRAP = "/api/v1/admin/secrets/rewrap"
SECRETS = "/api/v1/admin/secrets"
REVEAL = {"X-Cairn-Reveal": "true"}


def generate_key_file(path, key_id):
    """`cairn secret-key generate --out path` (mode 0600); the key file's JSON."""
    out = cairn_cluster.subprocess.run(
        [cairn_cluster.BINARY, "secret-key", "generate", "--id", key_id, "--out", path],
        capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise AssertionError("secret-key generate failed: %s %s" % (out.stdout, out.stderr))
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_key_file(path, keys, current):
    """A key file holding `keys` ({id: base64}) with `current`, mode 0600."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"current": current, "keys": keys}, f)
    os.replace(tmp, path)


def every_byte_under(root):
    """{path: bytes} of every file under `root`."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as f:
                    out[path] = f.read()
            except OSError:
                pass
    return out


class SecretCluster(ClusterCase):
    """A 3-node cluster with auth on and one key file shared by its nodes."""

    ROOT_TOKEN = ROOT
    AUTH = True
    EXTRA = ()

    def setUp(self):
        if self.AUTH:
            old = os.environ.get("CAIRN_ROOT_TOKEN")
            os.environ["CAIRN_ROOT_TOKEN"] = ROOT
            self.addCleanup(lambda: os.environ.__setitem__("CAIRN_ROOT_TOKEN", old)
                            if old is not None else os.environ.pop("CAIRN_ROOT_TOKEN", None))
        super().setUp()

    def start_cluster(self, size, extra_args=(), cluster_id="cairn", name="c"):
        self.key_file = os.path.join(self.tmp, "secret-keys.json")
        self.keys = generate_key_file(self.key_file, "k1")["keys"]
        args = list(extra_args) + ["--secret-key-file", self.key_file] + list(self.EXTRA)
        if self.AUTH:
            args.append("--auth-enabled")
        return super().start_cluster(size, tuple(args), cluster_id, name)

    def root(self, extra=None):
        h = bearer(ROOT) if self.AUTH else {}
        h.update(extra or {})
        return h

    def status(self, node):
        r = self.http("GET", "/api/v1/cluster/status", server=node, timeout=5,
                      headers=self.root())
        self.check_envelope(r)
        self.assertEqual(r.code, 0, r.describe())
        return r.data

    def vars(self, node, checksum=False):
        return self.call("GET", "/api/v1/debug/vars", params={"checksum": 1} if checksum
                         else None, server=node, headers=self.root()).data

    def make_token(self, name, grants):
        r = self.call("POST", TOKENS, json_body={"name": name, "grants": grants},
                      headers=self.root(), server=self.leader)
        return r.data["token"]


class PlaintextNowhere(SecretCluster):
    EXTRA = ("--snapshot-threshold", "50", "--access-log=true")

    def test_plaintext_is_absent_from_disks_logs_and_answers_without_reveal(self):
        root = self.root()
        self.write_until_ok(lambda: self.http(
            "POST", NS, server=self.leader, headers=root,
            json_body={"name": "pay", "secret_keys": ["*.password"]}))
        reader = self.make_token("reader", [{"namespace": "pay", "permission": "read"}])
        admin = self.make_token("admin", [{"namespace": "*", "permission": "admin"}])
        revealer = self.make_token("revealer", [{"namespace": "pay", "permission": "read"},
                                                {"namespace": "pay", "permission": "reveal"}])
        lagging = self.followers()[0]
        writer = [n for n in self.followers() if n is not lagging][0]
        lagging.kill9()
        plains = []
        # Through a follower (forwarded to the leader, which seals), many times, so that the
        # leader compacts its log into snapshots the lagging follower must install.
        for i in range(12):
            p = "PLAIN-db-%02d-%s" % (i, "x" * 8)
            plains.append(p)
            self.write_until_ok(lambda: self.http(
                "POST" if i == 0 else "PUT", CONFIG, server=writer, headers=root,
                json_body={"namespace": "pay", "key": "db.password", "value": p}))
        token_plain = "PLAIN-api-token-7f3a"
        plains.append(token_plain)
        self.write_until_ok(lambda: self.http(
            "POST", CONFIG, server=writer, headers=root,
            json_body={"namespace": "pay", "key": "api", "value": {"token": token_plain},
                       "secret": True}))
        for i in range(80):
            self.write_until_ok(lambda: self.http(
                "POST" if i < 20 else "PUT", CONFIG, server=writer, headers=root,
                json_body={"namespace": "pay", "key": "filler%02d" % (i % 20), "value": i}))
        lagging.start()
        self.wait_converged()
        # The lagging follower caught up through a snapshot install, not the log alone.
        m = self.http("GET", "/api/v1/metrics", server=lagging, headers=root)
        self.assertEqual(m.status, 200, m.describe())
        installed = [float(line.split()[-1]) for line in m.text.splitlines()
                     if line.startswith("config_center_raft_snapshots_installed_total")]
        self.assertTrue(installed and installed[0] >= 1,
                        "the lagging follower installed no snapshot: %s" % installed)
        # And a restart of another node.
        writer.restart()
        self.wait_leader()
        self.wait_converged()

        # Answers to a token without reveal, on every node: every route that carries values.
        b64 = [base64.b64encode(p.encode()).decode() for p in plains]
        routes = [
            ("GET", GET + "?namespace=pay&key=db.password"),
            ("GET", GET + "?namespace=pay&key=db.password&version=1"),
            ("GET", GET + "?namespace=pay&key=api&reveal=true"),
            ("GET", "/api/v1/config/namespace/pay"),
            ("GET", "/api/v1/config/namespace/pay?reveal=true"),
            ("GET", "/api/v1/config/versions?namespace=pay&key=db.password&page_size=100"),
            ("GET", "/api/v1/config/diff?namespace=pay&key=db.password&from=1&to=2"),
            ("GET", "/api/v1/config/watch?namespace=pay&revision=0&include_values=true"
                    "&timeout=1ms"),
            ("GET", "/v1/kv/pay/db.password"),
            ("GET", "/v1/kv/pay?recurse"),
            ("GET", "/nacos/v1/cs/configs?dataId=db.password&group=pay"),
            ("GET", "/configs/app/default/pay"),
            ("GET", "/configfiles/json/app/default/pay"),
            ("GET", "/configfiles/app/default/pay"),
        ]
        admin_routes = [
            ("GET", CONFIG + "/list?namespace=pay&page_size=100"),
            ("GET", CONFIG + "/history?namespace=pay&key=db.password&page_size=100"),
            ("GET", CONFIG + "/versions?namespace=pay&key=db.password&page_size=100"),
        ]
        for node in self.cluster.live():
            for token, table in ((reader, routes), (admin, routes + admin_routes)):
                for method, target in table:
                    headers = bearer(token)
                    headers["X-Consul-Token"] = token
                    t = target + ("&" if "?" in target else "?") + "accessToken=" + token
                    if target.startswith("/api/"):
                        t = target
                    r = self.http(method, t, server=node, headers=headers)
                    self.assertLess(r.status, 500, "%s %s: %s" % (method, t, r.body[:300]))
                    text = r.body.decode("utf-8", "replace") if isinstance(r.body, bytes) \
                        else r.body
                    for p, enc in zip(plains, b64):
                        self.assertNotIn(p, text, "%s %s leaks a secret" % (method, t))
                        self.assertNotIn(enc, text, "%s %s leaks a secret" % (method, t))
            masked = self.call("GET", GET, params={"namespace": "pay", "key": "db.password"},
                               headers=bearer(reader), server=node).data
            self.assertEqual(masked["value"], "******")
            self.assertTrue(masked["secret"])
            # With reveal (asked for, and granted): the plaintext, on every node.
            shown = self.call("GET", GET, params={"namespace": "pay", "key": "db.password",
                                                  "reveal": "true"},
                              headers=bearer(revealer), server=node).data
            self.assertEqual(shown["value"], plains[11])
            old = self.call("GET", GET, params={"namespace": "pay", "key": "db.password",
                                                "version": 3},
                            headers=dict(bearer(revealer), **REVEAL), server=node).data
            self.assertEqual(old["value"], plains[2])
            # Consul's client cannot ask: its token's grants decide.
            kv = self.http("GET", "/v1/kv/pay/api", server=node,
                           headers={"X-Consul-Token": revealer})
            self.assertEqual(kv.status, 200, kv.body)
            value = base64.b64decode(json.loads(kv.body)[0]["Value"]).decode()
            self.assertEqual(json.loads(value), {"token": token_plain})
            health = self.call("GET", "/api/v1/health", server=node).data
            self.assertEqual(health["components"]["secrets"]["status"], "healthy", health)

        # Reveals are audited (batched: eventually there).
        def audited():
            r = self.call("GET", "/api/v1/admin/audit", params={"action": "secret.reveal",
                                                               "page_size": 100},
                          headers=root, server=self.leader)
            return [e for e in r.data["list"] if e["actor"] == "revealer"] or None
        entries, _ = eventually(audited, 30)
        self.assertTrue(entries, "no audit entry for the reveals")

        # Every byte of every node's data dir (SQLite and its WAL, Raft WAL segments,
        # snapshots, archive) and every log (access log lines included).
        self.cluster.stop_all()
        files = every_byte_under(self.tmp)
        self.assertTrue(any("snap" in p for p in files), "no snapshot was taken")
        for path, data in files.items():
            if path == self.key_file:
                continue
            for p in plains:
                self.assertNotIn(p.encode(), data, "%s holds a secret in plain" % path)


class Tampering(CairnTestCase):
    """A single node (auth off: dev mode reveals). The database is changed behind its back."""

    START_SERVER = False

    def start(self):
        self.key_file = os.path.join(self.tmp, "keys.json")
        generate_key_file(self.key_file, "k1")
        data = self.new_data_dir()
        return self.start_server(["--secret-key-file", self.key_file], data_dir=data), data

    def test_flipped_or_moved_ciphertext_is_refused_with_50005(self):
        srv, data = self.start()
        self.server = srv
        self.create_ns("app")
        for key, value in (("a", "first-secret"), ("b", "second-secret")):
            self.call("POST", CONFIG, json_body={"namespace": "app", "key": key, "value": value,
                                                 "secret": True})
        self.assertEqual(self.get_config("app", "a").data["value"], "first-secret")
        srv.stop()
        db = sqlite3.connect(os.path.join(data, "cairn.db"))
        (sealed,) = db.execute("SELECT value FROM config WHERE \"key\" = 'a'").fetchone()
        flipped = sealed[:-8] + ("A" if sealed[-8] != "A" else "B") + sealed[-7:]
        db.execute("UPDATE config SET value = ? WHERE \"key\" = 'a'", (flipped,))
        db.execute("UPDATE config_version SET value = ? WHERE \"key\" = 'a'", (flipped,))
        # b's value copied onto... b gets a's original sealed value (moved to another key).
        db.execute("UPDATE config SET value = ? WHERE \"key\" = 'b'", (sealed,))
        db.execute("UPDATE config_version SET value = ? WHERE \"key\" = 'b'", (sealed,))
        db.commit()
        db.close()
        srv.start()
        for key in ("a", "b"):
            r = self.call("GET", GET, params={"namespace": "app", "key": key}, expect=50005)
            self.assertEqual(r.status, 500)
            self.assertNotIn("secret", json.dumps(r.json.get("data")))
            for p in ("first-secret", "second-secret"):
                self.assertNotIn(p, r.body.decode() if isinstance(r.body, bytes) else r.body)
        # The node keeps serving everything else.
        self.call("POST", CONFIG, json_body={"namespace": "app", "key": "plain", "value": 1})
        self.assertEqual(self.get_config("app", "plain").data["value"], 1)


@unittest.skipIf(cairn_cluster.REDIS_SERVER is None, "redis-server is not installed")
class RedisSeesOnlySealed(CairnTestCase):
    START_SERVER = False

    def test_redis_holds_secrets_sealed_only(self):
        from harness import free_port
        from test_redis import Resp
        port = free_port()
        self.start_redis_server(port)
        key_file = os.path.join(self.tmp, "keys.json")
        generate_key_file(key_file, "k1")
        self.server = self.start_server(["--secret-key-file", key_file,
                                         "--redis-url", "redis://127.0.0.1:%d/0" % port])
        events = Resp(port)
        self.addCleanup(events.close)
        events.call("SUBSCRIBE", "config:events")
        events.sock.settimeout(10)
        self.create_ns("svc")
        plains = ["redis-plain-%d" % i for i in range(3)]
        self.call("POST", CONFIG, json_body={"namespace": "svc", "key": "pw", "value": plains[0],
                                             "secret": True})
        for p in plains[1:]:
            self.call("PUT", CONFIG, json_body={"namespace": "svc", "key": "pw", "value": p})
        # Older versions read (the tier fills itself with them), in plain (auth off).
        self.assertEqual(self.get_config("svc", "pw", version=1).data["value"], plains[0])
        self.assertEqual(self.get_config("svc", "pw", version=2).data["value"], plains[1])
        seen = [events.read() for _ in range(3)]

        def dump():
            c = Resp(port)
            try:
                out = []
                for key in c.call("KEYS", "*"):
                    kind = c.call("TYPE", key)
                    if kind == "string":
                        out.append(c.call("GET", key))
                    elif kind == "hash":
                        out.append(json.dumps(c.call("HGETALL", key)))
                    elif kind == "zset":
                        out.append(json.dumps(c.call("ZRANGE", key, 0, -1)))
                    out.append(key)
                return out
            finally:
                c.close()
        # Wait until the version keys are there (the tier writes behind the answers).
        texts, _ = eventually(lambda: (lambda d: any("config:version:svc:pw:1" == k for k in d)
                                       and d)(dump()), 10)
        self.assertTrue(texts, "the tier never wrote the versions")
        blob = json.dumps(texts) + json.dumps(seen)
        self.assertIn("$sealed", blob)
        for p in plains:
            self.assertNotIn(p, blob, "Redis holds a secret in plain")


class Rotation(SecretCluster):
    AUTH = False

    def test_rotation_under_write_load_keeps_every_secret_and_version(self):
        self.write_until_ok(lambda: self.http("POST", NS, server=self.leader,
                                              json_body={"name": "svc",
                                                         "secret_keys": ["*"]}))
        for i in range(40):
            self.write_until_ok(lambda: self.create_on(self.leader, "svc", "s%02d" % i,
                                                       "v%02d-a" % i))
            self.write_until_ok(lambda: self.http(
                "PUT", CONFIG, server=self.leader,
                json_body={"namespace": "svc", "key": "s%02d" % i, "value": "v%02d-b" % i}))
        versions_before = {
            "s%02d" % i: [v["version"] for v in self.versions("svc", "s%02d" % i,
                                                              server=self.leader).data["list"]]
            for i in range(40)}
        # A second key, current, on every node (a rolling restart with the new file).
        new = generate_key_file(os.path.join(self.tmp, "k2.json"), "k2")["keys"]
        both = dict(self.keys, **new)
        write_key_file(self.key_file, both, "k2")
        for node in list(self.cluster.live()):
            node.restart()
            self.wait_leader()
        self.wait_converged()
        # Writers keep writing (new secrets, sealed with k2) while the rewrap runs.
        stop = threading.Event()
        written = {}

        def writer():
            n = 0
            while not stop.is_set():
                key, value = "w%03d" % n, "load-%d" % n
                try:
                    r = self.create_on(self.leader, "svc", key, value)
                    if r.code == 0:
                        written[key] = value
                except OSError:
                    pass
                n += 1
        t = threading.Thread(target=writer)
        t.start()
        try:
            # One call by hand (a part of the work), then the CLI, which calls until done with
            # progress on a terminal only: piped here, so stderr stays empty.
            r = self.call("POST", REWRAP, json_body={"batch_size": 10, "max_batches": 2},
                          server=self.cluster.live()[-1])
            self.assertGreater(r.data["remaining"], 0, r.data)
            self.assertFalse(r.data["done"])
            cli = subprocess.run(
                [cairn_cluster.BINARY, "--endpoints", "http://" + self.cluster.live()[-1].base,
                 "-o", "json", "secret", "rewrap", "--batch-size", "10",
                 "--batches-per-call", "2"],
                capture_output=True, text=True, timeout=120)
            self.assertEqual(cli.returncode, 0, cli.stderr + cli.stdout)
            self.assertEqual(cli.stderr, "")
            out = json.loads(cli.stdout)
            self.assertTrue(out["done"], out)
            self.assertEqual(out["remaining"], 0, out)
            self.assertGreater(out["rewrapped"], 0, out)
            self.assertEqual(out["current_key"], "k2", out)
        finally:
            stop.set()
            t.join(30)
        self.wait_converged()
        status = self.call("GET", SECRETS, server=self.leader).data
        self.assertEqual(status["to_rewrap"], 0, status)
        self.assertEqual(list(status["sealed"]), ["k2"], status)
        # The old key can go: every node restarted with k2 alone opens every secret.
        write_key_file(self.key_file, new, "k2")
        for node in list(self.cluster.live()):
            node.restart()
            self.wait_leader()
        self.wait_converged()
        for i in range(40):
            key = "s%02d" % i
            self.assertEqual(self.get_config("svc", key, server=self.leader).data["value"],
                             "v%02d-b" % i)
            self.assertEqual(self.get_config("svc", key, version=1,
                                             server=self.leader).data["value"], "v%02d-a" % i)
            self.assertEqual([v["version"] for v in self.versions("svc", key,
                                                                  server=self.leader).data["list"]],
                             versions_before[key])
        for key, value in written.items():
            self.assertEqual(self.get_config("svc", key, server=self.leader).data["value"], value)
        # A node started with the old key only says so, and refuses the secrets.
        write_key_file(self.key_file, self.keys, "k1")
        victim = self.followers()[0]
        victim.restart()
        health = self.call("GET", "/api/v1/health", server=victim, expect=None)
        component = health.json["data"]["components"]["secrets"]
        self.assertEqual(component["status"], "unhealthy", component)
        self.assertEqual(component["missing_keys"], ["k2"])
        self.call("GET", GET, params={"namespace": "svc", "key": "s00"}, server=victim,
                  expect=50005)


if __name__ == "__main__":
    unittest.main()
