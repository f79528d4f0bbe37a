#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2054,SC2154 # literal $$/$@ for bash -c; comma lists in flags; rc set in trap
# Local real Kubernetes control plane (etcd + kube-apiserver + kube-controller-manager
# v1.20.2), everything on 127.0.0.1 with ports picked at run time; with KUBECORO_NODE=1 also a
# real node (containerd, kubelet, kube-proxy, kube-scheduler, cluster DNS, hostPath volumes:
# node.sh) on a bridge of its own.
#
#   controlplane.sh up [STATEDIR]        start; prints `export ...` lines (eval-able) on stdout
#   controlplane.sh down STATEDIR        kill everything started for STATEDIR, remove it
#   controlplane.sh env STATEDIR         print the export lines again
#   controlplane.sh status STATEDIR      show component pids / ports / readyz
#   controlplane.sh {stop,start,restart}-COMPONENT STATEDIR   COMPONENT: etcd, apiserver,
#                                        controller-manager; with a node also containerd, kubelet,
#                                        kube-proxy, scheduler, dns
#   controlplane.sh procs STATEDIR       list pids of etcd/kube-* processes still running for STATEDIR
#   controlplane.sh leftovers STATEDIR   after `down`: what is left (processes, mounts, bridge,
#                                        iptables rules); prints nothing when all is gone
#
# Env: KUBECORO_CACHE (binary cache root, see build.sh), KUBECORO_START_TIMEOUT (s, default 120),
#      KUBECORO_STOP_GRACE (s between SIGTERM and SIGKILL for stop-*/restart-*, default 3;
#      0 = SIGKILL at once, i.e. a crash; `down` always uses SIGKILL since the state is discarded),
#      KUBECORO_BUILD=0 to skip the implicit build.sh call,
#      KUBECORO_NODE=1 to start the node too (`up`; needs root), KUBELET_EXTRA_ARGS for the kubelet,
#      KUBECORO_LOG_DIR=DIR: `down` keeps the components' logs there (a failed `up` always keeps them),
#      KUBECORO_AUDIT_LOG=FILE: kube-apiserver (when it starts) writes an audit log of every write
#      (create/update/patch/delete) to FILE, one JSON event per line at level Metadata (user,
#      userAgent, objectRef, timestamps).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
K8S_VERSION=1.20.2
BIN=${KUBECORO_CACHE:-/var/cache/kubecoro}/k8s-v$K8S_VERSION/bin
TIMEOUT=${KUBECORO_START_TIMEOUT:-120}
GRACE=${KUBECORO_STOP_GRACE:-3}
MARKER=.kubecoro-controlplane

# shellcheck source=node.sh
source "$HERE/node.sh"

exec 3>&2 # log fd: stays the caller's stderr even inside redirected calls/traps
log() { echo "controlplane: $*" >&3; }
die() { log "ERROR: $*"; exit 1; }

# ---- helpers -----------------------------------------------------------------
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
  command -v ss >/dev/null && [[ -n $(ss -Htln "sport = :$1" 2>/dev/null) ]]
}
# Random free port below the ephemeral range, distinct from already picked ones.
pick_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((15000 + (RANDOM * 32768 + RANDOM) % 17000))
    [[ " ${PICKED:-} " == *" $p "* ]] && continue
    port_in_use "$p" && continue
    PICKED="${PICKED:-} $p"; echo "$p"; return 0
  done
  die "no free port found"
}

alive() { # pid alive and not a zombie
  local st
  [[ -r /proc/$1/stat ]] || return 1
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $st && $st != Z && $st != X ]]
}

procs() { # pids of our components (or their pre-exec wrappers) that refer to the state dir
  local d=$1 f pid comm cmd
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    case $comm in
      etcd | kube-apiserver | kube-controller | kube-scheduler | kubelet | kube-proxy) ;;
      containerd | containerd-shim | dnsmasq) ;;
      python3) [[ $cmd == *node_agent.py* ]] || continue ;;
      bash) [[ $cmd == *'exec "$@"'* ]] || continue ;;
      *) continue ;;
    esac
    [[ $cmd == *"$d/"* ]] && alive "$pid" && echo "$pid"
  done
  return 0
}

check_state() {
  [[ -n ${1:-} ]] || die "missing STATEDIR argument"
  S=$(cd "$1" 2>/dev/null && pwd) || die "state dir '$1' does not exist"
  [[ -f $S/$MARKER ]] || die "'$S' is not a kubecoro control plane state dir"
  # shellcheck disable=SC1091
  source "$S/ports.env"
}

# ---- certificates / kubeconfigs -----------------------------------------------
gen_pki() {
  local P=$S/pki
  mkdir -p "$P" && chmod 700 "$P"
  ( cd "$P"
    ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
    sign() { # name subj ext
      ec "$1.key"
      openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
      printf '%s\n' "$3" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        -sha256 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
      rm -f "$1.csr" "$1.ext"
    }
    ec ca.key
    openssl req -x509 -new -key ca.key -subj "/CN=kubecoro-ca" -days 3650 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out ca.crt 2>/dev/null
    local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
    sign server "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    sign admin "/O=system:masters/CN=kubecoro-admin" "$client"
    sign kcm "/CN=system:kube-controller-manager" "$client"
    # kubectl logs/exec: the API server's client certificate for the kubelet; the node's own ones.
    sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
    sign kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "$client"
    sign kube-proxy "/CN=system:kube-proxy" "$client"
    sign scheduler "/CN=system:kube-scheduler" "$client"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
    openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
  ) || die "certificate generation failed"
}

write_kubeconfig() { # file user cert key
  local b64="base64 -w0"
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kubecoro
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $($b64 <"$S/pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $($b64 <"$3")
    client-key-data: $($b64 <"$4")
contexts:
- name: kubecoro
  context: {cluster: kubecoro, user: $2}
current-context: kubecoro
EOF
  chmod 600 "$1"
}

# ---- components -----------------------------------------------------------------
cmd_etcd() {
  CMD=(etcd --name kubecoro --data-dir "$S/etcd"
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT"
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT"
    --initial-cluster "kubecoro=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new
    --heartbeat-interval 50 --election-timeout 250 --log-level warn --logger zap --quota-backend-bytes 2147483648)
}
cmd_apiserver() {
  local P=$S/pki
  CMD=("$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT"
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" --insecure-port 0
    --cert-dir "$S/apiserver-certs" --tls-cert-file "$P/server.crt" --tls-private-key-file "$P/server.key"
    --client-ca-file "$P/ca.crt" --authorization-mode Node,RBAC --anonymous-auth=true
    --service-account-issuer https://kubernetes.default.svc.cluster.local
    --service-account-signing-key-file "$P/sa.key" --service-account-key-file "$P/sa.pub"
    --service-cluster-ip-range "$NODE_SERVICE_CIDR" --allow-privileged=true --endpoint-reconciler-type none
    --kubelet-client-certificate "$P/apiserver-kubelet-client.crt" --kubelet-client-key "$P/apiserver-kubelet-client.key"
    --kubelet-preferred-address-types InternalIP
    --enable-admission-plugins NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,ResourceQuota,MutatingAdmissionWebhook,ValidatingAdmissionWebhook
    --profiling=false --logtostderr --v 1)
  if [[ -n ${KUBECORO_AUDIT_LOG:-} ]]; then
    printf '%s\n' 'apiVersion: audit.k8s.io/v1' 'kind: Policy' 'omitStages: [RequestReceived]' 'rules:' \
      '- level: Metadata' '  verbs: [create, update, patch, delete, deletecollection]' '- level: None' \
      >"$S/audit-policy.yaml"
    CMD+=(--audit-policy-file "$S/audit-policy.yaml" --audit-log-path "$KUBECORO_AUDIT_LOG" --audit-log-format json)
  fi
}
cmd_controller_manager() {
  local P=$S/pki
  CMD=("$BIN/kube-controller-manager" --kubeconfig "$S/kcm.kubeconfig"
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --port 0 --cert-dir "$S/kcm-certs"
    --service-account-private-key-file "$P/sa.key" --root-ca-file "$P/ca.crt" --use-service-account-credentials=true
    --cluster-signing-cert-file "$P/ca.crt" --cluster-signing-key-file "$P/ca.key"
    --controllers '*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-ttl,-route,-service,-attachdetach'
    --leader-elect=false --profiling=false --logtostderr --v 1)
  # With a node: its lifecycle (the kubelet registers it tainted not-ready until this controller
  # sees it Ready) and volumes from the in-tree hostPath provisioner.
  if node_enabled; then
    CMD=("${CMD[@]/,-nodelifecycle/}" --enable-hostpath-provisioner --node-monitor-grace-period 20s)
  fi
}

start_component() { # name
  local n=$1 fn=cmd_${1//-/_}
  if [[ -f $S/$n.pid ]] && alive "$(cat "$S/$n.pid")"; then die "$n already running (pid $(cat "$S/$n.pid"))"; fi
  $fn
  mkdir -p "$S/logs"
  printf '%q ' "${CMD[@]}" >"$S/$n.cmd"
  # setsid: own session, survives the caller; the inner shell records its own pid, then execs.
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$S/$n.pid" "${CMD[@]}" \
    </dev/null >>"$S/logs/$n.log" 2>&1 &
  disown "$!" 2>/dev/null || true # no "Killed" job notices from this shell

  for _ in $(seq 1 50); do [[ -s $S/$n.pid ]] && break; sleep 0.1; done
  [[ -s $S/$n.pid ]] || die "$n did not start"
  log "started $n (pid $(cat "$S/$n.pid"))"
}

stop_component() { # name
  local n=$1 pid
  [[ -f $S/$n.pid ]] || return 0
  pid=$(cat "$S/$n.pid")
  if [[ -n $pid ]] && alive "$pid" && [[ $(tr '\0' ' ' <"/proc/$pid/cmdline") == *"$S/"* ]]; then
    if ((GRACE > 0)); then kill -TERM "$pid" 2>/dev/null || true; fi
    for _ in $(seq 1 $((GRACE * 10))); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      ((GRACE == 0)) || log "$n (pid $pid) still running ${GRACE}s after SIGTERM, killing"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
    log "stopped $n (pid $pid)"
  fi
  rm -f "$S/$n.pid"
}

fail_with_log() { # name msg
  log "ERROR: $2"
  log "---- last lines of $S/logs/$1.log ----"
  tail -n 30 "$S/logs/$1.log" >&3 || true
  exit 1
}

wait_for() { # name check-command...
  local n=$1 deadline=$((SECONDS + TIMEOUT)); shift
  until "$@" >/dev/null 2>&1; do
    alive "$(cat "$S/$n.pid" 2>/dev/null || echo 0)" || fail_with_log "$n" "$n exited during startup"
    ((SECONDS < deadline)) || fail_with_log "$n" "$n not ready after ${TIMEOUT}s"
    sleep 0.2
  done
  log "$n: ${*: -1} ok (t=${SECONDS}s)"
}

curl_ok() { [[ $(curl -fsS --max-time 3 "$@") == ok ]]; }
etcd_healthy() { curl -fsS --max-time 3 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
apiserver_ready() {
  curl_ok --cacert "$S/pki/ca.crt" --cert "$S/pki/admin.crt" --key "$S/pki/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz"
}
kcm_healthy() { curl_ok -k "https://127.0.0.1:$KCM_PORT/healthz"; }
default_sa_exists() {
  curl -fsS --max-time 3 --cacert "$S/pki/ca.crt" --cert "$S/pki/admin.crt" --key "$S/pki/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/api/v1/namespaces/default/serviceaccounts/default"
}

start_etcd() { start_component etcd; wait_for etcd etcd_healthy; }
start_apiserver() { start_component apiserver; wait_for apiserver apiserver_ready; }
start_controller_manager() { start_component controller-manager; wait_for controller-manager kcm_healthy; }

print_env() {
  echo "export KUBECORO_CONTROLPLANE_DIR=$S"
  echo "export KUBECONFIG=$S/kubeconfig"
}

# ---- subcommands ------------------------------------------------------------------
up() {
  if [[ ${KUBECORO_NODE:-0} == 1 && $(id -u) != 0 ]]; then die "KUBECORO_NODE=1 needs root"; fi
  if [[ ${KUBECORO_BUILD:-1} != 0 ]]; then "$HERE/build.sh" >&2 || die "build.sh failed"; fi
  local b; for b in kube-apiserver kube-controller-manager; do
    [[ -x $BIN/$b ]] || die "$BIN/$b missing; run $HERE/build.sh"
  done
  command -v etcd >/dev/null || die "etcd missing; run $HERE/build.sh"
  if [[ -n ${1:-} ]]; then
    mkdir -p "$1"; S=$(cd "$1" && pwd)
    [[ -z $(ls -A "$S") ]] || die "state dir $S is not empty"
  else
    S=$(mktemp -d "${TMPDIR:-/tmp}/kubecoro-cp.XXXXXX")
  fi
  chmod 700 "$S"; touch "$S/$MARKER"
  if [[ ${KUBECORO_NODE:-0} == 1 ]]; then touch "$S/node.enabled"; fi
  # Any failure or interrupt during startup tears down what was started.
  trap 'rc=$?; trap - EXIT; if ((rc)); then log "startup failed, cleaning up $S"; keep_logs 1; down_dir; fi; exit $rc' EXIT
  trap 'exit 130' INT; trap 'exit 143' TERM
  local t0=$SECONDS
  PICKED=""
  ETCD_PORT=$(pick_port); PICKED+=" $ETCD_PORT"
  ETCD_PEER_PORT=$(pick_port); PICKED+=" $ETCD_PEER_PORT"
  APISERVER_PORT=$(pick_port); PICKED+=" $APISERVER_PORT"
  KCM_PORT=$(pick_port)
  printf 'ETCD_PORT=%s\nETCD_PEER_PORT=%s\nAPISERVER_PORT=%s\nKCM_PORT=%s\n' \
    "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" "$KCM_PORT" >"$S/ports.env"
  gen_pki
  write_kubeconfig "$S/kubeconfig" kubecoro-admin "$S/pki/admin.crt" "$S/pki/admin.key"
  write_kubeconfig "$S/kcm.kubeconfig" system:kube-controller-manager "$S/pki/kcm.crt" "$S/pki/kcm.key"
  start_etcd
  start_apiserver
  start_controller_manager
  # The serviceaccount controller creating "default" proves the controllers work.
  wait_for controller-manager default_sa_exists
  if node_enabled; then node_up; fi
  print_env >"$S/env"
  log "ready in $((SECONDS - t0))s: apiserver https://127.0.0.1:$APISERVER_PORT, state $S"
  print_env
}

# Keeps the components' logs where KUBECORO_LOG_DIR says (the e2e logs), or, when startup failed,
# in a new folder that is named.
keep_logs() { # startup-failed
  local dest=${KUBECORO_LOG_DIR:-}
  [[ -d $S/logs ]] || return 0
  if [[ -z $dest && $1 == 1 ]]; then dest=$(mktemp -d "${TMPDIR:-/tmp}/kubecoro-cp-logs.XXXXXX"); fi
  [[ -n $dest ]] || return 0
  mkdir -p "$dest" && cp -r "$S/logs/." "$dest/" && log "component logs kept in $dest"
}

down_dir() {
  local c pid left
  GRACE=0
  node_down
  for c in controller-manager apiserver etcd; do stop_component "$c"; done
  # Safety net: anything else still referring to the state dir (e.g. killed mid-start).
  for pid in $(procs "$S"); do kill -KILL "$pid" 2>/dev/null || true; done
  sleep 0.1
  left=$(procs "$S" | tr '\n' ' ')
  [[ -z $left ]] || log "WARNING: processes still running: $left"
  if awk -v s="$S/" 'index($5, s) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
    # Never delete through a mount (a volume's data would go with it).
    log "ERROR: mounts under $S remain; not removing it:"
    awk -v s="$S/" 'index($5, s) == 1 { print "  " $5 }' /proc/self/mountinfo >&3
    return 1
  fi
  rm -rf "$S"
  log "removed $S"
}

down() {
  [[ -n ${1:-} ]] || die "usage: down STATEDIR"
  if [[ ! -e $1 ]]; then log "$1 already gone"; return 0; fi
  S=$(cd "$1" && pwd)
  [[ -f $S/$MARKER ]] || die "'$S' is not a kubecoro control plane state dir, not touching it"
  keep_logs 0
  down_dir
}

status() {
  check_state "$1"
  local c pid
  local comps=(etcd apiserver controller-manager)
  if node_enabled; then comps+=("${NODE_COMPONENTS[@]}"); fi
  for c in "${comps[@]}"; do
    pid=$(cat "$S/$c.pid" 2>/dev/null || true)
    if [[ -n $pid ]] && alive "$pid"; then echo "$c: running (pid $pid)"; else echo "$c: stopped"; fi
  done
  echo "ports: etcd=$ETCD_PORT apiserver=$APISERVER_PORT controller-manager=$KCM_PORT"
  echo "readyz: $(apiserver_ready && echo ok || echo NOT ok)"
}

usage() { sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

sub=${1:-}; shift || true
case $sub in
  up) up "${1:-}" ;;
  down) down "${1:-}" ;;
  env) check_state "${1:-}"; print_env ;;
  status) status "${1:-}" ;;
  procs) [[ -n ${1:-} ]] || die "usage: procs STATEDIR"; procs "$(cd "$1" 2>/dev/null && pwd || echo "$1")" ;;
  leftovers) [[ -n ${1:-} ]] || die "usage: leftovers STATEDIR"; node_leftovers "$1" ;;
  stop-* | start-* | restart-*)
    c=${sub#*-}
    case $c in
      etcd | apiserver | controller-manager) check_state "${1:-}" ;;
      containerd | kubelet | kube-proxy | scheduler | dns) check_state "${1:-}"; node_enabled || die "no node in $S" ;;
      *) usage ;;
    esac
    case $sub in stop-*) stop_component "$c" ;; start-*) "start_${c//-/_}" ;;
      restart-*) stop_component "$c"; "start_${c//-/_}" ;; esac ;;
  *) usage ;;
esac
