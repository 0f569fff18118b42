"""HTTP-level behaviour: unknown paths, wrong methods, request ids, trace context, oversized
headers and malformed requests."""

import json
import unittest

from harness import (CairnTestCase, TRACEPARENT_RE, raw_request, raw_socket_exchange,
                     parse_raw_response)

ROUTES = {
    "/api/v1/config/get": {"GET"},
    "/api/v1/config/batch-get": {"POST"},
    "/api/v1/config/namespace/svc": {"GET"},
    "/api/v1/admin/config": {"POST", "PUT", "DELETE"},
    "/api/v1/admin/config/list": {"GET"},
    "/api/v1/admin/config/history": {"GET"},
    "/api/v1/admin/config/rollback": {"POST"},
    "/api/v1/admin/config/batch": {"POST"},
    "/api/v1/config/versions": {"GET"},
    "/api/v1/config/diff": {"GET"},
    "/api/v1/admin/namespace": {"POST"},
    "/api/v1/admin/namespace/svc": {"PUT", "DELETE"},
    # PUT/DELETE on .../list address the namespace named "list" ({id} route)
    "/api/v1/admin/namespace/list": {"GET", "PUT", "DELETE"},
    "/api/v1/health": {"GET"},
    "/api/v1/debug/vars": {"GET"},
}


class Routing(CairnTestCase):

    def test_unknown_paths_are_40401(self):
        for method, path in [("GET", "/"), ("GET", "/api"), ("GET", "/api/v1"),
                             ("GET", "/api/v1/nope"), ("POST", "/api/v1/config/getx"),
                             ("GET", "/api/v2/config/get"), ("GET", "/api/v1/config/get/extra"),
                             ("GET", "/api/v1/config/namespace/"),
                             ("GET", "/api/v1/config/namespace/a/b"),
                             ("DELETE", "/api/v1/admin/namespace/a/b"),
                             ("GET", "/API/V1/HEALTH")]:
            with self.subTest(method=method, path=path):
                with self.unchanged():
                    r = self.call(method, path, expect=40401)
                    self.assertEqual(r.status, 404)

    def test_wrong_methods_are_405_with_allow(self):
        self.create_ns("svc")
        for path, allowed in ROUTES.items():
            for method in ["GET", "POST", "PUT", "DELETE", "PATCH"]:
                if method in allowed:
                    continue
                with self.subTest(path=path, method=method):
                    with self.unchanged():
                        r = self.call(method, path, body="{}" if method != "GET" else None,
                                      expect=40501)
                    self.assertEqual(r.status, 405)
                    allow = {m.strip() for m in r.header("Allow").split(",")}
                    self.assertTrue(allowed <= allow, "Allow %r misses %r" % (allow, allowed))
                    self.assertFalse(allow & ({"GET", "POST", "PUT", "DELETE", "PATCH"} - allowed),
                                     "Allow %r lists a method the path does not take" % allow)

    def test_query_string_does_not_change_routing(self):
        r = self.call("GET", "/api/v1/health?x=1&y")
        self.assertEqual(r.data["status"], "healthy")

    def test_malformed_percent_encoding(self):
        self.create_ns("svc")
        r = self.call("GET", "/api/v1/config/get?namespace=%zz&key=a", expect=None)
        self.assertEqual(r.code, 40001, r.describe())
        r = self.call("GET", "/api/v1/config/namespace/sv%", expect=None)
        self.assertIn(r.code, (40001, 40401), r.describe())

    def test_percent_encoded_names_work(self):
        self.create_ns("svc")
        self.create_config("svc", "a/b:c", 1)
        r = self.call("GET", "/api/v1/config/get?namespace=s%76c&key=a%2Fb%3Ac")
        self.assertEqual(r.data["value"], 1)
        r = self.call("GET", "/api/v1/config/namespace/s%76c")
        self.assertEqual(r.data["configs"], {"a/b:c": 1})


class RequestIds(CairnTestCase):

    def test_request_id_echoed(self):
        for rid in ["my-req-123", "550e8400-e29b-41d4-a716-446655440000", "x", "a" * 128,
                    "with space and !#$%"]:
            with self.subTest(rid=rid):
                r = self.http("GET", "/api/v1/health", headers={"X-Request-ID": rid})
                self.check_envelope(r, request_id=rid)
                r = self.http("GET", "/api/v1/nope", headers={"X-Request-ID": rid})
                self.check_envelope(r, request_id=rid)
                r = self.http("POST", "/api/v1/admin/namespace", body="bad",
                              headers={"X-Request-ID": rid})
                self.check_envelope(r, request_id=rid)

    def test_request_id_generated(self):
        seen = set()
        for _ in range(20):
            r = self.http("GET", "/api/v1/health")
            self.check_envelope(r)
            seen.add(r.json["request_id"])
        self.assertEqual(len(seen), 20, "generated request ids must differ")

    def test_invalid_request_id_replaced(self):
        for rid in ["a" * 129, "tab\there"]:
            with self.subTest(rid=rid[:20]):
                r = self.http("GET", "/api/v1/health", headers={"X-Request-ID": rid})
                self.check_envelope(r)
                self.assertNotEqual(r.json["request_id"], rid)
                self.assertLessEqual(len(r.json["request_id"]), 128)

    def test_traceparent(self):
        r = self.http("GET", "/api/v1/health")
        self.check_envelope(r)
        t1 = TRACEPARENT_RE.match(r.header("traceparent")).group(1)
        self.assertNotEqual(t1, "0" * 32)
        r2 = self.http("GET", "/api/v1/health")
        self.assertNotEqual(TRACEPARENT_RE.match(r2.header("traceparent")).group(1), t1)
        sent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        r = self.http("GET", "/api/v1/health", headers={"traceparent": sent})
        self.check_envelope(r)
        self.assertEqual(TRACEPARENT_RE.match(r.header("traceparent")).group(1),
                         "4bf92f3577b34da6a3ce929d0e0e4736", "trace id is propagated")
        r = self.http("GET", "/api/v1/health", headers={"traceparent": "garbage"})
        self.check_envelope(r)

    def test_every_kind_of_answer_carries_the_envelope(self):
        self.create_ns("svc")
        self.call("GET", "/api/v1/debug/vars")
        self.call("GET", "/api/v1/config/get", params={"namespace": "svc", "key": "x"},
                  expect=40403)
        self.call("POST", "/api/v1/admin/namespace", json_body={"name": "svc"}, expect=40901)


class HeadersAndMalformed(CairnTestCase):

    def test_huge_header(self):
        payload = (b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * 100000
                   + b"\r\n\r\n")
        raw = raw_socket_exchange(self.server.port, payload, timeout=10)
        parsed = parse_raw_response(raw)
        self.assertIsNotNone(parsed, "no HTTP answer to a 100 kB header: %r" % raw[:300])
        status, headers, body = parsed
        self.assertIn(status, (400, 431), raw[:500])
        if body.strip():
            env = json.loads(body[:int(headers.get("content-length", len(body)))])
            self.assertIsInstance(env.get("code"), int, raw[:500])
            self.assertIn("request_id", env, raw[:500])
        self.assertTrue(self.server.alive())
        self.call("GET", "/api/v1/health")

    def test_many_headers(self):
        payload = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n" + b"".join(
            b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(400)) + b"\r\n"
        raw = raw_socket_exchange(self.server.port, payload, timeout=10)
        parsed = parse_raw_response(raw)
        if parsed is not None:
            self.assertIn(parsed[0], (400, 431), raw[:300])
        self.assertTrue(self.server.alive())
        self.call("GET", "/api/v1/health")

    def test_malformed_requests_do_not_hurt(self):
        for payload in [b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                        b"\x00\x01\x02\x03\r\n\r\n",
                        b"POST /api/v1/admin/namespace HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Length: abc\r\n\r\n{}",
                        b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"]:
            with self.subTest(payload=payload):
                raw = raw_socket_exchange(self.server.port, payload, timeout=10)
                parsed = parse_raw_response(raw)
                if parsed is not None:
                    self.assertGreaterEqual(parsed[0], 400, raw[:300])
                    self.assertLess(parsed[0], 500, raw[:300])
                self.assertTrue(self.server.alive())
        self.call("GET", "/api/v1/health")

    def test_pipelined_keep_alive(self):
        req = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
        last = b"GET /api/v1/debug/vars HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        raw = raw_socket_exchange(self.server.port, req * 3 + last, timeout=10,
                                  max_bytes=1 << 20)
        # raw_socket_exchange stops after the first complete response; count what arrived
        self.assertTrue(raw.startswith(b"HTTP/1.1 200"), raw[:200])

    def test_slow_client_does_not_block_others(self):
        import socket
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
        try:
            s.sendall(b"POST /api/v1/admin/namespace HTTP/1.1\r\nHost: x\r\nContent-Length: 100"
                      b"\r\n\r\n{\"na")
            # while that request is incomplete, others are served
            for _ in range(5):
                self.call("GET", "/api/v1/health")
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main()
