"""Watch (docs/watch.md): long polls and SSE streams against a real `cairn server`.

Nothing here asserts on how long something took: holds are observed through the node's
`/api/v1/debug/vars` probes (watch_held_polls, watch_open_streams) and through answers that
arrive, every wait bounded.
"""

import json
import os
import resource
import selectors
import socket
import threading
import time
import unittest

from harness import CairnTestCase, qs

WATCH = "/api/v1/config/watch"
STREAM = "/api/v1/config/watch/stream"


def eventually(pred, timeout=20.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


class SseReader:
    """A raw SSE connection: de-chunks the body and splits it into events."""

    def __init__(self, port, params, headers=None, timeout=15.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        extra = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
        self.sock.sendall(("GET %s?%s HTTP/1.1\r\nHost: t\r\n%s\r\n"
                           % (STREAM, qs(params), extra)).encode())
        self.raw = b""
        self.body = b""
        self.status = None
        self.headers = {}
        self.closed = False
        self._chunk_pos = None

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, OSError):
            data = b""
        if not data:
            self.closed = True
            return False
        self.raw += data
        self._parse()
        return True

    def _parse(self):
        if self.status is None:
            head, sep, rest = self.raw.partition(b"\r\n\r\n")
            if not sep:
                return
            lines = head.decode("latin-1").split("\r\n")
            self.status = int(lines[0].split()[1])
            for line in lines[1:]:
                k, _, v = line.partition(":")
                self.headers[k.strip().lower()] = v.strip()
            self.raw = rest
            if self.headers.get("transfer-encoding") != "chunked":
                self._chunk_pos = -1
        if self._chunk_pos == -1:  # not chunked (an error envelope): Content-Length body
            self.body += self.raw
            self.raw = b""
            return
        while True:
            line, sep, rest = self.raw.partition(b"\r\n")
            if not sep:
                return
            size = int(line, 16)
            if len(rest) < size + 2:
                return
            self.body += rest[:size]
            self.raw = rest[size + 2:]
            if size == 0:
                self.closed = True
                return

    def events(self):
        """Complete events so far: list of dicts with 'event', 'id', 'data', or 'comment'."""
        out = []
        for block in self.body.decode("utf-8").split("\n\n")[:-1]:
            ev = {}
            for line in block.split("\n"):
                if line.startswith(":"):
                    ev["comment"] = line[1:].strip()
                elif ":" in line:
                    k, _, v = line.partition(":")
                    ev[k] = v[1:] if v.startswith(" ") else v
            if "data" in ev:
                ev["data"] = json.loads(ev["data"])
            out.append(ev)
        return out

    def wait_for(self, pred, timeout=15.0):
        deadline = time.monotonic() + timeout
        while not pred(self):
            if self.closed or time.monotonic() > deadline:
                return pred(self)
            self._fill()
        return True

    def changes(self):
        return [e["data"] for e in self.events() if e.get("event") == "change"]

    def close(self):
        self.sock.close()


class WatchCase(CairnTestCase):
    SERVER_ARGS = ("--watch-heartbeat", "200ms", "--access-log=false")

    def setUp(self):
        super().setUp()
        self.ns = self.create_ns("svc")
        self.create_config("svc", "a", 1)
        self.create_config("svc", "b", {"x": 1})

    def watch(self, expect=0, **params):
        p = {"namespace": "svc"}
        p.update(params)
        return self.call("GET", WATCH, params=p, expect=expect).data if expect == 0 else \
            self.call("GET", WATCH, params=p, expect=expect)

    def held(self):
        return self.debug_vars()["watch_held_polls"]

    def watch_in_thread(self, **params):
        box = {}

        def run():
            box["data"] = self.watch(**params)
        t = threading.Thread(target=run)
        t.start()
        self.addCleanup(t.join, 20)
        return t, box


class LongPoll(WatchCase):

    def test_immediate_answer_for_an_older_revision(self):
        rev = self.revision()
        d = self.watch(revision=rev - 2, include_values="true")
        self.assertEqual(d["namespace"], "svc")
        self.assertIs(d["changed"], True)
        self.assertIs(d["reset"], False)
        self.assertEqual(d["revision"], rev)
        self.assertEqual(d["changes"], [
            {"key": "a", "operation": "CREATE", "version": 1, "revision": rev - 1, "value": 1},
            {"key": "b", "operation": "CREATE", "version": 1, "revision": rev,
             "value": {"x": 1}}])
        # without include_values: no value
        d = self.watch(revision=rev - 1)
        self.assertEqual(d["changes"], [{"key": "b", "operation": "CREATE", "version": 1,
                                         "revision": rev}])

    def test_hold_then_notify(self):
        rev = self.revision()
        t, box = self.watch_in_thread(revision=rev, timeout="20s", include_values="true")
        self.assertTrue(eventually(lambda: self.held() == 1))
        self.assertNotIn("data", box)
        self.update_config("svc", "a", value={"new": True})
        t.join(20)
        d = box["data"]
        self.assertIs(d["changed"], True)
        self.assertEqual(d["revision"], rev + 1)
        self.assertEqual(d["changes"], [{"key": "a", "operation": "UPDATE", "version": 2,
                                         "revision": rev + 1, "value": {"new": True}}])
        self.assertEqual(self.held(), 0)

    def test_timeout_answers_unchanged_with_the_current_revision(self):
        rev = self.revision()
        d = self.watch(revision=rev, timeout="300ms")
        self.assertEqual(d, {"namespace": "svc", "changed": False, "reset": False,
                             "revision": rev, "changes": []})
        d = self.watch(revision=rev, timeout="0s")  # a plain poll
        self.assertIs(d["changed"], False)

    def test_several_changes_to_one_key_report_the_latest(self):
        rev = self.revision()
        self.update_config("svc", "a", value=2)
        self.update_config("svc", "a", value=3)
        self.call("DELETE", "/api/v1/admin/config", json_body={"namespace": "svc", "key": "b"})
        d = self.watch(revision=rev, include_values="true")
        self.assertEqual(d["changes"], [
            {"key": "a", "operation": "UPDATE", "version": 3, "revision": rev + 2, "value": 3},
            {"key": "b", "operation": "DELETE", "version": 1, "revision": rev + 3}])
        self.assertEqual(d["revision"], rev + 3)

    def test_keys_filter(self):
        rev = self.revision()
        t, box = self.watch_in_thread(revision=rev, keys="b,zz", timeout="20s")
        self.assertTrue(eventually(lambda: self.held() == 1))
        self.update_config("svc", "a", value=5)  # not watched
        self.create_config("svc", "c", 1)         # not watched
        self.assertTrue(eventually(lambda: self.revision() == rev + 2))
        self.assertEqual(self.held(), 1)
        self.create_config("svc", "zz", "z")
        t.join(20)
        self.assertEqual([c["key"] for c in box["data"]["changes"]], ["zz"])
        # immediate answers filter the same way
        d = self.watch(revision=rev, keys="a")
        self.assertEqual([c["key"] for c in d["changes"]], ["a"])

    def test_prefix_filter(self):
        rev = self.revision()
        self.create_config("svc", "db.host", "h")
        self.create_config("svc", "cache.ttl", 5)
        self.create_config("svc", "db.port", 5432)
        d = self.watch(revision=rev, prefix="db.")
        self.assertEqual([c["key"] for c in d["changes"]], ["db.host", "db.port"])
        d = self.watch(revision=rev + 3, prefix="db.", timeout="200ms")
        self.assertIs(d["changed"], False)

    def test_other_namespaces_do_not_wake_a_watch(self):
        self.create_ns("other")
        rev = self.revision()
        t, box = self.watch_in_thread(revision=rev, timeout="20s")
        self.assertTrue(eventually(lambda: self.held() == 1))
        self.create_config("other", "a", 1)
        self.assertTrue(eventually(lambda: self.revision() == rev + 1))
        self.assertEqual(self.held(), 1)
        self.create_config("svc", "new", 1)
        t.join(20)
        self.assertEqual([c["key"] for c in box["data"]["changes"]], ["new"])

    def test_disable_and_delete_of_the_namespace_reset_watchers(self):
        rev = self.revision()
        t, box = self.watch_in_thread(revision=rev, timeout="20s")
        self.assertTrue(eventually(lambda: self.held() == 1))
        self.call("PUT", "/api/v1/admin/namespace/%d" % self.ns["id"],
                  json_body={"status": 0})
        t.join(20)
        self.assertIs(box["data"]["reset"], True)
        # a disabled namespace cannot be watched
        self.watch(revision=rev, expect=40402)

    def test_hang_up_during_a_hold_is_cleaned_up_at_once(self):
        rev = self.revision()
        socks = []
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
            s.sendall(("GET %s?%s HTTP/1.1\r\nHost: t\r\n\r\n" % (
                WATCH, qs({"namespace": "svc", "revision": rev, "timeout": "60s"}))).encode())
            socks.append(s)
        self.assertTrue(eventually(lambda: self.held() == 50))
        for s in socks[:30]:
            s.close()
        self.assertTrue(eventually(lambda: self.held() == 20))
        for s in socks[30:]:
            s.close()
        self.assertTrue(eventually(lambda: self.held() == 0))


class Errors(WatchCase):

    def test_bad_parameters(self):
        rev = self.revision()
        with self.unchanged():
            self.call("GET", WATCH, params={"revision": rev}, expect=40001, field="namespace")
            self.call("GET", WATCH, params={"namespace": "svc"}, expect=40001, field="revision")
            self.call("GET", WATCH, params={"namespace": "svc", "revision": "abc"},
                      expect=40001, field="revision")
            self.call("GET", WATCH, params={"namespace": "svc", "revision": -1},
                      expect=40002, field="revision")
            self.call("GET", WATCH, params={"namespace": "bad name", "revision": 1},
                      expect=40002, field="namespace")
            self.call("GET", WATCH, params={"namespace": "nope", "revision": 1}, expect=40402)
            self.call("GET", WATCH, params={"namespace": "svc", "revision": 1, "keys": "a",
                                            "prefix": "a"}, expect=40002, field="prefix")
            self.call("GET", WATCH, params={"namespace": "svc", "revision": 1, "keys": "a,,b"},
                      expect=40002, field="keys")
            self.call("GET", WATCH, params={"namespace": "svc", "revision": 1,
                                            "timeout": "soon"}, expect=40001, field="timeout")
            self.call("GET", WATCH, params={"namespace": "svc", "revision": 1,
                                            "include_values": "maybe"},
                      expect=40001, field="include_values")
            self.call("POST", WATCH, params={"namespace": "svc", "revision": 1}, expect=40501)
            self.call("GET", STREAM, params={"namespace": "nope"}, expect=40402)
            self.call("GET", STREAM, params={"namespace": "svc"},
                      headers={"Last-Event-ID": "x1"}, expect=40001)

    def test_timeout_is_capped(self):
        srv = self.start_server(["--watch-max-timeout", "1s"])
        self.create_ns("capped", server=srv)
        rev = self.revision(server=srv)
        # asks for an hour; the node answers after its cap, well within the client's timeout
        r = self.http("GET", WATCH, params={"namespace": "capped", "revision": rev,
                                            "timeout": "1h"}, server=srv, timeout=10)
        self.check_envelope(r)
        self.assertIs(r.data["changed"], False)


class Reset(CairnTestCase):
    SERVER_ARGS = ("--watch-history", "16", "--access-log=false")

    def test_revision_older_than_the_history(self):
        self.create_ns("busy")
        self.create_ns("quiet")
        self.create_config("quiet", "q", 1)
        quiet_rev = self.revision()
        start = self.revision()
        for i in range(40):
            self.create_config("busy", "k%d" % i, i)
        self.assertGreater(self.debug_vars()["watch_horizon"], start)
        d = self.call("GET", WATCH, params={"namespace": "busy", "revision": start}).data
        self.assertIs(d["reset"], True)
        self.assertIs(d["changed"], False)
        self.assertEqual(d["revision"], self.revision())
        # a namespace that did not change since is not reset, however old the revision
        d = self.call("GET", WATCH, params={"namespace": "quiet", "revision": quiet_rev,
                                            "timeout": "100ms"}).data
        self.assertEqual((d["reset"], d["changed"]), (False, False))
        # recent revisions are still answered normally
        rev = self.revision()
        d = self.call("GET", WATCH, params={"namespace": "busy", "revision": rev - 1}).data
        self.assertEqual([c["key"] for c in d["changes"]], ["k39"])

    def test_after_a_restart_the_history_starts_again(self):
        self.create_ns("svc")
        self.create_config("svc", "a", 1)
        rev = self.revision()
        self.update_config("svc", "a", value=2)
        self.restart(self.server)
        d = self.call("GET", WATCH, params={"namespace": "svc", "revision": rev}).data
        self.assertIs(d["reset"], True)
        d = self.call("GET", WATCH, params={"namespace": "svc", "revision": rev + 1,
                                            "timeout": "100ms"}).data
        self.assertEqual((d["reset"], d["changed"]), (False, False))


class Stream(WatchCase):

    def test_backlog_then_live_changes_then_heartbeats(self):
        rev = self.revision()
        sse = SseReader(self.server.port, {"namespace": "svc", "revision": rev - 1,
                                           "include_values": "true"})
        self.addCleanup(sse.close)
        self.assertTrue(sse.wait_for(lambda s: len(s.changes()) == 1))
        self.assertEqual(sse.status, 200)
        self.assertTrue(sse.headers["content-type"].startswith("text/event-stream"))
        self.assertEqual(sse.headers["cache-control"], "no-cache")
        self.assertEqual(sse.changes()[0], {"namespace": "svc", "key": "b",
                                            "operation": "CREATE", "version": 1,
                                            "revision": rev, "value": {"x": 1}})
        self.assertTrue(eventually(lambda: self.debug_vars()["watch_open_streams"] == 1))
        self.update_config("svc", "a", value=7)
        self.call("DELETE", "/api/v1/admin/config", json_body={"namespace": "svc", "key": "b"})
        self.assertTrue(sse.wait_for(lambda s: len(s.changes()) == 3))
        self.assertEqual(sse.changes()[1:], [
            {"namespace": "svc", "key": "a", "operation": "UPDATE", "version": 2,
             "revision": rev + 1, "value": 7},
            {"namespace": "svc", "key": "b", "operation": "DELETE", "version": 1,
             "revision": rev + 2}])
        ids = [e.get("id") for e in sse.events() if e.get("event") == "change"]
        self.assertEqual(ids, [str(rev), str(rev + 1), str(rev + 2)])
        # heartbeats every 200 ms (the server's --watch-heartbeat)
        self.assertTrue(sse.wait_for(
            lambda s: any(e.get("comment") == "heartbeat" for e in s.events())))

    def test_last_event_id_resumes(self):
        rev = self.revision()
        sse = SseReader(self.server.port, {"namespace": "svc"},
                        headers={"Last-Event-ID": str(rev - 1)})
        self.addCleanup(sse.close)
        self.assertTrue(sse.wait_for(lambda s: len(s.changes()) == 1))
        self.assertEqual(sse.changes()[0]["key"], "b")
        self.assertNotIn("value", sse.changes()[0])

    def test_filters_apply_to_streams(self):
        rev = self.revision()
        sse = SseReader(self.server.port, {"namespace": "svc", "revision": rev,
                                           "prefix": "db."})
        self.addCleanup(sse.close)
        self.assertTrue(eventually(lambda: self.debug_vars()["watch_open_streams"] == 1))
        self.create_config("svc", "x", 1)
        self.create_config("svc", "db.url", "u")
        self.assertTrue(sse.wait_for(lambda s: len(s.changes()) == 1))
        self.assertEqual(sse.changes()[0]["key"], "db.url")

    def test_namespace_deleted_sends_reset_and_ends_the_stream(self):
        self.call("DELETE", "/api/v1/admin/config", json_body={"namespace": "svc", "key": "a"})
        self.call("DELETE", "/api/v1/admin/config", json_body={"namespace": "svc", "key": "b"})
        sse = SseReader(self.server.port, {"namespace": "svc", "revision": self.revision()})
        self.addCleanup(sse.close)
        self.assertTrue(eventually(lambda: self.debug_vars()["watch_open_streams"] == 1))
        self.call("DELETE", "/api/v1/admin/namespace/%d" % self.ns["id"])
        self.assertTrue(sse.wait_for(lambda s: s.closed))
        resets = [e for e in sse.events() if e.get("event") == "reset"]
        self.assertEqual(len(resets), 1)
        self.assertEqual(resets[0]["data"]["namespace"], "svc")
        self.assertTrue(eventually(lambda: self.debug_vars()["watch_open_streams"] == 0))

    def test_client_hang_up_closes_the_stream(self):
        sse = SseReader(self.server.port, {"namespace": "svc", "revision": self.revision()})
        self.assertTrue(eventually(lambda: self.debug_vars()["watch_open_streams"] == 1))
        sse.close()
        self.assertTrue(eventually(lambda: self.debug_vars()["watch_open_streams"] == 0))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class TenThousandWatches(CairnTestCase):
    """One node holds 10,000 concurrent long polls, answers all of them after one write, and
    reports the memory each held watch costs (docs/watch.md quotes this test's output)."""

    SERVER_ARGS = ("--access-log=false", "--http-threads", "2")
    N = 10_000

    def test_ten_thousand_concurrent_watches(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        need = self.N + 256
        if soft < need:
            if hard != resource.RLIM_INFINITY and hard < need:
                self.skipTest("RLIMIT_NOFILE hard limit %d < %d" % (hard, need))
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        self.create_ns("svc")
        self.create_config("svc", "a", 1)
        rev = self.revision()
        rss_before = rss_kib(self.server.pid)

        request = ("GET %s?%s HTTP/1.1\r\nHost: t\r\n\r\n" % (
            WATCH, qs({"namespace": "svc", "revision": rev, "timeout": "60s"}))).encode()
        sel = selectors.DefaultSelector()
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        for i in range(self.N):
            s = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
            s.sendall(request)
            s.setblocking(False)
            socks.append(s)
        self.assertTrue(eventually(lambda: self.debug_vars()["watch_held_polls"] == self.N,
                                   timeout=60, interval=0.2),
                        "held: %s" % self.debug_vars()["watch_held_polls"])
        rss_held = rss_kib(self.server.pid)
        per_watch = (rss_held - rss_before) * 1024 / self.N
        print("\n[watch] %d held watches: RSS %d KiB -> %d KiB, %.0f bytes per held watch"
              % (self.N, rss_before, rss_held, per_watch))

        self.update_config("svc", "a", value=2)
        bufs = {}
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
            bufs[s] = b""
        done = 0
        deadline = time.monotonic() + 60
        while done < self.N and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                s = key.fileobj
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    continue
                bufs[s] += chunk
                head, sep, body = bufs[s].partition(b"\r\n\r\n")
                if sep and b"content-length" in head.lower():
                    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                    if len(body) >= length:
                        d = json.loads(body[:length])["data"]
                        self.assertIs(d["changed"], True)
                        self.assertEqual(d["changes"][0]["key"], "a")
                        sel.unregister(s)
                        done += 1
                elif not chunk:
                    sel.unregister(s)
                    self.fail("a watcher's connection closed without an answer")
        sel.close()
        self.assertEqual(done, self.N, "answered %d of %d watches" % (done, self.N))
        self.assertEqual(self.debug_vars()["watch_held_polls"], 0)


if __name__ == "__main__":
    unittest.main()
