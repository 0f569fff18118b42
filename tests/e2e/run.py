#!/usr/bin/env python3
"""Runs Cairn's black-box end-to-end suites against a built `cairn` binary.

    python3 tests/e2e/run.py --binary build/cairn                 # every suite
    python3 tests/e2e/run.py --binary build/cairn --suite errors  # one suite
    python3 tests/e2e/run.py --binary build/cairn -k diff -v      # tests matching a pattern

Each test starts its own server(s) on free ports in a fresh temporary directory and stops them
by PID. A watchdog kills every started server and exits non-zero if the run exceeds --timeout.
Set CAIRN_E2E_KEEP=1 to keep the temporary directories (with server logs) for inspection.
"""

import argparse
import atexit
import os
import signal
import sys
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "support"))  # cairn_cluster, the launcher

import harness  # noqa: E402

SUITES = {
    "api": ["test_namespaces", "test_configs", "test_client_reads"],
    "versions": ["test_versions", "test_batch"],
    "errors": ["test_errors", "test_http"],
    "ops": ["test_ops"],
    "durability": ["test_durability"],
    "disk": ["test_disk_faults"],
    "watch": ["test_watch"],
    "apollo": ["test_apollo"],
    "cluster": ["test_cluster", "test_cluster_versions", "test_cluster_health", "test_failover"],
    "chaos": ["test_chaos"],
    "retention": ["test_retention"],
    "limits": ["test_limits"],
    "auth": ["test_auth", "test_tls"],
    "observability": ["test_observability", "test_degraded"],
    "redis": ["test_redis"],
    "audit": ["test_audit_core", "test_audit_http", "test_audit_values"],
    "deploy": ["test_deploy"],
    "nacos": ["test_nacos"],
    "consul": ["test_consul"],
    "compat": ["test_compat"],
    "secrets": ["test_secrets"],
    "schemas": ["test_schemas"],
    "import": ["test_import"],
    "releases": ["test_releases"],
    "peers": ["test_peers"],
    "backup": ["test_backup"],
    "learners": ["test_learners"],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.environ.get("CAIRN_BINARY", ""),
                        help="path to the cairn binary (or CAIRN_BINARY)")
    parser.add_argument("--suite", action="append", choices=sorted(SUITES) + ["all"],
                        help="suite(s) to run; default all")
    parser.add_argument("-k", action="append", dest="patterns", default=[],
                        help="only tests whose name contains this substring (unittest -k)")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("-f", "--failfast", action="store_true")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="whole-run watchdog in seconds")
    parser.add_argument("--list", action="store_true", help="list the tests and exit")
    args = parser.parse_args()

    if not args.binary:
        parser.error("--binary (or CAIRN_BINARY) is required")
    harness.set_binary(os.path.abspath(args.binary))
    if not os.path.exists(harness.BINARY):
        print("cairn binary not found: %s" % harness.BINARY, file=sys.stderr)
        return 2

    suites = args.suite or ["all"]
    modules = []
    for s in suites:
        for m in (sum(SUITES.values(), []) if s == "all" else SUITES[s]):
            if m not in modules:
                modules.append(m)

    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = ["*%s*" % p for p in args.patterns]
    suite = unittest.TestSuite()
    for m in modules:
        suite.addTests(loader.loadTestsFromName(m))

    if args.list:
        for t in _iter(suite):
            print(t.id())
        return 0

    atexit.register(harness.kill_all_live)

    def on_signal(signum, _frame):
        harness.kill_all_live()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def watchdog():
        print("\nE2E WATCHDOG: run exceeded %.0f s; killing servers" % args.timeout,
              file=sys.stderr, flush=True)
        harness.kill_all_live()
        os._exit(3)

    timer = threading.Timer(args.timeout, watchdog)
    timer.daemon = True
    timer.start()
    try:
        runner = unittest.TextTestRunner(verbosity=2 if args.verbose else 1,
                                         failfast=args.failfast, stream=sys.stdout)
        result = runner.run(suite)
    finally:
        timer.cancel()
        harness.kill_all_live()
    return 0 if result.wasSuccessful() else 1


def _iter(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _iter(t)
        else:
            yield t


if __name__ == "__main__":
    sys.exit(main())
