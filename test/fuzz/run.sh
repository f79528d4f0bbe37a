#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan, libraries instrumented for coverage) and runs
# each for the given number of seconds on a scratch copy of its seed corpus.
# Usage: test/fuzz/run.sh [seconds-per-target]   (FUZZ_BUILD_DIR overrides the build directory)
set -euo pipefail

seconds=${1:-10}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
targets=(fuzz_response_parser fuzz_chunked fuzz_line_splitter fuzz_request_parser fuzz_quantity fuzz_cron fuzz_watch_event fuzz_kubeconfig fuzz_admission_review)

if [ ! -f "$build/build.ninja" ]; then
    # fuzzer-no-link on every file gives libFuzzer coverage of the parsers inside the module
    # libraries; the targets themselves add -fsanitize=fuzzer (test/fuzz/meson.build).
    CC=clang CXX=clang++ meson setup "$build" "$root" \
        -Dtests=true -Dfuzzing=true \
        -Dbuildtype=debugoptimized -Db_ndebug=false \
        -Db_sanitize=address,undefined -Db_lundef=false \
        -Dcpp_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=all' \
        --wrap-mode=nodownload
fi
ninja -C "$build" -j2 "${targets[@]/#/test/fuzz/}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
failed=0
for t in "${targets[@]}"; do
    cp -r "$root/test/fuzz/corpus/$t" "$work/$t"
    log="$work/$t.log"
    if "$build/test/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/$t-" -print_final_stats=1 "$work/$t" >"$log" 2>&1; then
        execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
        corpus=$(find "$work/$t" -type f | wc -l)
        echo "$t: ok, ${execs:-?} executions, corpus $corpus"
    else
        echo "$t: FAILED (crash input saved under $artifacts/)"
        tail -n 40 "$log"
        failed=1
    fi
done
exit $failed
