"""Issue 15 (seed conformance audit), the core items: disabled namespaces and configs hidden from
client version reads (1), updates that change nothing (3), a disabled namespace out of Redis (4),
`limit` on config/versions (7), history kept across namespace delete and re-create (13), and
reads at a point in time (16).

Every wait is a bounded poll; nothing asserts on how long a step took."""

import json
import time
import unittest

from cluster import eventually
from harness import CairnTestCase
from test_auth import ROOT, RootTokenEnv, bearer
from test_redis import REDIS, Resp

CFG = "/api/v1/admin/config"
NS = "/api/v1/admin/namespace"
VERSIONS = "/api/v1/config/versions"
DIFF = "/api/v1/config/diff"
GET = "/api/v1/config/get"


def ns_id(case, name):
    for n in case.ns_list(page_size=1000)["list"]:
        if n["name"] == name:
            return n["id"]
    raise AssertionError("no namespace %s" % name)


class DisabledIsHiddenFromVersionReads(CairnTestCase):
    """Item 1: config/versions and config/diff answer 40402/40403 like get does."""

    def setUp(self):
        super().setUp()
        self.create_ns("order-service")
        self.create_config("order-service", "secret", {"pw": "a"})
        self.update_config("order-service", "secret", value={"pw": "b"})
        self.q = {"namespace": "order-service", "key": "secret"}

    def reads(self, expect):
        self.call("GET", VERSIONS, params=self.q, expect=expect)
        self.call("GET", DIFF, params=dict(self.q, **{"from": 1, "to": 2}), expect=expect)
        self.call("GET", GET, params=dict(self.q, version=1), expect=expect)

    def admin_reads_see_everything(self):
        r = self.call("GET", "/api/v1/admin/config/versions", params=self.q)
        self.assertEqual([v["value"] for v in r.data["list"]], [{"pw": "b"}, {"pw": "a"}])
        d = self.call("GET", "/api/v1/admin/config/diff", params=dict(self.q, **{"from": 1, "to": 2}))
        self.assertEqual(len(d.data["changes"]), 1)

    def test_disabled_namespace(self):
        self.reads(0)
        self.call("PUT", NS + "/order-service", json_body={"status": 0})
        self.reads(40402)
        self.admin_reads_see_everything()
        self.call("PUT", NS + "/order-service", json_body={"status": 1})
        self.reads(0)

    def test_disabled_config(self):
        self.update_config("order-service", "secret", status=0)
        self.reads(40403)
        self.admin_reads_see_everything()

    def test_deleted_key_versions_stay_readable(self):
        self.call("DELETE", CFG, params=self.q)
        r = self.call("GET", VERSIONS, params=self.q)
        self.assertEqual(len(r.data["list"]), 2)
        self.assertFalse(any(v["is_current"] for v in r.data["list"]))


class DisabledIsHiddenFromAReadGrant(RootTokenEnv, CairnTestCase):
    """Item 1 with auth: a plain `read` grant sees nothing of a disabled namespace; the admin
    views need `write`."""

    START_SERVER = False

    def test_read_grant(self):
        self.set_root_env()
        self.server = self.start_server(["--auth-enabled", "--rate-limit-enabled=false"])
        root = bearer(ROOT)
        self.create_ns("order-service", headers=root)
        self.create_config("order-service", "secret", "a", headers=root)
        self.update_config("order-service", "secret", value="b", headers=root)
        _, reader = self.make_token("reader", [{"namespace": "order-*", "permission": "read"}])
        _, writer = self.make_token("writer", [{"namespace": "order-*", "permission": "write"}])
        q = {"namespace": "order-service", "key": "secret"}
        self.call("GET", VERSIONS, params=q, headers=bearer(reader))
        self.call("PUT", NS + "/order-service", json_body={"status": 0}, headers=root)
        self.call("GET", VERSIONS, params=q, headers=bearer(reader), expect=40402)
        self.call("GET", DIFF, params=dict(q, **{"from": 1, "to": 2}), headers=bearer(reader),
                  expect=40402)
        self.call("GET", "/api/v1/admin/config/versions", params=q, headers=bearer(reader),
                  expect=40301)
        r = self.call("GET", "/api/v1/admin/config/versions", params=q, headers=bearer(writer))
        self.assertEqual(len(r.data["list"]), 2)


class UpdateThatChangesNothing(CairnTestCase):
    """Item 3: 200, same version, changed:false; no version, history, revision or watch event."""

    def setUp(self):
        super().setUp()
        self.create_ns("svc")
        self.create_config("svc", "k", {"a": 1})

    def test_same_value_twice(self):
        first = self.update_config("svc", "k", value={"a": 2})
        self.assertEqual((first.data["version"], first.data["changed"]), (2, True))
        rev = self.revision()
        history = self.history("svc", "k").data["pagination"]["total"]
        for body in ({"value": {"a": 2}}, {"value": {"a": 2}, "expected_version": 2}, {"status": 1}):
            r = self.update_config("svc", "k", **body)
            self.assertEqual(r.status, 200, r.describe())
            self.assertEqual((r.data["version"], r.data["old_version"], r.data["changed"]),
                             (2, 2, False), r.describe())
            self.assertEqual(r.header("ETag"), '"2"')
        self.assertEqual(self.revision(), rev)
        self.assertEqual(self.history("svc", "k").data["pagination"]["total"], history)
        self.assertEqual(self.versions("svc", "k").data["pagination"]["total"], 2)
        # expected_version still applies
        with self.unchanged():
            self.update_config("svc", "k", value={"a": 2}, expected_version=1, expect=40901)
        # no watch wake-up: a watch from the current revision times out with changed:false
        w = self.call("GET", "/api/v1/config/watch",
                      params={"namespace": "svc", "revision": rev, "timeout": "1s"})
        self.assertFalse(w.data["changed"], w.describe())

    def test_namespace_update_that_changes_nothing(self):
        rev = self.revision()
        r = self.call("PUT", NS + "/svc", json_body={"description": "", "status": 1},
                      message="命名空间更新成功")
        self.assertFalse(r.data["changed"], r.describe())
        self.assertEqual(self.revision(), rev)
        r = self.call("PUT", NS + "/svc", json_body={"description": "new"})
        self.assertTrue(r.data["changed"], r.describe())
        self.assertEqual(self.revision(), rev + 1)

    def test_batch_of_no_ops_moves_nothing(self):
        rev = self.revision()
        r = self.call("POST", CFG + "/batch", json_body={
            "namespace": "svc", "operations": [{"op": "update", "key": "k", "value": {"a": 1}}]})
        self.assertEqual(r.data["results"][0]["changed"], False)
        self.assertEqual(r.data["revision"], rev)
        self.assertEqual(self.revision(), rev)


class VersionsLimit(CairnTestCase):
    """Item 7: `limit` (seed §3.6.2.2) is honoured: the newest `limit` versions."""

    def test_limit(self):
        self.create_ns("svc")
        self.create_config("svc", "k", 0)
        for i in range(1, 5):
            self.update_config("svc", "k", value=i)
        r = self.versions("svc", "k", limit=2)
        self.assertEqual([v["version"] for v in r.data["list"]], [5, 4])
        self.assertEqual(r.data["pagination"]["page_size"], 2)
        self.assertEqual(r.data["pagination"]["total"], 5)
        self.assertEqual(len(self.versions("svc", "k", limit=2, page_size=2).data["list"]), 2)
        self.versions("svc", "k", limit=2, page_size=3, expect=40001)
        self.versions("svc", "k", limit=0, expect=40002)
        self.versions("svc", "k", limit="x", expect=40001)


class HistoryAcrossNamespaceDelete(CairnTestCase):
    """Item 13: deleting a namespace keeps its keys' history; both answers agree after."""

    def test_recreated_namespace_finds_its_history(self):
        self.create_ns("tmp")
        self.create_config("tmp", "old", 1)
        self.update_config("tmp", "old", value=2)
        self.call("DELETE", CFG, params={"namespace": "tmp", "key": "old"})
        first_id = ns_id(self, "tmp")
        self.call("DELETE", NS + "/tmp")
        self.history("tmp", "old", expect=40402)
        self.create_ns("other")
        self.assertEqual(self.create_ns("tmp")["id"], first_id)
        ops = [h["operation"] for h in self.history("tmp", "old").data["list"]]
        self.assertEqual(ops, ["DELETE", "UPDATE", "CREATE"])
        self.history("tmp", "never", expect=40403)
        self.assertEqual(len(self.versions("tmp", "old").data["list"]), 2)
        self.assertEqual(self.create_config("tmp", "old", 3)["version"], 3)
        self.history("other", "old", expect=40403)


class PointInTime(CairnTestCase):
    """Item 16: config/get and config/namespace/{ns} with at= (RFC 3339 or unix ms)."""

    def now_ms(self):
        time.sleep(0.02)
        t = int(time.time() * 1000)
        time.sleep(0.02)
        return t

    def test_get_and_namespace_at(self):
        before = self.now_ms()
        self.create_ns("svc")
        self.create_config("svc", "db", {"host": "a", "port": 1})
        self.create_config("svc", "gone", True)
        t1 = self.now_ms()
        self.update_config("svc", "db", value={"host": "b", "port": 1})
        self.call("DELETE", CFG, params={"namespace": "svc", "key": "gone"})
        self.create_config("svc", "late", 7)

        r = self.call("GET", GET, params={"namespace": "svc", "key": "db", "at": t1})
        self.assertEqual((r.data["value"], r.data["version"]), ({"host": "a", "port": 1}, 1))
        self.assert_time(r.data["updated_at"])
        r = self.call("GET", GET, params={"namespace": "svc", "key": "db", "at": self.now_ms()})
        self.assertEqual(r.data["version"], 2)
        self.call("GET", GET, params={"namespace": "svc", "key": "db", "at": before}, expect=40401)
        self.call("GET", GET, params={"namespace": "svc", "key": "gone", "at": self.now_ms()},
                  expect=40401)
        self.assertIs(self.call("GET", GET, params={"namespace": "svc", "key": "gone",
                                                    "at": t1}).data["value"], True)
        self.call("GET", GET, params={"namespace": "svc", "key": "never", "at": t1}, expect=40403)
        # RFC 3339: a time to the second stands for the whole second
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 5))
        self.assertEqual(self.call("GET", GET, params={"namespace": "svc", "key": "db",
                                                       "at": iso}).data["version"], 2)
        old = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(before / 1000 - 5))
        self.call("GET", GET, params={"namespace": "svc", "key": "db", "at": old}, expect=40401)
        for bad in ("yesterday", "2024-13-01T00:00:00Z", "1e9", "2024-01-20T10:00:00"):
            self.call("GET", GET, params={"namespace": "svc", "key": "db", "at": bad},
                      expect=40002, field="at")
        self.call("GET", GET, params={"namespace": "svc", "key": "db", "at": t1, "version": 1},
                  expect=40001, field="at")

        ns = self.call("GET", "/api/v1/config/namespace/svc", params={"at": t1}).data
        self.assertEqual(ns["configs"], {"db": {"host": "a", "port": 1}, "gone": True})
        self.assertEqual(ns["unavailable"], [])
        self.assertGreater(ns["version"], 0)
        now = self.call("GET", "/api/v1/config/namespace/svc", params={"at": self.now_ms()}).data
        self.assertEqual(now["configs"], {"db": {"host": "b", "port": 1}, "late": 7})
        current = self.ns_read("svc").data
        self.assertEqual(now["configs"], current["configs"])
        self.assertEqual(now["version"], current["version"])
        empty = self.call("GET", "/api/v1/config/namespace/svc", params={"at": before}).data
        self.assertEqual(empty["configs"], {})
        self.call("GET", "/api/v1/config/namespace/svc", params={"at": "x"}, expect=40002)
        self.call("GET", "/api/v1/config/namespace/nope", params={"at": t1}, expect=40402)
        # a disabled namespace is not served, at any time
        self.call("PUT", NS + "/svc", json_body={"status": 0})
        self.call("GET", "/api/v1/config/namespace/svc", params={"at": t1}, expect=40402)
        self.call("GET", GET, params={"namespace": "svc", "key": "db", "at": t1}, expect=40402)

    def test_pruned_version_is_40401(self):
        self.create_ns("svc")
        self.create_config("svc", "k", 1)
        t1 = self.now_ms()
        for i in range(2, 5):
            self.update_config("svc", "k", value=i)
        self.call("POST", CFG + "/cleanup",
                  json_body={"namespace": "svc", "keep_latest": 1, "keep_days": 0})
        self.call("GET", GET, params={"namespace": "svc", "key": "k", "at": t1}, expect=40401)
        ns = self.call("GET", "/api/v1/config/namespace/svc", params={"at": t1}).data
        self.assertEqual((ns["configs"], ns["unavailable"]), ({}, ["k"]))


@unittest.skipIf(REDIS is None, "redis-server is not installed (scripts/deps.sh installs it)")
class DisabledNamespaceLeavesRedis(CairnTestCase):
    """Item 4: disable removes the namespace's keys from the Redis tier; enable writes them back."""

    START_SERVER = False

    def setUp(self):
        super().setUp()
        self.redis_port = self.start_redis_server().port
        self.server = self.start_server(["--redis-url", "redis://127.0.0.1:%d/0" % self.redis_port,
                                         "--redis-timeout", "200ms"])

    def r(self, *args):
        c = Resp(self.redis_port, timeout=2)
        try:
            return c.call(*args)
        finally:
            c.close()

    def keys(self):
        return sorted(self.r("KEYS", "*"))

    def test_disable_and_enable(self):
        self.create_ns("svc")
        self.create_config("svc", "a", {"x": 1})
        self.update_config("svc", "a", value={"x": 2})
        self.create_config("svc", "b", 2)
        self.create_ns("keep")
        self.create_config("keep", "c", 3)
        want = ["config:keep:c", "config:svc:a", "config:svc:b", "config:version:keep:c:1",
                "config:version:svc:a:1", "config:version:svc:a:2", "config:version:svc:b:1",
                "config:versions:keep:c", "config:versions:svc:a", "config:versions:svc:b",
                "namespace:configs:keep", "namespace:configs:svc"]
        ok, last = eventually(lambda: self.keys() == want, 10, 0.05)
        self.assertTrue(ok, last)
        self.call("PUT", NS + "/svc", json_body={"status": 0})
        left = [k for k in want if ":keep:" in k or k.endswith(":keep")]
        ok, last = eventually(lambda: self.keys() == left, 10, 0.05)
        self.assertTrue(ok, "a disabled namespace stayed in Redis: %r" % (last,))
        self.call("PUT", NS + "/svc", json_body={"status": 1})
        ok, last = eventually(lambda: "config:svc:a" in self.keys() and
                              "config:svc:b" in self.keys(), 10, 0.05)
        self.assertTrue(ok, "an enabled namespace did not come back to Redis: %r" % (last,))
        doc = json.loads(self.r("GET", "config:svc:a"))
        self.assertEqual((doc["value"], doc["version"]), ({"x": 2}, 2))
        self.assertEqual(json.loads(self.r("HGET", "namespace:configs:svc", "b")), 2)
        # a restart's warm-up (the same path as the leader's renewal) skips disabled namespaces
        self.call("PUT", NS + "/svc", json_body={"status": 0})
        ok, last = eventually(lambda: self.keys() == left, 10, 0.05)
        self.assertTrue(ok, last)
        self.restart(self.server)
        # ready only once the warm-up ran (docs/cache.md)
        ok, _ = eventually(lambda: self.http("GET", "/readyz").status == 200, 10, 0.1)
        self.assertTrue(ok)
        self.assertEqual(self.keys(), left)


if __name__ == "__main__":
    unittest.main()
