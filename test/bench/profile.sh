#!/usr/bin/env bash
# Where the operator's CPU and memory go while it converges N Databases: a flat perf profile
# (cpu-clock samples, by library and by symbol) and a heaptrack run (heap peak and its biggest
# allocation sites, at idle and with N objects), against a fresh local control plane.
#
#   bash test/bench/profile.sh [--n 300] [--out DIR]
#
# Needs a build from run.sh (build-bench, or KUBECORO_BENCH_BUILD), perf and heaptrack.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=300
OUT=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --n) N=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "profile.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
BUILD=${KUBECORO_BENCH_BUILD:-$ROOT/build-bench}
for b in "$BUILD/kubecoro" "$BUILD/test/bench/kubecoro_bench"; do
  [[ -x $b ]] || { echo "profile.sh: $b missing: run test/bench/run.sh --smoke first" >&2; exit 2; }
done
for t in perf heaptrack heaptrack_print; do command -v "$t" >/dev/null || { echo "profile.sh: needs $t" >&2; exit 2; }; done
OUT=${OUT:-$(mktemp -d /tmp/kubecoro-profile.XXXXXX)}
mkdir -p "$OUT"
export KUBECORO_BIN=$BUILD/kubecoro KUBECORO_BENCH_BIN=$BUILD/test/bench/kubecoro_bench PROFILE_OUT=$OUT PROFILE_N=$N

# shellcheck disable=SC2016 # expanded by the inner shell
bash "$ROOT/test/controlplane/with-controlplane.sh" bash -c '
set -euo pipefail
cd "$PROFILE_OUT"
port() { python3 -c "import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])"; }
kubectl apply -f "'"$ROOT"'/manifests/crds/" >/dev/null
kubectl wait --for=condition=Established crd/databases.kubecoro.dev --timeout=60s >/dev/null
pids=()
trap "kill \${pids[*]} 2>/dev/null || true" EXIT
# run_operator NS WRAPPER...: the operator on NS (under WRAPPER, e.g. heaptrack), ready.
run_operator() {
  local ns=$1 health; shift
  health=$(port)
  "$@" "$KUBECORO_BIN" --namespace="$ns" --kube-api-qps=0 --log-level=info --log-format=json \
    --health-probe-bind-address="127.0.0.1:$health" --metrics-bind-address=0 >>"operator-$ns.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do
    [[ $(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$health/readyz") == 200 ]] && return 0
    sleep 0.1
  done
  echo "operator on $ns not ready" >&2; return 1
}
converge() { "$KUBECORO_BENCH_BIN" converge --kind database --namespace "$1" --count "$PROFILE_N" --concurrency 8 --timeout 900; }

# 1. perf: cpu-clock samples of the operator process while it converges N Databases.
kubectl create namespace prof-perf >/dev/null
run_operator prof-perf
op=${pids[-1]}
perf record -e cpu-clock -F 999 -o perf.data -p "$op" 2>perf-record.log &
perf_pid=$!
sleep 1
converge prof-perf | tee converge-perf.txt
kill -INT "$perf_pid"; wait "$perf_pid" || true
kill -TERM "$op"; wait "$op" || true
perf report -i perf.data --stdio --no-children --sort dso 2>/dev/null | grep -v "^#" | sed "/^$/d" >perf-by-library.txt || true
perf report -i perf.data --stdio --no-children --sort dso,symbol 2>/dev/null | grep -v "^#" | sed "/^$/d" |
  cut -c1-200 | sed "s/ *$//" >perf-by-symbol.txt || true

# 2. heaptrack: the heap at idle (a namespace with nothing in it) and with N Databases.
kubectl create namespace prof-heap >/dev/null
run_operator prof-heap heaptrack -o "$PROFILE_OUT/heaptrack"
sleep 3
hp=${pids[-1]}
op=$(pgrep -P "$hp" -f "kubecoro --namespace" | head -1 || true)
[[ -n $op ]] && grep -E "VmRSS|VmHWM|RssAnon|RssFile" "/proc/$op/status" >rss-idle-under-heaptrack.txt
converge prof-heap | tee converge-heap.txt
kill -TERM "${op:-$hp}" 2>/dev/null || true
wait "$hp" || true
heaptrack_print "$(ls heaptrack*.zst heaptrack*.gz 2>/dev/null | head -1)" --print-peaks 1 --print-allocators 1 \
  --print-leaks 0 --print-temporary 0 --peak-limit 25 2>/dev/null | cut -c1-240 >heaptrack-summary.txt || true
'
echo "profile: $OUT (perf-by-library.txt, perf-by-symbol.txt, heaptrack-summary.txt)"
