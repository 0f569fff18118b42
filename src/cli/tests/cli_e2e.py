#!/usr/bin/env python3
"""Every `cairn` client subcommand end to end against a real `cairn server`.

    cli_e2e.py --server-bin build/cairn --cli-bin build/cairn [--timeout 240]

Starts one node on a free port in a fresh temporary directory (with the shared launcher,
tests/support/cairn_cluster.py), runs the CLI against it and checks outputs and exit codes. Python 3
standard library only. Every process started here is stopped by PID (SIGTERM, then SIGKILL) on
exit, on failure and by a watchdog after --timeout seconds.
"""

import argparse
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "tests", "support"))
from cairn_cluster import Server, free_port, kill_all_live, stop_process  # noqa: E402

CHILDREN = {}  # pid -> Popen
CHILDREN_LOCK = threading.Lock()


def track(proc):
    with CHILDREN_LOCK:
        CHILDREN[proc.pid] = proc
    return proc


def stop(proc, timeout=10):
    stop_process(proc, signal.SIGTERM, timeout)
    with CHILDREN_LOCK:
        CHILDREN.pop(proc.pid, None)


def stop_all():
    with CHILDREN_LOCK:
        procs = list(CHILDREN.values())
    for p in procs:
        try:
            stop(p, timeout=5)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
    kill_all_live()  # the server


class Failure(Exception):
    pass


def check(cond, what, result=None):
    if not cond:
        extra = ""
        if result is not None:
            extra = f"\n  exit={result.returncode}\n  stdout={result.stdout!r}\n  stderr={result.stderr!r}"
        raise Failure(what + extra)


class Cli:
    def __init__(self, binary, endpoint, tmp):
        self.binary = binary
        self.env = dict(os.environ, CAIRN_ENDPOINTS=endpoint, CAIRN_OPERATOR="e2e")
        self.env.pop("CAIRN_TOKEN", None)
        self.tmp = tmp

    def __call__(self, *args, stdin=None, expect=0, timeout=30):
        proc = track(subprocess.Popen([self.binary, *args], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      env=self.env, text=True))
        try:
            out, err = proc.communicate(input=stdin, timeout=timeout)
        finally:
            stop(proc)
        result = subprocess.CompletedProcess(args, proc.returncode, out, err)
        if expect is not None:
            check(result.returncode == expect,
                  f"cairn {' '.join(args)}: expected exit {expect}", result)
        return result

    def json(self, *args, **kw):
        r = self(*args, "-o", "json", **kw)
        try:
            return json.loads(r.stdout)
        except ValueError as e:
            raise Failure(f"cairn {' '.join(args)} -o json: not JSON: {r.stdout!r}") from e


def start_server(binary, tmp):
    server = Server(os.path.join(tmp, "data"), binary=binary)
    try:
        server.start()
    except RuntimeError as e:
        raise Failure("server did not start: %s" % e) from e
    return server, "http://" + server.base


def sleep_to_next_second():
    time.sleep(1.01 - time.time() % 1)


def point_in_time(cli):
    """`get --at` and `ns get --at` against the server's `at=`: create, note the time, update."""
    cli("create", "e2e", "pit", '{"v":"old"}')
    # A whole second after v1 and before v2: the noted instant lies strictly between them,
    # whatever precision the server keeps.
    sleep_to_next_second()
    noted = int(time.time())
    sleep_to_next_second()
    r = cli("put", "e2e", "pit", '{"v":"new"}')
    check("version 1 -> 2" in r.stdout, "pit updated", r)
    rfc3339 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(noted))
    plus_one = time.strftime("%Y-%m-%dT%H:%M:%S.000+01:00", time.gmtime(noted + 3600))

    r = cli("get", "e2e", "pit", "--at", rfc3339)
    check('"v": "old"' in r.stdout and "version 1" in r.stdout and "(as of " in r.stdout,
          "get --at RFC 3339 shows the old value", r)
    for at in (plus_one, str(noted * 1000)):
        got = cli.json("get", "e2e", "pit", "--at", at)
        check(got["value"] == {"v": "old"} and got["version"] == 1, f"get --at {at}: {got}")
    got = cli.json("get", "e2e", "pit")
    check(got["value"] == {"v": "new"} and got["version"] == 2, "get without --at: the latest")
    got = cli.json("get", "e2e", "pit", "--at", str(int(time.time() * 1000)))
    check(got["version"] == 2, f"get --at now: the latest: {got}")

    ns = cli.json("ns", "get", "e2e", "--at", rfc3339)
    check(ns["configs"].get("pit") == {"v": "old"}, f"ns get --at: the namespace then: {ns}")
    check(ns["configs"].get("db") == {"host": "a", "port": 1},
          f"ns get --at: db then (rolled back): {ns}")
    r = cli("ns", "get", "e2e", "--at", rfc3339)
    check("KEY" in r.stdout and '{"v":"old"}' in r.stdout, "ns get --at table", r)
    ns = cli.json("ns", "get", "e2e")
    check(ns["configs"].get("pit") == {"v": "new"}, f"ns get: the namespace now: {ns}")

    r = cli("get", "e2e", "pit", "--at", "2001-01-01T00:00:00Z", expect=1)
    check("40401" in r.stderr, "get --at before the key existed: 40401", r)
    r = cli("get", "e2e", "pit", "--at", "2026-12-02T06:30:00", expect=2)
    check("no time zone" in r.stderr, "get --at without a zone is refused locally", r)
    r = cli("get", "e2e", "pit", "--at", rfc3339, "--version", "1", expect=2)
    check("cannot be used together" in r.stderr, "--at with --version is refused locally", r)

    cli("delete", "e2e", "pit")
    sleep_to_next_second()
    r = cli("get", "e2e", "pit", "--at", str(int(time.time() * 1000)), expect=1)
    check("40401" in r.stderr, "get --at a time the key was deleted: 40401", r)
    got = cli.json("get", "e2e", "pit", "--at", rfc3339)
    check(got["value"] == {"v": "old"}, f"get --at before the delete still answers: {got}")

    # Retention removes v1: the read of then answers 40401, the namespace lists pit unavailable.
    req = urllib.request.Request(
        cli.env["CAIRN_ENDPOINTS"] + "/api/v1/admin/config/cleanup", method="POST",
        data=json.dumps({"namespace": "e2e", "keep_latest": 1, "keep_days": 0}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        removed = json.loads(resp.read())["data"]["removed"]
    check(any(x["key"] == "pit" and x["version"] == 1 for x in removed),
          f"clean-up removed pit v1: {removed}")
    r = cli("get", "e2e", "pit", "--at", rfc3339, expect=1)
    check("40401" in r.stderr, "get --at a time whose version retention removed: 40401", r)
    ns = cli.json("ns", "get", "e2e", "--at", rfc3339)
    check("pit" in ns["unavailable"] and "pit" not in ns["configs"],
          f"ns get --at lists pit unavailable: {ns}")
    r = cli("ns", "get", "e2e", "--at", rfc3339)
    check("pit" in r.stdout and "(unavailable" in r.stdout, "ns get --at table: unavailable", r)


def http(endpoint, method, path, body=None, headers=None):
    """One API request as a plain HTTP client would send it; (status, envelope)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(endpoint + path, data=data, method=method,
                                 headers=dict({"Content-Type": "application/json"}, **(headers or {})))
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def releases(cli, endpoint):
    """`clients` and `release …` (issue 18) against a server that has the endpoints; a server
    without them is reported and skipped (the CLI then answers its 404 cleanly)."""
    r = cli("release", "status", expect=None)
    if r.returncode == 1 and "40401" in r.stderr:
        print("cli_e2e: this server has no /api/v1/admin/releases: release subcommands skipped")
        r = cli("clients", "e2e", expect=1)
        check("40401" in r.stderr, "clients against a server without the registry", r)
        return
    check(r.returncode == 0, "release status (list)", r)
    cli("ns", "create", "gray")
    cli("create", "gray", "pool", '{"size":10}')
    app = {"X-Client-ID": "e2e-app:1", "X-Client-Labels": "app=orders,zone=eu-1"}
    status, env = http(endpoint, "GET", "/api/v1/config/namespace/gray", headers=app)
    check(status == 200 and env["code"] == 0, f"labelled read: {env}")
    rev = env["data"]["revision"]
    status, env = http(endpoint, "POST", "/api/v1/config/ack",
                       {"namespace": "gray", "revision": rev, "status": "applied"}, app)
    check(status == 200 and env["data"]["client_id"] == "e2e-app:1", f"ack: {env}")
    r = cli("clients", "gray")
    check("e2e-app:1" in r.stdout and "app=orders,zone=eu-1" in r.stdout and "applied" in r.stdout,
          "clients lists the labelled client and its ack", r)
    j = cli.json("clients", "gray", "--label", "zone=eu-1")
    check(any(c["id"] == "e2e-app:1" for c in j["clients"]), f"clients -o json: {j}")
    j = cli.json("clients", "gray", "--label", "zone=us-1")
    check(not any(c["id"] == "e2e-app:1" for c in j["clients"]), f"label filter: {j}")

    r = cli("release", "start", "gray", "--percent", "10", expect=2)
    check("nothing to release" in r.stderr, "release start without changes", r)
    r = cli("release", "start", "gray", "--set", "pool=1", "--stage", "5:ten", expect=2)
    check("duration" in r.stderr, "release start with a bad hold", r)
    j = cli.json("release", "start", "gray", "--set", 'pool={"size":20}', "--label", "zone=eu-1",
                 "--description", "bigger pool")
    rid = j["id"]
    check(rid.startswith("r-") and j["state"] == "active", f"release start: {j}")
    status, env = http(endpoint, "GET", "/api/v1/config/namespace/gray", headers=app)
    check(env["data"].get("release") == rid and env["data"]["configs"]["pool"] == {"size": 20},
          f"the targeted client reads the gray value: {env}")
    http(endpoint, "POST", "/api/v1/config/ack",
         {"namespace": "gray", "revision": env["data"]["revision"], "status": "failed",
          "error": "pool too big"}, app)
    deadline = time.time() + 10
    while True:
        r = cli("release", "status", rid)
        if "failed 1" in r.stdout or time.time() > deadline:
            break
        time.sleep(0.2)
    check("state active" in r.stdout and "failed 1" in r.stdout and "pool too big" in r.stdout,
          "release status shows the failed client and its error", r)
    r = cli("release", "status", "--namespace", "gray")
    check(rid in r.stdout, "release status lists it", r)
    r = cli("release", "pause", rid, "--reason", "look")
    check("state paused" in r.stdout, "pause", r)
    r = cli("release", "resume", rid)
    check("state active" in r.stdout, "resume", r)
    r = cli("release", "abort", rid, "--reason", "pool too big")
    check("state aborted" in r.stdout, "abort", r)
    r = cli("release", "abort", rid, expect=1)
    check("40901" in r.stderr, "abort twice", r)
    r = cli("release", "status", "r-doesnotexist", expect=1)
    check("40401" in r.stderr, "unknown release", r)
    status, env = http(endpoint, "GET", "/api/v1/config/namespace/gray", headers=app)
    check(env["data"]["configs"]["pool"] == {"size": 10} and not env["data"].get("release"),
          f"after abort the client reads the stable value: {env}")
    cli("delete", "gray", "pool")
    cli("ns", "delete", "gray")


def transfer(cli, tmp):
    """cairn export / import (docs/import-export.md): a Consul file imported with a dry run
    first, a conflict refused then overwritten, an export imported back; progress on a terminal
    only."""
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests",
                        "data", "import")
    consul_file = os.path.join(data, "consul-kv-export.json")
    r = cli("import", consul_file, "--from", "consul", "--dry-run")
    check("5 create" in r.stdout and "orders" in r.stdout, "import --dry-run plan", r)
    got = cli("get", "orders", "db/url", expect=1)
    check("40402" in got.stderr or "40403" in got.stderr, "the dry run wrote nothing", got)
    r = cli("import", consul_file, "--from", "consul")
    check("imported 5 key(s)" in r.stdout, "import output", r)
    check("\r" not in r.stderr and "keys/s" not in r.stderr, "no progress when piped", r)
    check(cli.json("get", "orders", "db/url")["value"] == "postgres://db:5432/orders",
          "imported value")
    cli("put", "orders", "db/url", "changed")
    r = cli("import", consul_file, "--from", "consul", expect=1)
    check("conflict" in r.stderr and "nothing written" in r.stderr, "conflict refused", r)
    check(cli.json("get", "orders", "db/url")["value"] == "changed", "abort wrote nothing")
    plan = cli.json("import", consul_file, "--from", "consul", "--on-conflict", "overwrite")
    check(plan["written"] and any(i["key"] == "db/url" and i["action"] == "update"
                                  for i in plan["items"]), f"overwrite: {plan}")
    out = os.path.join(tmp, "orders.zip")
    r = cli("export", "orders", "--format", "zip", "--out", out)
    check("wrote " + out in r.stdout and "4 key(s)" in r.stdout, "export --out", r)
    cli("delete", "orders", "blob")
    # On a terminal, the progress line: keys (import) or bytes (export) done of the total, the
    # rate, the time left.
    import pty

    def on_terminal(*args):
        master, slave = pty.openpty()
        proc = track(subprocess.Popen([cli.binary, *args], stdout=subprocess.PIPE,
                                      stderr=slave, env=cli.env, text=True))
        os.close(slave)
        err = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
        out, _ = proc.communicate(timeout=30)
        stop(proc)
        os.close(master)
        return proc.returncode, out, err

    rc, stdout, progress = on_terminal("import", out)
    check(rc == 0 and "imported 1 key(s)" in stdout,
          f"import of the export: exit {rc} {stdout!r} {progress!r}")
    check(b"1/1 keys" in progress and b"keys/s" in progress and b"left" in progress,
          f"import progress on a terminal: {progress!r}")
    rc, stdout, progress = on_terminal("export", "all", "--out", os.path.join(tmp, "all.json"))
    check(rc == 0 and b"bytes/s" in progress and b"(100%)" in progress,
          f"export progress on a terminal: exit {rc} {stdout!r} {progress!r}")
    check(cli.json("get", "orders", "blob")["version"] >= 1, "the deleted key is back")


def scenario(cli, tmp):
    # namespaces
    r = cli("ns", "create", "e2e", "--description", "end to end")
    check("created namespace e2e" in r.stdout, "ns create output", r)
    r = cli("ns", "create", "e2e", expect=1)
    check("40901" in r.stderr, "duplicate namespace error on stderr", r)
    r = cli("ns", "list")
    check("NAME" in r.stdout and "e2e" in r.stdout, "ns list table", r)
    listed = cli.json("ns", "list", "--name", "e2")
    check([n["name"] for n in listed["list"]] == ["e2e"], "ns list json")

    # create / put / get, values from an argument, a file and stdin
    r = cli("create", "e2e", "db", '{"host":"a","port":1}', "--description", "database")
    check("created e2e/db: version 1" in r.stdout, "create output", r)
    r = cli("create", "e2e", "db", "1", expect=1)
    check("40902" in r.stderr, "create of an existing key fails with 40902", r)
    value_file = os.path.join(tmp, "value.json")
    with open(value_file, "w") as f:
        f.write('{"host":"b","port":1}\n')
    r = cli("put", "e2e", "db", "@" + value_file)
    check("updated e2e/db: version 1 -> 2" in r.stdout, "put updates", r)
    # the same value again (issue 15 item 3): success, nothing written
    r = cli("put", "e2e", "db", "@" + value_file)
    check("unchanged e2e/db: version 2" in r.stdout, "put of the same value succeeds", r)
    j = cli.json("put", "e2e", "db", "@" + value_file)
    check(j["changed"] is False and j["version"] == 2, "put -o json says changed: false", j)
    r = cli("put", "e2e", "flag", "-", stdin="true\n")
    check("created e2e/flag: version 1" in r.stdout, "put creates when missing (stdin)", r)
    r = cli("put", "e2e", "greeting", "hello world")
    check("created" in r.stdout, "put with a non-JSON string", r)
    got = cli.json("get", "e2e", "greeting")
    check(got["value"] == "hello world", "plain text stored as a JSON string")
    r = cli("put", "e2e", "db", "0", "--expected-version", "1", expect=1)
    check("40901" in r.stderr, "put with a stale expected version", r)

    r = cli("get", "e2e", "db")
    check('"host": "b"' in r.stdout and "version 2" in r.stdout, "get latest", r)
    got = cli.json("get", "e2e", "db", "--version", "1")
    check(got["value"] == {"host": "a", "port": 1} and got["version"] == 1, "get --version")
    r = cli("get", "e2e", "missing", expect=1)
    check("40403" in r.stderr and "HTTP 404" in r.stderr, "server error on stderr", r)
    r = cli("-o", "json", "get", "e2e", "missing", expect=1)
    check(json.loads(r.stdout)["error"]["code"] == 40403, "json error body", r)

    # list
    r = cli("list")
    check("NAMESPACE" in r.stdout and "db" in r.stdout and "flag" in r.stdout, "list all", r)
    listed = cli.json("list", "e2e", "--key", "fl")
    check([e["key"] for e in listed["list"]] == ["flag"], "list NAMESPACE --key")
    check(listed["list"][0]["created_by"] == "e2e", "operator from CAIRN_OPERATOR")

    # versions, diff, rollback, history
    versions = cli.json("versions", "e2e", "db")
    check([v["version"] for v in versions["list"]] == [2, 1], "versions newest first")
    r = cli("versions", "e2e", "db")
    check("VERSION" in r.stdout, "versions table", r)
    diff = cli.json("diff", "e2e", "db", "1", "2")
    check(diff["changes"] == [{"path": "host", "from": "a", "to": "b", "type": "modified"}],
          f"diff json: {diff}")
    r = cli("diff", "e2e", "db", "1", "2")
    check("host" in r.stdout and "modified" in r.stdout, "diff table", r)
    r = cli("rollback", "e2e", "db", "1")
    check("version 2 -> 3" in r.stdout, "rollback", r)
    check(cli.json("get", "e2e", "db")["value"]["host"] == "a", "rolled back value")
    hist = cli.json("history", "e2e", "db")
    check([h["operation"] for h in hist["list"]] == ["ROLLBACK", "UPDATE", "CREATE"],
          f"history: {hist}")
    r = cli("history", "e2e", "db")
    check("ROLLBACK" in r.stdout and "OPERATION" in r.stdout, "history table", r)
    r = cli("diff", "e2e", "db", "1", "99", expect=1)
    check("40401" in r.stderr, "diff of a missing version", r)

    point_in_time(cli)

    # watch: prints a change as it happens
    watch = track(subprocess.Popen(
        [cli.binary, "watch", "e2e", "--keys", "flag", "--count", "1", "-o", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli.env, text=True))
    try:
        line = watch.stderr.readline()  # "watching e2e from revision N; Ctrl-C to stop"
        check(line.startswith("watching e2e"), f"watch announces itself: {line!r}")
        time.sleep(0.2)
        cli("put", "e2e", "db", '{"ignored":true}')  # filtered out (--keys flag)
        cli("put", "e2e", "flag", "false")
        out, err = watch.communicate(timeout=15)
    except subprocess.TimeoutExpired as e:
        raise Failure("watch printed no change within 15 s (is /api/v1/config/watch served?)") from e
    finally:
        stop(watch)
    check(watch.returncode == 0, f"watch exit {watch.returncode}: {err}")
    change = json.loads(out.strip().splitlines()[0])
    check(change["key"] == "flag" and change["old_value"] is True and change["new_value"] is False,
          f"watch change: {change}")

    # watch stops on SIGINT
    watch = track(subprocess.Popen([cli.binary, "watch", "e2e"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=cli.env, text=True))
    try:
        check(watch.stderr.readline().startswith("watching e2e"), "watch starts")
        os.kill(watch.pid, signal.SIGINT)
        t0 = time.time()
        watch.wait(timeout=5)
        check(time.time() - t0 < 3, "watch stops promptly on Ctrl-C")
        check(watch.returncode == 0, f"watch exit code after Ctrl-C: {watch.returncode}")
    finally:
        stop(watch)

    # cluster status: a single node may not serve it; either way the answer is clean
    r = cli("cluster", "status", expect=None)
    check(r.returncode in (0, 1), "cluster status exit code", r)
    if r.returncode == 1:
        check("error" in r.stderr, "cluster status error reported", r)

    releases(cli, cli.env["CAIRN_ENDPOINTS"])
    transfer(cli, tmp)

    # delete and namespace delete
    r = cli("delete", "e2e", "db", "--expected-version", "1", expect=1)
    check("40901" in r.stderr, "delete with a stale expected version", r)
    r = cli("delete", "e2e", "db")
    check("deleted e2e/db" in r.stdout, "delete", r)
    r = cli("ns", "delete", "e2e", expect=1)
    check("40901" in r.stderr, "deleting a non-empty namespace fails", r)
    cli("delete", "e2e", "flag")
    cli("delete", "e2e", "greeting")
    r = cli("ns", "delete", "e2e")
    check("deleted namespace e2e" in r.stdout, "ns delete", r)

    # global flags after the subcommand, and an unreachable cluster
    r = cli("ns", "list", "--endpoints", f"http://127.0.0.1:{free_port()}", "--timeout", "1",
            expect=3)
    check("request failed" in r.stderr, "unreachable endpoint message", r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server-bin", required=True)
    ap.add_argument("--cli-bin", required=True)
    ap.add_argument("--timeout", type=float, default=240)
    args = ap.parse_args()

    atexit.register(stop_all)
    watchdog = threading.Timer(args.timeout, lambda: (print("cli_e2e: watchdog expired",
                                                            file=sys.stderr), stop_all(),
                                                      os._exit(2)))
    watchdog.daemon = True
    watchdog.start()

    tmp = tempfile.mkdtemp(prefix="cairn-cli-e2e-")
    server = None
    ok = False
    try:
        server, endpoint = start_server(args.server_bin, tmp)
        scenario(Cli(args.cli_bin, endpoint, tmp), tmp)
        ok = True
        print("cli_e2e: every subcommand passed")
    except Failure as e:
        print(f"cli_e2e: FAILED: {e}", file=sys.stderr)
    finally:
        if server is not None:
            server.stop()
        stop_all()
        watchdog.cancel()
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"cli_e2e: kept {tmp} (server-data-*.log)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
