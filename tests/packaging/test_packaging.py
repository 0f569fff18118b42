#!/usr/bin/env python3
"""Packaging tests (issue 24, docs/install.md): the Debian packages, the OCI image, the
Kubernetes manifests. CTest `packaging`; by hand:

    python3 tests/packaging/test_packaging.py --build-dir build [-v] [-k PATTERN]

- deb: `make deb`'s script builds the packages; lintian reports no error; the package installs
  with apt into a fresh Debian root (debootstrap --variant=minbase, cached as a tarball in
  $CAIRN_PACKAGING_CACHE, default /var/cache/cairn-packaging), creates the cairn user and
  /var/lib/cairn, its binary's libraries all resolve (ldd), `cairn server --config
  /etc/cairn/cairn.yaml` run as cairn in that root serves /readyz and takes a write; an upgrade
  from an older version keeps /var/lib/cairn and the write; remove keeps the data, purge deletes
  it. libcairn-dev: an out-of-tree consumer (examples/find_package_test) builds against it.
- image: `make image`'s script builds the OCI archive; umoci unpacks it; in a chroot of the root
  `cairn --version` runs, and the image's own entrypoint, user and environment (from the
  unpacked runtime config) start a node that serves /readyz; then three nodes (and a fourth that
  joins through the membership API, the scale-up of docs/install.md) run from it with the
  environment of deploy/kubernetes/statefulset.yaml, their peer names resolved as the headless
  Service would, and a write through one is read from the others. Where podman can run a
  container here, a 3-node cluster runs on a podman network too; else that test says why it is
  skipped.
- kubernetes: every manifest is checked against the Kubernetes API models (Debian's
  python3-kubernetes: field names, types, required fields) and `kubectl kustomize`; the labels,
  ports, probes, secrets and annotations agree; CAIRN_MEMBERS lists cairn-N.cairn-peer for each
  pod with the ports the pods and the Service open.

Servers run inside their own network namespaces (`ip netns`), so fixed ports do not collide with
other tests. Needs root (chroot, namespaces); each part skips with a message naming what is
missing. Exit 77 when everything was skipped.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
K8S = os.path.join(TOP, "deploy", "kubernetes")
BUILD = os.path.join(TOP, "build")
CACHE = os.environ.get("CAIRN_PACKAGING_CACHE", "/var/cache/cairn-packaging")
MIRROR = os.environ.get("CAIRN_DEBIAN_MIRROR", "http://deb.debian.org/debian")
ROOT_TOKEN = "packaging-test-root-token-0123456789"


def run(cmd, check=True, timeout=600, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (" ".join(cmd), r.returncode, r.stdout,
                                                          r.stderr))
    return r


def have(*tools):
    return [t for t in tools if shutil.which(t) is None]


def binary_version(binary):
    return run([binary, "--version"]).stdout.split()[-1]


class NetNs:
    """A network namespace with only loopback: `cairn` on fixed ports collides with nothing."""

    def __init__(self):
        self.name = "cairn-pkg-%d-%d" % (os.getpid(), time.monotonic_ns() % 100000)
        run(["ip", "netns", "add", self.name])
        self.procs = []
        self.logs = []
        run(["ip", "netns", "exec", self.name, "ip", "link", "set", "lo", "up"])

    def start(self, argv, env, log, hostname=None):
        """Starts argv in the namespace (optionally under its own host name); exec all the way,
        so the Popen pid is the server's."""
        prefix = ["ip", "netns", "exec", self.name]
        if hostname:
            argv = ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', hostname] + argv
        proc = subprocess.Popen(prefix + argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        self.logs.append(log)
        return proc

    def curl(self, url, method="GET", data=None, token=None):
        cmd = ["ip", "netns", "exec", self.name, "curl", "-s", "-o", "-", "-w", "\n%{http_code}",
               "--max-time", "10", "-X", method, url]
        if token:
            cmd += ["-H", "Authorization: Bearer " + token]
        if data is not None:
            cmd += ["-H", "Content-Type: application/json", "-d", json.dumps(data)]
        r = run(cmd, check=False, timeout=30)
        body, _, status = r.stdout.rpartition("\n")
        try:
            return int(status or 0), json.loads(body) if body else None
        except ValueError:
            return int(status or 0), body

    def wait(self, what, fn, timeout=60):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = fn()
            if last:
                return last
            for p in self.procs:
                if p.poll() is not None:
                    raise AssertionError("a server exited (%s) while waiting for %s" %
                                         (p.returncode, what))
            time.sleep(0.2)
        raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))

    def ready(self, base):
        return self.wait(base + "/readyz", lambda: self.curl(base + "/readyz")[0] == 200)

    def stop(self, proc):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def close(self):
        for p in self.procs:
            self.stop(p)
        for log in self.logs:
            log.close()
        run(["ip", "netns", "del", self.name], check=False)


def leader_of(ns, base, token=None):
    status, body = ns.curl(base + "/api/v1/cluster/status", token=token)
    if status != 200 or not isinstance(body, dict):
        return None
    leader = body.get("data", {}).get("leader")
    return leader or None


# ------------------------------------------------------------------------------------------
# Debian packages
# ------------------------------------------------------------------------------------------


def fresh_root(target):
    """A minimal Debian 12 root at target from the cached debootstrap tarball (made once)."""
    tarball = os.path.join(CACHE, "bookworm-minbase.tar")
    if not os.path.exists(tarball):
        missing = have("debootstrap")
        if missing:
            return "debootstrap is not installed (apt-get install debootstrap)"
        os.makedirs(CACHE, exist_ok=True)
        work = tempfile.mkdtemp(dir=CACHE)
        try:
            r = run(["debootstrap", "--variant=minbase", "bookworm", work + "/root", MIRROR],
                    check=False, timeout=900)
            if r.returncode != 0:
                return "debootstrap from %s failed: %s" % (MIRROR, (r.stdout + r.stderr)[-400:])
            run(["tar", "-C", work + "/root", "-cf", tarball + ".part", "."])
            os.rename(tarball + ".part", tarball)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    os.makedirs(target)
    run(["tar", "-C", target, "-xf", tarball])
    shutil.copy("/etc/resolv.conf", os.path.join(target, "etc", "resolv.conf"))
    return None


class Chroot:
    def __init__(self, root):
        self.root = root
        self.mounted = False

    def __enter__(self):
        run(["mount", "-t", "proc", "proc", os.path.join(self.root, "proc")])
        self.mounted = True
        return self

    def __exit__(self, *exc):
        if self.mounted:
            run(["umount", "-l", os.path.join(self.root, "proc")], check=False)

    def sh(self, script, check=True, timeout=600):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
               "LC_ALL": "C"}
        return run(["chroot", self.root, "sh", "-ec", script], check=check, timeout=timeout,
                   env=env)


class DebTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = have("dpkg-deb", "dpkg-shlibdeps", "strip", "python3")
        if missing:
            raise unittest.SkipTest("missing %s (apt-get install dpkg-dev binutils)" % missing)
        cls.tmp = tempfile.mkdtemp(prefix="cairn-deb-")
        cls.version = binary_version(os.path.join(BUILD, "cairn"))
        cls.old_version = cls.version + "~prev1"
        for v, out in ((cls.old_version, "old"), (cls.version, "new")):
            env = dict(os.environ, DEB_VERSION=v, DEB_COMPRESS="gzip")
            run([os.path.join(TOP, "scripts", "package", "deb.sh"), BUILD,
                 os.path.join(cls.tmp, out)], env=env)
        cls.deb = os.path.join(cls.tmp, "new", "cairn_%s_amd64.deb" % cls.version)
        cls.old_deb = os.path.join(cls.tmp, "old", "cairn_%s_amd64.deb" % cls.old_version)
        cls.dev_deb = os.path.join(cls.tmp, "new", "libcairn-dev_%s_amd64.deb" % cls.version)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_contents(self):
        files = run(["dpkg-deb", "-c", self.deb]).stdout
        for path in ("./usr/bin/cairn", "./etc/cairn/cairn.yaml",
                     "./lib/systemd/system/cairn.service", "./usr/share/man/man1/cairn.1.gz",
                     "./usr/share/doc/cairn/copyright"):
            self.assertIn(path, files)
        self.assertNotIn("./var/lib/cairn", files, "the data directory is made by postinst")
        info = run(["dpkg-deb", "-f", self.deb, "Depends"]).stdout
        for dep in ("adduser", "libc6", "libssl3", "libsqlite3-0"):
            self.assertIn(dep, info)
        self.assertEqual(run(["dpkg-deb", "-f", self.dev_deb, "Provides"]).stdout.strip(),
                         "cairn-dev")
        dev = run(["dpkg-deb", "-c", self.dev_deb]).stdout
        self.assertIn("./usr/include/cairn/client.h", dev)
        self.assertIn("./usr/lib/cmake/Cairn/CairnConfig.cmake", dev)
        unit = run(["sh", "-c", "dpkg-deb --fsys-tarfile %s | tar -xOf - "
                    "./lib/systemd/system/cairn.service" % self.deb]).stdout
        self.assertIn("ExecStart=/usr/bin/cairn server --config /etc/cairn/cairn.yaml", unit)
        for option in ("User=cairn", "ProtectSystem=strict", "NoNewPrivileges=true",
                       "StateDirectory=cairn"):
            self.assertIn(option, unit)
        conffiles = run(["sh", "-c", "dpkg-deb --ctrl-tarfile %s | tar -xOf - ./conffiles"
                         % self.deb]).stdout
        self.assertEqual(conffiles.split(), ["/etc/cairn/cairn.yaml"])
        page = run(["sh", "-c", "dpkg-deb --fsys-tarfile %s | tar -xOf - "
                    "./usr/share/man/man1/cairn.1.gz | gzip -dc" % self.deb]).stdout
        self.assertIn("listen\\-http", page, "the man page lists the server options")
        self.assertIn("CAIRN_CONFIG", page)

    def test_lintian(self):
        if have("lintian"):
            self.skipTest("lintian is not installed (apt-get install lintian)")
        r = run(["lintian", "--no-tag-display-limit", self.deb, self.dev_deb], check=False)
        errors = [l for l in r.stdout.splitlines() if l.startswith("E:")]
        self.assertEqual(errors, [], r.stdout)
        self.assertIn(r.returncode, (0, 1), r.stderr)  # 1 would be errors, none were printed

    def test_dev_package_builds_a_consumer(self):
        if have("cmake", "c++"):
            self.skipTest("cmake or c++ missing")
        prefix = os.path.join(self.tmp, "dev-root")
        run(["dpkg-deb", "-x", self.dev_deb, prefix])
        build = os.path.join(self.tmp, "consumer")
        run(["cmake", "-S", os.path.join(TOP, "examples", "find_package_test"), "-B", build,
             "-DCMAKE_PREFIX_PATH=" + prefix + "/usr",
             "-DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON"])
        run(["nice", "-n", "5", "cmake", "--build", build])
        run([os.path.join(build, "consumer")])

    def test_install_run_upgrade_purge_in_fresh_root(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (chroot, network namespaces)")
        if have("ip", "curl"):
            self.skipTest("needs ip (iproute2) and curl")
        root = os.path.join(self.tmp, "root")
        why = fresh_root(root)
        if why:
            self.skipTest("no fresh Debian root: " + why)
        for deb in (self.deb, self.old_deb):
            shutil.copy(deb, os.path.join(root, "tmp"))
        with Chroot(root) as c:
            r = c.sh("apt-get update -qq", check=False, timeout=300)
            if r.returncode != 0:
                self.skipTest("apt-get update cannot reach the Debian mirror in the fresh root: "
                              + (r.stdout + r.stderr)[-300:])
            # apt resolves Depends from the mirror: what the package declares is enough.
            c.sh("apt-get install -y -qq --no-install-recommends /tmp/%s"
                 % os.path.basename(self.old_deb), timeout=600)
            self.assertIn("cairn", c.sh("getent passwd cairn").stdout)
            self.assertEqual(c.sh("stat -c '%U:%G %a' /var/lib/cairn").stdout.strip(),
                             "cairn:cairn 750")
            ldd = c.sh("ldd /usr/bin/cairn").stdout
            self.assertNotIn("not found", ldd)
            self.assertIn("libsqlite3", ldd)
            self.assertEqual(c.sh("cairn --version").stdout.strip(), "cairn " + self.version)

            value = {"host": "10.0.0.1", "port": 3306}
            self.serve_packaged(root, first=True, value=value)

            # Upgrade over the older package: the data stays, the node comes back with it.
            c.sh("echo marker > /var/lib/cairn/kept-by-upgrade")
            c.sh("dpkg -i /tmp/%s" % os.path.basename(self.deb))
            self.assertEqual(c.sh("dpkg-query -W -f '${Version}' cairn").stdout, self.version)
            self.assertEqual(c.sh("cat /var/lib/cairn/kept-by-upgrade").stdout.strip(), "marker")
            self.serve_packaged(root, first=False, value=value)

            c.sh("dpkg -r cairn")
            self.assertTrue(os.path.exists(os.path.join(root, "var/lib/cairn/cairn.db")),
                            "remove keeps the data")
            self.assertTrue(os.path.exists(os.path.join(root, "etc/cairn/cairn.yaml")),
                            "remove keeps the conffile")
            c.sh("dpkg -P cairn")
            self.assertFalse(os.path.exists(os.path.join(root, "var/lib/cairn")),
                             "purge deletes the data")
            self.assertFalse(os.path.exists(os.path.join(root, "etc/cairn")))

    def serve_packaged(self, root, first, value):
        """`cairn server --config /etc/cairn/cairn.yaml` as the cairn user in the fresh root,
        on the packaged addresses (127.0.0.1:8080) inside its own network namespace."""
        ns = NetNs()
        log_path = os.path.join(self.tmp, "server-%s.log" % ("first" if first else "upgraded"))
        try:
            with open(log_path, "wb") as log:
                proc = ns.start(["chroot", "--userspec=cairn:cairn", root, "/usr/bin/cairn",
                                 "server", "--config", "/etc/cairn/cairn.yaml"],
                                {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, log)
                base = "http://127.0.0.1:8080"
                ns.ready(base)
                ns.wait("a leader", lambda: leader_of(ns, base))
                if first:
                    status, body = ns.curl(base + "/api/v1/admin/namespace", "POST",
                                           {"name": "pkg", "description": "packaging test"})
                    self.assertEqual(status, 200, body)
                    status, body = ns.curl(base + "/api/v1/admin/config", "POST",
                                           {"namespace": "pkg", "key": "db", "value": value})
                    self.assertEqual(status, 200, body)
                status, body = ns.curl(base + "/api/v1/config/get?namespace=pkg&key=db")
                self.assertEqual(status, 200, body)
                self.assertEqual(body["data"]["value"], value)
                self.assertEqual(ns.stop(proc), 0)
        except AssertionError:
            with open(log_path, errors="replace") as f:
                sys.stderr.write(f.read()[-3000:])
            raise
        finally:
            ns.close()


# ------------------------------------------------------------------------------------------
# OCI image
# ------------------------------------------------------------------------------------------


def load_manifests():
    import yaml
    docs = []
    for name in sorted(os.listdir(K8S)):
        if name.endswith(".yaml") and name != "kustomization.yaml":
            with open(os.path.join(K8S, name)) as f:
                docs += [d for d in yaml.safe_load_all(f) if d]
    return docs


def statefulset_env(docs):
    sts = next(d for d in docs if d["kind"] == "StatefulSet")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    return sts, container, {e["name"]: e for e in container["env"]}


class ImageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if have("umoci"):
            raise unittest.SkipTest("umoci is not installed (apt-get install umoci)")
        cls.tmp = tempfile.mkdtemp(prefix="cairn-image-")
        cls.version = binary_version(os.path.join(BUILD, "cairn"))
        run([os.path.join(TOP, "scripts", "package", "image.sh"), BUILD, cls.tmp])
        cls.archive = os.path.join(cls.tmp, "cairn-image_%s.tar" % cls.version)
        layout = os.path.join(cls.tmp, "layout")
        os.makedirs(layout)
        with tarfile.open(cls.archive) as t:
            t.extractall(layout)
        cls.bundle = os.path.join(cls.tmp, "bundle")
        run(["umoci", "unpack", "--image", "%s:%s" % (layout, cls.version), cls.bundle])
        cls.rootfs = os.path.join(cls.bundle, "rootfs")
        with open(os.path.join(cls.bundle, "config.json")) as f:
            cls.runtime = json.load(f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_contents_are_exactly_the_binary_and_its_libraries(self):
        files = sorted(os.path.relpath(p, self.rootfs)
                       for p in glob.glob(self.rootfs + "/**", recursive=True)
                       if os.path.isfile(p))
        binary = os.path.join(BUILD, "cairn")
        libs = []
        for line in run(["ldd", binary]).stdout.splitlines():
            m = re.match(r"\s*\S+ => (/\S+)", line) or re.match(r"\s*(/\S+)", line)
            if m:
                libs.append(m.group(1).lstrip("/"))
        expected = sorted(libs + ["usr/bin/cairn", "etc/ssl/certs/ca-certificates.crt",
                                  "etc/passwd", "etc/group", "etc/nsswitch.conf"])
        self.assertEqual(files, expected)
        self.assertFalse(os.path.exists(os.path.join(self.rootfs, "bin", "sh")))
        st = os.stat(os.path.join(self.rootfs, "data"))
        self.assertEqual((st.st_uid, st.st_gid), (10001, 10001))
        process = self.runtime["process"]
        self.assertEqual(process["args"], ["/usr/bin/cairn", "server"])
        self.assertEqual((process["user"]["uid"], process["user"]["gid"]), (10001, 10001))
        self.assertIn("CAIRN_DATA_DIR=/data", process["env"])
        with open(os.path.join(self.tmp, "layout", "index.json")) as f:
            index = json.load(f)
        config_digest = None
        with open(os.path.join(self.tmp, "layout", "manifest.json")) as f:
            config_digest = json.load(f)[0]["Config"]
        with open(os.path.join(self.tmp, "layout", config_digest)) as f:
            config = json.load(f)["config"]
        self.assertIn("/data", config["Volumes"])
        self.assertEqual(config["User"], "10001:10001")
        self.assertEqual(index["manifests"][0]["annotations"]["io.containerd.image.name"],
                         "localhost/cairn:" + self.version)
        sys.stderr.write("\nimage archive %s: %d KiB\n" % (os.path.basename(self.archive),
                                                          os.path.getsize(self.archive) // 1024))

    def test_version_and_single_node_in_chroot(self):
        if os.geteuid() != 0 or have("ip", "curl", "chroot", "unshare"):
            self.skipTest("needs root, ip, curl, chroot, unshare")
        r = run(["chroot", self.rootfs, "/usr/bin/cairn", "--version"], env={"PATH": "/usr/sbin:/usr/bin"})
        self.assertEqual(r.stdout.strip(), "cairn " + self.version)
        # The image's own entrypoint, user, working directory and environment.
        process = self.runtime["process"]
        env = dict(e.split("=", 1) for e in process["env"])
        root = self.copy_rootfs("single")
        user = "%d:%d" % (process["user"]["uid"], process["user"]["gid"])
        ns = NetNs()
        try:
            with open(os.path.join(self.tmp, "single.log"), "wb") as log:
                ns.start(["chroot", "--userspec=" + user, root] + process["args"], env, log)
                ns.ready("http://127.0.0.1:8080")
            self.assertTrue(os.path.exists(os.path.join(root, "data", "cairn.db")))
        finally:
            ns.close()

    def copy_rootfs(self, name):
        root = os.path.join(self.tmp, name)
        run(["cp", "-a", self.rootfs, root])
        return root

    def test_statefulset_cluster_from_the_image(self):
        """Three nodes from the image with the StatefulSet's environment, then a fourth pod
        (scaled up) added through the membership API, as docs/install.md says."""
        if os.geteuid() != 0 or have("ip", "curl", "chroot", "unshare"):
            self.skipTest("needs root, ip, curl, chroot, unshare")
        sts, container, env_spec = statefulset_env(load_manifests())
        peer_service = sts["spec"]["serviceName"]
        name = sts["metadata"]["name"]
        image_env = dict(e.split("=", 1) for e in self.runtime["process"]["env"])
        # One loopback address per pod; /etc/hosts maps the headless Service's names onto them.
        hosts = "".join("127.0.0.%d %s-%d.%s\n" % (11 + i, name, i, peer_service)
                        for i in range(5))
        ns = NetNs()
        try:
            def start(i):
                env = dict(image_env)
                for var, spec in env_spec.items():
                    if "value" in spec:
                        env[var] = spec["value"]
                    elif spec["valueFrom"].get("fieldRef", {}).get("fieldPath") == "metadata.name":
                        env[var] = "%s-%d" % (name, i)
                    elif spec["valueFrom"]["secretKeyRef"]["key"] == "root-token":
                        env[var] = ROOT_TOKEN
                    else:
                        env[var] = "packaging-test-cluster-secret"
                # The pods share this namespace: each listens on its own loopback address.
                addr = "127.0.0.%d" % (11 + i)
                env["CAIRN_LISTEN_HTTP"] = env["CAIRN_LISTEN_HTTP"].replace("0.0.0.0", addr)
                env["CAIRN_LISTEN_PEER"] = env["CAIRN_LISTEN_PEER"].replace("0.0.0.0", addr)
                root = self.copy_rootfs("pod-%d" % i)
                with open(os.path.join(root, "etc", "hosts"), "w") as f:
                    f.write("127.0.0.1 localhost\n" + hosts)
                log = open(os.path.join(self.tmp, "pod-%d.log" % i), "wb")
                ns.start(["chroot", "--userspec=10001:10001", root] + self.runtime["process"]
                         ["args"], env, log, hostname="%s-%d" % (name, i))
                return "http://%s:8080" % addr

            bases = [start(i) for i in range(3)]
            for base in bases:
                ns.ready(base)
            ns.wait("a leader", lambda: all(leader_of(ns, b, ROOT_TOKEN) for b in bases), 60)
            status, body = ns.curl(bases[0] + "/api/v1/cluster/status", token=ROOT_TOKEN)
            members = {m["id"]: m for m in body["data"]["members"]}
            self.assertEqual(sorted(members), [1, 2, 3])
            self.assertEqual(members[2]["peer"], "%s-1.%s:7001" % (name, peer_service))
            self.assertEqual(ns.curl(bases[1] + "/api/v1/admin/namespace", "POST",
                                     {"name": "k8s"})[0], 401, "auth is on")
            status, body = ns.curl(bases[1] + "/api/v1/admin/namespace", "POST",
                                   {"name": "k8s", "description": "from pod 1"}, ROOT_TOKEN)
            self.assertEqual(status, 200, body)
            status, body = ns.curl(bases[2] + "/api/v1/admin/config", "POST",
                                   {"namespace": "k8s", "key": "k", "value": 1}, ROOT_TOKEN)
            self.assertEqual(status, 200, body)
            for base in bases:
                status, body = ns.curl(base + "/api/v1/config/get?namespace=k8s&key=k"
                                       "&consistency=strong", token=ROOT_TOKEN)
                self.assertEqual((status, body["data"]["value"]), (200, 1), body)

            # Scale up: pod cairn-3 (raft id 4, not in CAIRN_MEMBERS) waits as a joiner until
            # the leader adds it by its headless-Service names.
            fourth = start(3)
            ns.ready(fourth)
            add = {"id": 4, "peer": "%s-3.%s:7001" % (name, peer_service),
                   "http": "%s-3.%s:8080" % (name, peer_service)}
            # Through a follower, as through the client Service: it forwards to the leader.
            follower = bases[leader_of(ns, bases[0], ROOT_TOKEN) % 3]
            status, body = ns.curl(follower + "/api/v1/admin/cluster/members", "POST", add,
                                   ROOT_TOKEN)
            self.assertEqual(status, 200, body)

            def voter():
                s, b = ns.curl(bases[0] + "/api/v1/cluster/status", token=ROOT_TOKEN)
                return s == 200 and any(m["id"] == 4 and m.get("voter")
                                        for m in b["data"]["members"])
            ns.wait("node 4 to become a voter", voter, 60)
            status, body = ns.curl(fourth + "/api/v1/config/get?namespace=k8s&key=k"
                                   "&consistency=strong", token=ROOT_TOKEN)
            self.assertEqual((status, body["data"]["value"]), (200, 1), body)
        except AssertionError:
            for log in sorted(glob.glob(os.path.join(self.tmp, "pod-*.log"))):
                with open(log, errors="replace") as f:
                    sys.stderr.write("--- %s\n%s\n" % (log, f.read()[-2000:]))
            raise
        finally:
            ns.close()

    def test_podman_three_nodes(self):
        """Where podman runs containers: three nodes from the loaded image on a podman network,
        configured only by CAIRN_ variables (raft id from the host name), a write through one
        and a read from another, with the image's own `cairn` as the client."""
        if have("podman"):
            self.skipTest("podman is not installed (apt-get install podman)")
        tag = "localhost/cairn:" + self.version
        r = run(["podman", "load", "-i", self.archive], check=False, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(tag, r.stdout + r.stderr)
        import resource
        # Containers in containers: some runtimes need lower limits spelt out (no
        # CAP_SYS_RESOURCE to raise them, and lowering always works), crun refuses hybrid
        # cgroups where runc does not.
        nofile = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 65536)
        limits = ["--ulimit", "nofile=%d:%d" % (nofile, nofile), "--ulimit", "nproc=4096:4096"]
        runtimes = [[]] + ([["--runtime", "runc"]] if shutil.which("runc") else [])
        podman, errors = None, []
        for runtime in runtimes:
            for ulimits in ([], limits):
                probe = run(["podman"] + runtime + ["run", "--rm"] + ulimits +
                            ["--entrypoint", "/usr/bin/cairn", tag, "--version"], check=False,
                            timeout=120)
                if probe.returncode == 0:
                    podman = (["podman"] + runtime, ulimits)
                    break
                errors.append((probe.stdout + probe.stderr).strip()[-200:])
            if podman:
                break
        if not podman:
            run(["podman", "rmi", "-f", tag], check=False)
            self.skipTest("podman loads the image but cannot run a container here: "
                          + " | ".join(errors))
        cmd, ulimits = podman
        net = "cairn-pkg-%d" % os.getpid()
        subnet = "10.89.%d" % (20 + os.getpid() % 200)
        names = ["cairn-%d" % i for i in range(3)]
        members = ",".join("%d@%s:7001@%s:8080" % (i + 1, n, n) for i, n in enumerate(names))
        # Fixed addresses and --add-host: name resolution without the CNI dnsname plugin.
        hosts = sum((["--add-host", "%s:%s.%d" % (n, subnet, 10 + i)]
                     for i, n in enumerate(names)), [])
        containers = ["%s-%s" % (net, n) for n in names]
        run(["podman", "network", "create", "--subnet", subnet + ".0/24", net])
        try:
            for i, n in enumerate(names):
                run(cmd + ["run", "-d"] + ulimits + hosts +
                    ["--name", containers[i], "--hostname", n, "--network", net,
                     "--ip", "%s.%d" % (subnet, 10 + i), "-e", "CAIRN_RAFT_ID=ordinal",
                     "-e", "CAIRN_MEMBERS=" + members, "-e", "CAIRN_NODE_ID=" + n, tag])

            def cli(i, *args):
                # No curl in the image: the image's own client, in the node's network.
                return run(cmd + ["run", "--rm"] + ulimits +
                           ["--network", "container:" + containers[i], "--entrypoint",
                            "/usr/bin/cairn", tag, "--endpoints", "http://127.0.0.1:8080"] +
                           list(args), check=False, timeout=60)
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                status = cli(0, "-o", "json", "cluster", "status")
                if status.returncode == 0 and re.search(r'"leader": *[1-3]\b', status.stdout):
                    break
                time.sleep(1)
            self.assertRegex(status.stdout, r'"leader": *[1-3]\b', status.stderr)
            r = cli(1, "ns", "create", "pod")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            r = cli(1, "put", "pod", "k", "42")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            r = cli(2, "-o", "json", "get", "pod", "k")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("42", r.stdout)
        except AssertionError:
            for c in containers:
                logs = run(["podman", "logs", c], check=False)
                sys.stderr.write("--- %s\n%s\n" % (c, (logs.stdout + logs.stderr)[-2000:]))
            raise
        finally:
            run(["podman", "rm", "-f"] + containers, check=False)
            run(["podman", "network", "rm", net], check=False)
            run(["podman", "rmi", "-f", tag], check=False)


# ------------------------------------------------------------------------------------------
# Kubernetes manifests
# ------------------------------------------------------------------------------------------


def k8s_models():
    try:
        import kubernetes.client as client
    except ImportError:
        # Debian's python3-kubernetes lives in the system's dist-packages (python3 may be
        # another interpreter of the same minor version).
        sys.path.append("/usr/lib/python3/dist-packages")
        try:
            import kubernetes.client as client
        except ImportError:
            return None
    return client


def check_model(client, klass, data, path, errors):
    """Field names and types of data against the Kubernetes API model klass."""
    if klass in ("str",):
        if not isinstance(data, str):
            errors.append("%s: expected a string, got %r" % (path, data))
        return
    if klass == "int":
        if not isinstance(data, int) or isinstance(data, bool):
            errors.append("%s: expected an integer, got %r" % (path, data))
        return
    if klass == "bool":
        if not isinstance(data, bool):
            errors.append("%s: expected true/false, got %r" % (path, data))
        return
    if klass in ("object", "datetime"):
        return
    m = re.match(r"list\[(.+)\]$", klass)
    if m:
        if not isinstance(data, list):
            errors.append("%s: expected a list" % path)
            return
        for i, item in enumerate(data):
            check_model(client, m.group(1), item, "%s[%d]" % (path, i), errors)
        return
    m = re.match(r"dict\((\w+), (.+)\)$", klass)
    if m:
        if not isinstance(data, dict):
            errors.append("%s: expected a mapping" % path)
            return
        for k, v in data.items():
            check_model(client, m.group(2), v, "%s.%s" % (path, k), errors)
        return
    model = getattr(client, klass)
    if not isinstance(data, dict):
        errors.append("%s: expected a %s mapping" % (path, klass))
        return
    by_json = {v: k for k, v in model.attribute_map.items()}
    for key, value in data.items():
        if key not in by_json:
            errors.append("%s: unknown field %r for %s" % (path, key, klass))
            continue
        check_model(client, model.openapi_types[by_json[key]], value, path + "." + key, errors)


class KubernetesTest(unittest.TestCase):
    MODELS = {("apps/v1", "StatefulSet"): "V1StatefulSet", ("v1", "Service"): "V1Service",
              ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget"}

    @classmethod
    def setUpClass(cls):
        try:
            import yaml  # noqa: F401
        except ImportError:
            raise unittest.SkipTest("PyYAML is missing (apt-get install python3-yaml)")
        cls.docs = load_manifests()

    def test_schema(self):
        client = k8s_models()
        if client is None:
            self.skipTest("python3-kubernetes is not installed (apt-get install "
                          "python3-kubernetes)")
        api = client.ApiClient()
        kinds = []
        for doc in self.docs:
            key = (doc.get("apiVersion"), doc.get("kind"))
            self.assertIn(key, self.MODELS, "unexpected manifest %s" % (key,))
            errors = []
            check_model(client, self.MODELS[key], doc, doc["kind"], errors)
            self.assertEqual(errors, [])
            # Required fields: the models' constructors refuse a missing one.
            api._ApiClient__deserialize(doc, self.MODELS[key])
            kinds.append(doc["kind"])
        self.assertEqual(sorted(kinds), ["PodDisruptionBudget", "Service", "Service",
                                         "StatefulSet"])
        # The checker does catch a misspelt field.
        errors = []
        check_model(client, "V1StatefulSet", {"spec": {"replica": 3}}, "x", errors)
        self.assertTrue(errors)

    def test_kustomize_builds(self):
        if have("kubectl"):
            self.skipTest("kubectl is not installed")
        r = run(["kubectl", "kustomize", K8S], check=False, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        import yaml
        built = [d for d in yaml.safe_load_all(r.stdout) if d]
        self.assertEqual(sorted((d["kind"], d["metadata"]["name"]) for d in built),
                         sorted((d["kind"], d["metadata"]["name"]) for d in self.docs))

    def test_objects_agree(self):
        sts, container, env = statefulset_env(self.docs)
        services = {d["metadata"]["name"]: d for d in self.docs if d["kind"] == "Service"}
        pdb = next(d for d in self.docs if d["kind"] == "PodDisruptionBudget")
        labels = sts["spec"]["template"]["metadata"]["labels"]
        self.assertEqual(sts["spec"]["selector"]["matchLabels"].items() - labels.items(), set())
        for svc in services.values():
            self.assertEqual(svc["spec"]["selector"].items() - labels.items(), set())
        self.assertEqual(pdb["spec"]["selector"]["matchLabels"].items() - labels.items(), set())
        self.assertEqual(pdb["spec"]["maxUnavailable"], 1)
        self.assertEqual(sts["spec"]["replicas"], 3)
        headless = services[sts["spec"]["serviceName"]]
        self.assertEqual(headless["spec"]["clusterIP"], "None")
        self.assertTrue(headless["spec"]["publishNotReadyAddresses"])
        self.assertEqual(sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"], 0)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        self.assertEqual(container["readinessProbe"]["httpGet"]["path"], "/readyz")
        self.assertEqual(container["livenessProbe"]["httpGet"]["path"], "/livez")
        for probe in ("readinessProbe", "livenessProbe"):
            self.assertIn(container[probe]["httpGet"]["port"], ports)
        annotations = sts["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual(annotations["prometheus.io/scrape"], "true")
        self.assertEqual(int(annotations["prometheus.io/port"]), ports["http"])
        self.assertEqual(annotations["prometheus.io/path"], "/api/v1/metrics")
        self.assertEqual(env["CAIRN_METRICS_PUBLIC"]["value"], "true")
        for svc in services.values():
            for p in svc["spec"]["ports"]:
                self.assertEqual(p["port"], ports[p["targetPort"]])
        secrets = {e: s["valueFrom"]["secretKeyRef"] for e, s in env.items()
                   if "secretKeyRef" in s.get("valueFrom", {})}
        self.assertEqual({e: (s["name"], s["key"]) for e, s in secrets.items()},
                         {"CAIRN_ROOT_TOKEN": ("cairn-secrets", "root-token"),
                          "CAIRN_CLUSTER_SECRET": ("cairn-secrets", "cluster-secret")})
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        self.assertEqual(mounts["data"], env["CAIRN_DATA_DIR"]["value"])
        self.assertEqual([t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]],
                         ["data"])
        self.assertEqual(sts["spec"]["template"]["spec"]["securityContext"]["runAsUser"], 10001)

    def test_environment_is_what_the_server_reads(self):
        """Every CAIRN_ variable of the StatefulSet is a key of `cairn server` (or one of the
        variables it reads besides its keys)."""
        _, _, env = statefulset_env(self.docs)
        help_text = run([os.path.join(BUILD, "cairn"), "server", "--help"]).stdout
        keys = {"CAIRN_" + f[2:].upper().replace("-", "_")
                for f in re.findall(r"^\s+(--[a-z][a-z0-9-]+)", help_text, re.M)}
        # CAIRN_ROOT_TOKEN: the root token (docs/security.md). CAIRN_CLUSTER_SECRET: the peers'
        # shared secret, the key cluster_secret of issue 23 (a server without that key ignores
        # the variable).
        extra = {"CAIRN_ROOT_TOKEN", "CAIRN_CLUSTER_SECRET"}
        self.assertEqual(set(env) - keys - extra, set())

    def test_members_name_the_pods(self):
        """CAIRN_MEMBERS, in the form `cairn server --members` takes, lists pod N as raft id
        N+1 (CAIRN_RAFT_ID=ordinal) at the headless Service's name of that pod, with the ports
        the pod opens."""
        sts, container, env = statefulset_env(self.docs)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        name, service = sts["metadata"]["name"], sts["spec"]["serviceName"]
        self.assertEqual(env["CAIRN_RAFT_ID"]["value"], "ordinal")
        members = env["CAIRN_MEMBERS"]["value"].split(",")
        self.assertEqual(len(members), sts["spec"]["replicas"])
        for i, member in enumerate(members):
            self.assertRegex(member, r"^\d+@[^@]+:\d+@[^@]+:\d+$")
            rid, peer, http = member.split("@")
            self.assertEqual(int(rid), i + 1)
            self.assertEqual(peer, "%s-%d.%s:%d" % (name, i, service, ports["peer"]))
            self.assertEqual(http, "%s-%d.%s:%d" % (name, i, service, ports["http"]))
        self.assertTrue(env["CAIRN_LISTEN_PEER"]["value"].endswith(":%d" % ports["peer"]))
        self.assertTrue(env["CAIRN_LISTEN_HTTP"]["value"].endswith(":%d" % ports["http"]))
        # That the server runs with them is ImageTest.test_statefulset_cluster_from_the_image.


def main():
    global BUILD
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", default=BUILD)
    parser.add_argument("-v", action="store_true")
    parser.add_argument("-k", action="append", default=[])
    args = parser.parse_args()
    BUILD = os.path.abspath(args.build_dir)
    if not os.access(os.path.join(BUILD, "cairn"), os.X_OK):
        print("no %s/cairn: build first" % BUILD)
        return 77
    argv = [sys.argv[0]] + (["-v"] if args.v else []) + sum((["-k", k] for k in args.k), [])
    prog = unittest.main(argv=argv, exit=False, verbosity=2)
    result = prog.result
    if not result.wasSuccessful():
        return 1
    if result.testsRun and len(result.skipped) == result.testsRun:
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
