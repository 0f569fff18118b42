"""Issue 15 (seed conformance audit), the "values" items: all-digit namespace names (item 6), a
UTF-8 X-Operator (item 9), values that read back with the number text they were written with
(item 10) and integers beyond 64 bits answered as out of range (item 11).

Number fidelity is checked on the raw response text: `raw_loads` keeps every number as the text
it was sent in (Python's json would turn `1E2` into 100.0 and hide a re-formatting)."""

import json
import shutil
import unittest

from cluster import eventually
from harness import CairnTestCase

NS = "/api/v1/admin/namespace"
CONFIG = "/api/v1/admin/config"
BATCH = "/api/v1/admin/config/batch"
GET = "/api/v1/config/get"
HIST = "/api/v1/admin/config/history"
VERSIONS = "/api/v1/config/versions"
HUGE = "99999999999999999999"  # beyond int64 (and uint64)


class Num:
    """A JSON number as its text."""

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, Num) and other.text == self.text

    __hash__ = None

    def __repr__(self):
        return "Num(%s)" % self.text


def raw_loads(text):
    return json.loads(text, parse_int=Num, parse_float=Num)


def raw_data(r):
    return raw_loads(r.text)["data"]


# The issue's example, then the other shapes a re-serialisation would change: 1.0, -0, 0.1, an
# integer beyond 64 bits inside an object, 2.50, an exponent that underflows a double, escapes.
V1 = "[18446744073709551616, -9223372036854775809, 1E2]"
V1_COMPACT = "[18446744073709551616,-9223372036854775809,1E2]"
V2 = ('{ "a" : 1.0, "b": -0, "c": 0.1, "d": {"big": 123456789012345678901234567890,'
      ' "half": 2.50, "tiny": 1e-400}, "s": "x y\\u00e9\\/" }')
V2_COMPACT = ('{"a":1.0,"b":-0,"c":0.1,"d":{"big":123456789012345678901234567890,'
              '"half":2.50,"tiny":1e-400},"s":"x y\\u00e9\\/"}')


def config_body(ns, key, value_text, extra=""):
    return '{"namespace": "%s", "key": "%s", "value": %s%s}' % (ns, key, value_text, extra)


class NumberFidelity(CairnTestCase):
    """Item 10: every read path returns the stored text of a value."""

    def setUp(self):
        super().setUp()
        self.create_ns("svc")

    def assert_value_text(self, r, compact):
        self.assertIn('"value":' + compact, r.text, r.describe())

    def test_numbers_read_back_as_written_on_every_read_path(self):
        rev0 = self.revision()
        self.call("POST", CONFIG, body=config_body("svc", "k", V1))
        r = self.call("GET", GET, params={"namespace": "svc", "key": "k"})
        self.assertEqual(raw_data(r)["value"], raw_loads(V1))
        self.assert_value_text(r, V1_COMPACT)
        self.call("PUT", CONFIG, body=config_body("svc", "k", V2))
        # A batch: a create and an update, each with its own value text.
        self.call("POST", BATCH, body='{"namespace":"svc","operations":[ '
                                      '{"op":"create","key":"m","value": 1E2 },'
                                      '{"op":"create","key":"z","value": -0},'
                                      '{"op":"update","key":"z","value": [ 1.0 ]} ]}')

        # Current value, an older version (from the version ring), batch-get, the namespace.
        r = self.call("GET", GET, params={"namespace": "svc", "key": "k"})
        self.assert_value_text(r, V2_COMPACT)
        self.assertEqual(raw_data(r)["value"], raw_loads(V2))
        r = self.call("GET", GET, params={"namespace": "svc", "key": "k", "version": 1})
        self.assert_value_text(r, V1_COMPACT)
        r = self.call("POST", "/api/v1/config/batch-get",
                      json_body={"namespace": "svc", "keys": ["k", "m", "z"]})
        self.assertIn(V2_COMPACT, r.text)
        self.assertIn('"value":1E2', r.text)
        self.assertIn('"value":[1.0]', r.text)
        r = self.call("GET", "/api/v1/config/namespace/svc")
        for text in (V2_COMPACT, "1E2", "[1.0]"):
            self.assertIn(":" + text, r.text)

        # Admin list, history (old and new values), versions.
        r = self.call("GET", CONFIG + "/list", params={"namespace": "svc"})
        self.assertIn('"value":' + V2_COMPACT, r.text)
        r = self.call("GET", HIST, params={"namespace": "svc", "key": "k"})
        newest = raw_data(r)["list"][0]
        self.assertEqual((newest["old_value"], newest["new_value"]),
                         (raw_loads(V1), raw_loads(V2)))
        self.assertIn('"old_value":' + V1_COMPACT, r.text)
        self.assertIn('"new_value":' + V2_COMPACT, r.text)
        r = self.call("GET", VERSIONS, params={"namespace": "svc", "key": "k"})
        self.assertEqual([v["value"] for v in raw_data(r)["list"]], [raw_loads(V2), raw_loads(V1)])

        # Watch with values: every change carries its value's text.
        r = self.call("GET", "/api/v1/config/watch",
                      params={"namespace": "svc", "revision": rev0, "include_values": "true",
                              "timeout": "1s"})
        values = [(c["key"], c.get("value")) for c in raw_data(r)["changes"]]
        self.assertIn(("k", raw_loads(V2)), values, r.text)
        self.assertIn(("m", Num("1E2")), values, r.text)

        # Diff works on the parsed values (per-path changes) and still answers.
        self.call("GET", "/api/v1/config/diff",
                  params={"namespace": "svc", "key": "k", "from": 1, "to": 2})

        # Rollback to version 1 makes a version 3 with version 1's text.
        self.call("POST", CONFIG + "/rollback",
                  json_body={"namespace": "svc", "key": "k", "target_version": 1})
        r = self.call("GET", GET, params={"namespace": "svc", "key": "k"})
        self.assertEqual(raw_data(r)["version"], Num("3"))
        self.assert_value_text(r, V1_COMPACT)

    def test_values_survive_a_restart(self):
        self.call("POST", CONFIG, body=config_body("svc", "k", V2))
        self.restart(self.server)
        r = self.call("GET", GET, params={"namespace": "svc", "key": "k"})
        self.assert_value_text(r, V2_COMPACT)

    def test_a_duplicated_value_member_keeps_the_last_as_the_parser_does(self):
        self.call("POST", CONFIG, body='{"namespace":"svc","key":"d","value":1,"value":[ 1E2 ]}')
        r = self.call("GET", GET, params={"namespace": "svc", "key": "d"})
        self.assert_value_text(r, "[1E2]")
        self.call("POST", BATCH, body='{"namespace":"svc","operations":[{"op":"update",'
                                      '"key":"d","value":[2],"value":-0}]}')
        r = self.call("GET", GET, params={"namespace": "svc", "key": "d"})
        self.assert_value_text(r, "-0")

    def test_a_number_beyond_a_double_is_out_of_range(self):
        with self.unchanged():
            self.call("POST", CONFIG, body=config_body("svc", "o", "[1e400]"), expect=40002)
            self.call("POST", CONFIG, body=config_body("svc", "o", "{\"x\": -1E+999}"),
                      expect=40002)
            self.call("POST", BATCH, body='{"namespace":"svc","operations":[{"op":"create",'
                                          '"key":"o","value":1e400}]}', expect=40002)

    def test_the_size_limit_applies_to_the_compact_text(self):
        # Whitespace does not count: a value padded far beyond the limit is accepted when its
        # compact form fits, and its numbers are kept.
        padded = "[" + " " * 2000 + "1E2" + " " * 2000 + "]"
        srv = self.start_server(["--max-value-bytes", "1024"])
        self.call("POST", NS, json_body={"name": "svc"}, server=srv)
        self.call("POST", CONFIG, body=config_body("svc", "p", padded), server=srv)
        r = self.call("GET", GET, params={"namespace": "svc", "key": "p"}, server=srv)
        self.assert_value_text(r, "[1E2]")
        self.call("POST", CONFIG, body=config_body("svc", "q", "[" + "1," * 600 + "1]"),
                  server=srv, expect=40002)


class NumberFidelityDegraded(CairnTestCase):
    """Item 10: a degraded read (database down) marks the answer without re-serialising it."""

    SERVER_ARGS = ("--fault-injection", "--health-check-interval", "200ms")

    def test_degraded_reads_keep_the_numbers(self):
        self.create_ns("svc")
        self.call("POST", CONFIG, body=config_body("svc", "k", V1))
        self.call("POST", "/api/v1/debug/fault", json_body={"database": "disk on fire"})

        def degraded():
            r = self.http("GET", GET, params={"namespace": "svc", "key": "k"})
            return r.code == 0 and r.json["data"].get("degraded") is True and r
        r, last = eventually(degraded, 20, 0.1)
        self.assertTrue(r, "the read never became degraded: %s" % (last and last.describe()))
        self.check_envelope(r)
        self.assertIn('"value":' + V1_COMPACT, r.text)
        self.assertIn("disk on fire", r.json["data"]["degraded_reason"])
        self.assertEqual(r.text.count('"degraded":'), 1, r.text)
        r = self.call("GET", "/api/v1/config/namespace/svc")
        self.assertIn(":" + V1_COMPACT, r.text)
        self.assertIs(r.json["data"]["degraded"], True)
        self.call("POST", "/api/v1/debug/fault", json_body={"database": ""})


REDIS = shutil.which("redis-server")


@unittest.skipIf(REDIS is None, "redis-server is not installed (scripts/deps.sh installs it)")
class NumberFidelityRedis(CairnTestCase):
    """Item 10: an old version answered from the Redis tier keeps its text."""

    START_SERVER = False

    def setUp(self):
        super().setUp()
        from test_redis import Resp
        self.Resp = Resp
        port = self.redis_port = self.start_redis_server().port
        self.server = self.start_server(["--redis-url", "redis://127.0.0.1:%d/0" % port,
                                         "--redis-timeout", "200ms"])

    def r(self, *args):
        c = self.Resp(self.redis_port)
        try:
            return c.call(*args)
        finally:
            c.close()

    def test_an_old_version_from_redis_keeps_its_numbers(self):
        self.create_ns("svc")
        self.call("POST", CONFIG, body=config_body("svc", "k", V1))
        for i in range(2, 13):  # version 1 falls out of the ring of 10
            self.update_config("svc", "k", value=i)
        stored, last = eventually(lambda: self.r("GET", "config:version:svc:k:1"), 10, 0.05)
        self.assertTrue(stored, "version 1 never reached Redis")
        self.assertIn(V1_COMPACT, stored)
        before = self.call("GET", "/api/v1/debug/vars").data["cache"]["redis"]["hits"]
        r = self.call("GET", GET, params={"namespace": "svc", "key": "k", "version": 1})
        self.assertIn('"value":' + V1_COMPACT, r.text)
        after = self.call("GET", "/api/v1/debug/vars").data["cache"]["redis"]["hits"]
        self.assertEqual(after, before + 1, "version 1 was not answered by Redis")


class AllDigitNamespaceNames(CairnTestCase):
    """Item 6: a create refuses names made only of digits; names with digits stay fine."""

    def test_all_digit_names_are_refused_on_create(self):
        ns = self.create_ns("svc")
        with self.unchanged():
            for name in ("5", "0042", str(ns["id"]), "1" * 128):
                with self.subTest(name=name):
                    r = self.call("POST", NS, json_body={"name": name}, expect=40002,
                                  field="name")
                    self.assertIn("digits", r.error["details"])
        for name in ("5a", "1.5", "2024-01", "v1"):
            self.create_ns(name)
        # The name rules of every other path are unchanged: an all-digit name is a well-formed
        # name of a namespace that does not exist (one created before this rule keeps working).
        self.call("POST", CONFIG, json_body={"namespace": "5", "key": "k", "value": 1},
                  expect=40402)
        self.call("GET", GET, params={"namespace": "5", "key": "k"}, expect=40402)
        self.call("GET", "/api/v1/config/namespace/5", expect=40402)
        # In a path, digits are an id.
        self.call("PUT", NS + "/%d" % ns["id"], json_body={"description": "by id"})
        listed = self.ns_list(name="svc")["list"]
        self.assertEqual(listed[0]["description"], "by id")


class OperatorHeader(CairnTestCase):
    """Item 9: X-Operator is any valid UTF-8 without control characters, up to 64 characters."""

    def setUp(self):
        super().setUp()
        self.create_ns("svc")

    def op(self, value):
        return {"X-Operator": value.encode("utf-8") if isinstance(value, str) else value}

    def test_a_utf8_operator_is_recorded(self):
        self.create_config("svc", "k", 1, headers=self.op("张三"))
        self.update_config("svc", "k", value=2, headers=self.op("José 😀"))
        cfg = self.config_list(namespace="svc")["list"][0]
        self.assertEqual((cfg["created_by"], cfg["updated_by"]), ("张三", "José 😀"))
        hist = self.history("svc", "k").data["list"]
        self.assertEqual([h["operator"] for h in hist], ["José 😀", "张三"])
        # 64 characters, not 64 bytes: 100 × 张 keeps 64 of them.
        self.update_config("svc", "k", value=3, headers=self.op("张" * 100))
        self.assertEqual(self.history("svc", "k").data["list"][0]["operator"], "张" * 64)
        # Blank or absent: anonymous; ASCII as before.
        self.update_config("svc", "k", value=4, headers=self.op("   "))
        self.update_config("svc", "k", value=5, headers=self.op("ann"))
        ops = [h["operator"] for h in self.history("svc", "k").data["list"][:2]]
        self.assertEqual(ops, ["ann", "anonymous"])

    def test_invalid_utf8_or_control_characters_are_refused_and_write_nothing(self):
        self.create_config("svc", "k", 1)
        bad = [b"\xff\xfe", "José".encode("latin-1"), b"\xe5\xbc", b"\xed\xa0\x80", b"a\tb",
               "a\u0085b".encode("utf-8")]
        with self.unchanged():
            # Other C0 controls and DEL never reach the handler: the HTTP parser refuses the
            # request as malformed (40001). Either way nothing is written.
            for value in (b"a\x01b", b"a\x7fb"):
                with self.subTest(value=value):
                    self.call("POST", CONFIG, json_body={"namespace": "svc", "key": "n",
                                                         "value": 1},
                              headers=self.op(value), expect=40001)
            for value in bad:
                with self.subTest(value=value):
                    self.call("POST", CONFIG, json_body={"namespace": "svc", "key": "n",
                                                         "value": 1},
                              headers=self.op(value), expect=40002, field="X-Operator")
                    self.call("PUT", CONFIG, json_body={"namespace": "svc", "key": "k",
                                                        "value": 2},
                              headers=self.op(value), expect=40002, field="X-Operator")
            self.call("DELETE", CONFIG, params={"namespace": "svc", "key": "k"},
                      headers=self.op(b"\xff"), expect=40002, field="X-Operator")
            self.call("POST", NS, json_body={"name": "other"}, headers=self.op(b"\xff"),
                      expect=40002, field="X-Operator")
            self.call("POST", BATCH, json_body={"namespace": "svc", "operations": [
                {"op": "update", "key": "k", "value": 3}]}, headers=self.op(b"\xff"),
                expect=40002, field="X-Operator")
        self.assertEqual(len(self.history("svc", "k").data["list"]), 1)


class IntegersBeyond64Bits(CairnTestCase):
    """Item 11: a well-formed integer out of range is 40002 even beyond int64; malformed 40001."""

    def setUp(self):
        super().setUp()
        self.create_ns("svc")
        self.create_config("svc", "k", 1)

    def test_query_parameters(self):
        nk = {"namespace": "svc", "key": "k"}
        cases = [
            (GET, dict(nk, version=HUGE), 40002, "version"),
            (GET, dict(nk, version="-" + HUGE), 40002, "version"),
            (GET, dict(nk, version="18446744073709551616"), 40002, "version"),
            (GET, dict(nk, version="9223372036854775808"), 40002, "version"),
            (GET, dict(nk, version="1e30"), 40001, "version"),
            (GET, dict(nk, version="12x"), 40001, "version"),
            (VERSIONS, dict(nk, page=HUGE), 40002, "page"),
            (VERSIONS, dict(nk, page_size=HUGE), 40002, "page_size"),
            (HIST, dict(nk, page=HUGE), 40002, "page"),
            (CONFIG + "/list", {"page_size": HUGE}, 40002, "page_size"),
            (NS + "/list", {"status": HUGE}, 40002, "status"),
            ("/api/v1/config/diff", dict(nk, **{"from": HUGE, "to": 1}), 40002, "from"),
            ("/api/v1/config/watch", {"namespace": "svc", "revision": HUGE}, 40002, "revision"),
        ]
        for path, params, code, field in cases:
            with self.subTest(path=path, params=params):
                self.call("GET", path, params=params, expect=code, field=field)
        with self.unchanged():
            self.call("DELETE", CONFIG, params=dict(nk, expected_version=HUGE), expect=40002,
                      field="expected_version")

    def test_body_integers(self):
        nk = '"namespace":"svc","key":"k"'
        cases = [
            ("PUT", CONFIG, '{%s,"value":2,"expected_version":%s}' % (nk, HUGE), 40002,
             "expected_version"),
            ("PUT", CONFIG, '{%s,"value":2,"expected_version":-%s}' % (nk, HUGE), 40002,
             "expected_version"),
            ("PUT", CONFIG, '{%s,"status":%s}' % (nk, HUGE), 40002, "status"),
            ("PUT", CONFIG, '{%s,"value":2,"expected_version":1.5}' % nk, 40001,
             "expected_version"),
            ("PUT", CONFIG, '{%s,"value":2,"expected_version":"1"}' % nk, 40001,
             "expected_version"),
            ("POST", CONFIG + "/rollback", '{%s,"target_version":%s}' % (nk, HUGE), 40002,
             "target_version"),
            ("POST", CONFIG + "/tag", '{%s,"version":%s,"tag":"t"}' % (nk, HUGE), 40002,
             "version"),
            ("PUT", NS + "/svc", '{"retention":{"keep_latest":%s}}' % HUGE, 40002,
             "retention.keep_latest"),
            ("POST", BATCH, '{"namespace":"svc","operations":[{"op":"update","key":"k",'
                            '"value":2,"expected_version":%s}]}' % HUGE, 40002,
             "operations[0].expected_version"),
        ]
        with self.unchanged():
            for method, path, body, code, field in cases:
                with self.subTest(path=path, body=body):
                    self.call(method, path, body=body, expect=code, field=field)

    def test_headers(self):
        body = {"namespace": "svc", "key": "k", "value": 2}
        with self.unchanged():
            for tag, code in (('"%s"' % HUGE, 40002), (HUGE, 40002), ('W/"0"', 40002),
                              ('"abc"', 40001), ('"-1"', 40001)):
                with self.subTest(tag=tag):
                    self.call("PUT", CONFIG, json_body=body, headers={"If-Match": tag},
                              expect=code, field="If-Match")
        stream = "/api/v1/config/watch/stream"
        for last, code in ((HUGE, 40002), ("abc", 40001), ("-1", 40001)):
            with self.subTest(last_event_id=last):
                self.call("GET", stream, params={"namespace": "svc"},
                          headers={"Last-Event-ID": last}, expect=code, field="Last-Event-ID")


if __name__ == "__main__":
    unittest.main()
