"""Admin configs: POST/PUT/DELETE /api/v1/admin/config and GET /api/v1/admin/config/list."""

import json
import unittest

from harness import CairnTestCase, compact, ordered_loads

CFG = "/api/v1/admin/config"

VALUES = {
    "object": {"z": 1, "a": {"y": [1, 2, {"m": None}], "b": "x"}, "m": True, "中": "文"},
    "array": [3, "two", None, False, {"k": [1]}, [], {}],
    "string": "hello \"world\" \\ / 配置 \u00e9",
    "empty_string": "",
    "int": 42,
    "negative": -7,
    "zero": 0,
    "float": 3.25,
    "big_int": 9007199254740993,
    "int64_max": 9223372036854775807,
    "true": True,
    "false": False,
    "null": None,
    "empty_object": {},
    "empty_array": [],
}


class ConfigCreate(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.create_ns("svc")

    def test_create_shape(self):
        r = self.call("POST", CFG, json_body={"namespace": "svc", "key": "db.mysql",
                                               "value": {"host": "10.0.0.1"},
                                               "description": "MySQL"},
                      message="配置创建成功")
        d = r.data
        self.assertIsInstance(d["id"], int)
        self.assertEqual({k: d[k] for k in ("namespace", "key", "version")},
                         {"namespace": "svc", "key": "db.mysql", "version": 1})

    def test_every_value_type_round_trips(self):
        for name, value in VALUES.items():
            with self.subTest(type=name):
                key = "t." + name
                d = self.create_config("svc", key, value)
                self.assertEqual(d["version"], 1)
                r = self.get_config("svc", key)
                self.assertEqual(r.data["value"], value, r.describe())
                self.assertIs(type(r.data["value"]), type(value), r.describe())
                self.assertEqual(r.data["version"], 1)
                self.assertEqual(r.data["namespace"], "svc")
                self.assertEqual(r.data["key"], key)
                self.assert_time(r.data["updated_at"])

    def test_key_order_and_compact_form_preserved(self):
        value = {"zeta": 1, "alpha": {"y": 2, "b": [1, {"z": 0, "a": 1}]}, "mid": None}
        pretty = json.dumps({"namespace": "svc", "key": "ordered", "value": value}, indent=4)
        self.call("POST", CFG, body=pretty)
        r = self.get_config("svc", "ordered")
        self.assertIn('"value":' + compact(value), r.text,
                      "value not returned compact and in written order: " + r.describe())
        v = ordered_loads(r.text)["data"]["value"]
        self.assertEqual(v.order, ["zeta", "alpha", "mid"])
        self.assertEqual(v["alpha"].order, ["y", "b"])
        self.assertEqual(v["alpha"]["b"][1].order, ["z", "a"])
        # the admin list and the namespace read keep it too
        lst = self.call("GET", CFG + "/list", params={"namespace": "svc"})
        self.assertIn('"value":' + compact(value), lst.text, lst.describe())
        nr = self.ns_read("svc")
        self.assertIn('"ordered":' + compact(value), nr.text, nr.describe())

    def test_numbers_keep_precision(self):
        self.create_config("svc", "n", [9007199254740993, -9223372036854775808, 0.1, 1e300, -0.5])
        r = self.get_config("svc", "n")
        self.assertEqual(r.data["value"], [9007199254740993, -9223372036854775808, 0.1, 1e300,
                                           -0.5], r.describe())

    def test_key_rules(self):
        for key in ["a", "a.b_c-d:e/f", "k" * 256, "0", "svc:v1/x.y"]:
            with self.subTest(key=key):
                self.create_config("svc", key, 1)
                self.assertEqual(self.get_config("svc", key).data["value"], 1)
        for key in ["a b", "k" * 257, "a?b", "a#b", "配置", "a@b", "a\\b", "a,b"]:
            with self.subTest(key=key):
                with self.unchanged():
                    self.call("POST", CFG, json_body={"namespace": "svc", "key": key,
                                                      "value": 1}, expect=40002, field="key")

    def test_duplicate_is_40902(self):
        self.create_config("svc", "k", {"a": 1})
        with self.unchanged():
            self.call("POST", CFG, json_body={"namespace": "svc", "key": "k", "value": 2},
                      expect=40902)
        self.assertEqual(self.get_config("svc", "k").data["value"], {"a": 1})

    def test_same_key_in_two_namespaces(self):
        self.create_ns("other")
        self.create_config("svc", "k", 1)
        self.create_config("other", "k", 2)
        self.assertEqual(self.get_config("svc", "k").data["value"], 1)
        self.assertEqual(self.get_config("other", "k").data["value"], 2)

    def test_unknown_namespace_is_40402(self):
        with self.unchanged():
            self.call("POST", CFG, json_body={"namespace": "nope", "key": "k", "value": 1},
                      expect=40402)

    def test_disabled_namespace_is_40901(self):
        self.create_config("svc", "existing", 1)
        self.call("PUT", "/api/v1/admin/namespace/svc", json_body={"status": 0})
        with self.unchanged():
            self.call("POST", CFG, json_body={"namespace": "svc", "key": "k", "value": 1},
                      expect=40901)
            self.call("PUT", CFG, json_body={"namespace": "svc", "key": "existing", "value": 2},
                      expect=40901)
            self.call("DELETE", CFG, params={"namespace": "svc", "key": "existing"},
                      expect=40901)
            self.call("POST", CFG + "/rollback", json_body={"namespace": "svc",
                                                            "key": "existing",
                                                            "target_version": 1},
                      expect=40901)
            self.call("POST", CFG + "/batch", json_body={
                "namespace": "svc", "operations": [{"op": "create", "key": "b", "value": 1}]},
                expect=40901)
        # admins still see it; clients do not
        lst = self.config_list(namespace="svc")["list"]
        self.assertEqual([c["key"] for c in lst], ["existing"])
        self.get_config("svc", "existing", expect=40402)
        # enabling it again restores service
        self.call("PUT", "/api/v1/admin/namespace/svc", json_body={"status": 1})
        self.assertEqual(self.get_config("svc", "existing").data["value"], 1)
        self.update_config("svc", "existing", value=3)

    def test_missing_and_wrong_fields(self):
        cases = [
            ({"key": "k", "value": 1}, 40001, "namespace"),
            ({"namespace": "svc", "value": 1}, 40001, "key"),
            ({"namespace": "svc", "key": "k"}, 40001, "value"),
            ({"namespace": 1, "key": "k", "value": 1}, 40001, "namespace"),
            ({"namespace": "svc", "key": 5, "value": 1}, 40001, "key"),
            ({"namespace": "svc", "key": ["k"], "value": 1}, 40001, "key"),
            ({"namespace": "svc", "key": "k", "value": 1, "description": 3}, 40001,
             "description"),
            ({"namespace": "svc", "key": "k", "value": 1, "description": "d" * 513}, 40002,
             "description"),
            ({"namespace": "", "key": "k", "value": 1}, None, "namespace"),
            ({"namespace": "svc", "key": "", "value": 1}, None, "key"),
            ({"namespace": "bad name", "key": "k", "value": 1}, 40002, "namespace"),
        ]
        for body, code, field in cases:
            with self.subTest(body=body):
                with self.unchanged():
                    r = self.call("POST", CFG, json_body=body, expect=code, field=field)
                    if code is None:
                        self.assertIn(r.code, (40001, 40002), r.describe())

    def test_description_is_stored(self):
        self.create_config("svc", "k", 1, description="配置说明")
        c = self.config_list(namespace="svc")["list"][0]
        self.assertEqual(c["description"], "配置说明")
        self.create_config("svc", "k2", 1)
        c = self.config_list(namespace="svc", key="k2")["list"][0]
        self.assertEqual(c["description"], "")


class ConfigUpdate(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.create_ns("svc")
        self.created = self.create_config("svc", "k", {"v": 1}, description="d1")

    def test_update_value(self):
        r = self.update_config("svc", "k", value={"v": 2})
        self.assertEqual(r.data, {"id": self.created["id"], "namespace": "svc", "key": "k",
                                  "version": 2, "old_version": 1, "changed": True})
        g = self.get_config("svc", "k")
        self.assertEqual(g.data["value"], {"v": 2})
        self.assertEqual(g.data["version"], 2)
        r = self.update_config("svc", "k", value=[1])
        self.assertEqual((r.data["version"], r.data["old_version"]), (3, 2))

    def test_update_with_expected_version(self):
        r = self.update_config("svc", "k", value=2, expected_version=1)
        self.assertEqual(r.data["version"], 2)
        r = self.update_config("svc", "k", value=3, expected_version=2)
        self.assertEqual(r.data["version"], 3)

    def test_expected_version_mismatch_writes_nothing(self):
        self.update_config("svc", "k", value=2)
        for ev in (1, 3, 99):
            with self.subTest(expected_version=ev):
                with self.unchanged():
                    self.update_config("svc", "k", value="nope", expected_version=ev,
                                       expect=40901)
        g = self.get_config("svc", "k")
        self.assertEqual((g.data["value"], g.data["version"]), (2, 2))
        self.assertEqual(self.history("svc", "k").data["pagination"]["total"], 2)

    def test_description_only_changes_no_version(self):
        rev = self.revision()
        r = self.update_config("svc", "k", description="d2")
        self.assertEqual(r.data["version"], 1)
        g = self.get_config("svc", "k")
        self.assertEqual((g.data["value"], g.data["version"]), ({"v": 1}, 1))
        c = self.config_list(namespace="svc")["list"][0]
        self.assertEqual((c["description"], c["version"]), ("d2", 1))
        self.assertEqual(self.revision(), rev + 1, "a successful write is one revision")

    def test_disable_and_enable(self):
        r = self.update_config("svc", "k", status=0)
        self.assertEqual(r.data["version"], 1, "a status change changes no version")
        self.get_config("svc", "k", expect=40403)
        self.get_config("svc", "k", version=1, expect=40403)
        c = self.config_list(namespace="svc")["list"]
        self.assertEqual([(x["key"], x["status"], x["version"]) for x in c], [("k", 0, 1)])
        bg = self.call("POST", "/api/v1/config/batch-get",
                       json_body={"namespace": "svc", "keys": ["k"]}).data
        self.assertEqual((bg["configs"], bg["missing"]), ([], ["k"]))
        self.assertEqual(self.ns_read("svc").data["configs"], {})
        ops = [h["operation"] for h in self.history("svc", "k").data["list"]]
        self.assertEqual(ops, ["DISABLE", "CREATE"])
        # updating a disabled config's value is an admin write and allowed
        self.update_config("svc", "k", value={"v": 5})
        self.get_config("svc", "k", expect=40403)
        r = self.update_config("svc", "k", status=1)
        g = self.get_config("svc", "k")
        self.assertEqual((g.data["value"], g.data["version"]), ({"v": 5}, 2))
        ops = [h["operation"] for h in self.history("svc", "k").data["list"]]
        self.assertEqual(ops, ["ENABLE", "UPDATE", "DISABLE", "CREATE"])

    def test_update_needs_a_field(self):
        with self.unchanged():
            self.update_config("svc", "k", expect=40001)
            self.update_config("svc", "k", expected_version=1, expect=40001)

    def test_update_unknown(self):
        with self.unchanged():
            self.update_config("svc", "nope", value=1, expect=40403)
            self.update_config("nope", "k", value=1, expect=40402)

    def test_bad_update_fields(self):
        cases = [({"status": 2}, 40002), ({"status": "0"}, 40001), ({"status": 0.5}, 40001),
                 ({"value": 1, "expected_version": "1"}, 40001),
                 ({"value": 1, "expected_version": 1.5}, 40001),
                 ({"value": 1, "expected_version": 0}, 40002),
                 ({"value": 1, "expected_version": -2}, 40002),
                 ({"description": ["x"]}, 40001), ({"description": "d" * 513}, 40002)]
        for fields, code in cases:
            with self.subTest(fields=fields):
                with self.unchanged():
                    self.update_config("svc", "k", expect=code, **fields)

    def test_update_value_null(self):
        r = self.update_config("svc", "k", value=None)
        self.assertEqual(r.data["version"], 2)
        self.assertIsNone(self.get_config("svc", "k").data["value"])

    def test_operator_recorded(self):
        self.update_config("svc", "k", value=2, headers={"X-Operator": "alice"})
        c = self.config_list(namespace="svc")["list"][0]
        self.assertEqual(c["created_by"], "anonymous")
        self.assertEqual(c["updated_by"], "alice")


class ConfigDelete(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.create_ns("svc")
        self.create_config("svc", "k", {"v": 1})
        self.update_config("svc", "k", value={"v": 2})

    def test_delete_by_query(self):
        r = self.call("DELETE", CFG, params={"namespace": "svc", "key": "k"},
                      message="配置删除成功")
        self.assertEqual(r.data, {"namespace": "svc", "key": "k", "version": 2})
        self.get_config("svc", "k", expect=40403)
        self.assertEqual(self.config_list(namespace="svc")["list"], [])
        h = self.history("svc", "k").data["list"][0]
        self.assertEqual(h["operation"], "DELETE")
        self.assertEqual(h["old_value"], {"v": 2})
        self.assertIsNone(h["new_value"])
        self.assertEqual(h["version"], 2)
        v = self.versions("svc", "k").data["list"]
        self.assertEqual([(x["version"], x["value"], x["is_current"]) for x in v],
                         [(2, {"v": 2}, False), (1, {"v": 1}, False)])

    def test_delete_by_body(self):
        r = self.call("DELETE", CFG, json_body={"namespace": "svc", "key": "k"})
        self.assertEqual(r.data["version"], 2)
        self.get_config("svc", "k", expect=40403)

    def test_delete_with_expected_version(self):
        with self.unchanged():
            self.call("DELETE", CFG, params={"namespace": "svc", "key": "k",
                                             "expected_version": 1}, expect=40901)
            self.call("DELETE", CFG, json_body={"namespace": "svc", "key": "k",
                                                "expected_version": 3}, expect=40901)
        self.get_config("svc", "k")
        self.call("DELETE", CFG, params={"namespace": "svc", "key": "k",
                                         "expected_version": 2})
        self.get_config("svc", "k", expect=40403)

    def test_delete_unknown(self):
        with self.unchanged():
            self.call("DELETE", CFG, params={"namespace": "svc", "key": "nope"}, expect=40403)
            self.call("DELETE", CFG, params={"namespace": "nope", "key": "k"}, expect=40402)
        self.call("DELETE", CFG, params={"namespace": "svc", "key": "k"})
        with self.unchanged():
            self.call("DELETE", CFG, params={"namespace": "svc", "key": "k"}, expect=40403)

    def test_delete_bad_params(self):
        cases = [({"key": "k"}, 40001, "namespace"), ({"namespace": "svc"}, 40001, "key"),
                 ({"namespace": "svc", "key": "k", "expected_version": "x"}, 40001,
                  "expected_version"),
                 ({"namespace": "svc", "key": "k", "expected_version": "0"}, 40002,
                  "expected_version"),
                 ({"namespace": "svc", "key": "a b"}, 40002, "key")]
        for params, code, field in cases:
            with self.subTest(params=params):
                with self.unchanged():
                    self.call("DELETE", CFG, params=params, expect=code, field=field)
        with self.unchanged():
            self.call("DELETE", CFG, expect=40001)

    def test_recreate_continues_versions(self):
        self.call("DELETE", CFG, params={"namespace": "svc", "key": "k"})
        d = self.create_config("svc", "k", {"v": 3})
        self.assertEqual(d["version"], 3, "re-create continues after the last version")
        g = self.get_config("svc", "k")
        self.assertEqual((g.data["value"], g.data["version"]), ({"v": 3}, 3))
        r = self.update_config("svc", "k", value={"v": 4})
        self.assertEqual((r.data["version"], r.data["old_version"]), (4, 3))
        ops = [(h["operation"], h["version"]) for h in self.history("svc", "k").data["list"]]
        self.assertEqual(ops, [("UPDATE", 4), ("CREATE", 3), ("DELETE", 2), ("UPDATE", 2),
                               ("CREATE", 1)])
        v = self.versions("svc", "k").data["list"]
        self.assertEqual([(x["version"], x["is_current"]) for x in v],
                         [(4, True), (3, False), (2, False), (1, False)])
        self.assertEqual(self.get_config("svc", "k", version=1).data["value"], {"v": 1})


class ConfigList(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.create_ns("b-svc")
        self.create_ns("a-svc")
        for k in ["zeta", "app.timeout", "app.retry", "db.host"]:
            self.create_config("b-svc", k, {"k": k}, headers={"X-Operator": "bob"})
        for k in ["db.host", "cache"]:
            self.create_config("a-svc", k, k)
        self.update_config("b-svc", "zeta", status=0)

    def test_list_all_ordered(self):
        d = self.config_list()
        got = [(c["namespace"], c["key"]) for c in d["list"]]
        self.assertEqual(got, [("a-svc", "cache"), ("a-svc", "db.host"), ("b-svc", "app.retry"),
                               ("b-svc", "app.timeout"), ("b-svc", "db.host"),
                               ("b-svc", "zeta")])
        self.assertEqual(d["pagination"], {"page": 1, "page_size": 20, "total": 6,
                                           "total_pages": 1})
        z = d["list"][-1]
        for f in ["id", "namespace", "key", "value", "version", "description", "status",
                  "created_by", "updated_by", "created_at", "updated_at"]:
            self.assertIn(f, z)
        self.assertEqual((z["status"], z["value"], z["version"], z["created_by"]),
                         (0, {"k": "zeta"}, 1, "bob"))
        self.assert_time(z["created_at"])
        self.assert_time(z["updated_at"])

    def test_filters(self):
        d = self.config_list(namespace="b-svc")
        self.assertEqual([c["key"] for c in d["list"]], ["app.retry", "app.timeout", "db.host",
                                                         "zeta"])
        d = self.config_list(key="db")
        self.assertEqual([(c["namespace"], c["key"]) for c in d["list"]],
                         [("a-svc", "db.host"), ("b-svc", "db.host")])
        d = self.config_list(namespace="b-svc", key="app.")
        self.assertEqual([c["key"] for c in d["list"]], ["app.retry", "app.timeout"])
        self.assertEqual(d["pagination"]["total"], 2)
        d = self.config_list(key="nothing-like-this")
        self.assertEqual((d["list"], d["pagination"]["total"], d["pagination"]["total_pages"]),
                         ([], 0, 0))

    def test_pagination(self):
        d = self.config_list(page=2, page_size=4)
        self.assertEqual([(c["namespace"], c["key"]) for c in d["list"]],
                         [("b-svc", "db.host"), ("b-svc", "zeta")])
        self.assertEqual(d["pagination"], {"page": 2, "page_size": 4, "total": 6,
                                           "total_pages": 2})
        d = self.config_list(page=9, page_size=4)
        self.assertEqual(d["list"], [])
        self.assertEqual(d["pagination"]["total"], 6)

    def test_unknown_namespace_is_40402(self):
        self.call("GET", CFG + "/list", params={"namespace": "nope"}, expect=40402)

    def test_bad_params(self):
        for params, code in [({"page": "0"}, 40002), ({"page_size": "1001"}, 40002),
                             ({"page": "x"}, 40001), ({"page_size": "-1"}, 40002),
                             ({"namespace": "bad name"}, 40002)]:
            with self.subTest(params=params):
                self.call("GET", CFG + "/list", params=params, expect=code)


class ConcurrentWrites(CairnTestCase):
    """Compare-and-set is decided when the write is applied: of racing writers exactly one wins."""

    def race(self, n, make_request):
        import threading
        results = [None] * n
        barrier = threading.Barrier(n)

        def run(i):
            barrier.wait(timeout=10)
            results[i] = make_request(i)

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        self.assertFalse(any(t.is_alive() for t in threads), "a request hung")
        for r in results:
            self.check_envelope(r)
        return [r.code for r in results]

    def test_racing_creates(self):
        self.create_ns("svc")
        codes = self.race(12, lambda i: self.http(
            "POST", CFG, json_body={"namespace": "svc", "key": "k", "value": i}))
        self.assertEqual(sorted(codes), [0] + [40902] * 11)
        self.assertEqual(self.history("svc", "k").data["pagination"]["total"], 1)

    def test_racing_compare_and_set(self):
        self.create_ns("svc")
        self.create_config("svc", "k", "v1")
        codes = self.race(12, lambda i: self.http(
            "PUT", CFG, json_body={"namespace": "svc", "key": "k", "value": i,
                                   "expected_version": 1}))
        self.assertEqual(sorted(codes), [0] + [40901] * 11)
        g = self.get_config("svc", "k")
        self.assertEqual(g.data["version"], 2)

    def test_racing_updates_all_get_distinct_versions(self):
        self.create_ns("svc")
        self.create_config("svc", "k", 0)
        codes = self.race(16, lambda i: self.http(
            "PUT", CFG, json_body={"namespace": "svc", "key": "k", "value": i + 1}))
        self.assertEqual(codes, [0] * 16)
        v = self.versions("svc", "k", page_size=100).data["list"]
        self.assertEqual([x["version"] for x in v], list(range(17, 0, -1)))
        self.assertEqual(sorted(x["value"] for x in v), list(range(17)))


if __name__ == "__main__":
    unittest.main()
