#!/usr/bin/env bash
# shellcheck disable=SC2154 # sc_METRICS is exported by start_operator
# Database storage and deletion against StorageClasses: growing `storage` on a class without
# allowVolumeExpansion leaves the claims alone and says why; allowing expansion on the class
# reconciles again (watched), and the API server's refusal for an unbound claim is reported;
# a bound claim is expanded. Events go through events.k8s.io/v1 (served by the test control plane)
# and repeats become a series. Deletion shows phase Deleting before the finalizer goes.
source "$(dirname "$0")/lib.sh"
install_crds || fail "storage: CRDs installed"
ns=$(new_namespace storage)
fixed=kubecoro-e2e-fixed-${ns##*-} # cluster-scoped names, unique per run
pv=kubecoro-e2e-pv-${ns##*-}
start_operator sc --controllers=database || fail "storage: operator became ready"

get() { kubectl get -n "$ns" "$1" -o "jsonpath=$2" 2>/dev/null; }
condition() { get db/grow "{.status.conditions[?(@.type==\"$1\")].status}/{.status.conditions[?(@.type==\"$1\")].reason}"; }
condition_is() { [[ "$(condition "$1")" == "$2" ]]; }
requested() { get pvc/data-grow-0 '{.spec.resources.requests.storage}'; }
reconciles() { reconciles_of sc "$ns" grow; }
# v1_events REASON: the events.k8s.io/v1 Events about db/grow with REASON, one a line:
# eventTime|reportingController|reportingInstance|action|note|series.count (1 without a series)
v1_events() {
  kubectl get events.v1.events.k8s.io -n "$ns" -o json 2>/dev/null | python3 -c '
import json, sys
for e in json.load(sys.stdin)["items"]:
    if e.get("regarding", {}).get("name") == "grow" and e.get("reason") == sys.argv[1]:
        print("|".join([e.get("eventTime") or "", e.get("reportingController", ""), e.get("reportingInstance", ""),
                        e.get("action", ""), e.get("note", ""), str((e.get("series") or {}).get("count", 1))]))' "$1"
}

kubectl apply -f - >/dev/null <<YAML
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: $fixed}
provisioner: kubernetes.io/no-provisioner
allowVolumeExpansion: false
YAML
kubectl apply -n "$ns" -f - >/dev/null <<YAML
apiVersion: kubecoro.dev/v1alpha1
kind: Database
metadata: {name: grow}
spec: {engine: postgresql, version: "16", storage: 1Gi, storageClassName: $fixed, backup: {enabled: false},
       deletionPolicy: Delete}
YAML
expect_eventually "storage: the StatefulSet created claim data-grow-0 of class $fixed" 30 jsonpath_is "$fixed" \
  get pvc/data-grow-0 -n "$ns" -o 'jsonpath={.spec.storageClassName}'
expect_eventually "storage: settled (ReconcileSucceeded=True)" 20 condition_is ReconcileSucceeded True/Succeeded

# ---- events.k8s.io/v1, and a repeat as a series ------------------------------------------------
created=$(v1_events Creating | head -1)
check "storage: the Creating event is an events.k8s.io/v1 Event (eventTime in microseconds, reporting controller and instance: $created)" \
  bash -c '[[ $1 =~ ^[0-9-]+T[0-9:]+\.[0-9]{6}Z\|database\|[^|]+\|Creating\|creating\ postgresql\ 16\|1$ ]]' _ "$created"
check "storage: core/v1 shows it too (involvedObject, message)" jsonpath_is "Database/grow" get events -n "$ns" \
  --field-selector reason=Creating -o 'jsonpath={.items[0].involvedObject.kind}/{.items[0].involvedObject.name}'
# The application Secret deleted twice: the same CredentialsRestored event twice (the pod never runs
# here, so no password is set in a server).
for i in 1 2; do
  before=$(get secret/grow-credentials '{.metadata.uid}')
  kubectl delete secret grow-credentials -n "$ns" >/dev/null
  renewed() { local u; u=$(get secret/grow-credentials '{.metadata.uid}'); [[ -n $u && $u != "$before" ]]; }
  wait_until 20 renewed || fail "storage: the deleted application Secret was recreated ($i)"
done
series() { v1_events CredentialsRestored | awk -F'|' '$5 ~ /^Secret grow-credentials was gone/ { n++; c = $6 } END { print n + 0, c + 0 }'; }
repeated() { [[ $(series) =~ ^1\ ([2-9]|[1-9][0-9]+)$ ]]; }
expect_eventually "storage: a repeated event is one Event with series.count >= 2" 10 repeated
echo "INFO storage: Events CredentialsRestored and their series.count: $(series)"

# ---- a class that does not allow expansion ----------------------------------------------------
kubectl patch db grow -n "$ns" --type=merge -p '{"spec":{"storage":"2Gi"}}' >/dev/null
expect_eventually "storage: 1Gi -> 2Gi on a class without allowVolumeExpansion -> ReconcileSucceeded=False VolumeExpansionNotSupported" 20 \
  condition_is ReconcileSucceeded False/VolumeExpansionNotSupported
msg=$(get db/grow '{.status.conditions[?(@.type=="ReconcileSucceeded")].message}')
check "storage: the condition names the class ($msg)" bash -c '[[ $1 == *"StorageClass \"$2\" does not allow volume expansion"* ]]' _ "$msg" "$fixed"
check "storage: Progressing=False VolumeExpansionNotSupported" condition_is Progressing False/VolumeExpansionNotSupported
expect_eventually "storage: a Warning VolumeExpansionNotSupported event" 10 jsonpath_is Warning \
  get events -n "$ns" --field-selector involvedObject.name=grow,reason=VolumeExpansionNotSupported -o 'jsonpath={.items[0].type}'
check "storage: the claim was not patched (still 1Gi)" test "$(requested)" == 1Gi
before=$(reconciles); sleep 5; ran=$(($(reconciles) - before))
check "storage: no retry storm ($ran reconciles in 5 s)" test "$ran" -le 2
check "storage: one Warning event, not one per reconcile" test "$(v1_events VolumeExpansionNotSupported | awk -F'|' '{ s += $6 } END { print s + 0 }')" == 1

# ---- the class allows it now: reconciled from the StorageClass watch; an unbound claim cannot grow
kubectl patch storageclass "$fixed" --type=merge -p '{"allowVolumeExpansion":true}' >/dev/null
expect_eventually "storage: class now allows expansion -> reconciled at once; the unbound claim is refused by the API server (VolumeExpansionFailed)" 15 \
  condition_is ReconcileSucceeded False/VolumeExpansionFailed
msg=$(get db/grow '{.status.conditions[?(@.type=="ReconcileSucceeded")].message}')
check "storage: ...with the server's answer for data-grow-0 ($msg)" bash -c '[[ $1 == *"data-grow-0 to 2Gi: "*"bound claims"* ]]' _ "$msg"
check "storage: the claim still requests 1Gi" test "$(requested)" == 1Gi

# ---- a bound claim grows ----------------------------------------------------------------------
# No provisioner here: a PersistentVolume made for the claim, bound by kube-controller-manager.
kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: {name: $pv}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: $fixed
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: /tmp/$pv}
  claimRef: {namespace: $ns, name: data-grow-0}
YAML
expect_eventually "storage: the claim is bound to a PersistentVolume" 30 jsonpath_is Bound \
  get pvc/data-grow-0 -n "$ns" -o 'jsonpath={.status.phase}'
expect_eventually "storage: bound claim on a class that allows expansion -> patched to 2Gi" 20 \
  bash -c '[[ $(kubectl get pvc/data-grow-0 -n "$1" -o "jsonpath={.spec.resources.requests.storage}") == 2Gi ]]' _ "$ns"
expect_eventually "storage: ReconcileSucceeded=True once the claim is patched" 20 condition_is ReconcileSucceeded True/Succeeded
expect_eventually "storage: a Normal Resizing event" 10 jsonpath_is Normal \
  get events -n "$ns" --field-selector involvedObject.name=grow,reason=Resizing -o 'jsonpath={.items[0].type}'

# ---- deletion: phase Deleting before the finalizer goes ----------------------------------------
# Every version of the Database from a watch: the one the operator writes before it removes the
# finalizer must say Deleting (and so does the last one seen).
watch_out=$E2E_LOGS/storage-db-watch.txt
kubectl get db grow -n "$ns" -w -o 'jsonpath={.status.phase}/{.status.conditions[?(@.type=="Ready")].reason}/{.metadata.deletionTimestamp}{"\n"}' \
  >"$watch_out" 2>/dev/null &
watcher=$!
wait_until 10 test -s "$watch_out" || fail "storage: watching db/grow"
kubectl delete db grow -n "$ns" --wait=false >/dev/null
expect_eventually "storage: the Database goes after cleanup" 30 bash -c '! kubectl get db grow -n "$1" >/dev/null 2>&1' _ "$ns"
wait_until 5 grep -q . "$watch_out"
kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null
seen=$(tr '\n' ' ' <"$watch_out")
check "storage: while being deleted the status said phase Deleting, Ready=False Deleting ($seen)" \
  grep -qE '^Deleting/Deleting/[0-9]' "$watch_out"
check "storage: ...and no version after that said otherwise" \
  bash -c '! sed -n "/^Deleting/,\$p" "$1" | grep -qv "^Deleting/"' _ "$watch_out"
expect_eventually "storage: a DeletedData event" 10 jsonpath_is Normal \
  get events -n "$ns" --field-selector involvedObject.name=grow,reason=DeletedData -o 'jsonpath={.items[0].type}'

kubectl delete namespace "$ns" --wait=false >/dev/null
kubectl delete storageclass "$fixed" --wait=false >/dev/null
kubectl delete pv "$pv" --wait=false >/dev/null
stop_operator sc TERM; rc=$?
check "storage: SIGTERM exits 0 (got $rc)" test "$rc" -eq 0
exit $E2E_FAILED
