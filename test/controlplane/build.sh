#!/usr/bin/env bash
# shellcheck disable=SC2015 # `A && B || die` is intended
# Obtain the binaries for the local test control plane and its node:
#   - etcd from Debian's etcd-server package (3.4)
#   - kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and kube-proxy v1.20.2 built
#     from Debian bookworm's `kubernetes` source package, and the sandbox ("pause") binary built
#     statically from the same source's build/pause/linux/pause.c; all cached outside the checkout
#     in ${KUBECORO_CACHE:-/var/cache/kubecoro}/k8s-v1.20.2/bin/
# Only what is missing is built; exits quickly when everything is already present.
set -euo pipefail

K8S_VERSION=1.20.2
CACHE_ROOT=${KUBECORO_CACHE:-/var/cache/kubecoro}
DEST=$CACHE_ROOT/k8s-v$K8S_VERSION
BINS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
PKGS=(etcd-server golang-go rsync golang-github-modern-go-reflect2-dev dpkg-dev openssl make curl gcc libc6-dev)
REFLECT2_SRC=/usr/share/gocode/src/github.com/modern-go/reflect2
# The scripts need kubectl: Debian's (v1.20) only where there is none (the packages clash).
command -v kubectl >/dev/null || PKGS+=(kubernetes-client)

log() { echo "build.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

missing_bins() { # prints the Go binaries not yet in the cache
  local b
  for b in "${BINS[@]}"; do [[ -x $DEST/bin/$b ]] || echo "$b"; done
}
have_bins() { [[ -z $(missing_bins) && -x $DEST/bin/pause ]]; }
have_pkgs() {
  dpkg-query -W -f='${Status}\n' "${PKGS[@]}" 2>/dev/null | grep -c '^install ok installed$' |
    grep -qx "${#PKGS[@]}"
}

if have_bins && have_pkgs && command -v etcd >/dev/null; then
  log "cached: $DEST/bin ($("$DEST/bin/kube-apiserver" --version 2>/dev/null))"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || die "need root (or sudo) to install packages"
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

# ---- packages ---------------------------------------------------------------
if ! have_pkgs; then
  if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${PKGS[@]}"; then
    log "apt-get install failed; running apt-get update and retrying"
    "${SUDO[@]}" apt-get update -q
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${PKGS[@]}"
  fi
fi
command -v etcd >/dev/null || die "etcd not found after installing etcd-server"
[[ -d $REFLECT2_SRC ]] || die "$REFLECT2_SRC missing (golang-github-modern-go-reflect2-dev)"
have_bins && { log "cached: $DEST/bin"; exit 0; }

# ---- source package ----------------------------------------------------------
if ! apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Package: kubernetes'; then
  log "configuring deb-src for bookworm main"
  "${SUDO[@]}" tee /etc/apt/sources.list.d/kubecoro-src.sources >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  "${SUDO[@]}" apt-get update -q
  apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Package: kubernetes' ||
    die "source package 'kubernetes' still not available after apt-get update"
fi

mkdir -p "$CACHE_ROOT" && [[ -w $CACHE_ROOT ]] || die "cannot write $CACHE_ROOT (set KUBECORO_CACHE)"
# One build at a time per cache; a concurrent run waits and then finds the result.
exec 9>"$CACHE_ROOT/.build-v$K8S_VERSION.lock"
flock 9
have_bins && { log "cached: $DEST/bin (built concurrently)"; exit 0; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kubecoro-k8s-build.XXXXXX")
STAGE=""
trap 'rm -rf "$WORK" ${STAGE:+"$STAGE"}' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
start=$(date +%s)
log "fetching kubernetes source into $WORK"
(cd "$WORK" && apt-get source -q kubernetes >"$WORK/apt-source.log" 2>&1) ||
  { tail -20 "$WORK/apt-source.log" >&2; die "apt-get source kubernetes failed"; }
SRC=$(find "$WORK" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -1)
[[ -n $SRC && -f $SRC/hack/lib/version.sh ]] || die "unpacked source tree not found in $WORK"
grep -q "tag: v$K8S_VERSION'" "$SRC/hack/lib/version.sh" ||
  log "WARNING: source does not look like v$K8S_VERSION"

# Go >= 1.18 crashes with vendored reflect2 v1.0.1; use Debian's 1.0.2.
rm -rf "$SRC/vendor/github.com/modern-go/reflect2"
cp -rL "$REFLECT2_SRC" "$SRC/vendor/github.com/modern-go/reflect2"

# Pin the version info (no .git in the tree).
cat >"$WORK/version.env" <<EOF
KUBE_GIT_COMMIT='faecb196815e248d3ecfb03c680a4507229c2a56'
KUBE_GIT_TREE_STATE='clean'
KUBE_GIT_VERSION='v$K8S_VERSION'
KUBE_GIT_MAJOR='1'
KUBE_GIT_MINOR='20'
EOF

mkdir -p "$WORK/gopath/src/k8s.io" "$WORK/home" "$WORK/gocache"
ln -s "$SRC" "$WORK/gopath/src/k8s.io/kubernetes"
mapfile -t todo < <(missing_bins)
mkdir -p "$DEST/bin"
# Each file is installed atomically (copied next to its destination, then renamed).
install_bin() { # file name
  install -m 0755 "$1" "$DEST/bin/.$2.new" && mv -f "$DEST/bin/.$2.new" "$DEST/bin/$2"
}
if ((${#todo[@]})); then
  log "building ${todo[*]} v$K8S_VERSION with $(go version) (~5 min for two, ~9 for all five; log: $WORK/make.log)"
  if ! (cd "$WORK/gopath/src/k8s.io/kubernetes" &&
    env HOME="$WORK/home" GOPATH="$WORK/gopath" GOCACHE="$WORK/gocache" CGO_ENABLED=0 \
      GOFLAGS= GO111MODULE=off KUBE_GIT_VERSION_FILE="$WORK/version.env" \
      make WHAT="${todo[*]/#/cmd/}") >"$WORK/make.log" 2>&1; then
    tail -40 "$WORK/make.log" >&2
    die "kubernetes build failed"
  fi
  for b in "${todo[@]}"; do
    "$SRC/_output/bin/$b" --version 2>/dev/null | grep -q "v$K8S_VERSION\$" ||
      die "built $b does not report v$K8S_VERSION"
    install_bin "$SRC/_output/bin/$b" "$b"
  done
fi
if [[ ! -x $DEST/bin/pause ]]; then
  # As build/pause/Makefile does, without its container toolchain.
  pause_version=$(sed -n 's/^TAG[[:space:]]*?*=[[:space:]]*//p' "$SRC/build/pause/Makefile" | head -1)
  gcc -Os -Wall -Werror -static -DVERSION="v${pause_version:-unknown}" -o "$WORK/pause" \
    "$SRC/build/pause/linux/pause.c" || die "building pause failed"
  strip "$WORK/pause"
  install_bin "$WORK/pause" pause
  echo "${pause_version:-unknown}" >"$DEST/pause.version"
fi
chmod 0755 "$DEST" "$DEST/bin"
log "installed into $DEST/bin in $(($(date +%s) - start))s"
