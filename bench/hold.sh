# Sourced by profile.sh and syscalls.sh: starts the benchmark cluster held for $1 seconds
# (bench.py --hold), logging to $out/hold.log, stops everything it started on exit (by PID),
# and sets $port and $pid to the leader's HTTP port and process id.
# Needs $here, $root and $out set by the caller.
export BENCH_PIDFILE; BENCH_PIDFILE="$(mktemp /tmp/cairn-bench-pids.XXXXXX)"
export BENCH_WRK_DIR="$here/wrk"
py=""
cleanup() {
  [ -n "$py" ] && kill -TERM "$py" 2>/dev/null || true
  sleep 2
  while read -r p; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true; done <"$BENCH_PIDFILE"
  rm -f "$BENCH_PIDFILE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
python3 "$here/bench.py" --binary "$root/build/cairn" --hold "$1" 2>"$out/hold.log" &
py=$!
for _ in $(seq 120); do grep -q "holding" "$out/hold.log" 2>/dev/null && break; sleep 0.5; done
read -r port pid < <(grep -o "leader :[0-9]* pids \[[0-9, ]*\]" "$out/hold.log" | head -1 | \
  python3 -c 'import re,sys; s=sys.stdin.read(); p=int(re.search(r":(\d+)",s).group(1)); pids=[int(x) for x in re.findall(r"\d+",s.split("[")[1])]; print(p, pids[p-18101])')
