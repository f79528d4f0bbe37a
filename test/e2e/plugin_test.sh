#!/usr/bin/env bash
# e2e: node
# `kubectl kubecoro` against real engines on the real node, run by kubectl as a plugin (the binary
# under test linked as kubectl-kubecoro on the PATH): status names the phase, conditions and the
# pod; connect runs psql and mariadb in the primary as the application user (writes and reads a
# row); backup --wait ends with a dump; restore makes a new Database from it holding the row;
# report writes the objects, events and logs without a password in them; bad input is refused
# with a message and a non-zero exit.
source "$(dirname "$0")/lib.sh"
require_node plugin
install_crds || fail "plugin: CRDs installed"
ns=$(new_namespace plugin)
start_operator plugin --controllers=database || fail "plugin: operator became ready"
bin=$(mktemp -d)
report=$(mktemp -d)
trap 'rm -rf "$bin" "$report"; e2e_cleanup' EXIT
ln -s "$KUBECORO_BIN" "$bin/kubectl-kubecoro"
kk() { PATH="$bin:$PATH" kubectl kubecoro "$@"; }

check "plugin: kubectl finds the plugin" bash -c 'PATH="$1:$PATH" kubectl plugin list 2>/dev/null | grep -q kubectl-kubecoro' _ "$bin"
declare -A engine=([pg]=postgresql [maria]=mariadb) version=([pg]=15 [maria]=10.11)
for d in pg maria; do
  kubectl apply -n "$ns" -f - >/dev/null <<YAML
apiVersion: kubecoro.dev/v1alpha1
kind: Database
metadata: {name: $d}
spec: {engine: ${engine[$d]}, version: "${version[$d]}", storage: 1Gi, deletionPolicy: Delete$([[ $d == maria ]] && echo ", backup: {enabled: false}")}
YAML
done
for d in pg maria; do
  db_wait_ready "$d" 240 || fail "plugin: $d Ready"
  out=$(kk status "$d" -n "$ns" 2>&1)
  check "plugin: status $d names the engine and phase" grep -q "^Database $ns/$d: ${engine[$d]} ${version[$d]}, phase Ready$" <<<"$out"
  check "plugin: status $d lists the conditions with their reasons" grep -qE '^  Ready +True +AllReplicasReady' <<<"$out"
  check "plugin: status $d lists its pod" grep -qE "^  $d-0 .*Running +ready +restarts 0" <<<"$out"
  check "plugin: status $d shows a Creating event" grep -qE 'Normal +Creating: ' <<<"$out"
done

out=$(kk connect pg -n "$ns" -- -tAc "CREATE TABLE kept(x int); INSERT INTO kept VALUES (42); SELECT sum(x) FROM kept" 2>&1)
check "plugin: connect pg runs psql as the application user ($(tail -1 <<<"$out"))" [ "$(tail -1 <<<"$out")" == 42 ]
out=$(kk connect maria -n "$ns" -- -N -e "SELECT CURRENT_USER()" 2>&1)
check "plugin: connect maria runs mariadb as the application user ($out)" grep -q '^app@' <<<"$out"
pw=$(kubectl get secret pg-credentials -n "$ns" -o 'jsonpath={.data.password}' | base64 -d)
echo "$pw" >>"$E2E_LOGS/secrets.txt" # (run.sh: in no operator log)

out=$(kk backup pg -n "$ns" --wait 2>&1) && rc=0 || rc=$?
check "plugin: backup --wait ends with this request's Job and its dump (exit $rc: $(tail -1 <<<"$out"))" \
  grep -qE '^backup done: [0-9]{8}T[0-9]{6}Z \(job pg-backup-[0-9a-f]{7}\)$' <<<"$out"
out=$(kk restore pg-copy --from pg -n "$ns" 2>&1) && rc=0 || rc=$?
check "plugin: restore creates a Database from pg's backup (exit $rc)" grep -q "^database $ns/pg-copy created from pg's backup (dump latest)" <<<"$out"
db_wait_ready pg-copy 240 || fail "plugin: pg-copy Ready"
out=$(kk connect pg-copy -n "$ns" -- -tAc "SELECT sum(x) FROM kept" 2>&1)
check "plugin: the restored Database holds the row ($(tail -1 <<<"$out"))" [ "$(tail -1 <<<"$out")" == 42 ]

out=$(kk report pg -n "$ns" --dir "$report/pg" 2>&1) && rc=0 || rc=$?
check "plugin: report writes its files (exit $rc: $out)" \
  bash -c 'for f in database statefulsets pods persistentvolumeclaims services jobs events; do [[ -s $1/$f.json ]] || exit 1; done; [[ -s $1/log-$2-pg-0.txt ]]' _ "$report/pg" "$ns"
check "plugin: the report holds no password" bash -c '! grep -rqF -- "$1" "$2"' _ "$pw" "$report/pg"

out=$(kk status nosuch -n "$ns" 2>&1) && rc=0 || rc=$?
check "plugin: a missing Database -> exit 1 and a message (${out:0:100})" bash -c '[[ $1 == 1 && $2 == *"nosuch"*"not found"* ]]' _ "$rc" "$out"
out=$(kk frobnicate pg 2>&1) && rc=0 || rc=$?
check "plugin: an unknown command -> exit 2 and the list (${out:0:100})" bash -c '[[ $1 == 2 && $2 == *"status, connect, backup, restore, report"* ]]' _ "$rc" "$out"
out=$(kk restore x -n "$ns" 2>&1) && rc=0 || rc=$?
check "plugin: restore without --from -> exit 2 ($out)" bash -c '[[ $1 == 2 && $2 == *"--from is required"* ]]' _ "$rc" "$out"
out=$(kk status pg -n "$ns" --cluster=other 2>&1) && rc=0 || rc=$?
check "plugin: a flag it does not take -> exit 2, not ignored ($out)" bash -c '[[ $1 == 2 && $2 == *"unknown flag --cluster"* ]]' _ "$rc" "$out"
out=$(kk backup maria -n "$ns" 2>&1) && rc=0 || rc=$?
check "plugin: backup of a Database with backups off -> exit 1, nothing requested ($out)" \
  bash -c '[[ $1 == 1 && $2 == *"backups off"* && -z $(kubectl get db maria -n "$3" -o "jsonpath={.metadata.annotations.kubecoro\.dev/backup-now}") ]]' _ "$rc" "$out" "$ns"
out=$(kk restore maria-copy --from maria -n "$ns" 2>&1) && rc=0 || rc=$?
check "plugin: restore from a Database without a backup -> exit 1 ($out)" bash -c '[[ $1 == 1 && $2 == *"backups off"* ]]' _ "$rc" "$out"
out=$(kk report pg -n "$ns" --dir "$report/pg" 2>&1) && rc=0 || rc=$?
check "plugin: report into a directory that is not empty -> exit 1 ($out)" bash -c '[[ $1 == 1 && $2 == *"not empty"* ]]' _ "$rc" "$out"

for d in pg maria pg-copy; do kubectl delete db "$d" -n "$ns" --wait=false >/dev/null; done
wait_until 120 bash -c '[[ -z $(kubectl get db -n "$1" -o name) ]]' _ "$ns" || fail "plugin: the Databases deleted"
stop_operator plugin
exit "$E2E_FAILED"
