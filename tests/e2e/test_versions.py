"""History, versions, diff and rollback."""

import unittest

from harness import CairnTestCase

HIST = "/api/v1/admin/config/history"
VERS = "/api/v1/config/versions"
DIFF = "/api/v1/config/diff"
ROLLBACK = "/api/v1/admin/config/rollback"


class History(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.create_ns("svc")

    def test_every_operation_newest_first(self):
        ops = {"X-Operator": "admin"}
        self.create_config("svc", "k", {"v": 1}, headers={"X-Operator": "creator"})
        self.update_config("svc", "k", value={"v": 2}, headers=ops)
        self.update_config("svc", "k", status=0, headers=ops)
        self.update_config("svc", "k", status=1, headers=ops)
        self.call("POST", ROLLBACK, json_body={"namespace": "svc", "key": "k",
                                               "target_version": 1}, headers=ops)
        self.call("DELETE", "/api/v1/admin/config", params={"namespace": "svc", "key": "k"},
                  headers={"X-Operator": "deleter"})
        self.create_config("svc", "k", {"v": 9})
        r = self.history("svc", "k")
        lst = r.data["list"]
        self.assertEqual([(h["operation"], h["version"], h["operator"]) for h in lst], [
            ("CREATE", 4, "anonymous"),
            ("DELETE", 3, "deleter"),
            ("ROLLBACK", 3, "admin"),
            ("ENABLE", 2, "admin"),
            ("DISABLE", 2, "admin"),
            ("UPDATE", 2, "admin"),
            ("CREATE", 1, "creator"),
        ], r.describe())
        self.assertEqual(r.data["pagination"], {"page": 1, "page_size": 20, "total": 7,
                                                "total_pages": 1})
        by_op = {}
        for h in lst:
            by_op.setdefault(h["operation"], h)
            for f in ["id", "namespace", "key", "old_value", "new_value", "version", "operation",
                      "operator", "created_at"]:
                self.assertIn(f, h, r.describe())
            self.assertEqual((h["namespace"], h["key"]), ("svc", "k"))
            self.assert_time(h["created_at"])
        ids = [h["id"] for h in lst]
        self.assertEqual(len(set(ids)), len(ids))
        self.assertEqual((lst[-1]["old_value"], lst[-1]["new_value"]), (None, {"v": 1}))
        self.assertEqual((lst[0]["old_value"], lst[0]["new_value"]), (None, {"v": 9}))
        self.assertEqual((by_op["UPDATE"]["old_value"], by_op["UPDATE"]["new_value"]),
                         ({"v": 1}, {"v": 2}))
        self.assertEqual((by_op["ROLLBACK"]["old_value"], by_op["ROLLBACK"]["new_value"]),
                         ({"v": 2}, {"v": 1}))
        self.assertEqual((by_op["DELETE"]["old_value"], by_op["DELETE"]["new_value"]),
                         ({"v": 1}, None))

    def test_pagination(self):
        self.create_config("svc", "k", 0)
        for i in range(1, 7):
            self.update_config("svc", "k", value=i)
        versions = []
        for page in (1, 2, 3):
            d = self.history("svc", "k", page=page, page_size=3).data
            self.assertEqual(d["pagination"], {"page": page, "page_size": 3, "total": 7,
                                               "total_pages": 3})
            versions += [h["version"] for h in d["list"]]
        self.assertEqual(versions, [7, 6, 5, 4, 3, 2, 1])
        d = self.history("svc", "k", page=4, page_size=3).data
        self.assertEqual(d["list"], [])

    def test_operator_header(self):
        self.create_config("svc", "k", 0, headers={"X-Operator": "o" * 64})
        self.update_config("svc", "k", value=1, headers={"X-Operator": "  "})
        lst = self.history("svc", "k").data["list"]
        self.assertEqual(lst[1]["operator"], "o" * 64)
        self.assertEqual(lst[0]["operator"], "anonymous")

    def test_errors(self):
        self.create_config("svc", "k", 0)
        self.history("svc", "never", expect=40403)
        self.history("nope", "k", expect=40402)
        for params, code in [({"key": "k"}, 40001), ({"namespace": "svc"}, 40001),
                             ({"namespace": "svc", "key": "k", "page": "0"}, 40002),
                             ({"namespace": "svc", "key": "k", "page_size": "1001"}, 40002),
                             ({"namespace": "svc", "key": "k", "page": "one"}, 40001),
                             ({"namespace": "svc", "key": "bad key"}, 40002)]:
            with self.subTest(params=params):
                self.call("GET", HIST, params=params, expect=code)


class Versions(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.create_ns("svc")
        self.create_config("svc", "k", {"host": "a"}, headers={"X-Operator": "ann"})
        self.update_config("svc", "k", value={"host": "b"}, headers={"X-Operator": "ben"})
        self.update_config("svc", "k", value={"host": "c"})

    def test_list(self):
        r = self.versions("svc", "k")
        self.assertEqual(r.json["message"], "success")
        lst = r.data["list"]
        self.assertEqual([(v["version"], v["value"], v["is_current"], v["created_by"])
                          for v in lst],
                         [(3, {"host": "c"}, True, "anonymous"),
                          (2, {"host": "b"}, False, "ben"),
                          (1, {"host": "a"}, False, "ann")])
        for v in lst:
            self.assert_time(v["created_at"])
        self.assertEqual(r.data["pagination"], {"page": 1, "page_size": 20, "total": 3,
                                                "total_pages": 1})

    def test_status_change_adds_no_version(self):
        self.update_config("svc", "k", description="x")
        self.update_config("svc", "k", status=0)
        self.update_config("svc", "k", status=1)
        lst = self.versions("svc", "k").data["list"]
        self.assertEqual([v["version"] for v in lst], [3, 2, 1])

    def test_pagination(self):
        d = self.versions("svc", "k", page=2, page_size=2).data
        self.assertEqual([v["version"] for v in d["list"]], [1])
        self.assertEqual(d["pagination"], {"page": 2, "page_size": 2, "total": 3,
                                           "total_pages": 2})

    def test_rollback_is_current(self):
        self.call("POST", ROLLBACK, json_body={"namespace": "svc", "key": "k",
                                               "target_version": 1})
        lst = self.versions("svc", "k").data["list"]
        self.assertEqual([(v["version"], v["value"], v["is_current"]) for v in lst][:2],
                         [(4, {"host": "a"}, True), (3, {"host": "c"}, False)])

    def test_errors(self):
        self.versions("svc", "nope", expect=40403)
        self.versions("nope", "k", expect=40402)
        for params, code in [({"key": "k"}, 40001), ({"namespace": "svc"}, 40001),
                             ({"namespace": "svc", "key": "k", "page_size": "0"}, 40002),
                             ({"namespace": "svc", "key": "k", "page": "x"}, 40001)]:
            with self.subTest(params=params):
                self.call("GET", VERS, params=params, expect=code)


def change_set(changes):
    return sorted((c["path"], c["type"], repr(c.get("from")), repr(c.get("to")))
                  for c in changes)


class Diff(CairnTestCase):

    V1 = {"host": "a", "pool": {"size": 1}, "list": [1, 2, {"c": 1}], "gone": 1,
          "a": {"b": [0, 1, {"c": "x"}]}, "odd key": 1}
    V2 = {"host": "b", "pool": {"size": 1, "max": 5}, "list": [1, 2, {"c": 2}], "new": True,
          "a": {"b": [0, 1, {"c": "y"}]}, "odd key": 2}
    EXPECTED = [
        ("host", "modified", "a", "b"),
        ("pool.max", "added", None, 5),
        ("list[2].c", "modified", 1, 2),
        ("gone", "removed", 1, None),
        ("new", "added", None, True),
        ("a.b[2].c", "modified", "x", "y"),
        ('["odd key"]', "modified", 1, 2),
    ]

    def setUp(self):
        super().setUp()
        self.create_ns("svc")
        self.create_config("svc", "k", self.V1)
        self.update_config("svc", "k", value=self.V2)

    def check(self, d, from_v, to_v, expected):
        self.assertEqual((d["namespace"], d["key"], d["from_version"], d["to_version"]),
                         ("svc", "k", from_v, to_v))
        for c in d["changes"]:
            self.assertIn(c["type"], ("added", "removed", "modified"))
            self.assertIn("from", c)
            self.assertIn("to", c)
        self.assertEqual(change_set(d["changes"]),
                         sorted((p, t, repr(f), repr(to)) for p, t, f, to in expected))

    def test_from_to(self):
        r = self.call("GET", DIFF, params={"namespace": "svc", "key": "k", "from": 1, "to": 2})
        self.check(r.data, 1, 2, self.EXPECTED)

    def test_from_version_to_version(self):
        r = self.call("GET", DIFF, params={"namespace": "svc", "key": "k", "from_version": 1,
                                           "to_version": 2})
        self.check(r.data, 1, 2, self.EXPECTED)

    def test_reverse(self):
        r = self.call("GET", DIFF, params={"namespace": "svc", "key": "k", "from": 2, "to": 1})
        rev = {"added": "removed", "removed": "added", "modified": "modified"}
        self.check(r.data, 2, 1, [(p, rev[t], to, f) for p, t, f, to in self.EXPECTED])

    def test_same_version_has_no_changes(self):
        r = self.call("GET", DIFF, params={"namespace": "svc", "key": "k", "from": 2, "to": 2})
        self.assertEqual(r.data["changes"], [])

    def test_whole_document_and_arrays(self):
        self.update_config("svc", "k", value=[1, 2])          # v3: object -> array
        self.update_config("svc", "k", value=[1, 2, 3])       # v4: element added
        self.update_config("svc", "k", value=[1])             # v5: elements removed
        self.update_config("svc", "k", value="text")          # v6: array -> string
        self.update_config("svc", "k", value="other")         # v7: string modified
        d = self.call("GET", DIFF, params={"namespace": "svc", "key": "k", "from": 2,
                                           "to": 3}).data
        self.assertEqual(change_set(d["changes"]),
                         change_set([{"path": "", "type": "modified", "from": self.V2,
                                      "to": [1, 2]}]))
        d = self.call("GET", DIFF, params={"namespace": "svc", "key": "k", "from": 3,
                                           "to": 4}).data
        self.assertEqual(change_set(d["changes"]),
                         change_set([{"path": "[2]", "type": "added", "from": None, "to": 3}]))
        d = self.call("GET", DIFF, params={"namespace": "svc", "key": "k", "from": 4,
                                           "to": 5}).data
        self.assertEqual(change_set(d["changes"]),
                         change_set([{"path": "[1]", "type": "removed", "from": 2, "to": None},
                                     {"path": "[2]", "type": "removed", "from": 3,
                                      "to": None}]))
        for a, b, f, t in [(5, 6, [1], "text"), (6, 7, "text", "other")]:
            d = self.call("GET", DIFF, params={"namespace": "svc", "key": "k", "from": a,
                                               "to": b}).data
            self.assertEqual(change_set(d["changes"]),
                             change_set([{"path": "", "type": "modified", "from": f, "to": t}]))

    def test_diff_of_deleted_key_versions(self):
        self.call("DELETE", "/api/v1/admin/config", params={"namespace": "svc", "key": "k"})
        r = self.call("GET", DIFF, params={"namespace": "svc", "key": "k", "from": 1, "to": 2},
                      expect=None)
        # versions stay readable after delete
        self.assertEqual(r.code, 0, r.describe())
        self.check(r.data, 1, 2, self.EXPECTED)

    def test_errors(self):
        base = {"namespace": "svc", "key": "k"}
        cases = [(dict(base, **{"from": 1, "to": 3}), 40401),
                 (dict(base, **{"from": 9, "to": 1}), 40401),
                 (dict(base, **{"from_version": 1, "to_version": 5}), 40401),
                 ({"namespace": "svc", "key": "nope", "from": 1, "to": 2}, 40403),
                 ({"namespace": "nope", "key": "k", "from": 1, "to": 2}, 40402),
                 (dict(base, **{"to": 2}), 40001),
                 (dict(base, **{"from": 1}), 40001),
                 (base, 40001),
                 ({"key": "k", "from": 1, "to": 2}, 40001),
                 ({"namespace": "svc", "from": 1, "to": 2}, 40001),
                 (dict(base, **{"from": "x", "to": 2}), 40001),
                 (dict(base, **{"from": 1, "to": "2.0"}), 40001),
                 (dict(base, **{"from": 0, "to": 2}), 40002),
                 (dict(base, **{"from": 1, "to": -2}), 40002),
                 (dict(base, **{"from_version": 0, "to_version": 2}), 40002)]
        for params, code in cases:
            with self.subTest(params=params):
                self.call("GET", DIFF, params=params, expect=code)


class Rollback(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.create_ns("svc")
        self.create_config("svc", "k", {"v": "A"})
        self.update_config("svc", "k", value={"v": "B"})
        self.update_config("svc", "k", value={"v": "C"})

    def test_rollback(self):
        rev = self.revision()
        r = self.call("POST", ROLLBACK, json_body={"namespace": "svc", "key": "k",
                                                   "target_version": 1},
                      headers={"X-Operator": "ops"}, message="配置回滚成功")
        self.assertEqual(r.data, {"namespace": "svc", "key": "k", "current_version": 4,
                                  "previous_version": 3})
        self.assertEqual(self.revision(), rev + 1)
        g = self.get_config("svc", "k")
        self.assertEqual((g.data["value"], g.data["version"]), ({"v": "A"}, 4))
        h = self.history("svc", "k").data["list"][0]
        self.assertEqual((h["operation"], h["version"], h["old_value"], h["new_value"],
                          h["operator"]), ("ROLLBACK", 4, {"v": "C"}, {"v": "A"}, "ops"))
        # rolling back to a rollback version works too
        r = self.call("POST", ROLLBACK, json_body={"namespace": "svc", "key": "k",
                                                   "target_version": 2})
        self.assertEqual((r.data["current_version"], r.data["previous_version"]), (5, 4))
        self.assertEqual(self.get_config("svc", "k").data["value"], {"v": "B"})

    def test_expected_version(self):
        with self.unchanged():
            self.call("POST", ROLLBACK, json_body={"namespace": "svc", "key": "k",
                                                   "target_version": 1, "expected_version": 2},
                      expect=40901)
        r = self.call("POST", ROLLBACK, json_body={"namespace": "svc", "key": "k",
                                                   "target_version": 1, "expected_version": 3})
        self.assertEqual(r.data["current_version"], 4)

    def test_errors(self):
        cases = [({"namespace": "svc", "key": "k", "target_version": 4}, 40401),
                 ({"namespace": "svc", "key": "k", "target_version": 99}, 40401),
                 ({"namespace": "svc", "key": "nope", "target_version": 1}, 40403),
                 ({"namespace": "nope", "key": "k", "target_version": 1}, 40402),
                 ({"namespace": "svc", "key": "k"}, 40001),
                 ({"namespace": "svc", "target_version": 1}, 40001),
                 ({"key": "k", "target_version": 1}, 40001),
                 ({"namespace": "svc", "key": "k", "target_version": "1"}, 40001),
                 ({"namespace": "svc", "key": "k", "target_version": 1.5}, 40001),
                 ({"namespace": "svc", "key": "k", "target_version": 0}, 40002),
                 ({"namespace": "svc", "key": "k", "target_version": -1}, 40002),
                 ({"namespace": "svc", "key": "k", "target_version": 1,
                   "expected_version": 0}, 40002),
                 ({"namespace": "svc", "key": "k", "target_version": 1,
                   "expected_version": "3"}, 40001)]
        for body, code in cases:
            with self.subTest(body=body):
                with self.unchanged():
                    self.call("POST", ROLLBACK, json_body=body, expect=code)
        for body in ["", "{", "[1]"]:
            with self.subTest(body=body):
                with self.unchanged():
                    self.call("POST", ROLLBACK, body=body, expect=40001)

    def test_rollback_of_deleted_key_is_40403(self):
        self.call("DELETE", "/api/v1/admin/config", params={"namespace": "svc", "key": "k"})
        with self.unchanged():
            self.call("POST", ROLLBACK, json_body={"namespace": "svc", "key": "k",
                                                   "target_version": 1}, expect=40403)

    def test_rollback_of_disabled_config(self):
        self.update_config("svc", "k", status=0)
        r = self.call("POST", ROLLBACK, json_body={"namespace": "svc", "key": "k",
                                                   "target_version": 1}, expect=None)
        # An admin write on a disabled config: allowed (like update) and still not served.
        self.assertEqual(r.code, 0, r.describe())
        self.get_config("svc", "k", expect=40403)


if __name__ == "__main__":
    unittest.main()
