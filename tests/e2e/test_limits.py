"""Rate limits (docs/rate-limits.md, seed §3.5): 429/42901 and 429/42902 bodies and headers,
per-client quotas, VIP clients, uncounted endpoints, SIGHUP reload, a bad limits file.

Every server here gets a small limits file whose rates are tiny (one token per 1000 s), so that
a burst is exhausted deterministically and nothing refills while a test runs."""

import os
import signal
import time
import unittest

import harness
from harness import CairnTestCase

RELOAD_TIMEOUT = 10.0  # SIGHUP is asynchronous: how long a test waits to see it applied

LIMITS = """\
rate_limits:
  global:
    admin_qps: 0.001
    admin_burst: 50
  default:
    read_qps: 0.001
    read_burst: 3
    write_qps: 0.001
    write_burst: 4
  vip_clients:
    - client_id: "vip"
      read_qps: 0.001
      read_burst: 6
"""

GET = "/api/v1/config/get"
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


class LimitsTestCase(CairnTestCase):
    START_SERVER = False
    LIMITS_TEXT = LIMITS

    def setUp(self):
        super().setUp()
        self.limits_path = os.path.join(self.tmp, "limits.yaml")
        self.write_limits(self.LIMITS_TEXT)
        self.server = self.start_server(["--rate-limits", self.limits_path,
                                         "--access-log=false"])

    def write_limits(self, text):
        tmp = self.limits_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.limits_path)

    def as_client(self, client, method, path, expect=0, **kw):
        headers = {"X-Client-ID": client} if client else {}
        return self.call(method, path, headers=headers, expect=expect, **kw)

    def read(self, client, expect=0):
        return self.as_client(client, "GET", GET, params={"namespace": "svc", "key": "k"},
                              expect=expect)

    def seed_data(self):
        self.as_client("setup", "POST", "/api/v1/admin/namespace", json_body={"name": "svc"})
        self.as_client("setup", "POST", "/api/v1/admin/config",
                       json_body={"namespace": "svc", "key": "k", "value": {"a": 1}})

    def assert_rate_headers(self, r, limit, remaining):
        self.assertEqual(r.header("X-RateLimit-Limit"), limit, r.describe())
        self.assertEqual(r.header("X-RateLimit-Remaining"), str(remaining), r.describe())
        reset = int(r.header("X-RateLimit-Reset"))
        self.assertLess(abs(reset - time.time()), 10 * 24 * 3600, "reset is not Unix seconds")

    def assert_429(self, r, code, limit, retry_after, reset_after, burst):
        """The seed's §3.5.2 body and the headers of DESIGN.md §5: the body's `limit` is the
        bucket's rate, the X-RateLimit-Limit header its capacity (issue 15 item 15)."""
        self.assertEqual(r.status, 429, r.describe())
        self.assertEqual(r.code, code, r.describe())
        e = r.error
        for name in ("retry_after", "limit", "remaining", "reset"):
            self.assertIn(name, e, r.describe())
        self.assertEqual(e["retry_after"], retry_after, r.describe())
        self.assertEqual(e["limit"], limit, r.describe())
        self.assertEqual(e["remaining"], 0, r.describe())
        # reset: Unix seconds when the bucket is full again (clock of this machine).
        self.assertLess(abs(e["reset"] - (r.json["timestamp"] + reset_after)), 5, r.describe())
        self.assertEqual(r.header("Retry-After"), str(retry_after), r.describe())
        self.assertEqual(r.header("X-RateLimit-Limit"), str(burst), r.describe())
        self.assertEqual(r.header("X-RateLimit-Remaining"), "0", r.describe())
        self.assertEqual(r.header("X-RateLimit-Reset"), str(e["reset"]), r.describe())


class ClientQuota(LimitsTestCase):

    def test_client_over_its_quota_gets_42902_and_others_are_unaffected(self):
        self.seed_data()
        for remaining in (2, 1, 0):
            r = self.read("app-a")
            self.assertEqual(r.data["value"], {"a": 1})
            self.assert_rate_headers(r, "3", remaining)
            self.assertIsNone(r.header("Retry-After"))
        r = self.read("app-a", expect=42902)
        self.assert_429(r, 42902, 0.001, 1000, 3000, 3)
        self.assertIn("app-a", r.error["details"])
        # The whole read class is spent for app-a, batch reads included …
        self.as_client("app-a", "POST", "/api/v1/config/batch-get",
                       json_body={"namespace": "svc", "keys": ["k"]}, expect=42902)
        self.as_client("app-a", "GET", "/api/v1/config/namespace/svc", expect=42902)
        # … but not its writes, and not other clients.
        self.as_client("app-a", "PUT", "/api/v1/admin/config",
                       json_body={"namespace": "svc", "key": "k", "value": 2})
        r = self.read("app-b")
        self.assert_rate_headers(r, "3", 2)
        r = self.read(None)  # identified by its address, 127.0.0.1
        self.assert_rate_headers(r, "3", 2)

    def test_write_quota(self):
        self.as_client("setup", "POST", "/api/v1/admin/namespace", json_body={"name": "svc"})
        for i in range(4):
            self.as_client("w", "POST", "/api/v1/admin/config",
                           json_body={"namespace": "svc", "key": "k%d" % i, "value": i})
        rev = self.revision()  # debug vars: not counted
        r = self.as_client("w", "DELETE", "/api/v1/admin/config",
                           params={"namespace": "svc", "key": "k0"}, expect=42902)
        self.assert_429(r, 42902, 0.001, 1000, 4000, 4)
        self.assertEqual(self.revision(), rev, "a refused write changed the state")
        self.as_client("w2", "DELETE", "/api/v1/admin/config",
                       params={"namespace": "svc", "key": "k0"})
        self.assertEqual(self.revision(), rev + 1)

    def test_vip_client_has_its_own_quota(self):
        self.seed_data()
        for remaining in range(5, -1, -1):
            self.assert_rate_headers(self.read("vip"), "6", remaining)
        self.read("vip", expect=42902)
        self.read("someone", expect=0)

    def test_health_watch_and_ops_endpoints_are_not_counted(self):
        self.seed_data()
        for _ in range(3):
            self.read(None)
        self.read(None, expect=42902)
        for _ in range(10):
            r = self.call("GET", "/api/v1/health")
            for h in RATE_HEADERS:
                self.assertIsNone(r.header(h), r.describe())
            self.call("GET", "/api/v1/debug/vars")
            r = self.call("GET", "/api/v1/config/watch",
                          params={"namespace": "svc", "revision": 0, "timeout": "0s"})
            self.assertIsNone(r.header("X-RateLimit-Limit"), r.describe())
        # A held watch is not counted either: it answers when a change comes.
        rev = self.revision()
        r = self.call("GET", "/api/v1/config/watch",
                      params={"namespace": "svc", "revision": rev, "timeout": "200ms"})
        self.assertIs(r.data["changed"], False)
        self.read(None, expect=42902)

    def test_limits_can_be_switched_off(self):
        self.server.stop()
        srv = self.start_server(["--rate-limits", self.limits_path, "--rate-limit-enabled",
                                 "false"])
        self.server = srv
        self.seed_data()
        for _ in range(10):
            r = self.read("app-a")
            self.assertIsNone(r.header("X-RateLimit-Limit"), r.describe())


class GlobalLimit(LimitsTestCase):
    LIMITS_TEXT = LIMITS.replace("admin_burst: 50", "admin_burst: 4")

    def test_global_class_limit_gets_42901_for_every_client(self):
        for i in range(4):
            self.as_client("admin-%d" % i, "POST", "/api/v1/admin/namespace",
                           json_body={"name": "ns%d" % i})
        rev = self.revision()  # debug vars: not counted
        r = self.as_client("fresh", "POST", "/api/v1/admin/namespace",
                           json_body={"name": "x"}, expect=42901)
        self.assertEqual(self.revision(), rev, "a refused write changed the state")
        self.assert_429(r, 42901, 0.001, 1000, 4000, 4)
        self.as_client("another", "DELETE", "/api/v1/admin/namespace/ns0", expect=42901)
        # Reads (admin lists included) and writes have their own global buckets.
        self.read("fresh", expect=40402)
        self.assertEqual(len(self.ns_list()["list"]), 4)
        self.as_client("fresh", "POST", "/api/v1/admin/config",
                       json_body={"namespace": "ns1", "key": "k", "value": 1})


class Reload(LimitsTestCase):

    def wait_for_log(self, needle):
        deadline = time.monotonic() + RELOAD_TIMEOUT
        while time.monotonic() < deadline:
            if needle in self.server.log_tail(1 << 20):
                return
            time.sleep(0.05)
        self.fail("%r not in the server log:\n%s" % (needle, self.server.log_tail()))

    def test_sighup_reloads_the_limits_file(self):
        self.seed_data()
        for _ in range(3):
            self.read("app-a")
        self.read("app-a", expect=42902)

        self.write_limits(LIMITS.replace("read_burst: 3", "read_burst: 10"))
        os.kill(self.server.pid, signal.SIGHUP)
        # Rejected attempts take no token, so polling until the reload shows costs nothing.
        deadline = time.monotonic() + RELOAD_TIMEOUT
        while True:
            r = self.as_client("app-a", "GET", GET, params={"namespace": "svc", "key": "k"},
                               expect=None)
            if r.code == 0:
                break
            self.assertEqual(r.code, 42902, r.describe())
            self.assertLess(time.monotonic(), deadline, "the reload did not take effect")
            time.sleep(0.05)
        self.assert_rate_headers(r, "10", 9)  # every bucket starts afresh, with the new burst
        self.assertTrue(self.server.alive())

        # A broken file is refused and the limits in force stay.
        self.write_limits("rate_limits:\n  default:\n    read_qps: lots\n")
        os.kill(self.server.pid, signal.SIGHUP)
        self.wait_for_log("reload failed")
        self.assertIn("read_qps", self.server.log_tail())
        self.assert_rate_headers(self.read("app-a"), "10", 8)
        self.assertTrue(self.server.alive())

        # SIGTERM still stops the server after reloads.
        self.assertEqual(self.server.stop(), 0)


class DefaultLimits(CairnTestCase):
    """Without a limits file the seed's numbers apply (docs/rate-limits.md, "Defaults")."""

    def test_seed_defaults_without_a_file(self):
        self.create_ns("svc")
        r = self.http("GET", GET, params={"namespace": "svc", "key": "k"})
        self.assertEqual(r.code, 40403, r.describe())  # counted even when nothing is found
        # Limit is the bucket's capacity (burst), so Remaining never exceeds it (issue 15).
        self.assertEqual(r.header("X-RateLimit-Limit"), "2000")
        self.assertEqual(r.header("X-RateLimit-Remaining"), "1999")
        r = self.http("GET", GET, params={"namespace": "svc", "key": "k"},
                      headers={"X-Client-ID": "core-service"})
        self.assertEqual(r.header("X-RateLimit-Limit"), "10000")
        self.assertEqual(r.header("X-RateLimit-Remaining"), "9999")
        r = self.call("POST", "/api/v1/admin/config",
                      json_body={"namespace": "svc", "key": "k", "value": 1})
        self.assertEqual(r.header("X-RateLimit-Limit"), "200")
        self.assertEqual(r.header("X-RateLimit-Remaining"), "199")
        # No per-client admin quota: the node's admin bucket (100/s, burst 200) is reported; one
        # token went to create_ns above.
        r = self.call("POST", "/api/v1/admin/namespace", json_body={"name": "other"})
        self.assertEqual(r.header("X-RateLimit-Limit"), "200")
        self.assertIn(r.header("X-RateLimit-Remaining"), ("198", "199"))


class BadFile(CairnTestCase):
    START_SERVER = False

    def test_invalid_limits_file_refuses_to_start(self):
        path = os.path.join(self.tmp, "limits.yaml")
        with open(path, "w") as f:
            f.write("rate_limits:\n  defaults:\n    read_qps: 1\n")
        srv = harness.Server(self.new_data_dir(), ["--rate-limits", path])
        self.servers.append(srv)
        self.addCleanup(srv.stop)
        with self.assertRaises(RuntimeError) as ctx:
            srv.start()
        self.assertIn("unknown key 'defaults'", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
