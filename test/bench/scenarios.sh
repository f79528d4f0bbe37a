#!/usr/bin/env bash
# The benchmark scenarios, run by run.sh inside with-controlplane.sh (KUBECONFIG and
# KUBECORO_CONTROLPLANE_DIR set). Figures go to stdout as Markdown tables, to $BENCH_OUT/report.md,
# and as key=value lines to $BENCH_OUT/results.env. Times are wall clock on a shared machine:
# compare ratios measured in the same run, not absolute values across runs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${KUBECORO_BIN:?}" "${KUBECORO_BENCH_BIN:?}" "${BENCH_OUT:?}" "${BENCH_N_LIST:?}" "${BENCH_RECONCILES:?}"
SMOKE=${BENCH_SMOKE:-0}
SCALE=${BENCH_SCALE:-0}
REPORT=$BENCH_OUT/report.md
RESULTS=$BENCH_OUT/results.env
LOGS=$BENCH_OUT/logs
CP=${KUBECORO_CONTROLPLANE_DIR:-}
TICK=$(getconf CLK_TCK)
IFS=, read -r -a N_VALUES <<<"$BENCH_N_LIST"
IFS=, read -r -a RECONCILE_VALUES <<<"$BENCH_RECONCILES"
HW_N=$(printf '%s\n' "${N_VALUES[@]}" | sort -n | tail -1)
if ((SMOKE)); then RESYNC=10; SETTLE_TIMEOUT=60; else RESYNC=20; SETTLE_TIMEOUT=300; fi
DRIVER_CONCURRENCY=8 # creations (converge) and objects (floor) in flight
declare -A SHORT=([database]=db [helloworld]=hw)
: >"$REPORT"
: >"$RESULTS"

# ---- output ----------------------------------------------------------------------------------
say() { printf '%s\n' "$*" | tee -a "$REPORT"; }
note() { echo "bench: $*" >&2; }
record() { echo "$1=$2" >>"$RESULTS"; } # record KEY VALUE: a raw figure
calc() { awk "BEGIN { printf \"$1\n\", $2 }"; } # calc FORMAT EXPRESSION
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "n/a" }'; }
kv() { sed -n "s/^$2=//p" <<<"$1" | head -1; } # kv OUTPUT KEY: a key=value line's value

# ---- processes ---------------------------------------------------------------------------------
cpu_ticks() { # utime + stime of PID (0 when gone); the comm field may hold spaces
  [[ -n ${1:-} && -r /proc/$1/stat ]] || { echo 0; return; }
  sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
cpu_seconds_between() { calc %.2f "($2 - $1) / $TICK"; } # cpu_seconds_between TICKS0 TICKS1
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; } # PID VmRSS|VmHWM
component_pid() { [[ -n $CP && -f $CP/$1.pid ]] && cat "$CP/$1.pid" || echo ""; }
APISERVER_PID=$(component_pid apiserver)
ETCD_PID=$(component_pid etcd)
KCM_PID=$(component_pid controller-manager)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

OP_PID="" OP_METRICS="" OP_HEALTH="" OP_START=""
# The client's rate limit: off (0) unless a scenario sets OP_QPS="" for the default flags.
OP_QPS=0
# start_operator LOGNAME FLAGS...: starts kubecoro (without waiting), OP_START its start time.
start_operator() {
  local name=$1; shift
  OP_HEALTH=$(free_port); OP_METRICS=$(free_port)
  OP_START=$EPOCHREALTIME
  "$KUBECORO_BIN" --log-format=json --log-level=info ${OP_QPS:+--kube-api-qps=$OP_QPS} \
    --health-probe-bind-address="127.0.0.1:$OP_HEALTH" --metrics-bind-address="127.0.0.1:$OP_METRICS" \
    "$@" >>"$LOGS/$name.log" 2>&1 &
  OP_PID=$!
}
stop_operator() {
  [[ -n $OP_PID ]] || return 0
  kill -TERM "$OP_PID" 2>/dev/null || true
  wait "$OP_PID" 2>/dev/null || true
  OP_PID=""
}
DRIVER_PID=""
stop_driver() { [[ -z $DRIVER_PID ]] || kill -TERM "$DRIVER_PID" 2>/dev/null || true; }
trap 'stop_driver; stop_operator' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
# driver OUTFILE ARGS...: runs kubecoro_bench (killable on exit); its stdout goes to OUTFILE.
driver() {
  local outfile=$1 rc=0; shift
  "$KUBECORO_BENCH_BIN" "$@" >"$outfile" 2>>"$LOGS/driver.log" &
  DRIVER_PID=$!
  wait "$DRIVER_PID" || rc=$?
  DRIVER_PID=""
  cat "$outfile" >>"$LOGS/driver.log"
  return $rc
}
since_start() { awk -v a="$OP_START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", b - a }'; }
ready() { [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$OP_HEALTH/readyz") == 200 ]]; }
# wait_ready SECONDS: polls /readyz every 20 ms; prints the seconds since start.
wait_ready() {
  local deadline=$((SECONDS + $1))
  until ready; do
    ((SECONDS < deadline)) || { note "operator not ready after $1 s (log: $LOGS)"; return 1; }
    kill -0 "$OP_PID" 2>/dev/null || { note "operator exited (log: $LOGS)"; return 1; }
    sleep 0.02
  done
  since_start
}
metrics_text() { curl -fsS --max-time 5 "http://127.0.0.1:$OP_METRICS/metrics"; }
# metric_sum TEXT NAME FILTER: the sum of NAME's samples whose labels contain FILTER.
metric_sum() {
  awk -v m="$2" -v f="${3:-}" '$1 ~ "^"m"({|$)" && index($1, f) { s += $NF } END { printf "%d\n", s }' <<<"$1"
}
reconciles() { metric_sum "$(metrics_text)" controller_runtime_reconcile_total "controller=\"$1\""; }

# snapshot PREFIX: CPU ticks of the operator and the control plane, the operator's requests.
declare -A SNAP=()
snapshot() {
  local p=$1 m method
  SNAP[$p.op]=$(cpu_ticks "$OP_PID")
  SNAP[$p.api]=$(cpu_ticks "$APISERVER_PID")
  SNAP[$p.etcd]=$(cpu_ticks "$ETCD_PID")
  SNAP[$p.kcm]=$(cpu_ticks "$KCM_PID")
  SNAP[$p.t]=$EPOCHREALTIME
  m=""
  [[ -n $OP_PID ]] && m=$(metrics_text || true)
  for method in GET POST PUT PATCH DELETE; do
    SNAP[$p.$method]=$(metric_sum "$m" rest_client_requests_total "method=\"$method\"")
  done
  SNAP[$p.notfound]=$(metric_sum "$m" rest_client_requests_total 'code="404"')
  SNAP[$p.failed]=$(awk '$1 ~ /^rest_client_requests_total\{/ && ($1 ~ /code="[45]/ || $1 ~ /code="<error>"/) { s += $NF }
    END { printf "%d\n", s }' <<<"$m")
}
# delta A B KEY
delta() { echo $((SNAP[$2.$3] - SNAP[$1.$3])); }
writes_between() { echo $(($(delta "$1" "$2" POST) + $(delta "$1" "$2" PUT) + $(delta "$1" "$2" PATCH) + $(delta "$1" "$2" DELETE))); }

# ---- cluster -------------------------------------------------------------------------------------
new_namespace() { kubectl create namespace "$1" >/dev/null && echo "$1"; }
count() { kubectl get "$1" -n "$2" ${3:+-l "$3"} -o name 2>/dev/null | wc -l; } # count KIND NS [SELECTOR]
# settle NS N: waits (up to SETTLE_TIMEOUT) for kube-controller-manager to create the N pods of
# the N StatefulSets (and their claims), so that its writes do not spill into the next scenario.
settle() {
  local deadline=$((SECONDS + SETTLE_TIMEOUT)) t0=$SECONDS
  until (($(count pods "$1") >= $2)); do
    ((SECONDS < deadline)) || { note "settle $1: $(count pods "$1") of $2 pods after ${SETTLE_TIMEOUT}s, going on"; return 0; }
    sleep 5
  done
  note "settle $1: $2 pods after $((SECONDS - t0)) s"
}

# ---- facts ---------------------------------------------------------------------------------------
facts() {
  local cpu mem commit dirty version apiserver stripped
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  mem=$(awk '/^MemTotal/ { printf "%.1f GiB\n", $2 / 1048576 }' /proc/meminfo)
  commit=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  dirty=""
  if [[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]]; then dirty=" (with uncommitted changes)"; fi
  version=$("$KUBECORO_BIN" version 2>&1 | tr '\n' ' ')
  apiserver=$(kubectl version -o json 2>/dev/null | jq -r '.serverVersion.gitVersion' || echo unknown)
  stripped=$(mktemp)
  cp "$KUBECORO_BIN" "$stripped" && strip "$stripped"
  BINARY_BYTES=$(stat -c %s "$stripped")
  UNSTRIPPED_BYTES=$(stat -c %s "$KUBECORO_BIN")
  rm -f "$stripped"
  say "# kubecoro benchmark"
  say ""
  say "- command: \`${BENCH_COMMAND:-test/bench/run.sh}\` (Database N = ${BENCH_N_LIST}, scale N = ${SCALE}, HelloWorld N = $HW_N, max-concurrent-reconciles ${BENCH_RECONCILES}, resync period ${RESYNC}s)"
  say "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  say "- machine: $(nproc) CPUs ($cpu), $mem RAM, $(uname -sr); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  say "- kubecoro: $version; git commit $commit$dirty"
  say "- API server: kube-apiserver $apiserver (local control plane: etcd $(etcd --version 2>/dev/null | awk '/etcd Version/ { print $3 }'), kube-controller-manager, no kubelet or scheduler)"
  say "- compiler: $(g++ --version | head -1)"
  say "- binary: $(calc %.2f "$BINARY_BYTES / 1048576") MiB stripped ($BINARY_BYTES bytes; $(calc %.1f "$UNSTRIPPED_BYTES / 1048576") MiB as built)"
  say "- operator flags: --kube-api-qps=0 --namespace=<the scenario's namespace> (default otherwise; the HelloWorld table has a run at the default flags too); driver: $DRIVER_CONCURRENCY requests in flight"
  record binary_stripped_bytes "$BINARY_BYTES"
  record load_average_start "$(cut -d' ' -f1 /proc/loadavg)"
}

install_crds() {
  kubectl apply -f "$ROOT/manifests/crds/" >/dev/null
  kubectl wait --for=condition=Established crd/databases.kubecoro.dev crd/helloworlds.kubecoro.dev --timeout=60s >/dev/null
}

# ---- scenarios -------------------------------------------------------------------------------------
# Idle: all namespaces, no Database or HelloWorld anywhere. Three starts: time to /readyz (caches
# synced; nothing to reconcile), RSS 5 s later, CPU over 10 s of idling.
IDLE_ROWS=()
scenario_idle() {
  local i ready_s rss hwm
  for i in 1 2 3; do
    start_operator "idle-$i"
    ready_s=$(wait_ready 60)
    sleep 5
    snapshot idle0
    sleep 10
    snapshot idle1
    rss=$(status_kb "$OP_PID" VmRSS); hwm=$(status_kb "$OP_PID" VmHWM)
    [[ $i == 1 ]] && cp "/proc/$OP_PID/smaps" "$LOGS/idle-smaps.txt" 2>/dev/null
    IDLE_ROWS+=("| $i | $ready_s | $(calc %.1f "$rss / 1024") | $(calc %.1f "$(status_kb "$OP_PID" RssAnon) / 1024") | $(calc %.1f "$(status_kb "$OP_PID" RssFile) / 1024") | $(calc %.1f "$hwm / 1024") | $(cpu_seconds_between "${SNAP[idle0.op]}" "${SNAP[idle1.op]}") | $(($(delta idle0 idle1 GET) + $(writes_between idle0 idle1))) |")
    record "idle_${i}_ready_seconds" "$ready_s"; record "idle_${i}_rss_kb" "$rss"; record "idle_${i}_hwm_kb" "$hwm"
    stop_operator
  done
}

# converge KIND N RECONCILES [TAG]: a fresh namespace and operator; the driver creates N objects
# and waits until all converged. Sets CONV[...] figures (recorded with TAG in their names); leaves
# the operator running.
declare -A CONV=()
converge() {
  local kind=$1 n=$2 mcr=$3 tag=${4:-} ns out rc=0 rss0 anon0
  ns=$(new_namespace "bench-${SHORT[$kind]}-$n-r$mcr$tag")
  start_operator "converge-$kind-$n-r$mcr$tag" --namespace="$ns" --max-concurrent-reconciles="$mcr"
  wait_ready 60 >/dev/null
  sleep 2
  rss0=$(status_kb "$OP_PID" VmRSS)
  anon0=$(status_kb "$OP_PID" RssAnon)
  note "converge $kind N=$n reconciles=$mcr in $ns"
  snapshot c0
  driver "$BENCH_OUT/driver.out" converge --kind "$kind" --namespace "$ns" --count "$n" \
    --concurrency "$DRIVER_CONCURRENCY" --timeout $((120 + n * 6 / 10)) || rc=$?
  snapshot c1
  out=$(cat "$BENCH_OUT/driver.out")
  ((rc == 0)) || note "converge $kind N=$n: driver exit status $rc: $(tr '\n' ' ' <<<"$out")"
  CONV=(
    [ns]=$ns [seconds]=$(kv "$out" converge_seconds) [create]=$(kv "$out" create_seconds) [converged]=$(kv "$out" converged)
    [op_cpu]=$(cpu_seconds_between "${SNAP[c0.op]}" "${SNAP[c1.op]}")
    [api_cpu]=$(cpu_seconds_between "${SNAP[c0.api]}" "${SNAP[c1.api]}")
    [etcd_cpu]=$(cpu_seconds_between "${SNAP[c0.etcd]}" "${SNAP[c1.etcd]}")
    [kcm_cpu]=$(cpu_seconds_between "${SNAP[c0.kcm]}" "${SNAP[c1.kcm]}")
    [driver_cpu]=$(kv "$out" driver_cpu_seconds)
    [writes]=$(writes_between c0 c1) [GET]=$(delta c0 c1 GET) [POST]=$(delta c0 c1 POST) [PUT]=$(delta c0 c1 PUT)
    [PATCH]=$(delta c0 c1 PATCH) [DELETE]=$(delta c0 c1 DELETE) [failed]=$(delta c0 c1 failed)
    [notfound]=$(delta c0 c1 notfound)
    [rss0]=$rss0 [rss1]=$(status_kb "$OP_PID" VmRSS) [hwm]=$(status_kb "$OP_PID" VmHWM)
    [anon0]=$anon0 [anon1]=$(status_kb "$OP_PID" RssAnon)
  )
  [[ -n ${CONV[seconds]} ]] || CONV[seconds]="timeout"
  local k
  for k in "${!CONV[@]}"; do record "converge_${kind}_${n}_r${mcr}${tag}_$k" "${CONV[$k]}"; done
}

# floor KIND N: the same writes by the driver alone, in a fresh namespace. Sets FLOOR[...].
declare -A FLOOR=()
floor() {
  local kind=$1 n=$2 ns out rc=0
  ns=$(new_namespace "bench-${SHORT[$kind]}floor-$n")
  note "floor $kind N=$n in $ns"
  snapshot f0
  driver "$BENCH_OUT/driver.out" floor --kind "$kind" --namespace "$ns" --count "$n" \
    --concurrency "$DRIVER_CONCURRENCY" || rc=$?
  snapshot f1
  out=$(cat "$BENCH_OUT/driver.out")
  ((rc == 0)) || note "floor $kind N=$n: driver exit status $rc: $(tr '\n' ' ' <<<"$out")"
  FLOOR=(
    [ns]=$ns [seconds]=$(kv "$out" floor_seconds) [writes]=$(kv "$out" floor_writes) [objects]=$(kv "$out" floor_objects)
    [client_cpu]=$(kv "$out" floor_client_cpu_seconds) [failed]=$(kv "$out" floor_failed_requests)
    [api_cpu]=$(cpu_seconds_between "${SNAP[f0.api]}" "${SNAP[f1.api]}")
    [etcd_cpu]=$(cpu_seconds_between "${SNAP[f0.etcd]}" "${SNAP[f1.etcd]}")
  )
  local k
  for k in "${!FLOOR[@]}"; do record "floor_${kind}_${n}_$k" "${FLOOR[$k]}"; done
}

# Children of the converged Databases, by kind (checked after the timed part).
children_summary() {
  local ns=$1 sel=app.kubernetes.io/managed-by=kubecoro
  echo "$(count secrets "$ns" "$sel")/$(count services "$ns" "$sel")/$(count statefulsets "$ns" "$sel")/$(count cronjobs "$ns" "$sel")"
}

# steady KIND NS N RECONCILES: restart the operator on the converged namespace with a short resync
# period: start -> ready -> first reconcile -> all N reconciled (startup with N objects), then one
# resync period of every object (writes: target zero), CPU and RSS.
declare -A STEADY=()
steady() {
  local kind=$1 ns=$2 n=$3 mcr=$4 deadline t_first="" t_all=""
  start_operator "steady-$kind-$n" --namespace="$ns" --max-concurrent-reconciles="$mcr" --resync-period="${RESYNC}s"
  STEADY[ready]=$(wait_ready 120)
  snapshot s0 # right after ready: the startup pass follows
  deadline=$((SECONDS + 300 + n / 20))
  while :; do
    local r; r=$(reconciles "$kind")
    [[ -z $t_first ]] && ((r > 0)) && t_first=$(since_start)
    ((r >= n)) && { t_all=$(since_start); break; }
    ((SECONDS < deadline)) || break
    sleep 0.05
  done
  snapshot s1 # the startup pass done: now one resync period of every object
  deadline=$((SECONDS + RESYNC * 3 / 2 + 30 + n / 200))
  while (($(reconciles "$kind") < 2 * n)) && ((SECONDS < deadline)); do sleep 0.5; done
  snapshot s2
  STEADY+=(
    [first]=${t_first:-none} [all]=${t_all:-none}
    [startup_writes]=$(writes_between s0 s1) [startup_cpu]=$(cpu_seconds_between "${SNAP[s0.op]}" "${SNAP[s1.op]}")
    [resync_reconciles]=$(($(reconciles "$kind") - n)) [resync_writes]=$(writes_between s1 s2)
    [resync_gets]=$(delta s1 s2 GET)
    [resync_cpu]=$(cpu_seconds_between "${SNAP[s1.op]}" "${SNAP[s2.op]}")
    [resync_api_cpu]=$(cpu_seconds_between "${SNAP[s1.api]}" "${SNAP[s2.api]}")
    [resync_window]=$(awk -v a="${SNAP[s1.t]}" -v b="${SNAP[s2.t]}" 'BEGIN { printf "%.1f\n", b - a }')
    [rss]=$(status_kb "$OP_PID" VmRSS) [hwm]=$(status_kb "$OP_PID" VmHWM)
  )
  local k
  for k in "${!STEADY[@]}"; do record "steady_${kind}_${n}_$k" "${STEADY[$k]}"; done
  stop_operator
}

mb() { calc %.1f "$1 / 1024"; }
ms_per() { awk -v c="$1" -v w="$2" 'BEGIN { if (w > 0) printf "%.3f\n", c * 1000 / w; else print "n/a" }'; }

# ---- run -------------------------------------------------------------------------------------------
facts
install_crds
note "idle"
scenario_idle

CONVERGE_ROWS=() CPU_ROWS=() REQUEST_ROWS=() MEMORY_ROWS=() STEADY_ROWS=() STARTUP_ROWS=() HW_ROWS=()
for n in "${N_VALUES[@]}"; do
  first=1
  for mcr in "${RECONCILE_VALUES[@]}"; do
    converge database "$n" "$mcr"
    conv_ns=${CONV[ns]}
    children=$(children_summary "$conv_ns")
    settle "$conv_ns" "$n"
    settled_rss=$(status_kb "$OP_PID" VmRSS)
    snapshot settled
    stop_operator
    if ((first)); then
      floor database "$n"
      settle "${FLOOR[ns]}" "$n"
    fi
    CONVERGE_ROWS+=("| $n | $mcr | ${CONV[seconds]} | ${FLOOR[seconds]:-} | $(ratio "${CONV[seconds]}" "${FLOOR[seconds]:-0}") | ${CONV[create]} | $((CONV[writes] + n)) | ${FLOOR[writes]:-} | $children |")
    CPU_ROWS+=("| $n | $mcr | ${CONV[op_cpu]} | $(ms_per "${CONV[op_cpu]}" "${CONV[writes]}") | ${CONV[api_cpu]} | $(calc %.1f%% "100 * ${CONV[op_cpu]} / (${CONV[api_cpu]} > 0 ? ${CONV[api_cpu]} : 1)") | ${CONV[etcd_cpu]} | ${CONV[kcm_cpu]} | ${FLOOR[api_cpu]:-} | ${FLOOR[client_cpu]:-} | $(ms_per "${FLOOR[client_cpu]:-0}" "${FLOOR[writes]:-0}") |")
    REQUEST_ROWS+=("| $n | $mcr | ${CONV[GET]} | ${CONV[POST]} | ${CONV[PATCH]} | ${CONV[PUT]} | ${CONV[DELETE]} | ${CONV[notfound]} | $((CONV[failed] - CONV[notfound])) | $(calc %.2f "${CONV[writes]} / $n") | $(calc %.2f "${FLOOR[writes]:-0} / $n") |")
    if ((first)); then
      MEMORY_ROWS+=("| $n | $(mb "${CONV[rss0]}") ($(mb "${CONV[anon0]}")) | $(mb "${CONV[rss1]}") ($(mb "${CONV[anon1]}")) | $(mb "$settled_rss") | $(mb "${CONV[hwm]}") | $(calc %.1f "(${CONV[rss1]} - ${CONV[rss0]}) / $n") |")
      steady database "$conv_ns" "$n" "$mcr"
      STEADY_ROWS+=("| $n | ${RESYNC}s | ${STEADY[resync_window]} | ${STEADY[resync_reconciles]} | ${STEADY[resync_writes]} | ${STEADY[resync_gets]} | ${STEADY[resync_cpu]} | $(ms_per "${STEADY[resync_cpu]}" "${STEADY[resync_reconciles]}") | ${STEADY[resync_api_cpu]} | ${STEADY[startup_writes]} |")
      STARTUP_ROWS+=("| $n Databases | ${STEADY[ready]} | ${STEADY[first]} | ${STEADY[all]} | ${STEADY[startup_cpu]} | $(mb "${STEADY[rss]}") |")
      MEMORY_ROWS[-1]+=" $(mb "${STEADY[rss]}") | $(mb "${STEADY[hwm]}") | $(calc %.1f "(${STEADY[hwm]} - ${CONV[rss1]}) / 1024") | $(calc %.1f "(${STEADY[rss]} - ${CONV[rss0]}) / $n") |"
    fi
    first=0
  done
done

# HelloWorld at the largest N, unthrottled, then at the default flags (the client's rate limiter at
# 50 qps: what users run; the converge takes N x 2 writes / 50 s then).
converge helloworld "$HW_N" "${RECONCILE_VALUES[0]}"
stop_operator
floor helloworld "$HW_N"
HW_ROWS+=("| $HW_N | --kube-api-qps=0 | ${CONV[seconds]} | ${FLOOR[seconds]} | $(ratio "${CONV[seconds]}" "${FLOOR[seconds]}") | $((CONV[writes] + HW_N)) | ${FLOOR[writes]} | ${CONV[GET]} | ${CONV[op_cpu]} | $(ms_per "${CONV[op_cpu]}" "${CONV[writes]}") | ${CONV[api_cpu]} | $(calc %.1f%% "100 * ${CONV[op_cpu]} / (${CONV[api_cpu]} > 0 ? ${CONV[api_cpu]} : 1)") | $(mb "${CONV[rss0]}") → $(mb "${CONV[rss1]}") | ${FLOOR[api_cpu]} |")
OP_QPS=""
converge helloworld "$HW_N" "${RECONCILE_VALUES[0]}" -default-flags
stop_operator
OP_QPS=0
HW_ROWS+=("| $HW_N | defaults | ${CONV[seconds]} | ${FLOOR[seconds]} | $(ratio "${CONV[seconds]}" "${FLOOR[seconds]}") | $((CONV[writes] + HW_N)) | ${FLOOR[writes]} | ${CONV[GET]} | ${CONV[op_cpu]} | $(ms_per "${CONV[op_cpu]}" "${CONV[writes]}") | ${CONV[api_cpu]} | $(calc %.1f%% "100 * ${CONV[op_cpu]} / (${CONV[api_cpu]} > 0 ? ${CONV[api_cpu]} : 1)") | $(mb "${CONV[rss0]}") → $(mb "${CONV[rss1]}") | ${FLOOR[api_cpu]} |")

# Scale, last: SCALE Databases (API objects only) by one operator, then a restart on them. No floor
# and no settle: the controller-manager's pods and claims for them (two writes per Database at its
# 20 qps) trail the converge and the restart.
if ((SCALE > 0)); then
  n=$SCALE mcr=${RECONCILE_VALUES[0]}
  converge database "$n" "$mcr" -scale
  conv_ns=${CONV[ns]}
  stop_operator
  CONVERGE_ROWS+=("| $n (scale) | $mcr | ${CONV[seconds]} | - | - | ${CONV[create]} | $((CONV[writes] + n)) | - | $(children_summary "$conv_ns") |")
  CPU_ROWS+=("| $n (scale) | $mcr | ${CONV[op_cpu]} | $(ms_per "${CONV[op_cpu]}" "${CONV[writes]}") | ${CONV[api_cpu]} | $(calc %.1f%% "100 * ${CONV[op_cpu]} / (${CONV[api_cpu]} > 0 ? ${CONV[api_cpu]} : 1)") | ${CONV[etcd_cpu]} | ${CONV[kcm_cpu]} | - | - | - |")
  REQUEST_ROWS+=("| $n (scale) | $mcr | ${CONV[GET]} | ${CONV[POST]} | ${CONV[PATCH]} | ${CONV[PUT]} | ${CONV[DELETE]} | ${CONV[notfound]} | $((CONV[failed] - CONV[notfound])) | $(calc %.2f "${CONV[writes]} / $n") | - |")
  MEMORY_ROWS+=("| $n (scale) | $(mb "${CONV[rss0]}") ($(mb "${CONV[anon0]}")) | $(mb "${CONV[rss1]}") ($(mb "${CONV[anon1]}")) | - | $(mb "${CONV[hwm]}") | $(calc %.1f "(${CONV[rss1]} - ${CONV[rss0]}) / $n") |")
  steady database "$conv_ns" "$n" "$mcr"
  STEADY_ROWS+=("| $n (scale) | ${RESYNC}s | ${STEADY[resync_window]} | ${STEADY[resync_reconciles]} | ${STEADY[resync_writes]} | ${STEADY[resync_gets]} | ${STEADY[resync_cpu]} | $(ms_per "${STEADY[resync_cpu]}" "${STEADY[resync_reconciles]}") | ${STEADY[resync_api_cpu]} | ${STEADY[startup_writes]} |")
  STARTUP_ROWS+=("| $n Databases (scale) | ${STEADY[ready]} | ${STEADY[first]} | ${STEADY[all]} | ${STEADY[startup_cpu]} | $(mb "${STEADY[rss]}") |")
  MEMORY_ROWS[-1]+=" $(mb "${STEADY[rss]}") | $(mb "${STEADY[hwm]}") | $(calc %.1f "(${STEADY[hwm]} - ${CONV[rss1]}) / 1024") | $(calc %.1f "(${STEADY[rss]} - ${CONV[rss0]}) / $n") |"
fi

# ---- tables ----------------------------------------------------------------------------------------
say ""
say "## Converge: N Databases, created by the driver, until each has status.observedGeneration = generation and ReconcileSucceeded=True"
say ""
say "Floor: the same writes (create, finalizer, 6 children, status, Event per Database) from the driver alone, $DRIVER_CONCURRENCY in flight, no watch or cache. Children: Secrets/Services/StatefulSets/CronJobs found afterwards."
say ""
say "| N | reconciles | converge s | floor s | converge / floor | of which creating s | writes (operator + N creates) | floor writes | children |"
say "|---|---|---|---|---|---|---|---|---|"
for r in "${CONVERGE_ROWS[@]}"; do say "$r"; done
say ""
say "## CPU over the converge interval (user + system seconds from /proc)"
say ""
say "| N | reconciles | operator s | operator ms / write | kube-apiserver s | operator / apiserver | etcd s | controller-manager s | floor: apiserver s | floor: driver s | floor: driver ms / write |"
say "|---|---|---|---|---|---|---|---|---|---|---|"
for r in "${CPU_ROWS[@]}"; do say "$r"; done
say ""
say "## Operator requests during converge (rest_client_requests_total by method; watches count as GET)"
say ""
say "| N | reconciles | GET | POST | PATCH | PUT | DELETE | 404 (expected: Secret lookups) | other 4xx/5xx/no answer | operator writes / Database | floor writes / Database (incl. the create) |"
say "|---|---|---|---|---|---|---|---|---|---|---|"
for r in "${REQUEST_ROWS[@]}"; do say "$r"; done
say ""
say "## Memory (VmRSS / VmHWM from /proc, MiB)"
say ""
say "Idle, all namespaces, no objects (three starts; ready = /readyz, caches synced, nothing to reconcile; CPU and requests over 10 s of idling):"
say ""
say "| start | ready s | RSS | of which anonymous | of which file-backed (binary, shared libraries) | peak RSS | CPU s in 10 s | requests in 10 s |"
say "|---|---|---|---|---|---|---|---|"
for r in "${IDLE_ROWS[@]}"; do say "$r"; done
say ""
say "With N Databases (one namespace watched): before creating, right after convergence (anonymous memory in parentheses), after the controller-manager created the pods, peak; restarted on the N converged objects: RSS once all N reconciled and one resync period later, and the restart's peak (VmHWM):"
say ""
say "| N | before | converged | settled | peak | KiB / Database (converged - before) | restarted with N | restart peak | restart peak - converged | KiB / Database (restarted - before) |"
say "|---|---|---|---|---|---|---|---|---|---|"
for r in "${MEMORY_ROWS[@]}"; do say "$r"; done
say ""
say "## Steady state: restarted with --resync-period=${RESYNC}s on the converged Databases, one period of resyncs (nothing drifted)"
say ""
say "| N | period | window s | resync reconciles | writes | GETs | operator CPU s | CPU ms / reconcile | apiserver CPU s | writes in the startup pass |"
say "|---|---|---|---|---|---|---|---|---|---|"
for r in "${STEADY_ROWS[@]}"; do say "$r"; done
say ""
say "## Startup (seconds from exec)"
say ""
say "| objects | ready (/readyz) | first reconcile | all reconciled | CPU s of the startup pass (ready to all) | RSS after |"
say "|---|---|---|---|---|---|"
for r in "${IDLE_ROWS[@]}"; do say "| none (start ${r:2:1}) | $(cut -d'|' -f3 <<<"$r" | tr -d ' ') | - | - | - | $(cut -d'|' -f4 <<<"$r" | tr -d ' ') |"; done
for r in "${STARTUP_ROWS[@]}"; do say "$r"; done
say ""
say "## HelloWorld: N HelloWorlds to ConfigMaps (floor: create, ConfigMap apply, status apply)"
say ""
say "| N | operator flags | converge s | floor s | converge / floor | writes (operator + N creates) | floor writes | operator GETs | operator CPU s | ms / write | apiserver CPU s | operator / apiserver | RSS before → converged MiB | floor: apiserver s |"
say "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for r in "${HW_ROWS[@]}"; do say "$r"; done
say ""
say "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg). Raw figures: results.env; logs: logs/."
note "report: $REPORT"
