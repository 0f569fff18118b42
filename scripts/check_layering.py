#!/usr/bin/env python3
"""Checks that every module under src/ includes only the modules it declares, and that every
declaration points down the layer order of DESIGN.md §4 (docs/architecture.md, "Layering").

Each src/<module>/CMakeLists.txt declares its allow-list with cairn_module(); CMake writes all of
them to <build>/layering.json, which this script reads:

    scripts/check_layering.py --manifest build/layering.json [--root DIR]

--root scans another copy of the tree with the same declarations (the planted-include tests do).
Prints one line per violation, `file:line: <module> may not include <header> (allowed: ...)`, and
exits 1 if there is any; exits 0 with a one-line summary otherwise. Python 3 standard library only.
"""

import argparse
import json
import os
import re
import sys

# The layer order, lowest first, written once (DESIGN.md §4). A module may include only modules
# listed before it in its own chain; server, the composition root, may include every module of
# both chains. Adding a module is one line here plus its cairn_module() line in its CMakeLists.
SERVER_CHAIN = [
    "common",     # result/error types, JSON helpers, ids, time, small codecs
    "api",        # wire types, error codes, commands, one JSON codec each
    "secrets",    # envelope encryption of secret values: AES-256-GCM, KEKs, the sealed format
    "jsonschema", # JSON Schema draft 7 validation of typed namespaces (docs/schemas.md)
    "raft",       # consensus core and its simulator; no I/O
    "wal",        # segmented log store on files
    "transport",  # peer transport
    "store",      # SQLite state machine
    "cache",      # local index, version ring, Redis tier
    "core",       # the config center as a C++ API; knows nothing of HTTP
    "http",       # server, router, middleware, one HTTP client
    "routes",     # the route table: every route once, with permission, rate class, label
    "limit",      # token buckets and the middleware that applies them by route
    "auth",       # principals, grants, token verification, the route guard
    "telemetry",  # metrics, traces, health aggregation
    "frontends",  # protocol adapters over core: native, consul, nacos, apollo
    "webui",      # the console's embedded assets and /ui/ routes
    "server",     # composition root, config file, main
]
CLIENT_CHAIN = [
    "common",
    "api",
    "client",     # the public C++ SDK (its headers are include/cairn/)
    "cli",        # `cairn` client subcommands on top of the SDK
]
COMPOSITION_ROOT = "server"

# Include prefixes that are not a folder of src/: include/cairn/ is the SDK's public header root.
HEADER_ALIASES = {"cairn": "client"}
# Public headers under include/cairn/ that belong to a lower module: api's error codes are
# published with the SDK (an application names them) but are api's vocabulary.
PUBLIC_HEADER_OWNERS = {"cairn/errc.h": "api"}

# Upward includes that exist today, each allowed only in the files listed (and only while the
# module's cairn_module() still ALLOWS the upper module). Nothing may be added here; the check
# fails when an entry is no longer used, so the list only shrinks.
# To be removed by issue 16 (item 7: layering enforced by the build).
EXCEPTIONS = {}

SOURCE_SUFFIXES = (".h", ".hh", ".hpp", ".cc", ".cpp", ".cxx", ".ipp", ".inc", ".tcc")
# Files under these sub-folders of a module are its tests: they may include the test helpers
# (<module>/tests/...) of the modules the module allows, and GoogleTest in a STDLIB_ONLY module.
TEST_DIRS = ("tests", "fuzz")
TEST_SYSTEM_PREFIXES = ("gtest/", "gmock/")

QUOTED_INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
SYSTEM_INCLUDE = re.compile(r"^\s*#\s*include\s*<([^>]+)>")


def below(lower, upper):
    """True when the layer order lets `upper` include `lower`."""
    if upper == COMPOSITION_ROOT and lower != upper:
        return lower in SERVER_CHAIN or lower in CLIENT_CHAIN
    for chain in (SERVER_CHAIN, CLIENT_CHAIN):
        if lower in chain and upper in chain:
            return chain.index(lower) < chain.index(upper)
    return False


def is_test_file(rel_in_module):
    parts = rel_in_module.split("/")
    return len(parts) > 1 and parts[0] in TEST_DIRS


def is_stdlib_header(name):
    # <vector>, <cstdint>: no directory and no extension. <unistd.h>, <boost/...>, <sqlite3.h>
    # and <asio.hpp> are not.
    return "/" not in name and "." not in name


def source_files(directory):
    for base, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(SOURCE_SUFFIXES):
                yield os.path.join(base, name)


class Checker:
    def __init__(self, root, manifest):
        self.root = root
        self.manifest = manifest
        self.modules = manifest["modules"]
        self.errors = []
        self.exceptions_used = set()
        self.files = 0
        self.known_prefixes = set(SERVER_CHAIN) | set(CLIENT_CHAIN) | set(HEADER_ALIASES)

    def error(self, text):
        self.errors.append(text)

    def cmake_of(self, module):
        return self.modules[module].get("cmake", "src/%s/CMakeLists.txt" % module)

    # Rule 1: every declaration names known modules and points down the layer order.
    def check_declarations(self):
        for (module, upper), files in sorted(EXCEPTIONS.items()):
            if below(upper, module):
                self.error("scripts/check_layering.py: exception (%s, %s) is not upward; remove it"
                           % (module, upper))
        for module in sorted(self.modules):
            decl = self.modules[module]
            if module not in SERVER_CHAIN and module not in CLIENT_CHAIN:
                self.error("%s: module %s is not in the layer order; add it to SERVER_CHAIN or "
                           "CLIENT_CHAIN in scripts/check_layering.py" % (self.cmake_of(module), module))
                continue
            for key in ("allows", "test_allows"):
                for allowed in decl.get(key, []):
                    if allowed == module:
                        continue
                    if allowed not in SERVER_CHAIN and allowed not in CLIENT_CHAIN:
                        self.error("%s: %s allows %s, which is not a module of the layer order"
                                   % (self.cmake_of(module), module, allowed))
                    elif not below(allowed, module) and (module, allowed) not in EXCEPTIONS:
                        self.error("%s: %s allows %s, which is not below it in the layer order "
                                   "(%s); move the code down or the include up "
                                   "(docs/architecture.md, Layering)"
                                   % (self.cmake_of(module), module, allowed, self.order_text(module)))
        for (module, upper) in sorted(EXCEPTIONS):
            decl = self.modules.get(module)
            if decl is not None and upper not in decl.get("allows", []):
                self.error("scripts/check_layering.py: exception (%s, %s) is no longer declared by "
                           "%s; remove it from EXCEPTIONS" % (module, upper, self.cmake_of(module)))

    def order_text(self, module):
        chain = CLIENT_CHAIN if module in CLIENT_CHAIN and module not in SERVER_CHAIN else SERVER_CHAIN
        return " < ".join(chain)

    # Rule 2: every src/<dir> is a declared module (a partial build skips what it did not configure).
    def module_dirs(self):
        src = os.path.join(self.root, "src")
        dirs = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
        checked = []
        skipped = []
        for d in dirs:
            if d in self.modules:
                checked.append((d, os.path.join(src, d), "src/" + d))
            elif self.manifest.get("partial"):
                skipped.append("src/" + d)
            else:
                self.error("src/%s: not a declared module; add `cairn_module(%s ALLOWS common ...)` "
                           "at the top of src/%s/CMakeLists.txt and put %s in the layer order of "
                           "scripts/check_layering.py" % (d, d, d, d))
        if skipped:
            print("layering: not configured in this build, not checked: " + ", ".join(skipped))
        for alias, module in sorted(HEADER_ALIASES.items()):
            path = os.path.join(self.root, "include", alias)
            if module in self.modules and os.path.isdir(path):
                checked.append((module, path, "include/" + alias))
        return checked

    # Rule 3: every quoted "<module>/..." include is the module itself or one it allows.
    def check_sources(self):
        for module, path, rel_dir in self.module_dirs():
            decl = self.modules[module]
            allows = set(decl.get("allows", []))
            test_allows = allows | set(decl.get("test_allows", []))
            for file_path in source_files(path):
                self.files += 1
                rel_in_module = os.path.relpath(file_path, path).replace(os.sep, "/")
                rel = rel_dir + "/" + rel_in_module
                self.check_file(module, rel, file_path, is_test_file(rel_in_module),
                                test_allows if is_test_file(rel_in_module) else allows,
                                decl.get("stdlib_only", False))

    def check_file(self, module, rel, file_path, is_test, allows, stdlib_only):
        with open(file_path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
        for number, line in enumerate(lines, 1):
            quoted = QUOTED_INCLUDE.match(line)
            if quoted:
                self.check_quoted(module, rel, number, quoted.group(1), is_test, allows)
                continue
            system = SYSTEM_INCLUDE.match(line)
            if system and stdlib_only:
                header = system.group(1)
                if not is_stdlib_header(header) and not (
                        is_test and header.startswith(TEST_SYSTEM_PREFIXES)):
                    self.error("%s:%d: %s may not include <%s> (standard library headers only%s)"
                               % (rel, number, module, header,
                                  "; tests also gtest/, gmock/" if is_test else ""))

    def check_quoted(self, module, rel, number, header, is_test, allows):
        parts = header.split("/")
        if len(parts) < 2 or parts[0] not in self.known_prefixes:
            return  # a local or generated header, not "<module>/..."
        target = PUBLIC_HEADER_OWNERS.get(header, HEADER_ALIASES.get(parts[0], parts[0]))
        if parts[1] in TEST_DIRS and not is_test:
            self.error("%s:%d: %s may not include %s (test helpers are for tests/ and fuzz/ only)"
                       % (rel, number, module, header))
            return
        if target == module:
            return
        if target in allows:
            exception = EXCEPTIONS.get((module, target))
            if exception is None:
                return
            if rel in exception:
                self.exceptions_used.add((module, target, rel))
                return
            self.error("%s:%d: %s may not include %s (upward: %s is above %s in the layer order; "
                       "the files allowed to for now are listed in EXCEPTIONS in "
                       "scripts/check_layering.py, and the list may not grow)"
                       % (rel, number, module, header, target, module))
            return
        allowed = ", ".join(sorted(allows)) or "nothing but itself"
        self.error("%s:%d: %s may not include %s (allowed: %s)"
                   % (rel, number, module, header, allowed))

    # Rule 4: an exception nobody uses any more is removed, so that the list only shrinks.
    def check_exceptions_used(self):
        for (module, upper), files in sorted(EXCEPTIONS.items()):
            if module not in self.modules:
                continue
            for rel in files:
                if (module, upper, rel) not in self.exceptions_used:
                    self.error("scripts/check_layering.py: %s no longer includes %s/...; remove it "
                               "from EXCEPTIONS[(%r, %r)] (the last file gone: the entry, and %s "
                               "from %s's ALLOWS)" % (rel, upper, module, upper, upper, module))

    def run(self):
        self.check_declarations()
        self.check_sources()
        self.check_exceptions_used()
        for text in self.errors:
            print(text)
        if self.errors:
            print("layering: %d violation(s); the rule is in docs/architecture.md (Layering)"
                  % len(self.errors))
            return 1
        print("layering: %d files in %d modules follow the layer order (%d upward exceptions left)"
              % (self.files, len(self.modules), sum(len(f) for f in EXCEPTIONS.values())))
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", required=True,
                        help="layering.json that CMake writes into the build directory")
    parser.add_argument("--root", help="source tree to scan (default: the manifest's source_dir)")
    parser.add_argument("--stamp", help="file to touch when the check passes (build-time target)")
    args = parser.parse_args()
    with open(args.manifest, encoding="utf-8") as f:
        manifest = json.load(f)
    root = args.root or manifest["source_dir"]
    status = Checker(root, manifest).run()
    if status == 0 and args.stamp:
        with open(args.stamp, "w", encoding="utf-8") as f:
            f.write("ok\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
