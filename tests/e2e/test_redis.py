"""The Redis tier (issue 6, docs/cache.md, seed §3.4) against a real `redis-server` the test
starts on a free port: the seed's keys and TTLs after a write, the version guard, the change
events on the channel, deletes, the SETNX fill of a cold version, and requests that keep
succeeding while Redis is killed, with health saying so, until it comes back.

Every wait is a bounded poll; nothing asserts on how long a step took."""

import json
import signal
import socket
import unittest

from cluster import eventually
from harness import REDIS_SERVER, CairnTestCase, free_port

GET = "/api/v1/config/get"
CONFIG = "/api/v1/admin/config"
REDIS = REDIS_SERVER


class Resp:
    """A minimal RESP2 client (the python redis package is not available)."""

    def __init__(self, port, timeout=5):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)

    def call(self, *args):
        self.send(*args)
        return self.read()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad RESP line %r" % line)


@unittest.skipIf(REDIS is None, "redis-server is not installed (scripts/deps.sh installs it)")
class RedisTier(CairnTestCase):
    START_SERVER = False

    def setUp(self):
        super().setUp()
        self.redis_port = free_port()
        self.redis = None
        self.start_redis()
        self.server = self.start_server(["--redis-url", "redis://127.0.0.1:%d/0" % self.redis_port,
                                         "--redis-timeout", "200ms"])
        self.events = Resp(self.redis_port)
        self.addCleanup(self.events.close)
        self.events.call("SUBSCRIBE", "config:events")
        self.events.sock.settimeout(10)

    def start_redis(self):
        self.redis = self.start_redis_server(self.redis_port)

    def stop_redis(self):
        if self.redis:
            self.redis.stop(signal.SIGKILL)

    def r(self, *args):
        c = Resp(self.redis_port)
        try:
            return c.call(*args)
        finally:
            c.close()

    def wait_key(self, key, check=lambda v: v is not None, timeout=10):
        v, last = eventually(lambda: (lambda x: check(x) and x)(self.r("GET", key)), timeout, 0.05)
        self.assertTrue(v, "%s never became right in Redis: %r" % (key, last))
        return v

    def next_event(self):
        msg = self.events.read()
        self.assertEqual(msg[0], "message", msg)
        self.assertEqual(msg[1], "config:events")
        return json.loads(msg[2])

    def redis_health(self):
        r = self.http("GET", "/api/v1/health")
        return r.json["data"]["components"].get("redis", {})

    def test_a_write_shows_up_as_the_seeds_keys_with_ttls_and_an_event(self):
        self.create_ns("svc")
        self.create_config("svc", "db", {"host": "a"})
        doc = json.loads(self.wait_key("config:svc:db"))
        self.assertEqual((doc["namespace"], doc["key"], doc["value"], doc["version"]),
                         ("svc", "db", {"host": "a"}, 1))
        ttl = self.r("TTL", "config:svc:db")
        self.assertTrue(3000 < ttl <= 3600, ttl)
        self.assertEqual(json.loads(self.r("HGET", "namespace:configs:svc", "db")), {"host": "a"})
        self.assertEqual(self.r("ZRANGE", "config:versions:svc:db", 0, -1), ["1"])
        vttl = self.r("TTL", "config:version:svc:db:1")
        self.assertTrue(80000 < vttl <= 86400, vttl)
        ev = self.next_event()
        self.assertEqual((ev["namespace"], ev["key"], ev["version"], ev["operation"]),
                         ("svc", "db", 1, "CREATE"))
        self.assertGreater(ev["revision"], 0)

        self.update_config("svc", "db", value={"host": "b"})
        self.wait_key("config:svc:db", lambda v: v and json.loads(v)["version"] == 2)
        self.assertEqual(self.r("ZRANGE", "config:versions:svc:db", 0, -1), ["1", "2"])
        self.assertEqual(self.next_event()["operation"], "UPDATE")

        self.call("DELETE", CONFIG, params={"namespace": "svc", "key": "db"})
        gone, last = eventually(lambda: self.r("GET", "config:svc:db") is None, 10, 0.05)
        self.assertTrue(gone, "the deleted config stayed in Redis")
        ev = self.next_event()
        self.assertEqual((ev["operation"], ev["version"]), ("DELETE", 2))
        self.assertIsNone(self.r("HGET", "namespace:configs:svc", "db"))

    def test_the_guard_never_replaces_a_newer_version(self):
        self.create_ns("svc")
        self.create_config("svc", "k", 1)
        self.wait_key("config:svc:k")
        newer = json.dumps({"namespace": "svc", "key": "k", "value": "newer", "version": 99})
        self.r("SET", "config:svc:k", newer)
        self.update_config("svc", "k", value=2)
        self.assertEqual(self.next_event()["operation"], "CREATE")
        self.assertEqual(self.next_event()["operation"], "UPDATE")  # written (or refused) by now
        self.assertEqual(json.loads(self.r("GET", "config:svc:k"))["version"], 99)

    def test_a_cold_version_is_filled_under_the_setnx_lock(self):
        self.create_ns("svc")
        self.create_config("svc", "k", {"v": 1})
        for i in range(2, 13):
            self.update_config("svc", "k", value={"v": i})
        self.wait_key("config:svc:k", lambda v: v and json.loads(v)["version"] == 12)
        # Version 1 is beyond the ring of 10: with its Redis key there, Redis answers.
        before = self.call("GET", "/api/v1/debug/vars").data["cache"]
        r = self.call("GET", GET, params={"namespace": "svc", "key": "k", "version": 1})
        self.assertEqual(r.data["value"], {"v": 1})
        after = self.call("GET", "/api/v1/debug/vars").data["cache"]
        self.assertEqual(after["redis"]["hits"], before["redis"]["hits"] + 1)
        # A recent version comes from the ring, without Redis or SQLite.
        self.call("GET", GET, params={"namespace": "svc", "key": "k", "version": 11})
        self.assertEqual(self.call("GET", "/api/v1/debug/vars").data["cache"]["version_ring"]["hits"],
                         after["version_ring"]["hits"] + 1)
        # Cold in Redis: read from SQLite, then filled by the node that takes the lock.
        self.r("DEL", "config:version:svc:k:1")
        r = self.call("GET", GET, params={"namespace": "svc", "key": "k", "version": 1})
        self.assertEqual(r.data["value"], {"v": 1})
        self.wait_key("config:version:svc:k:1")
        self.assertIsNotNone(self.r("GET", "lock:config:svc:k"), "the fill took no lock")
        self.assertGreater(self.r("PTTL", "lock:config:svc:k"), 0)

    def test_requests_go_on_while_redis_is_down_and_it_is_refilled_when_back(self):
        self.create_ns("svc")
        self.create_config("svc", "k", 1)
        self.wait_key("config:svc:k")
        # (The key can be visible a moment before the node has read Redis's answer.)
        ok, last = eventually(lambda: self.redis_health().get("status") == "healthy", 10, 0.05)
        self.assertTrue(ok, "redis never reported healthy: %s" % self.redis_health())
        self.stop_redis()
        # Reads and writes carry on; health says Redis is unhealthy (the node is not degraded).
        for i in range(2, 6):
            self.update_config("svc", "k", value=i)
            self.assertEqual(self.call("GET", GET, params={"namespace": "svc", "key": "k"}).data["value"], i)
        self.call("GET", GET, params={"namespace": "svc", "key": "k", "version": 1})
        ok, last = eventually(lambda: self.redis_health().get("status") == "unhealthy", 10, 0.1)
        self.assertTrue(ok, last)
        data = self.http("GET", "/api/v1/health").json["data"]
        self.assertFalse(data["degraded"], data)

        self.start_redis()  # empty: it lost everything
        ok, last = eventually(lambda: self.redis_health().get("status") == "healthy", 15, 0.1)
        self.assertTrue(ok, "never reconnected: %s" % self.redis_health())
        # Refilled with the current configs, and new writes go through again.
        self.wait_key("config:svc:k", lambda v: v and json.loads(v)["version"] == 5, timeout=15)
        self.update_config("svc", "k", value=6)
        self.wait_key("config:svc:k", lambda v: v and json.loads(v)["version"] == 6)


if __name__ == "__main__":
    unittest.main()
