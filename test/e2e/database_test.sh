#!/usr/bin/env bash
# shellcheck disable=SC2154 # db_METRICS is exported by start_operator
# Database: for PostgreSQL, MySQL and MariaDB, creation (children, labels, owners, status, events),
# readiness, more than one instance refused, version changes, refused changes and invalid specs
# without a retry storm; then pausing, drift repair, volume growth the cluster cannot do, stable
# credentials (operator restart, spec updates, re-creation) and deletion with both policies,
# including while the operator is down.
source "$(dirname "$0")/lib.sh"
install_crds || fail "database: CRDs installed"
ns=$(new_namespace db)      # the core flow, one Database per engine (named after it)
dns=$(new_namespace db-del) # deletion
start_operator db --controllers=database || fail "database: operator became ready"

engines=(postgresql mysql mariadb)
declare -A image=([postgresql]=postgres [mysql]=mysql [mariadb]=mariadb)
declare -A version=([postgresql]=16 [mysql]=8.0 [mariadb]=11.4)
declare -A version2=([postgresql]=16.4 [mysql]=8.4 [mariadb]=11.8) # same PostgreSQL major
declare -A port=([postgresql]=5432 [mysql]=3306 [mariadb]=3306)
declare -A other_engine=([postgresql]=mysql [mysql]=mariadb [mariadb]=postgresql)
declare -A password=()

# ---- helpers ---------------------------------------------------------------------------------
# check_none NAME PROBLEMS: PASS when PROBLEMS is empty, else FAIL naming them.
check_none() { if [[ -z "$2" ]]; then pass "$1"; else fail "$1: $2"; fi; }
get() { kubectl get -n "$1" "$2" -o "jsonpath=$3" 2>/dev/null; } # get NS OBJECT JSONPATH
exists() { kubectl get -n "$1" "$2" >/dev/null 2>&1; }
gone() { ! exists "$@"; }
all_exist() { local ns=$1 o; shift; for o in "$@"; do exists "$ns" "$o" || return 1; done; }
none_exist() { local ns=$1 o; shift; for o in "$@"; do gone "$ns" "$o" || return 1; done; }
apply_db() { # apply_db NS NAME ENGINE VERSION [EXTRA SPEC YAML, one line of flow-style fields]
  kubectl apply -n "$1" -f - >/dev/null <<YAML
apiVersion: kubecoro.dev/v1alpha1
kind: Database
metadata: {name: $2}
spec: {engine: $3, version: "$4", storage: 1Gi${5:+, $5}}
YAML
}
patch_db() { kubectl patch db "$2" -n "$1" --type=merge -p "$3" >/dev/null; }
# condition NS DB TYPE: "status/reason"
condition() {
  get "$1" "db/$2" "{.status.conditions[?(@.type==\"$3\")].status}/{.status.conditions[?(@.type==\"$3\")].reason}"
}
condition_is() { [[ "$(condition "$1" "$2" "$3")" == "$4" ]]; }
condition_message() { get "$1" "db/$2" "{.status.conditions[?(@.type==\"$3\")].message}"; }
phase_is() { jsonpath_is "$3" get "db/$2" -n "$1" -o 'jsonpath={.status.phase}'; }
# The status describes the current generation.
status_current() {
  [[ "$(get "$1" "db/$2" '{.status.observedGeneration}')" == "$(get "$1" "db/$2" '{.metadata.generation}')" ]]
}
# event NS DB TYPE REASON: such an Event about the Database exists.
event() {
  [[ -n "$(kubectl get events -n "$1" --field-selector \
    "involvedObject.kind=Database,involvedObject.name=$2,type=$3,reason=$4" -o name 2>/dev/null)" ]]
}
# events_count NS DB REASON: occurrences, summed over the Events: count for core/v1 Events,
# series.count for events.k8s.io/v1 ones (their core/v1 view has no count; 1 without a series).
events_count() { events_total "$1" "involvedObject.kind=Database,involvedObject.name=$2,reason=$3"; }
# The password of a credentials Secret (recorded for run.sh's log check).
read_password() {
  local p; p=$(get "$1" "secret/$2-credentials" '{.data.password}' | base64 -d 2>/dev/null)
  [[ -n "$p" ]] && echo "$p" >>"$E2E_LOGS/secrets.txt"
  echo "$p"
}
sts_image() { get "$1" "statefulset/$2" '{.spec.template.spec.containers[0].image}'; }
sts_image_is() { [[ "$(sts_image "$1" "$2")" == "$3" ]]; }
sts_replicas_is() { jsonpath_is "$3" get "statefulset/$2" -n "$1" -o 'jsonpath={.spec.replicas}'; }
sts_version() { get "$1" "statefulset/$2" '{.metadata.generation}/{.metadata.resourceVersion}'; }
pods_ready() { make_pods_ready "$1" "app.kubernetes.io/instance=$2,app.kubernetes.io/component=database"; }
reconciles() { metric controller_runtime_reconcile_total "$db_METRICS" 'controller="database"'; }
# quiet_window SECONDS: how many reconciles ran during SECONDS (a measurement, not a wait).
quiet_window() { local before; before=$(reconciles); sleep "$1"; echo $(($(reconciles) - before)); }
owner_uids() { get "$1" "$2" '{.metadata.ownerReferences[*].uid}'; }

# labels_and_owner NS DB UID KIND/NAME...: what is wrong with the labels and owner references.
labels_and_owner() {
  local ns=$1 db=$2 uid=$3 obj want problems=""; shift 3
  for obj in "$@"; do
    local engine managed instance owner
    read -r engine instance managed < <(get "$ns" "$obj" \
      '{.metadata.labels.app\.kubernetes\.io/name} {.metadata.labels.app\.kubernetes\.io/instance} {.metadata.labels.app\.kubernetes\.io/managed-by}')
    [[ "$engine/$instance/$managed" == "$e/$db/kubecoro" ]] || problems+=" $obj labels=$engine/$instance/$managed;"
    owner=$(get "$ns" "$obj" '{.metadata.ownerReferences[?(@.controller==true)].kind}/{.metadata.ownerReferences[?(@.controller==true)].uid}')
    want="Database/$uid"
    [[ "$obj" == "persistentvolumeclaim/$db-backup" || "$obj" == "secret/$db-superuser" ]] && want="/" # Retain: no owner
    [[ "$owner" == "$want" ]] || problems+=" $obj owner=$owner;"
  done
  echo "$problems"
}

# ---- 1. creation -------------------------------------------------------------------------------
for e in "${engines[@]}"; do apply_db "$ns" "$e" "$e" "${version[$e]}"; done
# Deletion test subjects start now and settle while the core flow runs.
apply_db "$dns" keep postgresql 16
apply_db "$dns" drop mysql 8.4 "deletionPolicy: Delete"
apply_db "$dns" offline mariadb 11.4

for e in "${engines[@]}"; do
  expect_eventually "$e: status written (phase Provisioning)" 30 phase_is "$ns" "$e" Provisioning
  uid=$(get "$ns" "db/$e" '{.metadata.uid}')
  check "$e: finalizer added" jsonpath_is kubecoro.dev/database-cleanup get "db/$e" -n "$ns" -o 'jsonpath={.metadata.finalizers[0]}'

  keys=$(kubectl get secret "$e-credentials" -n "$ns" -o 'go-template={{range $k, $v := .data}}{{$k}} {{end}}' 2>/dev/null)
  check "$e: Secret $e-credentials has username, password, host, port, database, uri" \
    test "$keys" == "database host password port uri username "
  password[$e]=$(read_password "$ns" "$e")
  host=$(get "$ns" "secret/$e-credentials" '{.data.host}' | base64 -d)
  uri=$(get "$ns" "secret/$e-credentials" '{.data.uri}' | base64 -d)
  check "$e: Secret has a 32-character password, host, port and a uri using them" \
    test "${#password[$e]}" -eq 32 -a "$host" == "$e.$ns.svc" \
    -a "$(get "$ns" "secret/$e-credentials" '{.data.port}' | base64 -d)" == "${port[$e]}" \
    -a "$uri" == "$([[ $e == postgresql ]] && echo postgresql || echo mysql)://app:${password[$e]}@$host:${port[$e]}/app"

  check "$e: headless Service $e-headless (clusterIP None, port ${port[$e]})" jsonpath_is "None/${port[$e]}" \
    get "service/$e-headless" -n "$ns" -o 'jsonpath={.spec.clusterIP}/{.spec.ports[0].port}'
  cip=$(get "$ns" "service/$e" '{.spec.type}/{.spec.clusterIP}/{.spec.ports[0].port}')
  check "$e: ClusterIP Service $e on port ${port[$e]} ($cip)" \
    bash -c '[[ $1 =~ ^ClusterIP/[0-9.]+/$2$ ]]' _ "$cip" "${port[$e]}"

  check "$e: StatefulSet runs ${image[$e]}:${version[$e]}" sts_image_is "$ns" "$e" "${image[$e]}:${version[$e]}"
  refs=$(get "$ns" "statefulset/$e" '{range .spec.template.spec.containers[0].env[*]}{.valueFrom.secretKeyRef.name}:{.valueFrom.secretKeyRef.key} {end}')
  check "$e: StatefulSet env reads the passwords from the two Secrets ($refs)" \
    bash -c '[[ $1 == *"$2-credentials:password "* && $1 == *"$2-superuser:password "* ]]' _ "$refs" "$e"
  check "$e: the superuser Secret is another account" bash -c \
    '[[ $(kubectl get secret -n "$1" "$2-superuser" -o jsonpath={.data.username} | base64 -d) != app ]]' _ "$ns" "$e"
  probes=$(get "$ns" "statefulset/$e" '{.spec.template.spec.containers[0].readinessProbe.exec.command[2]}|{.spec.template.spec.containers[0].livenessProbe.exec.command[2]}|{.spec.template.spec.containers[0].startupProbe.exec.command[2]}')
  check "$e: StatefulSet has readiness, liveness and startup probes" \
    bash -c 'IFS="|" read -r a b c <<<"$1"; [[ -n $a && -n $b && -n $c ]]' _ "$probes"
  check "$e: StatefulSet serviceName is the headless Service and claims 1Gi" jsonpath_is "$e-headless/1Gi" \
    get "statefulset/$e" -n "$ns" -o 'jsonpath={.spec.serviceName}/{.spec.volumeClaimTemplates[0].spec.resources.requests.storage}'
  check "$e: backup CronJob $e-backup and PVC $e-backup exist" all_exist "$ns" "cronjob/$e-backup" "pvc/$e-backup"
  check_none "$e: every child has the kubecoro labels and a controller reference (backup PVC: none)" \
    "$(labels_and_owner "$ns" "$e" "$uid" "secret/$e-credentials" "secret/$e-superuser" "configmap/$e-init" "service/$e-headless" "service/$e" \
      "statefulset/$e" "cronjob/$e-backup" "persistentvolumeclaim/$e-backup")"

  st=$(get "$ns" "db/$e" '{.status.observedGeneration}=={.metadata.generation} {.status.endpoint} {.status.secretName} {.status.currentImage}')
  check "$e: status has observedGeneration, endpoint, secretName and currentImage ($st)" \
    test "$st" == "1==1 $e.$ns.svc:${port[$e]} $e-credentials ${image[$e]}:${version[$e]}"
  check "$e: ReconcileSucceeded=True" condition_is "$ns" "$e" ReconcileSucceeded True/Succeeded
  expect_eventually "$e: a Normal Creating event" 10 event "$ns" "$e" Normal Creating
done

# ---- 2. readiness ------------------------------------------------------------------------------
for e in "${engines[@]}"; do wait_until 20 exists "$ns" "pod/$e-0" && pods_ready "$ns" "$e"; done
for e in "${engines[@]}"; do
  expect_eventually "$e: pods ready -> phase Ready, readyReplicas 1, Ready=True" 30 jsonpath_is "Ready/1/True" \
    get "db/$e" -n "$ns" -o 'jsonpath={.status.phase}/{.status.readyReplicas}/{.status.conditions[?(@.type=="Ready")].status}'
  check "$e: kubectl get db shows READY 1/1" \
    test "$(kubectl get db "$e" -n "$ns" --no-headers 2>/dev/null | awk '{print $4}')" == "1/1"
done

# ---- 3. more than one instance: PostgreSQL and MariaDB replicas; refused for MySQL until its exists
for e in "${engines[@]}"; do kubectl scale db "$e" -n "$ns" --replicas=2 >/dev/null; done
for e in mysql; do
  expect_eventually "$e: replicas 2 -> InvalidSpec (independent databases), phase Failed" 20 jsonpath_is "False/InvalidSpec/Failed" \
    get "db/$e" -n "$ns" -o 'jsonpath={.status.conditions[?(@.type=="ReconcileSucceeded")].status}/{.status.conditions[?(@.type=="ReconcileSucceeded")].reason}/{.status.phase}'
  check "$e: replicas 2 -> the message says why ($(condition_message "$ns" "$e" ReconcileSucceeded | cut -c1-60)...)" \
    bash -c '[[ $1 == "spec.replicas: 2 $2 instances would be independent databases"* ]]' _ "$(condition_message "$ns" "$e" ReconcileSucceeded)" "$e"
  check "$e: replicas 2 -> StatefulSet stays at 1, no PodDisruptionBudget" bash -c \
    'sts_replicas_is() { [[ $(kubectl get statefulset "$2" -n "$1" -o jsonpath={.spec.replicas}) == 1 ]]; }; sts_replicas_is "$1" "$2" && ! kubectl get pdb "$2" -n "$1" >/dev/null 2>&1' _ "$ns" "$e"
  kubectl scale db "$e" -n "$ns" --replicas=1 >/dev/null
done
# (Replication itself needs a real server: replication_test.sh and mariadb_failover_test.sh on the node.)
e=mariadb
expect_eventually "$e: replicas 2 -> StatefulSet 2 (OnDelete)" 20 bash -c \
  '[[ $(kubectl get statefulset "$2" -n "$1" -o jsonpath={.spec.replicas}/{.spec.updateStrategy.type}) == 2/OnDelete ]]' _ "$ns" "$e"
kubectl scale db "$e" -n "$ns" --replicas=1 >/dev/null
e=postgresql
expect_eventually "$e: replicas 2 -> StatefulSet 2 (OnDelete), PodDisruptionBudgets for the replicas and the primary" 20 bash -c \
  '[[ $(kubectl get statefulset "$2" -n "$1" -o jsonpath={.spec.replicas}/{.spec.updateStrategy.type}) == 2/OnDelete ]] && [[ $(kubectl get pdb "$2" "$2-primary" -n "$1" -o jsonpath="{.items[*].spec.selector.matchLabels.kubecoro\.dev/role}") == "replica primary" ]]' _ "$ns" "$e"
roles_set() {
  pods_ready "$ns" "$e"
  jsonpath_is "primary replica" get pods -n "$ns" -l "app.kubernetes.io/instance=$e" --sort-by=.metadata.name \
    -o 'jsonpath={.items[*].metadata.labels.kubecoro\.dev/role}'
}
expect_eventually "$e: the operator labels $e-0 primary and $e-1 replica" 60 roles_set
expect_eventually "$e: status says the primary and each instance" 30 jsonpath_is "$e-0 $e-0:primary $e-1:replica " \
  get "db/$e" -n "$ns" -o 'jsonpath={.status.currentPrimary} {range .status.instances[*]}{.name}:{.role} {end}'
check "$e: the Service $e selects the primary by name, $e-ro the replicas" jsonpath_is "$e-0 replica" \
  get "svc/$e" "svc/$e-ro" -n "$ns" -o 'jsonpath={.items[0].spec.selector.statefulset\.kubernetes\.io/pod-name} {.items[1].spec.selector.kubecoro\.dev/role}'
kubectl scale db "$e" -n "$ns" --replicas=1 >/dev/null
expect_eventually "$e: back to 1 -> StatefulSet 1, no PodDisruptionBudget, $e-0 still the primary" 30 bash -c \
  '[[ $(kubectl get statefulset "$2" -n "$1" -o jsonpath={.spec.replicas}/{.metadata.name}) == 1/$2 ]] && ! kubectl get pdb "$2" -n "$1" >/dev/null 2>&1 && ! kubectl get pdb "$2-primary" -n "$1" >/dev/null 2>&1 && [[ $(kubectl get db "$2" -n "$1" -o jsonpath={.status.currentPrimary}) == $2-0 ]]' _ "$ns" "$e"
for e in "${engines[@]}"; do
  expect_eventually "$e: back to 1 replica -> ReconcileSucceeded=True, phase Ready" 30 jsonpath_is "True/Ready" \
    get "db/$e" -n "$ns" -o 'jsonpath={.status.conditions[?(@.type=="ReconcileSucceeded")].status}/{.status.phase}'
done

# ---- 4. version change -------------------------------------------------------------------------
for e in "${engines[@]}"; do patch_db "$ns" "$e" "{\"spec\":{\"version\":\"${version2[$e]}\"}}"; done
for e in "${engines[@]}"; do
  new="${image[$e]}:${version2[$e]}"
  expect_eventually "$e: version ${version[$e]} -> ${version2[$e]} changes the StatefulSet image" 20 sts_image_is "$ns" "$e" "$new"
  expect_eventually "$e: a VersionChange event" 10 event "$ns" "$e" Normal VersionChange
  expect_eventually "$e: phase Updating while the new pod is not ready" 20 phase_is "$ns" "$e" Updating
done
for e in "${engines[@]}"; do
  wait_until 20 jsonpath_is "${image[$e]}:${version2[$e]}" get "pod/$e-0" -n "$ns" -o 'jsonpath={.spec.containers[0].image}'
  pods_ready "$ns" "$e"
done
for e in "${engines[@]}"; do
  expect_eventually "$e: updated pod ready -> phase Ready, currentImage ${image[$e]}:${version2[$e]}" 30 \
    jsonpath_is "Ready/${image[$e]}:${version2[$e]}" get "db/$e" -n "$ns" -o 'jsonpath={.status.phase}/{.status.currentImage}'
done

# ---- 5, 6. refused changes and invalid specs: said once, nothing applied, no retry storm ---------
# refused_round LABEL REASON PATCH-FOR-ENGINE-FUNCTION: applies the patch to every engine's Database,
# checks the refusal, then that the reconciles stop, then reverts.
refused_round() {
  local label=$1 reason=$2 make_patch=$3 e
  declare -A before=() undo=() warnings=()
  for e in "${engines[@]}"; do
    before[$e]=$(sts_version "$ns" "$e")
    warnings[$e]=$(events_count "$ns" "$e" "$reason")
    undo[$e]="{\"spec\":$(get "$ns" "db/$e" '{.spec}')}"
    patch_db "$ns" "$e" "$($make_patch "$e")"
  done
  for e in "${engines[@]}"; do
    expect_eventually "$e: $label -> ReconcileSucceeded=False $reason, phase Failed" 20 jsonpath_is "False/$reason/Failed" \
      get "db/$e" -n "$ns" -o "jsonpath={.status.conditions[?(@.type==\"ReconcileSucceeded\")].status}/{.status.conditions[?(@.type==\"ReconcileSucceeded\")].reason}/{.status.phase}"
    expect_eventually "$e: $label -> a Warning $reason event (\"$(condition_message "$ns" "$e" ReconcileSucceeded)\")" 10 \
      event "$ns" "$e" Warning "$reason"
  done
  local ran; ran=$(quiet_window 5)
  check "$label: no retry storm ($ran reconciles in 5 s after the refusal)" test "$ran" -le 3
  for e in "${engines[@]}"; do
    check "$e: $label -> StatefulSet untouched (generation/resourceVersion ${before[$e]})" \
      test "$(sts_version "$ns" "$e")" == "${before[$e]}"
    check "$e: $label -> one Warning event, not one per reconcile" test "$(events_count "$ns" "$e" "$reason")" -eq $((warnings[$e] + 1))
    kubectl patch db "$e" -n "$ns" --type=merge -p "${undo[$e]}" >/dev/null
  done
  for e in "${engines[@]}"; do
    expect_eventually "$e: $label reverted -> ReconcileSucceeded=True, phase Ready" 20 jsonpath_is "True/Ready" \
      get "db/$e" -n "$ns" -o 'jsonpath={.status.conditions[?(@.type=="ReconcileSucceeded")].status}/{.status.phase}'
  done
}
shrink() { echo '{"spec":{"storage":"500Mi"}}'; }
change_engine() { echo "{\"spec\":{\"engine\":\"${other_engine[$1]}\"}}"; }
bad_schedule() { echo '{"spec":{"backup":{"schedule":"61 * * * *"}}}'; }
refused_round "storage 1Gi -> 500Mi" ChangeRefused shrink
refused_round "engine change" ChangeRefused change_engine
refused_round "schedule \"61 * * * *\"" InvalidSpec bad_schedule
check "postgresql: the refused schedule never reached the CronJob" jsonpath_is "0 2 * * *" \
  get cronjob/postgresql-backup -n "$ns" -o 'jsonpath={.spec.schedule}'

sts_before=$(sts_version "$ns" postgresql)
patch_db "$ns" postgresql '{"spec":{"version":"17"}}'
expect_eventually "postgresql: major version 16 -> 17 -> ChangeRefused naming the data directory" 20 \
  bash -c '[[ $(kubectl get db postgresql -n "$1" -o "jsonpath={.status.conditions[?(@.type==\"ReconcileSucceeded\")].reason} {.status.conditions[?(@.type==\"ReconcileSucceeded\")].message}") == "ChangeRefused "*/var/lib/postgresql/16/docker* ]]' _ "$ns"
check "postgresql: major version change left the StatefulSet untouched" test "$(sts_version "$ns" postgresql)" == "$sts_before"
patch_db "$ns" postgresql "{\"spec\":{\"version\":\"${version2[postgresql]}\"}}"
expect_eventually "postgresql: major version reverted -> ReconcileSucceeded=True" 20 \
  condition_is "$ns" postgresql ReconcileSucceeded True/Succeeded

# ---- 11. volume growth the cluster cannot do (claims without a StorageClass, no default class) --
# (storage_test.sh: a class without allowVolumeExpansion, and the API server's own refusal.)
for e in "${engines[@]}"; do patch_db "$ns" "$e" '{"spec":{"storage":"2Gi"}}'; done
for e in "${engines[@]}"; do
  expect_eventually "$e: storage 1Gi -> 2Gi with no StorageClass -> ReconcileSucceeded=False VolumeExpansionNotSupported" 20 \
    condition_is "$ns" "$e" ReconcileSucceeded False/VolumeExpansionNotSupported
  msg=$(condition_message "$ns" "$e" ReconcileSucceeded)
  check "$e: the condition says why ($msg)" \
    bash -c '[[ $1 == *"claim data-$2-0 has no StorageClass and the cluster has no default one"* ]]' _ "$msg" "$e"
  check "$e: Progressing=False VolumeExpansionNotSupported (not \"Resizing\")" \
    condition_is "$ns" "$e" Progressing False/VolumeExpansionNotSupported
  expect_eventually "$e: a Warning VolumeExpansionNotSupported event" 10 event "$ns" "$e" Warning VolumeExpansionNotSupported
  check "$e: the claim still requests 1Gi" jsonpath_is 1Gi get "pvc/data-$e-0" -n "$ns" \
    -o 'jsonpath={.spec.resources.requests.storage}'
  check "$e: a refused expansion leaves the phase Ready (the database serves at its current size)" \
    phase_is "$ns" "$e" Ready
done
ran=$(quiet_window 5)
check "storage growth: no retry storm ($ran reconciles in 5 s)" test "$ran" -le 3
for e in "${engines[@]}"; do patch_db "$ns" "$e" '{"spec":{"storage":"1Gi"}}'; done
for e in "${engines[@]}"; do
  expect_eventually "$e: storage back to 1Gi -> ReconcileSucceeded=True, phase Ready" 20 jsonpath_is "True/Ready" \
    get "db/$e" -n "$ns" -o 'jsonpath={.status.conditions[?(@.type=="ReconcileSucceeded")].status}/{.status.phase}'
done

# ---- 7. paused ---------------------------------------------------------------------------------
patch_db "$ns" postgresql '{"spec":{"paused":true}}'
expect_eventually "postgresql: paused -> phase Paused, ReconcileSucceeded=True Paused" 20 jsonpath_is "Paused/True/Paused" \
  get db/postgresql -n "$ns" -o 'jsonpath={.status.phase}/{.status.conditions[?(@.type=="ReconcileSucceeded")].status}/{.status.conditions[?(@.type=="ReconcileSucceeded")].reason}'
patch_db "$ns" postgresql "{\"spec\":{\"version\":\"${version[postgresql]}\"}}"
wait_until 20 status_current "$ns" postgresql
check "postgresql: paused -> version ${version[postgresql]} (status at generation $(get "$ns" db/postgresql '{.status.observedGeneration}')) does not reach the StatefulSet" \
  sts_image_is "$ns" postgresql "postgres:${version2[postgresql]}"
patch_db "$ns" postgresql '{"spec":{"paused":false}}'
expect_eventually "postgresql: unpaused -> the StatefulSet runs version ${version[postgresql]}" 20 sts_image_is "$ns" postgresql "postgres:${version[postgresql]}"

# ---- 9. drift: deleted children come back, manual edits are reverted ---------------------------
svc_uid=$(get "$ns" service/mysql '{.metadata.uid}')
kubectl delete service mysql -n "$ns" --wait=false >/dev/null
restored() { local u; u=$(get "$1" "$2" '{.metadata.uid}'); [[ -n "$u" && "$u" != "$3" ]]; }
expect_eventually "mysql: a deleted Service is restored" 20 restored "$ns" service/mysql "$svc_uid"
sts_uid=$(get "$ns" statefulset/mysql '{.metadata.uid}')
kubectl delete statefulset mysql -n "$ns" --cascade=orphan --wait=false >/dev/null
expect_eventually "mysql: a deleted StatefulSet is restored" 30 restored "$ns" statefulset/mysql "$sts_uid"
check "mysql: the restored StatefulSet runs the spec's image" sts_image_is "$ns" mysql "mysql:${version2[mysql]}"
kubectl set image statefulset/mysql -n "$ns" database=mysql:5.7 >/dev/null
expect_eventually "mysql: a hand-edited StatefulSet image is reverted" 20 sts_image_is "$ns" mysql "mysql:${version2[mysql]}"
kubectl patch service mariadb -n "$ns" --type=json -p '[{"op":"replace","path":"/spec/ports/0/port","value":13306}]' >/dev/null
ports_are() { jsonpath_is "$3" get "service/$2" -n "$1" -o 'jsonpath={.spec.ports[*].port}'; }
expect_eventually "mariadb: a hand-edited Service port is reverted (only 3306 left)" 20 ports_are "$ns" mariadb 3306

# ---- 8, 10. restart: passwords stay; deletion while the operator is down -----------------------
for e in "${engines[@]}"; do
  check "$e: the password survived every spec update" test "$(read_password "$ns" "$e")" == "${password[$e]}"
done
for d in keep drop offline; do
  wait_until 30 exists "$dns" "pvc/data-$d-0" || fail "$d: data claim data-$d-0 created"
  wait_until 20 exists "$dns" "secret/$d-credentials"
done
offline_pw=$(read_password "$dns" offline)
stop_operator db TERM; rc=$?
check "database: SIGTERM exits 0 (got $rc)" test "$rc" -eq 0
kubectl delete db offline -n "$dns" --wait=false >/dev/null
# The finalizer holds the Database while nobody can clean up; nothing is lost meanwhile.
sleep 3
check "offline: deleted while the operator is down -> still there (Terminating)" \
  bash -c '[[ -n $(kubectl get db offline -n "$1" -o "jsonpath={.metadata.deletionTimestamp}") ]]' _ "$dns"
check "offline: ...and its claims and Secret are still there" \
  all_exist "$dns" pvc/data-offline-0 pvc/offline-backup secret/offline-credentials
start_operator db --controllers=database || fail "database: operator ready again after a restart"
for e in "${engines[@]}"; do
  check "$e: the password survived the operator restart" test "$(read_password "$ns" "$e")" == "${password[$e]}"
done
expect_eventually "offline: operator back -> cleanup ran, the Database is gone" 30 gone "$dns" db/offline
check "offline: Retain kept data claim, backup claim and Secret" \
  all_exist "$dns" pvc/data-offline-0 pvc/offline-backup secret/offline-credentials
check "offline: the kept Secret holds the same password" test "$(read_password "$dns" offline)" == "$offline_pw"

# ---- 10. deletion with Retain and Delete; 8. a re-created Database reuses the kept password ----
keep_uid=$(get "$dns" db/keep '{.metadata.uid}')
keep_pw=$(read_password "$dns" keep)
kubectl delete db keep -n "$dns" --wait=false >/dev/null
expect_eventually "keep: Retain -> the finalizer lets the Database go after cleanup" 30 gone "$dns" db/keep
check "keep: the data claim, backup claim and Secret are kept" \
  all_exist "$dns" pvc/data-keep-0 pvc/keep-backup secret/keep-credentials
check_none "keep: no kept object still refers to the deleted Database" "$(for o in pvc/data-keep-0 pvc/keep-backup secret/keep-credentials; do
  [[ "$(owner_uids "$dns" "$o")" == *"$keep_uid"* ]] && echo -n "$o "; done)"
expect_eventually "keep: an event says what was kept" 10 bash -c \
  '[[ $(kubectl get events -n "$1" --field-selector involvedObject.name=keep,reason=Retained -o "jsonpath={.items[0].message}") == *"Secret keep-credentials"*"keep-backup"*"data-keep-0"* ]]' _ "$dns"
# Garbage collection (kube-controller-manager learns new CRDs on its periodic discovery, 30 s).
expect_eventually "keep: the StatefulSet, Services and CronJob go with the Database" 60 \
  none_exist "$dns" statefulset/keep service/keep service/keep-headless cronjob/keep-backup
apply_db "$dns" keep postgresql 16
expect_eventually "keep: re-created -> the kept Secret is adopted" 20 \
  bash -c '[[ $(kubectl get secret keep-credentials -n "$1" -o "jsonpath={.metadata.ownerReferences[0].uid}") == $(kubectl get db keep -n "$1" -o "jsonpath={.metadata.uid}") ]]' _ "$dns"
check "keep: re-created -> the same password" test "$(read_password "$dns" keep)" == "$keep_pw"

kubectl delete db drop -n "$dns" --wait=false >/dev/null
expect_eventually "drop: Delete -> the Database goes" 30 gone "$dns" db/drop
# A claim goes once its pod is gone (garbage collection of the StatefulSet, then of its pods).
expect_eventually "drop: Delete -> data claim, backup claim and Secret removed" 60 \
  none_exist "$dns" pvc/data-drop-0 pvc/drop-backup secret/drop-credentials
expect_eventually "drop: a DeletedData event" 10 event "$dns" drop Normal DeletedData

# A fresh operator finds every child in place: it reconciles each Database and writes nothing.
expect_eventually "keep: re-created Database settles (ReconcileSucceeded=True)" 20 \
  condition_is "$dns" keep ReconcileSucceeded True/Succeeded
stop_operator db TERM
start_operator db --controllers=database || fail "database: operator ready after the second restart"
all_reconciled() { (($(reconciles) >= 4)); }
expect_eventually "database: restarted operator reconciles the 4 Databases" 20 all_reconciled
quiet_window 2 >/dev/null
writes=$(metric rest_client_requests_total "$db_METRICS" 'method="PATCH"')/$(metric rest_client_requests_total "$db_METRICS" 'method="POST"')
check "database: after a restart with nothing drifted, no PATCH or POST is sent (got $writes)" test "$writes" == "0/0"

# The operator lets the Databases go (finalizers) before it stops; the namespaces go on their own.
kubectl delete namespace "$ns" "$dns" --wait=false >/dev/null
no_databases() { [[ -z "$(kubectl get db -n "$ns" -o name 2>/dev/null)$(kubectl get db -n "$dns" -o name 2>/dev/null)" ]]; }
wait_until 30 no_databases || fail "database: Databases released when their namespaces are deleted"
stop_operator db TERM; rc=$?
check "database: SIGTERM exits 0 after the run (got $rc)" test "$rc" -eq 0
exit $E2E_FAILED
