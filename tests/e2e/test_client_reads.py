"""Client reads: GET /api/v1/config/get, POST /api/v1/config/batch-get,
GET /api/v1/config/namespace/{namespace}."""

import unittest

from harness import CairnTestCase, compact, ordered_loads

GET = "/api/v1/config/get"
BATCH_GET = "/api/v1/config/batch-get"


class GetConfig(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.create_ns("user-service")
        self.create_config("user-service", "database.mysql", {"host": "10.0.0.1"})
        self.update_config("user-service", "database.mysql", value={"host": "10.0.0.2"})
        self.update_config("user-service", "database.mysql", value={"host": "10.0.0.3"})

    def test_latest(self):
        r = self.get_config("user-service", "database.mysql")
        self.assertEqual(r.json["message"], "success")
        d = r.data
        self.assertEqual(set(d), {"namespace", "key", "value", "version", "updated_at"})
        self.assertEqual((d["namespace"], d["key"], d["value"], d["version"]),
                         ("user-service", "database.mysql", {"host": "10.0.0.3"}, 3))
        self.assert_time(d["updated_at"])

    def test_specific_versions(self):
        for v in (1, 2, 3):
            r = self.get_config("user-service", "database.mysql", version=v)
            self.assertEqual(r.data["version"], v)
            self.assertEqual(r.data["value"], {"host": "10.0.0.%d" % v})
            self.assert_time(r.data["updated_at"])

    def test_unknown_version_is_40401(self):
        for v in (4, 100, 9223372036854775807):
            with self.subTest(version=v):
                self.get_config("user-service", "database.mysql", version=v, expect=40401)

    def test_unknown_key_and_namespace(self):
        self.get_config("user-service", "nope", expect=40403)
        self.get_config("user-service", "nope", version=1, expect=40403)
        self.get_config("nope", "database.mysql", expect=40402)

    def test_bad_params(self):
        cases = [({"key": "k"}, 40001, "namespace"),
                 ({"namespace": "user-service"}, 40001, "key"),
                 ({"namespace": "", "key": "k"}, 40001, "namespace"),
                 ({"namespace": "user-service", "key": ""}, 40001, "key"),
                 ({"namespace": "user-service", "key": "database.mysql", "version": "abc"},
                  40001, "version"),
                 ({"namespace": "user-service", "key": "database.mysql", "version": "1.0"},
                  40001, "version"),
                 ({"namespace": "user-service", "key": "database.mysql", "version": ""},
                  40001, "version"),
                 ({"namespace": "user-service", "key": "database.mysql", "version": "0"},
                  40002, "version"),
                 ({"namespace": "user-service", "key": "database.mysql", "version": "-1"},
                  40002, "version"),
                 ({"namespace": "bad name", "key": "k"}, 40002, "namespace"),
                 ({"namespace": "user-service", "key": "bad key"}, 40002, "key"),
                 ({"namespace": "x" * 129, "key": "k"}, 40002, "namespace")]
        for params, code, field in cases:
            with self.subTest(params=params):
                self.call("GET", GET, params=params, expect=code, field=field)
        self.call("GET", GET, expect=40001)

    def test_disabled_namespace_is_40402_for_clients(self):
        self.call("PUT", "/api/v1/admin/namespace/user-service", json_body={"status": 0})
        self.get_config("user-service", "database.mysql", expect=40402)
        self.get_config("user-service", "database.mysql", version=1, expect=40402)
        self.call("POST", BATCH_GET, json_body={"namespace": "user-service",
                                                "keys": ["database.mysql"]}, expect=40402)
        self.ns_read("user-service", expect=40402)
        # admins still see it
        self.assertEqual(len(self.config_list(namespace="user-service")["list"]), 1)
        self.assertEqual(self.history("user-service", "database.mysql")
                         .data["pagination"]["total"], 3)


class BatchGet(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.create_ns("svc")
        self.create_config("svc", "a", 1)
        self.create_config("svc", "b", {"x": [1, 2]})
        self.update_config("svc", "b", value={"x": [3]})
        self.create_config("svc", "c", "c")
        self.create_config("svc", "off", True)
        self.update_config("svc", "off", status=0)

    def test_order_missing_and_duplicates(self):
        r = self.call("POST", BATCH_GET, json_body={"namespace": "svc",
                                                    "keys": ["c", "nope", "a", "b", "a",
                                                             "off", "nope2"]})
        d = r.data
        self.assertEqual(d["namespace"], "svc")
        self.assertEqual(d["configs"], [{"key": "c", "value": "c", "version": 1},
                                        {"key": "a", "value": 1, "version": 1},
                                        {"key": "b", "value": {"x": [3]}, "version": 2}])
        self.assertEqual(d["missing"], ["nope", "off", "nope2"])

    def test_nothing_missing(self):
        d = self.call("POST", BATCH_GET, json_body={"namespace": "svc", "keys": ["a"]}).data
        self.assertEqual(d["configs"], [{"key": "a", "value": 1, "version": 1}])
        self.assertEqual(d["missing"], [])

    def test_all_missing(self):
        d = self.call("POST", BATCH_GET, json_body={"namespace": "svc", "keys": ["x", "y"]}).data
        self.assertEqual((d["configs"], d["missing"]), ([], ["x", "y"]))

    def test_thousand_keys(self):
        keys = ["k%d" % i for i in range(999)] + ["a"]
        d = self.call("POST", BATCH_GET, json_body={"namespace": "svc", "keys": keys}).data
        self.assertEqual([c["key"] for c in d["configs"]], ["a"])
        self.assertEqual(len(d["missing"]), 999)

    def test_errors(self):
        cases = [({"namespace": "nope", "keys": ["a"]}, 40402),
                 ({"keys": ["a"]}, 40001),
                 ({"namespace": "svc"}, 40001),
                 ({"namespace": "svc", "keys": "a"}, 40001),
                 ({"namespace": "svc", "keys": {"a": 1}}, 40001),
                 ({"namespace": "svc", "keys": [1]}, 40001),
                 ({"namespace": "svc", "keys": ["a", None]}, 40001),
                 ({"namespace": "svc", "keys": []}, 40002),
                 ({"namespace": "svc", "keys": ["k%d" % i for i in range(1001)]}, 40002),
                 ({"namespace": "svc", "keys": ["bad key"]}, 40002),
                 ({"namespace": 3, "keys": ["a"]}, 40001),
                 ({"namespace": "bad ns", "keys": ["a"]}, 40002)]
        for body, code in cases:
            with self.subTest(body=str(body)[:80]):
                self.call("POST", BATCH_GET, json_body=body, expect=code)
        for body in ["", "x", "[]", '["a"]', "null"]:
            with self.subTest(body=body):
                self.call("POST", BATCH_GET, body=body, expect=40001)


class NamespaceRead(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.create_ns("svc")
        self.create_ns("other")

    def test_shape_order_and_enabled_only(self):
        self.create_config("svc", "zeta", {"z": 1, "a": 2})
        self.create_config("svc", "alpha", [1])
        self.create_config("svc", "mid", None)
        self.create_config("svc", "hidden", 0)
        self.update_config("svc", "hidden", status=0)
        self.create_config("other", "x", 1)
        r = self.ns_read("svc")
        self.assertEqual(r.json["message"], "success")
        d = ordered_loads(r.text)["data"]
        # `revision` repeats `version` under the name acks use (docs/releases.md).
        self.assertEqual(set(d), {"namespace", "configs", "version", "updated_at", "revision"})
        self.assertEqual(d["revision"], d["version"])
        self.assertEqual(d["namespace"], "svc")
        self.assertEqual(d["configs"].order, ["alpha", "mid", "zeta"])
        self.assertEqual(d["configs"]["zeta"].order, ["z", "a"])
        self.assertEqual(dict(d["configs"]), {"alpha": [1], "mid": None,
                                              "zeta": {"z": 1, "a": 2}})
        self.assertIn('"zeta":' + compact({"z": 1, "a": 2}), r.text)
        self.assert_time(d["updated_at"])
        self.assertIsInstance(d["version"], int)

    def test_empty_namespace(self):
        d = self.ns_read("svc").data
        self.assertEqual(d["configs"], {})
        self.assertIsInstance(d["version"], int)

    def test_version_is_namespace_revision(self):
        v0 = self.ns_read("svc").data["version"]
        seen = [v0]

        def step(what):
            rev = self.revision()
            v = self.ns_read("svc").data["version"]
            self.assertEqual(v, rev, "namespace version after %s is the global revision" % what)
            self.assertGreater(v, seen[-1], "namespace version did not move after " + what)
            seen.append(v)

        self.create_config("svc", "a", 1)
        step("create")
        self.update_config("svc", "a", value=2)
        step("update")
        self.call("POST", "/api/v1/admin/config/rollback",
                  json_body={"namespace": "svc", "key": "a", "target_version": 1})
        step("rollback")
        self.call("POST", "/api/v1/admin/config/batch", json_body={
            "namespace": "svc", "operations": [{"op": "create", "key": "b", "value": 1},
                                               {"op": "create", "key": "c", "value": 1}]})
        step("batch")
        self.call("DELETE", "/api/v1/admin/config", params={"namespace": "svc", "key": "b"})
        step("delete")
        self.update_config("svc", "a", status=0)
        step("disable")
        self.update_config("svc", "a", status=1)
        step("enable")
        # writes elsewhere do not move it
        v = self.ns_read("svc").data["version"]
        self.create_config("other", "x", 1)
        self.update_config("other", "x", value=2)
        self.assertEqual(self.ns_read("svc").data["version"], v)
        self.assertEqual(self.ns_read("other").data["version"], self.revision())
        # the namespace list reports the same revision
        lst = {n["name"]: n["revision"] for n in self.ns_list()["list"]}
        self.assertEqual(lst["svc"], v)
        self.assertEqual(lst["other"], self.revision())

    def test_rejected_write_does_not_move_it(self):
        self.create_config("svc", "a", 1)
        v = self.ns_read("svc").data["version"]
        self.call("POST", "/api/v1/admin/config",
                  json_body={"namespace": "svc", "key": "a", "value": 1}, expect=40902)
        self.update_config("svc", "a", value=5, expected_version=7, expect=40901)
        self.assertEqual(self.ns_read("svc").data["version"], v)

    def test_unknown_and_invalid(self):
        self.ns_read("nope", expect=40402)
        r = self.call("GET", "/api/v1/config/namespace/bad%20name", expect=None)
        self.assertIn(r.code, (40002, 40402), r.describe())


class RevisionCounter(CairnTestCase):

    def test_revision_counts_successful_writes(self):
        r0 = self.revision()
        self.create_ns("svc")
        self.assertEqual(self.revision(), r0 + 1)
        self.create_config("svc", "a", 1)
        self.assertEqual(self.revision(), r0 + 2)
        self.call("POST", "/api/v1/admin/config/batch", json_body={
            "namespace": "svc", "operations": [{"op": "create", "key": "b", "value": 1},
                                               {"op": "update", "key": "b", "value": 2},
                                               {"op": "update", "key": "a", "value": 3}]})
        self.assertEqual(self.revision(), r0 + 3, "a batch is one revision")
        self.call("POST", "/api/v1/admin/config",
                  json_body={"namespace": "svc", "key": "a", "value": 1}, expect=40902)
        self.assertEqual(self.revision(), r0 + 3, "a rejected write is no revision")


if __name__ == "__main__":
    unittest.main()
