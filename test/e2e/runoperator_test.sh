#!/usr/bin/env bash
# test/run-operator.sh against an existing cluster (this one), with the operator binary under
# test: it installs only what is missing, creates every sample whose name is free in the
# kubeconfig's namespace and, when stopped by a signal, removes what it created: the samples (a
# Database's data too) but nothing that was there before it: not a Database of a sample's name,
# not the data an earlier Database of that name kept, not another install's RBAC. With
# KUBECORO_KEEP=1 it removes nothing.
source "$(dirname "$0")/lib.sh"
install_crds || fail "runoperator: CRDs installed"
ns=$(new_namespace runop)
kc=$(mktemp); cp "$KUBECONFIG" "$kc"
trap 'rm -f "$kc"; e2e_cleanup' EXIT
KUBECONFIG=$kc kubectl config set-context --current --namespace="$ns" >/dev/null
quiet() { "$@" >/dev/null 2>&1; }
# Before the run: a Database named like the MariaDB sample, and what a deleted pg1 (Retain) kept.
kubectl apply -n "$ns" -f - >/dev/null <<'YAML'
apiVersion: kubecoro.dev/v1alpha1
kind: Database
metadata: {name: maria1}
spec: {engine: mariadb, version: "11.4", storage: 2Gi, deletionPolicy: Retain}
---
apiVersion: v1
kind: Secret
metadata: {name: pg1-superuser}
stringData: {password: kept-from-before}
YAML
had_ns=0; quiet kubectl get namespace kubecoro-system && had_ns=1
subjects() { kubectl get clusterrolebinding kubecoro-manager -o 'jsonpath={.subjects}' 2>/dev/null; }
subjects_before=$(subjects)

# run LOG SECONDS [ENV...]: the script in the background against this cluster; its pid in $run_pid.
run() {
  local log=$1 secs=$2; shift 2
  env "$@" KUBECONFIG="$kc" KUBECORO_USE_EXISTING_CLUSTER=1 KUBECORO_DEMO_SECONDS="$secs" KUBECORO_RUN_BIN="$KUBECORO_BIN" \
    bash "$E2E_ROOT/test/run-operator.sh" >"$log" 2>&1 &
  run_pid=$!
}
log=$E2E_LOGS/run-operator.log
run "$log" 120
expect_eventually "runoperator: during the run the operator reconciles the samples it created (Secret mysql1-credentials)" 60 \
  quiet kubectl get secret mysql1-credentials -n "$ns"
kill -TERM "$run_pid"
wait "$run_pid" && rc=0 || rc=$?
check "runoperator: SIGTERM -> the script cleans up and exits 130 (got $rc)" [ "$rc" == 130 ]
check "runoperator: it created the samples whose names were free, MySQL's too" grep -q '^database.kubecoro.dev/mysql1 created' "$log"
check "runoperator: it left out the sample whose Database exists" grep -q '^== left out: manifests/samples/database-mariadb.yaml' "$log"
check "runoperator: it left out the sample whose name an earlier Database's data holds" \
  grep -q '^== left out: manifests/samples/database-postgresql.yaml (taken: secret/pg1-superuser' "$log"
left=$(kubectl get databases,helloworlds -n "$ns" -o name 2>/dev/null | tr '\n' ' ')
check "runoperator: the samples it created are gone, the Database that was there stays (left: $left)" \
  [ "$left" == "database.kubecoro.dev/maria1 " ]
check "runoperator: the Database that was there keeps its spec" \
  jsonpath_is "11.4 Retain 2Gi" get db/maria1 -n "$ns" -o 'jsonpath={.spec.version} {.spec.deletionPolicy} {.spec.storage}'
check "runoperator: the data that was there stays" bash -c \
  '[[ $(kubectl get secret pg1-superuser -n "$1" -o "jsonpath={.data.password}" | base64 -d) == kept-from-before ]]' _ "$ns"
claims=$(kubectl get pvc,secret -n "$ns" -l app.kubernetes.io/managed-by=kubecoro -o name | grep -v 'maria1' | tr '\n' ' ')
check "runoperator: no claim or Secret of a removed sample is left (left: ${claims:-none})" [ -z "$claims" ]
check "runoperator: the CRDs that were there stay" quiet kubectl get crd databases.kubecoro.dev helloworlds.kubecoro.dev
check "runoperator: the namespace kubecoro-system is there after the run only if it was before ($had_ns)" \
  [ "$(quiet kubectl get namespace kubecoro-system && echo 1 || echo 0)" == "$had_ns" ]
if [[ -n $subjects_before ]]; then
  check "runoperator: an installed ClusterRoleBinding keeps its subjects" [ "$(subjects)" == "$subjects_before" ]
fi
# ([-]: the pattern does not match this check's own command line.)
check "runoperator: the operator it started is gone" bash -c '! pgrep -f "[-]-leader-election-namespace=kubecoro-system" >/dev/null'
expect_eventually "runoperator: the HelloWorld's ConfigMap went with it" 60 bash -c '! kubectl get configmap hello -n "$1" >/dev/null 2>&1' _ "$ns"

run "$E2E_LOGS/run-operator-keep.log" 15 KUBECORO_KEEP=1
wait "$run_pid" && rc=0 || rc=$?
check "runoperator: KUBECORO_KEEP=1 -> stops by itself with exit 0 (got $rc)" [ "$rc" == 0 ]
check "runoperator: KUBECORO_KEEP=1 keeps the samples" quiet kubectl get db/mysql1 helloworld/hello -n "$ns"
# Cleanup: what KEEP kept goes with an operator of this test's own.
start_operator cleanup --controllers=database,helloworld --namespace="$ns" || fail "runoperator: cleanup operator ready"
kubectl patch db mysql1 -n "$ns" --type=merge -p '{"spec":{"deletionPolicy":"Delete"}}' >/dev/null
kubectl delete db/mysql1 db/maria1 helloworld/hello -n "$ns" --timeout=120s >/dev/null || fail "runoperator: cleanup"
stop_operator cleanup
exit "$E2E_FAILED"
