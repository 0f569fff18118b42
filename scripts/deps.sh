#!/bin/sh
# Installs the Debian 12 packages Cairn needs to build and test, when they are missing.
# As root it runs apt-get; otherwise it prints the apt-get line and fails.
set -eu

PACKAGES="cmake ninja-build ccache g++ clang libclang-rt-14-dev pkg-config
libboost-dev libboost-system-dev nlohmann-json3-dev libsqlite3-dev sqlite3 libssl-dev
libhiredis-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libcli11-dev
libgtest-dev libgmock-dev libbenchmark-dev python3 curl procps openssl python3-consul
libre2-dev json-schema-test-suite zlib1g-dev libjemalloc-dev
prometheus redis-server
nginx prometheus-alertmanager rsyslog rsyslog-elasticsearch systemd
chromium nodejs
dpkg-dev binutils lintian umoci ca-certificates iproute2 debootstrap python3-kubernetes python3-yaml
podman runc gnuplot-nox"
# libjemalloc-dev: the server binary's allocator (src/server/CMakeLists.txt).
# zlib1g-dev: the zip files of import and export (docs/import-export.md) are inflated and
# deflated with zlib.
# nginx, prometheus-alertmanager (amtool), rsyslog with rsyslog-elasticsearch (rsyslogd -N1,
# omelasticsearch) and systemd (systemd-analyze) check the files in deploy/
# (tests/e2e/test_deploy.py). On a host with systemd running, installing nginx,
# prometheus-alertmanager or rsyslog also starts its service, as prometheus and redis-server do.
# iproute2 (ip netns, ip rule, tc) builds the fault suite's network (tests/chaos, docs/chaos.md);
# gnuplot-nox draws the soak's PNG (bench/soak.sh, docs/chaos.md#soak).
# make deb and make image (docs/install.md): dpkg-dev (dpkg-shlibdeps), binutils (strip), umoci
# (the OCI image, FROM scratch), ca-certificates (copied into the image). Their test
# (tests/packaging): lintian, debootstrap (a fresh Debian root to install the package into),
# iproute2 (network namespaces), python3-kubernetes (the API models the manifests are checked
# against), podman with runc (the 3-node run of the image; runc where crun cannot run nested
# containers).
# The console's browser tests (tests/ui) need npm; nodesource's nodejs package bundles it.
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages. Install them with:" >&2
  echo "  sudo apt-get install -y$missing" >&2
  exit 1
fi

echo "Installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
