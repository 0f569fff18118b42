"""Durability: every acknowledged write survives kill -9 (SIGKILL by PID) and a restart on the
same data dir, also when the kill lands in the middle of a concurrent write load."""

import http.client
import json
import random
import signal
import threading
import unittest

from harness import CairnTestCase, raw_request


class KillNine(CairnTestCase):

    def test_acknowledged_writes_survive_kill9(self):
        self.create_ns("svc")
        self.create_ns("other")
        expected = {}  # key -> (value, version)
        for i in range(120):
            key = "k%03d" % i
            value = {"i": i, "s": "v" * (i % 17), "arr": list(range(i % 5))}
            d = self.create_config("svc", key, value)
            expected[key] = (value, d["version"], [value])
        for i in range(0, 120, 3):
            key = "k%03d" % i
            for n in range(2):
                value = {"i": i, "update": n}
                r = self.update_config("svc", key, value=value)
                old = expected[key]
                expected[key] = (value, r.data["version"], old[2] + [value])
        self.call("POST", "/api/v1/admin/config/batch", json_body={
            "namespace": "other", "operations": [{"op": "create", "key": "b%d" % j, "value": j}
                                                 for j in range(50)]})
        self.call("DELETE", "/api/v1/admin/config", params={"namespace": "svc", "key": "k001"})
        deleted_value = expected.pop("k001")
        self.update_config("svc", "k002", status=0)
        self.call("PUT", "/api/v1/admin/namespace/other", json_body={"description": "after"})
        before = self.state_snapshot()
        ns_version = self.ns_read("svc").data["version"]

        for cycle in range(2):
            with self.subTest(cycle=cycle):
                rc = self.server.kill9()
                self.assertEqual(rc, -signal.SIGKILL)
                self.server.start()
                self.assertEqual(self.state_snapshot(), before)
                self.assertEqual(self.ns_read("svc").data["version"], ns_version)
                for key, (value, version, all_values) in expected.items():
                    if key == "k002":
                        self.get_config("svc", key, expect=40403)
                        continue
                    g = self.get_config("svc", key)
                    self.assertEqual((g.data["value"], g.data["version"]), (value, version), key)
                    for v, val in enumerate(all_values, start=1):
                        self.assertEqual(self.get_config("svc", key, version=v)
                                         .data["value"], val)
                self.get_config("svc", "k001", expect=40403)
                self.assertEqual(self.versions("svc", "k001").data["list"][0]["value"],
                                 deleted_value[0])
                d = self.ns_read("other").data
                self.assertEqual(d["configs"], {"b%d" % j: j for j in range(50)})
        # numbering continues after the crash
        r = self.update_config("svc", "k000", value="post-crash")
        self.assertEqual(r.data["version"], expected["k000"][1] + 1)
        self.assertEqual(self.revision(), before["revision"] + 1)
        d = self.create_config("svc", "k001", "again")
        self.assertEqual(d["version"], deleted_value[1] + 1)

    def test_kill9_during_concurrent_writes(self):
        self.create_ns("load")
        port = self.server.port
        acked = []            # (key, version, value) for every 200
        acked_lock = threading.Lock()
        stop = threading.Event()
        enough = threading.Event()
        threads = 8
        per_thread_keys = 6

        def worker(tid):
            rnd = random.Random(tid)
            versions = {}
            n = 0
            while not stop.is_set():
                key = "t%d-k%d" % (tid, rnd.randrange(per_thread_keys))
                value = {"t": tid, "n": n, "pad": "p" * rnd.randrange(64)}
                n += 1
                try:
                    if key not in versions:
                        r = raw_request(port, "POST", "/api/v1/admin/config", timeout=10,
                                        body=json.dumps({"namespace": "load", "key": key,
                                                         "value": value}))
                    else:
                        r = raw_request(port, "PUT", "/api/v1/admin/config", timeout=10,
                                        body=json.dumps({"namespace": "load", "key": key,
                                                         "value": value}))
                except (OSError, http.client.HTTPException):
                    if stop.is_set():
                        return
                    continue
                if r.status == 200 and r.json and r.json.get("code") == 0:
                    versions[key] = r.json["data"]["version"]
                    with acked_lock:
                        acked.append((key, r.json["data"]["version"], value))
                        if len(acked) >= 400:
                            enough.set()
                elif r.json and r.json.get("code") == 40902:
                    versions[key] = 0  # created by an earlier attempt whose answer was lost

        pool = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(threads)]
        for t in pool:
            t.start()
        try:
            reached = enough.wait(timeout=120)
            self.assertTrue(reached, "the load did not reach 400 acknowledged writes")
            self.server.kill9()   # while the writers are still going
        finally:
            stop.set()
            for t in pool:
                t.join(timeout=30)
        self.assertFalse(any(t.is_alive() for t in pool), "a writer thread hung")
        with acked_lock:
            acked_now = list(acked)
        self.assertGreaterEqual(len(acked_now), 400)

        self.server.start()
        latest = {}
        for key, version, value in acked_now:
            if version > latest.get(key, (0, None))[0]:
                latest[key] = (version, value)
        for key, (version, value) in latest.items():
            g = self.get_config("load", key)
            self.assertGreaterEqual(g.data["version"], version,
                                    "acknowledged version of %s lost" % key)
            if g.data["version"] == version:
                self.assertEqual(g.data["value"], value)
        for key, version, value in acked_now:
            g = self.get_config("load", key, version=version)
            self.assertEqual(g.data["value"], value, "%s v%d" % (key, version))
        # the server goes on serving writes after recovery
        for key in list(latest)[:5]:
            self.update_config("load", key, value="after")


if __name__ == "__main__":
    unittest.main()
