#!/bin/sh
# Soak (issue 23 §5, docs/chaos.md#soak): 30 minutes of mixed load (strong reads, writes,
# compare-and-sets, adds, watches) on three nodes in network namespaces with a fault every
# minute; RSS, open descriptors, threads, WAL and database size of every node sampled every
# 10 s and plotted (gnuplot) into bench/runs/soak-<UTC time>.png, with the samples (.csv) and a
# summary (.txt) beside it. Needs root (network namespaces) and gnuplot (gnuplot-nox).
#
#   bench/soak.sh                          # 30 minutes with build/cairn
#   bench/soak.sh --duration 180           # a 3-minute smoke run
#   CAIRN_BINARY=/path/cairn bench/soak.sh --fault-every 30
#
# Extra arguments go to bench/soak.py (--duration, --fault-every, --sample-every, --seed,
# --rate, --server-arg).
set -eu
cd "$(dirname "$0")/.."
BINARY=${CAIRN_BINARY:-build/cairn}
if [ ! -x "$BINARY" ]; then
  echo "no cairn binary at $BINARY (make build, or set CAIRN_BINARY)" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "bench/soak.sh needs root (network namespaces); run it with sudo" >&2
  exit 77
fi
command -v gnuplot >/dev/null 2>&1 || echo "note: no gnuplot (apt-get install gnuplot-nox): no PNG" >&2
mkdir -p bench/runs
OUT=bench/runs/soak-$(date -u +%Y%m%d-%H%M)
exec python3 bench/soak.py --binary "$BINARY" --out "$OUT" "$@"
