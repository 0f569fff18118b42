"""Consul KV front-end (docs/compat.md, "Consul KV") against a real 3-node Cairn, through
Debian's python3-consul (the real client) and, for what it lacks (/v1/txn, bad input), raw HTTP.

Nothing here asserts on how long something took: a blocking query is seen held through the
node's /api/v1/debug/vars probe (watch_held_polls) and through the answer that arrives.
"""

import base64
import json
import sys
import threading
import unittest

try:
    import consul
except ImportError:  # Debian's package lives in the system interpreter's dist-packages
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import consul
    except ImportError:
        consul = None

from cluster import ClusterCase, eventually
from test_auth import ROOT, RootTokenEnv


def need_consul():
    if consul is None:
        raise unittest.SkipTest("python3-consul is not installed (apt-get install python3-consul)")


class ConsulCase(ClusterCase):
    def setUp(self):
        need_consul()
        super().setUp()
        self.nodes = list(self.cluster.all())
        self.followers = [n for n in self.nodes if n is not self.leader]

    def client(self, node, token=None):
        return consul.Consul(host="127.0.0.1", port=node.port, token=token)

    def raw(self, method, target, body=None, headers=None, node=None):
        return self.http(method, target, body=body, headers=headers, server=node or self.leader)

    def index_of(self, r):
        v = r.header("X-Consul-Index")
        self.assertIsNotNone(v, "no X-Consul-Index: " + r.describe())
        self.assertGreater(int(v), 0, r.describe())
        self.assertIsNotNone(r.header("X-Consul-KnownLeader"), r.describe())
        self.assertIsNotNone(r.header("X-Consul-LastContact"), r.describe())
        return int(v)

    def held_polls(self, node):
        return self.debug_vars(server=node)["watch_held_polls"]

    def in_thread(self, fn):
        out = {}

        def run():
            try:
                out["value"] = fn()
            except Exception as e:  # noqa: BLE001 - reported by the test
                out["error"] = e
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, out


class ConsulKv(ConsulCase):
    def test_get_put_cas_delete_recurse_keys_through_the_client(self):
        c = self.client(self.leader)
        f = self.client(self.followers[0])
        self.assertTrue(c.kv.put("app/db/url", "postgres://db:5432/x"))
        idx, e = c.kv.get("app/db/url")
        self.assertGreater(int(idx), 0)
        self.assertEqual(e["Key"], "app/db/url")
        self.assertEqual(e["Value"], b"postgres://db:5432/x")
        self.assertEqual(e["Flags"], 0)
        self.assertGreater(e["ModifyIndex"], 0)
        self.assertGreater(e["CreateIndex"], 0)

        # A write through a follower reads back through every node.
        self.assertTrue(f.kv.put("app/db/user", "admin", flags=42))
        for n in self.nodes:
            got = eventually(lambda n=n: (self.client(n).kv.get("app/db/user")[1] or {})
                             .get("Value") == b"admin", 20)
            self.assertTrue(got, "node %r never saw app/db/user" % n)
        _, e = c.kv.get("app/db/user")
        self.assertEqual(e["Flags"], 42)
        # A put without flags sets them to 0, as Consul does.
        self.assertTrue(c.kv.put("app/db/user", "admin"))
        self.assertEqual(c.kv.get("app/db/user")[1]["Flags"], 0)
        self.assertTrue(c.kv.put("app/db/user", "admin", flags=2 ** 64 - 1))
        self.assertEqual(c.kv.get("app/db/user")[1]["Flags"], 2 ** 64 - 1)

        # Binary and multi-line values come back byte for byte.
        blob = bytes(range(256))
        self.assertTrue(c.kv.put("app/blob", blob))
        self.assertEqual(c.kv.get("app/blob")[1]["Value"], blob)
        text = "line 1\nline 2 é 中文\n"
        self.assertTrue(c.kv.put("app/text", text))
        self.assertEqual(c.kv.get("app/text")[1]["Value"], text.encode())
        big = "line é\n" * 100_000  # 900 kB, 1 MB once stored as a JSON string: at the limit
        self.assertTrue(c.kv.put("app/big", big))
        self.assertEqual(c.kv.get("app/big")[1]["Value"], big.encode())
        self.assertTrue(c.kv.delete("app/big"))
        native = self.get_config("app", "text").data
        self.assertEqual(native["value"], text, "stored as a JSON string of the same bytes")

        # CAS: 0 is create-only; N must be the ModifyIndex.
        _, e = c.kv.get("app/db/url")
        self.assertFalse(c.kv.put("app/db/url", "other", cas=0))
        self.assertFalse(c.kv.put("app/db/url", "other", cas=e["ModifyIndex"] + 100))
        self.assertTrue(c.kv.put("app/db/url", "v2", cas=e["ModifyIndex"]))
        self.assertFalse(c.kv.put("app/db/url", "v3", cas=e["ModifyIndex"]), "stale index won")
        self.assertTrue(c.kv.put("app/new", "n", cas=0))
        _, e2 = c.kv.get("app/db/url")
        self.assertEqual(e2["Value"], b"v2")
        self.assertGreater(e2["ModifyIndex"], e["ModifyIndex"])

        # keys with a separator, recurse.
        self.assertTrue(c.kv.put("app/web/port", "8080"))
        _, keys = c.kv.get("app/", keys=True, separator="/")
        self.assertEqual(keys, ["app/blob", "app/db/", "app/new", "app/text", "app/web/"])
        _, keys = c.kv.get("app/db/", keys=True)
        self.assertEqual(keys, ["app/db/url", "app/db/user"])
        _, entries = c.kv.get("app/db/", recurse=True)
        self.assertEqual([x["Key"] for x in entries], ["app/db/url", "app/db/user"])

        # raw
        r = self.raw("GET", "/v1/kv/app/web/port?raw")
        self.assertEqual((r.status, r.body), (200, b"8080"), r.describe())
        self.index_of(r)

        # delete: cas, plain, recurse; 404 carries the index headers.
        _, e = c.kv.get("app/web/port")
        self.assertFalse(c.kv.delete("app/web/port", cas=e["ModifyIndex"] + 1))
        self.assertTrue(c.kv.delete("app/web/port", cas=e["ModifyIndex"]))
        idx, gone = c.kv.get("app/web/port")
        self.assertIsNone(gone)
        self.assertGreater(int(idx), 0)
        r = self.raw("GET", "/v1/kv/app/web/port")
        self.assertEqual(r.status, 404, r.describe())
        self.index_of(r)
        self.assertTrue(c.kv.delete("app/never"))
        self.assertTrue(c.kv.delete("app/db/", recurse=True))
        self.assertIsNone(c.kv.get("app/db/", recurse=True)[1])
        self.assertEqual(c.kv.get("app/", keys=True)[1], ["app/blob", "app/new", "app/text"])

        # A value written natively reads through Consul as its text.
        self.create_config("app", "native", {"a": 1})
        self.create_config("app", "native-text", "plain text")
        self.assertEqual(c.kv.get("app/native")[1]["Value"], b'{"a":1}')
        self.assertEqual(c.kv.get("app/native-text")[1]["Value"], b"plain text")

    def test_status_and_other_endpoints(self):
        c = self.client(self.followers[0])
        leader = c.status.leader()
        self.assertEqual(leader, self.leader.peer)
        peers = c.status.peers()
        self.assertEqual(sorted(peers), sorted(n.peer for n in self.nodes))
        for method, target in (("GET", "/v1/agent/self"), ("PUT", "/v1/session/create"),
                               ("GET", "/v1/catalog/services"), ("GET", "/v1/kv")):
            r = self.raw(method, target)
            self.assertEqual(r.status, 404, r.describe())
            self.assertTrue(r.header("Content-Type").startswith("text/plain"), r.describe())
            self.index_of(r)

    def test_txn(self):
        c = self.client(self.leader)
        self.assertTrue(c.kv.put("tx/a", "1"))
        _, a = c.kv.get("tx/a")

        def b64(s):
            return base64.b64encode(s.encode()).decode()
        ops = [{"KV": {"Verb": "set", "Key": "tx/b", "Value": b64("2"), "Flags": 7}},
               {"KV": {"Verb": "cas", "Key": "tx/a", "Value": b64("1b"),
                       "Index": a["ModifyIndex"]}},
               {"KV": {"Verb": "get", "Key": "tx/a"}},
               {"KV": {"Verb": "check-index", "Key": "tx/a", "Index": a["ModifyIndex"]}}]
        r = self.raw("PUT", "/v1/txn", body=json.dumps(ops), node=self.followers[1])
        # check-index after the cas in the same txn sees the cas's write: stale → 409.
        self.assertEqual(r.status, 409, r.describe())
        body = json.loads(r.body)
        self.assertIsNone(body["Results"])
        self.assertEqual(body["Errors"][0]["OpIndex"], 3)
        self.assertIsNone(c.kv.get("tx/b")[1], "a failed txn wrote something")
        self.assertEqual(c.kv.get("tx/a")[1]["Value"], b"1")

        r = self.raw("PUT", "/v1/txn", body=json.dumps(ops[:3]), node=self.followers[1])
        self.assertEqual(r.status, 200, r.describe())
        self.index_of(r)
        res = json.loads(r.body)
        self.assertIsNone(res["Errors"])
        self.assertEqual([x["KV"]["Key"] for x in res["Results"]], ["tx/b", "tx/a", "tx/a"])
        self.assertEqual(res["Results"][0]["KV"]["Flags"], 7)
        _, b = c.kv.get("tx/b")
        self.assertEqual((b["Value"], b["Flags"]), (b"2", 7))
        self.assertEqual(c.kv.get("tx/a")[1]["Value"], b"1b")

        # delete-tree and check-not-exists
        ops = [{"KV": {"Verb": "check-not-exists", "Key": "tx/zz"}},
               {"KV": {"Verb": "delete-tree", "Key": "tx/"}}]
        r = self.raw("PUT", "/v1/txn", body=json.dumps(ops))
        self.assertEqual(r.status, 200, r.describe())
        self.assertIsNone(c.kv.get("tx/", recurse=True)[1])

    def test_bad_input_gets_consul_errors_and_changes_nothing(self):
        c = self.client(self.leader)
        self.assertTrue(c.kv.put("bad/k", "v"))
        before = self.revision(server=self.leader)
        cases = [
            ("PUT", "/v1/txn", "{not json", 400),
            ("PUT", "/v1/txn", json.dumps({"KV": {}}), 400),
            ("PUT", "/v1/txn", json.dumps([{"KV": {"Verb": "set", "Key": "bad/x",
                                                    "Value": "%%%"}}]), 400),
            ("PUT", "/v1/txn", json.dumps([{"KV": {"Verb": "lock", "Key": "bad/x"}}]), 400),
            ("PUT", "/v1/txn", json.dumps([{"KV": {"Verb": "set", "Key": "bad/x%d" % i,
                                                    "Value": ""}} for i in range(65)]), 413),
            ("PUT", "/v1/txn", json.dumps([{"KV": {"Verb": "set", "Key": "bad/x", "Value": ""}},
                                           {"KV": {"Verb": "set", "Key": "other/x",
                                                   "Value": ""}}]), 400),
            ("GET", "/v1/kv/bad/k?index=1&wait=forever", None, 400),
            ("GET", "/v1/kv/bad/k?index=1&wait=5", None, 400),
            ("GET", "/v1/kv/bad/k?index=1&wait=999999h", None, 400),
            ("GET", "/v1/kv/bad/k?index=-1", None, 400),
            ("PUT", "/v1/kv/bad/k?cas=x", "v", 400),
            ("PUT", "/v1/kv/bad/k?flags=-1", "v", 400),
            ("PUT", "/v1/kv/bad/has%20space", "v", 400),
            ("PUT", "/v1/kv/bad/", "v", 400),
            ("PUT", "/v1/kv/bad%21ns/k", "v", 400),
            ("PUT", "/v1/kv/bad/k?acquire=abc", "v", 400),
            ("PUT", "/v1/kv/bad/big", "x" * (1024 * 1024 + 1), 413),
            ("PUT", "/v1/kv/bad/big", "\n" * (600 * 1024), 413),  # 1.2 MB once escaped
            ("PUT", "/v1/kv/bad/big", b"\xff" * (900 * 1024), 413),  # 1.2 MB as base64
            ("DELETE", "/v1/kv/bad/k?cas=nope", None, 400),
        ]
        for method, target, body, status in cases:
            r = self.raw(method, target, body=body)
            self.assertEqual(r.status, status, "%s %s: %s" % (method, target, r.describe()))
            self.assertTrue(r.header("Content-Type").startswith("text/plain"), r.describe())
            self.assertTrue(r.body, "an error without text: " + r.describe())
            self.index_of(r)
        self.assertEqual(self.revision(server=self.leader), before, "bad input changed state")
        self.assertEqual(c.kv.get("bad/k")[1]["Value"], b"v")
        # A wait beyond the 10 minute ceiling is cut to it, not refused; HEAD holds nothing.
        r = self.raw("GET", "/v1/kv/bad/k?wait=20m")
        self.assertEqual(r.status, 200, r.describe())
        for n in self.nodes:
            self.assertTrue(n.alive, "a node died on bad input")


class ConsulBlocking(ConsulCase):
    def test_blocking_query_wakes_on_changes_through_other_nodes_and_protocols(self):
        c = self.client(self.leader)
        self.assertTrue(c.kv.put("w/k", "v1"))
        watcher_node = self.followers[0]
        w = self.client(watcher_node)
        self.assertTrue(eventually(lambda: (w.kv.get("w/k")[1] or {}).get("Value") == b"v1", 20))
        idx, _ = w.kv.get("w/k")

        # 1. A Consul write through another node wakes a key query.
        t, out = self.in_thread(lambda: w.kv.get("w/k", index=idx, wait="60s"))
        self.assertTrue(eventually(lambda: self.held_polls(watcher_node) >= 1, 20))
        self.assertTrue(c.kv.put("w/k", "v2"))
        t.join(30)
        self.assertFalse(t.is_alive(), "the blocking query never woke")
        self.assertNotIn("error", out)
        idx2, e = out["value"]
        self.assertEqual(e["Value"], b"v2")
        self.assertGreater(int(idx2), int(idx))

        # 2. A native API write on the leader wakes a prefix (recurse) query on a follower.
        t, out = self.in_thread(lambda: w.kv.get("w/", recurse=True, index=idx2, wait="60s"))
        self.assertTrue(eventually(lambda: self.held_polls(watcher_node) >= 1, 20))
        self.update_config("w", "k", value="v3", server=self.leader)
        t.join(30)
        self.assertFalse(t.is_alive(), "the blocking query never woke on a native write")
        idx3, entries = out["value"]
        self.assertEqual([x["Value"] for x in entries], [b"v3"])
        self.assertGreater(int(idx3), int(idx2))

        # 3. A delete under the prefix wakes it too.
        self.assertTrue(c.kv.put("w/other", "o"))
        self.assertTrue(eventually(lambda: len(w.kv.get("w/", recurse=True)[1] or []) == 2, 20))
        idx4, _ = w.kv.get("w/", recurse=True)
        t, out = self.in_thread(lambda: w.kv.get("w/", keys=True, index=idx4, wait="60s"))
        self.assertTrue(eventually(lambda: self.held_polls(watcher_node) >= 1, 20))
        self.assertTrue(c.kv.delete("w/other"))
        t.join(30)
        self.assertFalse(t.is_alive(), "the blocking query never woke on a delete")
        idx5, keys = out["value"]
        self.assertEqual(keys, ["w/k"])
        self.assertGreater(int(idx5), int(idx4))

        # 4. A query on a missing key wakes when it is created.
        idx6, none = w.kv.get("w/later")
        self.assertIsNone(none)
        t, out = self.in_thread(lambda: w.kv.get("w/later", index=idx6, wait="60s"))
        self.assertTrue(eventually(lambda: self.held_polls(watcher_node) >= 1, 20))
        self.assertTrue(c.kv.put("w/later", "here"))
        t.join(30)
        self.assertFalse(t.is_alive())
        self.assertEqual(out["value"][1]["Value"], b"here")

        # 5. A short wait without a change answers with the same index.
        idx7, _ = w.kv.get("w/k")
        again, e = w.kv.get("w/k", index=idx7, wait="1s")
        self.assertEqual(int(again), int(idx7))
        self.assertEqual(e["Value"], b"v3")
        self.assertEqual(self.held_polls(watcher_node), 0)


class ConsulAuth(ConsulCase, RootTokenEnv):
    CLUSTER_ARGS = ("--auth-enabled",)

    def setUp(self):
        self.set_root_env()
        super().setUp()

    def debug_vars(self, server=None):
        return self.call("GET", "/api/v1/debug/vars", server=server,
                         headers={"Authorization": "Bearer " + ROOT}).data

    def wait_leader(self, *args, **kwargs):
        # The cluster status needs a token with auth on: ask with the root token.
        orig = self.http

        def with_root(method, path, headers=None, **kw):
            h = dict(headers or {})
            h.setdefault("Authorization", "Bearer " + ROOT)
            return orig(method, path, headers=h, **kw)
        self.http = with_root
        try:
            return super().wait_leader(*args, **kwargs)
        finally:
            self.http = orig

    def test_token_grants_apply(self):
        r = self.call("POST", "/api/v1/admin/tokens", server=self.leader,
                      json_body={"name": "svc-a",
                                 "grants": [{"namespace": "a-*", "permission": "write"}]},
                      headers={"Authorization": "Bearer " + ROOT})
        token = r.data["token"]
        root = self.client(self.leader, token=ROOT)
        self.assertTrue(root.kv.put("b-svc/k", "b"))
        a = self.client(self.followers[0], token=token)
        self.assertTrue(a.kv.put("a-svc/k", "a"))
        # A follower serves reads locally (?stale); ?consistent reads through the leader.
        self.assertEqual(a.kv.get("a-svc/k", consistency="consistent")[1]["Value"], b"a")
        with self.assertRaises(consul.ACLPermissionDenied):
            a.kv.put("b-svc/k", "x")
        with self.assertRaises(consul.ACLPermissionDenied):
            a.kv.get("b-svc/k")
        with self.assertRaises(consul.ACLPermissionDenied):
            a.kv.delete("b-svc/k")
        anonymous = self.client(self.leader)
        with self.assertRaises(consul.ACLPermissionDenied):
            anonymous.kv.get("a-svc/k")
        # The X-Consul-Token header works as the query parameter does.
        r = self.raw("GET", "/v1/kv/a-svc/k?raw&consistent", headers={"X-Consul-Token": token},
                     node=self.followers[1])
        self.assertEqual((r.status, r.body), (200, b"a"), r.describe())
        r = self.raw("GET", "/v1/kv/b-svc/k", headers={"X-Consul-Token": token})
        self.assertEqual(r.status, 403, r.describe())
        self.assertIn(b"Permission denied", r.body)
        self.index_of(r)
        r = self.raw("GET", "/v1/kv/a-svc/k", headers={"X-Consul-Token": "cairn_nope"})
        self.assertEqual((r.status, r.body), (403, b"ACL not found"), r.describe())
        ops = [{"KV": {"Verb": "set", "Key": "b-svc/z", "Value": ""}}]
        r = self.raw("PUT", "/v1/txn", body=json.dumps(ops), headers={"X-Consul-Token": token})
        self.assertEqual(r.status, 403, r.describe())
        self.assertEqual(root.kv.get("b-svc/k")[1]["Value"], b"b")
        self.assertIsNone(root.kv.get("b-svc/z")[1])
        # A blocking query with the token wakes on a native write made with another token.
        idx, _ = a.kv.get("a-svc/k", consistency="consistent")
        self.assertTrue(eventually(lambda: a.kv.get("a-svc/k")[1] is not None, 20))
        t, out = self.in_thread(lambda: a.kv.get("a-svc/k", index=idx, wait="60s"))
        self.assertTrue(eventually(lambda: self.held_polls(self.followers[0]) >= 1, 20))
        self.update_config("a-svc", "k", value="a2", server=self.leader,
                           headers={"Authorization": "Bearer " + ROOT})
        t.join(30)
        self.assertFalse(t.is_alive(), "the blocking query never woke")
        self.assertNotIn("error", out)
        self.assertEqual(out["value"][1]["Value"], b"a2")
        self.assertGreater(int(out["value"][0]), int(idx))
        with self.assertRaises(consul.ACLPermissionDenied):
            a.kv.get("b-svc/k", index=idx, wait="1s")
        # Writes record the token's name.
        hist = self.call("GET", "/api/v1/admin/config/history", server=self.leader,
                         params={"namespace": "a-svc", "key": "k"},
                         headers={"Authorization": "Bearer " + ROOT}).data
        rows = hist.get("list", hist) if isinstance(hist, dict) else hist
        self.assertEqual([r["operator"] for r in rows], ["root", "svc-a"], rows)


if __name__ == "__main__":
    unittest.main()
