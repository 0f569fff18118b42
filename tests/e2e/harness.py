"""Black-box harness for Cairn's end-to-end tests: the unittest layer (CairnTestCase) over the
shared launcher tests/support/cairn_cluster.py, which starts real `cairn server` processes on free
ports and talks HTTP to them with bounded timeouts; this file checks the response envelope of
docs/api.md on every answer.

Python 3 standard library only. Every process started is registered by the launcher, and run.py's
watchdog and atexit hook stop whatever is still alive, by PID, so that no run can leave a server
behind.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import cairn_cluster  # noqa: E402
from cairn_cluster import (  # noqa: E402,F401 - re-exported for the suites
    HTTP_TIMEOUT, REDIS_SERVER, START_ATTEMPTS, START_TIMEOUT, STOP_TIMEOUT, Process, Redis,
    Response, Server, free_port, kill_all_live, raw_request, stop_process)

BINARY = cairn_cluster.BINARY  # run.py sets both (set_binary)
KEEP_DIRS = os.environ.get("CAIRN_E2E_KEEP", "") == "1"


def set_binary(path):
    """The cairn binary every test starts (and runs as the CLI)."""
    global BINARY
    BINARY = cairn_cluster.BINARY = path


# docs/api.md, "Error codes": code -> (HTTP status, message)
CODES = {
    0: (200, "success"),
    40001: (400, "参数错误"),
    40002: (400, "参数校验失败"),
    40101: (401, "未授权"),
    40301: (403, "无权限"),
    40401: (404, "资源不存在"),
    40402: (404, "命名空间不存在"),
    40403: (404, "配置项不存在"),
    40501: (405, "请求方法不允许"),
    40901: (409, "资源冲突"),
    40902: (409, "配置键已存在"),
    41301: (413, "请求体过大"),
    42901: (429, "请求频率超限"),
    42902: (429, "客户端配额超限"),
    50001: (500, "服务内部错误"),
    50002: (500, "数据库错误"),
    50003: (500, "Raft共识失败"),
    50004: (500, "缓存服务异常"),
    50005: (500, "密钥值无法解密"),
    50301: (503, "服务不可用"),
    50302: (503, "节点非Leader"),
}

RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
TRACEPARENT_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def compact(value):
    """The compact JSON form Cairn stores and returns."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def ordered_loads(text):
    """json.loads keeping object member order as lists of pairs for order assertions."""
    return json.loads(text, object_pairs_hook=lambda pairs: OrderedPairs(pairs))


class OrderedPairs(dict):
    """A dict that also remembers its members' order (dicts do, but be explicit)."""

    def __init__(self, pairs):
        super().__init__(pairs)
        self.order = [k for k, _ in pairs]


def raw_socket_exchange(port, payload, timeout=HTTP_TIMEOUT, max_bytes=1 << 20):
    """Sends raw bytes and reads until the peer closes, `timeout` or max_bytes; returns bytes.
    A reset by the peer counts as the end of the answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b""
    try:
        try:
            s.sendall(payload)
        except OSError:
            pass
        deadline = time.monotonic() + timeout
        while len(out) < max_bytes and time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            # Stop once a complete response with Content-Length has arrived.
            head, sep, rest = out.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if m and len(rest) >= int(m.group(1)):
                    break
    finally:
        s.close()
    return out


def parse_raw_response(raw):
    """(status, headers dict lower-case, body bytes) of a raw HTTP/1.1 response, or None."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    if not m:
        return None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return int(m.group(1)), headers, body


def qs(params):
    return urllib.parse.urlencode([(k, v) for k, v in params.items() if v is not None])


class CairnTestCase(unittest.TestCase):
    """Starts one fresh server per test (setUp) and stops it whatever happens (addCleanup).

    Subclasses may set SERVER_ARGS, or START_SERVER = False to manage servers themselves.
    """

    SERVER_ARGS = ()
    START_SERVER = True
    maxDiff = 4000

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cairn-e2e-")
        if not KEEP_DIRS:
            self.addCleanup(shutil.rmtree, self.tmp, True)
        self.servers = []
        self.server = None
        if self.START_SERVER:
            self.server = self.start_server(list(self.SERVER_ARGS))

    def new_data_dir(self, name="data"):
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        return d

    def start_server(self, extra_args=(), data_dir=None):
        srv = Server(data_dir or self.new_data_dir("data%d" % len(self.servers)), extra_args)
        self.servers.append(srv)
        self.addCleanup(self._stop_quietly, srv)
        srv.start()
        return srv

    def _stop_quietly(self, srv):
        srv.stop()

    def start_redis_server(self, port=None):
        """A redis-server for this test on `port` (default: a free one), ready to answer PING,
        SIGKILLed in cleanup. Fails the test when it does not come up."""
        redis = Redis(port or free_port(), os.path.join(self.tmp, "redis-%d.log" % time.time_ns()))
        self.addCleanup(redis.stop, signal.SIGKILL)
        self.assertTrue(redis.wait_ready(), "redis-server did not start: " + redis.log_tail())
        return redis

    def restart(self, srv, sig=signal.SIGTERM):
        return srv.restart(sig)

    # -- HTTP ---------------------------------------------------------------------------------

    def http(self, method, path, params=None, body=None, json_body=None, headers=None,
             server=None, timeout=HTTP_TIMEOUT):
        srv = server or self.server
        target = path
        if params:
            target += ("&" if "?" in path else "?") + qs(params)
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False)
        return raw_request(srv.port, method, target, body=body, headers=headers, timeout=timeout)

    def call(self, method, path, params=None, body=None, json_body=None, headers=None,
             expect=0, server=None, message=None, field=None):
        """One request; checks the envelope (always) and the code (`expect`, or None for any).
        `field` checks error.field; `message` the success message."""
        r = self.http(method, path, params=params, body=body, json_body=json_body,
                      headers=headers, server=server)
        self.check_envelope(r)
        if expect is not None:
            self.assertEqual(r.code, expect, "unexpected code: " + r.describe())
        if message is not None:
            self.assertEqual(r.json.get("message"), message, r.describe())
        if field is not None:
            self.assertEqual(r.error.get("field"), field, "error.field: " + r.describe())
        return r

    def check_envelope(self, r, request_id=None):
        ctx = r.describe()
        self.assertIsInstance(r.json, dict, "body is not a JSON object: " + ctx)
        env = r.json
        self.assertIsInstance(env.get("code"), int, ctx)
        self.assertNotIsInstance(env.get("code"), bool, ctx)
        self.assertIn(env["code"], CODES, "code not in the table: " + ctx)
        status, msg = CODES[env["code"]]
        self.assertEqual(r.status, status, "HTTP status does not match the code: " + ctx)
        self.assertIsInstance(env.get("message"), str, ctx)
        self.assertTrue(env["message"], ctx)
        self.assertIsInstance(env.get("request_id"), str, ctx)
        self.assertTrue(env["request_id"], "empty request_id: " + ctx)
        self.assertIsInstance(env.get("timestamp"), int, ctx)
        self.assertLess(abs(env["timestamp"] - time.time()), 24 * 3600,
                        "timestamp is not Unix seconds: " + ctx)
        if env["code"] == 0:
            self.assertIn("data", env, ctx)
            self.assertNotIn("error", env, ctx)
        else:
            self.assertEqual(env["message"], msg, "message for the code: " + ctx)
            if env["code"] != 50301:  # an unhealthy /api/v1/health keeps its data (issue 15)
                self.assertNotIn("data", env, ctx)
            self.assertIsInstance(env.get("error"), dict, ctx)
            self.assertIsInstance(env["error"].get("details"), str, ctx)
            self.assertTrue(env["error"]["details"], "empty error.details: " + ctx)
            if "field" in env["error"]:
                self.assertIsInstance(env["error"]["field"], str, ctx)
        rid = r.header("X-Request-ID")
        self.assertTrue(rid, "no X-Request-ID header: " + ctx)
        self.assertEqual(rid, env["request_id"], "X-Request-ID header != request_id: " + ctx)
        if request_id is not None:
            self.assertEqual(rid, request_id, ctx)
        tp = r.header("traceparent")
        self.assertTrue(tp, "no traceparent header: " + ctx)
        self.assertRegex(tp, TRACEPARENT_RE, "traceparent malformed: " + ctx)
        if r.status == 405:
            self.assertTrue(r.header("Allow"), "405 without Allow header: " + ctx)

    # -- domain helpers -------------------------------------------------------------------------

    def create_ns(self, name, description=None, server=None, headers=None):
        body = {"name": name}
        if description is not None:
            body["description"] = description
        r = self.call("POST", "/api/v1/admin/namespace", json_body=body, server=server,
                      headers=headers, message="命名空间创建成功")
        return r.data

    def create_config(self, ns, key, value, description=None, server=None, headers=None):
        body = {"namespace": ns, "key": key, "value": value}
        if description is not None:
            body["description"] = description
        r = self.call("POST", "/api/v1/admin/config", json_body=body, server=server,
                      headers=headers, message="配置创建成功")
        return r.data

    def update_config(self, ns, key, expect=0, server=None, headers=None, **fields):
        body = {"namespace": ns, "key": key}
        body.update(fields)
        r = self.call("PUT", "/api/v1/admin/config", json_body=body, server=server,
                      headers=headers, expect=expect)
        if expect == 0:
            self.assertEqual(r.json["message"], "配置更新成功", r.describe())
        return r

    def get_config(self, ns, key, version=None, expect=0, server=None):
        params = {"namespace": ns, "key": key}
        if version is not None:
            params["version"] = version
        return self.call("GET", "/api/v1/config/get", params=params, expect=expect,
                         server=server)

    def ns_read(self, ns, expect=0, server=None):
        return self.call("GET", "/api/v1/config/namespace/" + urllib.parse.quote(ns, safe=""),
                         expect=expect, server=server)

    def debug_vars(self, server=None):
        return self.call("GET", "/api/v1/debug/vars", server=server).data

    def revision(self, server=None):
        return self.debug_vars(server)["revision"]

    def ns_list(self, server=None, **params):
        return self.call("GET", "/api/v1/admin/namespace/list", params=params or None,
                         server=server).data

    def config_list(self, server=None, **params):
        return self.call("GET", "/api/v1/admin/config/list", params=params or None,
                         server=server).data

    def history(self, ns, key, server=None, expect=0, **params):
        p = {"namespace": ns, "key": key}
        p.update(params)
        return self.call("GET", "/api/v1/admin/config/history", params=p, server=server,
                         expect=expect)

    def versions(self, ns, key, server=None, expect=0, **params):
        p = {"namespace": ns, "key": key}
        p.update(params)
        return self.call("GET", "/api/v1/config/versions", params=p, server=server,
                         expect=expect)

    def state_snapshot(self, server=None):
        """Everything a write could change, as seen through the API."""
        nss = self.ns_list(server=server, page_size=1000)["list"]
        cfgs = self.config_list(server=server, page_size=1000)["list"]
        reads = {}
        for ns in nss:
            if ns["status"] == 1:
                d = self.ns_read(ns["name"], server=server).data
                reads[ns["name"]] = d
        return {"revision": self.revision(server), "namespaces": nss, "configs": cfgs,
                "reads": reads}

    @contextlib.contextmanager
    def unchanged(self, server=None):
        """Asserts that the block (a rejected write) changed nothing."""
        before = self.state_snapshot(server)
        yield
        after = self.state_snapshot(server)
        self.assertEqual(before["revision"], after["revision"], "revision moved after a rejected write")
        self.assertEqual(before, after, "state changed after a rejected write")

    def assert_time(self, s, what=""):
        self.assertIsInstance(s, str, what)
        self.assertRegex(s, RFC3339_RE, what)
