#!/usr/bin/env bash
# e2e: node
# Real engines on the real node (PostgreSQL 15 and MariaDB 10.11 images built from Debian packages;
# MySQL has no Debian package and is not run here): a Database goes Ready because its pod passes its
# probes; a client pod logs in with the application Secret through the Service name and writes a row
# and a known dataset; an on-demand backup (kubecoro.dev/backup-now) writes a dump holding them; a
# new Database made from that backup (spec.bootstrap) has the rows and its own Secret logs in;
# deleting the pod, and killing the server process, show Degraded and then Ready again with the
# row intact.
source "$(dirname "$0")/lib.sh"
require_node realdb
install_crds || fail "realdb: CRDs installed"
ns=$(new_namespace realdb)
start_operator realdb --controllers=database || fail "realdb: operator became ready"

engines=(postgresql mariadb)
declare -A db=([postgresql]=pg [mariadb]=maria)
declare -A version=([postgresql]=15 [mariadb]=10.11)
declare -A image=([postgresql]=postgres:15 [mariadb]=mariadb:10.11)
declare -A applied=()

phase_is_not() { local p; p=$(db_phase "$1") && [[ -n $p && $p != "$2" ]]; }
pod_ready() {
  [[ $(kubectl get pod -n "$ns" "$1-0" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}
secret_env() { # engine name: the client's environment, every value from the application Secret
  local s=$2-credentials
  ref() { printf '{name: %s, valueFrom: {secretKeyRef: {name: %s, key: %s}}}' "$1" "$s" "$2"; }
  if [[ $1 == postgresql ]]; then
    echo "[$(ref PGHOST host), $(ref PGPORT port), $(ref PGUSER username), $(ref PGPASSWORD password), $(ref PGDATABASE database)]"
  else
    echo "[$(ref DB_HOST host), $(ref DB_PORT port), $(ref DB_USER username), $(ref MYSQL_PWD password), $(ref DB_NAME database)]"
  fi
}
# sql ENGINE NAME POD-NAME STATEMENTS: runs STATEMENTS as the application user from a client pod
# (the server's own image), connecting to the Secret's host (the Service name); prints the rows.
sql() {
  local client env
  if [[ $1 == postgresql ]]; then
    client='psql -v ON_ERROR_STOP=1 -tA -c "$STATEMENTS"'
  else
    client='mariadb -h "$DB_HOST" -P "$DB_PORT" -u "$DB_USER" -N -B -e "$STATEMENTS" "$DB_NAME"'
  fi
  env=$(secret_env "$1" "$2")
  env="${env%]}, {name: STATEMENTS, value: $(json_string "$4")}]"
  run_pod "$ns" "$3" "${image[$1]}" "set -e; $client" "$env"
}
row_value() { echo "row-$1-$(date +%s)"; }
declare -A row=()

# ---- create both, wait for Ready -------------------------------------------------------------
for e in "${engines[@]}"; do
  kubectl apply -n "$ns" -f - >/dev/null <<YAML || fail "realdb: $e Database applied"
apiVersion: kubecoro.dev/v1alpha1
kind: Database
metadata: {name: ${db[$e]}}
spec: {engine: $e, version: "${version[$e]}", storage: 1Gi, backup: {enabled: true, storage: 1Gi}}
YAML
  applied[$e]=$(now_s)
done
for e in "${engines[@]}"; do
  n=${db[$e]}
  if db_wait_ready "$n" 300; then
    pass "realdb: $e Database Ready with a real pod, $(since_s "${applied[$e]}") s after kubectl apply"
  else
    fail "realdb: $e Database Ready (not within 300 s)"
  fi
  cid=$(kubectl get pod -n "$ns" "$n-0" -o 'jsonpath={.status.containerStatuses[0].containerID}')
  check "realdb: $e pod runs in containerd ($cid) and its Ready condition is the kubelet's" \
    eval '[[ $cid == containerd://* ]] && pod_ready "$n" && node_ctr tasks ls | grep -q "^${cid#containerd://} "'
  # The probe's own command, run in the container: what makes the pod Ready really passes.
  if [[ $e == postgresql ]]; then probe='pg_isready -h 127.0.0.1 -p 5432'
  else probe='mariadb-admin -h 127.0.0.1 -P 3306 ping'; fi
  check "realdb: $e server accepts connections inside its pod (kubectl exec)" \
    kubectl exec -n "$ns" "$n-0" -- bash -c "$probe"
done

# ---- a row through the Service name, with the Secret's credentials ----------------------------
for e in "${engines[@]}"; do
  n=${db[$e]}
  row[$e]=$(row_value "$e")
  # run.sh checks that no operator log holds it.
  kubectl get secret -n "$ns" "$n-credentials" -o 'jsonpath={.data.password}' | base64 -d >>"$E2E_LOGS/secrets.txt"
  echo >>"$E2E_LOGS/secrets.txt"
  host=$(kubectl get secret -n "$ns" "$n-credentials" -o 'jsonpath={.data.host}' | base64 -d)
  out=$(sql "$e" "$n" "$n-write" "CREATE TABLE e2e (id INT PRIMARY KEY, note VARCHAR(100));
INSERT INTO e2e VALUES (1, '${row[$e]}');
SELECT note FROM e2e WHERE id = 1;")
  rc=$?
  if [[ $rc == 0 && $out == *"${row[$e]}"* ]]; then
    pass "realdb: $e client pod wrote and read a row through $host with the Secret's credentials"
  else
    fail "realdb: $e client pod wrote and read a row through $host (rc $rc): $out"
  fi
done

# ---- a known dataset: its size on the server --------------------------------------------------
declare -A data_bytes=()
for e in "${engines[@]}"; do
  n=${db[$e]}
  if [[ $e == postgresql ]]; then
    load="CREATE TABLE bulk AS SELECT g AS id, md5(g::text) AS note FROM generate_series(1, 200000) g;
SELECT 'bytes=' || pg_database_size('app');"
  else
    load="CREATE TABLE bulk (id INT PRIMARY KEY, note CHAR(32)) SELECT seq AS id, md5(seq) AS note FROM seq_1_to_200000;
SELECT CONCAT('bytes=', SUM(data_length + index_length)) FROM information_schema.tables WHERE table_schema = 'app';"
  fi
  out=$(sql "$e" "$n" "$n-load" "$load")
  if [[ $out =~ bytes=([0-9]+) ]]; then
    data_bytes[$e]=${BASH_REMATCH[1]}
    pass "realdb: $e holds 200000 rows of a known dataset (${data_bytes[$e]} bytes on the server)"
  else
    fail "realdb: $e known dataset loaded: $out"
  fi
done

# ---- an on-demand backup (kubecoro.dev/backup-now) -----------------------------------------------
backup_job() { # name: the Job the operator started for the annotation (owned by the Database)
  kubectl get jobs -n "$ns" -l "app.kubernetes.io/instance=$1,app.kubernetes.io/component=backup" -o json |
    python3 -c 'import json, sys
for j in json.load(sys.stdin)["items"]:
    if any(r["kind"] == "Database" for r in j["metadata"].get("ownerReferences", [])):
        print(j["metadata"]["name"])'
}
job_done() { [[ -n $(kubectl get job -n "$ns" "$1" -o 'jsonpath={.status.succeeded}{.status.failed}' 2>/dev/null) ]]; }
declare -A dump=()
for e in "${engines[@]}"; do
  n=${db[$e]}
  kubectl annotate -n "$ns" "db/$n" kubecoro.dev/backup-now=e2e-1 >/dev/null || fail "realdb: $e backup-now annotated"
done
for e in "${engines[@]}"; do
  n=${db[$e]}
  t0=$(now_s)
  job=
  wait_until 30 eval '[[ -n $(backup_job "$n") ]]' && job=$(backup_job "$n")
  if [[ -n $job ]] && wait_until 240 job_done "$job" &&
    [[ $(kubectl get job -n "$ns" "$job" -o 'jsonpath={.status.succeeded}') == 1 ]]; then
    pass "realdb: $e on-demand backup Job $job succeeded ($(since_s "$t0") s after the annotation)"
  else
    fail "realdb: $e on-demand backup Job started and succeeded (job '$job')"
    for p in $(kubectl get pods -n "$ns" -l job-name="$job" -o name); do node_diagnose "$ns" "${p#pod/}"; done
  fi
  check "realdb: $e status.backup.lastRequest records the request" \
    jsonpath_is e2e-1 get -n "$ns" "db/$n" -o 'jsonpath={.status.backup.lastRequest}'
  if [[ $e == postgresql ]]; then
    count='pg_restore -f - --data-only -t e2e "$d/app.dump" | grep -c "$ROW"; pg_restore -l "$d/app.dump" | grep -c "TABLE DATA public bulk"'
  else
    count='zcat "$d/app.sql.gz" | grep -c "$ROW"; zcat "$d/app.sql.gz" | grep -c "INSERT INTO .bulk."'
  fi
  out=$(run_pod "$ns" "$n-read-dump" "${image[$e]}" \
    'set -e; cd /backup; d=$(ls -1d 2*Z | tail -n 1); echo "dump=$d bytes=$(du -sb "$d" | cut -f1)"; ls "$d"; '"$count" \
    "[{name: ROW, value: \"${row[$e]}\"}]" \
    "[{name: backup, persistentVolumeClaim: {claimName: $n-backup}}]" "[{name: backup, mountPath: /backup}]")
  if [[ $out =~ dump=([0-9TZ]+)\ bytes=([0-9]+) ]] && [[ $(tail -n 2 <<<"$out" | head -n 1) -ge 1 ]]; then
    dump[$e]=${BASH_REMATCH[1]}
    pass "realdb: $e dump ${dump[$e]} holds the row and the dataset: ${BASH_REMATCH[2]} bytes for ${data_bytes[$e]:-?} bytes of data"
  else
    fail "realdb: $e dump on the backup claim holds the row: $out"
  fi
  if [[ $e == postgresql ]]; then
    check "realdb: $e dump holds globals apart from the database" eval '[[ $out == *globals.sql.gz* && $out == *app.dump* ]]'
  fi
  last_dump() { kubectl get -n "$ns" "db/$n" -o 'jsonpath={.status.backup.lastDump.name} {.status.backup.lastDump.bytes}'; }
  expect_eventually "realdb: $e status.backup.lastDump names the dump and its size" 30 \
    eval '[[ $(last_dump) == "${dump[$e]:-none} "[1-9]* ]]'
  expect_eventually "realdb: $e BackupReady=True" 30 \
    jsonpath_is True get -n "$ns" "db/$n" -o 'jsonpath={.status.conditions[?(@.type=="BackupReady")].status}'
done

# ---- restore: a new Database from the backup ------------------------------------------------------
for e in "${engines[@]}"; do
  n=${db[$e]}
  kubectl apply -n "$ns" -f - >/dev/null <<YAML || fail "realdb: $e restored Database applied"
apiVersion: kubecoro.dev/v1alpha1
kind: Database
metadata: {name: ${n}r}
spec:
  engine: $e
  version: "${version[$e]}"
  storage: 1Gi
  backup: {enabled: false}
  bootstrap: {fromBackup: {claimName: $n-backup, dump: "${dump[$e]:-latest}"}}
YAML
  applied[$e]=$(now_s)
done
for e in "${engines[@]}"; do
  n=${db[$e]}
  if db_wait_ready "${n}r" 300; then
    pass "realdb: $e Database ${n}r restored from dump ${dump[$e]:-?} and Ready in $(since_s "${applied[$e]}") s"
  else
    fail "realdb: $e Database ${n}r restored and Ready"
  fi
  out=$(sql "$e" "${n}r" "${n}r-read" "SELECT note FROM e2e WHERE id = 1; SELECT COUNT(*) FROM bulk;")
  check "realdb: $e restored Database: its own application Secret logs in and the rows are there ($out)" \
    eval '[[ $out == *"${row[$e]}"* && $out == *200000* ]]'
  check "realdb: $e restored Database has passwords of its own" eval \
    '[[ $(kubectl get secret -n "$ns" "${n}r-credentials" -o jsonpath={.data.password}) != $(kubectl get secret -n "$ns" "$n-credentials" -o jsonpath={.data.password}) ]]'
  kubectl delete -n "$ns" "db/${n}r" --wait=false >/dev/null
done

# ---- faults: the pod deleted, the server process killed ----------------------------------------
server_pid() { # name: the host pid of the database container's main process
  local cid
  cid=$(kubectl get pod -n "$ns" "$1-0" -o 'jsonpath={.status.containerStatuses[0].containerID}')
  node_ctr tasks ls | awk -v id="${cid#containerd://}" '$1 == id { print $2 }'
}
restarts() { kubectl get pod -n "$ns" "$1-0" -o 'jsonpath={.status.containerStatuses[0].restartCount}'; }
for e in "${engines[@]}"; do
  n=${db[$e]}
  uid=$(kubectl get pod -n "$ns" "$n-0" -o 'jsonpath={.metadata.uid}')
  kubectl delete pod -n "$ns" "$n-0" --wait=false >/dev/null
  t0=$(now_s)
  expect_eventually "realdb: $e pod deleted: Database Degraded" 60 db_phase_is "$n" Degraded
  new_pod() { [[ $(kubectl get pod -n "$ns" "$n-0" -o 'jsonpath={.metadata.uid}' 2>/dev/null) != "$uid" ]]; }
  if wait_until 120 new_pod && db_wait_ready "$n" 180; then
    pass "realdb: $e pod deleted: Ready again after $(since_s "$t0") s"
  else
    fail "realdb: $e pod deleted: Ready again"
  fi
  out=$(sql "$e" "$n" "$n-read-1" "SELECT note FROM e2e WHERE id = 1;")
  check "realdb: $e pod deleted: the row is intact ($out)" eval '[[ $out == *"${row[$e]}"* ]]'

  pid=$(server_pid "$n")
  before=$(restarts "$n")
  if [[ -n $pid ]] && kill -KILL "$pid"; then
    t0=$(now_s)
    pass "realdb: $e server process (host pid $pid) killed"
  else
    fail "realdb: $e server process found and killed (pid '$pid')"
  fi
  expect_eventually "realdb: $e server killed: Database not Ready" 60 phase_is_not "$n" Ready
  if db_wait_ready "$n" 180; then
    pass "realdb: $e server killed: Ready again after $(since_s "$t0") s (container restarts $before -> $(restarts "$n"))"
  else
    fail "realdb: $e server killed: Ready again"
  fi
  out=$(sql "$e" "$n" "$n-read-2" "SELECT note FROM e2e WHERE id = 1;")
  check "realdb: $e server killed: the row is intact after crash recovery ($out)" eval '[[ $out == *"${row[$e]}"* ]]'
done

kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1
stop_operator realdb
