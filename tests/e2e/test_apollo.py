"""Apollo config service (docs/compat.md, "Apollo"): Apollo's client protocol against real
`cairn server` processes, and the npm Apollo client node-apollo (tests/e2e/apollo_client/).

Values are written through the native API and read through Apollo's endpoints: /configs (304
on a current releaseKey), /configfiles (JSON, properties, raw), /notifications/v2 (an id of -1
answered at once, a change written on another node answered during the hold, an idle hold
answered 304). Nothing asserts on how long something took: a hold is observed through the
node's watch_held_polls probe, and the idle hold is cut short with --watch-max-timeout.
"""

import json
import os
import shutil
import socket
import subprocess
import threading
import unittest
import urllib.parse

from cluster import ClusterCase, eventually
from harness import CairnTestCase
from test_auth import ROOT, RootTokenEnv, bearer

APP = "sample-app"
CLIENT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "apollo_client")


def notifications_target(entries, app=APP, cluster="default"):
    return "/notifications/v2?" + urllib.parse.urlencode(
        {"appId": app, "cluster": cluster,
         "notifications": json.dumps(entries, separators=(",", ":"))})


class ApolloCase(CairnTestCase):

    def apollo(self, method, target, headers=None, server=None, timeout=None):
        kw = {"headers": headers, "server": server}
        if timeout is not None:
            kw["timeout"] = timeout
        return self.http(method, target, **kw)

    def assert_apollo_error(self, r, status):
        """Apollo's error style: the status and a JSON body {status, message, ...}."""
        ctx = r.describe()
        self.assertEqual(r.status, status, ctx)
        self.assertTrue(r.header("Content-Type").startswith("application/json"), ctx)
        body = json.loads(r.body)
        self.assertEqual(body["status"], status, ctx)
        self.assertIsInstance(body["message"], str, ctx)
        self.assertTrue(body["message"], ctx)
        self.assertNotIn("code", body, "a native envelope, not Apollo's error: " + ctx)
        return body

    def configs(self, ns, release_key=None, app=APP, cluster="default", **kw):
        target = "/configs/%s/%s/%s" % (app, cluster, urllib.parse.quote(ns, safe=""))
        if release_key is not None:
            target += "?" + urllib.parse.urlencode({"releaseKey": release_key, "ip": "10.0.0.1"})
        return self.apollo("GET", target, **kw)

    def configs_ok(self, ns, **kw):
        r = self.configs(ns, **kw)
        self.assertEqual(r.status, 200, r.describe())
        self.assertTrue(r.header("Content-Type").startswith("application/json"), r.describe())
        return json.loads(r.body)

    def held_polls(self, server=None):
        return self.debug_vars(server)["watch_held_polls"]


class ApolloReads(ApolloCase):

    def setUp(self):
        super().setUp()
        self.create_ns("application")
        self.create_config("application", "timeout", "30")
        self.create_config("application", "text", "line 1\nline \"2\" é 中文 = : # !")
        self.create_config("application", "number", 1.5)
        self.create_config("application", "obj", {"b": [1, 2.0], "a": None})
        self.create_ns("app.json")

    def test_configs_answer_and_304_on_a_current_release_key(self):
        d = self.configs_ok("application")
        self.assertEqual(list(d), ["appId", "cluster", "namespaceName", "configurations",
                                   "releaseKey"])
        self.assertEqual(d["appId"], APP)
        self.assertEqual(d["cluster"], "default")
        self.assertEqual(d["namespaceName"], "application")
        self.assertEqual(d["configurations"], {
            "number": "1.5", "obj": '{"b":[1,2.0],"a":null}', "text":
            "line 1\nline \"2\" é 中文 = : # !", "timeout": "30"})
        key = d["releaseKey"]
        self.assertTrue(key and key != "0", d)
        # The .properties suffix maps to the same namespace; the name is echoed as given.
        p = self.configs_ok("application.properties", app="other", cluster="dc1")
        self.assertEqual((p["appId"], p["cluster"], p["namespaceName"]),
                         ("other", "dc1", "application.properties"))
        self.assertEqual(p["configurations"], d["configurations"])
        self.assertEqual(p["releaseKey"], key)

        r = self.configs("application", release_key=key)
        self.assertEqual(r.status, 304, r.describe())
        self.assertEqual(r.body, b"")
        # A change moves the release key forward; the old key then gets the new configurations.
        self.update_config("application", "timeout", value="45")
        r = self.configs("application", release_key=key)
        self.assertEqual(r.status, 200, r.describe())
        moved = json.loads(r.body)
        self.assertEqual(moved["configurations"]["timeout"], "45")
        self.assertGreater(int(moved["releaseKey"]), int(key))

    def test_configfiles_json_properties_and_raw(self):
        r = self.apollo("GET", "/configfiles/json/%s/default/application" % APP)
        self.assertEqual(r.status, 200, r.describe())
        self.assertTrue(r.header("Content-Type").startswith("application/json"), r.describe())
        self.assertEqual(json.loads(r.body), self.configs_ok("application")["configurations"])

        r = self.apollo("GET", "/configfiles/%s/default/application.properties" % APP)
        self.assertEqual(r.status, 200, r.describe())
        self.assertTrue(r.header("Content-Type").startswith("text/plain"), r.describe())
        self.assertEqual(r.body.decode(),
                         "number=1.5\n"
                         'obj={"b"\\:[1,2.0],"a"\\:null}\n'
                         'text=line 1\\nline "2" é 中文 \\= \\: \\# \\!\n'
                         "timeout=30\n")
        r = self.apollo("GET", "/configfiles/raw/%s/default/application" % APP)
        self.assertEqual(r.status, 200, r.describe())
        self.assertTrue(r.body.decode().startswith("number=1.5\n"), r.describe())

    def test_document_namespace_reads_back_byte_for_byte(self):
        doc = '{\n  "name": "cairn",\n  "ratio": 1.50,\n  "list": [1, 2]\n}\n'
        self.create_config("app.json", "content", doc)
        d = self.configs_ok("app.json")
        self.assertEqual(d["namespaceName"], "app.json")
        self.assertEqual(d["configurations"], {"content": doc})
        r = self.apollo("GET", "/configfiles/raw/%s/default/app.json" % APP)
        self.assertEqual(r.status, 200, r.describe())
        self.assertTrue(r.header("Content-Type").startswith("application/json"), r.describe())
        self.assertEqual(r.body.decode(), doc)
        # A document written natively as a JSON value reads as its stored compact text, numbers
        # with their digits.
        self.update_config("app.json", "content",
                           value={"name": "cairn", "ratio": 1.5, "big": 18446744073709551616})
        stored = self.get_config("app.json", "content").json
        r = self.apollo("GET", "/configfiles/raw/%s/default/app.json" % APP)
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(json.loads(r.body.decode()), stored["data"]["value"])
        self.assertEqual(r.body.decode(), '{"name":"cairn","ratio":1.5,"big":18446744073709551616}')

    def test_unknown_namespaces_and_hostile_names_are_apollo_404s(self):
        with self.unchanged():
            for ns in ("missing", "missing.properties", "x" * 300, "a b", "中文"):
                body = self.assert_apollo_error(self.configs(ns), 404)
                self.assertIn("Could not load configurations", body["message"])
                for prefix in ("/configfiles/json", "/configfiles", "/configfiles/raw"):
                    r = self.apollo("GET", "%s/%s/default/%s" % (
                        prefix, APP, urllib.parse.quote(ns, safe="")))
                    self.assert_apollo_error(r, 404)
            # A document namespace without content.
            self.assert_apollo_error(
                self.apollo("GET", "/configfiles/raw/%s/default/app.json" % APP), 404)
            # A path Apollo does not have, and a method it does not serve: Apollo-styled.
            self.assert_apollo_error(self.apollo("POST", "/configs/%s/default/application"
                                                 % APP), 405)

    def test_notifications_answer_at_once_when_an_id_moved(self):
        current = int(self.configs_ok("application")["releaseKey"])
        r = self.apollo("GET", notifications_target(
            [{"namespaceName": "application", "notificationId": -1},
             {"namespaceName": "missing", "notificationId": -1},
             {"namespaceName": "app.json", "notificationId": 10 ** 12}]))
        self.assertEqual(r.status, 200, r.describe())
        self.assertTrue(r.header("Content-Type").startswith("application/json"), r.describe())
        self.assertEqual(json.loads(r.body), [{
            "namespaceName": "application", "notificationId": current,
            "messages": {"details": {"%s+default+application" % APP: current}}}])
        # .properties is dropped in the answer, as Apollo does; an older id is answered at once.
        r = self.apollo("GET", notifications_target(
            [{"namespaceName": "application.properties", "notificationId": current - 1}]))
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(json.loads(r.body)[0]["namespaceName"], "application")
        # HEAD answers what the poll would answer now, without holding.
        r = self.apollo("HEAD", notifications_target(
            [{"namespaceName": "application", "notificationId": current}]))
        self.assertEqual(r.status, 304, r.describe())

    def test_a_client_that_hangs_up_is_forgotten(self):
        current = int(self.configs_ok("application")["releaseKey"])
        target = notifications_target(
            [{"namespaceName": "application", "notificationId": current},
             {"namespaceName": "app.json", "notificationId": 10 ** 12},
             {"namespaceName": "not-yet", "notificationId": -1}])
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        try:
            sock.sendall(("GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % target).encode())
            self.assertTrue(eventually(lambda: self.held_polls() == 3, 20),
                            "the poll is not held")
        finally:
            sock.close()
        self.assertTrue(eventually(lambda: self.held_polls() == 0, 20),
                        "the hub still holds the polls of a client that hung up")
        # The node goes on answering.
        self.assertEqual(self.configs_ok("application")["releaseKey"], str(current))

    def test_malformed_notifications_are_apollo_400s(self):
        with self.unchanged():
            for bad in ("", "[", "{}", "[]", "[1]", '[{"namespaceName":""}]',
                        '[{"namespaceName":"a","notificationId":"x"}]',
                        '[{"namespaceName":"%s"}]' % ("n" * 200),
                        '[{"namespaceName":"a","notificationId":1e400}]',
                        "[" * 1500 + "]" * 1500):
                target = "/notifications/v2?" + urllib.parse.urlencode(
                    {"appId": APP, "cluster": "default", "notifications": bad})
                self.assert_apollo_error(self.apollo("GET", target), 400)
            for params in ({"cluster": "default", "notifications": "[]"},
                           {"appId": APP, "notifications": "[]"},
                           {"appId": APP, "cluster": "default"}):
                self.assert_apollo_error(self.apollo(
                    "GET", "/notifications/v2?" + urllib.parse.urlencode(params)), 400)
        self.assertEqual(self.held_polls(), 0)


class ApolloIdleHold(ApolloCase):
    """The hold is Apollo's 60 s cut to watch_max_timeout; 1 s here, so that the idle poll ends
    quickly (the test asserts the answer, never the time it took)."""

    SERVER_ARGS = ("--watch-max-timeout", "1s")

    def test_an_idle_hold_answers_304(self):
        self.create_ns("application")
        self.create_config("application", "k", "v")
        current = int(self.configs_ok("application")["releaseKey"])
        r = self.apollo("GET", notifications_target(
            [{"namespaceName": "application", "notificationId": current},
             {"namespaceName": "not-yet", "notificationId": -1}]), timeout=30)
        self.assertEqual(r.status, 304, r.describe())
        self.assertEqual(r.body, b"")
        self.assertTrue(eventually(lambda: self.held_polls() == 0, 10))


class ApolloCluster(ApolloCase, ClusterCase):
    """A change written through the native API on one node wakes an Apollo poll held on
    another."""

    def test_notification_after_a_native_write_on_another_node(self):
        self.create_ns("application")
        self.create_config("application", "k", "v1")
        follower = self.followers()[0]
        self.wait_value(follower, "application", "k", "v1")
        current = int(self.configs_ok("application", server=follower)["releaseKey"])
        result = {}

        def poll():
            result["r"] = self.apollo("GET", notifications_target(
                [{"namespaceName": "application", "notificationId": current},
                 {"namespaceName": "other", "notificationId": -1}]),
                server=follower, timeout=90)

        t = threading.Thread(target=poll, daemon=True)
        t.start()
        self.assertTrue(eventually(lambda: self.held_polls(follower) == 2, 20),
                        "the poll is not held on the follower")
        self.update_config("application", "k", value="v2", server=self.leader)
        t.join(90)
        self.assertFalse(t.is_alive(), "the held poll was not answered")
        r = result["r"]
        self.assertEqual(r.status, 200, r.describe())
        [note] = json.loads(r.body)
        self.assertEqual(note["namespaceName"], "application")
        self.assertGreater(note["notificationId"], current)
        self.assertEqual(note["messages"]["details"],
                         {"%s+default+application" % APP: note["notificationId"]})
        d = self.configs_ok("application", server=follower)
        self.assertEqual(d["configurations"], {"k": "v2"})
        self.assertEqual(int(d["releaseKey"]), note["notificationId"])
        self.assertTrue(eventually(lambda: self.held_polls(follower) == 0, 10))


class ApolloAuth(RootTokenEnv, ApolloCase):
    START_SERVER = False

    def setUp(self):
        super().setUp()
        self.set_root_env()
        self.server = self.start_server(["--auth-enabled", "--rate-limit-enabled=false"])
        for ns in ("a-svc", "b-svc"):
            self.create_ns(ns, headers=bearer(ROOT))
            self.create_config(ns, "k", ns, headers=bearer(ROOT))
        self.token = self.make_token("apollo-a", [{"namespace": "a-svc", "permission": "read"}])[1]

    def test_a_token_scoped_to_one_namespace_is_refused_on_another(self):
        for header in (self.token, "Bearer " + self.token):
            d = self.configs_ok("a-svc", headers={"Authorization": header})
            self.assertEqual(d["configurations"], {"k": "a-svc"})
        self.assert_apollo_error(self.configs("b-svc", headers={"Authorization": self.token}),
                                 403)
        self.assert_apollo_error(self.apollo(
            "GET", "/configfiles/json/%s/default/b-svc" % APP,
            headers={"Authorization": self.token}), 403)
        self.assert_apollo_error(self.configs("a-svc"), 401)
        self.assert_apollo_error(self.configs("a-svc", headers={"Authorization": "nope"}), 401)
        self.assert_apollo_error(self.apollo("GET", notifications_target(
            [{"namespaceName": "a-svc", "notificationId": -1},
             {"namespaceName": "b-svc", "notificationId": -1}]),
            headers={"Authorization": self.token}), 403)
        r = self.apollo("GET", notifications_target(
            [{"namespaceName": "a-svc", "notificationId": -1}]),
            headers={"Authorization": self.token})
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(json.loads(r.body)[0]["namespaceName"], "a-svc")


class NodeApolloClient(ApolloCase):
    """The npm client node-apollo (`npm ci --prefix tests/e2e/apollo_client`) reads through
    Cairn and sees a change."""

    def read(self, namespaces):
        node = shutil.which("node")
        out = subprocess.run(
            [node, os.path.join(CLIENT_DIR, "read.js"), "http://127.0.0.1:%d" % self.server.port,
             APP, ",".join(namespaces)], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)

    def test_node_apollo_reads_and_sees_a_change(self):
        if not shutil.which("node") or not os.path.isdir(
                os.path.join(CLIENT_DIR, "node_modules", "node-apollo")):
            self.skipTest("node-apollo is not installed: npm ci --prefix tests/e2e/apollo_client")
        self.create_ns("application")
        self.create_config("application", "db.url", "jdbc:mysql://db/app")
        self.create_ns("feature")
        self.create_config("feature", "enabled", "false")
        got = self.read(["application", "feature.properties"])
        want = {"db.url": "jdbc:mysql://db/app", "enabled": "false"}
        self.assertEqual(got["skipCache"], want)
        self.assertEqual(got["fromCache"], want)
        self.update_config("feature", "enabled", value="true")
        got = self.read(["application", "feature.properties"])
        want["enabled"] = "true"
        self.assertEqual(got["skipCache"], want)
        self.assertEqual(got["fromCache"], want)


if __name__ == "__main__":
    unittest.main()
