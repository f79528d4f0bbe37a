#!/usr/bin/env bash
# The operator under faults, on a real control plane:
#   5. the API server is unreachable at startup (closed port; stopped kube-apiserver);
#   6. etcd restarts while 200 HelloWorlds converge;
#   7. SIGTERM while 300 HelloWorlds are being reconciled; SIGTERM while the API server hangs;
#   8. a bad kubeconfig (malformed YAML, missing file, wrong CA) fails fast with one clear line.
# Prints PASS/FAIL lines and INFO lines with the measured figures. Parts 5b and 6 need
# KUBECORO_CONTROLPLANE_DIR (test/controlplane/with-controlplane.sh).
# shellcheck disable=SC2154,SC2317 # <name>_METRICS/_HEALTH are set by start_operator; helpers run via check/wait_until
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
CP=$E2E_ROOT/test/controlplane/controlplane.sh
install_crds
work=$(mktemp -d /tmp/kubecoro-e2e-reliability.XXXXXX)
namespaces=()
restore_controlplane() { # a failed check must not leave a component stopped
  [[ -n "${KUBECORO_CONTROLPLANE_DIR:-}" ]] || return 0
  [[ -n "${apiserver_pid:-}" ]] && kill -CONT "$apiserver_pid" 2>/dev/null
  "$CP" status "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null | grep -q '^etcd: stopped' &&
    "$CP" start-etcd "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null
  "$CP" status "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null | grep -q '^apiserver: stopped' &&
    "$CP" start-apiserver "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null
  return 0
}
cleanup_reliability() {
  stop_all_operators
  restore_controlplane
  local ns; for ns in "${namespaces[@]}"; do kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1; done
  rm -rf "$work"
}
trap cleanup_reliability EXIT
info() { echo "INFO reliability: $*"; }
port_of() { local v="${1}_$2"; echo "${!v}"; }
code_is() { [[ "$(probe_code "$(port_of "$1" HEALTH)" "$2")" == "$3" ]]; }
retried() { (($(log_count "$1" "API server not reachable yet; retrying") >= $2)); }

# ---- 5a. API server unreachable at startup: a kubeconfig naming a closed port ------------------
closed=$(free_port)
sed -E "s#(server: https://127\.0\.0\.1:)[0-9]+#\1$closed#" "$KUBECONFIG" >"$work/closed.kubeconfig"
start_operator_nowait closed --controllers=helloworld --kubeconfig="$work/closed.kubeconfig"
expect_eventually "reliability: unreachable API server: /healthz 200" 10 code_is closed /healthz 200
check "reliability: unreachable API server: /readyz 503" code_is closed /readyz 503
expect_eventually "reliability: unreachable API server: the log says it retries (3 times)" 15 retried closed 3
check "reliability: unreachable API server: the process keeps running" operator_alive closed
check "reliability: unreachable API server: still not ready" code_is closed /readyz 503
grep -F '"API server not reachable yet; retrying"' "$E2E_LOGS/closed.log" | head -n 1 | sed 's/^/INFO reliability: log: /'
t0=$(now_s)
stop_operator closed TERM; rc=$?
check "reliability: unreachable API server: SIGTERM exits 0 (got $rc in $(since_s "$t0")s)" test "$rc" -eq 0

# ---- 5b. kube-apiserver stopped at startup, started later ---------------------------------------
ns=$(new_namespace rel-start); namespaces+=("$ns")
ns6=$(new_namespace rel-etcd); namespaces+=("$ns6")
if [[ -z "${KUBECORO_CONTROLPLANE_DIR:-}" ]]; then
  echo "SKIP reliability: stopping kube-apiserver needs the local control plane (KUBECORO_CONTROLPLANE_DIR)"
  start_operator late --controllers=helloworld --namespace="$ns,$ns6" || fail "reliability: operator became ready"
else
  "$CP" stop-apiserver "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null
  start_operator_nowait late --controllers=helloworld --namespace="$ns,$ns6"
  expect_eventually "reliability: kube-apiserver stopped: /healthz 200" 10 code_is late /healthz 200
  expect_eventually "reliability: kube-apiserver stopped: the log says it retries" 15 retried late 2
  check "reliability: kube-apiserver stopped: /readyz 503" code_is late /readyz 503
  "$CP" start-apiserver "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null || fail "reliability: kube-apiserver started again"
  t0=$(now_s)
  expect_eventually "reliability: once kube-apiserver is back the operator becomes ready" 45 code_is late /readyz 200
  info "ready $(since_s "$t0")s after kube-apiserver was back (it retries with a backoff of 0.8 s to 30 s)"
fi
helloworlds_yaml late 1 1 after-start | kubectl apply -n "$ns" -f - >/dev/null
expect_eventually "reliability: the late-started operator converges a HelloWorld" 30 hw_converged "$ns" 1
fds_before=$(metric process_open_fds "$late_METRICS")

# ---- 6. etcd restarts while 200 HelloWorlds converge --------------------------------------------
if [[ -z "${KUBECORO_CONTROLPLANE_DIR:-}" ]]; then
  echo "SKIP reliability: restarting etcd needs the local control plane (KUBECORO_CONTROLPLANE_DIR)"
else
  helloworlds_yaml e 1 200 before-etcd >"$work/etcd.yaml"
  kubectl apply -n "$ns6" -f "$work/etcd.yaml" >/dev/null || fail "reliability: kubectl apply of 200 HelloWorlds"
  KUBECORO_STOP_GRACE=0 "$CP" stop-etcd "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null
  t_stop=$(now_s)
  done_at_stop=$(metric controller_runtime_reconcile_total "$late_METRICS" 'controller="helloworld"')
  sleep 3 # the fault's duration, not a wait for a condition
  "$CP" start-etcd "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null || fail "reliability: etcd started again"
  t0=$(now_s)
  info "etcd down for $(awk -v a="$t_stop" -v b="$t0" 'BEGIN { printf "%.1f", b - a }')s (SIGKILL)," \
    "$done_at_stop reconciles done when it stopped (of ~400 for 200 objects)"
  expect_eventually "reliability: after the etcd restart all 200 HelloWorlds converge" 120 hw_converged "$ns6" 200
  info "200 HelloWorlds converged $(since_s "$t0")s after etcd was back;" \
    "$(metric controller_runtime_reconcile_errors_total "$late_METRICS" 'controller="helloworld"') reconcile errors retried;" \
    "$(log_count late "watch failed") watch failures, $(log_count late "watch expired: relisting") relists logged"
  cms=$(kubectl get configmaps -n "$ns6" -o name | grep -c '^configmap/e-')
  check "reliability: etcd restart: exactly 200 ConfigMaps (got $cms)" test "$cms" -eq 200
  check "reliability: etcd restart: the operator never exited" operator_alive late
  fds_after=$(metric process_open_fds "$late_METRICS")
  check "reliability: etcd restart: no descriptor leak (open fds $fds_before -> $fds_after)" \
    test "$fds_after" -le $((fds_before + 10))
fi
t0=$(now_s)
stop_operator late TERM; rc=$?
check "reliability: SIGTERM after the faults exits 0 (got $rc in $(since_s "$t0")s)" test "$rc" -eq 0

# ---- 7. SIGTERM during heavy reconciling ---------------------------------------------------------
ns7=$(new_namespace rel-term); namespaces+=("$ns7")
start_operator term --controllers=helloworld --namespace="$ns7" || fail "reliability: operator became ready"
helloworlds_yaml t 1 300 busy >"$work/term.yaml"
kubectl apply -n "$ns7" -f "$work/term.yaml" >/dev/null || fail "reliability: kubectl apply of 300 HelloWorlds"
depth=$(metric workqueue_depth "$term_METRICS" 'name="helloworld"')
active=$(metric controller_runtime_active_workers "$term_METRICS" 'controller="helloworld"')
done_before=$(metric controller_runtime_reconcile_total "$term_METRICS" 'controller="helloworld"')
t0=$(now_s)
stop_operator term TERM; rc=$?
took=$(since_s "$t0")
info "SIGTERM with $depth queued, $active reconciles in flight, $done_before done: exit $rc after ${took}s"
check "reliability: SIGTERM under load: work was in flight (queue $depth, active $active)" test $((depth + active)) -gt 0
check "reliability: SIGTERM under load exits 0 (got $rc)" test "$rc" -eq 0
check "reliability: SIGTERM under load ends within the 30 s grace period (${took}s)" \
  awk -v t="$took" 'BEGIN { exit !(t < 30) }'
check "reliability: SIGTERM under load: the log says it shut down cleanly" \
  grep -qF '"msg":"shut down cleanly"' "$E2E_LOGS/term.log"
check "reliability: SIGTERM under load: no fatal error in the log" \
  test "$(grep -cE '"level":"(error|fatal)"' "$E2E_LOGS/term.log")" -eq 0
# The reconciles in flight at SIGTERM finish (they are not cut off halfway): each ends "reconciled",
# or "stale cache: retrying" when its write met a newer version (a 409: it ran to its end).
in_flight=$(grep -F '"msg":"waiting for reconciles in flight"' "$E2E_LOGS/term.log" | sed -n 's/.*"count":\([0-9]*\).*/\1/p' | head -n 1)
finished=$(sed -n '/"msg":"waiting for reconciles in flight"/,$p' "$E2E_LOGS/term.log" |
  grep -cE '"msg":"(reconciled|stale cache: retrying)"')
check "reliability: SIGTERM under load: the ${in_flight:-?} reconciles in flight finish before exit ($finished)" \
  test -n "$in_flight" -a "$finished" -ge "${in_flight:-1}"
# What was left queued is done by the next operator: nothing lost, nothing written twice.
t0=$(now_s)
start_operator term2 --controllers=helloworld --namespace="$ns7" || fail "reliability: a second operator became ready"
expect_eventually "reliability: after SIGTERM under load a new operator converges all 300" 120 hw_converged "$ns7" 300
info "the new operator converged the rest in $(since_s "$t0")s"
cms=$(kubectl get configmaps -n "$ns7" -o name | grep -c '^configmap/t-')
check "reliability: SIGTERM under load: exactly 300 ConfigMaps (got $cms)" test "$cms" -eq 300
stop_operator term2 TERM; rc=$?
check "reliability: the second operator exits 0 at SIGTERM (got $rc)" test "$rc" -eq 0

# ---- 7b. SIGTERM while the API server hangs (SIGSTOP): --shutdown-timeout bounds the exit ------
if [[ -z "${KUBECORO_CONTROLPLANE_DIR:-}" ]]; then
  echo "SKIP reliability: freezing kube-apiserver needs the local control plane (KUBECORO_CONTROLPLANE_DIR)"
else
  ns7b=$(new_namespace rel-hang); namespaces+=("$ns7b")
  start_operator hang --controllers=helloworld --namespace="$ns7b" --shutdown-timeout=5s ||
    fail "reliability: operator with --shutdown-timeout=5s became ready"
  helloworlds_yaml h 1 100 frozen | kubectl apply -n "$ns7b" -f - >/dev/null
  apiserver_pid=$(cat "$KUBECORO_CONTROLPLANE_DIR/apiserver.pid")
  kill -STOP "$apiserver_pid"
  busy() { (($(metric controller_runtime_active_workers "$hang_METRICS" 'controller="helloworld"') > 0)); }
  wait_until 10 busy
  active=$(metric controller_runtime_active_workers "$hang_METRICS" 'controller="helloworld"')
  t0=$(now_s)
  stop_operator hang TERM; rc=$?
  took=$(since_s "$t0")
  kill -CONT "$apiserver_pid"
  apiserver_answers() { kubectl get --raw /readyz >/dev/null 2>&1; }
  wait_until 60 apiserver_answers
  info "SIGTERM with the API server frozen and $active reconciles in flight: exit $rc after ${took}s" \
    "(--shutdown-timeout=5s); in-flight reconciles logged as" \
    "$(log_count hang "reconcile failed permanently") 'failed permanently', $(grep -cF '"error":"reconcile cancelled"' "$E2E_LOGS/hang.log") 'reconcile cancelled'"
  check "reliability: API server frozen: SIGTERM exits 0 (got $rc)" test "$rc" -eq 0
  check "reliability: API server frozen: the exit waits for --shutdown-timeout=5s, no more (${took}s)" \
    awk -v t="$took" 'BEGIN { exit !(t >= 4.5 && t < 10) }'
  check "reliability: API server frozen: it still says it shut down cleanly" \
    grep -qF '"msg":"shut down cleanly"' "$E2E_LOGS/hang.log"
  # Cut off by the shutdown is not "failed permanently" (a terminal error, never retried).
  check "reliability: API server frozen: no reconcile cancelled by the shutdown is reported as failed permanently" \
    test "$(log_count hang "reconcile failed permanently")" -eq 0
fi

# ---- 8. bad kubeconfigs fail fast with one clear line ---------------------------------------------
# bad_kubeconfig NAME FILE PATTERN: the operator exits non-zero within 10 s and one error line
# matches PATTERN.
bad_kubeconfig() {
  local name=$1 file=$2 pattern=$3 rc=0 t0 took line
  t0=$(now_s)
  timeout 20 "$KUBECORO_BIN" --log-format=json --kubeconfig="$file" --controllers=helloworld \
    --health-probe-bind-address="127.0.0.1:$(free_port)" --metrics-bind-address=0 >"$E2E_LOGS/bad-$name.log" 2>&1 || rc=$?
  took=$(since_s "$t0")
  line=$(grep -E '"level":"(error|fatal)"' "$E2E_LOGS/bad-$name.log")
  info "$name: exit $rc after ${took}s: $line"
  check "reliability: $name kubeconfig: non-zero exit, no hang (got $rc in ${took}s)" \
    test "$rc" -ne 0 -a "$rc" -ne 124 -a "$(awk -v t="$took" 'BEGIN { print (t < 10) }')" = 1
  check "reliability: $name kubeconfig: exactly one error line" test "$(printf '%s\n' "$line" | grep -c .)" -eq 1
  check "reliability: $name kubeconfig: the line names the cause ($pattern)" grep -qE "$pattern" <<<"$line"
}
printf 'apiVersion: v1\nkind: Config\nclusters: [ {name: x, cluster: {server: "https://127.0.0.1:1"}\n' >"$work/malformed.kubeconfig"
bad_kubeconfig malformed "$work/malformed.kubeconfig" "$work/malformed.kubeconfig.*(YAML|yaml)"
bad_kubeconfig missing "$work/no-such.kubeconfig" "$work/no-such.kubeconfig.*(No such file|not found|missing)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/other-ca.key" \
  -subj /CN=another-ca -days 1 -out "$work/other-ca.crt" 2>/dev/null
sed -E "s#certificate-authority-data: .*#certificate-authority-data: $(base64 -w0 <"$work/other-ca.crt")#" \
  "$KUBECONFIG" >"$work/wrong-ca.kubeconfig"
bad_kubeconfig wrong-CA "$work/wrong-ca.kubeconfig" "TLS.*(certificate verify failed|unable to get local issuer)"
sed -E '/^\s*server:/d' "$KUBECONFIG" >"$work/no-server.kubeconfig"
bad_kubeconfig no-server "$work/no-server.kubeconfig" "server"

exit $E2E_FAILED
