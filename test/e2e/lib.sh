# Shared helpers for the end-to-end tests (sourced). Needs KUBECONFIG (with-controlplane.sh sets it).
# Each check prints one line starting with PASS or FAIL; run.sh counts them.
set -uo pipefail

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KUBECORO_BIN=${KUBECORO_BIN:-$E2E_ROOT/build/kubecoro}
E2E_LOGS=${E2E_LOGS:-$(mktemp -d /tmp/kubecoro-e2e-logs.XXXXXX)}
E2E_FAILED=0
declare -A E2E_PIDS=()

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; E2E_FAILED=1; }
# check NAME CMD...: PASS when CMD succeeds.
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }

# wait_until SECONDS CMD...: polls CMD every 0.2 s until it succeeds; fails after SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS >= deadline)) && return 1
    sleep 0.2
  done
}

# expect_eventually NAME SECONDS CMD...: one check that waits for a condition.
expect_eventually() {
  local name=$1 secs=$2; shift 2
  if wait_until "$secs" "$@"; then pass "$name"; else fail "$name (not within ${secs}s: $*)"; fi
}

# jsonpath_is EXPECTED KUBECTL-GET-ARGS... : the jsonpath output equals EXPECTED.
# Usage: jsonpath_is "Ready" get db/x -n ns -o jsonpath='{.status.phase}'
jsonpath_is() { local want=$1; shift; [[ "$(kubectl "$@" 2>/dev/null)" == "$want" ]]; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_operator_nowait NAME [FLAGS...]: start_operator without waiting for /readyz (for an
# operator that cannot become ready yet).
start_operator_nowait() {
  local name=$1; shift
  local health metrics
  health=$(free_port); metrics=$(free_port)
  printf -v "${name}_HEALTH" '%s' "$health"; printf -v "${name}_METRICS" '%s' "$metrics"
  export "${name}_HEALTH" "${name}_METRICS"
  "$KUBECORO_BIN" --log-format=json --log-level=debug \
    --health-probe-bind-address="127.0.0.1:$health" --metrics-bind-address="127.0.0.1:$metrics" \
    "$@" >>"$E2E_LOGS/$name.log" 2>&1 &
  E2E_PIDS[$name]=$!
}

# start_operator NAME [FLAGS...]: runs kubecoro in the background with its own probe and metrics
# ports (exported as <NAME>_HEALTH and <NAME>_METRICS), logging to $E2E_LOGS/NAME.log.
start_operator() {
  local health_var=${1}_HEALTH
  start_operator_nowait "$@"
  wait_until 30 curl -fsS "http://127.0.0.1:${!health_var}/readyz"
}

# stop_operator NAME [SIGNAL]: signals the operator and waits; returns its exit status.
stop_operator() {
  local name=$1 sig=${2:-TERM} pid=${E2E_PIDS[$1]:-}
  [[ -n "$pid" ]] || return 0
  kill "-$sig" "$pid" 2>/dev/null
  local rc=0; wait "$pid" || rc=$?
  unset "E2E_PIDS[$name]"
  return $rc
}

stop_all_operators() { local n; for n in "${!E2E_PIDS[@]}"; do stop_operator "$n" KILL; done; }

# metric NAME PORT FILTER: the sum of the samples of a metric whose labels contain FILTER.
metric() {
  curl -fsS "http://127.0.0.1:$2/metrics" | awk -v m="$1" -v f="${3:-}" \
    '$1 ~ "^"m"({|$)" && index($1, f) { s += $NF } END { printf "%d\n", s }'
}

# new_namespace PREFIX: creates a namespace with a unique name and prints it.
new_namespace() {
  local ns; ns="$1-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  kubectl create namespace "$ns" >/dev/null && echo "$ns"
}

# make_pods_ready NS SELECTOR: there is no kubelet; write what one would: phase Running and
# condition Ready=True on every pod matching SELECTOR.
make_pods_ready() {
  local ns=$1 selector=$2 pod now
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for pod in $(kubectl get pods -n "$ns" -l "$selector" -o name); do
    kubectl patch -n "$ns" "$pod" --subresource=status --type=merge -p "{\"status\":{\"phase\":\"Running\",
      \"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"$now\"},
                      {\"type\":\"ContainersReady\",\"status\":\"True\",\"lastTransitionTime\":\"$now\"}]}}" >/dev/null
  done
}

E2E_WEBHOOK_INSTALLED=0
e2e_cleanup() {
  stop_all_operators
  ((E2E_WEBHOOK_INSTALLED == 0)) || kubectl delete validatingwebhookconfiguration kubecoro --ignore-not-found >/dev/null 2>&1
}
trap e2e_cleanup EXIT

# install_manifests [PORT]: kubectl apply -k manifests/. The operators these tests start run
# outside the cluster, where nothing serves the webhook's Service: with PORT, manifests' webhooks
# call https://127.0.0.1:PORT instead (an operator run with --webhook-bind-address=127.0.0.1:PORT
# fills in the caBundle), until the test ends; without, the ValidatingWebhookConfiguration is
# removed at once (it would refuse every Database).
install_manifests() {
  E2E_WEBHOOK_INSTALLED=1 # removed at exit whatever happens below
  kubectl apply -k "$E2E_ROOT/manifests/" >/dev/null || return 1
  if [[ -z ${1:-} ]]; then
    kubectl delete validatingwebhookconfiguration kubecoro >/dev/null
    return
  fi
  local patch
  patch=$(kubectl get validatingwebhookconfiguration kubecoro -o json | python3 -c '
import json, sys
c = json.load(sys.stdin)
print(json.dumps([{"op": "replace", "path": "/webhooks/%d/clientConfig" % i,
                   "value": {"url": "https://127.0.0.1:%s%s" % (sys.argv[1], w["clientConfig"]["service"]["path"])}}
                  for i, w in enumerate(c["webhooks"])]))' "$1") &&
    kubectl patch validatingwebhookconfiguration kubecoro --type json -p "$patch" >/dev/null
}
# webhook_ready: the operator has filled in the caBundle of manifests' webhooks.
webhook_ready() { [[ -n $(kubectl get validatingwebhookconfiguration kubecoro -o 'jsonpath={.webhooks[0].clientConfig.caBundle}') ]]; }

# Installs the CRDs once (idempotent).
install_crds() {
  kubectl apply -f "$E2E_ROOT/manifests/crds/" >/dev/null &&
    kubectl wait --for=condition=Established crd/databases.kubecoro.dev crd/helloworlds.kubecoro.dev --timeout=60s >/dev/null
}

# event_counts NS FIELD-SELECTOR: one line "<involvedObject.name> <count>" per matching Event. An
# events.k8s.io/v1 Event counts its repeats in series.count (absent until the first repeat), a
# core/v1 one in count.
event_counts() {
  kubectl get events -n "$1" --field-selector "$2" \
    -o 'jsonpath={range .items[*]}{.involvedObject.name}|{.count}|{.series.count}{"\n"}{end}' 2>/dev/null |
    awk -F'|' 'NF { print $1, ($3 > 0 ? $3 : ($2 > 0 ? $2 : 1)) }'
}
# events_total NS FIELD-SELECTOR: how many times matching events happened, repeats included.
events_total() { event_counts "$1" "$2" | awk '{ s += $2 } END { print s + 0 }'; }
export -f event_counts events_total

# ---- runtime and reliability helpers (runtime_test.sh, reliability_test.sh) -------------------

# operator_alive NAME: its process runs (not exited, not a zombie).
operator_alive() {
  local pid=${E2E_PIDS[$1]:-}
  [[ -n "$pid" && -r /proc/$pid/stat && $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) != Z ]]
}

# probe_code PORT PATH: the HTTP status code of http://127.0.0.1:PORT/PATH (000 when unreachable).
probe_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$1$2"; }

# log_count NAME MSG: how many lines of NAME's log have "msg":"MSG".
log_count() { grep -cF "\"msg\":\"$2\"" "$E2E_LOGS/$1.log" 2>/dev/null || true; }

# reconciles_of NAME NS OBJECT: how many reconciles of NS/OBJECT operator NAME has finished (its
# debug log has one "reconciled" or "reconcile failed..." line for each). Unlike the metric, it
# does not count other objects (e.g. those of an earlier test's namespace still being deleted).
reconciles_of() {
  grep -F "\"namespace\":\"$2\",\"name\":\"$3\",\"reconcileID\"" "$E2E_LOGS/$1.log" 2>/dev/null |
    grep -cE '"msg":"reconcile(d|\s*failed)' || true
}

# now_s / since_s T0: wall-clock seconds (with decimals) and the seconds elapsed since T0.
now_s() { echo "$EPOCHREALTIME"; }
since_s() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# helloworlds_yaml PREFIX FROM TO MESSAGE: a multi-document file of HelloWorlds PREFIX-FROM..TO
# whose message is "MESSAGE-<n>".
helloworlds_yaml() {
  local i
  for ((i = $2; i <= $3; i++)); do
    printf -- '---\napiVersion: kubecoro.dev/v1alpha1\nkind: HelloWorld\nmetadata: {name: %s-%d}\nspec: {message: "%s-%d"}\n' \
      "$1" "$i" "$4" "$i"
  done
}

# hw_unconverged NS: prints one line per HelloWorld of NS not converged yet (its ConfigMap must
# hold spec.message, Ready=True, observedGeneration = generation) and per ConfigMap owned by a
# HelloWorld that no longer exists; fails when the API server cannot be read.
hw_unconverged() {
  local hws cms
  hws=$(kubectl get helloworlds -n "$1" -o jsonpath='{range .items[*]}{.metadata.name}{"\t"}{.metadata.generation}{"\t"}{.status.observedGeneration}{"\t"}{.status.conditions[?(@.type=="Ready")].status}{"\t"}{.spec.message}{"\n"}{end}') || return 1
  cms=$(kubectl get configmaps -n "$1" -o jsonpath='{range .items[*]}{.metadata.ownerReferences[0].kind}{"\t"}{.metadata.name}{"\t"}{.data.message}{"\n"}{end}') || return 1
  awk -F'\t' '
    FNR == NR { if ($1 == "HelloWorld") { cm[$2] = $3; seen[$2] = 1 }; next }
    NF {
      hw[$1] = 1
      if (!($1 in seen)) print "no ConfigMap: " $1
      else if (cm[$1] != $5) print "ConfigMap " $1 " holds \"" cm[$1] "\", not \"" $5 "\""
      if ($4 != "True" || $2 != $3) print "not Ready at generation " $2 ": " $1 " (" $4 ", observed " $3 ")"
    }
    END { for (n in seen) if (!(n in hw)) print "orphan ConfigMap: " n }' \
    <(printf '%s\n' "$cms") <(printf '%s\n' "$hws")
}

# hw_converged NS COUNT: NS holds exactly COUNT HelloWorlds, all converged, and no orphan ConfigMap.
hw_converged() {
  local out n
  out=$(hw_unconverged "$1") || return 1
  n=$(kubectl get helloworlds -n "$1" -o name | wc -l) || return 1
  [[ -z "$out" && "$n" -eq "$2" ]]
}

# ---- the real node (KUBECORO_NODE=1; realdb_test.sh, node_test.sh) ---------------------------

# node_present: the control plane has a node of its own (with-controlplane.sh with KUBECORO_NODE=1).
node_present() { [[ -n ${KUBECORO_CONTROLPLANE_DIR:-} && -f $KUBECORO_CONTROLPLANE_DIR/node.enabled ]]; }
# require_node NAME: a test file of the node's stops here (FAIL, exit 1) on a control plane without one.
require_node() {
  node_present && return 0
  fail "$1: needs the node (KUBECORO_NODE=1 with test/controlplane/with-controlplane.sh)"
  exit 1
}
# cp COMMAND...: test/controlplane/controlplane.sh COMMAND ... $KUBECORO_CONTROLPLANE_DIR
cp_() { "$E2E_ROOT/test/controlplane/controlplane.sh" "$@" "$KUBECORO_CONTROLPLANE_DIR"; }
node_ctr() { ctr --address "$KUBECORO_CONTROLPLANE_DIR/node/containerd.sock" --namespace k8s.io "$@"; }

# node_diagnose NS POD: why POD is not running/ready, in a few lines: which node component is down,
# the container's waiting/terminated reason (a missing image says so), recent events, where the
# logs are.
node_diagnose() {
  local ns=$1 pod=$2
  echo "  diagnosis of pod $ns/$pod:"
  cp_ status 2>/dev/null | grep -E '^(containerd|kubelet|kube-proxy|scheduler|dns|node-agent): stopped' |
    sed 's/^/    node component /'
  kubectl get pod -n "$ns" "$pod" -o 'jsonpath={"    phase: "}{.status.phase}{", node: "}{.spec.nodeName}{"\n"}{range .status.containerStatuses[*]}{"    container "}{.name}{" ("}{.image}{"): ready="}{.ready}{" restarts="}{.restartCount}{" waiting="}{.state.waiting.reason}{" "}{.state.waiting.message}{" terminated="}{.state.terminated.reason}{" last="}{.lastState.terminated.reason}{"\n"}{end}' 2>&1 | sed 's/^error/    error/'
  kubectl get events -n "$ns" --field-selector "involvedObject.name=$pod" --sort-by=.lastTimestamp \
    -o 'jsonpath={range .items[*]}{"    event "}{.type}{" "}{.reason}{": "}{.message}{"\n"}{end}' 2>/dev/null | tail -6
  local logs=${KUBECORO_LOG_DIR:-$KUBECORO_CONTROLPLANE_DIR/logs}
  echo "    logs: kubectl logs -n $ns $pod; the node's: $logs/kubelet.log, $logs/containerd.log (kept after the run)"
}

# wait_pod_done NS POD SECONDS: waits until POD has Succeeded (0) or Failed (1); diagnoses a pod
# that does neither in time (2).
wait_pod_done() {
  local deadline=$((SECONDS + $3)) phase
  while ((SECONDS < deadline)); do
    phase=$(kubectl get pod -n "$1" "$2" -o 'jsonpath={.status.phase}' 2>/dev/null)
    [[ $phase == Succeeded ]] && return 0
    [[ $phase == Failed ]] && return 1
    sleep 0.5
  done
  node_diagnose "$1" "$2" >&2
  return 2
}

# Databases of the node's tests, in the test's namespace $ns:
db_phase() { kubectl get -n "$ns" "db/$1" -o 'jsonpath={.status.phase}' 2>/dev/null; }
db_phase_is() { [[ $(db_phase "$1") == "$2" ]]; }
# db_wait_ready NAME SECONDS: the Database is Ready; otherwise says why, and why its pod is not.
db_wait_ready() {
  if wait_until "$2" db_phase_is "$1" Ready; then return 0; fi
  echo "  Database $1 is $(db_phase "$1"): $(kubectl get -n "$ns" "db/$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].message}')"
  node_diagnose "$ns" "$1-0"
  return 1
}

# json_string TEXT: TEXT as a JSON (and so YAML flow) string literal.
json_string() { printf '%s' "$1" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))'; }

# run_pod NS NAME IMAGE SCRIPT [ENV-YAML] [VOLUMES-YAML MOUNTS-YAML]: runs SCRIPT with bash in a
# one-off pod (uid 999, no service account token) and prints its log; fails when the pod fails.
run_pod() {
  local ns=$1 name=$2 image=$3 script=$4 env=${5:-[]} volumes=${6:-[]} mounts=${7:-[]} rc=0
  kubectl apply -n "$ns" -f - >/dev/null <<YAML || return 1
apiVersion: v1
kind: Pod
metadata: {name: $name, labels: {app.kubernetes.io/name: e2e-client}}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: {runAsUser: 999, runAsGroup: 999, runAsNonRoot: true}
  volumes: $volumes
  containers:
  - name: c
    image: $image
    command: [bash, -c, $(json_string "$script")]
    env: $env
    volumeMounts: $mounts
YAML
  wait_pod_done "$ns" "$name" 180 || rc=$?
  kubectl logs -n "$ns" "$name" 2>&1
  kubectl delete pod -n "$ns" "$name" --wait=false >/dev/null 2>&1
  return $rc
}
