#!/usr/bin/env bash
# Prints the path of a promtool, from Debian's prometheus package unpacked into the cache (not
# installed: the package's service would start a Prometheus listening on every address).
#   KUBECORO_CACHE   where it is kept (default /var/cache/kubecoro)
set -euo pipefail
dir=${KUBECORO_CACHE:-/var/cache/kubecoro}/prometheus
tool=$dir/root/usr/bin/promtool
if command -v promtool >/dev/null; then command -v promtool; exit 0; fi
if [[ -x $tool ]]; then echo "$tool"; exit 0; fi
mkdir -p "$dir"
work=$(mktemp -d "$dir/download.XXXXXX")
trap 'rm -rf "$work"' EXIT
# (-o APT::Sandbox::User=root: the download directory is root's.)
download() { (cd "$work" && apt-get download -q -o APT::Sandbox::User=root prometheus >&2); }
download || { apt-get update -q >&2 && download; } || { echo "promtool.sh: cannot download Debian's prometheus package" >&2; exit 1; }
rm -rf "$dir/root"
dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
mkdir -p "$dir/root/usr/bin"
mv "$work/root/usr/bin/promtool" "$tool"
"$tool" --version >&2
echo "$tool"
