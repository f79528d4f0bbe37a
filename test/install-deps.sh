#!/usr/bin/env bash
# Installs what building and testing kubecoro needs on Debian bookworm (as root). Idempotent.
#   --run   only what building the operator needs (test/run-operator.sh): no clang, sanitizer
#           runtime, fuzzing or formatting tools, no test framework
set -euo pipefail
packages=(meson ninja-build pkg-config g++ libasio-dev libsimdjson-dev rapidjson-dev
          libssl-dev libyaml-cpp-dev libpq-dev libmariadb-dev libzstd-dev openssl git python3 curl procps)
if [[ ${1:-} != --run ]]; then
  packages+=(cmake clang lld libclang-rt-14-dev clang-format doctest-dev libcpp-httplib-dev
            mariadb-server mariadb-client)
fi
bash "$(dirname "$0")/ensure-packages.sh" "${packages[@]}"
