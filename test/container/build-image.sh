#!/usr/bin/env bash
# Builds kubecoro's container image offline with buildah (no registry, no Docker engine), then
# exports its binary and checks that it runs with the image's own libraries. Idempotent; as root.
#
#   bash test/container/build-image.sh            build (or rebuild) localhost/kubecoro:dev
#   bash test/container/build-image.sh --rootfs   ...and leave the image's rootfs mounted
#   bash test/container/build-image.sh --cleanup  unmount and remove that rootfs container
#
# The base images docker.io/library/debian:bookworm and :bookworm-slim are bootstrapped once with
# debootstrap from deb.debian.org (base-images.sh) and cached in buildah's storage (driver vfs: pass
# `--storage-driver vfs` to see them), as is the build stage (localhost/kubecoro-build:cache);
# older untagged images there are pruned. Last lines printed, for
# `eval "$(bash test/container/build-image.sh | grep ^KUBECORO_IMAGE)"`:
#   KUBECORO_IMAGE=localhost/kubecoro:dev
#   KUBECORO_IMAGE_SIZE=...          as `buildah images` reports it (values quoted for eval)
#   KUBECORO_IMAGE_ARCHIVE=<dir>/kubecoro-<version>-amd64.tar   docker-archive of the image, tagged
#                                        docker.io/library/kubecoro:<version> (the manifests' image)
#   KUBECORO_IMAGE_BIN=<dir>/kubecoro    the image's binary, copied out (runs on the host too)
#   KUBECORO_IMAGE_RUN=<dir>/kubecoro-chroot   runs that binary inside the image's rootfs (--rootfs)
#   KUBECORO_IMAGE_ROOTFS=<mountpoint>         the image's rootfs, mounted (--rootfs)
# and with KUBECORO_IMAGE_ARM64=1, the arm64 image too (cross-compiled; never from a prebuilt binary):
#   KUBECORO_IMAGE_ARM64=<image>-arm64   KUBECORO_IMAGE_ARM64_SIZE=...
#   KUBECORO_IMAGE_ARM64_VERSION=...     `kubecoro version` of its binary, run in its own rootfs
#                                        under qemu-user-static
#   KUBECORO_IMAGE_ARM64_ARCHIVE=<dir>/kubecoro-<version>-arm64.tar   (as the amd64 one)
#   KUBECORO_IMAGE_MULTIARCH_ARCHIVE=<dir>/kubecoro-<version>.oci.tar  one OCI index (a manifest
#                                        list) of both, named docker.io/library/kubecoro:<version>
# Environment: KUBECORO_IMAGE (tag), KUBECORO_IMAGE_OUT (default build-image/), JOBS (default 2),
# KUBECORO_IMAGE_BINARY (a kubecoro binary built on this bookworm machine, e.g. build-ci/kubecoro:
# the image is then made from it with the Containerfile's runtime stage, without compiling again),
# KUBECORO_IMAGE_ARM64=1 (the arm64 image and the multi-arch archive as well), DEBIAN_MIRROR
# (default http://deb.debian.org/debian), KUBECORO_BUILDAH_ROOT (buildah's storage root; default
# buildah's own, /var/lib/containers/storage: another root gives a cold build).
# Progress goes to stderr, each step with the seconds since the start ("[ 123s] ...").
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
image=${KUBECORO_IMAGE:-localhost/kubecoro:dev}
out=${KUBECORO_IMAGE_OUT:-$root/build-image}
export_ctr=kubecoro-image-export
build_cache=localhost/kubecoro-build:cache

mode=build
case "${1:-}" in
"") ;;
--rootfs) mode=rootfs ;;
--cleanup) mode=cleanup ;;
*) echo "usage: $0 [--rootfs|--cleanup]" >&2; exit 2 ;;
esac

log() { echo "build-image: [$(printf '%4d' "$SECONDS")s] $*" >&2; }
bah_root=()
if [[ -n ${KUBECORO_BUILDAH_ROOT:-} ]]; then
    bah_root=(--root "$KUBECORO_BUILDAH_ROOT" --runroot "$KUBECORO_BUILDAH_ROOT.run")
    # ...and its own cache mounts (the Containerfile's ccache), which buildah keeps under $TMPDIR.
    export TMPDIR=$KUBECORO_BUILDAH_ROOT.tmp
    mkdir -p "$TMPDIR"
fi
bah() { buildah "${bah_root[@]}" --storage-driver vfs "$@"; }
# stamp: prefixes each line of stdin with the seconds since the start (to see where time goes).
stamp() { local line; while IFS= read -r line; do printf '[%4ds] %s\n' "$SECONDS" "$line"; done; }
# (Listings are read whole before grep -q: an early exit would fail the pipeline with SIGPIPE.)
have_image() {
    local names
    names=$(bah images --noheading --format '{{.Name}}:{{.Tag}}') && grep -qxF "$1" <<<"$names"
}
remove_export_ctr() {
    local names
    names=$(bah containers --noheading --format '{{.ContainerName}}')
    if grep -qxF "$export_ctr" <<<"$names"; then
        bah umount "$export_ctr" >/dev/null 2>&1 || true
        bah rm "$export_ctr" >/dev/null
    fi
}

# One run at a time: buildah's storage is shared, the export container has a fixed name.
exec 9>/var/lock/kubecoro-build-image.lock
flock 9

bash "$root/test/ensure-packages.sh" buildah debootstrap debian-archive-keyring
arm64=${KUBECORO_IMAGE_ARM64:-}
[[ -z $arm64 ]] || bash "$root/test/ensure-packages.sh" qemu-user-static
# The stages that build run on this machine's architecture (buildah 1.28 does not set it).
build_platform=linux/$(dpkg --print-architecture)

if [[ $mode == cleanup ]]; then
    remove_export_ctr
    log "removed $export_ctr"
    exit 0
fi

# --- base images ------------------------------------------------------------------------------
bash "$root/test/container/base-images.sh"

# --- the image --------------------------------------------------------------------------------
remove_export_ctr
tmpdirs=()
trap 'rm -rf "${tmpdirs[@]}"' EXIT
# A snapshot of the tree to build from (tracked and untracked files that git does not ignore, and
# .git for the commit): every bud sees the same files, however the tree changes meanwhile.
source_context=
snapshot() {
    source_context=$root
    if git rev-parse --git-dir >/dev/null 2>&1; then
        source_context=$(mktemp -d /var/tmp/kubecoro-image-context.XXXXXX)
        tmpdirs+=("$source_context")
        git ls-files -z --cached --others --exclude-standard |
            tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$source_context" -xf -
        [[ -d .git ]] && cp -a .git "$source_context/.git"
    fi
}
bud_source() { # extra arguments...
    [[ -n $source_context ]] || snapshot
    bah bud --isolation chroot --pull=never --layers --force-rm --build-arg "JOBS=${JOBS:-2}" \
        --build-arg "BUILDPLATFORM=$build_platform" \
        --ignorefile "$source_context/container/.containerignore" \
        -f "$source_context/container/Containerfile" "$@" "$source_context" 2>&1 | stamp >&2
    return "${PIPESTATUS[0]}"
}
# build_from_source TAG CACHE_TAG [--platform P]: the build stage first, tagged CACHE_TAG: its
# layers stay as the cache (vfs copies every layer in full) when the older, now untagged ones are
# pruned below.
build_from_source() {
    local tag=$1 cache=$2
    shift 2
    log "buildah bud --target build $* -> $cache"
    bud_source --target build "$@" -t "$cache"
    log "buildah bud $* -> $tag"
    bud_source "$@" -t "$tag"
}

if [[ -n ${KUBECORO_IMAGE_BINARY:-} ]]; then
    # From a binary already built on this (bookworm) machine: the Containerfile without its build
    # stage, with the binary in place of the build stage's.
    [[ -x $KUBECORO_IMAGE_BINARY ]] || { log "KUBECORO_IMAGE_BINARY=$KUBECORO_IMAGE_BINARY is not executable"; exit 1; }
    context=$(mktemp -d /var/tmp/kubecoro-image-context.XXXXXX)
    tmpdirs+=("$context")
    strip --strip-all -o "$context/kubecoro" "$KUBECORO_IMAGE_BINARY"
    awk '/^FROM /{ skip = ($NF == "build") } !skip' container/Containerfile |
        sed 's|^COPY --from=build /kubecoro |COPY kubecoro |' >"$context/Containerfile"
    grep -q '^COPY kubecoro ' "$context/Containerfile" ||
        { log "the Containerfile's runtime stage no longer copies /kubecoro from the build stage"; exit 1; }
    log "buildah bud (all but the build stage, binary $KUBECORO_IMAGE_BINARY) -> $image"
    bah bud --isolation chroot --pull=never --layers --force-rm --build-arg "BUILDPLATFORM=$build_platform" \
        -f "$context/Containerfile" -t "$image" "$context" 2>&1 | stamp >&2
    ((PIPESTATUS[0] == 0)) || exit 1
else
    build_from_source "$image" "$build_cache"
fi
# arm64: cross-compiled in the build stage, its libraries from Debian's arm64 packages.
image_arm64=$image-arm64
[[ -z $arm64 ]] || build_from_source "$image_arm64" "$build_cache-arm64" --platform linux/arm64
bah rmi --prune >/dev/null || log "warning: could not prune all old images (in use by a container?)"
log "built $image"
bah images "$image" >&2
size=$(bah images --noheading --format '{{.Size}}' "$image" | head -1)

# --- export and check -------------------------------------------------------------------------
mkdir -p "$out"
bah from --quiet --pull=never --name "$export_ctr" "$image" >/dev/null
mp=$(bah mount "$export_ctr")
cp "$mp/usr/local/bin/kubecoro" "$out/kubecoro"
log "in the image: $(chroot --userspec=65532:65532 "$mp" /usr/local/bin/kubecoro version)"
cat >"$out/kubecoro-chroot" <<WRAPPER
#!/bin/sh
# Runs kubecoro inside the image's rootfs (as user 65532) with the image's libraries.
# Needs: bash test/container/build-image.sh --rootfs. Files it reads must be inside the rootfs.
exec chroot --userspec=65532:65532 "$mp" /usr/local/bin/kubecoro "\$@"
WRAPPER
chmod +x "$out/kubecoro-chroot"

# --- the release archive ------------------------------------------------------------------------
# docker-archive, tagged as containerd reads manifests/deployment.yaml's kubecoro:<version>: what
# `ctr -n k8s.io images import`, `kind load image-archive` and `k3d image import` load.
version=$(chroot --userspec=65532:65532 "$mp" /usr/local/bin/kubecoro version | awk '{ print $2 }')
archive=$out/kubecoro-$version-amd64.tar
rm -f "$archive"
bah push --quiet "$image" "docker-archive:$archive:docker.io/library/kubecoro:$version" >/dev/null
log "archive: $archive (docker.io/library/kubecoro:$version)"

# --- arm64: its binary in its own rootfs under qemu, its archive, and the manifest list ---------
if [[ -n $arm64 ]]; then
    arm64_ctr=$export_ctr-arm64
    bah rm "$arm64_ctr" >/dev/null 2>&1 || true
    bah from --quiet --pull=never --platform linux/arm64 --name "$arm64_ctr" "$image_arm64" >/dev/null
    arm64_mp=$(bah mount "$arm64_ctr")
    # (The container's own writable layer: the qemu copied in never reaches the image.)
    cp /usr/bin/qemu-aarch64-static "$arm64_mp/qemu-aarch64"
    arm64_version=$(chroot --userspec=65532:65532 "$arm64_mp" /qemu-aarch64 /usr/local/bin/kubecoro version) ||
        { log "the arm64 image's binary does not run in its rootfs under qemu-aarch64"; exit 1; }
    # ELF e_machine 0xb7: AArch64.
    machine=$(od -An -tx1 -j18 -N2 "$arm64_mp/usr/local/bin/kubecoro" | tr -d ' ')
    bah umount "$arm64_ctr" >/dev/null
    bah rm "$arm64_ctr" >/dev/null
    [[ $machine == b700 ]] || { log "the arm64 image's binary is not an AArch64 ELF (e_machine $machine)"; exit 1; }
    log "in the arm64 image, under qemu-aarch64: $arm64_version"
    arm64_size=$(bah images --noheading --format '{{.Size}}' "$image_arm64" | head -1)
    arm64_archive=$out/kubecoro-$version-arm64.tar
    rm -f "$arm64_archive"
    bah push --quiet "$image_arm64" "docker-archive:$arm64_archive:docker.io/library/kubecoro:$version" >/dev/null
    # One OCI index for both: what `ctr images import --all-platforms` loads, or `skopeo copy --all`
    # pushes to a registry.
    list=localhost/kubecoro-list:$version
    bah manifest rm "$list" >/dev/null 2>&1 || true
    bah manifest create "$list" >/dev/null
    bah manifest add "$list" "containers-storage:$image" >/dev/null
    bah manifest add "$list" "containers-storage:$image_arm64" >/dev/null
    multiarch_archive=$out/kubecoro-$version.oci.tar
    rm -f "$multiarch_archive"
    bah manifest push --quiet --all "$list" "oci-archive:$multiarch_archive:docker.io/library/kubecoro:$version" >/dev/null
    bah manifest rm "$list" >/dev/null
    log "archives: $arm64_archive, $multiarch_archive (amd64 and arm64)"
fi

out_var() { printf '%s=%q\n' "$1" "$2"; } # quoted for eval
out_var KUBECORO_IMAGE "$image"
out_var KUBECORO_IMAGE_ARCHIVE "$archive"
out_var KUBECORO_IMAGE_SIZE "$size"
out_var KUBECORO_IMAGE_BIN "$out/kubecoro"
if [[ -n $arm64 ]]; then
    out_var KUBECORO_IMAGE_ARM64 "$image_arm64"
    out_var KUBECORO_IMAGE_ARM64_SIZE "$arm64_size"
    out_var KUBECORO_IMAGE_ARM64_VERSION "$arm64_version"
    out_var KUBECORO_IMAGE_ARM64_ARCHIVE "$arm64_archive"
    out_var KUBECORO_IMAGE_MULTIARCH_ARCHIVE "$multiarch_archive"
fi
if [[ $mode == rootfs ]]; then
    out_var KUBECORO_IMAGE_RUN "$out/kubecoro-chroot"
    out_var KUBECORO_IMAGE_ROOTFS "$mp"
else
    remove_export_ctr
    rm -f "$out/kubecoro-chroot"
fi
