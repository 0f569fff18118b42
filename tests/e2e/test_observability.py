"""Observability (docs/observability.md, seed §3.7 and §3.8.7): Prometheus metrics that move with
requests and pass `promtool check metrics`, W3C trace context in and out, spans exported over
OTLP/HTTP JSON to a receiver run by the test (across two nodes when a follower forwards a write),
the JSON access log, /livez, /readyz and the health shape."""

import http.server
import json
import re
import shutil
import subprocess
import threading
import time
import unittest

import harness
from cluster import ClusterCase, eventually
from harness import CairnTestCase

METRICS = "/api/v1/metrics"
SPAN_TIMEOUT = 15.0  # spans are exported in batches, about once a second
CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
CALLER_TRACE = CALLER[3:35]
CALLER_SPAN = CALLER[36:52]
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


class OtlpReceiver:
    """A tiny OTLP/HTTP JSON collector on 127.0.0.1 (a free port): keeps every span posted to
    /v1/traces with its resource's service.instance.id. Stopped by stop() (in cleanup)."""

    def __init__(self):
        self.spans = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ok = self.path == "/v1/traces"
                if ok:
                    receiver._add(json.loads(body))
                self.send_response(200 if ok else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def _add(self, doc):
        with self.lock:
            for rs in doc.get("resourceSpans", []):
                attrs = {a["key"]: a["value"].get("stringValue")
                         for a in rs.get("resource", {}).get("attributes", [])}
                for ss in rs.get("scopeSpans", []):
                    for span in ss.get("spans", []):
                        span = dict(span)
                        span["node"] = attrs.get("service.instance.id")
                        self.spans.append(span)

    def trace(self, trace_id):
        with self.lock:
            return [s for s in self.spans if s["traceId"] == trace_id]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def parse_metrics(text):
    """{(name, frozenset of label pairs): value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        assert m, "malformed sample line: %r" % line
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


class SpanWaiter:
    """For test cases with a `receiver` (OtlpReceiver)."""

    def wait_spans(self, trace_id, fn, what):
        """The spans of `trace_id` once fn(spans) holds; fails after SPAN_TIMEOUT."""
        spans, _ = eventually(lambda: (lambda s: s if fn(s) else None)(
            self.receiver.trace(trace_id)), SPAN_TIMEOUT, 0.1)
        if spans is None:
            self.fail("%s: not received within %.0f s; spans of the trace: %s" % (
                what, SPAN_TIMEOUT, json.dumps(self.receiver.trace(trace_id))[:3000]))
        return spans


class ObservabilityCase(SpanWaiter, CairnTestCase):
    START_SERVER = False

    def setUp(self):
        super().setUp()
        self.receiver = OtlpReceiver()
        self.addCleanup(self.receiver.stop)
        self.server = self.start_server(["--otlp-endpoint", self.receiver.endpoint,
                                         "--rate-limit-enabled=false"])

    def scrape(self, server=None):
        r = self.http("GET", METRICS, server=server)
        self.assertEqual(r.status, 200, r.describe())
        self.assertTrue(r.header("Content-Type").startswith("text/plain; version=0.0.4"),
                        r.header("Content-Type"))
        return r.text



class MetricsTest(ObservabilityCase):
    def test_request_counters_move_by_route_template(self):
        before = parse_metrics(self.scrape())
        for _ in range(3):
            self.call("GET", "/api/v1/config/get", params={"namespace": "nope", "key": "k"},
                      expect=40402)
        self.call("PUT", "/api/v1/admin/namespace/424242", json_body={"description": "x"},
                  expect=None)
        r = self.http("GET", "/no/such/path/777")
        self.assertEqual(r.status, 404)
        text = self.scrape()
        after = parse_metrics(text)
        get = dict(api="/api/v1/config/get", method="GET", status="404")
        self.assertEqual(value(after, "config_center_api_requests_total", **get)
                         - value(before, "config_center_api_requests_total", **get), 3, text)
        self.assertEqual(
            value(after, "config_center_api_request_duration_seconds_count",
                  api="/api/v1/config/get", method="GET")
            - value(before, "config_center_api_request_duration_seconds_count",
                    api="/api/v1/config/get", method="GET"), 3)
        self.assertTrue(any(k[0] == "config_center_api_requests_total"
                            and ("api", "/api/v1/admin/namespace/{id}") in k[1] for k in after),
                        text)
        self.assertEqual(value(after, "config_center_api_requests_total", api="unmatched",
                               method="GET", status="404"), 1, text)
        self.assertNotIn("424242", text)
        self.assertNotIn("/no/such/path", text)
        self.assertEqual(value(after, "health_check_status", component="database"), 1, text)
        self.assertGreater(value(after, "process_resident_memory_bytes"), 0)
        self.assertGreaterEqual(value(after, "config_center_http_connections"), 1)
        for name in ("config_center_watch_held_polls",
                     "config_center_raft_apply_duration_seconds",
                     "config_center_trace_spans_dropped_total"):
            self.assertIn("# TYPE " + name + " ", text)

    def test_held_watches_are_counted(self):
        self.create_ns("w")
        rev = self.revision()
        done = threading.Event()

        def hold():
            try:
                self.http("GET", "/api/v1/config/watch",
                          params={"namespace": "w", "revision": rev, "timeout": "10s"})
            finally:
                done.set()

        t = threading.Thread(target=hold, daemon=True)
        t.start()
        held, _ = eventually(lambda: value(parse_metrics(self.scrape()),
                                           "config_center_watch_held_polls") == 1 or None, 10)
        self.assertTrue(held, "the held watch never showed in config_center_watch_held_polls")
        self.create_config("w", "k", 1)  # answers the watch
        self.assertTrue(done.wait(10))
        t.join(5)
        self.assertEqual(value(parse_metrics(self.scrape()), "config_center_watch_held_polls"), 0)

    def test_promtool_accepts_the_live_output(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool (Debian package prometheus) is not installed")
        self.create_ns("p")
        self.create_config("p", "k", {"a": 1})
        self.get_config("p", "k")
        self.http("GET", "/nowhere")
        text = self.scrape()
        proc = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                              capture_output=True, timeout=30)
        self.assertEqual(proc.returncode, 0, "promtool check metrics: %s%s\n--- input ---\n%s"
                         % (proc.stdout.decode(), proc.stderr.decode(), text[:4000]))
        self.assertEqual(proc.stdout.decode().strip() + proc.stderr.decode().strip(), "")


class TraceTest(ObservabilityCase):
    def test_traceparent_round_trip_and_span_export(self):
        r = self.call("GET", "/api/v1/config/get", params={"namespace": "a", "key": "b"},
                      headers={"traceparent": CALLER}, expect=40402)
        tp = r.header("traceparent")
        self.assertEqual(tp[3:35], CALLER_TRACE, r.describe())
        self.assertNotEqual(tp[36:52], CALLER_SPAN)
        self.assertEqual(r.header("X-Trace-ID"), CALLER_TRACE)
        spans = self.wait_spans(CALLER_TRACE, lambda s: len(s) >= 1, "the request's span")
        server = [s for s in spans if s["spanId"] == tp[36:52]]
        self.assertEqual(len(server), 1, json.dumps(spans))
        self.assertEqual(server[0]["parentSpanId"], CALLER_SPAN)
        self.assertEqual(server[0]["name"], "GET /api/v1/config/get")
        self.assertEqual(server[0]["kind"], 2)

    def test_sqlite_queries_are_child_spans(self):
        self.create_ns("sq")
        r = self.call("GET", "/api/v1/admin/namespace/list", headers={"traceparent": CALLER})
        ours = r.header("traceparent")[36:52]
        spans = self.wait_spans(CALLER_TRACE, lambda s: any(
            x["name"] == "sqlite select" for x in s), "the list's SQLite spans")
        selects = [x for x in spans if x["name"] == "sqlite select"]
        for x in selects:
            self.assertEqual(x["parentSpanId"], ours, json.dumps(x))
        samples = parse_metrics(self.scrape())
        self.assertGreaterEqual(value(samples, "config_center_db_query_duration_seconds_count",
                                      op="select"), len(selects))

    def test_seed_trace_header_and_generated_context(self):
        uuid = "550e8400-e29b-41d4-a716-446655440000"
        r = self.call("GET", "/api/v1/health", headers={"X-Trace-ID": uuid})
        self.assertEqual(r.header("X-Trace-ID"), uuid.replace("-", ""))
        self.assertEqual(r.header("traceparent")[3:35], uuid.replace("-", ""))
        a = self.call("GET", "/livez")
        b = self.call("GET", "/livez")
        self.assertRegex(a.header("X-Trace-ID"), r"^[0-9a-f]{32}$")
        self.assertNotEqual(a.header("X-Trace-ID"), b.header("X-Trace-ID"))
        self.assertEqual(a.header("X-Trace-ID"), a.header("traceparent")[3:35])

    def test_access_log_is_one_json_line_per_request(self):
        rid = "obs-log-1"
        self.call("GET", "/api/v1/config/get", params={"namespace": "ns1", "key": "k1"},
                  headers={"X-Request-ID": rid, "X-Client-ID": "svc-a", "User-Agent": "e2e/1",
                           "traceparent": CALLER}, expect=40402)

        def line():
            for text in self.server.log_tail(200000).splitlines():
                if '"request_id":"%s"' % rid in text:
                    return json.loads(text[text.index("{"):])
            return None
        entry, _ = eventually(line, 10)
        self.assertIsNotNone(entry, "no access-log line for %s:\n%s" % (
            rid, self.server.log_tail()))
        expected = {"request_id": rid, "trace_id": CALLER_TRACE, "api": "/api/v1/config/get",
                    "method": "GET", "namespace": "ns1", "config_key": "k1",
                    "status_code": 404, "error_code": 40402, "client_id": "svc-a",
                    "client_ip": "127.0.0.1", "user_agent": "e2e/1", "node_id": "node1"}
        for k, v in expected.items():
            self.assertEqual(entry.get(k), v, "%s in %s" % (k, entry))
        for k in ("span_id", "duration_ms", "version"):
            self.assertIn(k, entry)


class HealthTest(ObservabilityCase):
    def test_livez_readyz_and_health_shape(self):
        live = self.call("GET", "/livez")
        self.assertEqual(live.status, 200)
        ready = self.call("GET", "/readyz")
        self.assertEqual(ready.status, 200)
        h = self.call("GET", "/api/v1/health")
        d = h.data
        self.assertEqual(d["status"], "healthy", h.describe())
        db = d["components"]["database"]
        self.assertEqual(db["status"], "healthy")
        self.assertIsInstance(db["latency_ms"], int)
        self.assertIs(d["degraded"], False)
        self.assertIsInstance(d["uptime_seconds"], int)
        self.assertIsInstance(h.json["timestamp"], int)


class ClusterTraceTest(SpanWaiter, ClusterCase):
    def setUp(self):
        self.receiver = OtlpReceiver()
        self.addCleanup(self.receiver.stop)
        self.CLUSTER_ARGS = ("--otlp-endpoint", self.receiver.endpoint)
        super().setUp()

    def test_forwarded_write_continues_the_trace_on_the_leader(self):
        self.ensure_ns("tr")
        follower = self.followers()[0]
        r = self.call("POST", "/api/v1/admin/config", server=follower,
                      json_body={"namespace": "tr", "key": "k", "value": 1},
                      headers={"traceparent": CALLER})
        self.assertEqual(r.header("traceparent")[3:35], CALLER_TRACE, r.describe())

        def complete(spans):
            names = {s["name"] for s in spans}
            return {"forward to leader", "raft.propose", "raft.commit", "raft.apply"} <= names \
                and sum(1 for s in spans if s["name"] == "POST /api/v1/admin/config") == 2
        spans = self.wait_spans(CALLER_TRACE, complete, "spans of the forwarded write")
        by_id = {s["spanId"]: s for s in spans}
        servers = {s["node"]: s for s in spans if s["name"] == "POST /api/v1/admin/config"}
        f_id, l_id = "node%d" % follower.raft_id, "node%d" % self.leader.raft_id
        self.assertEqual(set(servers), {f_id, l_id}, json.dumps(spans))
        f_server, l_server = servers[f_id], servers[l_id]
        self.assertEqual(f_server["parentSpanId"], CALLER_SPAN)
        self.assertEqual(f_server["spanId"], r.header("traceparent")[36:52])
        forward = [s for s in spans if s["name"] == "forward to leader"][0]
        self.assertEqual((forward["node"], forward["parentSpanId"], forward["kind"]),
                         (f_id, f_server["spanId"], 3))
        self.assertEqual(l_server["parentSpanId"], forward["spanId"])
        propose = [s for s in spans if s["name"] == "raft.propose"][0]
        self.assertEqual((propose["node"], propose["parentSpanId"]), (l_id, l_server["spanId"]))
        for name in ("raft.commit", "raft.apply"):
            child = [s for s in spans if s["name"] == name][0]
            self.assertEqual(child["parentSpanId"], propose["spanId"], name)
        for s in spans:
            self.assertTrue(s.get("parentSpanId") in by_id or s["parentSpanId"] == CALLER_SPAN,
                            "orphan span %s" % json.dumps(s))

    def test_raft_metrics(self):
        self.ensure_ns("m")
        self.create_on(self.leader, "m", "k", 1)
        text = self.http("GET", METRICS, server=self.leader).text
        samples = parse_metrics(text)
        self.assertEqual(value(samples, "config_center_raft_role", role="leader"), 1, text)
        self.assertGreaterEqual(value(samples, "config_center_raft_term"), 1)
        self.assertEqual(value(samples, "config_center_raft_leader"), self.leader.raft_id)
        self.assertGreaterEqual(value(samples, "config_center_raft_commit_duration_seconds_count"),
                                1)
        self.assertGreaterEqual(value(samples, "config_center_raft_apply_duration_seconds_count"),
                                1)
        self.assertGreaterEqual(value(samples, "config_center_raft_proposals_total"), 1)
        self.assertGreaterEqual(value(samples, "config_center_wal_fsyncs_total"), 1)
        for peer in self.followers():
            self.assertGreater(value(samples, "config_center_peer_sent_bytes_total",
                                     peer=str(peer.raft_id)), 0, text)
        f = parse_metrics(self.http("GET", METRICS, server=self.followers()[0]).text)
        self.assertEqual(value(f, "config_center_raft_role", role="follower"), 1)
        self.assertGreaterEqual(value(f, "config_center_raft_entries_applied_total"), 1)
        promtool = shutil.which("promtool")
        if promtool:  # the cluster-only metrics pass the linter too
            proc = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                                  capture_output=True, timeout=30)
            self.assertEqual(proc.returncode, 0, proc.stdout.decode() + proc.stderr.decode())


if __name__ == "__main__":
    unittest.main()
