"""TLS (issue 9, docs/security.md): a 3-node cluster whose API is HTTPS and whose peers talk
mutual TLS, with certificates made by openssl for the test (tests/tls/make_pki.sh). Writes are
forwarded from followers to the leader over HTTPS, the CLI talks HTTPS with --ca-file, plain HTTP
gets nothing, and a node whose peer certificate comes from another CA never joins.

Every wait is bounded (cluster.py); no test asserts on how long something took."""

import json
import os
import shutil
import subprocess
import ssl
import tempfile
import time
import unittest

import cairn_cluster
import harness
from cluster import MEMBERS, ClusterCase, eventually
from harness import raw_socket_exchange

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_PKI = os.path.join(HERE, "..", "tls", "make_pki.sh")


class TlsCluster(ClusterCase):

    def setUp(self):
        self.pki = tempfile.mkdtemp(prefix="cairn-pki-")
        self.addCleanup(shutil.rmtree, self.pki, True)
        subprocess.run([MAKE_PKI, self.pki, "ca", "node"], check=True)
        subprocess.run([MAKE_PKI, self.pki, "rogue", "intruder"], check=True)
        ctx = ssl.create_default_context(cafile=self.file("ca.pem"))
        cairn_cluster.TLS_CONTEXT = ctx  # every request of the harness and launcher: HTTPS
        self.addCleanup(setattr, cairn_cluster, "TLS_CONTEXT", None)
        self.CLUSTER_ARGS = self.tls_args("node")
        super().setUp()

    def file(self, name):
        return os.path.join(self.pki, name)

    def tls_args(self, peer_cert):
        return ("--tls-cert", self.file("node.pem"), "--tls-key", self.file("node.key"),
                "--tls-ca", self.file("ca.pem"),
                "--peer-tls-cert", self.file(peer_cert + ".pem"),
                "--peer-tls-key", self.file(peer_cert + ".key"),
                "--peer-tls-ca", self.file("ca.pem"))

    def test_writes_are_forwarded_and_replicated_over_tls(self):
        follower = self.followers()[0]
        self.ensure_ns("svc", node=follower)  # forwarded to the leader over HTTPS
        r = self.write_until_ok(lambda: self.create_on(follower, "svc", "k", {"tls": True}))
        self.assertEqual(r.data["version"], 1)
        self.wait_converged()
        for n in self.cluster.live():
            self.wait_value(n, "svc", "k", {"tls": True})

        # The CLI and SDK over HTTPS, trusting the test CA.
        out = subprocess.run(
            [harness.BINARY, "--endpoints", "https://127.0.0.1:%d" % follower.port,
             "--ca-file", self.file("ca.pem"), "get", "svc", "k", "-o", "json"],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr + out.stdout)
        self.assertEqual(json.loads(out.stdout)["value"], {"tls": True})
        # Without the CA the certificate is not trusted.
        out = subprocess.run(
            [harness.BINARY, "--endpoints", "https://127.0.0.1:%d" % follower.port,
             "get", "svc", "k"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0, out.stdout)

        # Plain HTTP on the HTTPS port gets no HTTP answer.
        raw = raw_socket_exchange(follower.port, b"GET /api/v1/health HTTP/1.1\r\n"
                                                 b"Host: x\r\n\r\n", timeout=5)
        self.assertNotIn(b"HTTP/1.1 200", raw)

    def test_a_node_with_another_cas_peer_certificate_never_joins(self):
        self.ensure_ns("svc")
        n4 = self.cluster.add_node(4, join=True, extra_args=self.tls_args("intruder"))
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
            applied = self.vars(n4)["applied_index"]
            self.assertEqual(applied, 0, "node4 applied entries without a valid certificate")
            time.sleep(0.2)
        leader_members = {m["id"]: m for m in self.status(self.leader)["members"]}
        self.assertFalse(leader_members[4].get("voter"), "node4 was promoted")
        log = n4.log_tail()
        self.assertRegex(log, r"(?i)tls|certificate|handshake", log[-2000:])

        r = self.http("DELETE", MEMBERS + "/4", server=self.leader)
        self.check_envelope(r)
        self.assertEqual(r.code, 0, r.describe())
        ok, _ = eventually(lambda: all(
            4 not in [m["id"] for m in self.status(n)["members"]]
            for n in self.cluster.live() if n.raft_id != 4), 15)
        self.assertTrue(ok, "node4 could not be removed again")


if __name__ == "__main__":
    unittest.main()
