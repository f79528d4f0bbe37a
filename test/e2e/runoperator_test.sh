#!/usr/bin/env bash
# test/run-operator.sh against an existing cluster (this one), with the operator binary under
# test: it applies every sample into the kubeconfig's namespace and, when it stops, removes what it
# created: the samples (a Database's data too) but not a Database of the same name that was there
# before it, nor the CRDs and namespace that existed before it; with KUBECORO_KEEP=1, nothing.
source "$(dirname "$0")/lib.sh"
install_crds || fail "runoperator: CRDs installed"
ns=$(new_namespace runop)
kc=$(mktemp); cp "$KUBECONFIG" "$kc"
trap 'rm -f "$kc"; e2e_cleanup' EXIT
KUBECONFIG=$kc kubectl config set-context --current --namespace="$ns" >/dev/null
# A Database named like the MariaDB sample that the run must leave alone.
kubectl apply -n "$ns" -f - >/dev/null <<'YAML'
apiVersion: kubecoro.dev/v1alpha1
kind: Database
metadata: {name: maria1}
spec: {engine: mariadb, version: "11.4", storage: 2Gi, deletionPolicy: Retain}
YAML

quiet() { "$@" >/dev/null 2>&1; }
had_ns=0; quiet kubectl get namespace kubecoro-system && had_ns=1
had_role=0; quiet kubectl get clusterrole kubecoro-manager && had_role=1

run() { # run LOG [ENV...]: the script for 20 s against this cluster
  local log=$1; shift
  env "$@" KUBECONFIG="$kc" KUBECORO_USE_EXISTING_CLUSTER=1 KUBECORO_DEMO_SECONDS=20 KUBECORO_RUN_BIN="$KUBECORO_BIN" \
    bash "$E2E_ROOT/test/run-operator.sh" >"$log" 2>&1
}
log=$E2E_LOGS/run-operator.log
started=$SECONDS
run "$log" && rc=0 || rc=$?
check "runoperator: the script ran and stopped by itself (exit $rc, $((SECONDS - started)) s)" [ "$rc" == 0 ]
check "runoperator: it created the samples, MySQL's too" grep -q '^database.kubecoro.dev/mysql1 created' "$log"
check "runoperator: it left out the sample whose name was taken" grep -q '^== left out: manifests/samples/database-mariadb.yaml' "$log"
check "runoperator: it said what it removes" grep -q '== removing the samples this run created' "$log"
left=$(kubectl get databases,helloworlds -n "$ns" -o name 2>/dev/null | tr '\n' ' ')
check "runoperator: the samples it created are gone, the Database that was there stays (left: $left)" \
  [ "$left" == "database.kubecoro.dev/maria1 " ]
check "runoperator: the Database that was there keeps its spec" \
  jsonpath_is "11.4 Retain 2Gi" get db/maria1 -n "$ns" -o 'jsonpath={.spec.version} {.spec.deletionPolicy} {.spec.storage}'
claims=$(kubectl get pvc,secret -n "$ns" -l app.kubernetes.io/managed-by=kubecoro -o name |
  grep -v 'maria1' | tr '\n' ' ')
check "runoperator: no claim or Secret of a removed sample is left (left: ${claims:-none})" [ -z "$claims" ]
check "runoperator: the CRDs that were there stay" quiet kubectl get crd databases.kubecoro.dev helloworlds.kubecoro.dev
check "runoperator: the namespace kubecoro-system is there after the run only if it was before ($had_ns)" \
  [ "$(quiet kubectl get namespace kubecoro-system && echo 1 || echo 0)" == "$had_ns" ]
check "runoperator: the ClusterRole kubecoro-manager is there after the run only if it was before ($had_role)" \
  [ "$(quiet kubectl get clusterrole kubecoro-manager && echo 1 || echo 0)" == "$had_role" ]

run "$E2E_LOGS/run-operator-keep.log" KUBECORO_KEEP=1 && rc=0 || rc=$?
check "runoperator: KUBECORO_KEEP=1 -> exit 0 (got $rc)" [ "$rc" == 0 ]
check "runoperator: KUBECORO_KEEP=1 keeps the samples" quiet kubectl get db/pg1 db/mysql1 helloworld/hello -n "$ns"
exit "$E2E_FAILED"
