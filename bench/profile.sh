#!/usr/bin/env bash
# Profile the Cairn leader under wrk read load, then write load (bench/RESULTS.md "Profile").
#   bench/profile.sh [OUTDIR]   (needs build/cairn; perf; falls back to cpu-clock when the
#   machine has no hardware counters, as on most VMs)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(dirname "$here")"
out="${1:-/tmp/cairn-profile}"; mkdir -p "$out"
export BENCH_PIDFILE; BENCH_PIDFILE="$(mktemp /tmp/cairn-bench-pids.XXXXXX)"
export BENCH_WRK_DIR="$here/wrk"
py=""
cleanup() {
  [ -n "$py" ] && kill -TERM "$py" 2>/dev/null || true
  sleep 2
  while read -r pid; do kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true; done <"$BENCH_PIDFILE"
  rm -f "$BENCH_PIDFILE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
python3 "$here/bench.py" --binary "$root/build/cairn" --hold 90 2>"$out/hold.log" &
py=$!
for _ in $(seq 120); do grep -q "holding" "$out/hold.log" 2>/dev/null && break; sleep 0.5; done
read -r port pid < <(grep -o "leader :[0-9]* pids \[[0-9, ]*\]" "$out/hold.log" | head -1 | \
  python3 -c 'import re,sys; s=sys.stdin.read(); p=int(re.search(r":(\d+)",s).group(1)); pids=[int(x) for x in re.findall(r"\d+",s.split("[")[1])]; print(p, pids[p-18101])')
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
