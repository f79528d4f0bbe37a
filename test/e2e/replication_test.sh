#!/usr/bin/env bash
# e2e: node
# PostgreSQL streaming replication on the real node: a Database with replicas: 2 is a primary and a
# replica cloned from it (pg_basebackup in the init container); the replica is read-only, streams
# (its readiness), and has what the primary wrote; the Service <name> reaches the primary alone and
# <name>-ro the replica, through the application Secret's credentials; the operator labels the
# roles and reports them; a deleted replica comes back on its own data and catches up; scaling to
# 3 clones one more, and scaling to 1 removes replicas, all without touching the primary's pod; no
# server process carries the password in its arguments.
source "$(dirname "$0")/lib.sh"
require_node replication
install_crds || fail "replication: CRDs installed"
ns=$(new_namespace replication)
start_operator replication --controllers=database || fail "replication: operator became ready"

db=rep
kubectl apply -n "$ns" -f - >/dev/null <<'YAML' || fail "replication: Database applied"
apiVersion: kubecoro.dev/v1alpha1
kind: Database
metadata: {name: rep}
spec: {engine: postgresql, version: "15", storage: 1Gi, replicas: 2, backup: {enabled: false}}
YAML

# psql_in POD SQL: as the application role, inside the pod over its socket; prints the rows.
psql_in() { kubectl exec -n "$ns" "$1" -c database -- psql -XAtq -v ON_ERROR_STOP=1 -U app -d app -c "$2" 2>&1; }
# psql_su POD SQL: the same as the superuser (the statistics of other roles' sessions).
psql_su() { kubectl exec -n "$ns" "$1" -c database -- psql -XAtq -v ON_ERROR_STOP=1 -U postgres -d postgres -c "$2" 2>&1; }
pod_uid() { kubectl get pod -n "$ns" "$1" -o 'jsonpath={.metadata.uid}/{.status.containerStatuses[0].restartCount}' 2>/dev/null; }
# The pods behind a Service's endpoints, sorted by name (the API lists them in the order of their
# IPs, which need not be their names' order once the node reuses freed addresses).
endpoints_are() {
  [[ $(kubectl get endpoints -n "$ns" "$1" -o 'jsonpath={.subsets[*].addresses[*].targetRef.name}' 2>/dev/null | tr ' ' '\n' | sort | xargs) == "$2" ]]
}
rows_on() { [[ $(psql_in "$1" "SELECT count(*) FROM t") == "$2" ]]; }
ready_is() { jsonpath_is "$1" get "db/$db" -n "$ns" -o 'jsonpath={.status.ready}/{.status.phase}'; }

start=$(now_s)
if db_wait_ready "$db" 300 && wait_until 60 ready_is "2/2/Ready"; then
  pass "replication: replicas 2 -> Ready 2/2 in $(since_s "$start") s (a primary, and a replica that streams)"
else
  fail "replication: replicas 2 -> Ready 2/2 (is $(db_phase "$db"))"
  node_diagnose "$ns" "$db-1"
  kubectl logs -n "$ns" "$db-1" -c instance 2>&1 | tail -5
fi
check "replication: $db-1 was cloned from the primary by its init container" \
  grep -q "kubecoro: $db-1 is a copy of $db-0 and starts as its replica" <<<"$(kubectl logs -n "$ns" "$db-1" -c instance 2>&1)"
check "replication: pods labelled $db-0 primary, $db-1 replica" jsonpath_is "primary replica" \
  get pods -n "$ns" "$db-0" "$db-1" -o 'jsonpath={.items[*].metadata.labels.kubecoro\.dev/role}'
check "replication: status.currentPrimary and instances say the same, both ready" \
  jsonpath_is "$db-0 $db-0:primary:true $db-1:replica:true " \
  get "db/$db" -n "$ns" -o 'jsonpath={.status.currentPrimary} {range .status.instances[*]}{.name}:{.role}:{.ready} {end}'
check "replication: kubectl get db shows the primary" \
  grep -q "$db-0" <<<"$(kubectl get db "$db" -n "$ns" --no-headers 2>&1)"
check "replication: the primary is not in recovery, the replica is" \
  test "$(psql_in "$db-0" 'SELECT pg_is_in_recovery()')/$(psql_in "$db-1" 'SELECT pg_is_in_recovery()')" == "f/t"
check "replication: the primary streams to $db-1 (pg_stat_replication)" \
  test "$(psql_su "$db-0" "SELECT application_name || ':' || state || ':' || sync_state FROM pg_stat_replication")" == "$db-1:streaming:async"
expect_eventually "replication: endpoints: $db -> $db-0, $db-ro -> $db-1" 30 \
  bash -c "$(declare -f jsonpath_is endpoints_are); ns=$ns; endpoints_are $db $db-0 && endpoints_are $db-ro $db-1"

# ---- writes on the primary reach the replica; the replica refuses writes -------------------------
psql_in "$db-0" "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 100) g" >/dev/null ||
  fail "replication: table written on the primary"
expect_eventually "replication: the 100 rows written on the primary are on the replica" 30 rows_on "$db-1" 100
out=$(psql_in "$db-1" "INSERT INTO t VALUES (1000, 'x')")
check "replication: the replica refuses a write (${out:0:80})" grep -q "read-only transaction" <<<"$out"

# ---- through the Services, with the application Secret ----------------------------------------
client_env() { # SERVICE: the Secret's credentials, the host replaced by SERVICE
  local s=$db-credentials
  ref() { printf '{name: %s, valueFrom: {secretKeyRef: {name: %s, key: %s}}}' "$1" "$s" "$2"; }
  echo "[{name: PGHOST, value: $1.$ns.svc}, $(ref PGPORT port), $(ref PGUSER username), $(ref PGPASSWORD password), $(ref PGDATABASE database)]"
}
out=$(run_pod "$ns" client-rw postgres:15 'psql -XAt -c "SELECT pg_is_in_recovery(), count(*) FROM t"' "$(client_env "$db")")
check "replication: as app through $db: the primary, 100 rows ($out)" test "$out" == "f|100"
out=$(run_pod "$ns" client-ro postgres:15 'psql -XAt -c "SELECT pg_is_in_recovery(), count(*) FROM t"' "$(client_env "$db-ro")")
check "replication: as app through $db-ro: a replica, 100 rows ($out)" test "$out" == "t|100"

# ---- no password in any server process's arguments --------------------------------------------
pw=$(kubectl get secret -n "$ns" "$db-superuser" -o 'jsonpath={.data.password}' | base64 -d)
for p in "$db-0" "$db-1"; do
  args=$(kubectl exec -n "$ns" "$p" -c database -- bash -c 'for f in /proc/[0-9]*/cmdline; do tr "\0" " " <"$f"; echo; done' 2>/dev/null)
  check "replication: $p: the superuser password is in no process's arguments ($(grep -c . <<<"$args") processes)" \
    bash -c '[[ -n $1 && -n $2 && $1 != *"$2"* && $1 == *primary_conninfo* ]]' _ "$args" "$pw"
done

# ---- a deleted replica comes back on its own data and catches up --------------------------------
primary_before=$(pod_uid "$db-0")
kubectl delete pod -n "$ns" "$db-1" --wait=false >/dev/null
psql_in "$db-0" "INSERT INTO t SELECT g, 'row ' || g FROM generate_series(101, 200) g" >/dev/null ||
  fail "replication: rows written while the replica is away"
replica_back() { [[ $(kubectl get pod -n "$ns" "$db-1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]] && rows_on "$db-1" 200; }
expect_eventually "replication: the replica, deleted, is back, streaming, with the 100 rows written meanwhile" 120 replica_back
check "replication: it restarted on its own data (no second clone)" \
  grep -q "kubecoro: $db-1 starts as a replica of $db-0" <<<"$(kubectl logs -n "$ns" "$db-1" -c instance 2>&1)"
expect_eventually "replication: relabelled replica, in $db-ro again" 60 \
  bash -c "$(declare -f jsonpath_is endpoints_are); ns=$ns; endpoints_are $db-ro $db-1"

# ---- scale up and down without touching the primary ---------------------------------------------
kubectl scale db "$db" -n "$ns" --replicas=3 >/dev/null
start=$(now_s)
if wait_until 180 ready_is "3/3/Ready"; then
  pass "replication: scaled to 3 -> Ready 3/3 in $(since_s "$start") s"
else
  fail "replication: scaled to 3 -> Ready 3/3 (is $(kubectl get db "$db" -n "$ns" -o 'jsonpath={.status.ready}/{.status.phase}'))"
  node_diagnose "$ns" "$db-2"
fi
check "replication: $db-2 has every row" rows_on "$db-2" 200
expect_eventually "replication: $db-ro -> $db-1 $db-2" 30 \
  bash -c "$(declare -f jsonpath_is endpoints_are); ns=$ns; endpoints_are $db-ro '$db-1 $db-2'"
kubectl scale db "$db" -n "$ns" --replicas=1 >/dev/null
gone() { ! kubectl get pod -n "$ns" "$db-1" >/dev/null 2>&1 && ! kubectl get pod -n "$ns" "$db-2" >/dev/null 2>&1; }
# (240 s: the v1.20 kubelet sometimes removes a stopped pod's object only after a minute or two.)
expect_eventually "replication: scaled to 1 -> the replicas' pods are gone, Ready 1/1" 240 \
  bash -c "$(declare -f gone jsonpath_is ready_is); ns=$ns; db=$db; gone && ready_is 1/1/Ready"
check "replication: the primary's pod was never touched (same pod, no restart)" test "$(pod_uid "$db-0")" == "$primary_before"
check "replication: the primary still has every row and takes writes" \
  test "$(psql_in "$db-0" "INSERT INTO t VALUES (201, 'after'); SELECT count(*) FROM t")" == "201"
check "replication: $db-ro has no endpoints left" endpoints_are "$db-ro" ""

kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1
stop_operator replication

exit $E2E_FAILED
