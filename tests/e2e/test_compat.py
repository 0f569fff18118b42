"""The protocol front-ends together (docs/compat.md): the same data through every protocol.

One value written natively is read through Consul, Nacos and Apollo; one written through Consul
and one through Nacos (Apollo's config service is read-only) are read natively and through the
other front-ends, byte for byte: UTF-8, newlines, quotes, and a large value. A change made
through one protocol wakes a client held by another. Holds are observed through the node's
watch_held_polls probe; nothing asserts on how long something took.
"""

import json
import threading
import urllib.parse

from harness import CairnTestCase

NS = "compat"
APP = "compat-app"
TEXT = "line 1\nline \"2\"\ttab \\ é 中文 ✓ = : # !\r\nend"
# Large, with characters JSON escapes, well inside the default value limit once escaped.
LARGE = ("0123456789 \"quoted\" é\n" * 12000)[:240000]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class CompatCase(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.create_ns(NS)

    # ---- each protocol's read of NS/key, as the bytes its client gets ----

    def consul_raw(self, key):
        r = self.http("GET", "/v1/kv/%s/%s?raw" % (NS, key))
        self.assertEqual(r.status, 200, r.describe())
        return r.body.decode("utf-8")

    def nacos_get(self, key):
        r = self.http("GET", "/nacos/v1/cs/configs?" + urllib.parse.urlencode(
            {"dataId": key, "group": NS}))
        self.assertEqual(r.status, 200, r.describe())
        return r.body.decode("utf-8")

    def apollo_get(self, key):
        r = self.http("GET", "/configs/%s/default/%s" % (APP, NS))
        self.assertEqual(r.status, 200, r.describe())
        return json.loads(r.body)["configurations"][key]

    def native_value(self, key):
        return self.get_config(NS, key).data["value"]

    def read_everywhere(self, key, text):
        self.assertEqual(self.consul_raw(key), text, "Consul ?raw of " + key)
        self.assertEqual(self.nacos_get(key), text, "Nacos of " + key)
        self.assertEqual(self.apollo_get(key), text, "Apollo of " + key)

    def consul_put(self, key, text):
        r = self.http("PUT", "/v1/kv/%s/%s" % (NS, key), body=text)
        self.assertEqual((r.status, r.body.strip()), (200, b"true"), r.describe())

    def nacos_publish(self, key, text):
        r = self.http("POST", "/nacos/v1/cs/configs", headers=FORM,
                      body=urllib.parse.urlencode({"dataId": key, "group": NS, "content": text}))
        self.assertEqual((r.status, r.body.strip()), (200, b"true"), r.describe())

    def held_polls(self):
        return self.debug_vars()["watch_held_polls"]


class SameBytesThroughEveryProtocol(CompatCase):

    def test_native_values_read_through_every_front_end(self):
        for key, text in (("text", TEXT), ("large", LARGE), ("empty", "")):
            self.create_config(NS, key, text)
            self.read_everywhere(key, text)
        # Anything but a JSON string reads as its compact JSON text.
        self.create_config(NS, "obj", {"b": [1, 2.5], "a": None})
        self.read_everywhere("obj", '{"b":[1,2.5],"a":null}')

    def test_front_end_writes_read_natively_and_through_the_others(self):
        for key, text in (("from-consul", TEXT), ("large-consul", LARGE)):
            self.consul_put(key, text)
            self.assertEqual(self.native_value(key), text)  # stored as a JSON string
            self.read_everywhere(key, text)
        for key, text in (("from-nacos", TEXT), ("large-nacos", LARGE)):
            self.nacos_publish(key, text)
            self.assertEqual(self.native_value(key), text)
            self.read_everywhere(key, text)


class ChangesWakeEveryProtocol(CompatCase):

    def hold(self, request):
        """Runs `request` (a held long poll) in a thread; returns (thread, result holder) once the
        node holds one more poll than before."""
        before = self.held_polls()
        out = {}

        def run():
            out["r"] = request()

        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.assertTrue(self.wait_for(lambda: self.held_polls() > before or "r" in out),
                        "the poll was not held")
        self.assertNotIn("r", out, "answered at once instead of holding")
        return t, out

    def wait_for(self, fn, timeout=20.0):
        from cluster import eventually
        try:
            eventually(fn, timeout)
            return True
        except AssertionError:
            return False

    def test_a_nacos_publish_wakes_a_consul_blocking_query(self):
        self.consul_put("k", "one")
        first = self.http("GET", "/v1/kv/%s/k" % NS)
        index = first.header("X-Consul-Index")
        t, out = self.hold(lambda: self.http(
            "GET", "/v1/kv/%s/k?index=%s&wait=60s" % (NS, index), timeout=70))
        self.nacos_publish("k", "two")
        t.join(65)
        r = out.get("r")
        self.assertIsNotNone(r, "the blocking query was not answered")
        self.assertEqual(r.status, 200, r.describe())
        self.assertGreater(int(r.header("X-Consul-Index")), int(index))
        entry = json.loads(r.body)[0]
        self.assertEqual(entry["Value"], "dHdv")  # base64 of "two"

    def test_a_consul_put_wakes_a_nacos_listener_and_an_apollo_notification(self):
        self.nacos_publish("k", "one")
        import hashlib
        md5 = hashlib.md5(b"one").hexdigest()
        listening = "k\x02%s\x02%s\x01" % (NS, md5)
        nacos_t, nacos_out = self.hold(lambda: self.http(
            "POST", "/nacos/v1/cs/configs/listener",
            headers=dict(FORM, **{"Long-Pulling-Timeout": "30000"}),
            body=urllib.parse.urlencode({"Listening-Configs": listening}), timeout=40))
        configs = self.http("GET", "/configs/%s/default/%s" % (APP, NS))
        notification_id = json.loads(configs.body)["releaseKey"]
        target = "/notifications/v2?" + urllib.parse.urlencode({
            "appId": APP, "cluster": "default",
            "notifications": json.dumps([{"namespaceName": NS,
                                          "notificationId": int(notification_id)}])})
        apollo_t, apollo_out = self.hold(lambda: self.http("GET", target, timeout=70))

        self.consul_put("k", "two")
        nacos_t.join(35)
        apollo_t.join(65)
        r = nacos_out.get("r")
        self.assertIsNotNone(r, "the Nacos listener was not answered")
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(urllib.parse.unquote(r.body.decode().strip()), "k\x02%s\x01" % NS)
        r = apollo_out.get("r")
        self.assertIsNotNone(r, "the Apollo notification was not answered")
        self.assertEqual(r.status, 200, r.describe())
        [note] = json.loads(r.body)
        self.assertEqual(note["namespaceName"], NS)
        self.assertGreater(note["notificationId"], int(notification_id))
        self.assertEqual(self.apollo_get("k"), "two")
        self.assertEqual(self.nacos_get("k"), "two")


if __name__ == "__main__":
    import unittest
    unittest.main()
