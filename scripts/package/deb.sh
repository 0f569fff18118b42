#!/bin/sh
# make deb: builds cairn_<version>_amd64.deb (the binary, /etc/cairn/cairn.yaml, the systemd unit,
# the man page, maintainer scripts) and libcairn-dev_<version>_amd64.deb (the SDK's headers,
# static libraries and CMake package) with dpkg-deb, from a release build. docs/install.md.
#
#   scripts/package/deb.sh [BUILD_DIR [OUT_DIR]]      (defaults: build, dist)
#
# Environment: DEB_VERSION (default: `cairn --version`), DEB_COMPRESS (dpkg-deb -Z: xz, gzip,
# zstd, none; default xz), SOURCE_DATE_EPOCH (default: the last commit's time).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
out=${2:-$top/dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)

for tool in dpkg-deb dpkg-shlibdeps strip objcopy; do
  command -v "$tool" >/dev/null || { echo "deb.sh: $tool is missing (apt-get install dpkg-dev binutils)" >&2; exit 1; }
done
[ -x "$build/cairn" ] || { echo "deb.sh: no $build/cairn: run make build first" >&2; exit 1; }

version=${DEB_VERSION:-$("$build/cairn" --version | awk '{print $2}')}
compress=${DEB_COMPRESS:-xz}
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH="$epoch"
arch=$(dpkg --print-architecture)
maintainer="Cairn developers <cairn@example.org>"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
umask 022

changelog() {  # changelog PACKAGE DIR: the Debian changelog of a native package
  {
    printf '%s (%s) unstable; urgency=medium\n\n' "$1" "$version"
    printf '  * Built from the Cairn source tree with make deb.\n\n'
    printf ' -- %s  %s\n' "$maintainer" "$(date -u -R -d "@$epoch")"
  } | gzip -9n > "$2/changelog.gz"
}

md5sums() {  # md5sums ROOT: DEBIAN/md5sums of every regular file but DEBIAN/
  (cd "$1" && find . -type f ! -path './DEBIAN/*' -printf '%P\n' | LC_ALL=C sort |
    xargs -r md5sum > DEBIAN/md5sums)
}

# ---- cairn -------------------------------------------------------------------------------
root=$stage/cairn
install -d "$root/DEBIAN" "$root/usr/bin" "$root/etc/cairn" "$root/lib/systemd/system" \
  "$root/usr/share/man/man1" "$root/usr/share/doc/cairn"
install -m 0755 "$build/cairn" "$root/usr/bin/cairn"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/cairn"
install -m 0644 "$top/deploy/debian/cairn.yaml" "$root/etc/cairn/cairn.yaml"
# The unit of deploy/systemd/, less its install-by-hand header, running the packaged binary.
sed -e '/^# One Cairn node/,/^$/d' -e 's#/usr/local/bin/cairn#/usr/bin/cairn#' \
  "$top/deploy/systemd/cairn.service" > "$root/lib/systemd/system/cairn.service"
sed -i '1i # One Cairn node under systemd, from the cairn package (docs/install.md).' \
  "$root/lib/systemd/system/cairn.service"
chmod 0644 "$root/lib/systemd/system/cairn.service"
python3 "$here/manpage.py" "$root/usr/bin/cairn" "$stage/cairn.1" "$(date -u -d "@$epoch" +%F)"
gzip -9n -c "$stage/cairn.1" > "$root/usr/share/man/man1/cairn.1.gz"
install -m 0644 "$top/deploy/debian/copyright" "$root/usr/share/doc/cairn/copyright"
changelog cairn "$root/usr/share/doc/cairn"
for script in postinst prerm postrm; do
  install -m 0755 "$top/deploy/debian/$script" "$root/DEBIAN/$script"
done
echo /etc/cairn/cairn.yaml > "$root/DEBIAN/conffiles"

# Depends: the shared libraries of the binary (dpkg-shlibdeps wants a debian/control).
mkdir -p "$stage/src/debian"
printf 'Source: cairn\n\nPackage: cairn\nArchitecture: any\n' > "$stage/src/debian/control"
shlibs=$(cd "$stage/src" && dpkg-shlibdeps -O -e "$root/usr/bin/cairn" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -k -s --apparent-size "$root" | awk '{print $1}')
cat > "$root/DEBIAN/control" <<CONTROL
Package: cairn
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: adduser, $shlibs
Section: net
Priority: optional
Homepage: https://github.com/cairn/cairn
Description: distributed configuration center
 Cairn stores versioned JSON configuration in namespaces, replicates it with
 Raft across a cluster of nodes and pushes changes to watching clients (long
 polls, Server-Sent Events). It speaks its own HTTP API and the client
 protocols of Apollo, Nacos, etcd and Consul.
 .
 This package holds the cairn binary (server and command-line client), a
 single-node configuration in /etc/cairn/cairn.yaml with its data in
 /var/lib/cairn, and a hardened systemd unit running as the cairn user.
CONTROL
md5sums "$root"
find "$root" -exec touch -h -d "@$epoch" {} +
dpkg-deb --root-owner-group -Z"$compress" --build "$root" "$out/cairn_${version}_${arch}.deb" >/dev/null

# ---- libcairn-dev ------------------------------------------------------------------------
dev=$stage/libcairn-dev
cmake --install "$build" --prefix "$dev/usr" >/dev/null
find "$dev/usr" -name '*.a' -exec strip --strip-debug --remove-section=.comment --enable-deterministic-archives {} +
install -d "$dev/DEBIAN" "$dev/usr/share/doc/libcairn-dev"
install -m 0644 "$top/deploy/debian/copyright" "$dev/usr/share/doc/libcairn-dev/copyright"
changelog libcairn-dev "$dev/usr/share/doc/libcairn-dev"
size=$(du -k -s --apparent-size "$dev" | awk '{print $1}')
cat > "$dev/DEBIAN/control" <<CONTROL
Package: libcairn-dev
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: nlohmann-json3-dev (>= 3.10), libssl-dev
Provides: cairn-dev
Section: libdevel
Priority: optional
Homepage: https://github.com/cairn/cairn
Description: C++ SDK of the Cairn configuration center
 The client library of Cairn: reads, writes, watches and a local file cache
 over the HTTP API of a Cairn cluster. It holds the headers (cairn/client.h),
 the static libraries and the CMake package: find_package(Cairn) gives the
 target Cairn::client.
CONTROL
md5sums "$dev"
find "$dev" -exec touch -h -d "@$epoch" {} +
dpkg-deb --root-owner-group -Z"$compress" --build "$dev" "$out/libcairn-dev_${version}_${arch}.deb" >/dev/null

ls -l "$out/cairn_${version}_${arch}.deb" "$out/libcairn-dev_${version}_${arch}.deb"
