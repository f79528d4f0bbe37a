#!/usr/bin/env bash
# shellcheck disable=SC2154 # mon_METRICS and standby_METRICS are exported by start_operator
# Monitoring: the alert rules of manifests/monitoring/ pass `promtool check rules` and their unit
# tests (test/monitoring/alerts_test.yaml); a live scrape of the operator passes `promtool check
# metrics`, reports the build, the leader, readiness and each Database (phase, replicas, conditions,
# backup deadline) as its status changes, drops a Database's series once it is deleted; every
# metric the rules and the Grafana dashboard use is in that scrape.
source "$(dirname "$0")/lib.sh"
mon=$E2E_ROOT/manifests/monitoring

promtool=$(bash "$E2E_ROOT/test/monitoring/promtool.sh" 2>/dev/null) || fail "monitoring: promtool from Debian's prometheus package"
rules_dir=$(mktemp -d)
trap 'rm -rf "$rules_dir"; e2e_cleanup' EXIT
# The PrometheusRule's spec.groups as a plain rules file.
sed -n '/^spec:/,$p' "$mon/prometheusrule.yaml" | sed '1d; s/^  //' >"$rules_dir/rules.yaml"
cp "$E2E_ROOT/test/monitoring/alerts_test.yaml" "$rules_dir/"
out=$("$promtool" check rules "$rules_dir/rules.yaml" 2>&1) && rc=0 || rc=$?
if [[ $rc == 0 ]]; then pass "monitoring: promtool check rules ($(grep -o '[0-9]* rules found' <<<"$out"))"
else fail "monitoring: promtool check rules: $out"; fi
out=$(cd "$rules_dir" && "$promtool" test rules alerts_test.yaml 2>&1) && rc=0 || rc=$?
if [[ $rc == 0 ]]; then pass "monitoring: promtool test rules (every alert fires when it should, not before)"
else fail "monitoring: promtool test rules:"; echo "$out" | head -30; fi
alerts=$(grep -c '^ *- alert: ' "$rules_dir/rules.yaml")
runbooks=$(grep -c '^### Kubecoro' "$E2E_ROOT/docs/monitoring.md")
check "monitoring: docs/monitoring.md has a runbook for each of the $alerts alerts (got $runbooks)" [ "$alerts" == "$runbooks" ]
dashboard_exprs=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
assert exprs and all(exprs), "a panel without a query"
print("\n".join(exprs))' "$mon/grafana-dashboard.json") || fail "monitoring: the Grafana dashboard is JSON with a query in every panel"

# The component as a user adds it: an overlay of manifests/ with components: [monitoring]; the
# ServiceMonitor selects the metrics Service and names its port, the PodMonitor the operator's pod.
overlay=$rules_dir/overlay
mkdir -p "$overlay"
printf '%s\n' 'apiVersion: kustomize.config.k8s.io/v1beta1' 'kind: Kustomization' \
  "resources: [$(realpath --relative-to="$overlay" "$E2E_ROOT/manifests")]" \
  "components: [$(realpath --relative-to="$overlay" "$mon")]" >"$overlay/kustomization.yaml"
out=$(kubectl kustomize "$overlay" 2>&1) && rc=0 || rc=$?
if [[ $rc != 0 && $out == *omponent* ]]; then
  echo "INFO monitoring: this kubectl's kustomize has no components (kubectl >= 1.21 has): not checked"
else
  bash "$E2E_ROOT/test/ensure-packages.sh" python3-yaml >/dev/null 2>&1
  problems=$( (echo "$out"; echo "---"; cat "$mon/podmonitor.yaml") | /usr/bin/python3 -c '
import sys, yaml
docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
kinds = {d["kind"] for d in docs}
problems = [k + " missing" for k in ("ServiceMonitor", "PrometheusRule", "PodMonitor") if k not in kinds]
if not problems:
    sm = next(d for d in docs if d["kind"] == "ServiceMonitor")
    pm = next(d for d in docs if d["kind"] == "PodMonitor")
    svc = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "kubecoro-metrics")
    pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]
    if not set(sm["spec"]["selector"]["matchLabels"].items()) <= set(svc["metadata"]["labels"].items()):
        problems.append("the ServiceMonitor does not select kubecoro-metrics")
    if sm["spec"]["endpoints"][0]["port"] not in [p["name"] for p in svc["spec"]["ports"]]:
        problems.append("the ServiceMonitor names a port kubecoro-metrics lacks")
    if not set(pm["spec"]["selector"]["matchLabels"].items()) <= set(pod["metadata"]["labels"].items()):
        problems.append("the PodMonitor does not select the operator pod")
    ports = [p["name"] for c in pod["spec"]["containers"] for p in c.get("ports", [])]
    if pm["spec"]["podMetricsEndpoints"][0]["port"] not in ports:
        problems.append("the PodMonitor names a port the operator pod lacks")
print("; ".join(problems))' 2>&1)
  check "monitoring: an overlay with the component renders; its monitors select the Service and pod (${problems:-ok})" [ -z "$problems" ]
fi

install_crds || fail "monitoring: CRDs installed"
ns=$(new_namespace mon)
start_operator mon --controllers=database --leader-elect --leader-election-namespace="$ns" ||
  fail "monitoring: operator became ready"
scrape() { curl -fsS "http://127.0.0.1:$1/metrics"; }
# has PORT REGEX: a sample line of the scrape matches REGEX.
has() { scrape "$1" | grep -E "$2" >/dev/null; } # (not -q: an early exit would fail curl)
# lacks PORT TEXT: the scrape succeeds and no line holds TEXT.
lacks() { local out; out=$(scrape "$1") && [[ $out == *kubecoro_build_info* && $out != *"$2"* ]]; }

kubectl apply -n "$ns" -f - >/dev/null <<YAML
apiVersion: kubecoro.dev/v1alpha1
kind: Database
metadata: {name: m}
spec: {engine: postgresql, version: "16", storage: 1Gi}
YAML
series="namespace=\"$ns\",name=\"m\""
provisioning() {
  has "$mon_METRICS" "^kubecoro_database_phase\{$series,engine=\"postgresql\",phase=\"Provisioning\"\} 1$" &&
    has "$mon_METRICS" "^kubecoro_database_backup_deadline_timestamp_seconds\{$series\} "
}
expect_eventually "monitoring: kubecoro_database_phase says Provisioning, with a backup deadline (the CronJob exists)" 30 provisioning
out=$(scrape "$mon_METRICS" | "$promtool" check metrics 2>&1) && rc=0 || rc=$?
if [[ $rc == 0 && -z $out ]]; then pass "monitoring: a live scrape passes promtool check metrics"
else fail "monitoring: promtool check metrics (exit $rc): $out"; fi
check "monitoring: kubecoro_build_info names this binary's version" \
  has "$mon_METRICS" "^kubecoro_build_info\{version=\"$("$KUBECORO_BIN" version | awk '{print $2}')\",.*\} 1$"
check "monitoring: leader_election_master_status 1 on the leader" \
  has "$mon_METRICS" '^leader_election_master_status\{name="kubecoro-leader"\} 1$'
check "monitoring: kubecoro_ready 1" has "$mon_METRICS" '^kubecoro_ready 1$'
check "monitoring: kubecoro_database_replicas 1" has "$mon_METRICS" "^kubecoro_database_replicas\{$series\} 1$"
check "monitoring: the never-met backup has last success 0" \
  has "$mon_METRICS" "^kubecoro_database_backup_last_success_timestamp_seconds\{$series\} 0$"
deadline=$(scrape "$mon_METRICS" | awk -v s="kubecoro_database_backup_deadline_timestamp_seconds{$series}" '$1 == s { printf "%d", $2 }')
now=$(date +%s)
between() { [ "$1" -gt "$2" ] && [ "$1" -le "$3" ]; } # between N LOW HIGH
check "monitoring: the backup deadline is 1-2 days (and the 10 min grace) ahead for the daily default schedule (got $((${deadline:-0} - now)) s)" \
  between "${deadline:-0}" $((now + 86400)) $((now + 2 * 86400 + 600))

# A standby (same Lease) reports 0 and no Database: only the leader's cache is read.
start_operator standby --controllers=database --leader-elect --leader-election-namespace="$ns" ||
  fail "monitoring: standby became ready"
check "monitoring: leader_election_master_status 0 on a standby" \
  has "$standby_METRICS" '^leader_election_master_status\{name="kubecoro-leader"\} 0$'
check "monitoring: no kubecoro_database_ series from a standby" lacks "$standby_METRICS" $'\nkubecoro_database_'
stop_operator standby

make_pods_ready "$ns" "app.kubernetes.io/instance=m,app.kubernetes.io/component=database"
expect_eventually "monitoring: the phase series follows the status to Ready" 30 \
  has "$mon_METRICS" "^kubecoro_database_phase\{$series,engine=\"postgresql\",phase=\"Ready\"\} 1$"
check "monitoring: no series left for the phase before" \
  lacks "$mon_METRICS" "$series,engine=\"postgresql\",phase=\"Provisioning\"}"
check "monitoring: kubecoro_database_ready_replicas 1" has "$mon_METRICS" "^kubecoro_database_ready_replicas\{$series\} 1$"
check "monitoring: kubecoro_database_condition Ready 1" \
  has "$mon_METRICS" "^kubecoro_database_condition\{$series,type=\"Ready\",reason=\"[A-Za-z]*\"\} 1$"

# Every metric the rules and the dashboard query is one this scrape has.
names=$(scrape "$mon_METRICS" | awk '!/^#/ { sub(/[{ ].*/, ""); print }' | sort -u)
missing=""
for m in $( (cat "$rules_dir/rules.yaml"; echo "$dashboard_exprs") |
  grep -oE '\b(kubecoro|controller_runtime|workqueue|leader_election|process|rest_client)_[a-z_]+' | sort -u); do
  grep -qx "$m" <<<"$names" || missing+=" $m"
done
check "monitoring: every metric in the rules and the dashboard is scraped (missing:${missing:- none})" [ -z "$missing" ]

kubectl delete db m -n "$ns" --wait=false >/dev/null
expect_eventually "monitoring: a deleted Database's series are gone" 60 lacks "$mon_METRICS" "$series"
check "monitoring: SIGTERM exits 0" stop_operator mon
exit "$E2E_FAILED"
