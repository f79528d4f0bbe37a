#!/usr/bin/env bash
# Databases under faults, on a real control plane (issue #7 items 1, 2, 5 and 8):
#   1. kube-apiserver SIGKILLed and restarted while 200 Databases converge;
#   2. spec updates, deletions and creations around a forced 410 Gone (etcd compaction + API server
#      restart), then etcd SIGKILLed while the next updates converge;
#   3. data safety: passwords never change (hashes compared, never printed); deletion while the
#      operator is down (Retain keeps Secret and claims, detached; Delete removes nothing until the
#      operator is back);
#   4. leader failover: two replicas, the leader SIGKILLed during convergence; the other takes over
#      within about one lease, and the API server's audit log shows that no write of the new leader
#      precedes the last write of the old one (each replica names itself in its User-Agent);
#      then the new leader frozen (SIGSTOP) past its lease and thawed: it exits (lost leadership)
#      and no write of it is accepted after the next leader's first.
# Converged means: every child present once and matching the spec, owned by the live Database,
# status current (observedGeneration = generation, phase, ReconcileSucceeded=True), no orphan
# (a child whose owner is gone), no child re-created (same uid before and after each fault).
# There is no kubelet: pods never run, so the phase to expect is Provisioning.
#   KUBECORO_E2E_LONG=1  500 Databases instead of 200, 100 instead of 40 for the failover.
# Needs KUBECORO_CONTROLPLANE_DIR (test/controlplane/with-controlplane.sh).
# shellcheck disable=SC2154,SC2317 # <name>_METRICS are set by start_operator; helpers run via check/wait_until
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
CP=$E2E_ROOT/test/controlplane/controlplane.sh
STATE=$E2E_ROOT/test/e2e/db_state.py
if [[ -z "${KUBECORO_CONTROLPLANE_DIR:-}" ]]; then
  echo "SKIP dbsafety: restarting kube-apiserver and etcd needs the local control plane (KUBECORO_CONTROLPLANE_DIR)"
  exit 0
fi
install_crds || fail "dbsafety: CRDs installed"
N=200 NF=40
[[ "${KUBECORO_E2E_LONG:-0}" == 1 ]] && N=500 NF=100
work=$(mktemp -d /tmp/kubecoro-e2e-dbsafety.XXXXXX)
audit=$KUBECORO_CONTROLPLANE_DIR/logs/audit-dbsafety.log
namespaces=()
restore_controlplane() { # a failed check must not leave a component stopped
  "$CP" status "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null | grep -q '^etcd: stopped' &&
    "$CP" start-etcd "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null
  "$CP" status "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null | grep -q '^apiserver: stopped' &&
    KUBECORO_AUDIT_LOG=$audit "$CP" start-apiserver "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null
  return 0
}
cleanup_dbsafety() {
  stop_all_operators
  restore_controlplane
  local ns; for ns in "${namespaces[@]}"; do kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1; done
  rm -rf "$work"
}
trap cleanup_dbsafety EXIT
info() { echo "INFO dbsafety: $*"; }
source "$KUBECORO_CONTROLPLANE_DIR/ports.env"
etcd=http://127.0.0.1:$ETCD_PORT

# dbs_yaml FROM TO [VARIANT]: Databases db-FROM..TO; the engine cycles through the three, every
# 4th has no backup, every 5th has deletionPolicy Delete. VARIANT 1 or 2: a spec update
# (another shutdown timeout and backup schedule).
dbs_yaml() {
  local i engines=(postgresql mysql mariadb) versions=(16 8.0 11.4) e extra
  for ((i = $1; i <= $2; i++)); do
    e=$((i % 3)) extra=""
    ((i % 5 == 0)) && extra+=", deletionPolicy: Delete"
    case ${3:-0} in
      1) extra+=", shutdownTimeoutSeconds: 120" ;;
      2) extra+=", shutdownTimeoutSeconds: 150" ;;
    esac
    if ((i % 4 == 0)); then
      extra+=", backup: {enabled: false}"
    elif [[ ${3:-0} != 0 ]]; then
      extra+=", backup: {schedule: \"$((10 + ${3:-0})) 3 * * *\"}"
    fi
    printf -- '---\napiVersion: kubecoro.dev/v1alpha1\nkind: Database\nmetadata: {name: db-%d}\nspec: {engine: %s, version: "%s", storage: 1Gi%s}\n' \
      "$i" "${engines[e]}" "${versions[e]}" "$extra"
  done
}
# snapshot NS FILE: Databases and every kind of child of NS as one JSON List.
snapshot() {
  kubectl get databases,secrets,services,statefulsets,cronjobs,poddisruptionbudgets,persistentvolumeclaims \
    -n "$1" -o json >"$2.tmp" 2>/dev/null && mv "$2.tmp" "$2"
}
state() { snapshot "$1" "$work/state.json" && python3 "$STATE" "$2" "${@:3}" <"$work/state.json"; }
db_count() { kubectl get databases -n "$1" -o name 2>/dev/null | wc -l; }
# converged NS COUNT: COUNT Databases, all converged, nothing orphaned (problems in $work/problems).
converged() {
  state "$1" problems Provisioning >"$work/problems" || return 1
  [[ ! -s "$work/problems" && $(python3 -c 'import json,sys; print(sum(i["kind"] == "Database" for i in json.load(sys.stdin)["items"]))' <"$work/state.json") -eq "$2" ]]
}
# await_converged NAME NS COUNT SECONDS: one check; polls every second; prints the first problems.
await_converged() {
  local deadline=$((SECONDS + $4))
  until converged "$2" "$3"; do
    if ((SECONDS >= deadline)); then
      fail "$1 (not within $4 s: $(wc -l <"$work/problems") problems, e.g. $(head -n 3 "$work/problems" | tr '\n' ';'))"
      return 1
    fi
    sleep 1
  done
  pass "$1"
}
statuses() { kubectl get databases -n "$1" -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' 2>/dev/null | grep -c .; }
at_least_statuses() { (($(statuses "$1") >= $2)); }
reconciles() { metric controller_runtime_reconcile_total "$(port_of "$1" METRICS)" 'controller="database"'; }
port_of() { local v="${1}_$2"; echo "${!v}"; }
relists() { grep -F '"msg":"watch expired: relisting"' "$E2E_LOGS/$1.log" 2>/dev/null | grep -cF "\"resource\":\"$2\""; }
# changed_lines BEFORE AFTER: lines "<key> <value>" of BEFORE whose key is in AFTER with another value.
changed_lines() { awk 'FNR == NR { v[$1] = $2; next } ($1 in v) && v[$1] != $2 { print $1 }' "$1" "$2"; }
missing_lines() { awk 'FNR == NR { v[$1] = 1; next } { if (!($1 in v)) print $1 }' "$2" "$1"; }
# check_none NAME PROBLEMS: PASS when PROBLEMS is empty, else FAIL naming the first ones.
check_none() { if [[ -z "$2" ]]; then pass "$1"; else fail "$1: $(echo "$2" | head -n 5 | tr '\n' ' ')"; fi; }
record_secrets() { # the passwords, for run.sh's check that no log holds one
  kubectl get secrets -n "$1" -o json 2>/dev/null | python3 -c '
import base64, json, sys
for s in json.load(sys.stdin)["items"]:
    p = (s.get("data") or {}).get("password")
    if p and s["metadata"]["name"].endswith("-credentials"): print(base64.b64decode(p).decode())' >>"$E2E_LOGS/secrets.txt"
}

# ---- 1. kube-apiserver SIGKILLed while N Databases converge ------------------------------------
ns=$(new_namespace dbsafe); namespaces+=("$ns")
dbs_yaml 1 "$N" >"$work/dbs.yaml"
# Created before the operator starts, so that the fault hits it in the middle of the work.
kubectl apply --server-side -n "$ns" -f "$work/dbs.yaml" >/dev/null || fail "dbsafety: kubectl apply of $N Databases"
t_apply=$(now_s)
start_operator op --controllers=database --namespace="$ns" || fail "dbsafety: operator became ready"
wait_until 120 at_least_statuses "$ns" $((N / 4))
state "$ns" passwords >"$work/pw-early"
done_at_kill=$(reconciles op)
with_status=$(statuses "$ns")
KUBECORO_STOP_GRACE=0 "$CP" stop-apiserver "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null
t_kill=$(now_s)
# From now on the API server keeps an audit log of writes (used by part 4).
KUBECORO_AUDIT_LOG=$audit "$CP" start-apiserver "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null ||
  fail "dbsafety: kube-apiserver started again"
t0=$(now_s)
info "kube-apiserver SIGKILLed $(awk -v a="$t_apply" -v b="$t_kill" 'BEGIN { printf "%.1f", b - a }')s after the operator started," \
  "$with_status of $N Databases with a status, $done_at_kill reconciles done; back (ready) after $(since_s "$t_kill")s"
await_converged "dbsafety: after the kube-apiserver SIGKILL all $N Databases converge (children, status, no orphan)" "$ns" "$N" 300
info "$N Databases converged $(since_s "$t0")s after kube-apiserver was back ($(since_s "$t_apply")s after the operator started);" \
  "$(metric controller_runtime_reconcile_errors_total "$op_METRICS" 'controller="database"') reconcile errors retried," \
  "$(reconciles op) reconciles, $(log_count op "watch failed") watch failures logged"
check "dbsafety: the operator never exited (API server restart)" operator_alive op
record_secrets "$ns"
state "$ns" passwords >"$work/pw"
state "$ns" uids >"$work/uids"
check "dbsafety: one credentials Secret per Database ($(wc -l <"$work/pw") for $N)" test "$(wc -l <"$work/pw")" -eq "$N"
check_none "dbsafety: the passwords made before the restart did not change" "$(changed_lines "$work/pw-early" "$work/pw")"
check_none "dbsafety: no password of before the restart lost" "$(missing_lines "$work/pw-early" "$work/pw")"

# ---- 2a. 410 Gone under load: updates, deletions and creations around a compaction + restart ----
relists0=$(relists op databases)
gone_retain=(db-1 db-2 db-3) gone_delete=(db-5 db-10)
for d in "${gone_retain[@]}" "${gone_delete[@]}"; do wait_until 60 kubectl get -n "$ns" "pvc/data-$d-0"; done
dbs_yaml 1 $((N / 2)) 1 >"$work/update1.yaml"
kubectl apply --server-side -n "$ns" -f "$work/update1.yaml" >/dev/null || fail "dbsafety: kubectl apply of $((N / 2)) updates"
# Writes to another kind move etcd's revision past every watch of the operator; compaction drops
# the history, and the restarted API server answers a resumed watch with 410 Gone.
for i in $(seq 1 20); do printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: bump-%d}\n' "$i"; done |
  kubectl apply --server-side -n "$ns" -f - >/dev/null
revision=$(curl -fsS -X POST "$etcd/v3/kv/range" -d '{"key":"AA=="}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
check "dbsafety: etcd compacted to revision $revision" curl -fsS -o /dev/null -X POST "$etcd/v3/kv/compaction" \
  -d "{\"revision\":\"$revision\",\"physical\":true}"
"$CP" stop-apiserver "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null
KUBECORO_AUDIT_LOG=$audit "$CP" start-apiserver "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null ||
  fail "dbsafety: kube-apiserver restarted"
t0=$(now_s)
# Deleted and created while the operator's watches are down: retain (db-1, db-2, db-3) and
# delete (db-5, db-10); db-N+1..N+5 are new.
kubectl delete databases -n "$ns" "${gone_retain[@]}" "${gone_delete[@]}" --wait=false >/dev/null
dbs_yaml $((N + 1)) $((N + 5)) | kubectl apply --server-side -n "$ns" -f - >/dev/null
relisted() { (($(relists op databases) > relists0)); }
expect_eventually "dbsafety: the Database watch gets 410 Gone and relists" 90 relisted
relist_after=$(since_s "$t0")
await_converged "dbsafety: after the 410 Gone every Database converges (updates, deletions, creations)" "$ns" "$N" 240
info "410 Gone with $((N / 2)) updates in flight: relist ${relist_after}s after the API server was back;" \
  "converged $(since_s "$t0")s after it"
check "dbsafety: the operator never exited (410 Gone)" operator_alive op

# ---- 2b. etcd SIGKILLed while the next updates converge ------------------------------------------
dbs_yaml $((N / 2 + 1)) "$N" 2 >"$work/update2.yaml"
before=$(reconciles op)
kubectl apply --server-side -n "$ns" -f "$work/update2.yaml" >/dev/null || fail "dbsafety: kubectl apply of $((N / 2)) updates"
some_done() { (($(reconciles op) >= before + N / 8)); }
wait_until 60 some_done
KUBECORO_STOP_GRACE=0 "$CP" stop-etcd "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null
t_stop=$(now_s)
done_at_stop=$(($(reconciles op) - before))
sleep 3 # the fault's duration, not a wait for a condition
"$CP" start-etcd "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null || fail "dbsafety: etcd started again"
t0=$(now_s)
info "etcd SIGKILLed for $(awk -v a="$t_stop" -v b="$t0" 'BEGIN { printf "%.1f", b - a }')s," \
  "$done_at_stop reconciles of the $((N / 2)) updates done when it stopped"
await_converged "dbsafety: after the etcd SIGKILL every Database converges" "$ns" "$N" 240
info "converged $(since_s "$t0")s after etcd was back;" \
  "$(metric controller_runtime_reconcile_errors_total "$op_METRICS" 'controller="database"') reconcile errors retried in all"
check "dbsafety: the operator never exited (etcd restart)" operator_alive op

# What the faults did not do: change a password, re-create a child, keep a deleted one's data.
record_secrets "$ns"
state "$ns" passwords >"$work/pw2"
state "$ns" uids >"$work/uids2"
check_none "dbsafety: no password changed across the faults and the spec updates" "$(changed_lines "$work/pw" "$work/pw2")"
check_none "dbsafety: no child re-created (same uid) across the faults" \
  "$(changed_lines "$work/uids" "$work/uids2" | grep -vE "/db-($(IFS='|'; echo "${gone_retain[*]}|${gone_delete[*]}" | sed 's/db-//g'))(-|$)")"
kept() { local d; for d in "${gone_retain[@]}"; do echo "Secret/$d-credentials"; ((${d#db-} % 4)) && echo "PersistentVolumeClaim/$d-backup"; echo "PersistentVolumeClaim/data-$d-0"; done; }
state "$ns" owners >"$work/owners"
check_none "dbsafety: Retain: the deleted Databases' Secrets and claims are kept, with no owner left" \
  "$(kept | while read -r o; do grep -qx "$o -" "$work/owners" || echo "$o: $(grep "^$o " "$work/owners" || echo gone)"; done)"
check_none "dbsafety: Retain: the kept Secrets hold the same password" \
  "$(for d in "${gone_retain[@]}"; do grep "^$d-credentials " "$work/pw" | cmp -s - <(grep "^$d-credentials " "$work/pw2") || echo "$d"; done)"
expect_eventually "dbsafety: Delete: the deleted Databases' Secrets and claims are removed" 60 \
  bash -c "! kubectl get -n $ns secret/db-5-credentials secret/db-10-credentials pvc/db-5-backup pvc/data-db-5-0 pvc/data-db-10-0 -o name 2>/dev/null | grep -q ."

# ---- 3. deletion while the operator is down; passwords across an operator restart ---------------
stop_operator op TERM; rc=$?
check "dbsafety: SIGTERM exits 0 after the faults (got $rc)" test "$rc" -eq 0
down_retain=(db-6 db-7) down_delete=(db-15 db-20)
for d in "${down_retain[@]}" "${down_delete[@]}"; do wait_until 30 kubectl get -n "$ns" "pvc/data-$d-0"; done
kubectl delete databases -n "$ns" "${down_retain[@]}" "${down_delete[@]}" --wait=false >/dev/null
sleep 5 # the operator is down for this long; nothing may go meanwhile
held=$(kubectl get databases -n "$ns" "${down_retain[@]}" "${down_delete[@]}" -o jsonpath='{range .items[*]}{.metadata.deletionTimestamp}{"\n"}{end}' 2>/dev/null | grep -c .)
check "dbsafety: operator down: the 4 deleted Databases are held by the finalizer (Terminating: $held)" test "$held" -eq 4
down_children() { local d; for d in "$@"; do echo "secret/$d-credentials pvc/data-$d-0"; ((${d#db-} % 4)) && echo "pvc/$d-backup"; done; }
# shellcheck disable=SC2046 # word splitting wanted
all_there() { kubectl get -n "$ns" $(down_children "$@") -o name >/dev/null; }
check "dbsafety: operator down: no Secret or claim deleted, Retain or Delete" all_there "${down_retain[@]}" "${down_delete[@]}"
start_operator op --controllers=database --namespace="$ns" || fail "dbsafety: operator ready again"
t0=$(now_s)
none_left() { [[ -z $(kubectl get databases -n "$ns" "${down_retain[@]}" "${down_delete[@]}" -o name --ignore-not-found 2>/dev/null) ]]; }
expect_eventually "dbsafety: operator back: the 4 Databases are cleaned up and go" 60 none_left
info "deletion while the operator was down: cleaned up $(since_s "$t0")s after it was back"
state "$ns" owners >"$work/owners2"
check "dbsafety: Retain (deleted while down): Secret and claims kept" all_there "${down_retain[@]}"
# What Retain keeps (Secret, claims) has no owner left; the rest (CronJob, Services, StatefulSet)
# keeps its ownerReference and goes with the garbage collector, in its own time.
check_none "dbsafety: Retain (deleted while down): nothing kept refers to the deleted Database" \
  "$(grep -E "^(Secret|PersistentVolumeClaim)/(data-)?($(IFS='|'; echo "${down_retain[*]}"))(-credentials|-backup|-0) " "$work/owners2" | grep -v ' -$')"
retained_event() { [[ $(kubectl get events -n "$ns" --field-selector involvedObject.name=db-6,reason=Retained -o 'jsonpath={.items[0].message}' 2>/dev/null) == *"Secret db-6-credentials"*"data-db-6-0"* ]]; }
expect_eventually "dbsafety: Retain (deleted while down): an event names what was kept" 20 retained_event
expect_eventually "dbsafety: Delete (deleted while down): removed once the operator is back" 60 \
  bash -c "! kubectl get -n $ns secret/db-15-credentials secret/db-20-credentials pvc/data-db-15-0 pvc/data-db-20-0 -o name 2>/dev/null | grep -q ."
left=$((N - ${#down_retain[@]} - ${#down_delete[@]}))
await_converged "dbsafety: the restarted operator keeps the other $left Databases converged" "$ns" "$left" 120
state "$ns" passwords >"$work/pw3"
check_none "dbsafety: no password changed across the operator restart" "$(changed_lines "$work/pw" "$work/pw3")"
kubectl delete namespace "$ns" --wait=false >/dev/null # the operator releases the finalizers meanwhile

# ---- 4. leader failover: two replicas, the leader SIGKILLed during convergence -------------------
nsf=$(new_namespace dbsafe-lead); namespaces+=("$nsf")
lease=dbsafety-$RANDOM
identity() { sed -n 's/.*"msg":"waiting to become leader".*"identity":"\([^"]*\)".*/\1/p' "$E2E_LOGS/$1.log" | tail -n 1; }
holder() { kubectl get lease "$lease" -n "$nsf" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
holder_is() { [[ -n "$1" && "$(holder)" == "$1" ]]; }
elect=(--controllers=database --namespace="$nsf" --leader-elect --leader-election-id="$lease" --leader-election-namespace="$nsf")
start_operator lead1 "${elect[@]}" || fail "dbsafety: replica 1 ready"
id1=$(identity lead1)
expect_eventually "dbsafety: replica 1 ($id1) leads" 30 holder_is "$id1"
start_operator lead2 "${elect[@]}" || fail "dbsafety: replica 2 ready (standby)"
id2=$(identity lead2)
check "dbsafety: the two replicas have distinct identities ($id1, $id2)" test -n "$id1" -a -n "$id2" -a "$id1" != "$id2"
dbs_yaml 1 "$NF" | kubectl apply --server-side -n "$nsf" -f - >/dev/null
wait_until 60 at_least_statuses "$nsf" $((NF / 4))
record_secrets "$nsf"
state "$nsf" passwords >"$work/fpw"
stop_operator lead1 KILL 2>/dev/null
t_kill=$(now_s)
info "leader SIGKILLed with $(statuses "$nsf") of $NF Databases with a status"
# During the failover nobody leads: a spec update, a Retain and a Delete deletion wait for the
# new leader.
dbs_yaml 11 20 1 | kubectl apply --server-side -n "$nsf" -f - >/dev/null
wait_until 30 kubectl get -n "$nsf" pvc/data-db-6-0 pvc/data-db-5-0
kubectl delete databases -n "$nsf" db-6 db-5 --wait=false >/dev/null
# became_leader NAME: when NAME logged "became leader" (epoch seconds).
became_leader() { date -d "$(sed -n 's/^{"ts":"\([^"]*\)".*"msg":"became leader".*/\1/p' "$E2E_LOGS/$1.log" | tail -n 1)" +%s.%N; }
if wait_until 40 holder_is "$id2"; then
  took=$(awk -v a="$t_kill" -v b="$(became_leader lead2)" 'BEGIN { printf "%.1f", b - a }')
  info "replica 2 became leader ${took}s after the SIGKILL (its log; lease 15 s, retry 2 s)"
  check "dbsafety: replica 2 takes over within one lease and two retries of the SIGKILL (${took}s <= 20 s)" \
    awk -v t="$took" 'BEGIN { exit !(t <= 20) }'
else
  fail "dbsafety: replica 2 takes over within 40 s of the SIGKILL"
fi
t0=$(now_s)
await_converged "dbsafety: after the failover the new leader converges all $((NF - 2)) Databases" "$nsf" $((NF - 2)) 120
info "converged $(since_s "$t0")s after the new leader took the lease"
state "$nsf" passwords >"$work/fpw2"
check_none "dbsafety: no password changed across the leader change" "$(changed_lines "$work/fpw" "$work/fpw2")"
state "$nsf" owners >"$work/fowners"
check_none "dbsafety: Retain (deleted during the failover): Secret and claims kept, detached" \
  "$(for o in Secret/db-6-credentials PersistentVolumeClaim/db-6-backup PersistentVolumeClaim/data-db-6-0; do grep -qx "$o -" "$work/fowners" || echo "$o"; done)"
expect_eventually "dbsafety: Delete (deleted during the failover): Secret and claims removed" 60 \
  bash -c "! kubectl get -n $nsf secret/db-5-credentials pvc/data-db-5-0 pvc/db-5-backup -o name 2>/dev/null | grep -q ."
# The audit log: the writes of each replica (its identity is in its User-Agent).
writes() { # writes IDENTITY: "<received> <completed> <code> <resource>" per write, oldest first
  python3 - "$audit" "$1" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("stage") == "ResponseComplete" and sys.argv[2] in e.get("userAgent", ""):
        print(e["requestReceivedTimestamp"], e["stageTimestamp"], e.get("responseStatus", {}).get("code", 0),
              e.get("objectRef", {}).get("resource", "?"))
EOF
}
writes "$id1" | sort >"$work/w1"
writes "$id2" | sort >"$work/w2"
last1=$(awk '{ print $2 }' "$work/w1" | sort | tail -n 1)
first2=$(head -n 1 "$work/w2" | awk '{ print $1 }')
info "audit: replica 1 wrote $(wc -l <"$work/w1") times (last done $last1), replica 2 $(wc -l <"$work/w2") times (first received $first2," \
  "$(head -n 1 "$work/w2" | awk '{ print $4 }'))"
check "dbsafety: audit: the old leader's writes are there ($(grep -vc ' leases$' "$work/w1") besides the lease)" \
  test "$(grep -vc ' leases$' "$work/w1")" -gt 0
check "dbsafety: audit: the new leader wrote the children after the failover ($(grep -vc ' leases$' "$work/w2") besides the lease)" \
  test "$(grep -vc ' leases$' "$work/w2")" -gt 0
check "dbsafety: audit: the new leader's first write is the lease" test "$(head -n 1 "$work/w2" | awk '{ print $4 }')" == leases
check "dbsafety: audit: every write of the old leader was done before the new leader's first ($last1 < $first2)" \
  test -n "$last1" -a -n "$first2" -a "$last1" \< "$first2"
check "dbsafety: audit: the standby wrote nothing before the SIGKILL" \
  test "$(awk -v t="$(date -u -d "@${t_kill%.*}" +%Y-%m-%dT%H:%M:%S)" '$1 < t' "$work/w2" | wc -l)" -eq 0
check "dbsafety: the new leader never exited" operator_alive lead2

# ---- 4b. the leader frozen (SIGSTOP) past its lease, then thawed ---------------------------------
# The frozen leader's sockets hold the watch events of updates made meanwhile; once thawed it must
# see that its lease is gone and exit before it writes anything.
start_operator lead3 "${elect[@]}" || fail "dbsafety: replica 3 ready (standby)"
id3=$(identity lead3)
kill -STOP "${E2E_PIDS[lead2]}"
t_stop=$(now_s)
dbs_yaml 21 30 2 | kubectl apply --server-side -n "$nsf" -f - >/dev/null
if wait_until 40 holder_is "$id3"; then
  info "leader frozen (SIGSTOP): replica 3 holds the lease $(since_s "$t_stop")s later"
else
  fail "dbsafety: replica 3 takes over within 40 s of the SIGSTOP"
fi
await_converged "dbsafety: with the old leader frozen, the new one converges the updates" "$nsf" $((NF - 2)) 120
kill -CONT "${E2E_PIDS[lead2]}"
t_cont=$(now_s)
exited() { ! operator_alive "$1"; }
expect_eventually "dbsafety: the thawed old leader exits" 30 exited lead2
info "the thawed old leader exited $(since_s "$t_cont")s after SIGCONT"
stop_operator lead2 TERM 2>/dev/null; rc=$?
check "dbsafety: the thawed old leader exits 1, lost leadership (got $rc)" \
  test "$rc" -eq 1 -a "$(log_count lead2 "lost leadership; exiting")" -eq 1
writes "$id2" | sort >"$work/w2"
writes "$id3" | sort >"$work/w3"
first3=$(head -n 1 "$work/w3" | awk '{ print $1 }')
late=$(awk -v t="$first3" '$1 > t && $3 < 400' "$work/w2")
info "audit: replica 2 (thawed) sent $(awk -v t="$first3" '$1 > t' "$work/w2" | wc -l) writes after replica 3's first" \
  "($first3), $(printf '%s' "$late" | grep -c .) of them accepted"
check_none "dbsafety: audit: no write of the thawed old leader accepted after the new leader's first" "$late"
check "dbsafety: the newest leader never exited" operator_alive lead3

# The namespaces go; each operator releases its Databases (finalizers) before it stops.
kubectl delete namespace "$nsf" --wait=false >/dev/null
no_databases() { [[ -z "$(kubectl get databases -n "$1" -o name 2>/dev/null)" ]]; }
expect_eventually "dbsafety: the leader releases the Databases of a deleted namespace" 120 no_databases "$nsf"
stop_operator lead3 TERM; rc=$?
check "dbsafety: the leader exits 0 at SIGTERM (got $rc)" test "$rc" -eq 0
expect_eventually "dbsafety: the operator releases the Databases of a deleted namespace" 180 no_databases "$ns"
stop_operator op TERM
exit $E2E_FAILED
