#!/usr/bin/env bash
# Builds kubecoro and runs every test: lint and format checks, unit and integration tests (release
# and ASan/UBSan builds), fuzz targets briefly, the end-to-end tests against a real control plane
# on loopback, the real-engine tests on a control plane with a real node, and the container image.
# Installs what it needs. Ends with a per-stage timing table and a line "N passed, N failed".
#   KUBECORO_FUZZ_SECONDS   seconds per fuzz target (default 10)
#   KUBECORO_SKIP           space-separated stages to skip: format lint unit asan fuzz e2e node image
#   KUBECORO_CACHE          built Kubernetes binaries and node images (default /var/cache/kubecoro)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
skip=" ${KUBECORO_SKIP:-} "
passed=0
failed=0
failures=()

# Per-stage wall-clock times, printed as a table at the end.
timings=()
stage_name=""
stage_start=0
stage_end() {
  [[ -n $stage_name ]] && timings+=("$(printf '%-28s %6d s' "$stage_name" $((SECONDS - stage_start)))")
  stage_name=""
}
stage() { # short-name description
  stage_end
  stage_name=$1; stage_start=$SECONDS
  echo; echo "==== $2"
}
timings_printed=0
print_timings() {
  stage_end
  ((timings_printed)) && return 0
  timings_printed=1
  echo; echo "stage                        time"
  printf '%s\n' "${timings[@]}"
  printf '%-28s %6d s\n' total "$SECONDS"
}
trap print_timings EXIT
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

stage deps "packages"
bash test/install-deps.sh

if wants format; then
  stage format "clang-format"
  rc=0
  git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror || rc=$?
  record clang-format $rc
fi

if wants lint; then
  stage lint "module boundaries"
  bash test/lint.sh && rc=0 || rc=$?
  record module-boundaries $rc
fi

if wants unit; then
  stage unit "release build + unit and integration tests"
  [[ -d build-ci ]] || meson setup build-ci --wrap-mode=nodownload --buildtype=release
  ninja -C build-ci
  rc=0; meson test -C build-ci --print-errorlogs || rc=$?
  count_doctest build-ci/meson-logs/testlog.txt
  [[ $rc == 0 ]] || failures+=("unit (release)")
fi

if wants asan; then
  stage asan "ASan/UBSan build + unit and integration tests"
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
  stage fuzz "fuzz targets, ${KUBECORO_FUZZ_SECONDS:-10}s each"
  rc=0; bash test/fuzz/run.sh "${KUBECORO_FUZZ_SECONDS:-10}" || rc=$?
  record fuzz $rc
fi

# run_e2e LABEL [ENV=VALUE...]: the e2e files for a control plane started with ENV (the node's
# files with KUBECORO_NODE=1, the others without); counts their PASS/FAIL lines.
run_e2e() {
  local label=$1 log logs before left rc=0 p f; shift
  log=$(mktemp); logs=$(mktemp -d "/tmp/kubecoro-e2e-$label.XXXXXX")
  # What is on the machine before (e.g. a node an earlier, killed run left): not this run's doing.
  before=$(test/controlplane/controlplane.sh leftovers "$logs/none" | sort)
  [[ -z $before ]] || { echo "INFO $label: on the machine before the run (not counted):"; echo "$before"; }
  env "$@" E2E_LOGS="$logs" KUBECORO_LOG_DIR="$logs/controlplane" KUBECORO_STATEDIR_FILE="$logs/statedir" \
    KUBECORO_BIN="$root/build-asan/kubecoro" bash test/controlplane/with-controlplane.sh \
    bash test/e2e/run.sh 2>&1 | tee "$log" || rc=$?
  rc=${PIPESTATUS[0]}
  p=$(grep -c '^PASS' "$log" || true); f=$(grep -c '^FAIL' "$log" || true)
  passed=$((passed + p)); failed=$((failed + f))
  if [[ $rc != 0 && $f == 0 ]]; then failed=$((failed + 1)); failures+=("$label harness (exit $rc)"); fi
  # A teardown leaves nothing: no process, mount, bridge, iptables rule, state dir.
  if [[ -s $logs/statedir ]]; then
    left=$(comm -13 <(echo "$before") <(test/controlplane/controlplane.sh leftovers "$(cat "$logs/statedir")" | sort))
    if [[ -z $left ]]; then echo "PASS $label: teardown left nothing behind"; passed=$((passed + 1))
    else echo "FAIL $label: teardown left behind:"; echo "$left"; failed=$((failed + 1)); fi
  fi
  rm -f "$log"
}

if wants e2e || wants node; then
  stage k8s "Kubernetes v1.20.2 binaries (cached in ${KUBECORO_CACHE:-/var/cache/kubecoro})"
  bash test/controlplane/build.sh
fi

if wants e2e; then
  stage e2e "end-to-end tests on a real control plane"
  run_e2e e2e
fi

if wants node; then
  stage node-images "the node's images (PostgreSQL 15, MariaDB 10.11, pause; cached)"
  bash test/images/build.sh >/dev/null
  stage node "end-to-end tests on real engines: a control plane with a real node"
  run_e2e node KUBECORO_NODE=1
  # A node whose kubelet cannot start: `up` fails, says where the logs are, and leaves nothing.
  bad=$(mktemp -d /tmp/kubecoro-cp-bad.XXXXXX)
  out=$(KUBECORO_NODE=1 KUBELET_EXTRA_ARGS=--no-such-flag KUBECORO_START_TIMEOUT=30 \
    test/controlplane/controlplane.sh up "$bad" 2>&1 >/dev/null) && up_rc=0 || up_rc=$?
  left=$(test/controlplane/controlplane.sh leftovers "$bad")
  if [[ $up_rc != 0 && $out == *"kubelet exited during startup"* && $out == *"logs kept in"* && -z $left ]]; then
    echo "PASS node: a kubelet that cannot start fails \`up\`, names the kubelet and its log, leaves nothing"
    passed=$((passed + 1))
  else
    echo "FAIL node: a kubelet that cannot start (up exit $up_rc; left: $left)"; echo "$out" | tail -5
    failed=$((failed + 1))
  fi
  rm -rf "$(sed -n 's/.*logs kept in //p' <<<"$out")"
fi

if wants image; then
  stage image "container images (amd64, arm64 cross-built): build offline, run the binary against a control plane"
  image_log=$(mktemp)
  rc=0
  # From the release binary already built (the image's build stage would compile a third time).
  prebuilt=()
  [[ -x build-ci/kubecoro ]] && prebuilt=(KUBECORO_IMAGE_BINARY="$root/build-ci/kubecoro")
  env "${prebuilt[@]}" bash test/container/image_test.sh 2>&1 | tee "$image_log" || rc=$?
  rc=${PIPESTATUS[0]}
  p=$(grep -c '^PASS' "$image_log" || true); f=$(grep -c '^FAIL' "$image_log" || true)
  passed=$((passed + p)); failed=$((failed + f))
  if [[ $rc != 0 && $f == 0 ]]; then failed=$((failed + 1)); failures+=("image harness (exit $rc)"); fi
  rm -f "$image_log"
fi

print_timings
echo
if ((${#failures[@]})); then echo "failed: ${failures[*]}"; fi
echo "${passed} passed, ${failed} failed"
((failed == 0 && ${#failures[@]} == 0))
