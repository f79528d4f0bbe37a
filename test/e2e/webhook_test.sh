#!/usr/bin/env bash
# shellcheck disable=SC2154 # wh_HEALTH is exported by start_operator
# The admission webhook on the real API server, the operator running locally with a URL-based
# ValidatingWebhookConfiguration (what docs/deployment.md describes for local development), scoped
# by a namespace selector to this test's namespace so that the other tests never meet it:
# each refusal the controller makes is made at `kubectl apply` (create and update) with the
# controller's own message; valid objects, status writes and dry runs pass; DoNotTerminate refuses
# deletion; with the operator down, Databases follow failurePolicy Fail and HelloWorlds Ignore; a
# certificate renewed by the operator, and one replaced in the Secret as cert-manager would, both
# keep admissions working. Prints the admission latency kubectl sees (INFO).
source "$(dirname "$0")/lib.sh"
install_crds || fail "webhook: CRDs installed"
ns=$(new_namespace wh)
plain=$(new_namespace whoff) # not selected: the controller alone judges what is created here
opns=$(new_namespace whop)   # the operator's own namespace: its certificate Secret
id=${ns#wh-}
kubectl label namespace "$ns" "kubecoro-e2e-webhook=$id" >/dev/null
cfg=kubecoro-e2e-$id
port=$(free_port)
cleanup_webhook() { kubectl delete validatingwebhookconfiguration "$cfg" --ignore-not-found >/dev/null 2>&1; }
trap 'cleanup_webhook; e2e_cleanup' EXIT

# The configuration a developer applies for a local run: the webhooks of manifests/webhook.yaml,
# called at a URL instead of through the Service.
webhook_configuration() {
  kubectl create --dry-run=client -o json -f "$E2E_ROOT/manifests/webhook.yaml" | python3 -c '
import json, sys
name, port, id = sys.argv[1:]
text, at, docs = sys.stdin.read(), 0, []
while text[at:].strip():  # kubectl prints one JSON object per document
    doc, at = json.JSONDecoder().raw_decode(text, at + len(text[at:]) - len(text[at:].lstrip()))
    docs.append(doc)
c = [d for d in docs if d["kind"] == "ValidatingWebhookConfiguration"][0]
c["metadata"]["name"] = name
for w in c["webhooks"]:
    w["clientConfig"] = {"url": "https://127.0.0.1:%s%s" % (port, w["clientConfig"]["service"]["path"])}
    w["namespaceSelector"] = {"matchLabels": {"kubecoro-e2e-webhook": id}}
print(json.dumps(c))' "$cfg" "$port" "$id"
}
webhook_configuration | kubectl apply -f - >/dev/null || fail "webhook: URL-based configuration applied"

start_webhook_operator() {
  POD_NAMESPACE=$opns start_operator wh --namespace="$ns,$plain" --webhook-bind-address="127.0.0.1:$port" \
    --webhook-configuration="$cfg" "$@"
}
start_webhook_operator --webhook-cert-validity=30s || fail "webhook: operator became ready"
ca_bundle() { kubectl get validatingwebhookconfiguration "$cfg" -o 'jsonpath={.webhooks[*].clientConfig.caBundle}'; }
secret_ca() { kubectl get secret -n "$opns" kubecoro-webhook-cert -o 'jsonpath={.data.ca\.crt}'; }
bundle_current() { local s; s=$(secret_ca) && [[ -n $s && "$(ca_bundle)" == "$s $s" ]]; }
expect_eventually "webhook: the operator issues its certificate and fills in both caBundles" 20 bundle_current

db_doc() { # NAME SPEC-FIELDS
  printf 'apiVersion: kubecoro.dev/v1alpha1\nkind: Database\nmetadata: {name: %s}\nspec: {%s}\n' "$1" "$2"
}
pg='engine: postgresql, version: "16"'
# apply_error NS DOC: kubectl apply's error output (fails when the apply succeeded).
apply_error() { ! kubectl apply -n "$1" -f - 2>&1 >/dev/null <<<"$2"; }
webhook_message() { sed -n 's/.*admission webhook "databases.kubecoro.dev" denied the request: //p' <<<"$1"; }
# refused_with WHAT DOC FIELD: kubectl apply fails, the webhook's message names FIELD first; the
# message is left in $message.
refused_with() {
  local out
  message=""
  if ! out=$(apply_error "$ns" "$2"); then fail "webhook: $1 is refused (it was accepted)"; return; fi
  message=$(webhook_message "$out")
  if [[ $message == "$3"* ]]; then pass "webhook: $1 is refused at apply ($message)"; else fail "webhook: $1 ($out)"; fi
}
rc_message() { kubectl get -n "$1" "database/$2" -o 'jsonpath={.status.conditions[?(@.type=="ReconcileSucceeded")].message}' 2>/dev/null; }
rc_reason_is() { [[ "$(rc_reason "$1" "$2")" == "$3" ]]; }
rc_reason() { kubectl get -n "$1" "database/$2" -o 'jsonpath={.status.conditions[?(@.type=="ReconcileSucceeded")].reason}' 2>/dev/null; }

# ---- create: every InvalidSpec, with the controller's own message ----------------------------
# (Values the CRD schema lets through: badinput_test.sh has the full list.)
declare -A bad=(
  [storage]="$pg, storage: \"0\""
  [replicas]="engine: mysql, version: \"8.4\", storage: 1Gi, replicas: 3"
  [cron]="$pg, storage: 1Gi, backup: {schedule: \"61 * * * *\"}"
  [parameter]="$pg, storage: 1Gi, parameters: {\"bad key\": \"1\"}"
  [limits]="$pg, storage: 1Gi, resources: {requests: {memory: 2Gi}, limits: {memory: 1Gi}}"
  [image]="$pg, storage: 1Gi, image: \"Postgres:16\""
)
declare -A field=([storage]=spec.storage [replicas]=spec.replicas [cron]=spec.backup.schedule
  [parameter]=spec.parameters [limits]=spec.resources.requests.memory [image]=spec.image)
for k in "${!bad[@]}"; do
  refused_with "$k" "$(db_doc "bad-$k" "${bad[$k]}")" "${field[$k]}"
  msg=$message
  # The same object where no webhook looks: the controller's InvalidSpec carries the same text.
  kubectl apply -n "$plain" -f - >/dev/null <<<"$(db_doc "bad-$k" "${bad[$k]}")"
  if wait_until 30 rc_reason_is "$plain" "bad-$k" InvalidSpec &&
    [[ -n $msg && "$(rc_message "$plain" "bad-$k")" == "$msg" ]]; then
    pass "webhook: $k: the controller's InvalidSpec message is the webhook's"
  else
    fail "webhook: $k: controller says \"$(rc_message "$plain" "bad-$k")\", webhook \"$msg\""
  fi
done
refused_with "a name too long for the children" "$(db_doc "$(printf 'a%.0s' {1..60})" "$pg, storage: 1Gi")" metadata.name
dry_run() { kubectl apply --dry-run=server -n "$ns" -f - >/dev/null 2>&1 <<<"$(db_doc "$1" "$2")"; }
dry_run_refused() { ! dry_run dry "$pg, storage: 10GB"; }
check "webhook: a server-side dry run is judged too (sideEffects None)" dry_run_refused
admitted() { kubectl apply -n "$ns" -f - >/dev/null <<<"$(db_doc "$1" "$2")"; }
check "webhook: a valid Database is admitted" admitted db1 "$pg, storage: 2Gi"
status_written() { [[ -n $(kubectl get -n "$ns" database/db1 -o 'jsonpath={.status.phase}') ]] && kubectl get -n "$ns" statefulset/db1; }
expect_eventually "webhook: the operator's status writes pass (phase set, StatefulSet created)" 30 status_written

# ---- update: every ChangeRefused, compared with what exists ----------------------------------
refused_with "a smaller volume" "$(db_doc db1 "$pg, storage: 1Gi")" spec.storage
refused_with "another engine" "$(db_doc db1 'engine: mariadb, version: "11.4", storage: 2Gi')" spec.engine
refused_with "another PostgreSQL major" "$(db_doc db1 'engine: postgresql, version: "15", storage: 2Gi')" spec.version
check "webhook: a larger volume is admitted" admitted db1 "$pg, storage: 3Gi"
check "webhook: a label change is admitted" kubectl label -n "$ns" database/db1 team=a

# ---- deletion protection ---------------------------------------------------------------------
kubectl apply -n "$ns" -f - >/dev/null <<<"$(db_doc keep "$pg, storage: 1Gi, deletionPolicy: DoNotTerminate")"
out=$(kubectl delete -n "$ns" database/keep --wait=false 2>&1)
protected() { [[ $out == *Forbidden*'spec.deletionPolicy is DoNotTerminate'* ]] && kubectl get -n "$ns" database/keep >/dev/null; }
check "webhook: DoNotTerminate refuses kubectl delete ($out)" protected
kubectl patch -n "$ns" database/keep --type merge -p '{"spec":{"deletionPolicy":"Retain"}}' >/dev/null
check "webhook: after the policy is changed it can be deleted" kubectl delete -n "$ns" database/keep --wait=false

# ---- HelloWorld (created: apply's last-applied annotation would not fit) -------------------------------------------------------------------------------
big=$(python3 -c 'print("é" * 600000)') # 600000 characters fit the schema, 1.2 MB do not fit a ConfigMap
out=$(kubectl create -n "$ns" -f - 2>&1 <<EOF2
apiVersion: kubecoro.dev/v1alpha1
kind: HelloWorld
metadata: {name: big}
spec: {message: "$big"}
EOF2
)
check "webhook: a HelloWorld message too large for its ConfigMap is refused at apply" \
  grep -q 'denied the request: spec.message: 1200000 bytes do not fit a ConfigMap' <<<"$out"

# ---- latency: kubectl apply (server dry run) with and without the webhook --------------------
percentiles() { sort -n | awk '{ a[NR] = $1 } END { printf "p50 %.1f ms, p99 %.1f ms", a[int(NR * 0.5 + 0.5)], a[int(NR * 0.99 + 0.5)] }'; }
time_applies() { # NS: 40 server-side dry runs of a valid Database, one duration (ms) per line
  local i t0
  for ((i = 0; i < 40; i++)); do
    t0=$EPOCHREALTIME
    kubectl apply --dry-run=server -n "$1" -f - >/dev/null <<<"$(db_doc lat "$pg, storage: 1Gi")" || echo "apply failed" >&2
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'
  done
}
with=$(time_applies "$ns" | percentiles)
without=$(time_applies "$plain" | percentiles)
echo "INFO webhook: kubectl apply --dry-run=server of a Database: with the webhook $with; without $without"
# The webhook alone, as the API server calls it (one kept-alive TLS connection): decode, the two
# reads of the StatefulSet and claims, the answer.
review=$(python3 -c 'import json,sys; print(json.dumps({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"kubecoro.dev","version":"v1alpha1","kind":"Database"},"resource":{"group":"kubecoro.dev","version":"v1alpha1","resource":"databases"},"name":"lat","namespace":sys.argv[1],"operation":"CREATE","object":{"metadata":{"name":"lat","namespace":sys.argv[1]},"spec":{"engine":"postgresql","version":"16","storage":"1Gi"}}}}))' "$ns")
# 201 requests in one curl: one connection; the first pays the TLS handshake and is left out.
alone=$(for ((i = 0; i < 201; i++)); do
  printf 'url = "https://127.0.0.1:%s/validate-kubecoro-dev-v1alpha1-database"\noutput = /dev/null\n' "$port"
done | curl -sk -K - -H 'Content-Type: application/json' --data "$review" -w '%{time_total} %{http_code}\n' |
  awk '$2 != 200 { bad++ } NR > 1 { printf "%.2f\n", $1 * 1000 } END { if (bad) print "non-200 answers: " bad > "/dev/stderr" }' |
  percentiles)
echo "INFO webhook: one admission request on a kept-alive connection: $alone"
# What the API server measured of its calls to this webhook (every call of this test so far).
server_side=$(kubectl get --raw /metrics | awk '/^apiserver_admission_webhook_admission_duration_seconds_(sum|count)\{.*name="databases.kubecoro.dev"/ {
  if ($1 ~ /_sum/) s += $2; else n += $2 } END { if (n) printf "mean %.1f ms over %d calls", s / n * 1000, n }')
echo "INFO webhook: the API server's own measure of its calls to the Database webhook: $server_side"

# ---- certificates: renewed by the operator, replaced in the Secret ---------------------------
served_serial() { openssl s_client -connect "127.0.0.1:$port" </dev/null 2>/dev/null | openssl x509 -noout -serial; }
first=$(served_serial)
serial_changed() { local s; s=$(served_serial) && [[ -n $s && $s != "$first" ]]; }
expect_eventually "webhook: the operator renews its 30 s certificate while running ($first)" 40 serial_changed
admissions_work() { dry_run db2 "$pg, storage: 1Gi" && ! dry_run db2 "$pg, storage: 1Gi, replicas: 7"; }
check "webhook: admissions work on the renewed certificate" admissions_work
# As cert-manager would: another CA and certificate, written over the Secret (no issued-by mark).
work=$(mktemp -d)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=webhook -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$work/ext"
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
  -extfile "$work/ext" -out "$work/tls.crt" 2>/dev/null
kubectl create secret generic -n "$opns" kubecoro-webhook-cert --type=kubernetes.io/tls --dry-run=client -o yaml \
  --from-file=tls.crt="$work/tls.crt" --from-file=tls.key="$work/tls.key" --from-file=ca.crt="$work/ca.crt" |
  kubectl replace -f - >/dev/null || fail "webhook: Secret replaced by another issuer"
want=$(openssl x509 -noout -serial -in "$work/tls.crt")
serving_theirs() { [[ "$(served_serial)" == "$want" ]] && bundle_current; }
expect_eventually "webhook: a certificate replaced in the Secret is served, and its CA becomes the caBundle" 20 serving_theirs
check "webhook: admissions work on the replaced certificate" admissions_work
theirs=$(served_serial)
rm -rf "$work"

# ---- the operator down: Fail for Databases, Ignore for HelloWorlds ---------------------------
stop_operator wh || fail "webhook: operator stopped cleanly"
out=$(apply_error "$ns" "$(db_doc db3 "$pg, storage: 1Gi")")
check "webhook: operator down: a Database is not admitted (failurePolicy Fail): ${out:0:120}" \
  grep -q 'failed calling webhook "databases.kubecoro.dev"' <<<"$out"
hello_admitted() { kubectl apply -n "$ns" -f - >/dev/null <<<$'apiVersion: kubecoro.dev/v1alpha1\nkind: HelloWorld\nmetadata: {name: h1}\nspec: {message: hi}'; }
check "webhook: operator down: a HelloWorld is admitted (failurePolicy Ignore)" hello_admitted
start_webhook_operator || fail "webhook: operator restarted"
serving_theirs_again() { [[ "$(served_serial)" == "$theirs" ]]; }
check "webhook: back up: the operator serves the Secret's certificate again ($theirs)" wait_until 20 serving_theirs_again
check "webhook: back up: Databases are admitted again" admitted db3 "$pg, storage: 1Gi"
no_pem_logged() { ! grep -q 'PRIVATE KEY\|BEGIN CERTIFICATE' "$E2E_LOGS/wh.log"; }
check "webhook: no certificate or key in the operator's log" no_pem_logged
stop_operator wh || fail "webhook: operator stopped cleanly"
exit $E2E_FAILED
