"""Black-box harness for Cairn's end-to-end tests: starts real `cairn server` processes on free
ports in fresh temporary directories, talks HTTP to them with bounded timeouts, and checks the
response envelope of docs/api.md on every answer.

Python 3 standard library only. Every process started here is registered, and run.py's watchdog
and atexit hook stop whatever is still alive, by PID, so that no run can leave a server behind.
"""

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

BINARY = os.environ.get("CAIRN_BINARY", "")
KEEP_DIRS = os.environ.get("CAIRN_E2E_KEEP", "") == "1"

HTTP_TIMEOUT = 15.0        # every socket operation of a request
START_TIMEOUT = 10.0       # from spawn to a healthy answer
STOP_TIMEOUT = 10.0        # SIGTERM to exit, before SIGKILL
START_ATTEMPTS = 5         # port collisions are retried with a new port

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
    50301: (503, "服务不可用"),
    50302: (503, "节点非Leader"),
}

RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
TRACEPARENT_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

_live_lock = threading.Lock()
_live = {}  # pid -> Server


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def kill_all_live():
    """Stops every server still registered (watchdog / atexit)."""
    with _live_lock:
        servers = list(_live.values())
    for srv in servers:
        with contextlib.suppress(Exception):
            srv.stop(signal.SIGKILL, timeout=5)


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


class Response:
    def __init__(self, method, target, status, reason, headers, body):
        self.method = method
        self.target = target
        self.status = status
        self.reason = reason
        self.header_list = headers  # list of (name, value)
        self.headers = {}
        for name, value in headers:
            self.headers.setdefault(name.lower(), value)
        self.body = body
        self.text = body.decode("utf-8", errors="replace")
        try:
            self.json = json.loads(self.text) if body else None
        except ValueError:
            self.json = None

    @property
    def code(self):
        return self.json.get("code") if isinstance(self.json, dict) else None

    @property
    def data(self):
        return self.json.get("data") if isinstance(self.json, dict) else None

    @property
    def error(self):
        return self.json.get("error") if isinstance(self.json, dict) else None

    def header(self, name):
        return self.headers.get(name.lower())

    def describe(self):
        return "%s %s -> HTTP %s %s" % (self.method, self.target, self.status, self.text[:2000])


def stop_process(proc, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
    """Sends `sig` to a child process, waits up to `timeout`, then SIGKILLs and waits."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


class Server:
    """One `cairn server` child process with its own data dir and port."""

    def __init__(self, data_dir, extra_args=(), binary=None):
        self.binary = binary or BINARY
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.log_path = None
        self.log_file = None
        self.starts = 0

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def base(self):
        return "127.0.0.1:%d" % self.port

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=START_TIMEOUT):
        if not self.binary or not os.path.exists(self.binary):
            raise RuntimeError("cairn binary not found: %r" % self.binary)
        last_error = None
        for _ in range(START_ATTEMPTS):
            self.port = free_port()
            self.starts += 1
            self.log_path = os.path.join(os.path.dirname(self.data_dir.rstrip("/")) or ".",
                                         "server-%s-%d.log" % (os.path.basename(self.data_dir),
                                                               self.starts))
            self.log_file = open(self.log_path, "wb")
            args = [self.binary, "server", "--data-dir", self.data_dir,
                    "--listen-http", "127.0.0.1:%d" % self.port] + self.extra_args
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            with _live_lock:
                _live[self.proc.pid] = self
            ok, last_error = self._wait_healthy(timeout)
            if ok:
                return self
            exited = self.proc.poll() is not None
            self.stop(signal.SIGKILL, timeout=5)
            log = self.log_tail()
            if exited and re.search(r"(?i)address (already )?in use|eaddrinuse", log):
                continue  # port collision: try another port
            raise RuntimeError("server did not become healthy: %s\n--- log ---\n%s"
                               % (last_error, log))
        raise RuntimeError("server could not start after %d attempts: %s\n%s"
                           % (START_ATTEMPTS, last_error, self.log_tail()))

    def _wait_healthy(self, timeout):
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False, "process exited with %s" % self.proc.returncode
            try:
                r = raw_request(self.port, "GET", "/api/v1/health", timeout=1.0)
                if r.status == 200:
                    return True, None
                last = "health answered HTTP %d" % r.status
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.05)
        return False, "not healthy within %.0f s (%s)" % (timeout, last)

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends `sig` to the server's PID, waits up to `timeout`, then SIGKILLs. Returns the exit
        status (negative signal number when killed)."""
        if self.proc is None:
            return None
        proc = self.proc
        stop_process(proc, sig, timeout)
        with _live_lock:
            _live.pop(proc.pid, None)
        if self.log_file:
            self.log_file.close()
            self.log_file = None
        return proc.returncode

    def kill9(self):
        return self.stop(signal.SIGKILL, timeout=10)

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
            return data[-n:].decode("utf-8", errors="replace")
        except OSError:
            return ""


# An ssl.SSLContext while a test talks HTTPS to its servers (test_tls.py sets and resets it).
TLS_CONTEXT = None


def raw_request(port, method, target, body=None, headers=None, timeout=HTTP_TIMEOUT):
    if TLS_CONTEXT is not None:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                           context=TLS_CONTEXT)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, bytearray)):
            body = body.encode("utf-8")
        if body is None and method in ("POST", "PUT", "PATCH"):
            hdrs.setdefault("Content-Length", "0")
        conn.request(method, target, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return Response(method, target, resp.status, resp.reason, resp.getheaders(), data)
    finally:
        conn.close()


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

    def restart(self, srv, sig=signal.SIGTERM):
        srv.stop(sig)
        srv.start()
        return srv

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
