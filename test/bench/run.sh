#!/usr/bin/env bash
# The performance benchmark: builds kubecoro and the benchmark driver (release), starts a local
# control plane, and prints one table per scenario (converge vs. floor, CPU, requests, memory,
# steady state, startup, HelloWorld), with the machine facts, versions and command.
#
#   bash test/bench/run.sh [--n 100,1000] [--scale 10000] [--smoke] [--reconciles 4,8] [--out DIR]
#
#   --n LIST          Database counts (default 100,1000); HelloWorld runs at the largest
#   --scale N         last, N Databases (API objects only) converged and restarted on, without the
#                     floor and without waiting for the controller-manager's pods: memory and time
#                     per Database against the runs above (0: skipped; default 10000, 0 with --smoke)
#   --smoke           N=50 only, shorter resync period, no extra --max-concurrent-reconciles runs
#                     (a couple of minutes once built)
#   --reconciles LIST --max-concurrent-reconciles values for the Database converge runs
#                     (default 4,8; the first one also gives the memory and steady-state figures)
#   --out DIR         where the report (report.md), raw figures (results.env) and logs go
#                     (default: a new /tmp/kubecoro-bench.XXXXXX)
# Env: KUBECORO_BENCH_BUILD (build dir, default build-bench), and everything
# test/controlplane/with-controlplane.sh reads (KUBECORO_USE_EXISTING_CLUSTER=1 + KUBECONFIG:
# run against an existing cluster; the API server's CPU is then not measured).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N_LIST=100,1000
RECONCILES=4,8
SCALE=10000
SMOKE=0
OUT=""
COMMAND="test/bench/run.sh $*"
while [[ $# -gt 0 ]]; do
  case $1 in
    --n) N_LIST=$2; shift 2 ;;
    --reconciles) RECONCILES=$2; shift 2 ;;
    --scale) SCALE=$2; shift 2 ;;
    --smoke) SMOKE=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if ((SMOKE)); then N_LIST=50; RECONCILES=${RECONCILES%%,*}; SCALE=0; fi
[[ $SCALE =~ ^[0-9]+$ ]] || { echo "run.sh: --scale wants a count (0: skipped)" >&2; exit 2; }
[[ $N_LIST =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "run.sh: --n wants a comma-separated list of counts" >&2; exit 2; }
[[ $RECONCILES =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "run.sh: --reconciles wants a comma-separated list" >&2; exit 2; }

BUILD=${KUBECORO_BENCH_BUILD:-$ROOT/build-bench}
echo "bench: building kubecoro and kubecoro_bench (release) in $BUILD" >&2
if [[ ! -f $BUILD/build.ninja ]]; then
  meson setup "$BUILD" "$ROOT" --wrap-mode=nodownload --buildtype=release >/dev/null
fi
[[ $(meson introspect --buildoptions "$BUILD" | jq -r '.[] | select(.name == "buildtype") | .value') == release ]] ||
  { echo "run.sh: $BUILD is not a release build (meson configure $BUILD -Dbuildtype=release)" >&2; exit 2; }
ninja -C "$BUILD" kubecoro test/bench/kubecoro_bench >&2

OUT=${OUT:-$(mktemp -d /tmp/kubecoro-bench.XXXXXX)}
mkdir -p "$OUT/logs"
export KUBECORO_BIN=$BUILD/kubecoro KUBECORO_BENCH_BIN=$BUILD/test/bench/kubecoro_bench
export BENCH_OUT=$OUT BENCH_N_LIST=$N_LIST BENCH_RECONCILES=$RECONCILES BENCH_SMOKE=$SMOKE BENCH_SCALE=$SCALE
export BENCH_COMMAND=$COMMAND
echo "bench: results in $OUT" >&2

bash "$ROOT/test/controlplane/with-controlplane.sh" bash "$ROOT/test/bench/scenarios.sh"
