"""Import and export (issue 22, docs/import-export.md) on real `cairn server` processes.

Each migration source is imported from a hand-made file in tests/data/import/ (README there says
where each format is documented) and read back through the protocol its clients speak: Consul
KV, Nacos, Apollo (etcd through the native API and the Consul front-end, which share its
mapping). Cairn's own export is imported into a fresh node in every format; the dry run, the
conflict policies, schemas, secrets and the audit log are checked on the native API.
"""

import base64
import json
import os
import urllib.parse
import zipfile
import io

from cluster import ClusterCase
from harness import CairnTestCase
from test_auth import ROOT, RootTokenEnv, bearer

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "import")
IMPORT = "/api/v1/admin/import"
EXPORT = "/api/v1/admin/export"


def data_file(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


class ImportMixin:
    def import_file(self, body, expect=0, server=None, token=None, **params):
        headers = {"Content-Type": "application/octet-stream"}
        if token:
            headers.update(bearer(token))
        r = self.http("POST", IMPORT, params=params, body=body, headers=headers, server=server)
        self.check_envelope(r)
        self.assertEqual(r.code, expect, r.describe())
        return r

    def export(self, server=None, token=None, expect_status=200, **params):
        r = self.http("GET", EXPORT, params=params, server=server,
                      headers=bearer(token) if token else None)
        self.assertEqual(r.status, expect_status, r.describe())
        return r

    def actions(self, data):
        return {(i["namespace"], i["key"]): i["action"] for i in data["items"]}


class Migration(ImportMixin, CairnTestCase):
    def test_consul_kv_export_reads_back_through_the_consul_front_end(self):
        raw = data_file("consul-kv-export.json")
        entries = json.loads(raw)
        preview = self.import_file(raw, source="consul", dry_run="true").data
        self.assertFalse(preview["written"])
        self.assertEqual(preview["summary"]["create"], len(entries), preview)
        self.assertEqual(self.http("GET", "/v1/kv/orders/db/url").status, 404)  # nothing written
        done = self.import_file(raw, source="consul").data
        self.assertTrue(done["written"])
        self.assertEqual(done["summary"]["create"], len(entries))
        for e in entries:
            r = self.http("GET", "/v1/kv/" + e["key"])
            self.assertEqual(r.status, 200, r.describe())
            kv = json.loads(r.body)[0]
            self.assertEqual(kv["Key"], e["key"])
            self.assertEqual(kv["Value"], e["value"], "value byte for byte: " + e["key"])
            self.assertEqual(kv["Flags"], e["flags"], e["key"])
        r = self.http("GET", "/v1/kv/orders?recurse")
        self.assertEqual(sorted(x["Key"] for x in json.loads(r.body)),
                         sorted(e["key"] for e in entries if e["key"].startswith("orders/")))
        # The same file again: every key unchanged, nothing written.
        again = self.import_file(raw, source="consul").data
        self.assertEqual(again["summary"]["unchanged"], len(entries), again)

    def test_etcd_get_prefix_json(self):
        raw = data_file("etcdctl-get-prefix.json")
        self.import_file(raw, source="etcd")
        got = self.get_config("payments", "db/url").data
        self.assertEqual(got["value"], "postgres://db:5432/payments")
        self.assertEqual(self.get_config("payments", "limits.json").data["value"], '{"max": 100}')
        r = self.http("GET", "/v1/kv/payments/retry?raw")
        self.assertEqual(r.body, b"3")

    def test_nacos_export_zip_reads_back_through_the_nacos_api(self):
        raw = data_file("nacos-config-export.zip")
        files = {}
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            for name in z.namelist():
                if not name.startswith("."):
                    files[name] = z.read(name)
        self.import_file(raw, source="nacos")
        self.import_file(raw, source="nacos", tenant="dev")
        for name, content in files.items():
            group, data_id = name.split("/")
            for tenant in ("", "dev"):
                q = {"dataId": data_id, "group": group}
                if tenant:
                    q["tenant"] = tenant
                r = self.http("GET", "/nacos/v1/cs/configs?" + urllib.parse.urlencode(q))
                self.assertEqual(r.status, 200, r.describe())
                self.assertEqual(r.body, content, name)
        v1 = self.import_file(data_file("nacos-config-export-v1.zip"), source="nacos").data
        self.assertEqual(v1["summary"]["create"], 1, v1)
        r = self.http("GET", "/nacos/v1/cs/configs?dataId=legacy.properties&group=DEFAULT_GROUP")
        self.assertEqual(r.body, b"a=1\n")

    def test_apollo_namespace_files_read_back_through_the_config_service(self):
        props = data_file("application.properties")
        self.import_file(props, source="apollo", filename="application.properties")
        r = self.http("GET", "/configs/sample-app/default/application")
        self.assertEqual(r.status, 200, r.describe())
        conf = json.loads(r.body)["configurations"]
        self.assertEqual(conf, {"timeout": "30", "db.url": "jdbc:mysql://db:3306/app?useSSL=false",
                                "greeting": "Hello, caf\u00e9", "multi.line": "first second",
                                "empty": ""})
        doc = data_file("app.yaml")
        self.import_file(doc, source="apollo", namespace="app.yaml")
        r = self.http("GET", "/configfiles/raw/sample-app/default/app.yaml")
        self.assertEqual(r.status, 200, r.describe())
        self.assertEqual(r.body, doc)

    def test_bad_input_changes_nothing(self):
        self.import_file(b"{", expect=40001, source="consul")
        self.import_file(b'[{"key":"nons","value":"eA=="}]', expect=40002, source="consul")
        self.import_file(b"x", expect=40002, source="zookeeper")
        self.import_file(b"PK\x03\x04broken", expect=40001, source="nacos")
        self.import_file(b"a=1", expect=40001, source="apollo")  # no namespace, no file name
        self.import_file(b"[]", expect=40002, source="consul", on_conflict="maybe")
        r = self.http("POST", IMPORT, params={"source": "consul"})
        self.assertEqual(r.code, 40001, r.describe())
        self.assertEqual(self.ns_list()["pagination"]["total"], 0)


class NativeRoundTrip(ImportMixin, CairnTestCase):
    def fill(self):
        self.create_ns("app", description="the app")
        self.call("POST", "/api/v1/admin/config",
                  body='{"namespace":"app","key":"ratio","value":{"r":1.50,'
                       '"big":18446744073709551616},"description":"numbers keep their digits"}')
        self.create_config("app", "flag", True)
        self.update_config("app", "flag", status=0)
        self.create_config("app", "name", "caf\u00e9")
        self.create_ns("other")
        self.create_config("other", "k", [1, 2])

    def rows(self, server):
        out = {}
        for ns in ("app", "other"):
            for c in self.config_list(server=server, namespace=ns, page_size=100)["list"]:
                out[(ns, c["key"])] = (json.dumps(c["value"]), c["description"], c["status"])
        return out

    def test_export_then_import_into_a_fresh_node_in_every_format(self):
        self.fill()
        for fmt in ("json", "yaml", "zip"):
            r = self.export(namespace="all", format=fmt)
            self.assertIn("attachment", r.header("Content-Disposition"))
            self.assertEqual(r.header("X-Cairn-Export-Namespaces"), "2")
            if fmt == "json":
                doc = json.loads(r.body)
                self.assertEqual(doc["format"], "cairn-export")
                self.assertIn(b'"big":18446744073709551616', r.body)
                self.assertIn(b'"r":1.50', r.body)
            other = self.start_server()
            done = self.import_file(r.body, server=other, format=fmt).data
            self.assertEqual(done["summary"]["create"], 4, done)
            self.assertEqual(self.rows(other), self.rows(self.server), fmt)
            desc = self.call("GET", "/api/v1/admin/namespace/list", server=other).data["list"]
            self.assertIn("the app", [n["description"] for n in desc])
        r = self.http("GET", EXPORT, params={"namespace": "nope"})
        self.assertEqual(r.code, 40402, r.describe())
        r = self.http("GET", EXPORT, params={"namespace": "app", "format": "xml"})
        self.assertEqual(r.code, 40002, r.describe())

    def test_dry_run_and_conflict_policies(self):
        self.fill()
        exported = self.export(namespace="app").body
        self.update_config("app", "name", value="changed")
        self.create_config("app", "extra", 1)
        # The file says name=café: a conflict; the rest unchanged.
        preview = self.import_file(exported, dry_run="true").data
        acts = self.actions(preview)
        self.assertEqual(acts[("app", "name")], "conflict", preview)
        self.assertEqual(acts[("app", "ratio")], "unchanged")
        self.assertEqual(preview["summary"]["conflict"], 1)
        rev = self.revision()
        r = self.import_file(exported, expect=40901)
        self.assertEqual([i["key"] for i in r.error["items"]], ["name"], r.describe())
        self.assertEqual(self.revision(), rev, "abort wrote something")
        skipped = self.import_file(exported, on_conflict="skip").data
        self.assertEqual(self.actions(skipped)[("app", "name")], "conflict")
        self.assertEqual(self.get_config("app", "name").data["value"], "changed")
        over = self.import_file(exported, on_conflict="overwrite", dry_run="1").data
        self.assertEqual(self.actions(over)[("app", "name")], "update")
        over = self.import_file(exported, on_conflict="overwrite").data
        self.assertTrue(over["written"])
        self.assertEqual(self.get_config("app", "name").data["value"], "caf\u00e9")
        self.assertEqual(self.get_config("app", "extra").data["value"], 1)  # not in the file: kept
        audit = self.call("GET", "/api/v1/admin/audit",
                          params={"action": "config.import"}).data["list"]
        self.assertTrue(audit, "no config.import audit entry")
        self.assertEqual(audit[0]["namespace"], "app")

    def test_schema_violations_in_the_preview_refuse_the_import(self):
        self.create_ns("typed")
        self.call("PUT", "/api/v1/admin/namespace/typed",
                  json_body={"schemas": [{"keys": "port", "schema": {"type": "integer"}}]})
        body = json.dumps({"namespaces": [{"name": "typed", "configs": [
            {"key": "port", "value": "eighty"}, {"key": "host", "value": "db"}]}]})
        preview = self.import_file(body, dry_run="true").data
        bad = [i for i in preview["items"] if i["action"] == "invalid"]
        self.assertEqual([i["key"] for i in bad], ["port"], preview)
        self.assertTrue(bad[0]["violations"])
        r = self.import_file(body, expect=40002)
        self.assertEqual(r.error["items"][0]["key"], "port", r.describe())
        self.get_config("typed", "host", expect=40403)  # nothing written


class Secrets(ImportMixin, CairnTestCase):
    KEY = "k1:" + base64.b64encode(bytes(range(32))).decode()

    def setUp(self):
        old = os.environ.get("CAIRN_SECRET_KEY")
        os.environ["CAIRN_SECRET_KEY"] = self.KEY
        self.addCleanup(lambda: os.environ.__setitem__("CAIRN_SECRET_KEY", old)
                        if old is not None else os.environ.pop("CAIRN_SECRET_KEY", None))
        super().setUp()

    def test_secrets_exported_sealed_unless_revealed_and_imported_again(self):
        self.call("POST", "/api/v1/admin/namespace",
                  json_body={"name": "pay", "secret_keys": ["*.password"]})
        self.create_config("pay", "db.password", "hunter2")
        self.call("POST", "/api/v1/admin/config",
                  json_body={"namespace": "pay", "key": "stripe", "value": "sk_live", "secret": True})
        sealed = self.export(namespace="pay").body
        self.assertNotIn(b"hunter2", sealed)
        self.assertNotIn(b"sk_live", sealed)
        self.assertIn(b'"$sealed"', sealed)
        revealed = self.export(namespace="pay", reveal="true").body
        self.assertIn(b'"hunter2"', revealed)
        # Sealed values come back through this node's keys, bound to their namespace and key.
        self.call("DELETE", "/api/v1/admin/config", params={"namespace": "pay", "key": "stripe"})
        done = self.import_file(sealed).data
        self.assertEqual(self.actions(done)[("pay", "stripe")], "create", done)
        got = self.call("GET", "/api/v1/config/get",
                        params={"namespace": "pay", "key": "stripe", "reveal": "true"}).data
        self.assertEqual(got["value"], "sk_live")
        self.assertTrue(got["secret"])
        # A node without the key cannot open them: refused, nothing written; revealed files work.
        os.environ.pop("CAIRN_SECRET_KEY")
        bare = self.start_server()
        r = self.import_file(sealed, expect=40002, server=bare)
        self.assertIn("cannot be opened", json.dumps(r.error))
        r = self.import_file(revealed, expect=40002, server=bare)  # a secret needs a key to seal
        self.assertIn("no secret key", json.dumps(r.error))
        self.assertEqual(self.ns_list(server=bare)["pagination"]["total"], 0)


class Permissions(ImportMixin, RootTokenEnv, CairnTestCase):
    START_SERVER = False

    def setUp(self):
        super().setUp()
        self.set_root_env()
        self.server = self.start_server(["--auth-enabled", "--rate-limit-enabled=false"])

    def test_grants_decide_per_namespace_and_a_refusal_writes_nothing(self):
        _, writer = self.make_token("importer", [{"namespace": "orders", "permission": "write"}])
        _, reader = self.make_token("reader", [{"namespace": "orders", "permission": "read"}])
        raw = data_file("consul-kv-export.json")  # orders/… and billing/…
        r = self.import_file(raw, expect=40301, token=writer, source="consul")
        self.assertIn("billing", r.describe())
        self.call("GET", "/api/v1/config/get", params={"namespace": "orders", "key": "db/url"},
                  headers=bearer(ROOT), expect=40402)
        only_orders = json.dumps([e for e in json.loads(raw) if e["key"].startswith("orders/")])
        done = self.import_file(only_orders, token=writer, source="consul").data
        self.assertEqual(done["summary"]["create"], 4, done)
        self.import_file(only_orders, expect=40301, token=reader, source="consul")
        hist = self.call("GET", "/api/v1/admin/config/history",
                         params={"namespace": "orders", "key": "db/url"},
                         headers=bearer(ROOT)).data["list"]
        self.assertEqual(hist[0]["operator"], "importer")
        # Export: read is enough; `all` is what the token reads; reveal needs its grant.
        doc = json.loads(self.export(token=reader, namespace="all").body)
        self.assertEqual([n["name"] for n in doc["namespaces"]], ["orders"])
        r = self.export(token=reader, namespace="orders", reveal="true", expect_status=403)
        self.assertEqual(json.loads(r.body)["code"], 40301)
        self.export(token=writer, namespace="billing", expect_status=403)
        r = self.http("GET", EXPORT, params={"namespace": "orders"})
        self.assertEqual(r.status, 401, r.describe())
