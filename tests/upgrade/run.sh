#!/bin/sh
# Rolling-upgrade test (issue 22, docs/operations.md "Rolling upgrade"): builds the previous
# release's `cairn` into its own build folder, starts a 3-node cluster on it, writes without a
# pause and replaces the nodes one at a time with the binary under test (followers first, then
# the leader after a leadership transfer). `make test-upgrade` runs it.
#
#   tests/upgrade/run.sh [NEW_BINARY]          default build/cairn
#
# PREVIOUS is the last commit on main before this test existed (no release tag yet): replace it
# with the tag of the previous release once there are tags. The old tree is exported with
# `git archive` (no worktree is registered in the repository) into $CAIRN_UPGRADE_DIR (default
# build-upgrade/), built once with ccache and reused while that folder is kept.
set -eu

PREVIOUS=${CAIRN_UPGRADE_FROM:-55c3b0b}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
new=${1:-$root/build/cairn}
work=${CAIRN_UPGRADE_DIR:-$root/build-upgrade}

if [ ! -x "$new" ]; then
  echo "run.sh: the binary under test is missing: $new (make build)" >&2
  exit 2
fi
commit=$(git -C "$root" rev-parse --verify --quiet "$PREVIOUS^{commit}") || {
  echo "run.sh: the previous release commit $PREVIOUS is not in this clone (git fetch)" >&2
  exit 2
}
short=$(echo "$commit" | cut -c1-12)
src=$work/$short/src
build=$work/$short/build
old=$build/cairn

if [ ! -x "$old" ]; then
  echo "Building cairn at $short into $build"
  rm -rf "$src"
  mkdir -p "$src"
  git -C "$root" archive "$commit" | tar -x -C "$src"
  # Paths relative to the exported tree and its build folder, so that the cache is reused from
  # one export (or checkout) of the same commit to the next.
  export CCACHE_BASEDIR="$work/$short" CCACHE_NOHASHDIR=true
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" --target cairn -j "${JOBS:-$(nproc)}"
fi

exec python3 "$here/rolling_upgrade.py" --old "$old" --new "$new" --previous "$short"
