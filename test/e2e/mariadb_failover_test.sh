#!/usr/bin/env bash
# e2e: node
# MariaDB replication, switchover and failover on the real node. A Database with replicas: 3 in
# synchronous mode (semi-synchronous commits) is a primary and two replicas seeded from it (a dump
# with its GTID position, imported on first start) that the operator points at the Service <name>;
# replicas are read-only for the application, ready while they replicate, behind <name>-ro. Then,
# with a client writing a numbered row about every 50 ms through the Service (each acknowledged id
# logged) and a sampler asking every member about every 100 ms whether it accepts writes: a
# switchover on request; the primary's pod deleted; its server frozen (SIGSTOP) past the failover
# delay, then resumed; a rolling update (replicas one at a time, then a switchover); a replica that
# cannot replicate any more (error 1236), copied from the primary again. For each: the
# time until writes succeed again, 0 acknowledged ids missing, never two members accepting writes,
# the old primary replicating again, the Services right.
# KUBECORO_E2E_LONG=1 adds SIGKILL of the primary's server and the operator killed in the middle of
# a switchover and of a failover. The times are figures (FIGURE lines, RELIABILITY.md), not
# assertions.
source "$(dirname "$0")/lib.sh"
require_node mariadb_failover
install_crds || fail "mariadb failover: CRDs installed"
ns=$(new_namespace mariadb-failover)
start_operator mariadb_failover --controllers=database || fail "mariadb failover: operator became ready"

db=mha
kubectl apply -n "$ns" -f - >/dev/null <<YAML || fail "mariadb failover: Database applied"
apiVersion: kubecoro.dev/v1alpha1
kind: Database
metadata: {name: $db}
spec: {engine: mariadb, version: "10.11", storage: 1Gi, replicas: 3, backup: {enabled: false},
       replication: {synchronous: true}}
YAML

# as_app POD SQL: as the application user, inside the pod over TCP (the image's app password).
as_app() { kubectl exec -n "$ns" "$1" -c database -- bash -c 'MYSQL_PWD=$MARIADB_PASSWORD mariadb -h 127.0.0.1 -u app -N -B app -e "$1"' _ "$2" 2>&1; }
as_root() { kubectl exec -n "$ns" "$1" -c database -- bash -c 'MYSQL_PWD=$MARIADB_ROOT_PASSWORD mariadb --protocol=socket -u root -N -B -e "$1"' _ "$2" 2>&1; }
members=3
label="mariadb failover" figure="mariadb " operator=mariadb_failover
present_ids() { as_app "$(status_of '{.status.currentPrimary}')" "SELECT id FROM w ORDER BY 1"; }
source "$(dirname "$0")/failover_lib.sh"
start=$(now_s)
if db_wait_ready "$db" 400 && wait_until 120 settled; then
  pass "mariadb failover: replicas 3 -> Ready 3/3 in $(since_s "$start") s (a primary, two replicas replicating)"
else
  fail "mariadb failover: replicas 3 -> Ready 3/3 (is $(status_of '{.status.ready}/{.status.phase}'))"
  node_diagnose "$ns" "$db-1"
  kubectl logs -n "$ns" "$db-1" -c database 2>&1 | tail -20
fi
check "mariadb failover: $db-1 was seeded from the primary on its first start" \
  grep -q "kubecoro: $db-1 is a copy of $db-0 at GTID" <<<"$(kubectl logs -n "$ns" "$db-1" -c database 2>&1)"
check "mariadb failover: server_id from the ordinal, read_only on the replicas only" \
  test "$(for m in 0 1 2; do as_root "$db-$m" 'SELECT CONCAT(@@server_id, ":", @@read_only)'; done | tr "\n" " ")" == "1:OFF 2:ON 3:ON "
check "mariadb failover: pods labelled $db-0 primary, the others replica" jsonpath_is "primary replica replica" \
  get pods -n "$ns" "$db-0" "$db-1" "$db-2" -o 'jsonpath={.items[*].metadata.labels.kubecoro\.dev/role}'
as_app "$db-0" "CREATE TABLE w (id int PRIMARY KEY, at timestamp(3) DEFAULT current_timestamp(3))" >/dev/null ||
  fail "mariadb failover: table created"
as_app "$db-0" "INSERT INTO w(id) VALUES (-3), (-2)" >/dev/null
expect_eventually "mariadb failover: rows written on the primary reach both replicas" 30 bash -c \
  "$(declare -f as_app); ns=$ns; [[ \$(as_app $db-1 'SELECT count(*) FROM w')/\$(as_app $db-2 'SELECT count(*) FROM w') == 2/2 ]]"
out=$(as_app "$db-1" "INSERT INTO w(id) VALUES (1000)")
check "mariadb failover: a replica refuses the application's write (${out:0:90})" grep -q "read-only" <<<"$out"
expect_eventually "mariadb failover: status.instances report each member's GTID position and a replica's lag" 20 bash -c \
  '[[ $(kubectl get db/$1 -n $2 -o "jsonpath={range .status.instances[*]}{.gtidPosition}:{.lagTransactions} {end}") =~ ^0-1-[0-9]+:\ 0-1-[0-9]+:0\ 0-1-[0-9]+:0\ $ ]]' _ "$db" "$ns"
check "mariadb failover: synchronous: the primary's semi-sync is on with both replicas as clients" test \
  "$(as_root "$db-0" "SELECT GROUP_CONCAT(VARIABLE_VALUE ORDER BY VARIABLE_NAME) FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN ('RPL_SEMI_SYNC_MASTER_CLIENTS', 'RPL_SEMI_SYNC_MASTER_STATUS')")" == "2,ON"
expect_eventually "mariadb failover: synchronous: both replicas recorded as synchronous standbys" 20 \
  jsonpath_is "$db-1 $db-2" get "db/$db" -n "$ns" -o 'jsonpath={.status.replication.synchronousStandbys[*]}'
pw=$(kubectl get secret -n "$ns" "$db-superuser" -o 'jsonpath={.data.password}' | base64 -d)
args=$(kubectl exec -n "$ns" "$db-1" -c database -- bash -c 'for f in /proc/[0-9]*/cmdline; do tr "\0" " " <"$f"; echo; done' 2>/dev/null)
check "mariadb failover: the superuser password is in no process's arguments" \
  bash -c '[[ -n $1 && -n $2 && $1 != *"$2"* && $1 == *gtid_strict_mode* ]]' _ "$args" "$pw"

# pid_of POD: the pod's mariadbd on this machine (the node is local).
pid_of() { local p; for p in $(pgrep -x mariadbd); do tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "POD_NAME=$1" && echo "$p"; done | head -n 1; }
# Both replicas frozen: a commit is not acknowledged (semi-sync never falls back); thawed, it is.
frozen="$(pid_of "$db-1") $(pid_of "$db-2")"
if [[ $(wc -w <<<"$frozen") == 2 ]]; then
  kill -STOP $frozen
  timeout 5 kubectl exec -n "$ns" "$db-0" -c database -- bash -c 'MYSQL_PWD=$MARIADB_PASSWORD mariadb -h 127.0.0.1 -u app app -e "INSERT INTO w(id) VALUES (-1)"' >/dev/null 2>&1
  waited=$?
  kill -CONT $frozen
  check "mariadb failover: synchronous: with both replicas frozen a commit is not acknowledged (still waiting after 5 s: exit $waited)" test "$waited" == 124
  expect_eventually "mariadb failover: synchronous: thawed, the commit is there" 30 bash -c \
    "$(declare -f as_app); ns=$ns; [[ \$(as_app $db-0 'SELECT count(*) FROM w WHERE id = -1') == 1 ]]"
else
  fail "mariadb failover: the replicas' server processes found ($frozen)"
fi

# ---- the client: a writer through the Service and a sampler of every member ---------------------
kubectl apply -n "$ns" -f - >/dev/null <<YAML || fail "mariadb failover: client started"
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: {runAsUser: 999, runAsGroup: 999, runAsNonRoot: true}
  containers:
  - name: c
    image: mariadb:10.11
    env:
    - {name: DB_HOST, valueFrom: {secretKeyRef: {name: $db-credentials, key: host}}}
    - {name: DB_USER, valueFrom: {secretKeyRef: {name: $db-credentials, key: username}}}
    - {name: MYSQL_PWD, valueFrom: {secretKeyRef: {name: $db-credentials, key: password}}}
    command:
    - bash
    - -c
    - |
      (i=0; while :; do i=\$((i + 1))
         if mariadb --no-defaults --connect-timeout=1 -h "\$DB_HOST" -u "\$DB_USER" app -e "INSERT INTO w(id) VALUES (\$i)" >/dev/null 2>&1; then echo "ack \$i \$(date +%s.%N)"; else echo "err \$i \$(date +%s.%N)"; fi
         sleep 0.05; done) &
      while :; do line="sample \$(date +%s.%N)"
        for m in $db-0 $db-1 $db-2; do
          w=\$(mariadb --no-defaults --connect-timeout=1 -h "\$m.$db-headless.$ns.svc" -u "\$DB_USER" -N -B -e "SELECT IF(@@read_only, 'f', 't')" 2>/dev/null)
          line+=" \$m:\${w:-x}"
        done
        echo "\$line"; sleep 0.1; done
YAML
expect_eventually "mariadb failover: the client writes through the Service" 60 bash -c "$(declare -f client_log acks_after); ns=$ns; (( \$(acks_after 0) > 5 ))"

# lost NAME: 0 acknowledged ids missing (synchronous mode).
lost() { check "mariadb failover: $1: 0 acknowledged writes lost (synchronous)" test "$LAST_MISSING" == 0; }

# rejoined POD: the former primary replicates from the current one, with every acknowledged row.
rejoined() {
  local seen
  seen=$(as_root "$1" "SELECT @@read_only")
  check "mariadb failover: $2: the former primary $1 is read-only and replicates again" \
    bash -c "[[ '$seen' == 1 && \$(kubectl get db/$db -n $ns -o 'jsonpath={.status.instances[?(@.name==\"$1\")].ready}') == true ]]"
}

# ---- 1. switchover to mha-1 with the writer running: no acknowledged write lost ------------------
t=$(now_s)
kubectl annotate db "$db" -n "$ns" kubecoro.dev/switchover-to=$db-1 >/dev/null
expect_eventually "mariadb failover: switchover: $db-1 becomes the primary" 150 primary_is "$db-1"
settle switchover 150
report switchover "$t"
lost switchover
rejoined "$db-0" switchover
check "mariadb failover: switchover: events say it" grep -q SwitchoverDone <<<"$(kubectl get events -n "$ns" --field-selector involvedObject.name=$db -o 'jsonpath={.items[*].reason}')"

# ---- 2. the primary's pod deleted -------------------------------------------------------------
primary_pod_deleted
[[ $(status_of '{.status.currentPrimary}') == "$FAULT_OLD" ]] || rejoined "$FAULT_OLD" "primary pod deleted"

# ---- 3. the primary frozen (SIGSTOP) past the failover delay, then resumed ------------------------
frozen_primary
rejoined "$FAULT_OLD" "frozen primary"

# ---- 4. a rolling update (a parameter): replicas one at a time, then a switchover ----------------
old=$(status_of '{.status.currentPrimary}')
t=$(now_s)
kubectl patch db "$db" -n "$ns" --type=merge -p '{"spec":{"parameters":{"max_connections":"120"}}}' >/dev/null
if wait_until 300 rolled; then
  pass "mariadb failover: rolling update: every member on the new revision, settled ($(since_s "$t") s)"
else
  fail "mariadb failover: rolling update: not rolled ($(kubectl get pods -n "$ns" -l app.kubernetes.io/instance=$db -o 'jsonpath={range .items[*]}{.metadata.name}:{.metadata.labels.controller-revision-hash} {end}'))"
fi
report "rolling update" "$t"
lost "rolling update"
check "mariadb failover: rolling update: the primary moved by a switchover (was $old, now $(status_of '{.status.currentPrimary}'))" \
  bash -c "[[ $(status_of '{.status.currentPrimary}') != $old ]]"
check "mariadb failover: rolling update: max_connections 120 on every member" test \
  "$(for m in 0 1 2; do as_root "$db-$m" 'SELECT @@max_connections'; done | tr '\n' ' ')" == "120 120 120 "

# ---- 5. a replica that cannot replicate any more is copied from the primary again ---------------
# As root (read_only does not stop root) a replica commits what the primary does not have, then
# reconnects: the primary refuses it (error 1236), as it refuses a former primary that diverged.
r=$(status_of '{.status.instances[?(@.role=="replica")].name}' | awk '{ print $1 }')
uid=$(kubectl get pod -n "$ns" "$r" -o 'jsonpath={.metadata.uid}')
t=$(now_s)
as_root "$r" "INSERT INTO app.w(id) VALUES (-100); STOP SLAVE; START SLAVE" >/dev/null
expect_eventually "mariadb failover: reseed: a Reseeding event says why $r is copied again" 60 bash -c \
  "kubectl get events -n $ns --field-selector reason=Reseeding -o 'jsonpath={.items[*].message}' | grep -q '$r cannot replicate from .*1236'"
settle reseed 300
report reseed "$t"
check "mariadb failover: reseed: $r is a new pod whose init container moved its data aside" bash -c \
  "[[ \$(kubectl get pod -n $ns $r -o 'jsonpath={.metadata.uid}') != $uid ]] && kubectl logs -n $ns $r -c instance | grep -q 'its data is moved aside to /volume/diverged-'"
check "mariadb failover: reseed: the row only $r had is gone, it replicates the primary's" \
  test "$(as_app "$r" 'SELECT count(*) FROM w WHERE id = -100')/$(as_app "$r" 'SELECT count(*) > 100 FROM w')" == "0/1"
expect_eventually "mariadb failover: reseed: the request is forgotten" 30 \
  jsonpath_is "" get "db/$db" -n "$ns" -o 'jsonpath={.status.replication.reseed}'

if [[ ${KUBECORO_E2E_LONG:-0} == 1 ]]; then long_faults; fi

kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1
stop_operator mariadb_failover
exit $E2E_FAILED
