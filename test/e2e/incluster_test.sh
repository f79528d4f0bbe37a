#!/usr/bin/env bash
# In-cluster: the operator runs with the layout a pod gets — KUBERNETES_SERVICE_HOST/PORT, no
# KUBECONFIG, and the ServiceAccount's token, ca.crt and namespace at
# /var/run/secrets/kubernetes.io/serviceaccount, laid out as the kubelet does it (files behind a
# `..data` symlink that is swapped atomically on update) — with the RBAC of manifests/. The real
# path is never touched: the operator runs in a private mount namespace (unshare -m) where a
# tmpfs covers /run and the test's directory is bind-mounted there. While it runs, the token is
# replaced by a new one and the old one is invalidated (its Secret deleted): it keeps working.
source "$(dirname "$0")/lib.sh"
install_crds
webhook_port=$(free_port)
install_manifests "$webhook_port" || fail "incluster: kubectl apply -k manifests/"
sa_ns=kubecoro-system

# new_token NAME: a long-lived token Secret for the ServiceAccount of manifests/ (1.20: filled by
# kube-controller-manager's token controller); returns once the token is filled in.
new_token() {
  kubectl apply -f - >/dev/null <<EOF || return 1
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata:
  name: $1
  namespace: $sa_ns
  annotations:
    kubernetes.io/service-account.name: kubecoro
EOF
  wait_until 60 token_filled "$1"
}
token_filled() { [[ -n $(kubectl get secret -n "$sa_ns" "$1" -o 'jsonpath={.data.token}') ]]; }
secret_field() { kubectl get secret -n "$sa_ns" "$1" -o "jsonpath={.data.${2//./\\.}}" | base64 -d; }

# publish DIR SECRET VERSION: the kubelet's atomic writer — a new timestamped directory with the
# files, then `..data` renamed over to point at it (one rename(2)), then the old one removed.
publish() {
  local dir=$1 secret=$2 v old f
  v=..$(date -u +%Y_%m_%d_%H_%M_%S).$3
  old=$(readlink "$dir/..data" 2>/dev/null || true)
  mkdir -p "$dir/$v"
  for f in token ca.crt namespace; do secret_field "$secret" "$f" >"$dir/$v/$f" || return 1; done
  chmod 0644 "$dir/$v"/*
  ln -s "$v" "$dir/..data_tmp" && mv -T "$dir/..data_tmp" "$dir/..data" || return 1
  for f in token ca.crt namespace; do [[ -L $dir/$f ]] || ln -s "..data/$f" "$dir/$f"; done
  [[ -z $old ]] || rm -rf "${dir:?}/$old"
}

# token_status TOKEN: the HTTP status the API server answers a request made with TOKEN.
token_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$sa_dir/ca.crt" \
    -H "Authorization: Bearer $1" "https://127.0.0.1:$api_port/apis/kubecoro.dev/v1alpha1/helloworlds"
}

new_token kubecoro-incluster-a || fail "incluster: token Secret a filled"
new_token kubecoro-incluster-b || fail "incluster: token Secret b filled"
for s in kubecoro-incluster-a kubecoro-incluster-b; do secret_field "$s" token >>"$E2E_LOGS/secrets.txt"; echo >>"$E2E_LOGS/secrets.txt"; done
token_a=$(secret_field kubecoro-incluster-a token)
sa_dir=$E2E_LOGS/incluster-serviceaccount
mkdir -p "$sa_dir"
publish "$sa_dir" kubecoro-incluster-a 1 || fail "incluster: service-account files written"

server=$(kubectl config view --minify -o 'jsonpath={.clusters[0].cluster.server}')
api_port=${server##*:}
check "incluster: the API server's certificate is valid for 127.0.0.1 with the token Secret's ca.crt" \
  test "$(token_status "$token_a")" = 200

# The pod: a wrapper that kubecoro runs behind (it execs, so the operator keeps the PID).
pod=$E2E_LOGS/incluster-pod.sh
cat >"$pod" <<EOF
#!/bin/sh
exec env -u KUBECONFIG -u POD_NAMESPACE KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$api_port \\
  unshare -m --propagation private sh -ec '
    run=\$(readlink -f /var/run)
    mount -t tmpfs -o mode=0755 pod-run "\$run"
    mkdir -p "\$run/secrets/kubernetes.io/serviceaccount"
    mount --bind -o ro "$sa_dir" "\$run/secrets/kubernetes.io/serviceaccount"
    exec "\$0" "\$@"' "$KUBECORO_BIN" "\$@"
EOF
chmod +x "$pod"
host_sa_before=$(ls -la /var/run/secrets/kubernetes.io/serviceaccount/ 2>&1)
ns=$(new_namespace incluster)
# No --leader-election-namespace and no POD_NAMESPACE: the Lease goes to the namespace file's.
# The webhook on loopback (in a pod it listens on :9443, behind the Service).
KUBECORO_BIN=$pod start_operator incluster --namespace="$ns" --leader-elect --leader-election-id=kubecoro-incluster \
  --webhook-bind-address="127.0.0.1:$webhook_port" || fail "incluster: operator with the pod layout became ready"
check "incluster: it loaded the in-cluster configuration from the (mounted) standard path" \
  grep -q 'in-cluster service account /var/run/secrets/kubernetes.io/serviceaccount' "$E2E_LOGS/incluster.log"
# holds_lease: the Lease in the namespace file's namespace names this operator's identity.
holds_lease() {
  local id
  id=$(grep -o '"identity":"[^"]*"' "$E2E_LOGS/incluster.log" | head -1 | cut -d'"' -f4)
  [[ -n $id && $(kubectl get lease -n "$sa_ns" kubecoro-incluster -o 'jsonpath={.spec.holderIdentity}') == "$id" ]]
}
expect_eventually "incluster: it holds the Lease in the namespace file's namespace ($sa_ns)" 30 holds_lease
webhook_certified() { kubectl get secret -n "$sa_ns" kubecoro-webhook-cert >/dev/null && webhook_ready; }
expect_eventually "incluster: with the ServiceAccount's permissions it keeps its webhook certificate in $sa_ns and sets the caBundle" 30 webhook_certified
# Applied through the webhook (failurePolicy Fail): these succeed only when it answers.
kubectl apply -n "$ns" -f "$E2E_ROOT/manifests/samples/helloworld.yaml" \
  -f "$E2E_ROOT/manifests/samples/database-postgresql.yaml" >/dev/null
expect_eventually "incluster: HelloWorld converges" 60 hw_converged "$ns" 1
expect_eventually "incluster: the Database's children exist (StatefulSet, Services, Secret)" 60 bash -c \
  "kubectl get -n '$ns' statefulset/pg1 service/pg1 service/pg1-headless secret/pg1-credentials >/dev/null"
expect_eventually "incluster: Database reconciles" 60 jsonpath_is "True" \
  get database/pg1 -n "$ns" -o 'jsonpath={.status.conditions[?(@.type=="ReconcileSucceeded")].status}'

# Rotation: token b replaces a (atomic ..data swap), then a is invalidated.
unauthorized_before=$(metric rest_client_requests_total "$incluster_METRICS" 'code="401"')
publish "$sa_dir" kubecoro-incluster-b 2 || fail "incluster: token b published"
check "incluster: the token file now holds token b" \
  test "$(cat "$sa_dir/token")" = "$(secret_field kubecoro-incluster-b token)"
kubectl delete secret -n "$sa_ns" kubecoro-incluster-a >/dev/null
token_rejected() { [[ $(token_status "$1") == 401 ]]; }
expect_eventually "incluster: the old token is rejected (401) once its Secret is deleted" 30 token_rejected "$token_a"
helloworlds_yaml rotated 1 3 after-rotation | kubectl apply -n "$ns" -f - >/dev/null
expect_eventually "incluster: HelloWorlds created after the rotation converge (4 in all)" 90 hw_converged "$ns" 4
kubectl patch -n "$ns" helloworld/hello --type=merge -p '{"spec":{"message":"changed after rotation"}}' >/dev/null
expect_eventually "incluster: a change after the rotation converges" 60 jsonpath_is "changed after rotation" \
  get configmap/hello -n "$ns" -o 'jsonpath={.data.message}'
echo "INFO incluster: 401 answers the operator got across the rotation:" \
  "$(($(metric rest_client_requests_total "$incluster_METRICS" 'code="401"') - unauthorized_before))"
check "incluster: still alive and ready after the rotation" test "$(probe_code "$incluster_HEALTH" /readyz)" = 200
check "incluster: no Forbidden answer in the operator log" test -z "$(grep -il 'forbidden' "$E2E_LOGS/incluster.log")"
stop_operator incluster TERM; rc=$?
check "incluster: the host's own /var/run/secrets/kubernetes.io/serviceaccount is untouched" \
  test "$(ls -la /var/run/secrets/kubernetes.io/serviceaccount/ 2>&1)" = "$host_sa_before"
check "incluster: SIGTERM exits 0 (got $rc)" test "$rc" -eq 0
kubectl delete namespace "$ns" --wait=false >/dev/null
kubectl delete secret -n "$sa_ns" kubecoro-incluster-b --ignore-not-found >/dev/null
exit $E2E_FAILED
