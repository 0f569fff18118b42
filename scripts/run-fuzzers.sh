#!/bin/sh
# Runs every libFuzzer target found in BUILD_DIR for SECONDS each, from its seed corpus.
# Exits non-zero on the first crash, leak or sanitizer report.
set -eu
BUILD_DIR=${1:-build-fuzz}
SECONDS_EACH=${2:-60}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
found=0
for fuzzer in "$BUILD_DIR"/fuzz_*; do
  [ -x "$fuzzer" ] || continue
  found=1
  name=$(basename "$fuzzer")
  corpus="$BUILD_DIR/corpus/$name"
  mkdir -p "$corpus"
  seeds="$ROOT/tests/fuzz/corpus/$name"
  [ -d "$seeds" ] || seeds=""
  echo "== $name for ${SECONDS_EACH}s"
  # -rss_limit_mb guards against unbounded allocation; -timeout flags hangs.
  log="$BUILD_DIR/$name.log"
  if ! "$fuzzer" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 "$corpus" $seeds >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "FUZZER FAILED: $name (full log: $log)" >&2
    exit 1
  fi
  tail -n 12 "$log"
done
[ "$found" = 1 ] || { echo "no fuzzers in $BUILD_DIR" >&2; exit 1; }
