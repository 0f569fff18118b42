#!/usr/bin/env bash
# Syscalls per request on the Cairn leader: strace -c over all its threads during a short wrk
# read run, then a write run (bench/RESULTS.md "Profile"). strace slows the server a lot; only
# the counts per request are meaningful, not the rates.   bench/syscalls.sh [OUTDIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(dirname "$here")"
out="${1:-/tmp/cairn-syscalls}"; mkdir -p "$out"
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
python3 "$here/bench.py" --binary "$root/build/cairn" --hold 60 2>"$out/hold.log" &
py=$!
for _ in $(seq 120); do grep -q "holding" "$out/hold.log" 2>/dev/null && break; sleep 0.5; done
read -r port pid < <(grep -o "leader :[0-9]* pids \[[0-9, ]*\]" "$out/hold.log" | head -1 | \
  python3 -c 'import re,sys; s=sys.stdin.read(); p=int(re.search(r":(\d+)",s).group(1)); pids=[int(x) for x in re.findall(r"\d+",s.split("[")[1])]; print(p, pids[p-18101])')
tids=$(ls /proc/$pid/task | paste -sd, -)
for kind in read write; do
  if [ $kind = read ]; then
    url="http://127.0.0.1:$port/api/v1/config/get?namespace=bench&key=k0000"; s=get.lua
  else
    url="http://127.0.0.1:$port/api/v1/admin/config"; s=cairn_put.lua
  fi
  strace -c -f -o "$out/strace-$kind.txt" -p "$tids" &
  st=$!
  sleep 1
  wrk -t2 -c64 -d5s -s "$here/wrk/$s" "$url" >"$out/wrk-$kind.txt" 2>&1
  kill -INT $st; wait $st || true
  echo "== $kind: $(grep RESULT "$out/wrk-$kind.txt")" >&2
  head -20 "$out/strace-$kind.txt" >&2
done
