"""Issue 15 (seed conformance audit), the HTTP, telemetry, health and rate-limit items:

- item 2: made-up HTTP methods share one `method="other"` set of series;
- item 5: an unhealthy /api/v1/health answers 503 with the seed's 50301 and keeps its `data`;
- item 8: Redis health (metric and `latency_ms`), cache_operation_duration, db_connection_count;
- item 12: HEAD on every GET route answers like GET without the body;
- item 15: shortest histogram bounds, no Content-Type on a 304, X-RateLimit-Remaining within
  X-RateLimit-Limit.

Every wait is a bounded poll; nothing asserts on how long a step took."""

import http.client
import re
import shutil
import signal
import subprocess
import unittest

from cluster import eventually
from harness import REDIS_SERVER, CairnTestCase

METRICS = "/api/v1/metrics"
GET = "/api/v1/config/get"
STANDARD = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"}
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


def samples(text):
    """[(name, {label: value}, value)] of a Prometheus text exposition."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        assert m, "malformed sample line: %r" % line
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def sample(text, name, **labels):
    for n, l, v in samples(text):
        if n == name and all(l.get(k) == x for k, x in labels.items()):
            return v
    return None


class MethodLabel(CairnTestCase):
    """Item 2: `curl -X FOO1 $C/api/v1/health` added 15 permanent series per made-up method."""

    def series(self):
        text = self.http("GET", METRICS).text
        return [(n, l) for n, l, _ in samples(text) if "method" in l]

    def test_made_up_methods_share_one_other_set_of_series(self):
        for m in ("FOO1", "FOO2", "BREW"):
            for path in ("/api/v1/health", GET, "/no/such/path"):
                self.call(m, path, expect=None)
        self.series()  # the scrape's own series exist from here on
        before = self.series()
        methods = {l["method"] for _, l in before}
        self.assertIn("other", methods)
        self.assertTrue(methods <= STANDARD | {"other"}, methods)
        for m in ("FOO3", "FOO4", "PROPFIND", "X" * 40, "get2"):
            for path in ("/api/v1/health", GET, "/no/such/path"):
                r = self.call(m, path, expect=None)
                # A method that is not upper case is refused before routing (methods are
                # case-sensitive, docs/security.md); the others reach the router.
                self.assertIn(r.status, (404, 405) if m == m.upper() else (400,), r.describe())
        after = self.series()
        self.assertEqual(len(after), len(before),
                         "new methods created series: %s" % sorted(set(map(str, after)) -
                                                                    set(map(str, before))))
        text = self.http("GET", METRICS).text
        for m in ("FOO1", "FOO4", "PROPFIND", "get2"):
            self.assertNotIn('method="%s"' % m, text)
        # 3 + 4 upper-case methods on the health route, all counted in one series ("get2" was
        # refused before routing).
        self.assertEqual(sample(text, "config_center_api_requests_total", api="/api/v1/health",
                                method="other", status="405"), 7.0, text)


class UnhealthyHealth(CairnTestCase):
    """Item 5: unhealthy answered 503 with code 0 and "success"."""
    SERVER_ARGS = ("--fault-injection", "--health-check-interval", "200ms")

    def fault(self, reason):
        self.call("POST", "/api/v1/debug/fault", json_body={"database": reason})

    def test_unhealthy_is_50301_with_the_same_data(self):
        r = self.call("GET", "/api/v1/health")
        healthy = r.data
        self.fault("disk on fire")
        r, last = eventually(lambda: (lambda x: x.status == 503 and x)(
            self.http("GET", "/api/v1/health")), 20, 0.1)
        self.assertTrue(r, "health never became unhealthy: %s" % (last and last.describe()))
        self.check_envelope(r)  # code and status agree, the table's message
        self.assertEqual(r.code, 50301, r.describe())
        self.assertEqual(r.json["message"], "服务不可用")
        self.assertIn("database", r.error["details"])
        data = r.data
        self.assertIsInstance(data, dict, r.describe())
        self.assertEqual(set(data), set(healthy), r.describe())  # the same fields
        self.assertEqual(data["status"], "unhealthy")
        self.assertIs(data["degraded"], True)
        db = data["components"]["database"]
        self.assertEqual(db["status"], "unhealthy")
        self.assertIn("disk on fire", db["error"])
        self.assertIsInstance(db["latency_ms"], int)
        # HEAD of an unhealthy node: the same status, for probes that use HEAD (item 12).
        self.assertEqual(self.http("HEAD", "/api/v1/health").status, 503)

        self.fault("")
        r, last = eventually(lambda: (lambda x: x.status == 200 and x)(
            self.http("GET", "/api/v1/health")), 20, 0.1)
        self.assertTrue(r, "health never recovered: %s" % (last and last.describe()))
        self.check_envelope(r)
        self.assertEqual(r.code, 0)
        self.assertEqual(r.data["status"], "healthy")


REDIS = REDIS_SERVER


@unittest.skipIf(REDIS is None, "redis-server is not installed (scripts/deps.sh installs it)")
class RedisHealthAndMetrics(CairnTestCase):
    """Item 8: health_check_status{component="redis"}, components.redis.latency_ms (seed
    §3.7.5.3), cache_operation_duration and db_connection_count."""
    START_SERVER = False

    def setUp(self):
        super().setUp()
        self.redis = self.start_redis_server()
        self.redis_port = self.redis.port
        self.server = self.start_server(["--redis-url", "redis://127.0.0.1:%d/0" % self.redis_port,
                                         "--redis-timeout", "200ms",
                                         "--health-check-interval", "200ms"])

    def stop_redis(self):
        self.redis.stop(signal.SIGKILL)

    def test_redis_health_metric_latency_and_cache_and_db_metrics(self):
        self.create_ns("svc")
        self.create_config("svc", "k", {"a": 1})
        self.update_config("svc", "k", value={"a": 2})

        def healthy_everywhere():
            r = self.http("GET", "/api/v1/health")
            redis = r.json["data"]["components"].get("redis", {})
            text = self.http("GET", METRICS).text
            ok = (redis.get("status") == "healthy" and
                  sample(text, "health_check_status", component="redis") == 1.0)
            return ok and (redis, text)
        got, last = eventually(healthy_everywhere, 15, 0.1)
        self.assertTrue(got, "redis never healthy in health and metrics: %s" % (last,))
        redis, text = got
        self.assertIsInstance(redis.get("latency_ms"), int, redis)
        self.assertGreaterEqual(redis["latency_ms"], 0)

        # Redis calls timed by command, in seconds like every other duration.
        ops = {l["operation"] for n, l, v in samples(text)
               if n == "config_center_cache_operation_duration_seconds_count" and v > 0}
        self.assertIn("ping", ops, text)
        self.assertIn("eval", ops, text)  # the write-through
        self.assertIn("# TYPE config_center_cache_operation_duration_seconds histogram", text)
        # SQLite connections: the writer at least is open; no read runs during the scrape.
        self.assertIn("# TYPE config_center_db_connections gauge", text)
        self.assertGreaterEqual(sample(text, "config_center_db_connections", state="open"), 1.0)
        self.assertIsNotNone(sample(text, "config_center_db_connections", state="in_use"), text)

        promtool = shutil.which("promtool")
        if promtool:
            proc = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                                  capture_output=True, timeout=30)
            self.assertEqual((proc.returncode, proc.stdout + proc.stderr), (0, b""),
                             text[:3000])

        self.stop_redis()

        def redis_down():
            text = self.http("GET", METRICS).text
            redis = self.http("GET", "/api/v1/health").json["data"]["components"]["redis"]
            return (sample(text, "health_check_status", component="redis") == 0.0 and
                    redis["status"] == "unhealthy" and redis)
        redis, last = eventually(redis_down, 15, 0.1)
        self.assertTrue(redis, "redis down never showed: %s" % (last,))
        self.assertIn("latency_ms", redis)
        self.assertIn("error", redis)
        self.assertEqual(self.http("GET", "/api/v1/health").status, 200)  # not degraded


class Head(CairnTestCase):
    """Item 12: HEAD on GET routes answered 405."""

    def setUp(self):
        super().setUp()
        self.create_ns("svc")
        self.create_config("svc", "k", {"a": 1})
        self.update_config("svc", "k", value={"a": 2})

    def both(self, path, params=None):
        rid = {"X-Request-ID": "same-id-for-both"}
        g = self.http("GET", path, params=params, headers=rid)
        h = self.http("HEAD", path, params=params, headers=rid)
        return g, h

    def test_head_answers_like_get_without_a_body(self):
        stable = [
            (GET, {"namespace": "svc", "key": "k"}),
            (GET, {"namespace": "svc", "key": "nope"}),  # 404 as well
            (GET, {"namespace": "svc"}),                 # 400
            ("/api/v1/config/namespace/svc", None),
            ("/api/v1/config/versions", {"namespace": "svc", "key": "k"}),
            ("/api/v1/config/diff", {"namespace": "svc", "key": "k", "from_version": 1,
                                     "to_version": 2}),
            ("/api/v1/admin/config/list", {"namespace": "svc"}),
            ("/api/v1/admin/config/history", {"namespace": "svc", "key": "k"}),
            ("/api/v1/admin/namespace/list", None),
            ("/livez", None),
            ("/readyz", None),
            ("/no/such/path", None),                     # 404 from the router
        ]
        for path, params in stable:
            with self.subTest(path=path, params=params):
                g, h = self.both(path, params)
                self.assertEqual(h.status, g.status, h.describe())
                self.assertEqual(h.body, b"", "HEAD got body bytes: " + h.describe())
                self.assertEqual(h.header("Content-Length"), str(len(g.body)), h.describe())
                self.assertEqual(h.header("Content-Type"), g.header("Content-Type"))
                self.assertEqual(h.header("X-Request-ID"), "same-id-for-both")
                self.assertEqual(h.header("ETag"), g.header("ETag"))
        # Bodies that change from one call to the next: same status and type, no body.
        for path in ("/api/v1/health", METRICS, "/api/v1/debug/vars", "/ui/"):
            with self.subTest(path=path):
                g, h = self.both(path)
                self.assertEqual(h.status, g.status, h.describe())
                self.assertEqual(h.body, b"")
                self.assertEqual(h.header("Content-Type"), g.header("Content-Type"))
                self.assertTrue(h.header("Content-Length").isdigit(), h.describe())

    def test_head_changes_nothing_and_counts_as_head(self):
        with self.unchanged():
            for path in ("/api/v1/admin/config", "/api/v1/admin/namespace",
                         "/api/v1/config/batch-get"):
                r = self.http("HEAD", path, params={"namespace": "svc", "key": "k"})
                self.assertEqual(r.status, 405, r.describe())  # no GET there: no HEAD either
                allow = {m.strip() for m in r.header("Allow").split(",")}
                self.assertNotIn("HEAD", allow)
                self.assertNotIn("GET", allow)
        text = self.http("GET", METRICS).text
        self.assertIsNotNone(sample(text, "config_center_api_requests_total",
                                    api="/api/v1/admin/config", method="HEAD", status="405"), text)

    def test_405_allow_lists_head_where_get_is(self):
        for path in (GET, "/api/v1/health", "/api/v1/admin/namespace/list"):
            with self.subTest(path=path):
                r = self.call("PATCH", path, body="{}", expect=40501)
                allow = [m.strip() for m in r.header("Allow").split(",")]
                self.assertIn("GET", allow)
                self.assertIn("HEAD", allow)

    def test_keep_alive_continues_after_a_head(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=15)
        try:
            for method in ("HEAD", "GET", "HEAD", "GET"):
                conn.request(method, GET + "?namespace=svc&key=k")
                resp = conn.getresponse()
                body = resp.read()
                self.assertEqual(resp.status, 200)
                self.assertEqual(resp.getheader("Connection"), None)  # kept alive
                if method == "HEAD":
                    self.assertEqual(body, b"")
                else:
                    self.assertIn(b'"value":{"a":2}', body)
        finally:
            conn.close()

    def test_head_on_watch_routes_holds_nothing(self):
        # A long poll would wait a minute for a change; its HEAD answers what a poll answers
        # now. (The request timeout, 15 s, is far below the poll's.)
        rev = self.call("GET", "/api/v1/debug/vars").data["revision"]
        g = self.call("GET", "/api/v1/config/watch",
                      params={"namespace": "svc", "revision": rev, "timeout": "0s"})
        h = self.http("HEAD", "/api/v1/config/watch",
                      params={"namespace": "svc", "revision": rev, "timeout": "60s"})
        self.assertEqual(h.status, 200, h.describe())
        self.assertEqual(h.body, b"")
        self.assertEqual(h.header("Content-Length"), str(len(g.body)))
        h = self.http("HEAD", "/api/v1/config/watch", params={"namespace": "nope", "revision": 0})
        self.assertEqual(h.status, 404, h.describe())
        # A stream: its head only, and the connection closes.
        h = self.http("HEAD", "/api/v1/config/watch/stream", params={"namespace": "svc"})
        self.assertEqual(h.status, 200, h.describe())
        self.assertTrue(h.header("Content-Type").startswith("text/event-stream"), h.describe())
        self.assertEqual(h.body, b"")
        self.assertEqual(self.call("GET", "/api/v1/debug/vars").data["watch_open_streams"], 0)
        self.assertEqual(self.call("GET", "/api/v1/debug/vars").data["watch_held_polls"], 0)


class Cosmetics(CairnTestCase):
    """Item 15."""

    def test_histogram_bounds_print_in_shortest_form(self):
        self.call("GET", "/api/v1/health")
        text = self.http("GET", METRICS).text
        self.assertIn('le="0.005"', text)
        self.assertIn('le="0.00025"', text)
        self.assertIn('le="0.0001"', text)
        long_bounds = re.findall(r'le="([0-9.e+-]{9,})"', text)
        self.assertEqual(long_bounds, [], "bounds not in shortest form")

    def test_304_carries_no_content_type(self):
        self.create_ns("svc")
        self.create_config("svc", "k", 1)
        r = self.call("GET", GET, params={"namespace": "svc", "key": "k"})
        etag = r.header("ETag")
        self.assertTrue(etag, r.describe())
        r = self.http("GET", GET, params={"namespace": "svc", "key": "k"},
                      headers={"If-None-Match": etag})
        self.assertEqual(r.status, 304, r.describe())
        self.assertEqual(r.body, b"")
        self.assertIsNone(r.header("Content-Type"), r.header_list)
        self.assertIn(r.header("Content-Length"), (None, "0"))
        self.assertEqual(r.header("ETag"), etag)
        self.assertTrue(r.header("X-Request-ID"))
        # The console's 304 too.
        g = self.http("GET", "/ui/")
        if g.status == 200 and g.header("ETag"):
            r = self.http("GET", "/ui/", headers={"If-None-Match": g.header("ETag")})
            self.assertEqual(r.status, 304, r.describe())
            self.assertIsNone(r.header("Content-Type"), r.header_list)

    def test_rate_limit_remaining_never_exceeds_limit(self):
        self.create_ns("svc")
        for headers in ({}, {"X-Client-ID": "core-service"}, {"X-Client-ID": "a"}):
            for _ in range(3):
                r = self.http("GET", GET, params={"namespace": "svc", "key": "k"},
                              headers=headers)
                limit = r.header("X-RateLimit-Limit")
                remaining = r.header("X-RateLimit-Remaining")
                self.assertTrue(limit and remaining, r.describe())
                self.assertLessEqual(int(remaining), float(limit),
                                     "Remaining %s of Limit %s" % (remaining, limit))
        r = self.call("POST", "/api/v1/admin/namespace", json_body={"name": "other"})
        self.assertLessEqual(int(r.header("X-RateLimit-Remaining")),
                             float(r.header("X-RateLimit-Limit")))


if __name__ == "__main__":
    unittest.main()
