"""Bad input on every endpoint: bodies that are not JSON or not objects, wrong types, limits on
value size, nesting depth and body size. After every rejected write nothing has changed."""

import json
import unittest

from harness import CairnTestCase, raw_socket_exchange, parse_raw_response

# (method, path) of every endpoint that takes a JSON body
BODY_ENDPOINTS = [
    ("POST", "/api/v1/admin/namespace"),
    ("PUT", "/api/v1/admin/namespace/svc"),
    ("POST", "/api/v1/admin/config"),
    ("PUT", "/api/v1/admin/config"),
    ("POST", "/api/v1/admin/config/rollback"),
    ("POST", "/api/v1/admin/config/batch"),
    ("POST", "/api/v1/config/batch-get"),
]

# (path, params) of every GET endpoint with required parameters, with a valid set
GET_ENDPOINTS = [
    ("/api/v1/config/get", {"namespace": "svc", "key": "k"}),
    ("/api/v1/admin/config/history", {"namespace": "svc", "key": "k"}),
    ("/api/v1/config/versions", {"namespace": "svc", "key": "k"}),
    ("/api/v1/config/diff", {"namespace": "svc", "key": "k", "from": "1", "to": "2"}),
]


def nested(depth, leaf=1):
    """A value with `depth` levels of nesting (arrays and objects alternating)."""
    v = leaf
    for i in range(depth):
        v = [v] if i % 2 == 0 else {"n": v}
    return v


class BadBodies(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.create_ns("svc")
        self.create_config("svc", "k", {"v": 1})
        self.update_config("svc", "k", value={"v": 2})

    def test_non_json_bodies_are_40001(self):
        bodies = ["", " ", "not json", "{", '{"namespace":"svc",}', "{'a':1}", "\xff\xfe",
                  '{"namespace":"svc"} trailing', "NaN", "{\"a\":01}"]
        for method, path in BODY_ENDPOINTS:
            for body in bodies:
                with self.subTest(method=method, path=path, body=body):
                    with self.unchanged():
                        self.call(method, path, body=body, expect=40001)

    def test_json_non_objects_are_40001(self):
        for method, path in BODY_ENDPOINTS:
            for body in ["[]", "[{}]", '"svc"', "42", "null", "true", "1.5"]:
                with self.subTest(method=method, path=path, body=body):
                    with self.unchanged():
                        self.call(method, path, body=body, expect=40001)

    def test_invalid_utf8_in_strings(self):
        body = b'{"namespace":"svc","key":"k2","value":"\xff\xfe"}'
        with self.unchanged():
            r = self.call("POST", "/api/v1/admin/config", body=body, expect=None)
            self.assertIn(r.code, (40001, 40002), r.describe())

    def test_wrong_types_are_40001(self):
        cases = [
            ("POST", "/api/v1/admin/config", {"namespace": ["svc"], "key": "x", "value": 1}),
            ("POST", "/api/v1/admin/config", {"namespace": "svc", "key": {"k": 1}, "value": 1}),
            ("POST", "/api/v1/admin/config", {"namespace": "svc", "key": True, "value": 1}),
            ("PUT", "/api/v1/admin/config", {"namespace": "svc", "key": "k", "status": "1"}),
            ("PUT", "/api/v1/admin/config", {"namespace": "svc", "key": "k", "status": True}),
            ("PUT", "/api/v1/admin/config", {"namespace": "svc", "key": "k", "value": 1,
                                             "expected_version": [2]}),
            ("POST", "/api/v1/admin/config/rollback", {"namespace": "svc", "key": "k",
                                                       "target_version": True}),
            ("POST", "/api/v1/admin/config/rollback", {"namespace": "svc", "key": "k",
                                                       "target_version": None}),
            ("POST", "/api/v1/admin/namespace", {"name": False}),
            ("PUT", "/api/v1/admin/namespace/svc", {"description": {"d": 1}}),
            ("POST", "/api/v1/config/batch-get", {"namespace": "svc", "keys": [["k"]]}),
            ("POST", "/api/v1/admin/config/batch", {"namespace": "svc", "operations": "create"}),
        ]
        for method, path, body in cases:
            with self.subTest(method=method, path=path, body=body):
                with self.unchanged():
                    self.call(method, path, json_body=body, expect=40001)

    def test_out_of_range_integers_are_40002(self):
        huge = 10 ** 30
        cases = [
            ("PUT", "/api/v1/admin/config", {"namespace": "svc", "key": "k", "value": 1,
                                             "expected_version": 0}, "expected_version"),
            ("PUT", "/api/v1/admin/config", {"namespace": "svc", "key": "k", "value": 1,
                                             "expected_version": -1}, "expected_version"),
            ("PUT", "/api/v1/admin/config", {"namespace": "svc", "key": "k", "status": 3},
             "status"),
            ("POST", "/api/v1/admin/config/rollback", {"namespace": "svc", "key": "k",
                                                       "target_version": 0}, "target_version"),
            ("PUT", "/api/v1/admin/namespace/svc", {"status": 9}, "status"),
        ]
        for method, path, body, field in cases:
            with self.subTest(method=method, body=body):
                with self.unchanged():
                    self.call(method, path, json_body=body, expect=40002, field=field)
        # integers beyond int64 are still integers, out of range (40002) — or rejected as
        # unparseable numbers (40001); never accepted
        with self.unchanged():
            r = self.call("PUT", "/api/v1/admin/config",
                          json_body={"namespace": "svc", "key": "k", "value": 1,
                                     "expected_version": huge}, expect=None)
            self.assertIn(r.code, (40001, 40002), r.describe())

    def test_query_params_missing_malformed_out_of_range(self):
        for path, good in GET_ENDPOINTS:
            for name in good:
                with self.subTest(path=path, missing=name):
                    params = {k: v for k, v in good.items() if k != name}
                    self.call("GET", path, params=params, expect=40001)
            int_names = [n for n in ("from", "to") if n in good] + ["page", "page_size"]
            if path == "/api/v1/config/get":
                int_names = ["version"]
            if path == "/api/v1/config/diff":
                int_names = ["from", "to"]
            for name in int_names:
                for bad, code in [("x", 40001), ("1x", 40001), ("0x10", 40001), (" 1", 40001),
                                  ("0", 40002), ("-5", 40002)]:
                    with self.subTest(path=path, param=name, value=bad):
                        params = dict(good)
                        params[name] = bad
                        self.call("GET", path, params=params, expect=code, field=name)

    def test_page_size_limits_everywhere(self):
        lists = [("/api/v1/admin/namespace/list", {}),
                 ("/api/v1/admin/config/list", {}),
                 ("/api/v1/admin/config/history", {"namespace": "svc", "key": "k"}),
                 ("/api/v1/config/versions", {"namespace": "svc", "key": "k"})]
        for path, base in lists:
            for params, code in [({"page_size": "1001"}, 40002), ({"page_size": "0"}, 40002),
                                 ({"page": "0"}, 40002), ({"page": "p"}, 40001),
                                 ({"page_size": "1000"}, 0), ({"page": "1000000"}, 0)]:
                with self.subTest(path=path, params=params):
                    self.call("GET", path, params=dict(base, **params), expect=code)


class ValueLimits(CairnTestCase):
    SERVER_ARGS = ["--max-value-bytes", "1024", "--max-body-bytes", "65536"]

    def setUp(self):
        super().setUp()
        self.create_ns("svc")
        self.create_config("svc", "k", "small")

    def test_value_size_boundary_in_compact_form(self):
        at_limit = "x" * 1022          # '"' + 1022 + '"' = 1024 bytes
        self.create_config("svc", "max", at_limit)
        self.assertEqual(self.get_config("svc", "max").data["value"], at_limit)
        with self.unchanged():
            self.call("POST", "/api/v1/admin/config",
                      json_body={"namespace": "svc", "key": "over", "value": "x" * 1023},
                      expect=40002, field="value")
            self.update_config("svc", "k", value="y" * 1023, expect=40002)
            self.call("POST", "/api/v1/admin/config/batch", json_body={
                "namespace": "svc", "operations": [
                    {"op": "create", "key": "ok", "value": 1},
                    {"op": "create", "key": "over", "value": "x" * 2000}]}, expect=40002)
        # the limit is on the compact form: whitespace in the request does not count
        value = {"a": "x" * 900}
        body = json.dumps({"namespace": "svc", "key": "pretty", "value": value}, indent=40)
        body = body.replace('"x', " " * 2000 + '"x', 1)
        self.assertGreater(len(body), 1024 + 2000)
        self.call("POST", "/api/v1/admin/config", body=body)
        self.assertEqual(self.get_config("svc", "pretty").data["value"], value)

    def test_multibyte_value_counts_bytes(self):
        with self.unchanged():
            # 400 × 3-byte characters = 1200 bytes (+2 quotes) in compact UTF-8
            self.call("POST", "/api/v1/admin/config",
                      json_body={"namespace": "svc", "key": "cjk", "value": "配" * 400},
                      expect=40002, field="value")

    def test_depth_limit(self):
        self.create_config("svc", "d64", nested(64))
        self.assertEqual(self.get_config("svc", "d64").data["value"], nested(64))
        self.create_config("svc", "a64", json.loads("[" * 64 + "]" * 64))
        for depth in (65, 66, 100):
            with self.subTest(depth=depth):
                with self.unchanged():
                    self.call("POST", "/api/v1/admin/config",
                              json_body={"namespace": "svc", "key": "deep",
                                         "value": nested(depth)}, expect=40002)
                    self.update_config("svc", "k", value=nested(depth), expect=40002)
        with self.unchanged():
            self.call("POST", "/api/v1/admin/config/batch", json_body={
                "namespace": "svc", "operations": [
                    {"op": "create", "key": "deep", "value": nested(65)}]}, expect=40002)

    def test_absurd_depth_does_not_crash(self):
        for depth in (1000, 30000):
            with self.subTest(depth=depth):
                body = ('{"namespace":"svc","key":"deep","value":' + "[" * depth + "]" * depth
                        + "}")
                with self.unchanged():
                    self.call("POST", "/api/v1/admin/config", body=body, expect=40002)
                body = "[" * depth
                with self.unchanged():
                    r = self.call("POST", "/api/v1/admin/config", body=body, expect=None)
                    self.assertIn(r.code, (40001, 40002), r.describe())
        self.assertTrue(self.server.alive())


class BodyLimit(CairnTestCase):
    SERVER_ARGS = ["--max-body-bytes", "4096"]

    def setUp(self):
        super().setUp()
        self.create_ns("svc")

    def test_body_over_limit_is_413(self):
        body = json.dumps({"namespace": "svc", "key": "big", "value": "x" * 5000})
        with self.unchanged():
            r = self.call("POST", "/api/v1/admin/config", body=body, expect=41301)
            self.assertEqual(r.status, 413)
        # exactly at the limit is fine
        filler = 4096 - len(json.dumps({"namespace": "svc", "key": "fits", "value": ""}))
        body = json.dumps({"namespace": "svc", "key": "fits", "value": "y" * filler})
        self.assertEqual(len(body), 4096)
        self.call("POST", "/api/v1/admin/config", body=body)
        self.assertTrue(self.server.alive())
        self.get_config("svc", "fits")

    def test_every_body_endpoint_limits(self):
        big = json.dumps({"namespace": "svc", "pad": "z" * 8000})
        for method, path in BODY_ENDPOINTS + [("DELETE", "/api/v1/admin/config")]:
            with self.subTest(method=method, path=path):
                with self.unchanged():
                    self.call(method, path, body=big, expect=41301)

    def test_announced_huge_body_is_refused_without_reading_it(self):
        req = (b"POST /api/v1/admin/config HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{\"a\":")
        raw = raw_socket_exchange(self.server.port, req, timeout=10)
        parsed = parse_raw_response(raw)
        self.assertIsNotNone(parsed, "no HTTP answer to an announced huge body: %r" % raw[:300])
        status, headers, body = parsed
        self.assertEqual(status, 413, raw[:500])
        env = json.loads(body[:int(headers.get("content-length", len(body)))])
        self.assertEqual(env["code"], 41301)
        self.assertEqual(env["message"], "请求体过大")
        self.assertTrue(self.server.alive())
        self.call("GET", "/api/v1/health")

    def test_chunked_body_over_limit(self):
        chunk = b"a" * 3000
        req = (b"POST /api/v1/admin/config HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               b"\r\n" + (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 3 + b"0\r\n\r\n")
        raw = raw_socket_exchange(self.server.port, req, timeout=10)
        parsed = parse_raw_response(raw)
        self.assertIsNotNone(parsed, repr(raw[:300]))
        self.assertEqual(parsed[0], 413, raw[:500])
        self.assertTrue(self.server.alive())


if __name__ == "__main__":
    unittest.main()
