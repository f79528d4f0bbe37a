#!/usr/bin/env bash
# e2e: node
# The local node itself: registered and Ready, cluster DNS for Services and StatefulSet pods,
# kubectl logs/exec, nothing forwarded off the bridge, a missing image and a dying kubelet or
# containerd named by the diagnosis, and both components coming back.
source "$(dirname "$0")/lib.sh"
require_node node
ns=$(new_namespace node)
node=kubecoro-node
node_ready() {
  [[ $(kubectl get node "$node" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}') == True ]]
}
node_not_ready() {
  [[ $(kubectl get node "$node" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}') != True ]]
}

check "node: $node Ready, kubelet v1.20.2 on containerd" eval '
  node_ready && [[ $(kubectl get node "$node" -o "jsonpath={.status.nodeInfo.kubeletVersion} {.status.nodeInfo.containerRuntimeVersion}") == "v1.20.2 containerd://"* ]]'
check "node: the default StorageClass provisions hostPath volumes" eval \
  '[[ $(kubectl get storageclass -o "jsonpath={.items[?(@.metadata.annotations.storageclass\.kubernetes\.io/is-default-class==\"true\")].provisioner}") == kubernetes.io/host-path ]]'
check "node: forwarding is allowed only from the bridge to the bridge (mangle FORWARD ends in DROP)" eval '
  rules=$(iptables -t mangle -S FORWARD | grep -F kubecoro-node) &&
  [[ $(sed -n 1p <<<"$rules") == *"-i kubecoro0 -o kubecoro0"*"-j ACCEPT" && $(sed -n 2p <<<"$rules") == *"-j DROP" ]]'
check "node: the Service range is routed to the bridge" eval '[[ $(ip route show 10.0.0.0/16) == *"dev kubecoro0"* ]]'

# ---- DNS, Services, logs and exec --------------------------------------------------------------
kubectl apply -n "$ns" -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: web-headless}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 5432}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web-headless
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      automountServiceAccountToken: false
      securityContext: {runAsUser: 999, runAsGroup: 999}
      containers:
      - name: web
        image: postgres:15
        env: [{name: POSTGRES_HOST_AUTH_METHOD, value: trust}, {name: PGDATA, value: /tmp/pgdata}]
        readinessProbe: {tcpSocket: {port: 5432}, periodSeconds: 1}
YAML
web_ready() { [[ $(kubectl get pod -n "$ns" web-0 -o 'jsonpath={.status.containerStatuses[0].ready}' 2>/dev/null) == true ]]; }
if ! wait_until 120 web_ready; then node_diagnose "$ns" web-0; fi
out=$(run_pod "$ns" dns-client postgres:15 'set -e
getent hosts kubernetes.default.svc.cluster.local
getent hosts web
getent hosts web-0.web-headless
pg_isready -h web -p 80')
check "node: a pod resolves Service and StatefulSet pod names and reaches a Service ($(tr '\n' ' ' <<<"$out"))" \
  eval '[[ $out == *"10.0.0.1 "*kubernetes.default.svc.cluster.local* && $out == *web.$ns.svc.cluster.local* &&
          $out == *web-0.web-headless.$ns.svc.cluster.local* && $out == *"web:80 - accepting connections"* ]]'
check "node: kubectl logs reaches the kubelet" eval '[[ $(kubectl logs -n "$ns" web-0) == *"ready to accept connections"* ]]'
check "node: kubectl exec reaches the container" eval '[[ $(kubectl exec -n "$ns" web-0 -- id -u) == 999 ]]'

# ---- faults: a missing image, the kubelet and containerd dying ------------------------------------
kubectl run -n "$ns" missing --image=docker.io/library/postgres:0-missing --restart=Never >/dev/null
missing_reported() {
  [[ $(kubectl get pod -n "$ns" missing -o 'jsonpath={.status.containerStatuses[0].state.waiting.reason}') == @(ErrImagePull|ImagePullBackOff) ]]
}
expect_eventually "node: a missing image is reported as such (ErrImagePull/ImagePullBackOff)" 60 missing_reported
diag=$(node_diagnose "$ns" missing)
echo "$diag"
check "node: the diagnosis names the missing image and where the logs are" \
  eval '[[ $diag == *"postgres:0-missing"* && $diag == *ImagePull* && $diag == *kubelet.log* ]]'
check "node: the pull went to the closed loopback port, not off the machine" \
  eval '[[ $diag == *127.0.0.1:1* ]]'

cp_ stop-kubelet >/dev/null 2>&1
diag=$(node_diagnose "$ns" web-0)
check "node: with the kubelet stopped, the diagnosis says so" eval '[[ $diag == *"node component kubelet: stopped"* ]]'
expect_eventually "node: with the kubelet stopped, the node goes NotReady" 90 node_not_ready
cp_ start-kubelet >/dev/null 2>&1
expect_eventually "node: the kubelet restarted: node Ready again" 90 node_ready
expect_eventually "node: the kubelet restarted: the pod Ready again" 90 web_ready

cp_ stop-containerd >/dev/null 2>&1
diag=$(node_diagnose "$ns" web-0)
check "node: with containerd stopped, the diagnosis says so" eval '[[ $diag == *"node component containerd: stopped"* ]]'
cp_ start-containerd >/dev/null 2>&1
out=$(run_pod "$ns" after-containerd postgres:15 'echo started')
check "node: containerd restarted: new pods run ($out)" eval '[[ $out == started ]]'
check "node: containerd restarted: the running pod kept running" web_ready

kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1
