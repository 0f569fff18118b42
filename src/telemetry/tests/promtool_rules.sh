#!/bin/sh
# Checks the alert rules in deploy/prometheus and runs their unit tests with promtool.
# Exit 77 (CTest: skipped) only when promtool is not installed; scripts/deps.sh installs it.
set -eu
dir=$1
if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool not found (Debian package prometheus): skipping the rule checks"
  exit 77
fi
promtool check config "$dir/prometheus.yml"
promtool check rules "$dir/alerts.yml"
cd "$dir" && promtool test rules alerts_test.yml
