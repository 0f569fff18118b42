#!/usr/bin/env python3
"""Proves that scripts/check_layering.py can fail: each case copies src/ and include/ into a
temporary tree, plants one include the layer order forbids, runs the check with the build's real
declarations (layering.json) and expects exit 1 with the planted file and line named. The
unplanted copy must pass, so that a failure is the plant's and nothing else's.

    tests/layering/planted_test.py --script scripts/check_layering.py --manifest build/layering.json
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

# (name, file to create, its text, the line expected in the output)
CASES = [
    ("store reaches up into http", "src/store/planted.cc",
     '#include "store/store.h"\n#include "http/router.h"\n',
     "src/store/planted.cc:2: store may not include http/router.h (allowed: api, common, jsonschema, secrets)"),
    ("raft includes a module other than common", "src/raft/planted.h",
     '#pragma once\n\n#include "raft/types.h"\n#include "store/store.h"\n',
     "src/raft/planted.h:4: raft may not include store/store.h (allowed: common)"),
    ("raft includes a non-standard system header", "src/raft/sim/planted.cc",
     "#include <vector>\n#include <boost/asio.hpp>\n",
     "src/raft/sim/planted.cc:2: raft may not include <boost/asio.hpp>"),
    ("a raft test reaches up into wal", "src/raft/tests/planted_test.cc",
     '#include <gtest/gtest.h>\n#include "wal/wal.h"\n',
     "src/raft/tests/planted_test.cc:2: raft may not include wal/wal.h (allowed: common)"),
    ("auth reaches up into the front-end", "src/auth/planted.cc",
     '#include "frontends/native/request.h"\n',
     "src/auth/planted.cc:1: auth may not include frontends/native/request.h (allowed:"),
    ("production code includes a test helper", "src/wal/planted.cc",
     '#include "raft/tests/log_store_conformance.h"\n',
     "src/wal/planted.cc:1: wal may not include raft/tests/log_store_conformance.h (test helpers"),
    ("the client SDK reaches into the server", "include/cairn/planted.h",
     '#include "store/store.h"\n',
     "include/cairn/planted.h:1: client may not include store/store.h (allowed: api, common)"),
    ("a module folder nobody declared", "src/nowhere/thing.cc", '#include "http/router.h"\n',
     "src/nowhere: not a declared module"),
]

# (name, module whose cairn_module() gains an ALLOWS entry, the entry, the line expected): a
# declaration must point down the layer order even before any file uses it.
DECLARATION_CASES = [
    ("store declares it may include http", "store", "http",
     "src/store/CMakeLists.txt: store allows http, which is not below it in the layer order"),
    ("raft declares it may include wal", "raft", "wal",
     "src/raft/CMakeLists.txt: raft allows wal, which is not below it in the layer order"),
    ("the SDK declares it may include the server's store", "client", "store",
     "src/client/CMakeLists.txt: client allows store, which is not below it in the layer order"),
]


def run(script, manifest, root):
    result = subprocess.run([sys.executable, script, "--manifest", manifest, "--root", root],
                            capture_output=True, text=True, check=False)
    return result.returncode, result.stdout + result.stderr


def expect(name, status, output, expected, failures):
    ok = status == 1 and expected in output
    print("%s: %s" % ("caught" if ok else "MISSED", name))
    for line in output.splitlines():
        if expected in line:
            print("    " + line)
    if not ok:
        failures.append("%s: exit %d, expected a line containing\n  %s\ngot:\n%s"
                        % (name, status, expected, output))


def link_or_copy(source, target):
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def copy_tree(source, into):
    # Hard links keep the nine copies cheap; a case only ever adds a new file, never edits one.
    shutil.copytree(source, into, copy_function=link_or_copy,
                    ignore=shutil.ignore_patterns("*.md", "*.py", "*.json", "*.txt", "*.cmake"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--script", required=True)
    parser.add_argument("--manifest", required=True)
    args = parser.parse_args()
    with open(args.manifest, encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest.get("partial"):
        print("partial build (CAIRN_ONLY or CAIRN_SDK_ONLY): the planted cases need every module")
        return 77

    failures = []
    with tempfile.TemporaryDirectory(prefix="cairn-layering-") as tmp:
        clean = os.path.join(tmp, "clean")
        for part in ("src", "include"):
            copy_tree(os.path.join(manifest["source_dir"], part), os.path.join(clean, part))
        status, output = run(args.script, args.manifest, clean)
        if status != 0:
            print("the unplanted copy must pass the check, but:\n" + output)
            return 1
        for index, (name, rel, text, expected) in enumerate(CASES):
            root = os.path.join(tmp, "case%d" % index)
            copy_tree(clean, root)
            path = os.path.join(root, rel)
            assert not os.path.exists(path), path + " exists: a case must add a file, not edit one"
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            status, output = run(args.script, args.manifest, root)
            expect(name, status, output, expected, failures)
            shutil.rmtree(root)
        for index, (name, module, allowed, expected) in enumerate(DECLARATION_CASES):
            edited = json.loads(json.dumps(manifest))
            edited["modules"][module]["allows"].append(allowed)
            path = os.path.join(tmp, "declaration%d.json" % index)
            with open(path, "w", encoding="utf-8") as f:
                json.dump(edited, f)
            status, output = run(args.script, path, clean)
            expect(name, status, output, expected, failures)
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
