#!/bin/sh
# Installs the Debian 12 packages Cairn needs to build and test, when they are missing.
# As root it runs apt-get; otherwise it prints the apt-get line and fails.
set -eu

PACKAGES="cmake ninja-build ccache g++ clang libclang-rt-14-dev pkg-config
libboost-dev libboost-system-dev nlohmann-json3-dev libsqlite3-dev sqlite3 libssl-dev
libhiredis-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libcli11-dev
libgtest-dev libgmock-dev libbenchmark-dev python3 curl procps openssl python3-consul
libre2-dev json-schema-test-suite zlib1g-dev
prometheus redis-server
nginx prometheus-alertmanager rsyslog rsyslog-elasticsearch systemd
chromium nodejs"
# zlib1g-dev: the zip files of import and export (docs/import-export.md) are inflated and
# deflated with zlib.
# nginx, prometheus-alertmanager (amtool), rsyslog with rsyslog-elasticsearch (rsyslogd -N1,
# omelasticsearch) and systemd (systemd-analyze) check the files in deploy/
# (tests/e2e/test_deploy.py). On a host with systemd running, installing nginx,
# prometheus-alertmanager or rsyslog also starts its service, as prometheus and redis-server do.
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
