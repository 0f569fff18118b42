#!/bin/sh
# make image: an OCI image FROM scratch built with umoci (Debian package umoci), written as an
# OCI archive that `podman load` and `docker load` (Docker 25+) accept. docs/install.md.
#
#   scripts/package/image.sh [BUILD_DIR [OUT_DIR]]     (defaults: build, dist)
#
# The image holds /usr/bin/cairn (stripped), exactly the shared libraries `ldd` lists for it, the
# CA certificates, /etc/passwd and /etc/group with the non-root user cairn (10001:10001), /data
# (the volume, owned by that user) and /tmp. No shell: the entrypoint is `cairn server`, which
# takes every option from a CAIRN_<KEY> environment variable (or from flags after the image name).
# Writes OUT_DIR/cairn-image_<version>.tar (image name cairn:<version>) and prints its size.
# Environment: IMAGE_VERSION (default: `cairn --version`), SOURCE_DATE_EPOCH (default: the last
# commit's time).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
out=${2:-$top/dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)

command -v umoci >/dev/null || { echo "image.sh: umoci is missing (apt-get install umoci)" >&2; exit 1; }
[ -x "$build/cairn" ] || { echo "image.sh: no $build/cairn: run make build first" >&2; exit 1; }
certs=/etc/ssl/certs/ca-certificates.crt
[ -f "$certs" ] || { echo "image.sh: no $certs (apt-get install ca-certificates)" >&2; exit 1; }

version=${IMAGE_VERSION:-$("$build/cairn" --version | awk '{print $2}')}
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)}
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
uid=10001
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
umask 022

layout=$stage/oci
umoci init --layout "$layout"
umoci new --image "$layout:$version"
umoci unpack --image "$layout:$version" "$stage/bundle" >/dev/null
rootfs=$stage/bundle/rootfs

install -d "$rootfs/usr/bin" "$rootfs/etc/ssl/certs"
install -m 0755 "$build/cairn" "$rootfs/usr/bin/cairn"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$rootfs/usr/bin/cairn"
# Exactly what the dynamic loader will open: each `name => path` of ldd, and the interpreter.
ldd "$build/cairn" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' |
  while read -r lib; do
    install -d "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
if ldd "$build/cairn" | grep -q 'not found'; then
  echo "image.sh: ldd cannot resolve every library of $build/cairn" >&2; exit 1
fi
install -m 0644 "$certs" "$rootfs$certs"
printf 'root:x:0:0:root:/:/sbin/nologin\ncairn:x:%s:%s:Cairn:/data:/sbin/nologin\n' "$uid" "$uid" \
  > "$rootfs/etc/passwd"
printf 'root:x:0:\ncairn:x:%s:\n' "$uid" > "$rootfs/etc/group"
printf 'hosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group" "$rootfs/etc/nsswitch.conf"
install -d -o "$uid" -g "$uid" -m 0750 "$rootfs/data"
install -d -m 1777 "$rootfs/tmp"
find "$rootfs" -exec touch -h -d "@$epoch" {} +
umoci repack --image "$layout:$version" --history.created "$created" \
  --history.created_by "scripts/package/image.sh" "$stage/bundle"

umoci config --image "$layout:$version" --created "$created" --history.created "$created" \
  --history.created_by "scripts/package/image.sh (config)" \
  --author "Cairn developers" --architecture amd64 --os linux \
  --config.user "$uid:$uid" --config.workingdir /data --config.volume /data \
  --config.entrypoint /usr/bin/cairn --config.entrypoint server \
  --config.env CAIRN_DATA_DIR=/data \
  --config.env CAIRN_LISTEN_HTTP=0.0.0.0:8080 \
  --config.env CAIRN_LISTEN_PEER=0.0.0.0:7001 \
  --config.env SSL_CERT_FILE=$certs \
  --config.exposedports 8080/tcp --config.exposedports 7001/tcp \
  --config.stopsignal SIGTERM \
  --config.label org.opencontainers.image.title=cairn \
  --config.label org.opencontainers.image.version="$version" \
  --config.label org.opencontainers.image.description="Cairn distributed configuration center"
umoci gc --layout "$layout"

# Names for the loaders: umoci reads org.opencontainers.image.ref.name (the tag), Docker 25+
# io.containerd.image.name, older Docker manifest.json (docker save's format).
python3 - "$layout" "$version" <<'PY'
import json, sys
layout, version = sys.argv[1], sys.argv[2]
with open(layout + "/index.json") as f:
    index = json.load(f)
manifest = index["manifests"][0]
manifest["annotations"] = {"org.opencontainers.image.ref.name": version,
                           "io.containerd.image.name": "localhost/cairn:" + version}
with open(layout + "/index.json", "w") as f:
    json.dump(index, f)
digest = manifest["digest"].split(":")[1]
with open(layout + "/blobs/sha256/" + digest) as f:
    m = json.load(f)
docker = [{"Config": "blobs/sha256/" + m["config"]["digest"].split(":")[1],
           "RepoTags": ["localhost/cairn:" + version],
           "Layers": ["blobs/sha256/" + l["digest"].split(":")[1] for l in m["layers"]]}]
with open(layout + "/manifest.json", "w") as f:
    json.dump(docker, f)
PY
archive=$out/cairn-image_$version.tar
(cd "$layout" && chmod -R a+rX . && find . -exec touch -h -d "@$epoch" {} + &&
  tar --sort=name --owner=0 --group=0 --numeric-owner -cf "$archive" oci-layout index.json manifest.json blobs)
echo "$archive: $(du -k "$archive" | awk '{print $1}') KiB archive; image cairn:$version"
