#!/usr/bin/env bash
# e2e: node
# The Database operator against real PostgreSQL 15 and MariaDB 10.11 on the real node (MySQL is
# checked structurally only, by the unit tests: it has no Debian package): least-privilege
# credentials, passwords that follow the application Secret (rotation, a deleted Secret, a deleted
# superuser Secret), liveness that survives exhausted connections, spec.parameters, refused specs,
# and a bad image that is reverted.
source "$(dirname "$0")/lib.sh"
require_node dbcorrect
install_crds || fail "dbcorrect: CRDs installed"
ns=$(new_namespace dbcorrect)
start_operator dbcorrect --controllers=database || fail "dbcorrect: operator became ready"

engines=(postgresql mariadb)
declare -A db=([postgresql]=pgc [mariadb]=mac)
declare -A version=([postgresql]=15 [mariadb]=10.11)
declare -A image=([postgresql]=postgres:15 [mariadb]=mariadb:10.11)

condition() { # name type: "status reason: message"
  kubectl get -n "$ns" "db/$1" -o "jsonpath={.status.conditions[?(@.type==\"$2\")].status} {.status.conditions[?(@.type==\"$2\")].reason}: {.status.conditions[?(@.type==\"$2\")].message}" 2>/dev/null
}
condition_is() { [[ $(condition "$1" "$2") == "$3"* ]]; }
pod_uid() { kubectl get pod -n "$ns" "$1-0" -o 'jsonpath={.metadata.uid}'; }
restarts() { kubectl get pod -n "$ns" "$1-0" -o 'jsonpath={.status.containerStatuses[0].restartCount}'; }
secret_field() { kubectl get secret -n "$ns" "$1" -o "jsonpath={.data.$2}" 2>/dev/null | base64 -d; }
remember_secret() { secret_field "$1" password >>"$E2E_LOGS/secrets.txt"; echo >>"$E2E_LOGS/secrets.txt"; }

# login ENGINE DB POD USER-SECRET|- STATEMENTS [PASSWORD] [DATABASE]: runs STATEMENTS through the
# Service as the user of Secret USER-SECRET (or as "root" with PASSWORD when it is -); prints the
# rows, fails when the login or a statement fails.
login() {
  local e=$1 n=$2 pod=$3 secret=$4 statements=$5 password=${6:-} database=${7:-app} user env client
  if [[ $secret == - ]]; then
    user=root
  else
    user=$(secret_field "$secret" username)
    password=${password:-$(secret_field "$secret" password)}
  fi
  if [[ $e == postgresql ]]; then
    client='PGPASSWORD=$PW psql -h "$HOST" -U "$U" -d "$D" -v ON_ERROR_STOP=1 -tA -c "$STATEMENTS"'
  else
    client='MYSQL_PWD=$PW mariadb -h "$HOST" -u "$U" -N -B -e "$STATEMENTS" "$D"'
  fi
  env="[{name: HOST, value: $n}, {name: U, value: $user}, {name: PW, value: $(json_string "$password")},"
  env+=" {name: D, value: $database}, {name: STATEMENTS, value: $(json_string "$statements")}]"
  run_pod "$ns" "$pod" "${image[$e]}" "set -e; $client" "$env"
}

# ---- create both with parameters; refused specs -------------------------------------------------
for e in "${engines[@]}"; do
  kubectl apply -n "$ns" -f - >/dev/null <<YAML || fail "dbcorrect: $e Database applied"
apiVersion: kubecoro.dev/v1alpha1
kind: Database
metadata: {name: ${db[$e]}}
spec:
  engine: $e
  version: "${version[$e]}"
  storage: 1Gi
  backup: {enabled: false}
  parameters: {max_connections: "10"}
YAML
done
kubectl apply -n "$ns" -f - >/dev/null <<YAML || fail "dbcorrect: refused Databases applied"
apiVersion: kubecoro.dev/v1alpha1
kind: Database
metadata: {name: badparam}
spec: {engine: postgresql, version: "15", storage: 1Gi, parameters: {port: "5433"}}
---
apiVersion: kubecoro.dev/v1alpha1
kind: Database
metadata: {name: three}
spec: {engine: mysql, version: "8.4", storage: 1Gi, replicas: 3}
YAML
expect_eventually "dbcorrect: a parameter kubecoro owns is refused with InvalidSpec naming it" 60 \
  condition_is badparam ReconcileSucceeded "False InvalidSpec: spec.parameters.port: is set by kubecoro"
expect_eventually "dbcorrect: replicas: 3 is refused with InvalidSpec saying why" 60 \
  condition_is three ReconcileSucceeded "False InvalidSpec: spec.replicas: 3 mysql instances would be independent databases"
check "dbcorrect: a refused Database creates nothing" \
  eval '[[ -z $(kubectl get statefulset,secret -n "$ns" -l app.kubernetes.io/instance=three -o name) ]]'
for e in "${engines[@]}"; do
  check "dbcorrect: $e Database Ready" db_wait_ready "${db[$e]}" 300
  remember_secret "${db[$e]}-credentials"
  remember_secret "${db[$e]}-superuser"
done

# ---- parameters reach the server -------------------------------------------------------------
for e in "${engines[@]}"; do
  n=${db[$e]}
  if [[ $e == postgresql ]]; then q='SHOW max_connections;'; else q="SELECT @@max_connections;"; fi
  out=$(login "$e" "$n" "$n-show" "$n-credentials" "$q")
  check "dbcorrect: $e spec.parameters reach the server (max_connections $out)" eval '[[ $out == 10 ]]'
done

# ---- least privilege ---------------------------------------------------------------------------
for e in "${engines[@]}"; do
  n=${db[$e]}
  check "dbcorrect: $e superuser Secret is not the application Secret" eval \
    '[[ $(secret_field "$n-superuser" username) != app && $(secret_field "$n-credentials" username) == app &&
       $(secret_field "$n-superuser" password) != $(secret_field "$n-credentials" password) ]]'
  if [[ $e == postgresql ]]; then
    setup='CREATE DATABASE other;'
    other='CREATE TABLE hidden (x int); INSERT INTO hidden VALUES (31337);'
    create_role='CREATE ROLE intruder LOGIN;'
    create_db='CREATE DATABASE intruder;'
  else
    setup='CREATE DATABASE other;'
    other='CREATE TABLE hidden (x int); INSERT INTO hidden VALUES (31337);'
    create_role="CREATE USER intruder IDENTIFIED BY 'x';"
    create_db='CREATE DATABASE intruder;'
  fi
  if [[ $e == postgresql ]]; then sudb=postgres; else sudb=mysql; fi
  out=$(login "$e" "$n" "$n-su1" "$n-superuser" "$setup" "" "$sudb" 2>&1) ||
    fail "dbcorrect: $e superuser creates a database: $out"
  login "$e" "$n" "$n-su2" "$n-superuser" "$other" "" other >/dev/null || fail "dbcorrect: $e superuser fills it"
  check "dbcorrect: $e superuser reads the other database" eval \
    '[[ $(login "$e" "$n" "$n-su3" "$n-superuser" "SELECT x FROM hidden;" "" other) == 31337 ]]'
  out=$(login "$e" "$n" "$n-app1" "$n-credentials" "$create_role" 2>&1)
  check "dbcorrect: $e application user cannot create a role/user ($(tail -n 1 <<<"$out"))" \
    eval '[[ $out == *"ermission denied"* || $out == *"ccess denied"* ]]'
  out=$(login "$e" "$n" "$n-app2" "$n-credentials" "$create_db" 2>&1)
  check "dbcorrect: $e application user cannot create a database ($(tail -n 1 <<<"$out"))" \
    eval '[[ $out == *"ermission denied"* || $out == *"ccess denied"* ]]'
  out=$(login "$e" "$n" "$n-app3" "$n-credentials" "SELECT x FROM hidden;" "" other 2>&1)
  check "dbcorrect: $e application user cannot read another database ($(tail -n 1 <<<"$out"))" \
    eval '[[ $out != *31337* && ( $out == *"ermission denied"* || $out == *"ccess denied"* ) ]]'
  out=$(login "$e" "$n" "$n-app4" "$n-credentials" "CREATE TABLE mine (x int); INSERT INTO mine VALUES (7); SELECT x FROM mine;")
  check "dbcorrect: $e application user owns its database ($(tail -n 1 <<<"$out"))" eval '[[ $(tail -n 1 <<<"$out") == 7 ]]'
  if [[ $e == postgresql ]]; then
    out=$(login "$e" "$n" "$n-app5" "$n-credentials" "SELECT rolsuper::text || rolcreaterole::text || rolcreatedb::text FROM pg_roles WHERE rolname = current_user;")
    check "dbcorrect: $e application role: no superuser, CREATEROLE or CREATEDB ($out)" eval '[[ $out == falsefalsefalse ]]'
  else
    out=$(login "$e" "$n" "$n-root" - "SELECT 1;" "$(secret_field "$n-superuser" password)" 2>&1)
    check "dbcorrect: $e root is not reachable from another host ($(tail -n 1 <<<"$out"))" \
      eval '[[ $out == *"ccess denied for user '"'root'"'"* ]]'
  fi
done

# ---- rotation: a new password in the application Secret ---------------------------------------
credentials_applied() { # name: CredentialsReady=True for the Secret's current resourceVersion
  local rv; rv=$(kubectl get secret -n "$ns" "$1-credentials" -o 'jsonpath={.metadata.resourceVersion}' 2>/dev/null)
  [[ -n $rv && $(kubectl get -n "$ns" "db/$1" -o 'jsonpath={.status.credentials.secretVersion}') == "$rv" ]] &&
    condition_is "$1" CredentialsReady "True"
}
for e in "${engines[@]}"; do
  n=${db[$e]}
  old=$(secret_field "$n-credentials" password)
  uid=$(pod_uid "$n"); before=$(restarts "$n")
  new="rotated-$RANDOM-'quote\\back"
  echo "$new" >>"$E2E_LOGS/secrets.txt"
  t0=$(now_s)
  kubectl patch secret -n "$ns" "$n-credentials" --type merge -p "{\"stringData\":{\"password\":$(json_string "$new")}}" >/dev/null ||
    fail "dbcorrect: $e Secret patched"
  if wait_until 120 credentials_applied "$n"; then
    pass "dbcorrect: $e rotated password applied in $(since_s "$t0") s ($(condition "$n" CredentialsReady))"
  else
    fail "dbcorrect: $e rotated password applied: $(condition "$n" CredentialsReady)"
  fi
  check "dbcorrect: $e the new password logs in" eval '[[ $(login "$e" "$n" "$n-new" "$n-credentials" "SELECT 1;") == 1 ]]'
  check "dbcorrect: $e the old password does not" eval '! login "$e" "$n" "$n-old" "$n-credentials" "SELECT 1;" "$old" >/dev/null 2>&1'
  check "dbcorrect: $e the uri key follows the password" eval '[[ $(secret_field "$n-credentials" uri) == *"$(python3 -c "import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=\"\"))" "$new")"* ]]'
  check "dbcorrect: $e no pod restarted for the rotation" eval '[[ $(pod_uid "$n") == "$uid" && $(restarts "$n") == "$before" ]]'
done

# ---- the application Secret deleted -----------------------------------------------------------
for e in "${engines[@]}"; do
  n=${db[$e]}
  old=$(secret_field "$n-credentials" password)
  kubectl delete secret -n "$ns" "$n-credentials" >/dev/null
  t0=$(now_s)
  recreated() { [[ -n $(secret_field "$n-credentials" password) && $(secret_field "$n-credentials" password) != "$old" ]]; }
  if wait_until 60 recreated && wait_until 120 credentials_applied "$n"; then
    pass "dbcorrect: $e deleted application Secret recreated and its new password set in the server in $(since_s "$t0") s"
  else
    fail "dbcorrect: $e deleted application Secret restored: $(condition "$n" CredentialsReady)"
  fi
  remember_secret "$n-credentials"
  check "dbcorrect: $e clients get in with the restored Secret" eval '[[ $(login "$e" "$n" "$n-restored" "$n-credentials" "SELECT 1;") == 1 ]]'
  kubectl delete pod -n "$ns" "$n-0" >/dev/null
  if wait_until 30 eval '[[ $(pod_uid "$n") != "" ]]' && db_wait_ready "$n" 180; then
    pass "dbcorrect: $e pod restarted after the Secret was replaced: Ready"
  else
    fail "dbcorrect: $e pod restarted after the Secret was replaced: Ready"
  fi
  check "dbcorrect: $e restarted pod: the restored Secret still logs in, no crash-loop (restarts $(restarts "$n"))" \
    eval '[[ $(login "$e" "$n" "$n-restored2" "$n-credentials" "SELECT 1;") == 1 && $(restarts "$n") == 0 ]]'
done

no_credentials_jobs() {
  [[ -z $(kubectl get jobs,pods -n "$ns" -l app.kubernetes.io/component=credentials -o name 2>/dev/null) ]]
}
expect_eventually "dbcorrect: finished credentials Jobs are removed with their pods once recorded" 60 no_credentials_jobs

# ---- the superuser Secret deleted: refused with what to do; recreated: back ----------------------
for e in "${engines[@]}"; do
  n=${db[$e]}
  saved=$(kubectl get secret -n "$ns" "$n-superuser" -o json | python3 -c 'import json, sys
s = json.load(sys.stdin); m = s["metadata"]
s["metadata"] = {"name": m["name"], "namespace": m["namespace"], "labels": m.get("labels", {})}
print(json.dumps(s))')
  uid=$(pod_uid "$n")
  kubectl delete secret -n "$ns" "$n-superuser" >/dev/null
  expect_eventually "dbcorrect: $e superuser Secret gone: CredentialsMissing says what to do" 60 \
    condition_is "$n" ReconcileSucceeded "False CredentialsMissing: Secret $n-superuser is gone"
  check "dbcorrect: $e superuser Secret gone: no new password generated" eval '[[ -z $(secret_field "$n-superuser" password) ]]'
  check "dbcorrect: $e superuser Secret gone: a Warning event" eval \
    '[[ $(kubectl get events -n "$ns" --field-selector "involvedObject.name=$n,reason=CredentialsMissing" -o name) ]]'
  check "dbcorrect: $e superuser Secret gone: the server keeps serving" eval '[[ $(pod_uid "$n") == "$uid" ]] && db_phase_is "$n" Ready'
  kubectl create -f - <<<"$saved" >/dev/null || fail "dbcorrect: $e superuser Secret recreated"
  expect_eventually "dbcorrect: $e superuser Secret recreated: reconciled again" 90 \
    condition_is "$n" ReconcileSucceeded "True"
done

# ---- connections exhausted by the application: liveness does not restart the server -------------
# The servers serve first (a hog started while one restarts would hold nothing). The hog's errors
# go to its log: the connections beyond the limit are refused, as they should be.
for e in "${engines[@]}"; do
  db_wait_ready "${db[$e]}" 120 || fail "dbcorrect: $e Ready before its connections are exhausted"
done
declare -A hog=()
for e in "${engines[@]}"; do
  n=${db[$e]}
  if [[ $e == postgresql ]]; then
    one='PGPASSWORD=$PW psql -h "$HOST" -U app -d app -c "SELECT pg_sleep(80)" >/dev/null'
  else
    one='MYSQL_PWD=$PW mariadb -h "$HOST" -u app -e "SELECT SLEEP(80)" app >/dev/null'
  fi
  kubectl apply -n "$ns" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $n-hog}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: {runAsUser: 999, runAsGroup: 999, runAsNonRoot: true}
  containers:
  - name: c
    image: ${image[$e]}
    command: [bash, -c, $(json_string "for i in \$(seq 14); do $one & sleep 0.1; done; wait")]
    env: [{name: HOST, value: $n}, {name: PW, value: $(json_string "$(secret_field "$n-credentials" password)")}]
YAML
  hog[$e]=$(restarts "$n")
done
full=0
exhausted() { # engine: one more application login is refused for lack of connection slots
  local out pod="${db[$1]}-full$((++full))"
  out=$(login "$1" "${db[$1]}" "$pod" "${db[$1]}-credentials" "SELECT 1;" 2>&1)
  echo "$(date +%T) $pod: $out" >>"$E2E_LOGS/dbcorrect-exhausted-$1.txt"
  # PostgreSQL keeps superuser_reserved_connections for the superuser: "remaining connection slots
  # are reserved"; "too many clients" once those are taken too.
  [[ $out == *"too many"* || $out == *"Too many"* || $out == *"slots are reserved"* ]]
}
# Both engines in turn, within the hogs' 80 s.
declare -A refused=()
deadline=$((SECONDS + 60))
while ((SECONDS < deadline && ${#refused[@]} < ${#engines[@]})); do
  for e in "${engines[@]}"; do
    [[ -n ${refused[$e]:-} ]] || ! exhausted "$e" || refused[$e]=1
  done
done
for e in "${engines[@]}"; do
  if [[ -n ${refused[$e]:-} ]]; then
    pass "dbcorrect: $e connections exhausted by the application"
  else
    fail "dbcorrect: $e connections exhausted by the application (not within 60 s)"
    echo "  logins tried: $(tail -3 "$E2E_LOGS/dbcorrect-exhausted-$e.txt" | tr '\n' ' ')"
    echo "  the hog: $(kubectl get pod -n "$ns" "${db[$e]}-hog" -o 'jsonpath={.status.phase}' 2>&1)," \
      "its log: $(kubectl logs -n "$ns" "${db[$e]}-hog" 2>&1 | tail -5 | tr '\n' ' ')"
  fi
done
for e in "${engines[@]}"; do
  n=${db[$e]}
  wait_pod_done "$ns" "$n-hog" 150 >/dev/null
  check "dbcorrect: $e exhausted for 80 s (longer than liveness' 60 s): not restarted (restarts ${hog[$e]} -> $(restarts "$n"))" \
    eval '[[ $(restarts "$n") == "${hog[$e]}" ]]'
  kubectl delete pod -n "$ns" "$n-hog" --wait=false >/dev/null 2>&1
done

# ---- a bad image, then the right one: Ready again without touching pods --------------------------
for e in "${engines[@]}"; do
  n=${db[$e]}
  kubectl patch -n "$ns" "db/$n" --type merge -p "{\"spec\":{\"image\":\"${image[$e]%%:*}:no-such-tag\"}}" >/dev/null
done
for e in "${engines[@]}"; do
  n=${db[$e]}
  expect_eventually "dbcorrect: $e bad image: Progressing says RolloutStuck" 120 condition_is "$n" Progressing "False RolloutStuck"
  kubectl patch -n "$ns" "db/$n" --type json -p '[{"op": "remove", "path": "/spec/image"}]' >/dev/null
  t0=$(now_s)
  if db_wait_ready "$n" 180; then
    pass "dbcorrect: $e image reverted: Ready again in $(since_s "$t0") s without manual pod deletion"
  else
    fail "dbcorrect: $e image reverted: Ready again"
  fi
done

# ---- a backup pod that cannot be created (ResourceQuota): BackupReady=False within a schedule ----
n=${db[postgresql]}
used=$(kubectl get pods -n "$ns" --field-selector=status.phase=Running -o name | wc -l)
kubectl create quota -n "$ns" no-more-pods --hard="pods=$used" >/dev/null || fail "dbcorrect: quota created"
kubectl patch -n "$ns" "db/$n" --type merge -p '{"spec":{"backup":{"enabled":true,"schedule":"* * * * *"}}}' >/dev/null
t0=$(now_s)
if wait_until 200 condition_is "$n" BackupReady "False BackupNotStarted"; then
  pass "dbcorrect: backup pod refused by a ResourceQuota: BackupReady=False BackupNotStarted after $(since_s "$t0") s (schedule every minute)"
else
  fail "dbcorrect: backup pod refused by a ResourceQuota: BackupReady=False ($(condition "$n" BackupReady))"
fi

kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1
stop_operator dbcorrect
