#!/usr/bin/env bash
# e2e: node
# Real engines on the real node (PostgreSQL 15 and MariaDB 10.11 images built from Debian packages;
# MySQL has no Debian package and is not run here): a Database goes Ready because its pod passes its
# probes; a client pod logs in with the credentials Secret through the Service name and writes and
# reads a row; a Job made from the backup CronJob writes a dump holding that row to the backup
# claim; deleting the pod, and killing the server process, show Degraded and then Ready again with
# the row intact.
source "$(dirname "$0")/lib.sh"
if ! node_present; then
  fail "realdb: needs the node (KUBECORO_NODE=1 with test/controlplane/with-controlplane.sh)"
  exit 1
fi
install_crds || fail "realdb: CRDs installed"
ns=$(new_namespace realdb)
start_operator realdb --controllers=database || fail "realdb: operator became ready"

engines=(postgresql mariadb)
declare -A db=([postgresql]=pg [mariadb]=maria)
declare -A version=([postgresql]=15 [mariadb]=10.11)
declare -A image=([postgresql]=postgres:15 [mariadb]=mariadb:10.11)
declare -A applied=()

phase() { kubectl get -n "$ns" "db/$1" -o 'jsonpath={.status.phase}' 2>/dev/null; }
phase_is() { [[ $(phase "$1") == "$2" ]]; }
phase_is_not() { local p; p=$(phase "$1") && [[ -n $p && $p != "$2" ]]; }
pod_ready() {
  [[ $(kubectl get pod -n "$ns" "$1-0" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}
# wait_ready NAME SECONDS: the Database is Ready; otherwise says why its pod is not.
wait_ready() {
  if wait_until "$2" phase_is "$1" Ready; then return 0; fi
  echo "  Database $1 is $(phase "$1"): $(kubectl get -n "$ns" "db/$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].message}')"
  node_diagnose "$ns" "$1-0"
  return 1
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
  if wait_ready "$n" 300; then
    pass "realdb: $e Database Ready with a real pod, $(since_s "${applied[$e]}") s after kubectl apply"
  else
    fail "realdb: $e Database Ready (not within 300 s)"
  fi
  cid=$(kubectl get pod -n "$ns" "$n-0" -o 'jsonpath={.status.containerStatuses[0].containerID}')
  check "realdb: $e pod runs in containerd ($cid) and its Ready condition is the kubelet's" \
    eval '[[ $cid == containerd://* ]] && pod_ready "$n" && node_ctr tasks ls | grep -q "^${cid#containerd://} "'
  # The probe's own command, run in the container: what makes the pod Ready really passes.
  if [[ $e == postgresql ]]; then probe='pg_isready -h 127.0.0.1 -p 5432'
  else probe='MYSQL_PWD=$MARIADB_PASSWORD mariadb -h 127.0.0.1 -u "$MARIADB_USER" -e "SELECT 1"'; fi
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

# ---- a backup Job made from the CronJob --------------------------------------------------------
job_from_cronjob() { # name: prints a Job made from the CronJob's template, as `kubectl create job --from` does
  kubectl get cronjob -n "$ns" "$1-backup" -o json | python3 -c '
import json, sys
cj = json.load(sys.stdin)
t = cj["spec"]["jobTemplate"]
meta = {"name": sys.argv[1], "labels": t.get("metadata", {}).get("labels", {}),
        "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
        "ownerReferences": [{"apiVersion": cj["apiVersion"], "kind": "CronJob", "name": cj["metadata"]["name"],
                             "uid": cj["metadata"]["uid"], "controller": True}]}
print(json.dumps({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": t["spec"]}))' "$1-backup-e2e"
}
job_done() { [[ -n $(kubectl get job -n "$ns" "$1" -o 'jsonpath={.status.succeeded}{.status.failed}' 2>/dev/null) ]]; }
for e in "${engines[@]}"; do
  n=${db[$e]}
  job_from_cronjob "$n" | kubectl apply -n "$ns" -f - >/dev/null || fail "realdb: $e backup Job created from the CronJob"
  t0=$(now_s)
  if wait_until 240 job_done "$n-backup-e2e" &&
    [[ $(kubectl get job -n "$ns" "$n-backup-e2e" -o 'jsonpath={.status.succeeded}') == 1 ]]; then
    pass "realdb: $e backup Job from the CronJob succeeded in $(since_s "$t0") s"
  else
    fail "realdb: $e backup Job from the CronJob succeeded"
    for p in $(kubectl get pods -n "$ns" -l job-name="$n-backup-e2e" -o name); do node_diagnose "$ns" "${p#pod/}"; done
  fi
  out=$(run_pod "$ns" "$n-read-dump" "${image[$e]}" \
    'set -e; cd /backup; ls -l; for f in *.sql.gz; do echo "$f: $(zcat "$f" | grep -c "$ROW") rows with the value"; done' \
    "[{name: ROW, value: \"${row[$e]}\"}]" \
    "[{name: backup, persistentVolumeClaim: {claimName: $n-backup}}]" "[{name: backup, mountPath: /backup}]")
  if [[ $out =~ \.sql\.gz:\ [1-9][0-9]*\ rows ]]; then
    pass "realdb: $e dump on the backup claim holds the row"
  else
    fail "realdb: $e dump on the backup claim holds the row: $out"
  fi
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
  expect_eventually "realdb: $e pod deleted: Database Degraded" 60 phase_is "$n" Degraded
  new_pod() { [[ $(kubectl get pod -n "$ns" "$n-0" -o 'jsonpath={.metadata.uid}' 2>/dev/null) != "$uid" ]]; }
  if wait_until 30 new_pod && wait_ready "$n" 180; then
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
  if wait_ready "$n" 180; then
    pass "realdb: $e server killed: Ready again after $(since_s "$t0") s (container restarts $before -> $(restarts "$n"))"
  else
    fail "realdb: $e server killed: Ready again"
  fi
  out=$(sql "$e" "$n" "$n-read-2" "SELECT note FROM e2e WHERE id = 1;")
  check "realdb: $e server killed: the row is intact after crash recovery ($out)" eval '[[ $out == *"${row[$e]}"* ]]'
done

kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1
stop_operator realdb
