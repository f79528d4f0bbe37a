#!/usr/bin/env bash
# Least privilege: manifests/ installs and grants exactly what rbac.yaml lists (check-manifests.sh),
# and the operator running with its ServiceAccount's token — not as admin — converges a HelloWorld
# and a Database.
source "$(dirname "$0")/lib.sh"
bash "$E2E_ROOT/test/container/check-manifests.sh" "$KUBECORO_BIN" | grep -E '^(PASS|FAIL)'
install_crds
sa_kubeconfig=$E2E_LOGS/operator-sa.kubeconfig
bash "$E2E_ROOT/test/controlplane/sa-kubeconfig.sh" kubecoro-system kubecoro "$sa_kubeconfig" >/dev/null
kubectl get secret -n kubecoro-system kubecoro-kubecoro-token -o jsonpath='{.data.token}' 2>/dev/null |
  base64 -d >>"$E2E_LOGS/secrets.txt" && echo >>"$E2E_LOGS/secrets.txt"
ns=$(new_namespace rbac)
# The webhook of manifests/, called on loopback: its Secret and caBundle with the ServiceAccount's
# permissions, and the samples below admitted through it.
webhook_port=$(free_port)
install_manifests "$webhook_port" || fail "rbac: kubectl apply -k manifests/"
POD_NAMESPACE=kubecoro-system start_operator sa --kubeconfig="$sa_kubeconfig" --namespace="$ns" --leader-elect \
  --leader-election-namespace=kubecoro-system --webhook-bind-address="127.0.0.1:$webhook_port" ||
  fail "rbac: operator with the ServiceAccount token became ready"
expect_eventually "rbac: the operator sets the webhook's caBundle with the ServiceAccount's permissions" 30 webhook_ready
apply_samples() { kubectl apply -n "$ns" -f "$E2E_ROOT/manifests/samples/helloworld.yaml" -f "$E2E_ROOT/manifests/samples/database-postgresql.yaml" >/dev/null; }
check "rbac: the samples are admitted by the webhook" apply_samples
expect_eventually "rbac: HelloWorld converges with the ServiceAccount's permissions" 60 jsonpath_is "True" \
  get helloworld/hello -n "$ns" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'
expect_eventually "rbac: Database converges with the ServiceAccount's permissions" 60 jsonpath_is "True" \
  get database/pg1 -n "$ns" -o 'jsonpath={.status.conditions[?(@.type=="ReconcileSucceeded")].status}'
check "rbac: no Forbidden answer in the operator log" test -z "$(grep -l '"403 Forbidden\|forbidden' "$E2E_LOGS/sa.log" 2>/dev/null)"
stop_operator sa TERM; rc=$?
check "rbac: SIGTERM exits 0 (got $rc)" test "$rc" -eq 0
kubectl delete namespace "$ns" --wait=false >/dev/null
exit $E2E_FAILED
