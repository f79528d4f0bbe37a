#!/usr/bin/env bash
# Least privilege, the other way round: the operator runs with the ClusterRole of manifests/ minus
# one verb it needs — `list` on statefulsets.apps, without which the Database controller's cache
# cannot fill. It must say so (a warning naming the resource, with the API server's Forbidden
# message), report not ready on /readyz, keep running without spinning (its retries are bounded
# by the watcher's backoff), keep the unaffected HelloWorld controller working, and recover once
# the verb is granted again.
source "$(dirname "$0")/lib.sh"
install_crds
install_manifests || fail "forbidden: kubectl apply -k manifests/"
sa_ns=kubecoro-system sa=kubecoro-forbidden role=kubecoro-forbidden-test

# grant [MINUS-VERB]: ClusterRole $role = manifests' kubecoro-manager rules, less MINUS-VERB on
# statefulsets.apps, bound to $sa.
grant() {
  kubectl get clusterrole kubecoro-manager -o json | python3 -c '
import json, sys
role, minus = sys.argv[1], sys.argv[2]
r = json.load(sys.stdin)
for rule in r["rules"]:
    if rule.get("apiGroups") == ["apps"] and "statefulsets" in rule.get("resources", []):
        rule["verbs"] = [v for v in rule["verbs"] if v != minus]
print(json.dumps({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                  "metadata": {"name": role}, "rules": r["rules"]}))' "$role" "${1:-}" | kubectl apply -f - >/dev/null
}
grant list || fail "forbidden: ClusterRole without list on statefulsets"
kubectl create clusterrolebinding "$role" --clusterrole="$role" --serviceaccount="$sa_ns:$sa" \
  --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubeconfig=$E2E_LOGS/forbidden-sa.kubeconfig
bash "$E2E_ROOT/test/controlplane/sa-kubeconfig.sh" "$sa_ns" "$sa" "$kubeconfig" 2>/dev/null
kubectl get secret -n "$sa_ns" "$sa-kubecoro-token" -o jsonpath='{.data.token}' | base64 -d >>"$E2E_LOGS/secrets.txt"
echo >>"$E2E_LOGS/secrets.txt"
check "forbidden: the ServiceAccount may not list statefulsets" \
  test "$(kubectl auth can-i --as="system:serviceaccount:$sa_ns:$sa" list statefulsets.apps -A)" = no

ns=$(new_namespace forbidden)
start_operator_nowait forbidden --kubeconfig="$kubeconfig" --namespace="$ns"
log=$E2E_LOGS/forbidden.log
readyz_is() { [[ $(probe_code "$forbidden_HEALTH" /readyz) == "$1" ]]; }
forbidden_logged() { grep '"msg":"watch failed"' "$log" | grep '"resource":"statefulsets"' | grep -qi 'forbidden'; }
expect_eventually "forbidden: a warning names statefulsets and the Forbidden answer" 30 forbidden_logged
grep '"msg":"watch failed"' "$log" | grep -m1 '"resource":"statefulsets"' | sed 's/^/INFO forbidden: /'
check "forbidden: /readyz is not ready (503): a cache cannot sync" readyz_is 503
check "forbidden: /healthz stays 200" test "$(probe_code "$forbidden_HEALTH" /healthz)" = 200

# Unaffected: the HelloWorld controller's caches synced, it works.
kubectl apply -n "$ns" -f "$E2E_ROOT/manifests/samples/helloworld.yaml" >/dev/null
expect_eventually "forbidden: the HelloWorld controller still converges" 60 hw_converged "$ns" 1

# No spin: over a 10 s window, few requests (the watcher backs off 0.8 s doubling to 30 s).
r0=$(metric rest_client_requests_total "$forbidden_METRICS") f0=$(metric rest_client_requests_total "$forbidden_METRICS" 'code="403"')
w0=$(log_count forbidden "watch failed") t0=$(now_s)
sleep 10 # the measurement window
r1=$(metric rest_client_requests_total "$forbidden_METRICS") f1=$(metric rest_client_requests_total "$forbidden_METRICS" 'code="403"')
w1=$(log_count forbidden "watch failed")
echo "INFO forbidden: in $(since_s "$t0") s: $((r1 - r0)) requests, $((f1 - f0)) answered 403, $((w1 - w0)) warnings"
check "forbidden: no spin: at most 8 Forbidden answers in the window (got $((f1 - f0)))" test $((f1 - f0)) -le 8
check "forbidden: no spin: at most 8 warnings in the window (got $((w1 - w0)))" test $((w1 - w0)) -le 8
check "forbidden: no spin: at most 30 requests in the window (got $((r1 - r0)))" test $((r1 - r0)) -le 30
check "forbidden: the operator is still running" operator_alive forbidden
check "forbidden: /readyz still 503 after the window" readyz_is 503

# Granted again: it recovers without a restart.
grant "" || fail "forbidden: ClusterRole restored"
kubectl apply -n "$ns" -f "$E2E_ROOT/manifests/samples/database-postgresql.yaml" >/dev/null
expect_eventually "forbidden: ready once list is granted again" 90 readyz_is 200
expect_eventually "forbidden: then the Database reconciles" 60 jsonpath_is "True" \
  get database/pg1 -n "$ns" -o 'jsonpath={.status.conditions[?(@.type=="ReconcileSucceeded")].status}'
stop_operator forbidden TERM; rc=$?
check "forbidden: SIGTERM exits 0 (got $rc)" test "$rc" -eq 0
kubectl delete namespace "$ns" --wait=false >/dev/null
kubectl delete clusterrolebinding "$role" >/dev/null
kubectl delete clusterrole "$role" >/dev/null
exit $E2E_FAILED
