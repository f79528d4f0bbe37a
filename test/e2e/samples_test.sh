#!/usr/bin/env bash
# What a newcomer does: apply manifests/samples/ to a cluster running kubecoro and watch
# `kubectl get db` go to Ready once the pods are ready; `kubectl explain` documents the spec; the
# printer columns (Primary; Endpoint with -o wide) and the short name work; a once-ready database whose pod
# stops being ready is Degraded.
source "$(dirname "$0")/lib.sh"
install_crds || fail "samples: CRDs installed"
ns=$(new_namespace samples)
# Open watches of a kind across all namespaces, as the API server counts them (1.20 calls the
# gauge apiserver_longrunning_gauge, later releases apiserver_longrunning_requests).
cluster_watches() {
  kubectl get --raw /metrics 2>/dev/null | awk -v r="resource=\"$1\"" \
    '/^apiserver_longrunning_(gauge|requests)\{/ && index($0, r) && /scope="cluster"/ && /verb="WATCH"/ { s += $NF } END { printf "%d\n", s }'
}
cm_watches0=$(cluster_watches configmaps)
start_operator samples || fail "samples: operator became ready"
# Both controllers own ConfigMaps: the process's shared cache watches them once.
one_more_cm_watch() { (($(cluster_watches configmaps) == cm_watches0 + 1)); }
expect_eventually "samples: HelloWorld and Database share one ConfigMap watch (API server's count: $cm_watches0 before the operator)" \
  20 one_more_cm_watch
echo "INFO samples: ConfigMap watches open at the API server: $cm_watches0 before the operator, $(cluster_watches configmaps) with it"

explained=$(kubectl explain database.spec.storage 2>/dev/null | tr -s ' \n' ' ')
check "samples: kubectl explain database.spec.storage describes the field ($explained)" \
  bash -c '[[ $1 == *"DESCRIPTION:"* && $(wc -w <<<"${1#*DESCRIPTION:}") -ge 5 ]]' _ "$explained"

kubectl apply -n "$ns" -f "$E2E_ROOT/manifests/samples/" >/dev/null || fail "samples: kubectl apply -f manifests/samples/"
expect_eventually "samples: HelloWorld hello -> ConfigMap hello" 20 \
  jsonpath_is "Hello from kubecoro!" get configmap/hello -n "$ns" -o 'jsonpath={.data.message}'
dbs_ready() {
  make_pods_ready "$ns" app.kubernetes.io/component=database
  [[ $(kubectl get db -n "$ns" --no-headers 2>/dev/null | awk '{ split($4, r, "/") } r[1] > 0 && r[1] == r[2] && $5 == "Ready"' | wc -l) -eq 3 ]]
}
expect_eventually "samples: once their pods are ready, kubectl get db shows pg1, mysql1 and maria1 all replicas READY (1/1 each), PHASE Ready" 60 dbs_ready
kubectl get db -n "$ns" -o wide | sed 's/^/INFO samples: /'
header=$(kubectl get db -n "$ns" -o wide | head -1 | tr -s ' ')
check "samples: columns NAME ENGINE VERSION READY PHASE PRIMARY AGE ENDPOINT ($header)" \
  test "$header" == "NAME ENGINE VERSION READY PHASE PRIMARY AGE ENDPOINT"
check "samples: -o wide shows pg1's endpoint" jsonpath_is "pg1.$ns.svc:5432" \
  get db pg1 -n "$ns" -o 'jsonpath={.status.endpoint}'
check "samples: the wide row of pg1 (engine, version, endpoint)" bash -c \
  '[[ $(kubectl get db pg1 -n "$1" -o wide --no-headers | tr -s " ") == "pg1 postgresql 15 1/1 Ready "*" pg1.$1.svc:5432" ]]' _ "$ns"

# A once-ready database losing its pod: Degraded (not Provisioning), then Ready again.
kubectl patch -n "$ns" pod/pg1-0 --subresource=status --type=merge -p "{\"status\":{\"conditions\":[
  {\"type\":\"Ready\",\"status\":\"False\",\"lastTransitionTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}]}}" >/dev/null
expect_eventually "samples: pg1's pod not ready -> phase Degraded, Ready=False NoReplicasReady" 30 jsonpath_is "Degraded/False/NoReplicasReady" \
  get db pg1 -n "$ns" -o 'jsonpath={.status.phase}/{.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason}'
make_pods_ready "$ns" app.kubernetes.io/instance=pg1
expect_eventually "samples: pg1's pod ready again -> phase Ready" 30 jsonpath_is "Ready" get db pg1 -n "$ns" -o 'jsonpath={.status.phase}'

kubectl delete namespace "$ns" --wait=false >/dev/null
stop_operator samples TERM; rc=$?
check "samples: SIGTERM exits 0 (got $rc)" test "$rc" -eq 0
exit $E2E_FAILED
