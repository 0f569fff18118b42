"""POST /api/v1/admin/config/batch: atomic, one revision, operations see earlier ones."""

import unittest

from harness import CairnTestCase

BATCH = "/api/v1/admin/config/batch"


class Batch(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.create_ns("svc")
        self.create_config("svc", "b", "b1")
        self.update_config("svc", "b", value="b2")
        self.update_config("svc", "b", value="b3")        # b at version 3
        self.create_config("svc", "c", "c1")
        for i in range(2, 8):
            self.update_config("svc", "c", value="c%d" % i)  # c at version 7

    def batch(self, ops, expect=0, ns="svc", **kw):
        return self.call("POST", BATCH, json_body={"namespace": ns, "operations": ops},
                         expect=expect, **kw)

    def test_mixed_batch(self):
        rev = self.revision()
        r = self.batch([{"op": "create", "key": "a", "value": 1},
                        {"op": "update", "key": "b", "value": 2, "expected_version": 3},
                        {"op": "delete", "key": "c"}], message="批量操作成功")
        d = r.data
        self.assertEqual(d["namespace"], "svc")
        self.assertEqual(d["revision"], rev + 1)
        self.assertEqual(self.revision(), rev + 1, "a batch is one revision")
        self.assertEqual(d["results"], [
            {"op": "create", "key": "a", "version": 1},
            {"op": "update", "key": "b", "version": 4, "old_version": 3, "changed": True},
            {"op": "delete", "key": "c", "version": 7}])
        self.assertEqual(self.get_config("svc", "a").data["value"], 1)
        self.assertEqual(self.get_config("svc", "b").data["version"], 4)
        self.get_config("svc", "c", expect=40403)
        self.assertEqual(self.ns_read("svc").data["version"], rev + 1)
        # every history row of the batch carries the one revision when it reports one
        for key in ("a", "b", "c"):
            h = self.history("svc", key).data["list"][0]
            if "revision" in h:
                self.assertEqual(h["revision"], rev + 1)

    def test_ops_see_earlier_ops(self):
        r = self.batch([{"op": "create", "key": "n", "value": 1},
                        {"op": "update", "key": "n", "value": 2, "expected_version": 1},
                        {"op": "update", "key": "n", "value": 3},
                        {"op": "delete", "key": "b"},
                        {"op": "create", "key": "b", "value": "again"},
                        {"op": "create", "key": "gone", "value": 0},
                        {"op": "delete", "key": "gone"}])
        self.assertEqual([(x["op"], x["key"], x["version"]) for x in r.data["results"]],
                         [("create", "n", 1), ("update", "n", 2), ("update", "n", 3),
                          ("delete", "b", 3), ("create", "b", 4), ("create", "gone", 1),
                          ("delete", "gone", 1)])
        g = self.get_config("svc", "n")
        self.assertEqual((g.data["value"], g.data["version"]), (3, 3))
        g = self.get_config("svc", "b")
        self.assertEqual((g.data["value"], g.data["version"]), ("again", 4))
        self.get_config("svc", "gone", expect=40403)

    def test_update_status_and_description_in_batch(self):
        r = self.batch([{"op": "update", "key": "b", "status": 0},
                        {"op": "update", "key": "c", "description": "dd"}])
        self.assertEqual([x["version"] for x in r.data["results"]], [3, 7])
        self.get_config("svc", "b", expect=40403)
        c = [x for x in self.config_list(namespace="svc")["list"] if x["key"] == "c"][0]
        self.assertEqual(c["description"], "dd")

    def test_failing_op_writes_nothing(self):
        cases = [
            ([{"op": "create", "key": "x", "value": 1},
              {"op": "create", "key": "b", "value": 1}], 1, 40902, "create b"),
            ([{"op": "create", "key": "x", "value": 1},
              {"op": "update", "key": "b", "value": 9},
              {"op": "update", "key": "c", "value": 9, "expected_version": 6}],
             2, 40901, "update c"),
            ([{"op": "update", "key": "nope", "value": 1}], 0, 40403, "update nope"),
            ([{"op": "delete", "key": "b"}, {"op": "delete", "key": "b"}], 1, 40403,
             "delete b"),
            ([{"op": "create", "key": "x", "value": 1}, {"op": "create", "key": "x",
                                                         "value": 2}], 1, 40902, "create x"),
            ([{"op": "delete", "key": "c", "expected_version": 1}], 0, 40901, "delete c"),
        ]
        for ops, index, code, label in cases:
            with self.subTest(label=label, index=index):
                with self.unchanged():
                    r = self.batch(ops, expect=code)
                field = "operations[%d]" % index
                self.assertEqual(r.error.get("field"), field, r.describe())
                self.assertTrue(r.error["details"].startswith("%s (%s): " % (field, label)),
                                r.describe())
        self.get_config("svc", "x", expect=40403)

    def test_invalid_op_is_rejected_before_anything(self):
        cases = [
            ([{"op": "create", "key": "x", "value": 1}, {"op": "frob", "key": "y"}], 1, 40002),
            ([{"op": "create", "key": "x", "value": 1}, {"key": "y", "value": 1}], 1, 40001),
            ([{"op": "create", "key": "x", "value": 1}, {"op": 3, "key": "y"}], 1, 40001),
            ([{"op": "create", "key": "x", "value": 1}, "create"], 1, 40001),
            ([{"op": "create", "key": "bad key", "value": 1}], 0, 40002),
            ([{"op": "create", "key": "x"}], 0, 40001),
            ([{"op": "create", "value": 1}], 0, 40001),
            ([{"op": "update", "key": "b"}], 0, 40001),
            ([{"op": "create", "key": "x", "value": 1},
              {"op": "update", "key": "b", "value": 1, "expected_version": "3"}], 1, 40001),
            ([{"op": "update", "key": "b", "status": 5}], 0, 40002),
            ([{"op": "create", "key": "x", "value": 1, "description": "d" * 513}], 0, 40002),
        ]
        for ops, index, code in cases:
            with self.subTest(ops=str(ops)[:100]):
                with self.unchanged():
                    r = self.batch(ops, expect=code)
                prefix = "operations[%d]" % index
                self.assertTrue(r.error.get("field", "").startswith(prefix), r.describe())
                self.assertTrue(r.error["details"].startswith(prefix), r.describe())

    def test_batch_level_errors(self):
        with self.unchanged():
            self.batch([], expect=40002, field="operations")
            self.batch([{"op": "create", "key": "k%d" % i, "value": i} for i in range(1001)],
                       expect=40002, field="operations")
            self.call("POST", BATCH, json_body={"namespace": "svc"}, expect=40001,
                      field="operations")
            self.call("POST", BATCH, json_body={"namespace": "svc", "operations": {}},
                      expect=40001, field="operations")
            self.call("POST", BATCH, json_body={"operations": [
                {"op": "create", "key": "x", "value": 1}]}, expect=40001, field="namespace")
            self.batch([{"op": "create", "key": "x", "value": 1}], ns="nope", expect=40402)
            self.batch([{"op": "create", "key": "x", "value": 1}], ns="bad ns", expect=40002)
            for body in ["", "[]", "nope", '{"namespace":"svc","operations":['] :
                self.call("POST", BATCH, body=body, expect=40001)

    def test_thousand_operations(self):
        rev = self.revision()
        r = self.batch([{"op": "create", "key": "k%04d" % i, "value": i} for i in range(1000)])
        self.assertEqual(len(r.data["results"]), 1000)
        self.assertEqual(self.revision(), rev + 1)
        d = self.ns_read("svc").data
        self.assertEqual(len(d["configs"]), 1002)
        self.assertEqual(d["configs"]["k0999"], 999)


if __name__ == "__main__":
    unittest.main()
