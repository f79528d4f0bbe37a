#!/usr/bin/env bash
# Runs kubecoro the way a developer does: builds it, starts a local control plane (etcd,
# kube-apiserver and kube-controller-manager v1.20.2 on 127.0.0.1) with a real node (containerd,
# kubelet, kube-proxy, cluster DNS: real PostgreSQL and MariaDB pods) unless a cluster is given,
# installs the CRDs and RBAC, runs the operator with its own ServiceAccount's token (exactly the
# RBAC in manifests/), applies manifests/samples/ and shows them converge, then logs in to the
# PostgreSQL sample with its Secret's password. Ctrl-C stops it all.
#   KUBECORO_USE_EXISTING_CLUSTER=1 KUBECONFIG=...  use that cluster (runs as your kubeconfig user)
#   KUBECORO_NODE=0                                 local control plane without a node (pods are
#                                                   marked ready by hand, no database runs)
#   KUBECORO_DEMO_SECONDS=N                         stop by itself after N seconds, or once every
#                                                   Database is Ready (for tests)
#   KUBECORO_KEEP=1                                 in an existing cluster, keep what this run
#                                                   created (by default removed when it stops)
#   KUBECORO_RUN_BIN=PATH                           run this kubecoro binary instead of building
#                                                   one (for tests)
# Installs only what building and running need (no test tools); kubectl (Debian's) only when
# there is none.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [[ "${1:-}" != "--inside" ]]; then
  bash test/install-deps.sh --run
  # (Debian's is v1.20; the packages clash with another kubectl, so only where there is none.)
  command -v kubectl >/dev/null || bash test/ensure-packages.sh kubernetes-client
  if [[ -z ${KUBECORO_RUN_BIN:-} ]]; then
    [[ -d build-run ]] || meson setup build-run --wrap-mode=nodownload --buildtype=release -Dtests=false >/dev/null
    [[ -x build-run/kubecoro ]] ||
      echo "== building kubecoro (release, about 3 minutes on 2 cores; later runs rebuild only what changed)"
    ninja -C build-run kubecoro
  fi
  if [[ "${KUBECORO_USE_EXISTING_CLUSTER:-}" != 1 ]]; then
    export KUBECORO_NODE=${KUBECORO_NODE:-1}
    if [[ $KUBECORO_NODE == 1 && ! -x ${KUBECORO_CACHE:-/var/cache/kubecoro}/k8s-v1.20.2/bin/kubelet ]]; then
      echo "== first run: building Kubernetes v1.20.2 from Debian's source package (about 9 minutes on 2 cores)"
      echo "   and the PostgreSQL/MariaDB images from Debian packages (about 3 minutes); both are cached"
    fi
    bash test/controlplane/build.sh
  fi
  exec bash test/controlplane/with-controlplane.sh bash "$0" --inside
fi

ns=kubecoro-system
install=(-f manifests/crds/ -f manifests/namespace.yaml -f manifests/serviceaccount.yaml -f manifests/rbac.yaml)
samples=(manifests/samples/database-postgresql.yaml manifests/samples/database-mariadb.yaml manifests/samples/helloworld.yaml)
[[ -n "${KUBECORO_CONTROLPLANE_DIR:-}" ]] || samples+=(manifests/samples/database-mysql.yaml)
existing=0
[[ -n "${KUBECORO_CONTROLPLANE_DIR:-}" ]] || existing=1

# In an existing cluster this run touches nothing that was there: it installs only the objects
# that are missing (another install's RBAC keeps its subjects), leaves out a sample whose name is
# taken (by a Database, or by data an earlier one of that name kept: its claims and Secrets), and
# at the end removes what it created unless KUBECORO_KEEP=1.
operator="" created=() created_samples=()
stop() {
  trap '' INT TERM # one Ctrl-C is enough: the cleanup below must not be cut short
  set +e
  if ((${#created_samples[@]})); then
    if [[ -n $operator ]] && kill -0 "$operator" 2>/dev/null; then
      # While the operator runs, so that its finalizer removes the children; Delete for the
      # volumes and Secrets this run created too (the sample's name was free of them).
      echo "== removing the samples this run created (KUBECORO_KEEP=1 keeps them)"
      for f in "${created_samples[@]}"; do
        if [[ $f == *database-* ]]; then
          kubectl patch -f "$f" --type=merge -p '{"spec":{"deletionPolicy":"Delete"}}' >/dev/null 2>&1
        fi
        kubectl delete -f "$f" --ignore-not-found --timeout=120s >/dev/null || echo "   $f: not deleted within 120 s"
      done
    else
      echo "== kubecoro is not running: the samples stay (their finalizer needs it): ${created_samples[*]}"
      created=() # nor can the CRDs go while their objects wait for it
    fi
  fi
  if [[ -n $operator ]]; then
    kill -TERM "$operator" 2>/dev/null
    wait "$operator" 2>/dev/null
    echo "== kubecoro stopped; its log: $log"
  fi
  if ((${#created[@]})); then
    echo "== removing what this run installed: ${created[*]}"
    # In reverse: the CRDs last, and only while no object of theirs is left.
    for ((i = ${#created[@]} - 1; i >= 0; i--)); do
      o=${created[i]}
      if [[ $o == customresourcedefinition*/* ]] && [[ -n $(kubectl get "${o#*/}" -A -o name 2>/dev/null) ]]; then
        echo "   ${o#*/}: kept, it still has objects"
        continue
      fi
      scope=()
      case $o in serviceaccount/* | role.* | rolebinding.*) scope=(-n "$ns") ;; esac
      kubectl delete "${scope[@]}" "$o" --ignore-not-found --timeout=120s >/dev/null || echo "   $o: not deleted"
    done
  fi
}
trap stop EXIT
trap 'exit 130' INT TERM

if ((existing)); then
  # What of the install set is missing: only that is applied, and later removed.
  before=$(kubectl get "${install[@]}" --ignore-not-found -o name) ||
    { echo "cannot read the cluster's kubecoro objects (see above)"; exit 1; }
  missing=()
  for o in $(kubectl create --dry-run=client "${install[@]}" -o name); do
    grep -qxF "$o" <<<"$before" || missing+=("$o")
  done
  if ((${#missing[@]})); then
    echo "== installing what is missing: ${missing[*]}"
    kubectl create --dry-run=client "${install[@]}" -o json | python3 -c '
import json, sys
text, at, docs = sys.stdin.read(), 0, []
while text[at:].strip():  # kubectl prints one JSON object (or List) per input
    doc, at = json.JSONDecoder().raw_decode(text, at + len(text[at:]) - len(text[at:].lstrip()))
    docs.extend(doc["items"] if doc.get("kind") == "List" else [doc])
wanted = set(sys.argv[1:])
def name(d):
    group = d["apiVersion"].split("/")[0] if "/" in d["apiVersion"] else ""
    return d["kind"].lower() + ("." + group if group else "") + "/" + d["metadata"]["name"]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": [d for d in docs if name(d) in wanted]}))' \
      "${missing[@]}" | kubectl apply -f - >/dev/null
  else
    echo "== kubecoro's CRDs, namespace and RBAC are installed already: left as they are"
  fi
  [[ ${KUBECORO_KEEP:-} == 1 ]] || created=("${missing[@]}")
  kubectl wait --for=condition=Established crd/databases.kubecoro.dev crd/helloworlds.kubecoro.dev --timeout=60s >/dev/null
  fresh=()
  for f in "${samples[@]}"; do
    kind=$(kubectl create --dry-run=client -f "$f" -o 'jsonpath={.kind}')
    name=$(kubectl create --dry-run=client -f "$f" -o 'jsonpath={.metadata.name}')
    if [[ $kind == Database ]]; then
      taken=$(kubectl get "database/$name" "secret/$name-credentials" "secret/$name-superuser" "pvc/$name-backup" \
        --ignore-not-found -o name && kubectl get pvc,secret -l "app.kubernetes.io/instance=$name" -o name)
    else
      taken=$(kubectl get "helloworld/$name" "configmap/$name" --ignore-not-found -o name)
    fi || { echo "cannot tell whether $name is taken (see above)"; exit 1; }
    if [[ -n $taken ]]; then
      echo "== left out: $f (taken: $(sort -u <<<"$taken" | tr '\n' ' '))"
    else fresh+=("$f"); fi
  done
  samples=("${fresh[@]}")
  [[ ${KUBECORO_KEEP:-} == 1 ]] || created_samples=("${samples[@]}")
else
  echo "== installing CRDs, namespace and RBAC"
  kubectl apply "${install[@]}" >/dev/null
  kubectl wait --for=condition=Established crd/databases.kubecoro.dev crd/helloworlds.kubecoro.dev --timeout=60s >/dev/null
fi

operator_kubeconfig=$KUBECONFIG
local_cluster=0
if [[ -n "${KUBECORO_CONTROLPLANE_DIR:-}" ]]; then
  local_cluster=1
  operator_kubeconfig=$KUBECORO_CONTROLPLANE_DIR/operator.kubeconfig
  bash test/controlplane/sa-kubeconfig.sh "$ns" kubecoro "$operator_kubeconfig" >/dev/null
fi

webhook=()
if ((local_cluster)); then
  # The admission webhook, as for local development (docs/deployment.md): the webhooks of
  # manifests/webhook.yaml called by URL on loopback; the operator fills in their caBundle.
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  kubectl create --dry-run=client -o json -f manifests/webhook.yaml | python3 -c '
import json, sys
text, at, docs = sys.stdin.read(), 0, []
while text[at:].strip():  # kubectl prints one JSON object per document
    doc, at = json.JSONDecoder().raw_decode(text, at + len(text[at:]) - len(text[at:].lstrip()))
    docs.append(doc)
c = [d for d in docs if d["kind"] == "ValidatingWebhookConfiguration"][0]
for w in c["webhooks"]:
    w["clientConfig"] = {"url": "https://127.0.0.1:%s%s" % (sys.argv[1], w["clientConfig"]["service"]["path"])}
print(json.dumps(c))' "$port" | kubectl apply -f - >/dev/null
  webhook=(--webhook-bind-address="127.0.0.1:$port")
fi

log=$(mktemp /tmp/kubecoro-run.XXXXXX.log)
echo "== starting kubecoro (log: $log)"
# In a session of its own: a Ctrl-C reaches this script, whose cleanup needs the operator running.
POD_NAMESPACE=$ns setsid "${KUBECORO_RUN_BIN:-$root/build-run/kubecoro}" --kubeconfig="$operator_kubeconfig" --leader-elect \
  --leader-election-namespace="$ns" --health-probe-bind-address=127.0.0.1:0 --metrics-bind-address=0 \
  "${webhook[@]}" --log-format=text >"$log" 2>&1 &
operator=$!

has_node=0
if ((local_cluster)) && [[ -f $KUBECORO_CONTROLPLANE_DIR/node.enabled ]]; then has_node=1; fi
if ((local_cluster)); then
  # Until the operator has set the caBundle, the webhook (failurePolicy Fail) refuses Databases.
  for _ in $(seq 100); do
    [[ -n $(kubectl get validatingwebhookconfiguration kubecoro -o 'jsonpath={.webhooks[0].clientConfig.caBundle}') ]] && break
    sleep 0.2
  done
fi
# (On the local control plane without MySQL: it has no Debian package, so the node has no image.)
if ((${#samples[@]})); then
  echo "== applying ${samples[*]}"
  kubectl apply "${samples[@]/#/-f}"
fi

# Logs in to the PostgreSQL sample over TCP as the application user, with the password from its
# Secret (through stdin: it never appears in an argument).
psql_line="kubectl exec -it pg1-0 -- psql -U app app   # the pod's socket; over TCP the Secret's password"
connect_demo() {
  echo "== PostgreSQL sample, logged in as the application user with its Secret's password:"
  kubectl get secret pg1-credentials -o 'jsonpath={.data.password}' | base64 -d |
    kubectl exec -i pg1-0 -- bash -c 'read -r PGPASSWORD; export PGPASSWORD; psql -h 127.0.0.1 -U app app -c "SELECT current_user, version()"' ||
    echo "   (login failed; see kubectl logs pg1-0)"
  echo "== connect yourself:"
  echo "   export KUBECONFIG=$KUBECONFIG"
  echo "   $psql_line"
}

deadline=$((SECONDS + ${KUBECORO_DEMO_SECONDS:-1000000000}))
while ((SECONDS < deadline)); do
  if ! kill -0 "$operator" 2>/dev/null; then echo "kubecoro exited; see $log"; exit 1; fi
  if [[ -n ${connected:-} && -z ${KUBECORO_DEMO_SECONDS:-} ]]; then sleep 2; continue; fi
  if ((local_cluster && !has_node)); then
    # No kubelet here: mark the database pods ready as a kubelet would, so status shows Ready.
    now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    for pod in $(kubectl get pods -A -l app.kubernetes.io/managed-by=kubecoro,app.kubernetes.io/component=database \
                   -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}'); do
      kubectl patch pod -n "${pod%%/*}" "${pod##*/}" --subresource=status --type=merge -p "{\"status\":{\"phase\":\"Running\",
        \"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"$now\"}]}}" >/dev/null 2>&1 || true
    done
  fi
  clear 2>/dev/null || true
  date
  kubectl get databases,helloworlds -A -o wide
  all_ready=0
  [[ -z "$(kubectl get databases -A -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -v '^Ready$')" ]] && all_ready=1
  if ((all_ready && has_node)) && [[ -z ${connected:-} ]]; then connected=1; connect_demo; fi
  if [[ -n "${KUBECORO_DEMO_SECONDS:-}" ]] && ((all_ready)); then
    echo "== every Database is Ready"
    exit 0
  fi
  sleep 2
done
