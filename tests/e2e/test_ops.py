"""Operations: health, debug vars, reads served from memory, PID file, graceful stop."""

import os
import signal
import unittest

from harness import CairnTestCase


class Health(CairnTestCase):

    def test_health_shape(self):
        r = self.call("GET", "/api/v1/health", message="success")
        d = r.data
        self.assertEqual(d["status"], "healthy")
        self.assertIs(d["degraded"], False)
        db = d["components"]["database"]
        self.assertEqual(db["status"], "healthy")
        self.assertIsInstance(db["latency_ms"], (int, float))
        self.assertIsInstance(d["uptime_seconds"], int)
        # Uptime never goes back (a second read is at least the first).
        later = self.call("GET", "/api/v1/health").data["uptime_seconds"]
        self.assertGreaterEqual(later, d["uptime_seconds"])

    def test_debug_vars_shape(self):
        d = self.debug_vars()
        for name in ("revision", "applied_index", "store_read_queries", "index_reads"):
            self.assertIsInstance(d[name], int, d)
        r0 = d["revision"]
        self.create_ns("svc")
        d2 = self.debug_vars()
        self.assertEqual(d2["revision"], r0 + 1)
        self.assertGreater(d2["applied_index"], d["applied_index"])
        # The read counters count: a current read asks the index, a history read SQLite.
        self.create_config("svc", "k", 1)
        d3 = self.debug_vars()
        self.get_config("svc", "k")
        self.assertGreater(self.debug_vars()["index_reads"], d3["index_reads"])
        d4 = self.debug_vars()
        self.history("svc", "k")
        self.assertGreater(self.debug_vars()["store_read_queries"], d4["store_read_queries"])

    def test_pid_file(self):
        with open(os.path.join(self.server.data_dir, "cairn.pid")) as f:
            self.assertEqual(int(f.read().strip()), self.server.pid)


class ReadsFromMemory(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.create_ns("svc")
        for i in range(20):
            self.create_config("svc", "k%02d" % i, {"i": i})
        self.update_config("svc", "k00", value={"i": 100})
        self.update_config("svc", "k01", status=0)

    def test_current_reads_do_not_touch_sqlite(self):
        before = self.debug_vars()
        for _ in range(5):
            for i in range(20):
                self.http("GET", "/api/v1/config/get",
                          params={"namespace": "svc", "key": "k%02d" % i})
            self.http("GET", "/api/v1/config/get", params={"namespace": "svc", "key": "nope"})
            self.http("GET", "/api/v1/config/get", params={"namespace": "nope", "key": "k"})
            self.call("POST", "/api/v1/config/batch-get",
                      json_body={"namespace": "svc", "keys": ["k%02d" % i for i in range(25)]})
            self.ns_read("svc")
        after = self.debug_vars()
        self.assertEqual(after["store_read_queries"], before["store_read_queries"],
                         "config/get, batch-get or namespace reads queried SQLite")
        self.assertGreater(after["index_reads"], before["index_reads"])
        self.call("GET", "/api/v1/admin/config/history",
                  params={"namespace": "svc", "key": "k00"})
        self.assertGreater(self.debug_vars()["store_read_queries"],
                           after["store_read_queries"], "history must read SQLite")
        v = self.debug_vars()["store_read_queries"]
        self.call("GET", "/api/v1/config/versions", params={"namespace": "svc", "key": "k00"})
        self.assertGreater(self.debug_vars()["store_read_queries"], v,
                           "versions must read SQLite")

    def test_reads_after_restart_also_from_memory(self):
        self.restart(self.server)
        self.get_config("svc", "k05")
        before = self.debug_vars()["store_read_queries"]
        for i in range(20):
            self.http("GET", "/api/v1/config/get", params={"namespace": "svc",
                                                           "key": "k%02d" % i})
        self.ns_read("svc")
        self.assertEqual(self.debug_vars()["store_read_queries"], before)


class Lifecycle(CairnTestCase):

    def test_sigterm_exits_zero(self):
        self.create_ns("svc")
        self.create_config("svc", "k", 1)
        rc = self.server.stop(signal.SIGTERM, timeout=15)
        self.assertEqual(rc, 0, "SIGTERM must end the server with status 0 within 15 s\n"
                         + self.server.log_tail())

    def test_sigint_exits_zero(self):
        rc = self.server.stop(signal.SIGINT, timeout=15)
        self.assertEqual(rc, 0, self.server.log_tail())

    def test_clean_restart_keeps_everything(self):
        self.create_ns("svc", "desc")
        self.create_config("svc", "k", {"v": 1}, description="d")
        self.update_config("svc", "k", value={"v": 2}, headers={"X-Operator": "ann"})
        self.create_config("svc", "off", 0)
        self.update_config("svc", "off", status=0)
        before = self.state_snapshot()
        hist = self.history("svc", "k").data
        self.restart(self.server)
        self.assertEqual(self.state_snapshot(), before)
        self.assertEqual(self.history("svc", "k").data, hist)
        # numbering continues
        r = self.update_config("svc", "k", value={"v": 3})
        self.assertEqual(r.data["version"], 3)
        self.assertEqual(self.revision(), before["revision"] + 1)

    def test_second_server_on_same_data_dir_is_refused(self):
        self.create_ns("svc")
        from harness import Server
        other = Server(self.server.data_dir)
        self.addCleanup(other.stop, signal.SIGKILL)
        try:
            other.start(timeout=5)
            started = True
        except RuntimeError:
            started = False
        self.assertFalse(started, "a second server opened a data dir that is in use")
        self.assertTrue(self.server.alive())
        self.call("GET", "/api/v1/health")

    def test_help(self):
        import subprocess
        from harness import BINARY
        out = subprocess.run([BINARY, "server", "--help"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=20)
        text = out.stdout.decode("utf-8", "replace")
        self.assertEqual(out.returncode, 0, text)
        for flag in ("--data-dir", "--listen-http", "--max-body-bytes", "--max-value-bytes"):
            self.assertIn(flag, text)


if __name__ == "__main__":
    unittest.main()
