#!/usr/bin/env bash
# Syscalls per request on the Cairn leader: strace -c over all its threads during a short wrk
# read run, then a write run (bench/RESULTS.md "Profile"). strace slows the server a lot; only
# the counts per request are meaningful, not the rates.   bench/syscalls.sh [OUTDIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(dirname "$here")"
out="${1:-/tmp/cairn-syscalls}"; mkdir -p "$out"
# shellcheck source=hold.sh
source "$here/hold.sh" 60
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
