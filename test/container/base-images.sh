#!/usr/bin/env bash
# Bootstraps the base images docker.io/library/debian:bookworm and :bookworm-slim with debootstrap
# (as the official ones are made) into buildah's storage (driver vfs), once: they are rebuilt only
# when the recipe below changes. Used by build-image.sh (kubecoro's image) and test/images/build.sh
# (the database images for the local node). Idempotent; as root.
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), KUBECORO_BUILDAH_ROOT (buildah's
# storage root; default buildah's own).
set -euo pipefail
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
base=docker.io/library/debian:bookworm
slim=docker.io/library/debian:bookworm-slim

log() { echo "base-images: [$(printf '%4d' "$SECONDS")s] $*" >&2; }
bah_root=()
if [[ -n ${KUBECORO_BUILDAH_ROOT:-} ]]; then
    bah_root=(--root "$KUBECORO_BUILDAH_ROOT" --runroot "$KUBECORO_BUILDAH_ROOT.run")
fi
bah() { buildah "${bah_root[@]}" --storage-driver vfs "$@"; }
have_image() {
    local names
    names=$(bah images --noheading --format '{{.Name}}:{{.Tag}}') && grep -qxF "$1" <<<"$names"
}

bash "$(dirname "$0")/../ensure-packages.sh" buildah debootstrap debian-archive-keyring

# One bootstrap at a time.
exec 8>/var/lock/kubecoro-base-images.lock
flock 8
# --- base images ------------------------------------------------------------------------------
# Bumped when the recipe below changes: base images with another label are rebuilt.
base_recipe=2
base_current() {
    have_image "$1" && [[ $(bah inspect --type image \
        --format '{{index .OCIv1.Config.Labels "dev.kubecoro.base-recipe"}}' "$1") == "$base_recipe" ]]
}
if ! base_current "$base" || ! base_current "$slim"; then
    work=$(mktemp -d /var/tmp/kubecoro-debootstrap.XXXXXX)
    trap 'rm -rf "$work"' EXIT
    log "debootstrap --variant=minbase bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
        { tail -20 "$work/debootstrap.log" >&2; exit 1; }
    r=$work/rootfs
    # As the official image: deb822 sources with updates and security, no package lists, no /dev.
    rm -f "$r/etc/apt/sources.list"
    cat >"$r/etc/apt/sources.list.d/debian.sources" <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    rm -rf "${r:?}"/var/lib/apt/lists/* "${r:?}"/var/cache/apt/*.bin "${r:?}"/var/cache/apt/archives/*.deb \
        "${r:?}"/var/log/* "${r:?}"/dev/* "${r:?}"/proc/* "${r:?}"/sys/* "${r:?}"/tmp/* "${r:?}"/run/*
    : >"$r/etc/hostname"
    # As the official images (debuerreotype's minimizing config): dpkg without fsync (much faster
    # in a build), no translations, no downloaded packages kept.
    echo force-unsafe-io >"$r/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
    echo 'Acquire::Languages "none";' >"$r/etc/apt/apt.conf.d/docker-no-languages"
    cat >"$r/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
    commit_rootfs() { # name
        local ctr mp
        ctr=$(bah from scratch)
        mp=$(bah mount "$ctr")
        tar -C "$r" -cf - . | tar -C "$mp" -xpf -
        bah umount "$ctr" >/dev/null
        bah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            --cmd bash --os linux --arch amd64 --label "dev.kubecoro.base-recipe=$base_recipe" "$ctr"
        bah commit --quiet --rm "$ctr" "$1" >/dev/null
    }
    log "debootstrap done; committing the base images"
    commit_rootfs "$base"
    # bookworm-slim: as the official one, without documentation, manual pages and translations.
    cat >"$r/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
DPKG
    find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    rm -rf "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/locale/* "$r"/usr/share/lintian/*
    commit_rootfs "$slim"
    rm -rf "$work"
    trap - EXIT
    log "committed $base and $slim"
else
    log "cached: $base and $slim"
fi

