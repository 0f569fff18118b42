#!/usr/bin/env bash
# Side-by-side benchmark of Cairn vs etcd vs nginx on this machine (issue 8). See bench/README.md.
#   bench/run.sh [--quick] [--rounds N] [--no-build] [other bench.py flags]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build=1
args=()
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    *) args+=("$a") ;;
  esac
done

# 1. what is missing (Debian)
need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v nginx >/dev/null || need+=(nginx)
command -v redis-server >/dev/null || need+=(redis-server)
command -v wrk >/dev/null || need+=(wrk)
command -v python3 >/dev/null || need+=(python3)
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

# 3. run; every PID bench.py starts is appended to the pid file, and the trap stops them
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
python3 "$here/bench.py" --binary "$root/build/cairn" "${args[@]}" &
py=$!
wait "$py"
rc=$?
py=""
exit $rc
