#!/usr/bin/env bash
# The operator talks to kube-apiserver through a fault-injecting proxy (test/faultproxy/), which
# breaks responses one fault at a time during a single operator run: connections dropped mid-body
# and mid-watch, a watch stalled beyond the idle timeout, 429 with Retry-After, 500 and 503 with a
# Status body, truncated chunks, garbage instead of a status line and inside a watch stream. For
# each: the operator stays up (/healthz 200), logs the failure, converges the HelloWorlds created
# with the fault (no object lost, no ConfigMap created twice), and waits for Retry-After.
# Prints PASS/FAIL lines and INFO lines with the figures (RELIABILITY.md).
# shellcheck disable=SC2154,SC2317 # fp_HEALTH is set by start_operator; helpers run via check/wait_until
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
install_crds
work=$(mktemp -d /tmp/kubecoro-e2e-faults.XXXXXX)
proxy_pid=""
ns=""
cleanup_faults() {
  stop_all_operators
  [[ -n "$proxy_pid" ]] && kill "$proxy_pid" 2>/dev/null
  [[ -n "$ns" ]] && kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup_faults EXIT
info() { echo "INFO faults: $*"; }

# ---- the proxy: its own certificate towards the operator, the admin's client certificate upstream
kc() { kubectl config view --raw --minify -o "jsonpath={$1}"; }
# pem OUT DATA-FIELD FILE-FIELD: the PEM of a kubeconfig field given inline (base64) or as a file.
pem() {
  local data; data=$(kc "$2")
  if [[ -n "$data" ]]; then base64 -d <<<"$data" >"$1"; else
    local f; f=$(kc "$3"); [[ -n "$f" ]] && cp "$f" "$1"
  fi
  [[ -s "$1" ]]
}
if ! pem "$work/upstream-ca.crt" .clusters[0].cluster.certificate-authority-data .clusters[0].cluster.certificate-authority ||
  ! pem "$work/client.crt" .users[0].user.client-certificate-data .users[0].user.client-certificate ||
  ! pem "$work/client.key" .users[0].user.client-key-data .users[0].user.client-key; then
  echo "SKIP faults: the proxy needs a kubeconfig with a CA and a client certificate (test/controlplane)"
  exit 0
fi
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=faultproxy \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$work/proxy.key" -out "$work/proxy.crt" 2>/dev/null ||
  fail "faults: openssl made the proxy's certificate"
listen=$(free_port); ctrl=$(free_port)
python3 "$E2E_ROOT/test/faultproxy/faultproxy.py" --listen "$listen" --control "$ctrl" \
  --cert "$work/proxy.crt" --key "$work/proxy.key" --upstream "$(kc .clusters[0].cluster.server)" \
  --upstream-ca "$work/upstream-ca.crt" --client-cert "$work/client.crt" --client-key "$work/client.key" \
  --log "$E2E_LOGS/faultproxy-requests.txt" >>"$E2E_LOGS/faultproxy-stderr.txt" 2>&1 &
proxy_pid=$!
ctl() { curl -fsS --max-time 5 "http://127.0.0.1:$ctrl/$1"; }
set_fault() { curl -fsS --max-time 5 -X POST "http://127.0.0.1:$ctrl/fault?$1"; }
expect_eventually "faults: the proxy answers on its control port" 10 ctl faults
cat >"$work/proxy.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: faultproxy
  cluster:
    server: https://127.0.0.1:$listen
    certificate-authority: $work/proxy.crt
users:
- name: faultproxy
  user:
    token: faultproxy-drops-this
contexts:
- name: faultproxy
  context: {cluster: faultproxy, user: faultproxy}
current-context: faultproxy
EOF

# ---- the operator through the proxy, with a short watch idle timeout ---------------------------
idle=6
ns=$(new_namespace faults)
start_operator fp --controllers=helloworld --namespace="$ns" --kubeconfig="$work/proxy.kubeconfig" \
  --watch-idle-timeout="${idle}s" || fail "faults: the operator became ready through the proxy"
total=3
helloworlds_yaml base 1 "$total" before | kubectl apply -n "$ns" -f - >/dev/null
expect_eventually "faults: converged through the proxy before any fault" 60 hw_converged "$ns" "$total"

fired() { [[ "$(ctl "hits?id=$1")" -ge "${2:-1}" ]]; }
health_ok() { [[ "$(probe_code "$fp_HEALTH" /healthz)" == 200 ]]; }
# The operator's log lines after line $1 that match the extended regular expression $2.
logged_since() { tail -n "+$(($1 + 1))" "$E2E_LOGS/fp.log" | grep -E -- "$2"; }
# ConfigMaps of the namespace created (201) more than once through the proxy.
duplicates() {
  awk -v p="/api/v1/namespaces/$ns/configmaps/" '$2 == "PATCH" && index($3, p) == 1 && $5 == 201 { n[$3]++ }
    END { d = 0; for (k in n) d += n[k] - 1; print d }' "$E2E_LOGS/faultproxy-requests.txt"
}

# one_fault NAME LOG-PHRASE FAULT-QUERY [COUNT]: sets the fault, creates COUNT (3) HelloWorlds that
# trigger it, and checks that it fired, that the operator logged LOG-REGEX ("{id}" stands for the
# fault's id), stayed alive and healthy, and converged everything. Sets $fault_id.
batch=0
one_fault() {
  local name=$1 phrase=$2 query=$3 n=${4:-3} lines t_fault
  lines=$(wc -l <"$E2E_LOGS/fp.log")
  fault_id=$(set_fault "$query") || { fail "faults: $name: the proxy took the fault ($query)"; return; }
  phrase=${phrase//\{id\}/$fault_id}
  batch=$((batch + 1))
  helloworlds_yaml "f$batch" 1 "$n" "$name" | kubectl apply -n "$ns" -f - >/dev/null
  total=$((total + n))
  expect_eventually "faults: $name: injected" 30 fired "$fault_id"
  expect_eventually "faults: $name: all $total HelloWorlds converged, no orphan ConfigMap" 60 hw_converged "$ns" "$total"
  t_fault=$(ctl "when?id=$fault_id")
  info "$name: converged $(awk -v a="$t_fault" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s after the fault; duplicates so far: $(duplicates)"
  check "faults: $name: the operator is alive" operator_alive fp
  check "faults: $name: /healthz 200" health_ok
  expect_eventually "faults: $name: the log says what happened (/$phrase/)" 10 logged_since "$lines" "$phrase"
  logged_since "$lines" "$phrase" | head -n 1 | sed 's/^/INFO faults: log: /'
  ctl clear >/dev/null
}

cm_patch="method=PATCH&path=/api/v1/namespaces/$ns/configmaps/"
hw_watch="path=/apis/kubecoro.dev/v1alpha1/namespaces/$ns/helloworlds&watch=only"
# What the operator logs: which request or watch, and what went wrong with it.
cm_failed="\"reconcile failed\".*\"error\":\"PATCH /api/v1/namespaces/$ns/configmaps/[a-z0-9-]+: "
hw_watch_failed="\"watch failed\".*\"error\":\"watch /apis/kubecoro.dev/v1alpha1/namespaces/$ns/helloworlds: "
injected="injected by faultproxy \\(fault {id}\\)"

# Connections dropped mid-stream: a normal response cut mid-body, a watch dropped after an event.
one_fault "PATCH response cut mid-body" "${cm_failed}connection to [^ ]+ closed before the response was complete" "kind=cut_body&$cm_patch"
one_fault "watch dropped after an event" "${hw_watch_failed}connection closed in the middle of the stream" "kind=drop&$hw_watch"

# A watch that stalls: nothing more arrives until the idle timeout gives it up.
one_fault "watch stalled" "\"watch idle: reconnecting\".*helloworlds: no bytes for ${idle}000ms" "kind=stall&$hw_watch"
stall=$(ctl "stall?id=$fault_id")
info "watch stalled: the operator closed the stalled watch ${stall}s after its last byte (idle timeout ${idle}s)"
check "faults: watch stalled: the idle timeout gave the stalled watch up" \
  awk -v s="$stall" -v i="$idle" 'BEGIN { exit !(s != "none" && s >= i - 0.5) }'

# 429 with Retry-After: 2: the same request comes again no sooner.
one_fault "429 Retry-After 2 on a PATCH" "${cm_failed}429 TooManyRequests: $injected" "kind=status&code=429&retry_after=2&$cm_patch"
gap=$(ctl "gap?id=$fault_id")
info "429: the same PATCH came again after ${gap}s"
check "faults: 429 Retry-After 2: the PATCH is retried no sooner than Retry-After (after ${gap}s)" \
  awk -v g="$gap" 'BEGIN { exit !(g != "none" && g >= 1.95) }'

# 500 and 503 with a Status body.
one_fault "500 on status PATCHes (twice)" "\"reconcile failed\".*/status: 500 InternalError: $injected" \
  "kind=status&code=500&times=2&method=PATCH&path=/apis/kubecoro.dev/v1alpha1/namespaces/$ns/helloworlds/"
one_fault "503 Retry-After 1 on a PATCH" "${cm_failed}503 ServiceUnavailable: $injected" "kind=status&code=503&retry_after=1&$cm_patch"
gap=$(ctl "gap?id=$fault_id")
check "faults: 503 Retry-After 1: the PATCH is retried no sooner than Retry-After (after ${gap}s)" \
  awk -v g="$gap" 'BEGIN { exit !(g != "none" && g >= 0.95) }'
one_fault "503 on a watch request" "\"watch failed\".*\"error\":\"GET /apis/kubecoro.dev/v1alpha1/namespaces/$ns/helloworlds: 503 ServiceUnavailable: $injected" "kind=status&code=503&retry_after=1&watch=only&path=/apis/kubecoro.dev/"

# Truncated chunked encoding: a chunk announced, fewer bytes sent, then the connection closed.
one_fault "PATCH response: truncated chunk" "${cm_failed}connection to [^ ]+ closed before the response was complete" "kind=truncated_chunk&$cm_patch"
one_fault "watch event: truncated chunk" "${hw_watch_failed}connection closed in the middle of the stream" "kind=truncated_chunk&$hw_watch"

# Garbage: random bytes instead of a status line; a line of garbage in a watch stream.
one_fault "garbage instead of a status line" "${cm_failed}bad HTTP response from [^ ]+: " "kind=garbage_status&$cm_patch"
one_fault "garbage watch event" "${hw_watch_failed}undecodable event" "kind=garbage_event&$hw_watch"

# All at once, every Nth request: 20 new HelloWorlds and 3 changed ones while every 4th request
# gets a 503 and every 5th PATCH answer is cut.
t0=$(now_s)
set_fault "kind=status&code=503&every=4&times=100&watch=any" >/dev/null
set_fault "kind=cut_body&every=5&times=100&method=PATCH" >/dev/null
{ helloworlds_yaml mix 1 20 mixed; helloworlds_yaml base 1 3 changed; } | kubectl apply -n "$ns" -f - >/dev/null
total=$((total + 20))
expect_eventually "faults: mixed faults: all $total HelloWorlds converged (3 with a changed message)" 90 hw_converged "$ns" "$total"
info "mixed faults: converged $(since_s "$t0") s after the apply; $(ctl faults)"
ctl clear >/dev/null
check "faults: mixed faults: the operator is alive" operator_alive fp
check "faults: mixed faults: /healthz 200" health_ok

dups=$(duplicates)
info "whole run: $total HelloWorlds, $(wc -l <"$E2E_LOGS/faultproxy-requests.txt") requests through the proxy, duplicates $dups"
check "faults: no ConfigMap was created twice (got $dups)" test "$dups" -eq 0
check "faults: exactly $total ConfigMaps" test "$(kubectl get configmaps -n "$ns" -o name | grep -c '/base-\|/f[0-9]*-\|/mix-')" -eq "$total"
stop_operator fp TERM; rc=$?
check "faults: the operator exits 0 at SIGTERM after all faults (got $rc)" test "$rc" -eq 0
exit "$E2E_FAILED"
