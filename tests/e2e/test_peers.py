"""Authenticated peers and forwarding (issue 23 §4, docs/security.md), on real `cairn server`
processes:

- a node whose cluster secret differs from the cluster's never joins (like the mTLS test for a
  foreign CA in test_tls.py);
- a client sending `X-Cairn-Forwarded` (or a forged `X-Cairn-Peer-Proof`) no longer escapes the
  rate limits, on a standalone node and on a cluster's leader, while writes a follower really
  forwards are still counted once, where they arrive;
- with auth on, `GET /api/v1/clients` and a release's progress count the clients of every node
  (members serve a proven member read as the node, without a token);
- HTTP request smuggling and path normalisation: ambiguous framing, `//api`, `%2e%2e`, encoded
  slashes, mixed case, duplicate query parameters — each refused with the seed's envelope or
  routed exactly as its normal form, never past the auth guard (raw sockets).

Every wait is bounded (cluster.py); nothing asserts on how long a thing took."""

import http.client
import json
import os
import re
import shutil
import socket
import tempfile
import time

from cluster import MEMBERS, ClusterCase, eventually
from harness import CairnTestCase, raw_request
from test_auth import ROOT, RootTokenEnv, bearer
from test_releases import KEY, NS, RELEASES, STABLE, GRAY, FakeClient

TIGHT_READS = """\
rate_limits:
  global:
    admin_qps: 0.001
    admin_burst: 100000
  default:
    read_qps: 0.001
    read_burst: 1000
    write_qps: 0.001
    write_burst: 4
"""


def write_limits(tmp, text=TIGHT_READS):
    path = os.path.join(tmp, "limits.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def count_refused(port, client_id, n, headers):
    """Sends n reads as `client_id` over one keep-alive connection; how many were 429."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    refused = 0
    try:
        for _ in range(n):
            h = {"X-Client-ID": client_id}
            h.update(headers)
            conn.request("GET", "/api/v1/config/get?namespace=svc&key=k", headers=h)
            r = conn.getresponse()
            body = r.read()
            if r.status == 429:
                refused += 1
                assert json.loads(body)["code"] == 42902, body
            else:
                assert r.status in (200, 404), (r.status, body)
    finally:
        conn.close()
    return refused


FORGED_PROOF = "v1;forward;2;%d;%s;%s" % (int(time.time() * 1000), "a" * 32, "b" * 64)


class WrongClusterSecret(ClusterCase):

    def test_a_node_with_another_cluster_secret_never_joins(self):
        self.ensure_ns("svc")
        n4 = self.cluster.add_node(4, join=True)
        n4.env["CAIRN_CLUSTER_SECRET"] = "not-the-cluster-secret-0123456789"
        n4.start()
        r = self.http("POST", MEMBERS, server=self.leader,
                      json_body={"id": 4, "peer": n4.peer, "http": n4.http_addr})
        self.check_envelope(r)
        self.assertEqual(r.code, 0, r.describe())
        for i in range(20):
            self.write_until_ok(lambda: self.create_on(self.leader, "svc", "k%d" % i, i))
        self.wait_converged([n for n in self.cluster.live() if n.raft_id != 4])

        # Give it every chance to catch up; it must get nothing.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            self.assertEqual(self.vars(n4)["applied_index"], 0,
                             "node4 applied entries without the cluster secret")
            time.sleep(0.2)
        leader_members = {m["id"]: m for m in self.status(self.leader)["members"]}
        self.assertFalse(leader_members[4].get("voter"), "node4 was promoted")
        self.assertRegex(n4.log_tail(), r"cluster secret", n4.log_tail()[-2000:])
        self.assertRegex(self.leader.log_tail(20000), r"cluster secret")
        # Its forwarded writes carry a proof the leader cannot verify: served (or refused) as
        # an ordinary client's, never as a member's.
        r = self.http("DELETE", MEMBERS + "/4", server=self.leader)
        self.check_envelope(r)
        self.assertEqual(r.code, 0, r.describe())
        ok, _ = eventually(lambda: all(
            4 not in [m["id"] for m in self.status(n)["members"]]
            for n in self.cluster.live() if n.raft_id != 4), 15)
        self.assertTrue(ok, "node4 could not be removed again")


class ForwardedHeaderOnAStandaloneNode(CairnTestCase):
    START_SERVER = False

    def test_x_cairn_forwarded_no_longer_escapes_the_rate_limits(self):
        self.server = self.start_server(["--rate-limits", write_limits(self.tmp),
                                         "--access-log=false"])
        self.call("POST", "/api/v1/admin/namespace", json_body={"name": "svc"},
                  headers={"X-Client-ID": "setup"})
        # 4,000 reads from one client id (issue 23): the burst is 1,000 and nothing refills.
        plain = count_refused(self.server.port, "reader-a", 4000, {})
        self.assertEqual(plain, 3000)
        marked = count_refused(self.server.port, "reader-b", 4000,
                               {"X-Cairn-Forwarded": "node2", "X-Cairn-Member": "2",
                                "X-Cairn-Peer-Proof": FORGED_PROOF})
        self.assertEqual(marked, 3000, "the forwarded header still skips the limits")


class ForwardingInACluster(ClusterCase):

    def setUp(self):
        limits_dir = tempfile.mkdtemp(prefix="cairn-limits-")
        self.addCleanup(shutil.rmtree, limits_dir, True)
        # The launcher turns the limits off for every node (QUIET_ARGS); on again here.
        self.CLUSTER_ARGS = ("--rate-limits", write_limits(limits_dir),
                             "--rate-limit-enabled=true")
        super().setUp()

    def test_only_a_members_forward_skips_the_leaders_limits(self):
        self.ensure_ns("svc")
        print("DEBUG plain", count_refused(self.leader.port, "plain", 1500, {}))
        refused = count_refused(self.leader.port, "reader", 1500,
                                {"X-Cairn-Forwarded": "node2",
                                 "X-Cairn-Peer-Proof": FORGED_PROOF})
        self.assertEqual(refused, 500, "a client's forwarded header skipped the leader's limits")

        # Writes a follower forwards are counted there, once: the follower's bucket (4) runs
        # out, the leader's for the same client is untouched.
        follower = self.followers()[0]
        cid = {"X-Client-ID": "writer"}
        for i in range(4):
            r = self.write_until_ok(lambda: self.http(
                "POST", "/api/v1/admin/config", server=follower, headers=cid,
                json_body={"namespace": "svc", "key": "w%d" % i, "value": i}))
            self.assertEqual(r.code, 0, r.describe())
        r = self.http("POST", "/api/v1/admin/config", server=follower, headers=cid,
                      json_body={"namespace": "svc", "key": "w4", "value": 4})
        self.assertEqual(r.code, 42902, r.describe())
        r = self.write_until_ok(lambda: self.http(
            "POST", "/api/v1/admin/config", server=self.leader, headers=cid,
            json_body={"namespace": "svc", "key": "w5", "value": 5}))
        self.assertEqual(r.code, 0, "the leader counted the forwarded writes: " + r.describe())


class AuthClient(FakeClient):
    """A release test client (test_releases.py) that sends the root token."""

    def headers(self):
        h = super().headers()
        h["Authorization"] = "Bearer " + ROOT
        return h


class ClusterWideClientsWithAuth(RootTokenEnv, ClusterCase):
    CLUSTER_ARGS = ("--auth-enabled",)

    def setUp(self):
        os.environ["CAIRN_ROOT_TOKEN"] = ROOT
        self.addCleanup(os.environ.pop, "CAIRN_ROOT_TOKEN", None)
        super().setUp()
        self.clients = []
        self.addCleanup(self.stop_clients)

    def stop_clients(self):
        for c in self.clients:
            c.stop()
        for c in self.clients:
            c.join(25)

    def status(self, node):
        r = self.http("GET", "/api/v1/cluster/status", server=node, timeout=5,
                      headers=bearer(ROOT))
        self.check_envelope(r)
        self.assertEqual(r.code, 0, r.describe())
        return r.data

    def root(self, method, path, node=None, **kw):
        return self.call(method, path, headers=bearer(ROOT), server=node or self.leader, **kw)

    def test_every_nodes_clients_are_listed_and_counted_by_the_release_guard(self):
        root = bearer(ROOT)
        self.write_until_ok(lambda: self.http("POST", "/api/v1/admin/namespace",
                                              json_body={"name": NS}, server=self.leader,
                                              headers=root))
        self.write_until_ok(lambda: self.http("POST", "/api/v1/admin/config", headers=root,
                                              json_body={"namespace": NS, "key": KEY,
                                                         "value": STABLE}, server=self.leader))
        nodes = self.cluster.live()
        # Three clients on each node, each pinned to it.
        for i in range(9):
            c = AuthClient(self, "pod-%d:%d" % (i, 5000 + i), {"app": "orders"},
                           [nodes[i % 3]])
            c.start()
            self.clients.append(c)
        ok, _ = eventually(lambda: all(c.reads > 0 for c in self.clients), 60, 0.1)
        self.assertTrue(ok, [c.errors[:1] for c in self.clients])

        for node in nodes:
            seen = [None]

            def all_listed():
                seen[0] = self.root("GET", "/api/v1/clients", node=node,
                                    params={"namespace": NS}).data
                return seen[0]["total"] == 9
            ok, _ = eventually(all_listed, 30, 0.2)
            self.assertTrue(ok, "node %d: %s" % (node.raft_id, json.dumps(seen[0])[:2000]))
            self.assertEqual(seen[0]["unreachable"], [], seen[0])

        # The leader's guard counts acks from the clients of every node: min_acks 9 can only be
        # met with the other members' registries (3 clients each).
        rel = self.root("POST", RELEASES, json_body={
            "namespace": NS, "changes": {KEY: GRAY}, "target": {"labels": {"app": "orders"}},
            "plan": {"stages": [{"percent": 100, "hold": "1s"}, {"percent": 100}],
                     "guard": {"max_failed_ratio": 0.1, "min_acks": 9, "ack_timeout": "2m"}}}
        ).data
        last = [None]

        def advanced():
            last[0] = self.root("GET", RELEASES + "/" + rel["id"]).data
            return last[0]["stage"] == 1
        ok, _ = eventually(advanced, 60, 0.2)
        self.assertTrue(ok, "the guard never saw 9 acks: " + json.dumps(last[0])[:3000])
        self.assertEqual(last[0]["state"], "active", last[0])
        p = last[0]["progress"]
        self.assertEqual(p["targeted"], 9, p)

        # The member read is the node's, not a client's: without a proof, no token → 401.
        r = self.http("GET", "/api/v1/clients/local", server=self.followers()[0],
                      headers={"X-Cairn-Member": "1", "X-Cairn-Forwarded": "1",
                               "X-Cairn-Peer-Proof": FORGED_PROOF})
        self.check_envelope(r)
        self.assertEqual((r.status, r.code), (401, 40101), r.describe())


def exchange(port, payload, timeout=2.0):
    """Raw bytes in; every byte the server sends until it closes or `timeout` passes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b""
    try:
        s.sendall(payload)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, OSError):
                break
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    return out


def responses(raw):
    """[(status, body bytes)] of every response in `raw`."""
    out = []
    while raw:
        m = re.match(rb"HTTP/1\.[01] (\d{3})[^\r]*\r\n", raw)
        if not m:
            break
        head, sep, rest = raw.partition(b"\r\n\r\n")
        cl = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        n = int(cl.group(1)) if cl else len(rest)
        out.append((int(m.group(1)), rest[:n]))
        raw = rest[n:]
    return out


class Smuggling(RootTokenEnv, CairnTestCase):
    """A standalone node with auth on; a token that may read namespace `open` only."""

    START_SERVER = False

    def setUp(self):
        super().setUp()
        self.set_root_env()
        self.server = self.start_server(["--auth-enabled", "--rate-limit-enabled=false"])
        root = bearer(ROOT)
        for ns in ("open", "closed"):
            self.call("POST", "/api/v1/admin/namespace", json_body={"name": ns}, headers=root)
            self.call("POST", "/api/v1/admin/config", headers=root,
                      json_body={"namespace": ns, "key": "k", "value": ns})
        _, self.reader = self.make_token("reader", [{"namespace": "open", "permission": "read"}])
        self.rev = self.revision_as_root()

    def revision_as_root(self):
        return self.call("GET", "/api/v1/debug/vars", headers=bearer(ROOT)).data["revision"]

    def send(self, request_line, headers=(), body=b"", token=None):
        lines = [request_line, "Host: cairn"] + list(headers)
        if token:
            lines.append("Authorization: Bearer " + token)
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        return responses(exchange(self.server.port, raw))

    def assert_refused_with_envelope(self, got, status, code, what):
        self.assertEqual(len(got), 1, "%s: %r" % (what, got))
        self.assertEqual(got[0][0], status, "%s: %r" % (what, got))
        env = json.loads(got[0][1])
        self.assertEqual(env["code"], code, "%s: %r" % (what, env))
        for field in ("message", "request_id", "timestamp"):
            self.assertIn(field, env, what)

    def test_ambiguous_message_framing_is_refused_and_nothing_is_smuggled(self):
        smuggled = (b"POST /api/v1/admin/namespace HTTP/1.1\r\nHost: cairn\r\n"
                    b"Authorization: Bearer " + ROOT.encode() + b"\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 17\r\n\r\n"
                    b'{"name":"smugly"}')
        cases = {
            "two different Content-Lengths": (["Content-Length: 2", "Content-Length: 170"],
                                              b"{}" + smuggled),
            "Content-Length in two cases": (["Content-Length: 2", "content-length: 170"],
                                            b"{}" + smuggled),
            "Transfer-Encoding and Content-Length": (
                ["Content-Length: 5", "Transfer-Encoding: chunked"], b"0\r\n\r\n" + smuggled),
            "two Transfer-Encodings": (["Transfer-Encoding: chunked",
                                        "Transfer-Encoding: identity"], b"0\r\n\r\n" + smuggled),
            "a signed Content-Length": (["Content-Length: +2"], b"{}" + smuggled),
        }
        for what, (headers, body) in cases.items():
            got = self.send("POST /api/v1/config/ack HTTP/1.1",
                            ["Content-Type: application/json"] + headers, body,
                            token=self.reader)
            self.assert_refused_with_envelope(got, 400, 40001, what)
        self.assertEqual(self.revision_as_root(), self.rev, "a smuggled request was served")

    def test_odd_paths_are_refused_or_served_as_their_normal_form(self):
        # Without a token every route but health is 401; none of these reaches a handler.
        odd = ["//api/v1/admin/tokens", "/api/v1//admin/tokens", "/api/v1/admin/tokens/",
               "/api/v1/config/%2e%2e/admin/tokens", "/api/v1/config/../admin/tokens",
               "/api/v1/health/../admin/tokens", "/api/v1/%2E%2E/v1/admin/tokens",
               "/API/v1/admin/tokens", "/api/V1/Admin/Tokens", "/api/v1/admin/tokens%00",
               "/ui/..%2f..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd",
               "/api/v1/admin%2Ftokens", "/api%2Fv1%2Fadmin%2Ftokens"]
        for path in odd:
            got = self.send("GET %s HTTP/1.1" % path)
            self.assertEqual(len(got), 1, "%s: %r" % (path, got))
            status, body = got[0]
            self.assertIn(status, (400, 401, 404), "%s: %r" % (path, got))
            env = json.loads(body)
            self.assertEqual(env["code"], {400: 40001, 401: 40101, 404: 40401}[status], path)
            self.assertNotIn(b"root:", body, path)
            # With a token that may not list tokens: never more than 403.
            got = self.send("GET %s HTTP/1.1" % path, token=self.reader)
            self.assertIn(got[0][0], (400, 403, 404), "%s: %r" % (path, got))
        # An encoded slash decodes to the normal form and is guarded as it.
        got = self.send("GET /api/v1/admin%2Ftokens HTTP/1.1", token=ROOT)
        self.assertEqual(got[0][0], 200, got)
        # Methods are case-sensitive: "get" is not GET (a proxy rule for GET would not see it).
        for line in ("get /api/v1/config/get?namespace=open&key=k HTTP/1.1",
                     "Get /api/v1/health HTTP/1.1", "delete /api/v1/admin/tokens/x HTTP/1.1"):
            got = self.send(line, token=self.reader)
            self.assert_refused_with_envelope(got, 400, 40001, line)
        # An absolute-form target is refused.
        got = self.send("GET http://cairn/api/v1/admin/tokens HTTP/1.1")
        self.assert_refused_with_envelope(got, 400, 40001, "absolute form")

    def test_duplicate_query_parameters_are_guarded_as_they_are_served(self):
        # The first value counts, for the guard and for the handler alike.
        got = self.send("GET /api/v1/config/get?namespace=open&namespace=closed&key=k HTTP/1.1",
                        token=self.reader)
        self.assertEqual(got[0][0], 200, got)
        self.assertEqual(json.loads(got[0][1])["data"]["value"], "open", got)
        got = self.send("GET /api/v1/config/get?namespace=closed&namespace=open&key=k HTTP/1.1",
                        token=self.reader)
        self.assert_refused_with_envelope(got, 403, 40301, "closed first")
        got = self.send("GET /api/v1/config/get?key=k&namespace=closed&key=x&namespace=open "
                        "HTTP/1.1", token=self.reader)
        self.assert_refused_with_envelope(got, 403, 40301, "interleaved")
        # In the body, JSON's last duplicate member wins: for the guard too.
        body = b'{"namespace":"open","namespace":"closed","revision":1,"status":"applied"}'
        got = self.send("POST /api/v1/config/ack HTTP/1.1",
                        ["Content-Type: application/json", "Content-Length: %d" % len(body)],
                        body, token=self.reader)
        self.assert_refused_with_envelope(got, 403, 40301, "duplicate body member")
        # Peer marks from a client change nothing: the same 403 with them.
        got = self.send("GET /api/v1/config/get?namespace=closed&key=k HTTP/1.1",
                        ["X-Cairn-Forwarded: node2", "X-Cairn-Member: 2",
                         "X-Cairn-Peer-Proof: " + FORGED_PROOF], token=self.reader)
        self.assert_refused_with_envelope(got, 403, 40301, "with peer marks")


if __name__ == "__main__":
    import unittest
    unittest.main()
