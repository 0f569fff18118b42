#!/usr/bin/env bash
# Side-by-side benchmark of Cairn vs etcd vs nginx on this machine (issues 8 and 21). See
# bench/README.md.
#   bench/run.sh [--quick] [--rounds N] [--no-build] [--binary PATH] [--json-dir DIR]
#                [--no-fanout] [--no-snapshots] [--no-profiles] [--fanout-args "…"]
#                [--snapshot-args "…"] [other bench.py flags]
# A full run (no --quick) runs bench.py, then bench/fanout.py (issue 21 §4–5, with its perf
# profile of the largest fan-out), bench/snapshot_stalls.py (§2) and bench/miss_profiles.py (the
# profiles behind the write, access-log and c=1 figures) with the same binary, writes their JSON
# (and their output) into one directory and ends with bench/targets.py's met / not met summary
# of issue 21's targets.
# It takes no lock itself: on a shared machine run the whole thing under
# `flock /tmp/cairn-heavy.lock bench/run.sh …` (a nested flock on the same file would block).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build=1
quick=0
fanout=1
snapshots=1
profiles=1
binary="$root/build/cairn"
json=""
json_dir=""
fanout_args=""
snapshot_args=""
args=()
while (($#)); do
  a="$1"; shift
  case "$a" in
    --no-build) build=0 ;;
    --no-fanout) fanout=0 ;;
    --no-snapshots) snapshots=0 ;;
    --no-profiles) profiles=0 ;;
    --quick) quick=1; args+=("$a") ;;
    --binary) binary="$1"; shift ;;
    --binary=*) binary="${a#*=}" ;;
    --json) json="$1"; shift ;;
    --json=*) json="${a#*=}" ;;
    --json-dir) json_dir="$1"; shift ;;
    --json-dir=*) json_dir="${a#*=}" ;;
    --fanout-args) fanout_args="$1"; shift ;;
    --fanout-args=*) fanout_args="${a#*=}" ;;
    --snapshot-args) snapshot_args="$1"; shift ;;
    --snapshot-args=*) snapshot_args="${a#*=}" ;;
    *) args+=("$a") ;;
  esac
done
if ((quick)); then fanout=0; snapshots=0; profiles=0; fi

# 1. what is missing (Debian)
need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v nginx >/dev/null || need+=(nginx)
command -v redis-server >/dev/null || need+=(redis-server)
command -v wrk >/dev/null || need+=(wrk)
command -v python3 >/dev/null || need+=(python3)
((fanout)) && ! command -v cc >/dev/null && need+=(gcc)  # fanout.py compiles its client
((profiles)) && ! command -v perf >/dev/null && need+=(linux-perf)
if ((${#need[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${need[*]}" >&2
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}"
fi

# 2. release build (ninja serialises with anyone building in build/ at the same time)
if ((build)); then
  (cd "$root" && cmake --preset release >/dev/null && cmake --build --preset release -j2)
fi
binary="$(realpath "$binary")"
[ -x "$binary" ] || { echo "no executable cairn binary at $binary" >&2; exit 2; }

# 3. where the JSON (and each script's output) goes: --json-dir DIR (bench.json, fanout.json,
# snapshots.json, targets.json and *.txt), or --json FILE (bench.py's; the others next to it as
# FILE-fanout.json, FILE-snapshots.json, …), or a new directory under /tmp.
if [ -n "$json" ]; then
  json="$(realpath -m "$json")"
  stem="${json%.json}"
  mkdir -p "$(dirname "$json")"
else
  [ -n "$json_dir" ] || json_dir="$(mktemp -d "/tmp/cairn-run-$(date -u +%Y%m%d-%H%M)-XXXX")"
  mkdir -p "$json_dir"
  json_dir="$(realpath "$json_dir")"
  json="$json_dir/bench.json"
  stem="$json_dir/"
fi
name() {  # name KIND EXT: where KIND's output goes
  if [ "${stem: -1}" = / ]; then echo "$stem$1.$2"
  elif [ "$1.$2" = bench.json ]; then echo "$json"
  else echo "$stem-$1.$2"; fi
}
echo "binary: $binary; JSON and output: $(name bench json) and next to it" >&2

# 4. run; every PID the scripts start is appended to the pid file, and the trap stops them
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export BENCH_PIDFILE
BENCH_PIDFILE="$(mktemp /tmp/cairn-bench-pids.XXXXXX)"
py=""
cleanup() {
  [ -n "$py" ] && kill -TERM "$py" 2>/dev/null && wait "$py" 2>/dev/null || true
  while read -r pid; do
    kill -0 "$pid" 2>/dev/null && kill -INT "$pid" 2>/dev/null || true
  done <"$BENCH_PIDFILE"
  sleep 1
  while read -r pid; do
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  done <"$BENCH_PIDFILE"
  rm -f "$BENCH_PIDFILE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# step KIND CMD…: runs one script in the background (so that the trap can stop it), its stdout
# and stderr also copied to KIND.txt; returns its exit status.
step() {
  local kind="$1"; shift
  local out; out="$(name "$kind" txt)"
  echo "=== $kind: $* ($(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  local t0=$SECONDS
  : >"$out"
  rm -f "$(name "$kind" json)"  # a reused --json-dir: no stale figures for targets.py
  set +e
  "$@" > >(tee -a "$out") 2> >(tee -a "$out" >&2) &
  py=$!
  wait "$py"
  local rc=$?
  py=""
  set -e
  echo "=== $kind: exit $rc after $((SECONDS - t0)) s" >&2
  return $rc
}

rc=0
step bench python3 "$here/bench.py" --binary "$binary" --json "$(name bench json)" \
  ${args[@]+"${args[@]}"} || rc=$?
if ((fanout)); then
  if ((profiles)) && [[ "$fanout_args" != *--perf-dir* ]]; then
    fanout_args+=" --perf-dir $(name fanout-perf d)"
  fi
  # shellcheck disable=SC2086 # --fanout-args is split into words on purpose
  step fanout python3 "$here/fanout.py" --binary "$binary" --json "$(name fanout json)" \
    $fanout_args || rc=$?
fi
if ((snapshots)); then
  # The command of bench/RESULTS.md's "Issue 21 §2": 30 windows of 10 s at c=32, snapshot
  # threshold 50,000 entries (crossed several times per node in the 5 minutes).
  # shellcheck disable=SC2086
  step snapshots python3 "$here/snapshot_stalls.py" --binary "$binary" --conns 32 \
    --windows 30 --window 10 --snapshot-threshold 50000 $snapshot_args \
    --json "$(name snapshots json)" || rc=$?
fi
if ((profiles)); then
  step profiles python3 "$here/miss_profiles.py" --binary "$binary" \
    --out "$(name profiles d)" || rc=$?
fi
targets=(python3 "$here/targets.py" --bench "$(name bench json)" --json "$(name targets json)")
((fanout)) && targets+=(--fanout "$(name fanout json)")
((snapshots)) && targets+=(--snapshots "$(name snapshots json)")
echo >&2
"${targets[@]}" | tee "$(name targets txt)" || rc=$?
echo "rerun the summary: ${targets[*]}" >&2
exit $rc
