#!/usr/bin/env bash
# e2e: node
# The operator in the cluster, as users install it: the release image archive (built from the
# release binary by test/container/build-image.sh, tagged as the manifests' pinned image) imported
# into the node's containerd, manifests/ as `kubecoro manifests` renders them (the default, pinned
# image), the Deployment Ready through its probes. The API server calls
# the webhook through the Service kubecoro-webhook (kube-proxy): a bad Database is refused at
# apply, a good one admitted and served by a real PostgreSQL. This control plane's API server
# listens on 127.0.0.1 only, so the pod uses the host's network (hostNetwork, binding the node's
# bridge address, never 0.0.0.0) and reaches the API server at 127.0.0.1; everything else is the
# Deployment of manifests/.
source "$(dirname "$0")/lib.sh"
require_node webhook-node
install_crds || fail "webhook-node: CRDs installed"
opns=kubecoro-system
image_binary=${KUBECORO_IMAGE_BINARY:-$E2E_ROOT/build-ci/kubecoro}
if [[ ! -x $image_binary ]]; then
  fail "webhook-node: no release binary at $image_binary for the image (build build-ci first)"
  exit 1
fi
remove_operator() { # the configuration first: nothing may meet a webhook that is going away
  kubectl delete validatingwebhookconfiguration kubecoro --ignore-not-found >/dev/null 2>&1
  kubectl delete deployment -n "$opns" kubecoro --ignore-not-found --wait=true --timeout=60s >/dev/null 2>&1
}
trap 'remove_operator; e2e_cleanup' EXIT

out=$(KUBECORO_IMAGE_BINARY=$image_binary bash "$E2E_ROOT/test/container/build-image.sh" 2>"$E2E_LOGS/build-image.log") ||
  { fail "webhook-node: build-image.sh (log: $E2E_LOGS/build-image.log)"; exit 1; }
eval "$(grep '^KUBECORO_IMAGE_ARCHIVE=' <<<"$out")"
check "webhook-node: the release archive ($(basename "$KUBECORO_IMAGE_ARCHIVE")) is imported into the node's containerd" \
  bash -c 'ctr --address "$1/node/containerd.sock" --namespace k8s.io images import "$2" >/dev/null' _ \
  "$KUBECORO_CONTROLPLANE_DIR" "$KUBECORO_IMAGE_ARCHIVE"

"$KUBECORO_BIN" manifests | kubectl apply -f - >/dev/null || fail "webhook-node: kubecoro manifests | kubectl apply"
pinned=$(kubectl get deployment -n "$opns" kubecoro -o 'jsonpath={.spec.template.spec.containers[0].image}')
check "webhook-node: the Deployment runs the pinned release image ($pinned), no registry involved" \
  test "$pinned" = "kubecoro:$("$KUBECORO_BIN" version | awk '{ print $2 }')"
api_port=$(kubectl config view --minify -o 'jsonpath={.clusters[0].cluster.server}'); api_port=${api_port##*:}
patch=$(
  cat <<EOF2
{"spec": {"template": {"spec": {
  "hostNetwork": true, "dnsPolicy": "ClusterFirstWithHostNet",
  "containers": [{"name": "manager",
    "args": ["--leader-elect", "--health-probe-bind-address=\$(POD_IP):8081", "--metrics-bind-address=0",
             "--webhook-bind-address=\$(POD_IP):9443"],
    "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "KUBERNETES_SERVICE_HOST", "value": "127.0.0.1"},
            {"name": "KUBERNETES_SERVICE_PORT", "value": "$api_port"}]}]}}}}
EOF2
)
kubectl patch deployment -n "$opns" kubecoro --type strategic -p "$patch" >/dev/null ||
  fail "webhook-node: Deployment patched for the host network"
deployment_ready() {
  [[ $(kubectl get deployment -n "$opns" kubecoro -o 'jsonpath={.status.readyReplicas}/{.status.updatedReplicas}') == 1/1 ]]
}
if wait_until 120 deployment_ready; then
  pass "webhook-node: the operator's Deployment is Ready through its probes (/readyz, /healthz)"
else
  fail "webhook-node: the operator's Deployment is not Ready"
  node_diagnose "$opns" "$(kubectl get pods -n "$opns" -l app.kubernetes.io/name=kubecoro -o name | head -1 | cut -d/ -f2)"
fi
expect_eventually "webhook-node: in the cluster it issues its certificate and sets the caBundle" 60 webhook_ready
check "webhook-node: the webhook Service has the operator's pod as its endpoint" \
  test -n "$(kubectl get endpoints -n "$opns" kubecoro-webhook -o 'jsonpath={.subsets[0].addresses[0].ip}')"
# The API server calls the webhook through the Service's cluster IP, which works once kube-proxy has
# turned the endpoint into a rule (until then the IP refuses connections).
svc_ip=$(kubectl get service -n "$opns" kubecoro-webhook -o 'jsonpath={.spec.clusterIP}')
routed() { timeout 2 bash -c "exec 3<>/dev/tcp/$svc_ip/443"; }
expect_eventually "webhook-node: kube-proxy routes the Service's IP ($svc_ip:443) to the operator" 60 routed

ns=$(new_namespace whnode)
out=$(kubectl apply -n "$ns" -f - 2>&1 <<'EOF2'
apiVersion: kubecoro.dev/v1alpha1
kind: Database
metadata: {name: pg}
spec: {engine: mysql, version: "8.4", storage: 1Gi, replicas: 2}
EOF2
)
check "webhook-node: through the Service, a bad Database is refused at apply (${out:0:140})" \
  grep -q 'admission webhook "databases.kubecoro.dev" denied the request: spec.replicas' <<<"$out"
good() {
  kubectl apply -n "$ns" -f - >/dev/null <<'EOF2'
apiVersion: kubecoro.dev/v1alpha1
kind: Database
metadata: {name: pg}
spec: {engine: postgresql, version: "15", storage: 1Gi, backup: {enabled: false}}
EOF2
}
check "webhook-node: through the Service, a good Database is admitted" good
ready() { [[ $(kubectl get database -n "$ns" pg -o 'jsonpath={.status.phase}') == Ready ]]; }
expect_eventually "webhook-node: the operator in the cluster makes it Ready (a real PostgreSQL)" 240 ready
check "webhook-node: no restart of the operator's pod" \
  test "$(kubectl get pods -n "$opns" -l app.kubernetes.io/name=kubecoro -o 'jsonpath={.items[0].status.containerStatuses[0].restartCount}')" = 0
kubectl logs -n "$opns" deployment/kubecoro >"$E2E_LOGS/webhook-node-operator.log" 2>&1
remove_operator
kubectl delete namespace "$ns" --wait=false >/dev/null
exit $E2E_FAILED
