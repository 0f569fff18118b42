"""Namespaces: POST/PUT/DELETE /api/v1/admin/namespace[/{id}], GET /api/v1/admin/namespace/list."""

import unittest

from harness import CairnTestCase

NS = "/api/v1/admin/namespace"


class NamespaceCreate(CairnTestCase):

    def test_create_shape(self):
        r = self.call("POST", NS, json_body={"name": "order-service", "description": "订单服务"},
                      message="命名空间创建成功")
        d = r.data
        self.assertIsInstance(d["id"], int)
        self.assertEqual(d["name"], "order-service")
        self.assertEqual(d["description"], "订单服务")
        self.assertEqual(d["status"], 1)
        self.assert_time(d["created_at"], r.describe())

    def test_create_without_description(self):
        d = self.create_ns("plain")
        self.assertEqual(d["description"], "")
        self.assertEqual(d["status"], 1)

    def test_ids_are_distinct(self):
        a = self.create_ns("a")["id"]
        b = self.create_ns("b")["id"]
        self.assertNotEqual(a, b)

    def test_duplicate_is_40901_and_changes_nothing(self):
        self.create_ns("dup", "first")
        with self.unchanged():
            r = self.call("POST", NS, json_body={"name": "dup", "description": "second"},
                          expect=40901)
        lst = self.ns_list(name="dup")["list"]
        self.assertEqual(len(lst), 1)
        self.assertEqual(lst[0]["description"], "first")

    def test_valid_name_edges(self):
        for name in ["a", "A.b_c-9", "x" * 128, "0a", "...", "-_-"]:
            with self.subTest(name=name):
                self.create_ns(name)

    def test_invalid_names_are_40002(self):
        self.create_ns("keep")
        for name in ["a b", "ns/x", "ns@x", "x" * 129, "名字", "a:b", "tab\tx", "a\u0000b",
                     "semi;colon", "q?x", "0", "12345"]:
            with self.subTest(name=name):
                with self.unchanged():
                    self.call("POST", NS, json_body={"name": name}, expect=40002, field="name")

    def test_empty_name_is_rejected(self):
        with self.unchanged():
            r = self.call("POST", NS, json_body={"name": ""}, expect=None)
            self.assertIn(r.code, (40001, 40002), r.describe())
            self.assertEqual(r.error.get("field"), "name", r.describe())

    def test_missing_name_is_40001(self):
        for body in [{}, {"description": "x"}, {"name": None}]:
            with self.subTest(body=body):
                with self.unchanged():
                    self.call("POST", NS, json_body=body, expect=40001, field="name")

    def test_wrong_types_are_40001(self):
        for body, field in [({"name": 12}, "name"), ({"name": ["a"]}, "name"),
                            ({"name": True}, "name"), ({"name": {"x": 1}}, "name"),
                            ({"name": "ok", "description": 5}, "description"),
                            ({"name": "ok", "description": ["x"]}, "description")]:
            with self.subTest(body=body):
                with self.unchanged():
                    self.call("POST", NS, json_body=body, expect=40001, field=field)

    def test_description_limit(self):
        self.create_ns("d512", "d" * 512)
        with self.unchanged():
            self.call("POST", NS, json_body={"name": "d513", "description": "d" * 513},
                      expect=40002, field="description")
            # 171 × 3-byte characters = 513 bytes: the limit is in bytes.
            self.call("POST", NS, json_body={"name": "dcjk", "description": "配" * 171},
                      expect=40002, field="description")
        self.create_ns("dcjk", "配" * 170)

    def test_non_json_and_non_object_bodies(self):
        for body in ["", "not json", "{", '{"name":"x"', "[]", '"name"', "42", "null", "true",
                     '[{"name":"x"}]']:
            with self.subTest(body=body):
                with self.unchanged():
                    self.call("POST", NS, body=body, expect=40001)

    def test_name_is_not_a_substring_match_for_duplicates(self):
        self.create_ns("svc")
        self.create_ns("svc2")
        self.create_ns("SVC")  # names are case-sensitive


class NamespaceList(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.names = ["gamma-svc", "alpha", "beta", "delta", "alphabet", "epsilon"]
        for n in self.names:
            self.create_ns(n, "desc of " + n)

    def test_list_shape_and_order(self):
        r = self.call("GET", NS + "/list")
        d = r.data
        self.assertEqual([x["name"] for x in d["list"]], sorted(self.names))
        for x in d["list"]:
            for f in ["id", "name", "description", "status", "config_count", "revision",
                      "created_at", "updated_at"]:
                self.assertIn(f, x, r.describe())
            self.assertEqual(x["status"], 1)
            self.assertEqual(x["config_count"], 0)
            self.assertEqual(x["description"], "desc of " + x["name"])
            self.assertIsInstance(x["revision"], int)
            self.assert_time(x["created_at"])
            self.assert_time(x["updated_at"])
        self.assertEqual(d["pagination"], {"page": 1, "page_size": 20, "total": 6,
                                           "total_pages": 1})

    def test_name_search(self):
        d = self.ns_list(name="alpha")
        self.assertEqual([x["name"] for x in d["list"]], ["alpha", "alphabet"])
        self.assertEqual(d["pagination"]["total"], 2)
        d = self.ns_list(name="ta")
        self.assertEqual([x["name"] for x in d["list"]], ["beta", "delta"])
        d = self.ns_list(name="zzz")
        self.assertEqual(d["list"], [])
        self.assertEqual(d["pagination"]["total"], 0)
        self.assertEqual(d["pagination"]["total_pages"], 0)

    def test_status_filter(self):
        self.call("PUT", NS + "/beta", json_body={"status": 0})
        self.call("PUT", NS + "/delta", json_body={"status": 0})
        d = self.ns_list(status=0)
        self.assertEqual([x["name"] for x in d["list"]], ["beta", "delta"])
        self.assertTrue(all(x["status"] == 0 for x in d["list"]))
        d = self.ns_list(status=1)
        self.assertEqual([x["name"] for x in d["list"]], ["alpha", "alphabet", "epsilon",
                                                          "gamma-svc"])
        d = self.ns_list(status=0, name="del")
        self.assertEqual([x["name"] for x in d["list"]], ["delta"])
        d = self.ns_list()
        self.assertEqual(len(d["list"]), 6, "no filter lists disabled namespaces too")

    def test_bad_status_filter(self):
        self.call("GET", NS + "/list", params={"status": "2"}, expect=40002, field="status")
        self.call("GET", NS + "/list", params={"status": "-1"}, expect=40002, field="status")
        self.call("GET", NS + "/list", params={"status": "x"}, expect=40001, field="status")
        self.call("GET", NS + "/list", params={"status": "1.0"}, expect=40001, field="status")

    def test_pagination(self):
        ordered = sorted(self.names)
        seen = []
        for page in (1, 2, 3):
            d = self.ns_list(page=page, page_size=2)
            self.assertEqual(d["pagination"], {"page": page, "page_size": 2, "total": 6,
                                               "total_pages": 3})
            self.assertEqual(len(d["list"]), 2)
            seen += [x["name"] for x in d["list"]]
        self.assertEqual(seen, ordered)
        d = self.ns_list(page=4, page_size=2)
        self.assertEqual(d["list"], [])
        self.assertEqual(d["pagination"], {"page": 4, "page_size": 2, "total": 6,
                                           "total_pages": 3})
        d = self.ns_list(page=2, page_size=4)
        self.assertEqual([x["name"] for x in d["list"]], ordered[4:])
        self.assertEqual(d["pagination"]["total_pages"], 2)
        d = self.ns_list(page_size=1000)
        self.assertEqual(len(d["list"]), 6)
        d = self.ns_list(page_size=1)
        self.assertEqual(d["pagination"]["total_pages"], 6)

    def test_bad_pagination(self):
        for params, code, field in [({"page": "0"}, 40002, "page"),
                                    ({"page": "-3"}, 40002, "page"),
                                    ({"page_size": "0"}, 40002, "page_size"),
                                    ({"page_size": "1001"}, 40002, "page_size"),
                                    ({"page": "abc"}, 40001, "page"),
                                    ({"page": "1.5"}, 40001, "page"),
                                    ({"page_size": "ten"}, 40001, "page_size"),
                                    ({"page_size": "99999999999999999999999"}, None, "page_size"),
                                    ({"page": ""}, 40001, "page")]:
            with self.subTest(params=params):
                r = self.call("GET", NS + "/list", params=params, expect=code, field=field)
                if code is None:
                    self.assertIn(r.code, (40001, 40002), r.describe())

    def test_config_count_and_revision(self):
        self.create_config("alpha", "k1", 1)
        self.create_config("alpha", "k2", 2)
        self.update_config("alpha", "k2", status=0)
        x = self.ns_list(name="alphabet")["list"][0]
        self.assertEqual(x["config_count"], 0)
        x = [n for n in self.ns_list(name="alpha")["list"] if n["name"] == "alpha"][0]
        self.assertEqual(x["config_count"], 2, "disabled configs are still configs")
        self.assertEqual(x["revision"], self.revision())


class NamespaceUpdate(CairnTestCase):

    def test_update_description_by_id(self):
        created = self.create_ns("svc", "old")
        r = self.call("PUT", NS + "/%d" % created["id"], json_body={"description": "new"},
                      message="命名空间更新成功")
        d = r.data
        self.assertEqual(d["id"], created["id"])
        self.assertEqual(d["name"], "svc")
        self.assertEqual(d["description"], "new")
        self.assertEqual(d["status"], 1)
        self.assertEqual(d["created_at"], created["created_at"])
        self.assert_time(d["updated_at"])
        self.assertEqual(self.ns_list(name="svc")["list"][0]["description"], "new")

    def test_update_status_by_name(self):
        created = self.create_ns("svc", "keep")
        r = self.call("PUT", NS + "/svc", json_body={"status": 0}, message="命名空间更新成功")
        self.assertEqual(r.data["status"], 0)
        self.assertEqual(r.data["description"], "keep")
        self.assertEqual(r.data["id"], created["id"])
        self.assertEqual(self.ns_list(name="svc")["list"][0]["status"], 0)
        r = self.call("PUT", NS + "/svc", json_body={"status": 1, "description": "both"})
        self.assertEqual(r.data["status"], 1)
        self.assertEqual(r.data["description"], "both")

    def test_all_digit_path_is_an_id(self):
        # A namespace named "12345" cannot be created (issue 15 item 6), so the segment is an id.
        with self.unchanged():
            self.call("POST", NS, json_body={"name": "12345"}, expect=40002, field="name")
            self.call("PUT", NS + "/12345", json_body={"description": "x"}, expect=40402)

    def test_unknown_namespace_is_40402(self):
        with self.unchanged():
            self.call("PUT", NS + "/nope", json_body={"description": "x"}, expect=40402)
            self.call("PUT", NS + "/987654", json_body={"description": "x"}, expect=40402)

    def test_bad_updates(self):
        self.create_ns("svc", "old")
        cases = [({}, 40001), ({"status": 2}, 40002), ({"status": -1}, 40002),
                 ({"status": "1"}, 40001), ({"status": 1.5}, 40001), ({"status": True}, 40001),
                 ({"description": 7}, 40001), ({"description": "d" * 513}, 40002)]
        for body, code in cases:
            with self.subTest(body=body):
                with self.unchanged():
                    self.call("PUT", NS + "/svc", json_body=body, expect=code)
        for body in ["", "nope", "[]", "1"]:
            with self.subTest(body=body):
                with self.unchanged():
                    self.call("PUT", NS + "/svc", body=body, expect=40001)

    def test_invalid_name_in_path(self):
        with self.unchanged():
            r = self.call("PUT", NS + "/bad%20name", json_body={"description": "x"}, expect=None)
            self.assertIn(r.code, (40002, 40402), r.describe())


class NamespaceDelete(CairnTestCase):

    def test_delete_empty_by_id_and_name(self):
        a = self.create_ns("a")
        b = self.create_ns("b")
        r = self.call("DELETE", NS + "/%d" % a["id"], message="命名空间删除成功")
        self.assertEqual(r.data, {"id": a["id"], "name": "a"})
        r = self.call("DELETE", NS + "/b", message="命名空间删除成功")
        self.assertEqual(r.data, {"id": b["id"], "name": "b"})
        self.assertEqual(self.ns_list()["list"], [])
        self.ns_read("a", expect=40402)
        # the name is free again
        self.create_ns("a")

    def test_delete_non_empty_is_40901(self):
        self.create_ns("full")
        self.create_config("full", "k", {"v": 1})
        with self.unchanged():
            self.call("DELETE", NS + "/full", expect=40901)
        self.get_config("full", "k")
        # a disabled config still counts
        self.update_config("full", "k", status=0)
        with self.unchanged():
            self.call("DELETE", NS + "/full", expect=40901)
        # once its configs are deleted it can go
        self.call("DELETE", "/api/v1/admin/config", params={"namespace": "full", "key": "k"})
        self.call("DELETE", NS + "/full", message="命名空间删除成功")

    def test_delete_unknown_is_40402(self):
        self.create_ns("x")
        with self.unchanged():
            self.call("DELETE", NS + "/nope", expect=40402)
            self.call("DELETE", NS + "/424242", expect=40402)

    def test_delete_disabled_namespace(self):
        self.create_ns("off")
        self.call("PUT", NS + "/off", json_body={"status": 0})
        self.call("DELETE", NS + "/off")
        self.assertEqual(self.ns_list()["list"], [])


if __name__ == "__main__":
    unittest.main()
