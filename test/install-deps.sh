#!/usr/bin/env bash
# Installs what building and testing kubecoro needs on Debian bookworm (as root). Idempotent.
set -euo pipefail
packages=(meson ninja-build pkg-config cmake g++ clang lld libclang-rt-14-dev clang-format
          libasio-dev libsimdjson-dev rapidjson-dev libcpp-httplib-dev doctest-dev libssl-dev
          libyaml-cpp-dev libpq-dev openssl git python3 curl procps)
bash "$(dirname "$0")/ensure-packages.sh" "${packages[@]}"
