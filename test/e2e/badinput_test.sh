#!/usr/bin/env bash
# shellcheck disable=SC2154 # bad_METRICS and bad_HEALTH are exported by start_operator
# Bad input: 1. Databases with every invalid value the CRD schema lets through each get
# ReconcileSucceeded=False InvalidSpec naming the field and one Warning event, no child and no
# retry storm; what the schema should refuse, the API server refuses. 2. Very large objects: a
# Database of about 0.8 MB of labels and annotations converges; a HelloWorld message that fits the
# schema but not a ConfigMap is refused with a condition. 3. 1000 invalid Databases at once: each
# gets the condition and an event, the operator stays healthy and keeps serving valid Databases.
source "$(dirname "$0")/lib.sh"
install_crds || fail "badinput: CRDs installed"
ns=$(new_namespace bad)
start_operator bad || fail "badinput: operator became ready"

# ---- helpers ---------------------------------------------------------------------------------
get() { kubectl get -n "$1" "$2" -o "jsonpath=$3" 2>/dev/null; } # get NS OBJECT JSONPATH
# db_doc NAME [SPEC-FIELDS [STORAGE]]: one Database document (SPEC-FIELDS: flow-style fields).
db_doc() {
  printf -- '---\napiVersion: kubecoro.dev/v1alpha1\nkind: Database\nmetadata: {name: %s}\nspec: {engine: postgresql, version: "16", storage: "%s"%s}\n' \
    "$1" "${3:-1Gi}" "${2:+, $2}"
}
# rc_of NS KIND/NAME: "status/reason" of ReconcileSucceeded (Database) or Ready (HelloWorld).
rc_of() {
  local type=ReconcileSucceeded; [[ $2 == helloworld/* ]] && type=Ready
  get "$1" "$2" "{.status.conditions[?(@.type==\"$type\")].status}/{.status.conditions[?(@.type==\"$type\")].reason}"
}
rc_is() { [[ "$(rc_of "$1" "$2")" == "$3" ]]; }
rc_message() {
  local type=ReconcileSucceeded; [[ $2 == helloworld/* ]] && type=Ready
  get "$1" "$2" "{.status.conditions[?(@.type==\"$type\")].message}"
}
# warnings NS KIND NAME REASON: the count of such Warning events (the recorder aggregates repeats).
warnings() { events_total "$1" "involvedObject.kind=$2,involvedObject.name=$3,type=Warning,reason=$4"; }
# children NS: every object the operator made in NS (it labels them all managed-by=kubecoro).
children() {
  kubectl get secrets,services,statefulsets,cronjobs,persistentvolumeclaims,poddisruptionbudgets,configmaps \
    -n "$1" -l app.kubernetes.io/managed-by=kubecoro -o name 2>/dev/null
}
# reconciles_of NAME: how many reconciles of NAME the operator logged.
reconciles_of() { grep -F "\"name\":\"$1\"" "$E2E_LOGS/bad.log" | grep -cE '"msg":"(reconciled|reconcile failed)' || true; }
reconciles() { metric controller_runtime_reconcile_total "$bad_METRICS" ''; }
rss_mib() { awk '/^VmRSS/ { printf "%d", $2 / 1024 }' "/proc/${E2E_PIDS[bad]}/status" 2>/dev/null; }
healthy() { operator_alive bad && [[ "$(probe_code "$bad_HEALTH" /healthz)" == 200 ]]; }

# ---- 1. invalid values the schema lets through ----------------------------------------------------
# name|spec fields|the field the message must name
long46=$(printf 'a%.0s' {1..46}) long53=$(printf 'b%.0s' {1..53})
cases=(
  "cron-minute|backup: {schedule: \"61 * * * *\"}|spec.backup.schedule"
  "cron-range|backup: {schedule: \"5-1 * * * *\"}|spec.backup.schedule"
  "cron-step|backup: {schedule: \"*/0 * * * *\"}|spec.backup.schedule"
  "cron-weekday|backup: {schedule: \"0 0 * * 7\"}|spec.backup.schedule"
  "cron-month|backup: {schedule: \"0 0 * 13 *\"}|spec.backup.schedule"
  "cron-day|backup: {schedule: \"0 0 0 * *\"}|spec.backup.schedule"
  "cron-name|backup: {schedule: \"0 0 * foo *\"}|spec.backup.schedule"
  "cron-list|backup: {schedule: \"1,,2 * * * *\"}|spec.backup.schedule"
  "cron-tz|backup: {schedule: \"TZ=UTC 0 * * *\"}|spec.backup.schedule"
  "cron-letters|backup: {schedule: \"a b c d e\"}|spec.backup.schedule"
  "storage-zero|backup: {storage: \"0\"}|spec.backup.storage"
  "storage-huge|backup: {storage: \"9Ei\"}|spec.backup.storage"
  "storage-exponent|backup: {storage: \"1e30\"}|spec.backup.storage"
  "image-upper|image: \"Postgres:16\"|spec.image"
  "image-digest|image: \"postgres@sha256:xyz\"|spec.image"
  "image-path|image: \"library//postgres\"|spec.image"
  "image-host|image: \"bad_host.example.com/pg:16\"|spec.image"
  "image-tag|image: \"pg:$(printf 't%.0s' {1..129})\"|spec.image"
  "limits-below-requests|resources: {requests: {memory: 2Gi}, limits: {memory: 1Gi}}|spec.resources.requests.memory"
  "cpu-negative|resources: {requests: {cpu: \"-1\"}}|spec.resources.requests.cpu"
  "memory-huge|resources: {limits: {memory: \"100Ei\"}}|spec.resources.limits.memory"
  "resource-name|resources: {limits: {gpu: 1}}|spec.resources.limits.gpu"
  "$long46||metadata.name"
  "$long53|backup: {enabled: false}|metadata.name"
  "db.dotted||metadata.name"
  "1digit||metadata.name"
  "data-zero||spec.storage|0"
  "data-huge||spec.storage|100Ei"
)
for c in "${cases[@]}"; do
  IFS='|' read -r name fields _ storage <<<"$c"
  db_doc "$name" "$fields" "$storage"
done >"$E2E_LOGS/badinput-cases.yaml"
export -f warnings
if ! out=$(kubectl create -n "$ns" -f "$E2E_LOGS/badinput-cases.yaml" 2>&1); then
  fail "invalid values: the API server accepted all ${#cases[@]} Databases ($out)"
fi
for c in "${cases[@]}"; do
  IFS='|' read -r name _ field _ <<<"$c"
  expect_eventually "invalid ${name:0:20}: ReconcileSucceeded=False InvalidSpec" 30 rc_is "$ns" "db/$name" False/InvalidSpec
  msg=$(rc_message "$ns" "db/$name")
  check "invalid ${name:0:20}: the message names $field (\"${msg:0:160}\")" bash -c '[[ $1 == *"$2: "* ]]' _ "$msg" "$field"
  expect_eventually "invalid ${name:0:20}: a Warning InvalidSpec event" 10 \
    bash -c '(( $(warnings "$@") >= 1 ))' _ "$ns" Database "$name" InvalidSpec
done
quiet=$(reconciles); sleep 10; ran=$(($(reconciles) - quiet))
check "invalid values: no retry storm ($ran reconciles in 10 s after ${#cases[@]} refusals)" test "$ran" -le 2
most=0 not_one=""
for c in "${cases[@]}"; do
  IFS='|' read -r name _ _ <<<"$c"
  n=$(reconciles_of "$name"); ((n > most)) && most=$n
  w=$(warnings "$ns" Database "$name" InvalidSpec)
  [[ $w -eq 1 ]] || not_one+=" ${name:0:20}=$w"
done
check "invalid values: exactly one Warning event each${not_one:+ (not so:$not_one)}" test -z "$not_one"
check "invalid values: at most 3 reconciles per Database (most: $most)" test "$most" -le 3
# Nothing was created, so nothing needs cleaning up: no finalizer (and one write fewer).
with_finalizer=$(kubectl get db -n "$ns" -o jsonpath='{range .items[*]}{.metadata.finalizers[0]}{"\n"}{end}' | grep -c . || true)
check "invalid values: no finalizer on Databases that never had children ($with_finalizer have one)" test "$with_finalizer" -eq 0
check "invalid values: no child created ($(children "$ns" | tr '\n' ' '))" test -z "$(children "$ns")"

# What the schema must refuse, the API server refuses (nothing reaches the operator).
refused=(
  "engine: oracle" "version: \"\"" "version: \"16 4\"" "version: \"$(printf 'v%.0s' {1..129})\""
  "backup: {storage: \"$(printf '1%.0s' {1..65})\"}"
  "replicas: 0" "replicas: 6" "replicas: 1.5" "backup: {retention: 0}" "backup: {retention: 400}"
  "backup: {schedule: \"* * *\"}" "backup: {schedule: \"* * * * * *\"}"
  "backup: {schedule: \"$(printf '1,%.0s' {1..130})1 * * * *\"}" "backup: {storage: 5Gb}"
  "deletionPolicy: Keep" "paused: \"yes\"" "storageClassName: Fast" "storageClassName: \"a..b\""
  "storageClassName: \"a.-b\"" "storageClassName: \"fast_ssd\"" "image: \"a b\"" "image: \"\""
  "resources: {requests: {cpu: abc}}" "resources: {limits: {memory: \"1 Gi\"}}"
)
accepted=""
for fields in "${refused[@]}"; do
  if kubectl create --dry-run=server -n "$ns" -f - >/dev/null 2>&1 < <(db_doc schema-check "$fields"); then
    accepted+=" [${fields:0:40}]"
  fi
done
for storage in 10GB -1Gi "1 Gi" "$(printf '1%.0s' {1..65})"; do
  kubectl create --dry-run=server -n "$ns" -f - >/dev/null 2>&1 < <(db_doc schema-check "" "$storage") &&
    accepted+=" [storage $storage]"
done
for name in UPPER "a_b" "$(printf 'n%.0s' {1..254})"; do
  kubectl create --dry-run=server -n "$ns" -f - >/dev/null 2>&1 < <(db_doc "$name") && accepted+=" [name ${name:0:20}]"
done
kubectl create --dry-run=server -n "$ns" -f - >/dev/null 2>&1 < <(printf 'apiVersion: kubecoro.dev/v1alpha1\nkind: Database\nmetadata: {name: nostorage}\nspec: {engine: mysql, version: "8.4"}\n') &&
  accepted+=" [no storage]"
check "schema: the API server refuses ${#refused[@]} invalid fields, 4 invalid sizes, 3 invalid names and a missing field${accepted:+ (accepted:$accepted)}" \
  test -z "$accepted"

# ---- 2. very large objects --------------------------------------------------------------------------
# Annotations are capped at 256 KiB in total; labels have no total cap (but each value 63 bytes): a
# Database of about 1.2 MiB (etcd refuses requests over 1.5 MiB).
python3 - "$E2E_LOGS/badinput-big.json" <<'PY'
import json, sys
labels = {f"example.com/k{i:05d}-{'x' * 44}": "v" * 63 for i in range(4000)}
annotations = {f"example.com/a{i}": "y" * 60000 for i in range(4)}
db = {"apiVersion": "kubecoro.dev/v1alpha1", "kind": "Database",
      "metadata": {"name": "big", "labels": labels, "annotations": annotations},
      "spec": {"engine": "postgresql", "version": "16", "storage": "1Gi"}}
json.dump(db, open(sys.argv[1], "w"))
PY
big_bytes=$(stat -c %s "$E2E_LOGS/badinput-big.json")
bns=$(new_namespace bad-big)
if out=$(kubectl create -n "$bns" -f "$E2E_LOGS/badinput-big.json" 2>&1); then
  pass "large: the API server took a Database of $big_bytes bytes"
else
  fail "large: the API server took a Database of $big_bytes bytes (${out:0:200})"
fi
echo "INFO large Database: $big_bytes bytes of JSON (4000 labels, 240 KB of annotations)"
python3 -c 'import json; print(json.dumps({"metadata": {"annotations": {"example.com/over": "z" * 300000}}}))' \
  >"$E2E_LOGS/badinput-annotations.json"
check "large: annotations over 256 KiB are refused by the API server" \
  bash -c '! kubectl patch db big -n "$1" --type=merge --patch-file "$2" >/dev/null 2>&1' _ "$bns" "$E2E_LOGS/badinput-annotations.json"
expect_eventually "large: the big Database converges (ReconcileSucceeded=True, StatefulSet exists)" 60 \
  bash -c '[[ $(kubectl get db big -n "$1" -o "jsonpath={.status.conditions[?(@.type==\"ReconcileSucceeded\")].status}") == True ]] &&
    kubectl get statefulset big -n "$1" >/dev/null 2>&1' _ "$bns"
label_count=$(get "$bns" statefulset/big '{.metadata.labels}' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
check "large: the children carry their own labels, not the Database's ($label_count)" test "$label_count" -le 5

# A ConfigMap holds 1 MiB of data; the schema's maxLength counts characters, not bytes.
hw_doc() { python3 -c 'import json,sys; print(json.dumps({"apiVersion": "kubecoro.dev/v1alpha1", "kind": "HelloWorld",
  "metadata": {"name": sys.argv[1]}, "spec": {"message": sys.argv[2] * int(sys.argv[3])}}, ensure_ascii=False))' "$@"; }
hw_doc max x 1048576 >"$E2E_LOGS/badinput-hw-max.json"
hw_doc wide é 600000 >"$E2E_LOGS/badinput-hw-wide.json"
hw_doc over x 1048577 >"$E2E_LOGS/badinput-hw-over.json"
quietly() { "$@" >/dev/null; }
check "large: a HelloWorld with a 1 MiB message is accepted" quietly kubectl create -n "$bns" -f "$E2E_LOGS/badinput-hw-max.json"
check "large: a HelloWorld of 600000 two-byte characters (1.2 MB) is accepted" \
  quietly kubectl create -n "$bns" -f "$E2E_LOGS/badinput-hw-wide.json"
check "large: a message of 1048577 characters is refused by the API server" \
  bash -c '! kubectl create -n "$1" -f "$2" >/dev/null 2>&1' _ "$bns" "$E2E_LOGS/badinput-hw-over.json"
expect_eventually "large: the 1 MiB message reaches its ConfigMap (Ready=True)" 60 rc_is "$bns" helloworld/max True/ConfigMapApplied
check "large: the ConfigMap holds all 1048576 bytes" \
  test "$(kubectl get configmap max -n "$bns" -o jsonpath='{.data.message}' | wc -c)" -eq 1048576
expect_eventually "large: the 1.2 MB message -> Ready=False InvalidSpec" 60 rc_is "$bns" helloworld/wide False/InvalidSpec
check "large: the condition says it does not fit a ConfigMap ($(rc_message "$bns" helloworld/wide))" \
  bash -c '[[ $1 == "spec.message: 1200000 bytes do not fit a ConfigMap"* ]]' _ "$(rc_message "$bns" helloworld/wide)"
check "large: no ConfigMap for the refused message" bash -c '! kubectl get configmap wide -n "$1" >/dev/null 2>&1' _ "$bns"
sleep 5
check "large: the refused message is not retried ($(reconciles_of wide) reconciles)" test "$(reconciles_of wide)" -le 2
check "large: operator alive, /healthz 200" healthy
echo "INFO after the large objects: operator RSS $(rss_mib) MiB"

# ---- 3. 1000 invalid Databases at once ------------------------------------------------------------------
# valid_round NS: creates 5 valid Databases and prints the seconds until all converged (ReconcileSucceeded
# True with a StatefulSet), or "timeout" after 120 s.
valid_converged() {
  local ok
  ok=$(kubectl get db -n "$1" -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="ReconcileSucceeded")].status}{"\n"}{end}' 2>/dev/null | grep -c True)
  [[ $ok -eq 5 && $(kubectl get statefulsets -n "$1" -o name 2>/dev/null | wc -l) -eq 5 ]]
}
valid_round() {
  local t0 i
  t0=$(now_s)
  for i in 1 2 3 4 5; do db_doc "ok-$i"; done | kubectl create -n "$1" -f - >/dev/null
  if wait_until 120 valid_converged "$1"; then since_s "$t0"; else echo timeout; fi
}
alone=$(valid_round "$(new_namespace bad-ok1)")
check "flood: 5 valid Databases converge alone (${alone} s)" test "$alone" != timeout

fns=$(new_namespace bad-flood)
for i in $(seq 1 1000); do db_doc "flood-$i" 'backup: {schedule: "0 0 31 2 8"}'; done >"$E2E_LOGS/badinput-flood.yaml"
rss_before=$(rss_mib)
t0=$(now_s)
kubectl create -n "$fns" -f "$E2E_LOGS/badinput-flood.yaml" >/dev/null 2>&1 &
flood_pid=$!
# While the flood is being created and refused, 5 valid Databases in another namespace.
sleep 2
during=$(valid_round "$(new_namespace bad-ok2)")
wait "$flood_pid"; created=$?
echo "INFO kubectl create of 1000 Databases: $(since_s "$t0") s (exit $created)"
check "flood: 5 valid Databases converge during the flood (${during} s; alone ${alone} s)" test "$during" != timeout
echo "INFO 5 valid Databases converged in ${alone} s alone and ${during} s during 1000 invalid ones"
refused_count() {
  kubectl get db -n "$fns" -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="ReconcileSucceeded")].reason}{"\n"}{end}' 2>/dev/null | grep -c '^InvalidSpec$'
}
expect_eventually "flood: all 1000 Databases get ReconcileSucceeded=False InvalidSpec" 120 \
  bash -c '(( $(kubectl get db -n "$1" -o jsonpath="{range .items[*]}{.status.conditions[?(@.type==\"ReconcileSucceeded\")].reason}{\"\n\"}{end}" | grep -c "^InvalidSpec$") == 1000 ))' _ "$fns"
echo "INFO 1000 invalid Databases refused $(since_s "$t0") s after the create started ($(refused_count) InvalidSpec)"
# One Warning event per Database (the recorder may aggregate a repeat into a count); the events
# trail the conditions (one sender, behind the same client rate limit).
event_objects() {
  kubectl get events -n "$1" --field-selector type=Warning,reason=InvalidSpec,involvedObject.kind=Database \
    -o jsonpath='{range .items[*]}{.involvedObject.name}{"\n"}{end}' 2>/dev/null | sort -u | grep -c .
}
export -f event_objects
wait_until 90 bash -c '(( $(event_objects "$1") >= 1000 ))' _ "$fns"
echo "INFO events for the 1000 complete $(since_s "$t0") s after the create started; dropped by the recorder: $(metric kubecoro_events_dropped_total "$bad_METRICS" '')"
events=$(event_counts "$fns" type=Warning,reason=InvalidSpec,involvedObject.kind=Database)
objects=$(awk 'NF { seen[$1] = 1 } END { print length(seen) }' <<<"$events")
total=$(awk '{ s += $2 } END { print s + 0 }' <<<"$events")
check "flood: a Warning InvalidSpec event for each of the 1000 ($objects objects, count total $total)" \
  test "$objects" -eq 1000 -a "$total" -eq 1000
check "flood: no child created for the invalid Databases" test -z "$(children "$fns")"
quiet=$(reconciles); sleep 10; ran=$(($(reconciles) - quiet))
check "flood: no retry storm ($ran reconciles in 10 s once all were refused)" test "$ran" -le 5
check "flood: operator alive, /healthz 200" healthy
echo "INFO operator RSS: $rss_before MiB before the flood, $(rss_mib) MiB with 1000 invalid Databases cached"
threw=$(grep -c 'reconcile threw' "$E2E_LOGS/bad.log" || true) # in the error of "reconcile failed"
check "flood: no reconcile threw" test "$threw" -eq 0

# Deleting them all (no finalizer holds them: no child was made).
t0=$(now_s)
kubectl delete db --all -n "$fns" --wait=false >/dev/null 2>&1
expect_eventually "flood: all 1000 deleted" 180 \
  bash -c '[[ -z $(kubectl get db -n "$1" -o name 2>/dev/null) ]]' _ "$fns"
echo "INFO 1000 invalid Databases deleted in $(since_s "$t0") s"
kubectl delete db --all -n "$ns" --wait=false >/dev/null 2>&1
for n in "$bns" $(kubectl get namespaces -o name | sed -n 's|^namespace/\(bad-ok[12]-.*\)|\1|p'); do
  kubectl delete db --all -n "$n" --wait=false >/dev/null 2>&1
done
wait_until 60 bash -c '[[ -z $(kubectl get db -A -o name 2>/dev/null | grep -v "^$") ]]'
check "badinput: operator alive, /healthz 200 at the end" healthy
stop_operator bad
exit $E2E_FAILED
