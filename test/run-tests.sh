#!/usr/bin/env bash
# Builds kubecoro and runs every test: lint and format checks, unit and integration tests (release
# and ASan/UBSan builds), fuzz targets briefly, and the end-to-end tests against a real control
# plane on loopback. Installs what it needs. Ends with a line "N passed, N failed".
#   KUBECORO_FUZZ_SECONDS   seconds per fuzz target (default 10)
#   KUBECORO_SKIP           space-separated stages to skip: format lint unit asan fuzz e2e image
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
skip=" ${KUBECORO_SKIP:-} "
passed=0
failed=0
failures=()

stage() { echo; echo "==== $*"; }
wants() { [[ "$skip" != *" $1 "* ]]; }
record() { # name rc
  if [[ $2 == 0 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$1"); fi
}
# Adds up doctest's per-executable summaries from a meson test log.
count_doctest() { # logfile
  local p f
  p=$(grep -ho 'test cases: *[0-9]* | *[0-9]* passed' "$1" | awk '{s+=$(NF-1)} END {print s+0}')
  f=$(grep -ho '| *[0-9]* failed | *[0-9]* skipped' "$1" | awk '{s+=$2} END {print s+0}')
  passed=$((passed + p)); failed=$((failed + f))
}

bash test/install-deps.sh

if wants format; then
  stage "clang-format"
  rc=0
  git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror || rc=$?
  record clang-format $rc
fi

if wants lint; then
  stage "module boundaries"
  bash test/lint.sh && rc=0 || rc=$?
  record module-boundaries $rc
fi

if wants unit; then
  stage "release build + unit and integration tests"
  [[ -d build-ci ]] || meson setup build-ci --wrap-mode=nodownload --buildtype=release
  ninja -C build-ci
  rc=0; meson test -C build-ci --print-errorlogs || rc=$?
  count_doctest build-ci/meson-logs/testlog.txt
  [[ $rc == 0 ]] || failures+=("unit (release)")
fi

if wants asan; then
  stage "ASan/UBSan build + unit and integration tests"
  [[ -d build-asan ]] || meson setup build-asan --wrap-mode=nodownload --buildtype=debug \
      -Db_sanitize=address,undefined -Db_lundef=false
  ninja -C build-asan
  rc=0
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
    meson test -C build-asan --print-errorlogs || rc=$?
  count_doctest build-asan/meson-logs/testlog.txt
  [[ $rc == 0 ]] || failures+=("unit (asan)")
fi

if wants fuzz; then
  stage "fuzz targets, ${KUBECORO_FUZZ_SECONDS:-10}s each"
  rc=0; bash test/fuzz/run.sh "${KUBECORO_FUZZ_SECONDS:-10}" || rc=$?
  record fuzz $rc
fi

if wants e2e; then
  stage "end-to-end tests on a real control plane"
  bash test/controlplane/build.sh
  e2e_log=$(mktemp)
  rc=0
  KUBECORO_BIN="$root/build-asan/kubecoro" bash test/controlplane/with-controlplane.sh \
    bash test/e2e/run.sh 2>&1 | tee "$e2e_log" || rc=$?
  rc=${PIPESTATUS[0]}
  p=$(grep -c '^PASS' "$e2e_log" || true); f=$(grep -c '^FAIL' "$e2e_log" || true)
  passed=$((passed + p)); failed=$((failed + f))
  if [[ $rc != 0 && $f == 0 ]]; then failed=$((failed + 1)); failures+=("e2e harness (exit $rc)"); fi
  rm -f "$e2e_log"
fi

if wants image; then
  stage "container image: build offline, run its own binary against a control plane"
  image_log=$(mktemp)
  rc=0
  bash test/container/image_test.sh 2>&1 | tee "$image_log" || rc=$?
  rc=${PIPESTATUS[0]}
  p=$(grep -c '^PASS' "$image_log" || true); f=$(grep -c '^FAIL' "$image_log" || true)
  passed=$((passed + p)); failed=$((failed + f))
  if [[ $rc != 0 && $f == 0 ]]; then failed=$((failed + 1)); failures+=("image harness (exit $rc)"); fi
  rm -f "$image_log"
fi

echo
if ((${#failures[@]})); then echo "failed: ${failures[*]}"; fi
echo "${passed} passed, ${failed} failed"
((failed == 0 && ${#failures[@]} == 0))
