#!/usr/bin/env bash
# Profile the Cairn leader under wrk read load, then write load (bench/RESULTS.md "Profile").
#   bench/profile.sh [OUTDIR]   (needs build/cairn; perf; falls back to cpu-clock when the
#   machine has no hardware counters, as on most VMs)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(dirname "$here")"
out="${1:-/tmp/cairn-profile}"; mkdir -p "$out"
# shellcheck source=hold.sh
source "$here/hold.sh" 90
echo "leader :$port pid $pid" >&2
event=cycles
perf stat -e instructions true 2>&1 | grep -q "not supported" && event=cpu-clock
for kind in read write; do
  if [ $kind = read ]; then
    url="http://127.0.0.1:$port/api/v1/config/get?namespace=bench&key=k0000"; s=get.lua; c=64
  else
    url="http://127.0.0.1:$port/api/v1/admin/config"; s=cairn_put.lua; c=64
  fi
  wrk -t2 -c$c -d14s -s "$here/wrk/$s" "$url" >"$out/wrk-$kind.txt" 2>&1 &
  w=$!
  sleep 2
  perf record -e $event -F 499 -g -p "$pid" -o "$out/perf-$kind.data" -- sleep 10 2>/dev/null
  wait $w
  perf report -i "$out/perf-$kind.data" --no-children --sort symbol --stdio -g none 2>/dev/null \
    | grep -E '^ +[0-9]' | head -40 >"$out/top-$kind.txt" || true
  perf report -i "$out/perf-$kind.data" --children --sort symbol --stdio -g none 2>/dev/null \
    | grep -E '^ +[0-9]' | head -60 >"$out/top-children-$kind.txt" || true
  echo "== $kind (event $event): $(grep RESULT "$out/wrk-$kind.txt")" >&2
  head -25 "$out/top-$kind.txt" >&2 || true
done
