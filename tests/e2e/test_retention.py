"""Concurrency control and version retention (docs/versions.md): ETag / If-Match /
If-None-Match, many concurrent compare-and-set writers on one key, tags, namespace retention
overrides, clean-up with dry run, and the archive file."""

import glob
import json
import os
import threading
import time
import unittest

from harness import CairnTestCase

CONFIG = "/api/v1/admin/config"
GET = "/api/v1/config/get"
VERS = "/api/v1/config/versions"
HIST = "/api/v1/admin/config/history"
TAG = "/api/v1/admin/config/tag"
CLEANUP = "/api/v1/admin/config/cleanup"
ROLLBACK = "/api/v1/admin/config/rollback"


class ConditionalRequests(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.create_ns("svc")
        self.create_config("svc", "k", {"v": 1})

    def test_get_has_etag_and_if_none_match_gives_304(self):
        r = self.call("GET", GET, params={"namespace": "svc", "key": "k"})
        self.assertEqual(r.header("ETag"), '"1"', r.describe())
        same = self.http("GET", GET, params={"namespace": "svc", "key": "k"},
                         headers={"If-None-Match": '"1"'})
        self.assertEqual(same.status, 304, same.describe())
        self.assertEqual(same.body, b"")
        self.assertEqual(same.header("ETag"), '"1"')
        self.update_config("svc", "k", value={"v": 2})
        changed = self.call("GET", GET, params={"namespace": "svc", "key": "k"},
                            headers={"If-None-Match": 'W/"1"'})
        self.assertEqual(changed.header("ETag"), '"2"')
        self.assertEqual(changed.data["value"], {"v": 2})

    def test_if_match_guards_update_delete_and_rollback(self):
        before = self.revision()
        r = self.update_config("svc", "k", expect=40901, value={"v": 9},
                               headers={"If-Match": '"5"'})
        self.assertEqual(r.status, 409)
        self.assertEqual(self.revision(), before, "a failed If-Match wrote something")
        r = self.update_config("svc", "k", value={"v": 2}, headers={"If-Match": '"1"'})
        self.assertEqual(r.header("ETag"), '"2"', r.describe())
        self.update_config("svc", "k", value={"v": 3}, headers={"If-Match": "2"})
        self.update_config("svc", "k", expect=40002, value={"v": 4}, expected_version=3,
                           headers={"If-Match": '"2"'})
        self.update_config("svc", "k", expect=40001, value={"v": 4},
                           headers={"If-Match": "not-a-version"})
        self.call("POST", ROLLBACK, json_body={"namespace": "svc", "key": "k",
                                               "target_version": 1},
                  headers={"If-Match": 'W/"2"'}, expect=40901)
        r = self.call("POST", ROLLBACK, json_body={"namespace": "svc", "key": "k",
                                                   "target_version": 1},
                      headers={"If-Match": 'W/"3"'})
        self.assertEqual(r.header("ETag"), '"4"')
        self.call("DELETE", CONFIG, params={"namespace": "svc", "key": "k"},
                  headers={"If-Match": '"3"'}, expect=40901)
        self.call("DELETE", CONFIG, params={"namespace": "svc", "key": "k"},
                  headers={"If-Match": '"4"'})


class CompareAndSetWriters:
    """WRITERS threads each make WRITES_EACH read-then-`expected_version` updates of one key,
    retrying on 409/40901, writer w through servers[w % len(servers)]; then every acknowledged
    write must be in the history exactly once, versions contiguous, and each UPDATE's old value
    the previous version's new value. Used on one node and across a cluster's nodes."""
    WRITERS = 8
    WRITES_EACH = 12

    def run_cas_writers(self, servers):
        acked = []  # (version, writer, seq)
        errors = []
        conflicts = [0]
        lock = threading.Lock()
        start = threading.Barrier(self.WRITERS)

        def writer(w):
            try:
                start.wait(timeout=60)
                # One client id per writer, so that per-client rate limits apply to each.
                client = {"X-Client-ID": "writer-%d" % w}
                server = servers[w % len(servers)]
                for seq in range(self.WRITES_EACH):
                    for _ in range(1000):
                        cur = self.http("GET", GET, params={"namespace": "svc", "key": "counter"},
                                        headers=client, server=server)
                        if cur.status == 429:  # rate limited: nothing was read, try again
                            time.sleep(float(cur.header("Retry-After") or 1))
                            continue
                        version = cur.json["data"]["version"]
                        r = self.http("PUT", CONFIG, json_body={
                            "namespace": "svc", "key": "counter",
                            "value": {"writer": w, "seq": seq}, "expected_version": version},
                            headers=client, server=server)
                        if r.status == 429:  # refused before the handler: nothing written
                            time.sleep(float(r.header("Retry-After") or 1))
                            continue
                        if r.status == 200:
                            with lock:
                                acked.append((r.json["data"]["version"], w, seq))
                            self.assertEqual(r.json["data"]["old_version"], version)
                            break
                        if r.json.get("code") != 40901:
                            raise AssertionError("unexpected answer: " + r.describe())
                        with lock:
                            conflicts[0] += 1
                    else:
                        raise AssertionError("writer %d starved" % w)
            except Exception as e:  # reported by the main thread
                with lock:
                    errors.append(repr(e))

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(self.WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
            self.assertFalse(t.is_alive(), "a writer hung")
        self.assertEqual(errors, [])
        if os.environ.get("CAIRN_E2E_VERBOSE"):
            print("concurrent writers: %d conflicts (409) retried" % conflicts[0])
        total = self.WRITERS * self.WRITES_EACH
        self.assertEqual(len(acked), total)
        versions = sorted(v for v, _, _ in acked)
        self.assertEqual(versions, list(range(2, total + 2)), "versions skipped or shared")

        if hasattr(self, "wait_converged"):
            # In a cluster servers[0] may be a follower that has not applied the last write
            # acknowledged through another node yet (follower reads serve what is applied).
            self.wait_converged()
        hist = self.call("GET", HIST, params={"namespace": "svc", "key": "counter",
                                              "page_size": 1000}, server=servers[0]).data
        updates = [h for h in hist["list"] if h["operation"] == "UPDATE"]
        self.assertEqual(len(updates), total)
        seen = {}
        for h in updates:
            key = (h["version"], h["new_value"]["writer"], h["new_value"]["seq"])
            seen[key] = seen.get(key, 0) + 1
        for a in acked:
            self.assertEqual(seen.get(a), 1, "acknowledged write %r not exactly once" % (a,))
        # No lost update: every UPDATE's old value is the previous version's new value.
        chain = sorted(hist["list"], key=lambda h: h["version"])
        for prev, cur in zip(chain, chain[1:]):
            self.assertEqual(cur["old_value"], prev["new_value"])
        return hist


class ConcurrentWriters(CompareAndSetWriters, CairnTestCase):

    def test_compare_and_set_loses_no_update(self):
        self.create_ns("svc")
        self.create_config("svc", "counter", {"writer": -1, "seq": 0})
        self.run_cas_writers([self.server])


class Retention(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.create_ns("svc")
        self.create_config("svc", "k", {"v": 1})
        for i in range(2, 7):
            self.update_config("svc", "k", value={"v": i})

    def versions_kept(self):
        r = self.call("GET", VERS, params={"namespace": "svc", "key": "k", "page_size": 100})
        return r.data["list"]

    def test_tags_are_listed_and_removable(self):
        r = self.call("POST", TAG, json_body={"namespace": "svc", "key": "k", "version": 2,
                                              "tag": "release-1"}, message="标签添加成功")
        self.assertEqual(r.data["tags"], ["release-1"])
        self.call("POST", TAG, json_body={"namespace": "svc", "key": "k", "version": 3,
                                          "tag": "release-1"}, expect=40901, field="tag")
        self.call("POST", TAG, json_body={"namespace": "svc", "key": "k", "version": 99,
                                          "tag": "x"}, expect=40401)
        self.call("POST", TAG, json_body={"namespace": "svc", "key": "k", "version": 2,
                                          "tag": "bad tag"}, expect=40002, field="tag")
        tags = {v["version"]: v["tags"] for v in self.versions_kept()}
        self.assertEqual(tags[2], ["release-1"])
        self.assertEqual(tags[6], [])
        self.call("DELETE", TAG, params={"namespace": "svc", "key": "k", "version": 2,
                                         "tag": "release-1"}, message="标签删除成功")
        self.call("DELETE", TAG, params={"namespace": "svc", "key": "k", "version": 2,
                                         "tag": "release-1"}, expect=40401)
        self.assertEqual({v["version"]: v["tags"] for v in self.versions_kept()}[2], [])

    def test_cleanup_dry_run_then_archive(self):
        self.call("POST", TAG, json_body={"namespace": "svc", "key": "k", "version": 2,
                                          "tag": "golden"})
        body = {"namespace": "svc", "keep_latest": 2, "keep_days": 0}
        dry = self.call("POST", CLEANUP, json_body=dict(body, dry_run=True)).data
        self.assertTrue(dry["dry_run"])
        self.assertEqual([(x["key"], x["version"]) for x in dry["removed"]],
                         [("k", 1), ("k", 3), ("k", 4)])
        self.assertEqual(len(self.versions_kept()), 6, "a dry run removed something")
        self.assertEqual(glob.glob(os.path.join(self.server.data_dir, "archive", "*")), [])

        real = self.call("POST", CLEANUP, json_body=body).data
        self.assertFalse(real["dry_run"])
        self.assertEqual(real["removed"], dry["removed"])
        self.assertEqual([v["version"] for v in self.versions_kept()], [6, 5, 2])
        self.call("GET", GET, params={"namespace": "svc", "key": "k", "version": 3},
                  expect=40401)
        files = glob.glob(os.path.join(self.server.data_dir, "archive", "*.jsonl"))
        self.assertEqual(len(files), 1, files)
        self.assertEqual("archive/" + os.path.basename(files[0]), real["archive"])
        with open(files[0], encoding="utf-8") as f:
            lines = [json.loads(line) for line in f if line.strip()]
        self.assertEqual([(x["namespace"], x["key"], x["version"], x["value"]) for x in lines],
                         [("svc", "k", 1, {"v": 1}), ("svc", "k", 3, {"v": 3}),
                          ("svc", "k", 4, {"v": 4})])
        for x in lines:
            self.assert_time(x["created_at"])
            self.assert_time(x["removed_at"])
            self.assertEqual(x["created_by"], "anonymous")
        # The archive and the removal survive a restart.
        self.restart(self.server)
        self.assertEqual([v["version"] for v in self.versions_kept()], [6, 5, 2])

    def test_namespace_override_and_bad_requests(self):
        r = self.call("PUT", "/api/v1/admin/namespace/svc",
                      json_body={"retention": {"keep_latest": 3, "keep_days": 0}})
        self.assertEqual(r.data["retention"]["keep_latest"], 3)
        listed = self.call("GET", "/api/v1/admin/namespace/list").data["list"]
        self.assertEqual(listed[0]["retention"], {"keep_latest": 3, "keep_days": 0})
        self.call("PUT", "/api/v1/admin/namespace/svc",
                  json_body={"retention": {"keep_latest": -1}}, expect=40002)
        r = self.call("POST", CLEANUP, json_body={"dry_run": True}).data
        self.assertEqual(r["count"], 3)
        self.assertEqual(r["namespaces"], [{"namespace": "svc", "keep_latest": 3,
                                            "keep_days": 0, "removed": 3}])
        self.call("POST", CLEANUP, json_body={"namespace": "nope"}, expect=40402)
        self.call("POST", CLEANUP, json_body={"keep_days": "x"}, expect=40001)
        self.call("POST", CLEANUP, body="[1]", expect=40001)
        # Defaults (30 versions, 30 days) keep everything here.
        self.call("PUT", "/api/v1/admin/namespace/svc",
                  json_body={"retention": {"keep_latest": None, "keep_days": None}})
        self.assertEqual(self.call("POST", CLEANUP, body="").data["count"], 0)


if __name__ == "__main__":
    unittest.main()
