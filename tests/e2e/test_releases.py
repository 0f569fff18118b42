"""Gray releases, the client registry and acknowledgements (docs/releases.md) on a real 3-node
cluster, with plain-HTTP clients: each client is a Python thread that reads its namespace with
X-Client-ID / X-Client-Labels, holds a long-poll watch, re-reads when woken and acknowledges
(`applied`, or `failed` for the clients told to fail). No SDK needed.

Checked: a 2-stage release reaches exactly the targeted clients (the same percent hash as the
server's, computed here) and advances; acks flow back into the release's progress; a release
whose clients fail halts, or aborts with every client back on the stable value; kill -9 of the
leader mid-release continues from its stage on the new leader; promote and abort wake the right
clients; bad input gets the envelope with the right code and changes nothing. Every wait is
bounded; nothing asserts on how long a thing took."""

import json
import threading
import time
import urllib.parse

from cluster import ClusterCase, eventually
from harness import raw_request

RELEASES = "/api/v1/admin/releases"
NS = "orders"
KEY = "db.pool"
STABLE = {"size": 10}
GRAY = {"size": 20}
WAIT = 60.0


def bucket(release_id, client_id):
    """The server's percent bucket: FNV-1a 64 of "<release>\\n<client>" mod 10000."""
    h = 1469598103934665603
    for b in (release_id + "\n" + client_id).encode():
        h ^= b
        h = (h * 1099511628211) % (1 << 64)
    return h % 10000


def in_percent(release_id, client_id, percent):
    return bucket(release_id, client_id) < round(percent * 100)


class FakeClient(threading.Thread):
    """One application instance speaking plain HTTP."""

    def __init__(self, case, cid, labels, nodes, fail=False):
        super().__init__(daemon=True)
        self.case = case
        self.cid = cid
        self.labels = labels
        self.nodes = nodes  # a list of Nodes; it moves on when one does not answer
        self.at = 0
        self.fail = fail
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.configs = None
        self.release = None
        self.revision = 0
        self.reads = 0
        self.errors = []

    def headers(self):
        h = {"X-Client-ID": self.cid}
        if self.labels:
            h["X-Client-Labels"] = ",".join("%s=%s" % kv for kv in sorted(self.labels.items()))
        return h

    def node(self):
        return self.nodes[self.at % len(self.nodes)]

    def request(self, method, target, body=None, timeout=15):
        while not self.stop_flag.is_set():
            node = self.node()
            try:
                r = raw_request(node.port, method, target,
                                body=None if body is None else json.dumps(body),
                                headers=self.headers(), timeout=timeout)
                if r.status in (502, 503):
                    raise OSError("HTTP %d" % r.status)
                return r
            except (OSError, ValueError):
                self.at += 1
                time.sleep(0.2)
        return None

    def read(self):
        r = self.request("GET", "/api/v1/config/namespace/" + NS)
        if r is None or r.status != 200:
            return False
        d = r.json["data"]
        self.case.assertEqual(d["revision"], d["version"])
        with self.lock:
            self.configs = d["configs"]
            self.release = d.get("release")
            self.revision = d["revision"]
            self.reads += 1
        body = {"namespace": NS, "revision": d["revision"], "status": "applied"}
        if self.fail and d.get("release"):
            body = {"namespace": NS, "revision": d["revision"], "status": "failed",
                    "error": "pool of %s refused" % json.dumps(d["configs"].get(KEY))}
        a = self.request("POST", "/api/v1/config/ack", body=body)
        if a is not None and a.status != 200:
            self.errors.append(a.describe())
        return True

    def run(self):
        try:
            self.loop()
        except Exception as e:  # noqa: BLE001 - reported by the test through `errors`
            self.errors.append(repr(e))

    def loop(self):
        while not self.stop_flag.is_set() and not self.read():
            time.sleep(0.2)
        while not self.stop_flag.is_set():
            q = urllib.parse.urlencode({"namespace": NS, "revision": self.revision,
                                        "timeout": "3s"})
            r = self.request("GET", "/api/v1/config/watch?" + q, timeout=20)
            if r is None:
                break
            if r.status != 200:
                time.sleep(0.2)
                continue
            d = r.json["data"]
            if d.get("changed") or d.get("reset"):
                self.read()

    def value(self):
        with self.lock:
            return None if self.configs is None else self.configs.get(KEY), self.release

    def stop(self):
        self.stop_flag.set()


class Releases(ClusterCase):

    def setUp(self):
        super().setUp()
        self.clients = []
        self.addCleanup(self.stop_clients)
        self.ensure_ns(NS)
        self.call("POST", "/api/v1/admin/config",
                  json_body={"namespace": NS, "key": KEY, "value": STABLE}, server=self.leader)
        self.call("POST", "/api/v1/admin/config",
                  json_body={"namespace": NS, "key": "other", "value": 1}, server=self.leader)

    def stop_clients(self):
        for c in self.clients:
            c.stop()
        for c in self.clients:
            c.join(25)

    def spawn(self, n, labels_fn, fail_fn=lambda i: False, prefix="pod"):
        nodes = list(self.cluster.live())
        out = []
        for i in range(n):
            rotated = nodes[i % len(nodes):] + nodes[:i % len(nodes)]
            c = FakeClient(self, "%s-%d:%d" % (prefix, i, 4000 + i), labels_fn(i), rotated,
                           fail=fail_fn(i))
            c.start()
            out.append(c)
        self.clients.extend(out)
        ok, _ = eventually(lambda: all(c.reads > 0 for c in out), WAIT, 0.1)
        self.assertTrue(ok, "clients did not read: %s" % [c.errors[:1] for c in out][:5])
        return out

    def start_release(self, body, node=None):
        r = self.call("POST", RELEASES, json_body=body, server=node or self.leader)
        rel = r.data
        for f in ("id", "namespace", "state", "stage", "stages", "target", "guard", "on_failure",
                  "changes", "revision", "description", "created_by", "created_at",
                  "updated_at", "reason", "progress", "transitions"):
            self.assertIn(f, rel, r.describe())
        self.assertTrue(rel["id"].startswith("r-"), rel)
        self.assertEqual(rel["state"], "active", rel)
        return rel

    def release(self, rid, node=None):
        return self.call("GET", RELEASES + "/" + rid, server=node or self.leader).data

    def wait_release(self, rid, pred, what, node=None):
        last = [None]

        def probe():
            last[0] = self.release(rid, node)
            return pred(last[0])
        ok, _ = eventually(probe, WAIT, 0.2)
        self.assertTrue(ok, "release never %s: %s" % (what, json.dumps(last[0])[:3000]))
        return last[0]

    def wait_values(self, expect_fn, clients, what):
        """Waits until every client holds expect_fn(client) → (value, release)."""
        bad = [None]

        def probe():
            bad[0] = [(c.cid, c.value(), expect_fn(c)) for c in clients
                      if c.value() != expect_fn(c)]
            return not bad[0]
        ok, _ = eventually(probe, WAIT, 0.2)
        self.assertTrue(ok, "%s: %d clients differ, e.g. %s" % (what, len(bad[0]), bad[0][:5]))

    # -- the tests ------------------------------------------------------------------------------

    def test_two_stage_release_reaches_the_targeted_and_advances(self):
        clients = self.spawn(100, lambda i: {"app": "orders",
                                             "zone": "eu-1" if i % 2 == 0 else "us-1"})
        # The registry sees all of them, cluster-wide, from any node, with their acks.
        for node in self.cluster.live():
            seen = [None]

            def all_acked():
                seen[0] = self.call("GET", "/api/v1/clients", params={"namespace": NS},
                                    server=node).data
                return seen[0]["total"] == 100 and all(
                    c["namespaces"][0]["ack_status"] == "applied" for c in seen[0]["clients"])
            ok, _ = eventually(all_acked, WAIT, 0.2)
            d = seen[0]
            self.assertTrue(ok, json.dumps(d)[:2000])
            self.assertEqual(d["unreachable"], [])
            one = [c for c in d["clients"] if c["id"] == clients[0].cid][0]
            self.assertEqual(one["labels"], {"app": "orders", "zone": "eu-1"})
            self.assertEqual(one["protocol"], "native")
            self.assertEqual(one["namespaces"][0]["namespace"], NS)
            self.assertEqual(one["namespaces"][0]["ack_status"], "applied")
        labelled = self.call("GET", "/api/v1/clients",
                             params={"namespace": NS, "label": "zone=us-1"}).data
        self.assertEqual(labelled["total"], 50)

        rel = self.start_release({
            "namespace": NS, "changes": {KEY: GRAY},
            "target": {"labels": {"zone": ["eu-1"], "app": "orders"}},
            "plan": {"stages": [{"percent": 30, "hold": "1s"}, {"percent": 100}],
                     "guard": {"max_failed_ratio": 0.1, "min_acks": 5, "ack_timeout": "2m"}},
            "description": "bigger pool"}, node=self.followers()[0])
        rid = rel["id"]
        self.assertEqual(rel["target"], {"labels": {"app": "orders", "zone": "eu-1"}})
        self.assertEqual(rel["stages"], [{"percent": 30, "hold": "1s"}, {"percent": 100}])

        def expected(stage):
            def fn(c):
                gray = c.labels["zone"] == "eu-1" and (stage == 1 or in_percent(rid, c.cid, 30))
                return (GRAY, rid) if gray else (STABLE, None)
            return fn

        # Stage 0 may already be over by the time the clients are checked: check stage 0 only
        # while the release is still at it.
        if self.release(rid)["stage"] == 0:
            stage0 = [c for c in clients if expected(0)(c)[1]]
            self.assertGreater(len(stage0), 0)
        rel = self.wait_release(rid, lambda r: r["stage"] == 1, "advanced to stage 1")
        self.assertIn("plan", rel["transitions"][-1]["reason"])
        self.assertEqual(rel["transitions"][-1]["operator"], "cairn")
        self.wait_values(expected(1), clients, "stage 1")
        rel = self.wait_release(rid, lambda r: r["progress"]["applied"] == 50,
                                "fully acknowledged")
        p = rel["progress"]
        self.assertEqual((p["targeted"], p["received"], p["failed"], p["silent"]),
                         (50, 50, 0, 0), p)
        self.assertEqual(rel["state"], "active")  # the last stage waits for promote

        # A direct write to the key of the release: 40901 naming it; with force it goes.
        r = self.call("PUT", "/api/v1/admin/config", json_body={"namespace": NS, "key": KEY,
                                                                "value": {"size": 11}},
                      expect=40901)
        self.assertIn(rid, r.error["details"])

        # Promote: the gray value becomes the stable one for everyone.
        promoted = self.call("POST", RELEASES + "/" + rid + "/promote",
                             json_body={"reason": "looks good"}).data
        self.assertEqual(promoted["state"], "promoted")
        self.assertEqual(promoted["reason"], "looks good")
        self.wait_values(lambda c: (GRAY, None), clients, "after promote")
        self.call("POST", RELEASES + "/" + rid + "/promote", expect=40901)
        h = self.call("GET", "/api/v1/admin/config/history",
                      params={"namespace": NS, "key": KEY}).data
        self.assertEqual(h["list"][0]["operation"], "RELEASE", h)
        self.assertEqual(h["list"][0]["release_id"], rid, h)
        self.call("PUT", "/api/v1/admin/config", json_body={"namespace": NS, "key": KEY,
                                                            "value": {"size": 12}})
        listed = self.call("GET", RELEASES, params={"namespace": NS}).data
        self.assertEqual(listed["total"], 1)
        self.assertEqual(listed["releases"][0]["id"], rid)
        self.wait_converged()

    def run_failing_release(self, on_failure):
        clients = self.spawn(20, lambda i: {"app": "pay"}, fail_fn=lambda i: i < 3, prefix="pay")
        others = self.spawn(10, lambda i: {"app": "web"}, prefix="web")
        rel = self.start_release({
            "namespace": NS, "changes": {KEY: GRAY, "other": None},
            "target": {"labels": {"app": "pay"}},
            "plan": {"stages": [{"percent": 100, "hold": "1h"}, {"percent": 100}],
                     "guard": {"max_failed_ratio": 0.1, "min_acks": 20},
                     "on_failure": on_failure}})
        return clients, others, rel["id"]

    def test_failed_acks_halt_the_release(self):
        clients, others, rid = self.run_failing_release("halt")
        rel = self.wait_release(rid, lambda r: r["state"] == "halted" and
                                r["progress"]["failed"] == 3, "halted with 3 failures")
        self.assertIn("guard", rel["reason"])
        self.assertEqual(rel["stage"], 0)
        p = rel["progress"]
        self.assertEqual(p["failed"], 3, p)
        self.assertEqual(sorted(f["id"] for f in p["failed_clients"]),
                         sorted(c.cid for c in clients[:3]), p)
        self.assertIn("refused", p["failed_clients"][0]["error"])
        # Halted: the gray clients keep the gray values, the others the stable ones.
        self.wait_values(lambda c: (GRAY, rid), clients, "halted, gray")
        self.wait_values(lambda c: (STABLE, None), others, "halted, stable")
        # The stale view: clients whose ack is behind the namespace's revision.
        d = self.call("GET", "/api/v1/clients", params={"namespace": NS, "stale": "true"}).data
        self.assertIsInstance(d["clients"], list)
        # Abort by hand: everyone back on the stable value.
        self.call("POST", RELEASES + "/" + rid + "/abort", json_body={"reason": "bad pool"})
        self.wait_values(lambda c: (STABLE, None), clients + others, "after abort")

    def test_failed_acks_abort_the_release_with_on_failure_abort(self):
        clients, others, rid = self.run_failing_release("abort")
        rel = self.wait_release(rid, lambda r: r["state"] == "aborted", "aborted")
        self.assertIn("guard", rel["reason"])
        self.wait_values(lambda c: (STABLE, None), clients + others, "after the guard's abort")
        for c in clients:
            self.assertIsNotNone(c.configs.get("other"), c.cid)  # the delete is gone too

    def test_the_release_continues_on_a_new_leader_after_kill9(self):
        clients = self.spawn(30, lambda i: {"app": "orders"})
        rel = self.start_release({
            "namespace": NS, "changes": {KEY: GRAY},
            "target": {},
            "plan": {"stages": [{"percent": 10, "hold": "1s"}, {"percent": 50, "hold": "3s"},
                                {"percent": 100}]}})
        rid = rel["id"]
        self.wait_release(rid, lambda r: r["stage"] >= 1, "at stage 1")
        old = self.leader
        old.kill9()
        live = [n for n in self.cluster.live() if n is not old]
        self.leader = self.wait_leader(among=live, not_id=old.raft_id)
        rel = self.wait_release(rid, lambda r: r["stage"] == 2, "at stage 2 on the new leader",
                                node=self.leader)
        stages = [t["stage"] for t in rel["transitions"]]
        self.assertEqual(stages, [0, 1, 2], rel["transitions"])  # no stage was run twice
        self.wait_values(lambda c: (GRAY, rid), clients, "stage 2 (100%)")
        old.start()
        self.wait_converged()
        self.assertEqual(self.release(rid, node=old)["stage"], 2)

    def test_abort_wakes_only_the_gray_clients_back(self):
        clients = self.spawn(20, lambda i: {"app": "orders"})
        ips = self.call("POST", RELEASES, json_body={
            "namespace": NS, "changes": {KEY: GRAY},
            "target": {"ips": ["10.9.9.9/32"]}}).data  # nobody: every client is on 127.0.0.1
        self.wait_values(lambda c: (STABLE, None), clients, "ip target matches nobody")
        self.call("POST", RELEASES + "/" + ips["id"] + "/abort")
        rel = self.start_release({"namespace": NS, "changes": {KEY: GRAY},
                                  "target": {"ips": ["127.0.0.0/8"], "percent": 0}})
        self.wait_values(lambda c: (GRAY, rel["id"]), clients, "ip target matches all")
        reads_before = {c.cid: c.reads for c in clients}
        self.call("POST", RELEASES + "/" + rel["id"] + "/pause")
        self.assertEqual(self.release(rel["id"])["state"], "paused")
        self.call("POST", RELEASES + "/" + rel["id"] + "/pause", expect=40901)
        self.call("POST", RELEASES + "/" + rel["id"] + "/resume")
        self.call("POST", RELEASES + "/" + rel["id"] + "/abort")
        self.wait_values(lambda c: (STABLE, None), clients, "after abort")
        self.assertTrue(all(c.reads > reads_before[c.cid] for c in clients))

    def test_bad_input_changes_nothing(self):
        self.wait_converged()
        before = self.vars(self.leader)["revision"]
        base = {"namespace": NS, "changes": {KEY: GRAY}}
        bad = [
            (dict(base, target={"labels": {"-zone": "x"}}), 40002, "target.labels.-zone"),
            (dict(base, target={"labels": {"zone": "eu 1"}}), 40002, "target.labels.zone"),
            (dict(base, target={"percent": 101}), 40002, "target.percent"),
            (dict(base, target={"percent": -5}), 40002, "target.percent"),
            (dict(base, target={"ips": ["300.1.1.1"]}), 40002, "target.ips"),
            (dict(base, plan={"stages": [{"percent": 10, "hold": "soon"}]}), 40002,
             "plan.stages[0].hold"),
            (dict(base, changes={}), 40002, "changes"),
            (dict(base, namespace="missing"), 40402, None),
        ]
        for body, code, field in bad:
            self.call("POST", RELEASES, json_body=body, expect=code, field=field)
        self.call("GET", RELEASES + "/r-unknown", expect=40401)
        self.call("POST", RELEASES + "/r-unknown/promote", expect=40401)
        self.call("POST", "/api/v1/config/ack",
                  json_body={"namespace": NS, "revision": 1, "status": "applied"}, expect=40002,
                  field="X-Client-ID")
        self.call("POST", "/api/v1/config/ack", headers={"X-Client-ID": "a"},
                  json_body={"namespace": NS, "revision": 1, "status": "meh"}, expect=40002)
        self.call("POST", "/api/v1/config/ack", headers={"X-Client-ID": "a"},
                  json_body={"namespace": NS, "revision": 1, "status": "applied",
                             "error": "x"}, expect=40002)
        self.call("GET", "/api/v1/config/namespace/" + NS,
                  headers={"X-Client-Labels": "zone=eu-1,zone=eu-2"}, expect=40002)
        self.call("GET", "/api/v1/config/namespace/" + NS,
                  headers={"X-Client-ID": "bad id with spaces"}, expect=40002)
        self.call("GET", "/api/v1/clients", params={"label": "nope"}, expect=40002)
        # Nothing changed: the revision moves with every successful change only, and no
        # release exists.
        self.assertEqual(self.vars(self.leader)["revision"], before)
        self.assertEqual(self.call("GET", RELEASES).data["total"], 0)
        self.wait_value(self.leader, NS, KEY, STABLE)
        # Promote twice; a release on a disabled namespace.
        rel = self.start_release(dict(base, target={"percent": 50}))
        self.call("POST", RELEASES + "/" + rel["id"] + "/promote")
        self.call("POST", RELEASES + "/" + rel["id"] + "/promote", expect=40901)
        self.call("POST", RELEASES + "/" + rel["id"] + "/abort", expect=40901)
        ns_id = [n for n in self.call("GET", "/api/v1/admin/namespace/list").data["list"]
                 if n["name"] == NS][0]["id"]
        self.call("PUT", "/api/v1/admin/namespace/%d" % ns_id, json_body={"status": 0})
        self.call("POST", RELEASES, json_body=base, expect=40901)
        self.assertEqual(self.call("GET", RELEASES, params={"namespace": NS}).data["total"], 1)
