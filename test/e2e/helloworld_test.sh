#!/usr/bin/env bash
# HelloWorld: spec.message becomes a ConfigMap; updates, manual edits and deletions converge;
# the ConfigMap goes with its owner; a resync where nothing drifted sends no write.
source "$(dirname "$0")/lib.sh"
install_crds
ns=$(new_namespace hello)
# Its own namespace only: the resync check below counts every PATCH the process sends, and
# objects other files left in namespaces still being deleted would add theirs.
start_operator hw --controllers=helloworld --resync-period=2s --namespace="$ns" || fail "operator became ready"

cm_message() { kubectl get configmap "$1" -n "$ns" -o jsonpath='{.data.message}' 2>/dev/null; }
message_is() { [[ "$(cm_message "$1")" == "$2" ]]; }

kubectl apply -n "$ns" -f - >/dev/null <<YAML
apiVersion: kubecoro.dev/v1alpha1
kind: HelloWorld
metadata: {name: greeting}
spec: {message: "hello, world"}
YAML
expect_eventually "helloworld: ConfigMap holds the message" 20 message_is greeting "hello, world"
expect_eventually "helloworld: Ready=True with observedGeneration 1" 20 jsonpath_is "True/1" \
  get helloworld/greeting -n "$ns" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}/{.status.observedGeneration}'
check "helloworld: ConfigMap has a controller reference to the HelloWorld" jsonpath_is "HelloWorld/true/true" \
  get configmap/greeting -n "$ns" -o 'jsonpath={.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].controller}/{.metadata.ownerReferences[0].blockOwnerDeletion}'

kubectl patch helloworld greeting -n "$ns" --type=merge -p '{"spec":{"message":"changed"}}' >/dev/null
expect_eventually "helloworld: a spec change updates the ConfigMap" 20 message_is greeting "changed"

kubectl patch configmap greeting -n "$ns" --type=merge -p '{"data":{"message":"edited by hand"}}' >/dev/null
expect_eventually "helloworld: a manual edit of the ConfigMap is reverted" 20 message_is greeting "changed"

kubectl delete configmap greeting -n "$ns" >/dev/null
expect_eventually "helloworld: a deleted ConfigMap is restored" 20 message_is greeting "changed"

# Resyncs every 2 s: reconciles go on, writes do not (nothing drifted). The window opens once a
# reconcile has ended with no PATCH since the last sample: the restore above may still be
# finishing (a status write that met a stale cache is retried with backoff).
patches() { metric rest_client_requests_total "$hw_METRICS" 'method="PATCH"'; }
hw_reconciles() { metric controller_runtime_reconcile_total "$hw_METRICS" 'controller="helloworld"'; }
quiet_round() {
  local p0 r0; p0=$(patches) r0=$(hw_reconciles)
  wait_until 10 eval '(($(hw_reconciles) > r0))' && (($(patches) == p0))
}
check "helloworld: a reconcile round with no write before the resync window" wait_until 30 quiet_round
patches_before=$(patches)
reconciles_before=$(hw_reconciles)
more_reconciles() { (($(metric controller_runtime_reconcile_total "$hw_METRICS" 'controller="helloworld"') >= reconciles_before + 2)); }
expect_eventually "helloworld: resync timers reconcile again" 20 more_reconciles
patches_after=$(patches)
check "helloworld: resyncs with nothing drifted send no write ($patches_before -> $patches_after PATCH)" \
  test "$patches_before" -eq "$patches_after"

kubectl apply -n "$ns" -f - >/dev/null <<YAML
apiVersion: kubecoro.dev/v1alpha1
kind: HelloWorld
metadata: {name: broken}
spec: {message: 42}
YAML
# The schema refuses a non-string message, so nothing reaches the controller:
check "helloworld: the schema refuses a non-string message" \
  test -z "$(kubectl get helloworld broken -n "$ns" -o name 2>/dev/null)"

kubectl delete helloworld greeting -n "$ns" >/dev/null
gone() { ! kubectl get configmap greeting -n "$ns" >/dev/null 2>&1; }
# kube-controller-manager's garbage collector learns new CRDs on its periodic discovery (30 s).
expect_eventually "helloworld: the ConfigMap goes with its owner (garbage collection)" 90 gone

stop_operator hw TERM; rc=$?
check "helloworld: SIGTERM exits 0 (got $rc)" test "$rc" -eq 0
kubectl delete namespace "$ns" --wait=false >/dev/null
exit $E2E_FAILED
