#!/usr/bin/env bash
# Installs what building and testing kubecoro needs on Debian bookworm (as root). Idempotent.
set -euo pipefail
packages=(meson ninja-build pkg-config cmake g++ clang lld libclang-rt-14-dev clang-format
          libasio-dev libsimdjson-dev rapidjson-dev libcpp-httplib-dev doctest-dev libssl-dev
          libyaml-cpp-dev libfmt-dev openssl git python3 curl procps)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
