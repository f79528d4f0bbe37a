#!/usr/bin/env bash
# Builds the images the local node runs, offline from Debian packages with buildah, and keeps each
# as an archive that `ctr images import` takes, in ${KUBECORO_CACHE:-/var/cache/kubecoro}/images/:
#   docker.io/library/postgres:15     postgres/ (Debian's postgresql-15)
#   docker.io/library/mariadb:10.11   mariadb/ (Debian's mariadb-server)
#   localhost/kubecoro-pause:3.4      the sandbox image: build.sh's static pause binary
# An archive is rebuilt only when its recipe (the folder's files, or the pause binary) changes.
# MySQL has no Debian package: there is no mysql image, so MySQL Databases cannot run on the node.
# Prints the archives' paths on stdout, one per line. As root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${KUBECORO_CACHE:-/var/cache/kubecoro}
out=$cache/images
pause_bin=$cache/k8s-v1.20.2/bin/pause
pause_image=localhost/kubecoro-pause:$(cat "$cache/k8s-v1.20.2/pause.version" 2>/dev/null || echo 3.4)

log() { echo "images: [$(printf '%4d' "$SECONDS")s] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
bah_root=()
if [[ -n ${KUBECORO_BUILDAH_ROOT:-} ]]; then
    bah_root=(--root "$KUBECORO_BUILDAH_ROOT" --runroot "$KUBECORO_BUILDAH_ROOT.run")
fi
bah() { buildah "${bah_root[@]}" --storage-driver vfs "$@"; }

[[ -x $pause_bin ]] || die "$pause_bin missing: run test/controlplane/build.sh"
bash "$root/test/ensure-packages.sh" buildah debootstrap debian-archive-keyring
mkdir -p "$out"
exec 7>"$out/.lock"
flock 7

# archive NAME HASH: where the archive of image NAME built from recipe HASH is kept.
archive() { echo "$out/$1-${2:0:16}.tar"; }
recipe_hash() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-64; }

# save IMAGE FILE: writes IMAGE as a docker archive (atomically) and drops the older archives of
# the same name.
save() {
    local tmp=$2.partial name
    rm -f "$tmp"
    bah push --quiet "$1" "docker-archive:$tmp:$1" >/dev/null || die "could not export $1"
    mv -f "$tmp" "$2"
    name=$(basename "$2"); name=${name%-*}
    find "$out" -maxdepth 1 -name "$name-*.tar" ! -path "$2" -delete
    log "$1 -> $2 ($(du -m "$2" | cut -f1) MB)"
}

build_db_image() { # folder tag
    local dir=$here/$1 hash file
    hash=$(recipe_hash "$dir")
    file=$(archive "$1" "$hash")
    if [[ ! -s $file ]]; then
        bash "$root/test/container/base-images.sh"
        log "building $2 from $dir (Debian packages; about 2 minutes)"
        bah bud --isolation chroot --pull=never --layers=false --force-rm -t "$2" "$dir" >"$out/$1.build.log" 2>&1 ||
            { tail -30 "$out/$1.build.log" >&2; die "building $2 failed (log: $out/$1.build.log)"; }
        save "$2" "$file"
        bah rmi --prune >/dev/null 2>&1 || true
    fi
    echo "$file"
}

build_pause_image() {
    local hash file ctr mp
    hash=$(sha256sum "$pause_bin" | cut -c1-64)
    file=$(archive pause "$hash")
    if [[ ! -s $file ]]; then
        log "building $pause_image from $pause_bin"
        ctr=$(bah from scratch)
        mp=$(bah mount "$ctr")
        install -m 0755 "$pause_bin" "$mp/pause"
        bah umount "$ctr" >/dev/null
        bah config --entrypoint '["/pause"]' --user 65535:65535 --os linux --arch amd64 "$ctr"
        bah commit --quiet --rm "$ctr" "$pause_image" >/dev/null
        save "$pause_image" "$file"
    fi
    echo "$file"
}

build_pause_image
build_db_image postgres docker.io/library/postgres:15
build_db_image mariadb docker.io/library/mariadb:10.11
