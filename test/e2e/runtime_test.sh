#!/usr/bin/env bash
# The operator runtime on a real control plane, with HelloWorlds as a cheap workload:
#   1. 300 objects converge, once each (no duplicate writes);
#   2. a watch resuming from a compacted resourceVersion gets 410 Gone and relists, with changes
#      made around the relist, and nothing is lost;
#   3. resync reverts drift and sends no write when nothing drifted;
#   4. two operators with --leader-elect: one reconciles, the other takes over after SIGKILL,
#      SIGTERM releases the lease.
# Prints PASS/FAIL lines and INFO lines with the measured figures. Needs KUBECORO_CONTROLPLANE_DIR
# (test/controlplane/with-controlplane.sh) for part 2.
# shellcheck disable=SC2154,SC2317 # <name>_METRICS/_HEALTH are set by start_operator; helpers run via check/wait_until
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
CP=$E2E_ROOT/test/controlplane/controlplane.sh
install_crds
work=$(mktemp -d /tmp/kubecoro-e2e-runtime.XXXXXX)
namespaces=()
cleanup_runtime() {
  stop_all_operators
  ((${#watch_pids[@]})) && kill "${watch_pids[@]}" 2>/dev/null
  local ns; for ns in "${namespaces[@]}"; do kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1; done
  rm -rf "$work"
}
trap cleanup_runtime EXIT
info() { echo "INFO runtime: $*"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }

# ---- 1. converge many ---------------------------------------------------------------------------
ns=$(new_namespace rt-many); namespaces+=("$ns")
ns2=$(new_namespace rt-gone); namespaces+=("$ns2")
# Only the namespaces of this test: objects of other tests' namespaces being deleted are no load here.
start_operator many --controllers=helloworld --namespace="$ns,$ns2" || fail "runtime: operator became ready"
# Every write to the ConfigMaps and HelloWorlds of the namespace, as the API server reports it: a
# watch from the resourceVersion of a list taken now misses nothing, however late it connects.
# raw_watch PATH OUT: starts it in the background; its pid is appended to watch_pids.
watch_pids=()
raw_watch() {
  local rv
  rv=$(kubectl get --raw "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
  kubectl get --raw "$1?watch=1&resourceVersion=$rv&timeoutSeconds=600" >"$2" 2>/dev/null &
  watch_pids+=($!)
}
# events FILE: "TYPE name" per event, and the Ready condition's lastTransitionTime if there is one.
events() {
  python3 -c 'import json, sys
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue  # a line cut short when the watch was stopped
    o = e["object"]
    ready = [c for c in (o.get("status") or {}).get("conditions", []) if c.get("type") == "Ready"]
    print(e["type"], o["metadata"]["name"], *[c.get("lastTransitionTime", "") for c in ready])' "$1"
}
raw_watch "/api/v1/namespaces/$ns/configmaps" "$work/cm-events"
raw_watch "/apis/kubecoro.dev/v1alpha1/namespaces/$ns/helloworlds" "$work/hw-events"
helloworlds_yaml hw 1 300 hello >"$work/many.yaml"
patches0=$(metric rest_client_requests_total "$many_METRICS" 'method="PATCH"')
t0=$(now_s)
kubectl apply -n "$ns" -f "$work/many.yaml" >/dev/null || fail "runtime: kubectl apply of 300 HelloWorlds"
applied_in=$(since_s "$t0")
expect_eventually "runtime: 300 HelloWorlds converge (ConfigMap holds the message, Ready=True, observedGeneration 1)" \
  180 hw_converged "$ns" 300
took=$(since_s "$t0")
reconciles=$(metric controller_runtime_reconcile_total "$many_METRICS" 'controller="helloworld"')
patches=$(($(metric rest_client_requests_total "$many_METRICS" 'method="PATCH"') - patches0))
created=$(metric rest_client_requests_total "$many_METRICS" 'code="201",method="PATCH"')
info "300 HelloWorlds converged ${took}s after kubectl apply began (apply itself ${applied_in}s);" \
  "$reconciles reconciles = $(ratio "$reconciles" "$took") reconciles/s; $patches PATCH requests" \
  "(ConfigMap applies + status applies)"
check "runtime: observedGeneration is 1 everywhere" test \
  "$(kubectl get helloworlds -n "$ns" -o jsonpath='{range .items[*]}{.status.observedGeneration}{"\n"}{end}' | sort -u)" = 1
cms=$(kubectl get configmaps -n "$ns" -o name | grep -c '^configmap/hw-')
check "runtime: exactly 300 ConfigMaps (got $cms)" test "$cms" -eq 300
wrong=$(kubectl get configmaps -n "$ns" -o jsonpath='{range .items[*]}{.metadata.name}={.data.message}{"\n"}{end}' |
  awk -F= '/^hw-/ { n = substr($1, 4); if ($2 != "hello-" n) print }' | wc -l)
check "runtime: each ConfigMap holds its own HelloWorld's message ($wrong wrong)" test "$wrong" -eq 0
# Events arrive in order: once the watches show a marker created now, they have shown all before it.
kubectl create configmap marker-cm -n "$ns" >/dev/null
helloworlds_yaml marker-hw 1 1 marker | kubectl apply -n "$ns" -f - >/dev/null
wait_until 20 grep -q '"name":"marker-cm"' "$work/cm-events"
wait_until 20 grep -q '"name":"marker-hw-1"' "$work/hw-events"
kill "${watch_pids[@]}" 2>/dev/null; wait "${watch_pids[@]}" 2>/dev/null; watch_pids=()
events "$work/cm-events" | sed '/ marker-cm$/,$d' >"$work/cm-list"
events "$work/hw-events" | sed '/ marker-hw-1 /,$d' >"$work/hw-list"
added=$(grep -c '^ADDED hw-' "$work/cm-list")
modified=$(grep -c '^MODIFIED hw-' "$work/cm-list")
hw_modified=$(grep -c '^MODIFIED hw-' "$work/hw-list")
# HelloWorlds whose status was written more than once, with the Ready lastTransitionTime of each write.
rewritten=$(awk '$1 == "MODIFIED" { n[$2]++; t[$2] = t[$2] " " $3 } END { for (k in n) if (n[k] > 1) print k ":" t[k] }' "$work/hw-list" | sort)
most=$(awk '$1 == "MODIFIED" { n[$2]++ } END { m = 0; for (k in n) if (n[k] > m) m = n[k]; print m + 0 }' "$work/hw-list")
info "watch events: ConfigMaps $added ADDED, $modified MODIFIED; HelloWorlds $hw_modified MODIFIED (status writes)"
check "runtime: each ConfigMap written once: 300 ADDED, 0 MODIFIED (got $added, $modified)" \
  test "$added" -eq 300 -a "$modified" -eq 0
# One status write per HelloWorld. A reconcile that runs on a cached HelloWorld not yet showing the
# operator's own status write would write it again (a new Ready lastTransitionTime), but the write
# names the resourceVersion it was computed from, so the server refuses it (409) and the next
# reconcile sees the first write: exactly one MODIFIED event per object.
[[ -z "$rewritten" ]] || info "status written again (Ready lastTransitionTime per write): $(paste -sd';' <<<"$rewritten")"
check "runtime: HelloWorld statuses: $hw_modified writes for 300 objects, none written twice" \
  test "$hw_modified" -eq 300 -a "$most" -eq 1
# One server-side apply of the ConfigMap (201 Created) and one of the status (200) per object. A
# reconcile that runs before the operator's cache has seen its own earlier write applies again,
# mostly a no-op for the server (no watch event above); 20-35 of them on a quiet machine, over
# 150 on a loaded one. At most one extra apply per object: anything more is a write loop.
info "PATCH: $created answered 201 (ConfigMaps created), $((patches - created)) answered otherwise" \
  "(300 status applies + $((patches - created - 300)) re-applies)"
check "runtime: PATCH count: at most one re-apply per object ($patches for 300; 600..900)" \
  test "$patches" -ge 600 -a "$patches" -le 900
check "runtime: no reconcile error while converging" \
  test "$(metric controller_runtime_reconcile_errors_total "$many_METRICS" 'controller="helloworld"')" -eq 0

# ---- 2. forced 410 Gone -------------------------------------------------------------------------
# The operator watches from the last resourceVersion it saw. Writes to another kind move etcd's
# revision on, compaction drops everything before it, and a restarted API server starts its watch
# cache at the current revision: the operator's next watch asks for a version that is gone.
if [[ -z "${KUBECORO_CONTROLPLANE_DIR:-}" ]]; then
  echo "SKIP runtime: 410 Gone needs the local control plane (KUBECORO_CONTROLPLANE_DIR)"
else
  source "$KUBECORO_CONTROLPLANE_DIR/ports.env"
  etcd=http://127.0.0.1:$ETCD_PORT
  helloworlds_yaml g 1 40 first >"$work/gone.yaml"
  kubectl apply -n "$ns2" -f "$work/gone.yaml" >/dev/null
  expect_eventually "runtime: 40 HelloWorlds converge before the fault" 60 hw_converged "$ns2" 40
  relists0=$(log_count many "watch expired: relisting")
  relists() { grep -F '"msg":"watch expired: relisting"' "$E2E_LOGS/many.log" | grep -cF "\"resource\":\"$1\""; }
  hw_relists0=$(relists helloworlds)
  for i in $(seq 1 20); do printf -- '---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa-%d}\n' "$i"; done |
    kubectl apply -n "$ns2" -f - >/dev/null
  revision=$(curl -fsS -X POST "$etcd/v3/kv/range" -d '{"key":"AA=="}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
  check "runtime: etcd compacted to revision $revision" curl -fsS -o /dev/null -X POST "$etcd/v3/kv/compaction" \
    -d "{\"revision\":\"$revision\",\"physical\":true}"
  "$CP" stop-apiserver "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null
  "$CP" start-apiserver "$KUBECORO_CONTROLPLANE_DIR" 2>/dev/null || fail "runtime: kube-apiserver restarted"
  t0=$(now_s)
  # Changes at once, most likely before the operator's watch comes back (it backs off) ...
  {
    helloworlds_yaml g 1 10 changed
    helloworlds_yaml g 41 50 new
  } | kubectl apply -n "$ns2" -f - >/dev/null
  kubectl delete helloworld -n "$ns2" $(seq -f 'g-%g' 31 40) --wait=false >/dev/null
  relisted() { (($(relists helloworlds) > hw_relists0)); }
  expect_eventually "runtime: the HelloWorld watch gets 410 Gone and relists (log: watch expired: relisting)" 60 relisted
  relist_after=$(since_s "$t0")
  # ... and more right after the relist.
  {
    helloworlds_yaml g 11 15 changed
    helloworlds_yaml g 51 55 new
  } | kubectl apply -n "$ns2" -f - >/dev/null
  kubectl delete helloworld -n "$ns2" $(seq -f 'g-%g' 26 30) --wait=false >/dev/null
  expect_eventually "runtime: after the relist every HelloWorld converges and deleted ones' ConfigMaps are gone" \
    90 hw_converged "$ns2" 40
  took=$(since_s "$t0")
  info "410 Gone: relist logged ${relist_after}s after the API server was back; converged ${took}s after it;" \
    "$(($(log_count many "watch expired: relisting") - relists0)) relist lines"
  kubectl get helloworlds -n "$ns2" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort >"$work/gone-have"
  { seq -f 'g-%g' 1 25; seq -f 'g-%g' 41 55; } | sort >"$work/gone-want"
  check "runtime: no object lost or resurrected (HelloWorlds g-1..25, g-41..55)" cmp -s "$work/gone-have" "$work/gone-want"
  changed=$(kubectl get configmaps -n "$ns2" -o jsonpath='{range .items[*]}{.data.message}{"\n"}{end}' | grep -c '^changed-')
  check "runtime: the 15 changed messages reached their ConfigMaps (got $changed)" test "$changed" -eq 15
  check "runtime: the operator never exited during the 410 fault" operator_alive many
  grep -F '"watch expired: relisting"' "$E2E_LOGS/many.log" | tail -n 2 | sed 's/^/INFO runtime: log: /'
fi
stop_operator many TERM; rc=$?
check "runtime: SIGTERM exits 0 after the load (got $rc)" test "$rc" -eq 0

# ---- 3. resync reverts drift; a resync with nothing drifted writes nothing ----------------------
ns3=$(new_namespace rt-resync); namespaces+=("$ns3")
start_operator resync --controllers=helloworld --namespace="$ns3" --resync-period=3s ||
  fail "runtime: operator with --resync-period=3s became ready"
helloworlds_yaml r 1 3 steady | kubectl apply -n "$ns3" -f - >/dev/null
expect_eventually "runtime: 3 HelloWorlds converge" 30 hw_converged "$ns3" 3
kill -STOP "${E2E_PIDS[resync]}"
kubectl patch configmap r-2 -n "$ns3" --type=merge -p '{"data":{"message":"drifted"}}' >/dev/null
check "runtime: the ConfigMap drifted while the operator was stopped" jsonpath_is drifted \
  get configmap r-2 -n "$ns3" -o 'jsonpath={.data.message}'
t0=$(now_s)
kill -CONT "${E2E_PIDS[resync]}"
expect_eventually "runtime: after SIGCONT the drift is reverted" 15 jsonpath_is steady-2 \
  get configmap r-2 -n "$ns3" -o 'jsonpath={.data.message}'
info "drift reverted $(since_s "$t0")s after SIGCONT"
patches_before=$(metric rest_client_requests_total "$resync_METRICS" 'method="PATCH"')
reconciles_before=$(metric controller_runtime_reconcile_total "$resync_METRICS" 'controller="helloworld"')
t0=$(now_s)
# Two resync periods (6 s) have passed and each of the 3 objects is reconciled at least twice more.
two_rounds() {
  (($(metric controller_runtime_reconcile_total "$resync_METRICS" 'controller="helloworld"') >= reconciles_before + 6)) &&
    awk -v t="$(since_s "$t0")" 'BEGIN { exit !(t >= 6) }'
}
expect_eventually "runtime: resync reconciles every object again (2 periods of 3 s)" 20 two_rounds
patches_after=$(metric rest_client_requests_total "$resync_METRICS" 'method="PATCH"')
reconciles_after=$(metric controller_runtime_reconcile_total "$resync_METRICS" 'controller="helloworld"')
info "resync: $((reconciles_after - reconciles_before)) reconciles in $(since_s "$t0")s," \
  "PATCH $patches_before -> $patches_after"
check "runtime: resyncs with nothing drifted send no write (PATCH $patches_before -> $patches_after)" \
  test "$patches_before" -eq "$patches_after"
stop_operator resync TERM; rc=$?
check "runtime: SIGTERM exits 0 after SIGSTOP/SIGCONT (got $rc)" test "$rc" -eq 0

# ---- 4. leader election with two operators ------------------------------------------------------
ns4=$(new_namespace rt-leader); namespaces+=("$ns4")
lease=rte2e-leader-$RANDOM$RANDOM
leader_flags=(--controllers=helloworld --namespace="$ns4" --leader-elect
  --leader-election-id="$lease" --leader-election-namespace=default)
start_operator la "${leader_flags[@]}" || fail "runtime: operator la became ready"
start_operator lb "${leader_flags[@]}" || fail "runtime: operator lb became ready"
identity_of() { grep -F '"msg":"waiting to become leader"' "$E2E_LOGS/$1.log" | tail -n 1 | sed 's/.*"identity":"\([^"]*\)".*/\1/'; }
holder() { kubectl get lease "$lease" -n default -o 'jsonpath={.spec.holderIdentity}' 2>/dev/null; }
holder_is() { [[ "$(holder)" == "$1" ]]; }
id_a=$(identity_of la); id_b=$(identity_of lb)
held() { [[ -n "$(holder)" ]]; }
expect_eventually "runtime: one of two operators holds the lease" 30 held
case "$(holder)" in
  "$id_a") leader=la standby=lb ;;
  "$id_b") leader=lb standby=la ;;
  *) leader=la standby=lb; fail "runtime: the lease holder '$(holder)' is neither operator ($id_a, $id_b)" ;;
esac
helloworlds_yaml l 1 5 lead | kubectl apply -n "$ns4" -f - >/dev/null
expect_eventually "runtime: the leader converges 5 HelloWorlds" 30 hw_converged "$ns4" 5
port_of() { local v="${1}_$2"; echo "${!v}"; }
leader_reconciles=$(metric controller_runtime_reconcile_total "$(port_of "$leader" METRICS)" 'controller="helloworld"')
standby_reconciles=$(metric controller_runtime_reconcile_total "$(port_of "$standby" METRICS)" 'controller="helloworld"')
check "runtime: only the leader reconciles ($leader: $leader_reconciles, $standby: $standby_reconciles)" \
  test "$leader_reconciles" -gt 0 -a "$standby_reconciles" -eq 0
check "runtime: the standby's /readyz answers 200" test "$(probe_code "$(port_of "$standby" HEALTH)" /readyz)" = 200
standby_id=$(port_of id "${standby#l}")
t0=$(now_s)
stop_operator "$leader" KILL 2>/dev/null # (no "Killed" job notice)
expect_eventually "runtime: after SIGKILL of the leader the standby takes over within 20 s" 20 holder_is "$standby_id"
took=$(since_s "$t0")
info "failover: the standby holds the lease ${took}s after SIGKILL of the leader (lease 15 s, retry 2 s)"
helloworlds_yaml l 6 10 lead | kubectl apply -n "$ns4" -f - >/dev/null
expect_eventually "runtime: the new leader converges new HelloWorlds" 30 hw_converged "$ns4" 10
t0=$(now_s)
stop_operator "$standby" TERM; rc=$?
took=$(since_s "$t0")
check "runtime: SIGTERM of the new leader exits 0 (got $rc, ${took}s)" test "$rc" -eq 0
check "runtime: the lease is released at exit (holderIdentity empty)" holder_is ""
info "leader SIGTERM: exit $rc after ${took}s, holder '$(holder)'"
kubectl delete lease "$lease" -n default >/dev/null 2>&1
exit $E2E_FAILED
