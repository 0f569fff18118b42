"""The files in deploy/ (docs/deploy.md; issue 15 items 17-19), each checked by the tool that
runs it, and the nginx configuration run for real in front of a real 3-node cluster.

- deploy/alertmanager/alertmanager.yml: `amtool check-config`, `amtool config routes test`
  for every severity the Prometheus rules (deploy/prometheus/alerts.yml) use, then a real
  Alertmanager given live alerts: each reaches its severity's receiver, consequences are muted.
- deploy/systemd/cairn.service: `systemd-analyze verify` and `systemd-analyze security
  --offline=yes` (exposure at most 2.0), with ExecStart pointing at the binary under test.
- deploy/rsyslog/cairn.conf: `rsyslogd -N1`, then a real rsyslogd reading a real node's log and
  sending its access-log lines to an Elasticsearch bulk endpoint played by the test.
- deploy/nginx/cairn.conf: `nginx -t`, then a real nginx (non-daemon child, its own prefix) in
  front of three nodes: reads, writes, request ids and trace context, a long poll and an SSE
  stream that see a change, a body over nginx's default limit, the client id the nodes see, a
  killed leader, no node left.
- docs: departures.md and deploy.md are there and linked; api.md has no "later release" left.

A test skips only when the tool it needs is not installed (scripts/deps.sh installs them all),
or, for systemd-analyze, when it cannot run at all in this environment (it says why).
"""

import contextlib
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from cluster import ClusterCase, eventually
from harness import CairnTestCase, Process, free_port, raw_request
from test_watch import SseReader

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEPLOY = os.path.join(REPO, "deploy")
ALERTMANAGER_YML = os.path.join(DEPLOY, "alertmanager", "alertmanager.yml")
ALERTS_YML = os.path.join(DEPLOY, "prometheus", "alerts.yml")
UNIT = os.path.join(DEPLOY, "systemd", "cairn.service")
RSYSLOG_CONF = os.path.join(DEPLOY, "rsyslog", "cairn.conf")
NGINX_CONF = os.path.join(DEPLOY, "nginx", "cairn.conf")

TOOL_TIMEOUT = 60  # seconds for one run of a checker


def run_tool(args, **kw):
    return subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=TOOL_TIMEOUT, **kw)


def output(proc):
    return proc.stdout.decode("utf-8", errors="replace")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def alert_severities():
    """{alert name: severity} of every rule in deploy/prometheus/alerts.yml."""
    out = {}
    name = None
    for line in read(ALERTS_YML).splitlines():
        m = re.match(r"\s*- alert:\s*(\S+)", line)
        if m:
            name = m.group(1)
        m = re.match(r"\s*severity:\s*(\S+)", line)
        if m and name:
            out[name] = m.group(1).strip("'\"")
    return out


class ChildProcess(Process):
    """A tool run as a child for the length of a test, registered with the launcher so that the
    runner's watchdog stops it (by PID) whatever happens. nginx's workers are in the master's
    session (process group = the master's PID): stop() SIGKILLs the group so none outlives it."""

    def __init__(self, args, log_path, cwd=None):
        super().__init__(args, log_path, cwd=cwd, kill_group=True)

    def log(self):
        return self.log_tail()


# -- Alertmanager ---------------------------------------------------------------------------

@unittest.skipUnless(shutil.which("amtool"),
                     "amtool not installed (Debian package prometheus-alertmanager)")
class Alertmanager(unittest.TestCase):

    def test_amtool_accepts_the_configuration(self):
        p = run_tool(["amtool", "check-config", ALERTMANAGER_YML])
        self.assertEqual(p.returncode, 0, output(p))
        self.assertIn("SUCCESS", output(p))
        self.assertRegex(output(p), r"\b[1-9]\d* inhibit rules")

    def route(self, *labels):
        p = run_tool(["amtool", "config", "routes", "test", "--config.file=" + ALERTMANAGER_YML]
                     + list(labels))
        self.assertEqual(p.returncode, 0, output(p))
        lines = [ln for ln in output(p).splitlines() if ln and not ln.startswith("Warning")]
        return lines[-1].strip()

    def test_every_alert_is_routed_by_its_severity(self):
        sev = alert_severities()
        self.assertGreaterEqual(len(sev), 6, "rules found in alerts.yml: %s" % sev)
        self.assertEqual(set(sev.values()), {"critical", "warning"}, sev)
        for alert, severity in sorted(sev.items()):
            self.assertEqual(self.route("alertname=" + alert, "severity=" + severity,
                                        "instance=n1"),
                             "cairn-" + severity, "%s (severity %s)" % (alert, severity))
        # A label no rule uses falls through to the default receiver.
        self.assertEqual(self.route("alertname=Other", "severity=info"), "cairn-default")
        self.assertEqual(self.route("alertname=Other"), "cairn-default")

    def test_inhibit_rules_name_alerts_that_exist(self):
        text = read(ALERTMANAGER_YML)
        names = set(alert_severities())
        named = set()
        for m in re.finditer(r"alertname=~?\\?\"([^\"\\]+)\\?\"", text):
            named.update(m.group(1).split("|"))
        self.assertTrue(named, "no alertname in the inhibit rules")
        self.assertLessEqual(named, names, "inhibit rules name alerts alerts.yml does not have")


@unittest.skipUnless(shutil.which("prometheus-alertmanager"),
                     "prometheus-alertmanager not installed "
                     "(Debian package prometheus-alertmanager)")
class AlertmanagerRunning(CairnTestCase):
    """The shipped configuration in a real Alertmanager: routing and inhibition of live alerts."""

    START_SERVER = False

    def test_alerts_are_routed_and_consequences_inhibited(self):
        d = self.new_data_dir("alertmanager")
        for attempt in range(harness.START_ATTEMPTS):
            port = free_port()
            am = ChildProcess(["prometheus-alertmanager", "--config.file=" + ALERTMANAGER_YML,
                               "--storage.path=" + d, "--web.listen-address=127.0.0.1:%d" % port,
                               "--cluster.listen-address="],
                              os.path.join(d, "out-%d.log" % attempt), cwd=d)
            self.addCleanup(am.stop)
            ok, _ = eventually(lambda: not am.alive() or raw_request(
                port, "GET", "/-/ready", timeout=2).status == 200, 20)
            if am.alive() or "address already in use" not in am.log():
                break  # up, or failed for another reason than a port taken meanwhile
        self.assertTrue(ok and am.alive(), "alertmanager did not get ready: " + am.log())

        def alert(name, severity, instance):
            return {"labels": {"alertname": name, "severity": severity, "instance": instance,
                               "job": "cairn"},
                    "annotations": {"summary": name}}
        sent = [alert("DatabaseDown", "critical", "n1"), alert("HighErrorRate", "critical", "n1"),
                alert("HighAPILatency", "warning", "n1"), alert("HighErrorRate", "critical", "n2"),
                alert("LowCacheHitRate", "warning", "n2"), alert("Unknown", "info", "n3")]
        r = raw_request(port, "POST", "/api/v2/alerts", body=json.dumps(sent),
                        headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r.text)

        expected = {
            ("DatabaseDown", "n1"): ("active", ["cairn-critical"]),
            # the database is the cause: the error rate of that node is its consequence
            ("HighErrorRate", "n1"): ("suppressed", ["cairn-critical"]),
            # a node with a critical alert: its warnings are muted
            ("HighAPILatency", "n1"): ("suppressed", ["cairn-warning"]),
            ("HighErrorRate", "n2"): ("active", ["cairn-critical"]),
            ("LowCacheHitRate", "n2"): ("suppressed", ["cairn-warning"]),
            ("Unknown", "n3"): ("active", ["cairn-default"]),
        }

        def states():
            got = raw_request(port, "GET", "/api/v2/alerts", timeout=5)
            out = {}
            for a in json.loads(got.text):
                key = (a["labels"]["alertname"], a["labels"]["instance"])
                out[key] = (a["status"]["state"], sorted(x["name"] for x in a["receivers"]))
            return out
        # The inhibitor learns of new source alerts in the background: wait for it to settle.
        eventually(lambda: states() == expected, 20, 0.2)
        self.assertEqual(states(), expected)


# -- systemd ----------------------------------------------------------------------------------

@unittest.skipUnless(shutil.which("systemd-analyze"),
                     "systemd-analyze not installed (Debian package systemd)")
class SystemdUnit(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cairn-e2e-unit-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def unit_for_test(self, exec_path):
        """The shipped unit with ExecStart on `exec_path`: verify wants the binary to exist."""
        text = read(UNIT)
        self.assertIn("ExecStart=/usr/local/bin/cairn ", text)
        path = os.path.join(self.tmp, "cairn.service")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace("ExecStart=/usr/local/bin/cairn ", "ExecStart=%s " % exec_path))
        return path

    def binary(self):
        b = harness.BINARY
        if not b or not os.path.exists(b):
            self.skipTest("no cairn binary given (run through run.py --binary)")
        return os.path.abspath(b)

    def analyze_works_here(self):
        """systemd-analyze verify on a minimal unit: when even that fails, the tool cannot run
        in this environment (no systemd to talk to, a sandbox refusing it); skip with its
        output."""
        path = os.path.join(self.tmp, "probe.service")
        with open(path, "w", encoding="utf-8") as f:
            f.write("[Service]\nType=oneshot\nExecStart=/bin/true\n")
        p = run_tool(["systemd-analyze", "verify", path], cwd=self.tmp)
        if p.returncode != 0:
            self.skipTest("systemd-analyze verify cannot run here (even a minimal unit fails): "
                          + output(p)[:500])

    def directives(self):
        out = {}
        for line in read(UNIT).splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "[")):
                k, _, v = line.partition("=")
                out.setdefault(k, []).append(v)
        return out

    def test_the_unit_has_the_hardening_options(self):
        d = self.directives()
        want = {"User": "cairn", "ProtectSystem": "strict", "ReadWritePaths": "/var/lib/cairn",
                "NoNewPrivileges": "true", "PrivateTmp": "true", "ProtectHome": "true",
                "CapabilityBoundingSet": "", "Restart": "on-failure", "StateDirectory": "cairn"}
        for k, v in want.items():
            self.assertEqual(d.get(k), [v], "%s= in %s" % (k, UNIT))
        nofile = int(d["LimitNOFILE"][0])
        self.assertGreaterEqual(nofile, 65536, "LimitNOFILE: every held watch is a socket")
        self.assertRegex(d["ExecStart"][0], r"^/usr/local/bin/cairn server --config \S+$")

    def test_systemd_analyze_verify(self):
        self.analyze_works_here()
        path = self.unit_for_test(self.binary())
        p = run_tool(["systemd-analyze", "verify", path], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, output(p))
        self.assertEqual(output(p).strip(), "", "verify warns: " + output(p))

    def test_systemd_analyze_security_exposure(self):
        self.analyze_works_here()
        path = self.unit_for_test(self.binary())
        p = run_tool(["systemd-analyze", "security", "--offline=yes", path], cwd=self.tmp)
        if p.returncode != 0 and re.search(r"unrecognized option|--offline", output(p)):
            self.skipTest("systemd-analyze security has no --offline here (systemd < 252)")
        self.assertEqual(p.returncode, 0, output(p))
        m = re.search(r"Overall exposure level for \S+: (\d+\.\d)", output(p))
        self.assertTrue(m, output(p)[-1500:])
        self.assertLessEqual(float(m.group(1)), 2.0, "exposure too high:\n" + output(p))


# -- rsyslog ----------------------------------------------------------------------------------

def omelasticsearch_installed():
    return any(os.path.exists(os.path.join(d, "omelasticsearch.so"))
               for d in ("/usr/lib/x86_64-linux-gnu/rsyslog", "/usr/lib/aarch64-linux-gnu/rsyslog",
                         "/usr/lib/rsyslog", "/usr/lib64/rsyslog"))


class FakeElasticsearch:
    """An Elasticsearch bulk endpoint: records every document POSTed to /_bulk."""

    def __init__(self):
        self.docs = []    # (index, document text)
        self.lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, obj):
                body = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # the health check rsyslog makes before (re)sending
                self.answer({"status": "green", "version": {"number": "8.11.0"}})

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                lines = [ln for ln in body.decode("utf-8").split("\n") if ln]
                items = []
                with owner.lock:
                    for action, doc in zip(lines[0::2], lines[1::2]):
                        meta = json.loads(action)
                        index = next(iter(meta.values())).get("_index")
                        owner.docs.append((self.path, index, doc))
                        items.append({"index": {"_index": index, "status": 201}})
                self.answer({"took": 1, "errors": False, "items": items})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def documents(self):
        with self.lock:
            return list(self.docs)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@unittest.skipUnless(shutil.which("rsyslogd") and omelasticsearch_installed(),
                     "rsyslogd with omelasticsearch not installed (Debian packages rsyslog, "
                     "rsyslog-elasticsearch)")
class RsyslogToElasticsearch(CairnTestCase):

    START_SERVER = False  # the forwarding test starts its own

    def test_rsyslogd_accepts_the_configuration(self):
        p = run_tool(["rsyslogd", "-N1", "-f", RSYSLOG_CONF], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, output(p))
        self.assertNotRegex(output(p), r"(?i)error|warning", output(p))
        # As installed: a drop-in of Debian's own /etc/rsyslog.conf (its rsyslog.d/ replaced by
        # a directory of ours holding only this file).
        if not os.path.exists("/etc/rsyslog.conf"):
            return
        main = read("/etc/rsyslog.conf")
        self.assertIn("/etc/rsyslog.d/*.conf", main)
        d = self.new_data_dir("rsyslog.d")
        shutil.copy(RSYSLOG_CONF, os.path.join(d, "30-cairn.conf"))
        conf = os.path.join(self.tmp, "rsyslog.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(main.replace("/etc/rsyslog.d/*.conf", os.path.join(d, "*.conf")))
        p = run_tool(["rsyslogd", "-N1", "-f", conf], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, output(p))
        self.assertNotRegex(output(p), r"(?i)error|warning", output(p))

    def test_access_log_lines_reach_a_bulk_endpoint_as_they_were_written(self):
        self.server = self.start_server()
        es = FakeElasticsearch()
        self.addCleanup(es.close)
        shipped = read(RSYSLOG_CONF)
        for old in ('serverport="9200"', 'errorFile="/var/log/cairn-elasticsearch-errors.json"'):
            self.assertIn(old, shipped)
        conf_dir = self.new_data_dir("rsyslog")
        shipped = shipped.replace('serverport="9200"', 'serverport="%d"' % es.port).replace(
            "/var/log/cairn-elasticsearch-errors.json", os.path.join(conf_dir, "errors.json"))
        with open(os.path.join(conf_dir, "cairn.conf"), "w", encoding="utf-8") as f:
            f.write(shipped)
        # The node's own log file stands for the journal: same lines, tagged "cairn".
        main = os.path.join(conf_dir, "rsyslog.conf")
        with open(main, "w", encoding="utf-8") as f:
            f.write('global(workDirectory="%s")\n'
                    'module(load="imfile" mode="polling" pollingInterval="1")\n'
                    'input(type="imfile" file="%s" tag="cairn:" freshStartTail="off")\n'
                    'include(file="%s")\n'
                    % (conf_dir, self.server.log_path, os.path.join(conf_dir, "cairn.conf")))
        p = run_tool(["rsyslogd", "-N1", "-f", main], cwd=conf_dir)
        self.assertEqual(p.returncode, 0, output(p))

        self.create_ns("ship-svc")
        self.create_config("ship-svc", "db", {"host": "a"}, headers={"X-Request-ID": "ship-1",
                                                                   "X-Client-ID": "app-1"})
        self.call("GET", "/api/v1/config/get", params={"namespace": "ship-svc", "key": "db"},
                  headers={"X-Request-ID": "ship-2", "User-Agent": "ship/1.0"})
        self.call("GET", "/api/v1/config/get", params={"namespace": "ship-svc", "key": "nope"},
                  headers={"X-Request-ID": "ship-3"}, expect=40403)

        rs = ChildProcess(["rsyslogd", "-n", "-f", main, "-i", os.path.join(conf_dir, "pid")],
                          os.path.join(conf_dir, "rsyslogd.log"), cwd=conf_dir)
        self.addCleanup(rs.stop)

        def shipped_ids():
            return {json.loads(doc).get("request_id") for _, _, doc in es.documents()}
        got, _ = eventually(lambda: {"ship-1", "ship-2", "ship-3"} <= shipped_ids(), 30, 0.2)
        self.assertTrue(got, "documents received: %s\nrsyslogd: %s"
                        % (es.documents()[:10], rs.log()))

        # Every document is an access-log line of the node, byte for byte; nothing else is sent.
        lines = {}
        for line in read(self.server.log_path).splitlines():
            m = re.match(r"^\S+ info (\{\"request_id\":.*)$", line)
            if m:
                lines[json.loads(m.group(1))["request_id"]] = m.group(1)
        docs = es.documents()
        for path, index, doc in docs:
            self.assertEqual(path, "/_bulk")
            self.assertRegex(index, r"^cairn-access-\d{4}\.\d{2}\.\d{2}$")
            rid = json.loads(doc)["request_id"]
            self.assertIn(rid, lines, "a document that is no access-log line: " + doc)
            self.assertEqual(doc, lines[rid])
        by_id = {json.loads(doc)["request_id"]: json.loads(doc) for _, _, doc in docs}
        self.assertEqual(by_id["ship-1"]["namespace"], "ship-svc")
        self.assertEqual(by_id["ship-1"]["client_id"], "app-1")
        self.assertEqual((by_id["ship-2"]["status_code"], by_id["ship-2"]["user_agent"]),
                         (200, "ship/1.0"))
        self.assertEqual((by_id["ship-3"]["status_code"], by_id["ship-3"]["error_code"]),
                         (404, 40403))


# -- docs -------------------------------------------------------------------------------------

class Docs(unittest.TestCase):
    """The pages that describe these files (issue 15 item 14)."""

    def test_departures_page_is_linked_and_api_has_no_later_release(self):
        dep = read(os.path.join(REPO, "docs", "departures.md"))
        for must in ("_seconds", "SQLite", "Raft", "OTLP", "config:{ns}:{key}",
                     "admin GETs (lists, history) count as reads", "rsyslog", "Vector",
                     "Fluent Bit", "Filebeat"):
            self.assertIn(must, dep)
        api = read(os.path.join(REPO, "docs", "api.md"))
        self.assertNotIn("later release", api)
        self.assertIn("(departures.md)", api)
        self.assertIn("(docs/departures.md)", read(os.path.join(REPO, "README.md")))

    def test_deploy_page_names_every_file_in_deploy(self):
        page = read(os.path.join(REPO, "docs", "deploy.md"))
        for root, _, files in os.walk(DEPLOY):
            for f in files:
                rel = os.path.relpath(os.path.join(root, f), REPO)
                self.assertTrue(rel in page or f in page, "docs/deploy.md does not name " + rel)


# -- nginx ------------------------------------------------------------------------------------

class Proxy:
    """What harness.CairnTestCase.http needs of a server: its port."""

    def __init__(self, port):
        self.port = port


def nginx_site(cluster_nodes, port, buffering=None):
    """The shipped deploy/nginx/cairn.conf with the three node addresses and the listen line
    replaced; everything else as shipped."""
    text = read(NGINX_CONF)
    addrs = iter(n.http_addr for n in cluster_nodes)
    text, n = re.subn(r"(?m)^(\s*server\s+)10\.0\.0\.1[123]:8080\b",
                      lambda m: m.group(1) + next(addrs), text)
    assert n == 3, "expected 3 upstream servers in %s, found %d" % (NGINX_CONF, n)
    text, n = re.subn(r"(?m)^(\s*)listen 80;", r"\1listen 127.0.0.1:%d;" % port, text)
    assert n == 1, "expected one `listen 80;` in %s" % NGINX_CONF
    if buffering is not None:  # only for proving that the SSE test needs `proxy_buffering off`
        text = text.replace("proxy_buffering off;", "proxy_buffering %s;" % buffering)
    return text


def nginx_main(prefix, site_path):
    temp = "".join("    %s_temp_path %s;\n" % (k, os.path.join(prefix, k))
                   for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # As root, nginx would switch its workers to `nobody`, who cannot enter the test's 0700
    # temporary directory.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return ("%sworker_processes 1;\npid %s;\nerror_log %s info;\n"
            "events { worker_connections 1024; }\n"
            "http {\n    access_log %s;\n%s    include %s;\n}\n"
            % (user, os.path.join(prefix, "nginx.pid"), os.path.join(prefix, "error.log"),
               os.path.join(prefix, "access.log"), temp, site_path))


@unittest.skipUnless(shutil.which("nginx") or os.path.exists("/usr/sbin/nginx"),
                     "nginx not installed (Debian package nginx)")
class NginxInFrontOfACluster(ClusterCase):
    """deploy/nginx/cairn.conf run by a real nginx in front of three real nodes."""

    NGINX_BUFFERING = None
    CLUSTER_ARGS = ("--access-log=true",)  # after cluster.QUIET_ARGS: the last one wins

    def setUp(self):
        super().setUp()
        self.nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proxy = self.start_nginx()

    def start_nginx(self):
        prefix = self.new_data_dir("nginx")
        for attempt in range(harness.START_ATTEMPTS):
            port = free_port()
            site = os.path.join(prefix, "cairn.conf")
            with open(site, "w", encoding="utf-8") as f:
                f.write(nginx_site(self.cluster.all(), port, self.NGINX_BUFFERING))
            main = os.path.join(prefix, "nginx.conf")
            with open(main, "w", encoding="utf-8") as f:
                f.write(nginx_main(prefix, site))
            args = [self.nginx_bin, "-p", prefix, "-c", main, "-e", "stderr"]
            t = run_tool(args + ["-t"])
            self.assertEqual(t.returncode, 0, "nginx -t: " + output(t))
            proc = ChildProcess(args + ["-g", "daemon off;"],
                                os.path.join(prefix, "nginx-%d.out" % attempt))
            self.addCleanup(proc.stop)
            self.nginx = proc
            deadline = time.monotonic() + harness.START_TIMEOUT
            while time.monotonic() < deadline and proc.alive():
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    return Proxy(port)
                time.sleep(0.05)
            log = proc.log()
            proc.stop()
            if "Address already in use" not in log:
                self.fail("nginx did not start: " + log)
        self.fail("nginx could not bind a port after %d attempts" % harness.START_ATTEMPTS)

    def via(self, method, path, **kw):
        return self.http(method, path, server=self.proxy, **kw)

    def get(self, key, ns="svc", **kw):
        return self.via("GET", "/api/v1/config/get", params={"namespace": ns, "key": key}, **kw)

    def ready(self):
        """A namespace and a key, on every node, written through nginx."""
        self.write_until_ok(lambda: self.via("POST", "/api/v1/admin/namespace",
                                             json_body={"name": "svc"}), what="create svc")
        self.write_until_ok(lambda: self.via("POST", "/api/v1/admin/config",
                                             json_body={"namespace": "svc", "key": "db",
                                                        "value": {"host": "a"}}),
                            what="create svc/db")
        for n in self.cluster.live():
            self.wait_value(n, "svc", "db", {"host": "a"})

    def revision(self):
        return self.call("GET", "/api/v1/config/namespace/svc", server=self.proxy).data["version"]

    def test_reads_writes_and_request_ids_through_nginx(self):
        self.ready()
        # Round robin over three nodes: every one of them answers, always with the value.
        for i in range(9):
            r = self.get("db")
            self.check_envelope(r)
            self.assertEqual((r.code, r.data["value"]), (0, {"host": "a"}), r.describe())
        # Writes through nginx land on any node and reach the leader.
        for i in range(6):
            r = self.via("PUT", "/api/v1/admin/config",
                         json_body={"namespace": "svc", "key": "db", "value": {"host": i}})
            self.check_envelope(r)
            self.assertEqual((r.code, r.data["version"]), (0, i + 2), r.describe())
        r = self.via("GET", "/api/v1/config/get",
                     params={"namespace": "svc", "key": "db", "consistency": "strong"})
        self.assertEqual((r.code, r.data["value"]), (0, {"host": 5}), r.describe())

        # The caller's request id and trace id pass through both ways.
        trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        r = self.get("db", headers={"X-Request-ID": "via-nginx-1",
                                    "traceparent": "00-%s-00f067aa0ba902b7-01" % trace})
        self.check_envelope(r, request_id="via-nginx-1")
        self.assertEqual(r.header("traceparent").split("-")[1], trace, r.describe())
        r = self.via("PUT", "/api/v1/admin/config", headers={"X-Request-ID": "via-nginx-2"},
                     json_body={"namespace": "svc", "key": "db", "value": {"host": "b"}})
        self.check_envelope(r, request_id="via-nginx-2")
        self.assertEqual(r.code, 0, r.describe())
        # Without one, the node gets nginx's $request_id (32 hex), the id in nginx's own log.
        r = self.get("db")
        self.check_envelope(r)
        self.assertRegex(r.json["request_id"], r"^[0-9a-f]{32}$", r.describe())

        # A body over nginx's default 1 MB reaches the node, which answers with its envelope
        # (value too large), not nginx's HTML 413.
        big = "x" * (1536 * 1024)
        r = self.via("POST", "/api/v1/admin/config",
                     json_body={"namespace": "svc", "key": "big", "value": big})
        self.check_envelope(r)
        self.assertEqual(r.code, 40002, r.describe())
        # And an answer of a node that is not an envelope still comes through: the console.
        r = self.via("GET", "/ui/")
        self.assertEqual(r.status, 200, r.describe()[:300])
        r = self.via("GET", "/api/v1/health")
        self.check_envelope(r)
        self.assertEqual(r.code, 0, r.describe())

        # The client the nodes see (rate limits, access log): the caller's own X-Client-ID;
        # none when it sends a token (the token identifies it); else the caller's address.
        for rid, headers in (("cid-plain", {}), ("cid-own", {"X-Client-ID": "app-7"}),
                             ("cid-token", {"Authorization": "Bearer not-checked-here"})):
            headers["X-Request-ID"] = rid
            r = self.get("db", headers=headers)
            self.check_envelope(r, request_id=rid)
            self.assertEqual(r.code, 0, r.describe())
        logged, _ = eventually(lambda: (lambda d: d if len(d) == 3 else None)(
            self.access_lines({"cid-plain", "cid-own", "cid-token"})), 10, 0.1)
        self.assertTrue(logged, "access-log lines of the three requests on no node")
        self.assertEqual({rid: line["client_id"] for rid, line in logged.items()},
                         {"cid-plain": "127.0.0.1", "cid-own": "app-7", "cid-token": ""})

    def access_lines(self, request_ids):
        """{request_id: access-log object} found in every node's log."""
        out = {}
        for n in self.cluster.all():
            for line in read(n.log_path).splitlines():
                m = re.match(r"^\S+ info (\{\"request_id\":.*)$", line)
                if m:
                    try:
                        d = json.loads(m.group(1))
                    except ValueError:  # the line being written right now
                        continue
                    if d["request_id"] in request_ids:
                        out[d["request_id"]] = d
        return out

    def test_long_poll_and_stream_through_nginx_see_a_change(self):
        self.ready()
        rev = self.revision()
        # A long poll held through nginx (on whichever node nginx picked).
        box = {}

        def poll():
            box["r"] = self.via("GET", "/api/v1/config/watch",
                                params={"namespace": "svc", "revision": rev, "timeout": "30s",
                                        "include_values": "true"}, timeout=60)
        t = threading.Thread(target=poll, daemon=True)
        t.start()
        self.addCleanup(t.join, 60)
        held, _ = eventually(lambda: sum(self.vars(n)["watch_held_polls"]
                                         for n in self.cluster.live()) == 1, 20)
        self.assertTrue(held, "the long poll is not held on any node")
        self.assertNotIn("r", box)

        # An SSE stream through nginx, from the same revision.
        sse = SseReader(self.proxy.port, {"namespace": "svc", "revision": rev,
                                          "include_values": "true"}, timeout=20)
        self.addCleanup(sse.close)
        opened, _ = eventually(lambda: sum(self.vars(n)["watch_open_streams"]
                                           for n in self.cluster.live()) == 1, 20)
        self.assertTrue(opened, "the stream is not open on any node")

        r = self.via("PUT", "/api/v1/admin/config",
                     json_body={"namespace": "svc", "key": "db", "value": {"host": "new"}})
        self.assertEqual(r.code, 0, r.describe())

        t.join(45)
        self.assertIn("r", box, "the long poll did not answer")
        w = box["r"]
        self.check_envelope(w)
        self.assertEqual(w.code, 0, w.describe())
        self.assertIs(w.data["changed"], True, w.describe())
        self.assertEqual(w.data["changes"], [{"key": "db", "operation": "UPDATE", "version": 2,
                                              "revision": rev + 1, "value": {"host": "new"}}])

        self.assertTrue(sse.wait_for(lambda s: len(s.changes()) >= 1, timeout=20),
                        "no change event came through nginx: status %s headers %s body %r"
                        % (sse.status, sse.headers, sse.body[-500:]))
        self.assertEqual(sse.status, 200)
        self.assertTrue(sse.headers["content-type"].startswith("text/event-stream"))
        self.assertEqual(sse.changes()[0], {"namespace": "svc", "key": "db",
                                            "operation": "UPDATE", "version": 2,
                                            "revision": rev + 1, "value": {"host": "new"}})

    def test_a_dead_node_and_then_no_node_behind_nginx(self):
        self.ready()
        old = self.leader
        old.kill9()
        # Reads through nginx keep working at once: nginx moves on from the dead node.
        for i in range(12):
            r = self.get("db")
            self.check_envelope(r)
            self.assertEqual((r.code, r.data["value"]), (0, {"host": "a"}),
                             "read %d after killing %r: %s" % (i, old, r.describe()))
        # Writes too, once the others have elected a leader.
        self.leader = self.wait_leader(not_id=old.raft_id)
        self.write_until_ok(lambda: self.via("PUT", "/api/v1/admin/config",
                                             json_body={"namespace": "svc", "key": "db",
                                                        "value": {"host": "after"}}),
                            what="update through nginx after the leader died")
        for n in self.cluster.live():
            self.wait_value(n, "svc", "db", {"host": "after"})
        for i in range(6):
            r = self.get("db")
            self.assertEqual((r.code, r.data["value"]), (0, {"host": "after"}), r.describe())

        # No node left: nginx answers with Cairn's envelope, 503/50301, not an HTML page.
        self.cluster.kill_all(signal.SIGKILL)
        r = self.get("db", headers={"X-Request-ID": "nobody-home"})
        self.assertEqual(r.status, 503, r.describe())
        self.assertTrue(r.header("Content-Type").startswith("application/json"), r.describe())
        self.assertEqual((r.code, r.json["message"], r.json["request_id"]),
                         (50301, harness.CODES[50301][1], "nobody-home"), r.describe())
        self.assertEqual(r.header("X-Request-ID"), "nobody-home")
        self.assertIsInstance(r.json["timestamp"], int, r.describe())
        self.assertLess(abs(r.json["timestamp"] - time.time()), 3600, r.describe())
        self.assertTrue(r.error["details"], r.describe())


if __name__ == "__main__":
    unittest.main()
