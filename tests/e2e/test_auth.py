"""Tokens, namespace-scoped permissions and the audit log (issue 9, docs/security.md), against
real `cairn server` processes started with --auth-enabled: 401/40101 without a valid token,
403/40301 outside a token's namespaces through every endpoint, the token's name as operator,
audit entries for allowed and denied actions, expiry, revocation on every node of a cluster,
root-token bootstrap and the slowing of repeated failures.

Waits (expiry, replication) are polls with a bound; nothing asserts on how long they took."""

import json
import os
import stat
import subprocess
import time
import unittest

import harness

from cluster import ClusterCase, eventually
from harness import CairnTestCase

ROOT = "root-secret"
TOKENS = "/api/v1/admin/tokens"
AUDIT = "/api/v1/admin/audit"
WHOAMI = "/api/v1/auth/whoami"
CONFIG = "/api/v1/admin/config"
NS = "/api/v1/admin/namespace"


def bearer(token):
    return {"Authorization": "Bearer " + token}


class RootTokenEnv:
    """Sets CAIRN_ROOT_TOKEN for the servers the test starts (they inherit the environment)."""

    def set_root_env(self, value=ROOT):
        old = os.environ.get("CAIRN_ROOT_TOKEN")
        os.environ["CAIRN_ROOT_TOKEN"] = value

        def restore():
            if old is None:
                os.environ.pop("CAIRN_ROOT_TOKEN", None)
            else:
                os.environ["CAIRN_ROOT_TOKEN"] = old
        self.addCleanup(restore)

    def make_token(self, name, grants, ttl=None, server=None, token=ROOT):
        body = {"name": name, "grants": grants}
        if ttl:
            body["ttl"] = ttl
        r = self.call("POST", TOKENS, json_body=body, headers=bearer(token), server=server,
                      message="令牌创建成功")
        self.assertTrue(r.data["token"].startswith("cairn_"), r.describe())
        self.assertEqual(r.data["name"], name)
        return r.data["id"], r.data["token"]


class Auth(RootTokenEnv, CairnTestCase):
    START_SERVER = False

    def setUp(self):
        super().setUp()
        self.set_root_env()
        self.server = self.start_server(["--auth-enabled", "--rate-limit-enabled=false"])
        root = bearer(ROOT)
        for ns in ("a-svc", "b-svc"):
            self.create_ns(ns, headers=root)
            self.create_config(ns, "k", {"ns": ns}, headers=root)
            self.update_config(ns, "k", value={"ns": ns, "v": 2}, headers=root)
        self.a_id, self.a = self.make_token("svc-a", [{"namespace": "a-*", "permission": "write"}])

    def test_no_token_is_401_and_health_stays_open(self):
        r = self.call("GET", "/api/v1/config/get", params={"namespace": "a-svc", "key": "k"},
                      expect=40101)
        self.assertIn("Bearer", r.header("WWW-Authenticate") or "")
        self.call("GET", "/api/v1/config/get", params={"namespace": "a-svc", "key": "k"},
                  headers=bearer("cairn_wrong"), expect=40101)
        self.call("GET", "/api/v1/config/get", params={"namespace": "a-svc", "key": "k"},
                  headers={"Authorization": "Basic Zm9vOmJhcg=="}, expect=40101)
        self.call("GET", "/api/v1/health")
        # An unknown namespace and a forbidden one look the same to an outsider.
        self.call("GET", "/api/v1/config/get", params={"namespace": "zzz", "key": "k"},
                  expect=40101)

    def test_namespace_token_is_confined_to_its_namespaces_through_every_endpoint(self):
        tok = bearer(self.a)
        # Its own namespace works.
        self.call("GET", "/api/v1/config/get", params={"namespace": "a-svc", "key": "k"},
                  headers=tok)
        self.call("PUT", CONFIG, json_body={"namespace": "a-svc", "key": "k", "value": 3},
                  headers=tok)
        # Everything in b-svc is 403, whether b-svc exists or not.
        denied = [
            ("GET", "/api/v1/config/get", {"namespace": "b-svc", "key": "k"}, None),
            ("GET", "/api/v1/config/get", {"namespace": "no-such", "key": "k"}, None),
            ("POST", "/api/v1/config/batch-get", None, {"namespace": "b-svc", "keys": ["k"]}),
            ("GET", "/api/v1/config/namespace/b-svc", None, None),
            ("GET", "/api/v1/config/versions", {"namespace": "b-svc", "key": "k"}, None),
            ("GET", "/api/v1/config/diff",
             {"namespace": "b-svc", "key": "k", "from": 1, "to": 2}, None),
            ("GET", "/api/v1/config/watch", {"namespace": "b-svc", "revision": 0,
                                             "timeout": "1s"}, None),
            ("GET", "/api/v1/config/watch/stream", {"namespace": "b-svc"}, None),
            ("GET", "/api/v1/admin/config/history", {"namespace": "b-svc", "key": "k"}, None),
            ("GET", "/api/v1/admin/config/versions", {"namespace": "b-svc", "key": "k"}, None),
            ("GET", "/api/v1/admin/config/diff",
             {"namespace": "b-svc", "key": "k", "from": 1, "to": 2}, None),
            ("GET", "/api/v1/admin/config/list", {"namespace": "b-svc"}, None),
            ("POST", CONFIG, None, {"namespace": "b-svc", "key": "new", "value": 1}),
            ("PUT", CONFIG, None, {"namespace": "b-svc", "key": "k", "value": 1}),
            ("DELETE", CONFIG, {"namespace": "b-svc", "key": "k"}, None),
            ("POST", "/api/v1/admin/config/rollback", None,
             {"namespace": "b-svc", "key": "k", "target_version": 1}),
            ("POST", "/api/v1/admin/config/batch", None,
             {"namespace": "b-svc", "operations": [{"op": "delete", "key": "k"}]}),
            ("POST", "/api/v1/admin/config/tag", None,
             {"namespace": "b-svc", "key": "k", "version": 1, "tag": "t"}),
            ("POST", "/api/v1/admin/config/cleanup", None, {"namespace": "b-svc"}),
            ("POST", "/api/v1/admin/config/cleanup", None, {}),  # every namespace
            ("PUT", NS + "/b-svc", None, {"description": "x"}),
            ("DELETE", NS + "/b-svc", None, None),
            ("POST", NS, None, {"name": "b-new"}),
            ("GET", TOKENS, None, None),
            ("GET", AUDIT, None, None),
            ("GET", "/api/v1/debug/vars", None, None),
        ]
        for method, path, params, body in denied:
            r = self.http(method, path, params=params, json_body=body, headers=tok)
            self.check_envelope(r)
            self.assertEqual(r.code, 40301, "%s %s %s: %s" % (method, path, params or body,
                                                              r.describe()))
            self.assertNotIn("b-svc", json.dumps(r.json.get("data")))
        # Write is not admin: tags, clean-up and namespace settings in its own namespace too.
        self.call("POST", "/api/v1/admin/config/tag", json_body={
            "namespace": "a-svc", "key": "k", "version": 1, "tag": "t"}, headers=tok,
            expect=40301)
        # Nothing in b-svc changed.
        r = self.call("GET", "/api/v1/config/get", params={"namespace": "b-svc", "key": "k"},
                      headers=bearer(ROOT))
        self.assertEqual(r.data["version"], 2)
        # Lists show only what the token may see.
        names = [n["name"] for n in self.call("GET", NS + "/list", headers=tok).data["list"]]
        self.assertEqual(names, ["a-svc"])
        keys = [(c["namespace"], c["key"]) for c in
                self.call("GET", "/api/v1/admin/config/list", headers=tok).data["list"]]
        self.assertEqual(keys, [("a-svc", "k")])
        all_names = [n["name"] for n in
                     self.call("GET", NS + "/list", headers=bearer(ROOT)).data["list"]]
        self.assertEqual(all_names, ["a-svc", "b-svc"])

    def test_operator_is_the_token_name_and_the_audit_log_records_it(self):
        tok = dict(bearer(self.a), **{"X-Operator": "mallory"})
        self.call("PUT", CONFIG, json_body={"namespace": "a-svc", "key": "k", "value": 9},
                  headers=tok)
        hist = self.call("GET", "/api/v1/admin/config/history",
                         params={"namespace": "a-svc", "key": "k"}, headers=tok).data["list"]
        self.assertEqual(hist[0]["operator"], "svc-a", "X-Operator must be ignored with auth on")
        self.call("GET", "/api/v1/config/get", params={"namespace": "b-svc", "key": "k"},
                  headers=bearer(self.a), expect=40301)

        def audit_has(**want):
            rows = self.call("GET", AUDIT, params=dict(want, page_size=100),
                             headers=bearer(ROOT)).data["list"]
            return rows or None
        allowed, _ = eventually(lambda: audit_has(actor="svc-a", action="config.update"), 10)
        self.assertTrue(allowed, "the allowed update is not in the audit log")
        self.assertEqual(allowed[0]["namespace"], "a-svc")
        self.assertEqual(allowed[0]["key"], "k")
        self.assertEqual(allowed[0]["code"], 0)
        self.assertEqual(allowed[0]["client_ip"], "127.0.0.1")
        denied, _ = eventually(lambda: audit_has(actor="svc-a", namespace="b-svc"), 10)
        self.assertTrue(denied, "the denied read is not in the audit log")
        self.assertEqual(denied[0]["code"], 40301)
        self.assertEqual(denied[0]["action"], "GET /api/v1/config/get")
        root_rows = self.call("GET", AUDIT, params={"actor": "root", "action": "token.*"},
                              headers=bearer(ROOT)).data
        self.assertEqual(root_rows["pagination"]["total"], 1)

    def test_tokens_are_listed_without_secrets_whoami_and_revocation(self):
        me = self.call("GET", WHOAMI, headers=bearer(self.a)).data
        self.assertEqual(me["name"], "svc-a")
        self.assertEqual(me["grants"], [{"namespace": "a-*", "permission": "write"}])
        self.assertFalse(me["cluster_admin"])
        self.assertTrue(self.call("GET", WHOAMI, headers=bearer(ROOT)).data["cluster_admin"])
        listed = self.call("GET", TOKENS, headers=bearer(ROOT))
        self.assertNotIn(self.a, listed.text)
        self.assertNotIn("secret_hash", listed.text)
        self.assertEqual([(t["name"], t["status"]) for t in listed.data["list"]],
                         [("svc-a", "active")])
        self.call("DELETE", TOKENS + "/" + self.a_id, headers=bearer(ROOT))
        self.call("GET", WHOAMI, headers=bearer(self.a), expect=40101)
        self.call("DELETE", TOKENS + "/" + self.a_id, headers=bearer(ROOT), expect=40401)
        self.assertEqual(self.call("GET", TOKENS, headers=bearer(ROOT)).data["list"][0]["status"],
                         "revoked")

    def test_bad_token_requests_and_expiry(self):
        root = bearer(ROOT)
        for body, field in [
                ({"grants": [{"namespace": "a", "permission": "read"}]}, "name"),
                ({"name": "x y", "grants": [{"namespace": "a", "permission": "read"}]}, "name"),
                ({"name": "root", "grants": [{"namespace": "a", "permission": "read"}]}, "name"),
                ({"name": "x", "grants": []}, "grants"),
                ({"name": "x", "grants": [{"namespace": "a", "permission": "owner"}]}, "grants"),
                ({"name": "x", "grants": [{"namespace": "a b", "permission": "read"}]}, "grants"),
                ({"name": "x", "grants": [{"permission": "read"}]}, "grants"),
                ({"name": "x", "grants": [{"namespace": "a", "permission": "read"}],
                  "ttl": "soon"}, "ttl")]:
            r = self.http("POST", TOKENS, json_body=body, headers=root)
            self.check_envelope(r)
            self.assertIn(r.code, (40001, 40002), r.describe())
            self.assertEqual(r.error.get("field"), field, r.describe())
        # A namespace token cannot make tokens, not even for itself.
        self.call("POST", TOKENS, json_body={"name": "x", "grants": [{"permission":
                                                                      "cluster-admin"}]},
                  headers=bearer(self.a), expect=40301)
        _, short = self.make_token("short", [{"namespace": "*", "permission": "read"}], ttl="1s")
        self.call("GET", WHOAMI, headers=bearer(short))
        expired, last = eventually(lambda: self.http("GET", WHOAMI, headers=bearer(short)).code
                                   == 40101, 15, 0.2)
        self.assertTrue(expired, "a 1s token still works: %s" % last)


class AuthCli(RootTokenEnv, CairnTestCase):
    """The CLI's token, whoami and audit subcommands against a server with auth on."""
    START_SERVER = False

    def cli(self, *args, token=ROOT):
        out = subprocess.run([harness.BINARY, "--endpoints", "http://" + self.server.base,
                              "--token", token, "-o", "json"] + list(args),
                             capture_output=True, text=True, timeout=30)
        return out.returncode, json.loads(out.stdout) if out.stdout.strip() else None, out.stderr

    def test_token_lifecycle_through_the_cli(self):
        self.set_root_env()
        self.server = self.start_server(["--auth-enabled"])
        rc, made, err = self.cli("token", "create", "svc-b", "--grant", "b-*:read",
                                 "--grant", "c:write", "--ttl", "1h")
        self.assertEqual(rc, 0, err)
        self.assertEqual(made["grants"], [{"namespace": "b-*", "permission": "read"},
                                          {"namespace": "c", "permission": "write"}])
        rc, me, err = self.cli("whoami", token=made["token"])
        self.assertEqual((rc, me["name"]), (0, "svc-b"), err)
        rc, listed, err = self.cli("token", "list")
        self.assertEqual([t["name"] for t in listed["list"]], ["svc-b"])
        self.assertNotIn(made["token"], json.dumps(listed))
        rc, audit, err = self.cli("audit", "--actor", "root", "--action", "token.*")
        self.assertEqual(rc, 0, err)
        self.assertEqual([e["action"] for e in audit["list"]], ["token.create"])
        rc, _, err = self.cli("token", "revoke", made["id"])
        self.assertEqual(rc, 0, err)
        rc, _, err = self.cli("whoami", token=made["token"])
        self.assertEqual(rc, 1, "a revoked token still works")
        self.assertIn("40101", err)
        rc, _, err = self.cli("token", "create", "x", "--grant", "nonsense")
        self.assertEqual(rc, 2, err)


class Bootstrap(RootTokenEnv, CairnTestCase):
    START_SERVER = False

    def test_generated_root_token_is_written_once_with_mode_0600(self):
        self.set_root_env("")  # unset for the server: it generates one
        os.environ.pop("CAIRN_ROOT_TOKEN", None)
        srv = self.start_server(["--auth-enabled"])
        path = os.path.join(srv.data_dir, "root-token")
        self.assertTrue(os.path.exists(path))
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path, encoding="utf-8") as f:
            secret = f.read().strip()
        self.assertIn(secret, srv.log_tail(), "the generated token is printed once")
        self.call("GET", WHOAMI, headers=bearer(secret), server=srv)
        self.restart(srv)
        self.assertNotIn(secret, srv.log_tail(), "printed again after a restart")
        self.assertEqual(self.call("GET", WHOAMI, headers=bearer(secret),
                                   server=srv).data["name"], "root")

    def test_repeated_failures_from_one_address_are_slowed(self):
        self.set_root_env()
        srv = self.start_server(["--auth-enabled", "--auth-failure-burst", "3",
                                 "--auth-failure-interval", "1h"])
        for _ in range(3):
            self.call("GET", WHOAMI, headers=bearer("guess"), server=srv, expect=40101)
        r = self.call("GET", WHOAMI, headers=bearer(ROOT), server=srv, expect=42902)
        self.assertGreater(int(r.header("Retry-After")), 0)


class ClusterAuth(RootTokenEnv, ClusterCase):
    """Tokens live in the replicated state: made on one node, honoured and revoked on all."""

    CLUSTER_ARGS = ("--auth-enabled",)

    def setUp(self):
        os.environ["CAIRN_ROOT_TOKEN"] = ROOT
        self.addCleanup(os.environ.pop, "CAIRN_ROOT_TOKEN", None)
        super().setUp()

    def status(self, node):
        # The cluster status needs cluster-admin with auth on.
        r = self.http("GET", "/api/v1/cluster/status", server=node, timeout=5,
                      headers=bearer(ROOT))
        self.check_envelope(r)
        self.assertEqual(r.code, 0, r.describe())
        return r.data

    def vars(self, node, checksum=False):
        return self.call("GET", "/api/v1/debug/vars", params={"checksum": 1} if checksum
                         else None, server=node, headers=bearer(ROOT)).data

    def test_token_made_through_a_follower_works_and_is_revoked_on_every_node(self):
        follower = self.followers()[0]
        root = bearer(ROOT)
        self.write_until_ok(lambda: self.http("POST", NS, json_body={"name": "a-svc"},
                                              server=self.leader, headers=root))
        self.write_until_ok(lambda: self.http("POST", NS, json_body={"name": "b-svc"},
                                              server=self.leader, headers=root))
        tid, secret = self.make_token("svc-a", [{"namespace": "a-*", "permission": "write"}],
                                      server=follower)
        # Writes through a follower keep the caller's identity on the leader.
        self.call("POST", CONFIG, json_body={"namespace": "a-svc", "key": "k", "value": 1},
                  headers=bearer(secret), server=follower)
        self.call("POST", CONFIG, json_body={"namespace": "b-svc", "key": "k", "value": 1},
                  headers=bearer(secret), server=follower, expect=40301)
        self.wait_converged()
        for n in self.cluster.live():
            r = self.call("GET", "/api/v1/config/get", params={"namespace": "a-svc", "key": "k"},
                          headers=bearer(secret), server=n)
            self.assertEqual(r.data["value"], 1)
            self.call("GET", "/api/v1/config/get", params={"namespace": "b-svc", "key": "k"},
                      headers=bearer(secret), server=n, expect=40301)
            hist = self.call("GET", "/api/v1/admin/config/history",
                             params={"namespace": "a-svc", "key": "k"}, headers=root,
                             server=n).data["list"]
            self.assertEqual(hist[0]["operator"], "svc-a")
        self.call("DELETE", TOKENS + "/" + tid, headers=root, server=follower)
        for n in self.cluster.live():
            gone, last = eventually(lambda: self.http(
                "GET", WHOAMI, headers=bearer(secret), server=n).code == 40101, 10)
            self.assertTrue(gone, "node%d still takes a revoked token" % n.raft_id)

        # A denial on a follower reaches the replicated audit log.
        self.call("GET", "/api/v1/config/get", params={"namespace": "b-svc", "key": "zz"},
                  headers={"Authorization": "Bearer nobody"}, server=follower, expect=40101)

        def audited():
            for n in self.cluster.live():
                rows = self.call("GET", AUDIT, params={"namespace": "", "action":
                                                       "GET /api/v1/config/get"},
                                 headers=root, server=n).data["list"]
                if not any(r["key"] == "zz" and r["code"] == 40101 for r in rows):
                    return False
            return True
        ok, _ = eventually(audited, 15, 0.2)
        self.assertTrue(ok, "the follower's denial is not in every node's audit log")


if __name__ == "__main__":
    unittest.main()
