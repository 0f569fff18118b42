"""The Nacos config front-end (docs/compat.md, "Nacos") against real `cairn server` processes,
speaking the protocol byte for byte: the v1 and v2 open APIs, the long-polling listener (a
change during the hold made through another node, through the native API; an idle timeout),
login and accessToken, a token scoped to one namespace refused on another, bad input answered
in Nacos's style with nothing changed; and a real client library from the npm registry
(tests/e2e/nacos_client, `npm ci --prefix tests/e2e/nacos_client`).

Holds are observed through /api/v1/debug/vars (watch_held_polls); nothing asserts on timings.
"""

import hashlib
import json
import os
import shutil
import subprocess
import threading
import urllib.parse

from cluster import ClusterCase, eventually
from harness import CairnTestCase, raw_request
from test_auth import ROOT, RootTokenEnv, bearer

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_DIR = os.path.join(HERE, "nacos_client")
V1 = "/nacos/v1/cs/configs"
V2 = "/nacos/v2/cs/config"
LISTENER = "/nacos/v1/cs/configs/listener"
LOGIN = "/nacos/v1/auth/login"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def md5(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def form(fields):
    return urllib.parse.urlencode(fields)


def probe(*entries):
    """Listening-Configs for (dataId, group, md5[, tenant]) entries."""
    return "".join("\x02".join(e) + "\x01" for e in entries)


class NacosMixin:
    def nacos(self, method, path, params=None, fields=None, headers=None, server=None,
              timeout=15, body_raw=None):
        srv = server or self.server
        target = path + ("?" + urllib.parse.urlencode(params) if params else "")
        hdrs = dict(headers or {})
        body = body_raw
        if body_raw is not None:
            hdrs.update(FORM)
        if fields is not None:
            hdrs.update(FORM)
            body = form(fields)
        return raw_request(srv.port, method, target, body=body, headers=hdrs, timeout=timeout)

    def publish(self, data_id, content, group="DEFAULT_GROUP", tenant=None, server=None,
                headers=None, params=None):
        fields = {"dataId": data_id, "group": group, "content": content}
        if tenant is not None:
            fields["tenant"] = tenant
        r = self.nacos("POST", V1, fields=fields, server=server, headers=headers, params=params)
        self.assertEqual((r.status, r.text), (200, "true"), r.describe())
        return r

    def held(self, server=None):
        return self.debug_vars(server=server)["watch_held_polls"]

    def listen(self, entries, timeout_ms=30000, server=None, headers=None):
        """Starts a listener in a thread; returns (thread, result list)."""
        out = []
        hdrs = {"Long-Pulling-Timeout": str(timeout_ms)}
        hdrs.update(headers or {})

        def run():
            out.append(self.nacos("POST", LISTENER, fields={"Listening-Configs": probe(*entries)},
                                  headers=hdrs, server=server, timeout=timeout_ms / 1000 + 20))
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, out


class NacosProtocol(NacosMixin, CairnTestCase):
    def test_v1_publish_get_delete_byte_for_byte(self):
        content = "a: 1\nb: 你好\n  c: \"quoted\" \\ back\ttab\r\n"
        self.publish("app.yaml", content)
        r = self.nacos("GET", V1, params={"dataId": "app.yaml", "group": "DEFAULT_GROUP"})
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(r.body, content.encode("utf-8"))
        self.assertTrue(r.header("Content-Type").startswith("text/plain"), r.header("Content-Type"))
        self.assertEqual(r.header("Content-MD5"), md5(content))
        # Stored as a JSON string holding those bytes, in namespace DEFAULT_GROUP.
        native = self.get_config("DEFAULT_GROUP", "app.yaml").data
        self.assertEqual(native["value"], content)
        self.assertEqual(native["version"], 1)
        # Publishing the same content writes no version; another content does.
        self.publish("app.yaml", content)
        self.assertEqual(self.get_config("DEFAULT_GROUP", "app.yaml").data["version"], 1)
        self.publish("app.yaml", "two")
        self.assertEqual(self.get_config("DEFAULT_GROUP", "app.yaml").data["version"], 2)
        # Delete answers true, also for what is not there.
        for _ in range(2):
            r = self.nacos("DELETE", V1, params={"dataId": "app.yaml", "group": "DEFAULT_GROUP"})
            self.assertEqual((r.status, r.text), (200, "true"), r.describe())
        r = self.nacos("GET", V1, params={"dataId": "app.yaml", "group": "DEFAULT_GROUP"})
        self.assertEqual((r.status, r.text), (404, "config data not exist\n"), r.describe())

    def test_large_value_up_to_the_limit(self):
        # 60,000 lines: the stored JSON string (each newline escaped) stays under 1 MiB.
        content = "line of text é\n" * 60000
        self.publish("big", content, group="g")
        r = self.nacos("GET", V1, params={"dataId": "big", "group": "g"})
        self.assertEqual(r.body, content.encode("utf-8"))
        self.assertEqual(r.header("Content-MD5"), md5(content))

    def test_tenant_maps_to_namespace_and_v2(self):
        self.publish("k", "in dev", group="g", tenant="dev")
        self.publish("k", "public", group="g", tenant="public")
        self.assertEqual(self.get_config("dev.g", "k").data["value"], "in dev")
        self.assertEqual(self.get_config("g", "k").data["value"], "public")
        r = self.nacos("GET", V2, params={"dataId": "k", "group": "g", "namespaceId": "dev"})
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(r.json, {"code": 0, "message": "success", "data": "in dev"})
        r = self.nacos("POST", V2, fields={"dataId": "k2", "group": "g", "namespaceId": "dev",
                                           "content": "v2 content"})
        self.assertEqual(r.json, {"code": 0, "message": "success", "data": True}, r.describe())
        self.assertEqual(self.get_config("dev.g", "k2").data["value"], "v2 content")
        r = self.nacos("DELETE", V2, params={"dataId": "k2", "group": "g", "namespaceId": "dev"})
        self.assertEqual(r.json, {"code": 0, "message": "success", "data": True}, r.describe())
        r = self.nacos("GET", V2, params={"dataId": "k2", "group": "g", "namespaceId": "dev"})
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json, {"code": 20004, "message": "resource not found",
                                  "data": "config data not exist"})

    def test_native_values_read_through_nacos(self):
        self.create_ns("svc")
        self.create_config("svc", "text", "plain text\nline 2")
        self.call("POST", "/api/v1/admin/config",  # raw text: the number keeps its digits
                  body='{"namespace":"svc","key":"obj","value":{"b":1,"a":[true,null,1.50]}}')
        r = self.nacos("GET", V1, params={"dataId": "text", "group": "svc"})
        self.assertEqual(r.text, "plain text\nline 2")
        r = self.nacos("GET", V1, params={"dataId": "obj", "group": "svc"})
        self.assertEqual(r.text, '{"b":1,"a":[true,null,1.50]}')

    def test_bad_input_answers_nacos_errors_and_changes_nothing(self):
        self.publish("k", "v", group="g")
        cases = [
            ("GET", V1, {"group": "g"}, None, 400,
             "caused: Required String parameter 'dataId' is not present;"),
            ("POST", V1, None, {"dataId": "k", "group": "g"}, 400,
             "caused: Required String parameter 'content' is not present;"),
            ("POST", V1, None, {"dataId": "k", "group": "g", "content": "   "}, 400,
             "caused: content is blank :    ;"),
            ("POST", V1, None, {"dataId": "k", "group": "a:b", "content": "x"}, 400,
             "caused: invalid group : a:b;"),
            ("POST", V1, None, {"dataId": "k", "group": "123", "content": "x"}, 400,
             "caused: invalid group : 123;"),
            ("POST", V1, None, {"dataId": "k k", "group": "g", "content": "x"}, 400,
             "caused: invalid dataId : k k;"),
            ("POST", V1, None, {"dataId": "k", "group": "g", "tenant": "t/x", "content": "x"}, 400,
             "caused: invalid tenant;"),
            ("POST", V1, None, {"dataId": "k", "group": "g", "content": "x" * (1 << 20)}, 400,
             "caused: invalid content, over 1048576;"),
            ("POST", LISTENER, None, {}, 400, "caused: invalid probeModify;"),
            ("POST", LISTENER, None, {"Listening-Configs": "a\x01"}, 400,
             "caused: invalid probeModify;"),
        ]
        with self.unchanged():
            for method, path, params, fields, status, body in cases:
                r = self.nacos(method, path, params=params, fields=fields)
                self.assertEqual((r.status, r.text), (status, body), r.describe())
            r = self.nacos("POST", V2, fields={"group": "g", "content": "x"})
            self.assertEqual(r.status, 400)
            self.assertEqual(r.json["code"], 10000, r.describe())
            r = self.nacos("POST", V1, body_raw=b"dataId=k&group=g&content=%FF")
            self.assertEqual((r.status, r.text), (400, "caused: content is not valid UTF-8;"))
            r = self.nacos("POST", LISTENER, fields={"Listening-Configs": probe(("k", "g", ""))},
                           headers={"Long-Pulling-Timeout": "3s"})
            self.assertEqual((r.status, r.text), (400, 'caused: For input string: "3s";'))
            r = self.nacos("PUT", V1, params={"dataId": "k", "group": "g"})
            self.assertEqual(r.status, 405, r.describe())
            self.assertTrue(r.text.startswith("caused: "), r.describe())
        self.assertTrue(self.server.alive)

    def test_listener_answers_at_once_when_an_md5_differs(self):
        self.publish("k", "v1", group="g")
        r = self.nacos("POST", LISTENER, fields={"Listening-Configs": probe(("k", "g", ""))},
                       headers={"Long-Pulling-Timeout": "30000"})
        self.assertEqual((r.status, r.text), (200, "k%02g%01\n"), r.describe())
        # Up to date without Long-Pulling-Timeout: short polling, empty at once.
        r = self.nacos("POST", LISTENER, fields={"Listening-Configs": probe(("k", "g", md5("v1")))})
        self.assertEqual((r.status, r.text), (200, ""))

    def test_listener_idle_timeout_answers_empty(self):
        self.publish("k", "v1", group="g")
        # The shortest hold Nacos makes is 10 s, whatever the client asks.
        t, out = self.listen([("k", "g", md5("v1"))], timeout_ms=1000)
        self.assertTrue(eventually(lambda: self.held() == 1, 10), "the listener is not held")
        t.join(40)
        self.assertFalse(t.is_alive())
        self.assertEqual((out[0].status, out[0].text), (200, ""), out[0].describe())
        self.assertEqual(self.held(), 0)

    def test_listener_wakes_on_a_native_write(self):
        self.publish("k", "v1", group="g")
        t, out = self.listen([("k", "g", md5("v1")), ("other", "g", "")])
        self.assertTrue(eventually(lambda: self.held() == 1, 10), "the listener is not held")
        self.update_config("g", "k", value="v2 from native")
        t.join(20)
        self.assertFalse(t.is_alive(), "the listener was not answered")
        self.assertEqual((out[0].status, out[0].text), (200, "k%02g%01\n"), out[0].describe())
        r = self.nacos("GET", V1, params={"dataId": "k", "group": "g"})
        self.assertEqual(r.text, "v2 from native")

    def test_real_client_library_gets_publishes_and_listens(self):
        node = shutil.which("node")
        if not node or not os.path.isdir(os.path.join(CLIENT_DIR, "node_modules", "nacos")):
            self.skipTest("npm ci --prefix tests/e2e/nacos_client has not been run (or no node)")
        run_client(self, node, self.server, self.tmp)


def run_client(case, node, server, tmp, password=None, writer=None):
    """Runs nacos_client/client.js against `server` and checks every step it prints; the change
    during its listen is made by `writer` (default: a native update)."""
    args = [node, os.path.join(CLIENT_DIR, "client.js"), "127.0.0.1:%d" % server.port,
            "client.yaml", "CLIENT_GROUP", os.path.join(tmp, "nacos-cache")]
    if password:
        args.append(password)
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    case.addCleanup(lambda: (proc.kill(), proc.wait()))
    lines = []

    def next_step(expected):
        while True:
            line = proc.stdout.readline()
            case.assertTrue(line, "client.js ended early: %s" % "".join(lines))
            lines.append(line)
            try:
                msg = json.loads(line)
            except ValueError:
                continue  # the library's own logging
            case.assertNotEqual(msg["step"], "error", "".join(lines))
            if msg["step"] == expected:
                return msg

    timer = threading.Timer(90, proc.kill)
    timer.start()
    case.addCleanup(timer.cancel)
    first = "first: 1\nname: 你好\n"
    case.assertTrue(next_step("published")["ok"])
    case.assertEqual(next_step("got")["content"], first)
    case.assertEqual(next_step("subscribed")["content"], first)
    hdrs = bearer(password) if password else None
    if not password:  # stored as the JSON string of those bytes
        case.assertEqual(case.get_config("CLIENT_GROUP", "client.yaml", server=server)
                         .data["value"], first)
    # Changed under the client's held listener: by default through the native API.
    if writer:
        writer("second: 2\n")
    else:
        case.update_config("CLIENT_GROUP", "client.yaml", value="second: 2\n", server=server,
                           headers=hdrs)
    case.assertEqual(next_step("changed")["content"], "second: 2\n")
    proc.stdin.close()
    proc.wait(20)


class NacosCluster(NacosMixin, ClusterCase):
    def test_listener_on_a_follower_wakes_on_a_publish_through_another_node(self):
        follower, other = self.followers()
        self.publish("k", "v1", group="g", server=other)
        self.assertTrue(eventually(lambda: self.nacos(
            "GET", V1, params={"dataId": "k", "group": "g"}, server=follower).status == 200, 20))
        t, out = self.listen([("k", "g", md5("v1"))], server=follower)
        self.assertTrue(eventually(lambda: self.held(server=follower) == 1, 10))
        # Published through the other follower (forwarded to the leader), applied everywhere.
        self.publish("k", "v2", group="g", server=other)
        t.join(20)
        self.assertFalse(t.is_alive(), "the listener on the follower was not answered")
        self.assertEqual((out[0].status, out[0].text), (200, "k%02g%01\n"))
        r = self.nacos("GET", V1, params={"dataId": "k", "group": "g"}, server=follower)
        self.assertEqual(r.text, "v2")


class NacosAuth(NacosMixin, RootTokenEnv, CairnTestCase):
    START_SERVER = False

    def setUp(self):
        super().setUp()
        self.set_root_env()
        self.server = self.start_server(["--auth-enabled", "--rate-limit-enabled=false"])
        self.a_id, self.a = self.make_token("svc-a", [{"namespace": "a-*", "permission": "write"}])

    def test_access_token_login_and_scoped_tokens(self):
        # No token: Nacos answers 403.
        r = self.nacos("GET", V1, params={"dataId": "k", "group": "a-svc"})
        self.assertEqual(r.status, 403, r.describe())
        self.assertEqual(r.json["status"], 403)
        # accessToken as a query parameter, as a form field, as a header; username/password.
        self.publish("k", "v1", group="a-svc", params={"accessToken": self.a})
        r = self.nacos("POST", V1, fields={"dataId": "k", "group": "a-svc", "content": "v2",
                                           "accessToken": self.a})
        self.assertEqual((r.status, r.text), (200, "true"), r.describe())
        r = self.nacos("GET", V1, params={"dataId": "k", "group": "a-svc"},
                       headers={"accessToken": self.a})
        self.assertEqual((r.status, r.text), (200, "v2"), r.describe())
        r = self.nacos("GET", V1, params={"dataId": "k", "group": "a-svc", "username": "x",
                                          "password": self.a})
        self.assertEqual((r.status, r.text), (200, "v2"), r.describe())
        # Written with the token's name.
        hist = self.call("GET", "/api/v1/admin/config/history",
                         params={"namespace": "a-svc", "key": "k"}, headers=bearer(ROOT)).data
        self.assertEqual(hist["list"][0]["operator"], "svc-a", hist)
        # Login: the password is a Cairn token.
        r = self.nacos("POST", LOGIN, fields={"username": "anyone", "password": self.a})
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(r.json["accessToken"], self.a)
        self.assertFalse(r.json["globalAdmin"])
        self.assertGreater(r.json["tokenTtl"], 0)
        r = self.nacos("POST", LOGIN, fields={"username": "root", "password": ROOT})
        self.assertTrue(r.json["globalAdmin"], r.describe())
        r = self.nacos("POST", LOGIN, fields={"username": "anyone", "password": "cairn_wrong"})
        self.assertEqual(r.status, 403, r.describe())
        # Another namespace is refused, and nothing is written there.
        with self.unchanged_as_root():
            for method, params, fields in [
                    ("GET", {"dataId": "k", "group": "b-svc", "accessToken": self.a}, None),
                    ("POST", {"accessToken": self.a},
                     {"dataId": "k", "group": "b-svc", "content": "x"}),
                    ("DELETE", {"dataId": "k", "group": "b-svc", "accessToken": self.a}, None)]:
                r = self.nacos(method, V1, params=params, fields=fields)
                self.assertEqual(r.status, 403, r.describe())
            r = self.nacos("POST", LISTENER, params={"accessToken": self.a},
                           fields={"Listening-Configs": probe(("k", "b-svc", ""))})
            self.assertEqual(r.status, 403, r.describe())
            r = self.nacos("GET", V2, params={"dataId": "k", "group": "b-svc",
                                              "accessToken": self.a})
            self.assertEqual(r.status, 403, r.describe())
            self.assertEqual(r.json["code"], 10001, r.describe())

    def test_real_client_library_with_a_token_as_password(self):
        node = shutil.which("node")
        if not node or not os.path.isdir(os.path.join(CLIENT_DIR, "node_modules", "nacos")):
            self.skipTest("npm ci --prefix tests/e2e/nacos_client has not been run (or no node)")
        _, token = self.make_token("svc-client", [{"namespace": "CLIENT_GROUP",
                                                    "permission": "write"}])

        def writer(content):
            self.publish("client.yaml", content, group="CLIENT_GROUP",
                         params={"accessToken": token})
        run_client(self, node, self.server, self.tmp, password=token, writer=writer)

    def unchanged_as_root(self):
        return _AsRoot(self)

    def debug_vars_root(self):
        return self.call("GET", "/api/v1/debug/vars", headers=bearer(ROOT)).data["revision"]


class _AsRoot:
    """unchanged() for an auth server: snapshots the config list with the root token."""

    def __init__(self, case):
        self.case = case

    def snapshot(self):
        r = self.case.call("GET", "/api/v1/admin/config/list", params={"page_size": 1000},
                           headers=bearer(ROOT))
        return r.data["list"], self.case.debug_vars_root()

    def __enter__(self):
        self.before = self.snapshot()

    def __exit__(self, *exc):
        if exc[0] is None:
            self.case.assertEqual(self.before, self.snapshot())
        return False
