# shellcheck shell=bash disable=SC2034,SC2154 # sourced by controlplane.sh: S, BIN, HERE, log, die, ports
# The local node (KUBECORO_NODE=1): containerd + runc, kubelet, kube-proxy (iptables), kube-scheduler,
# cluster DNS (dnsmasq fed from Services/Endpoints by node_agent.py) and hostPath volumes, all on
# this machine. Pods and Services stay on a bridge of its own (kubecoro0, 10.244.0.0/24; Services
# 10.0.0.0/16 routed to it); the mangle table drops anything forwarded that does not stay on it.
# One node per machine: /run/kubecoro-node names the control plane that owns it.

NODE_NAME=kubecoro-node
NODE_BRIDGE=kubecoro0
NODE_IP=10.244.0.1
NODE_POD_CIDR=10.244.0.0/24
NODE_SERVICE_CIDR=10.0.0.0/16 # = kube-apiserver --service-cluster-ip-range
NODE_CLUSTER_DOMAIN=cluster.local
NODE_CLAIM=/run/kubecoro-node
NODE_TAG=kubecoro-node # comment on every iptables rule of ours
NODE_COMPONENTS=(containerd dns node-agent scheduler kube-proxy kubelet)
NODE_PACKAGES=(containerd runc containernetworking-plugins dnsmasq-base iptables conntrack iproute2
  util-linux python3 curl)
HOSTPATH_BASE=/tmp/hostpath_pv # fixed by kube-controller-manager's hostPath provisioner

N() { echo "$S/node"; }
node_enabled() { [[ -f $S/node.enabled ]]; }
ctr_() { ctr --address "$(N)/containerd.sock" --namespace k8s.io "$@"; }

# ---- components ------------------------------------------------------------------------------
cmd_containerd() { CMD=(containerd --config "$(N)/containerd.toml"); }
cmd_dns() {
  CMD=(dnsmasq --keep-in-foreground --log-facility=- --conf-file=/dev/null --user=root
    --no-resolv --no-hosts --addn-hosts="$(N)/dns/hosts" --pid-file="$(N)/dnsmasq.pid"
    --listen-address="$NODE_IP" --bind-interfaces --port=53 --cache-size=0
    --local="/$NODE_CLUSTER_DOMAIN/" --domain-needed --bogus-priv)
}
cmd_node_agent() {
  CMD=(python3 "$HERE/node_agent.py" --kubeconfig "$S/kubeconfig" --hosts "$(N)/dns/hosts"
    --dnsmasq-pid "$(N)/dnsmasq.pid" --domain "$NODE_CLUSTER_DOMAIN" --volumes "$HOSTPATH_BASE"
    --volume-log "$NODE_CLAIM/volumes")
}
cmd_scheduler() {
  CMD=("$BIN/kube-scheduler" --kubeconfig "$S/scheduler.kubeconfig"
    --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" --port 0 --cert-dir "$(N)/scheduler-certs"
    --leader-elect=false --profiling=false --logtostderr --v 1)
}
cmd_kube_proxy() {
  CMD=("$BIN/kube-proxy" --kubeconfig "$S/kube-proxy.kubeconfig" --hostname-override "$NODE_NAME"
    --bind-address "$NODE_IP" --proxy-mode iptables --cluster-cidr "$NODE_POD_CIDR" --masquerade-all
    --nodeport-addresses "$NODE_IP/32" --conntrack-max-per-core 0 --oom-score-adj 0
    --healthz-bind-address "127.0.0.1:$PROXY_HEALTHZ_PORT" --metrics-bind-address "127.0.0.1:$PROXY_METRICS_PORT"
    --profiling=false --logtostderr --v 1)
}
cmd_kubelet() {
  local n; n=$(N)
  CMD=("$BIN/kubelet" --config "$n/kubelet.yaml" --kubeconfig "$S/kubelet.kubeconfig"
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP"
    --container-runtime remote --container-runtime-endpoint "unix://$n/containerd.sock"
    --pod-infra-container-image "$PAUSE_IMAGE" --root-dir "$n/kubelet" --cert-dir "$n/kubelet-pki"
    --logtostderr --v 1)
  # shellcheck disable=SC2206 # words, as kubeadm's KUBELET_EXTRA_ARGS
  CMD+=(${KUBELET_EXTRA_ARGS:-})
}

# ---- configuration ---------------------------------------------------------------------------
node_ports() {
  KUBELET_PORT=$(pick_port); PICKED+=" $KUBELET_PORT"
  KUBELET_HEALTHZ_PORT=$(pick_port); PICKED+=" $KUBELET_HEALTHZ_PORT"
  PROXY_HEALTHZ_PORT=$(pick_port); PICKED+=" $PROXY_HEALTHZ_PORT"
  PROXY_METRICS_PORT=$(pick_port); PICKED+=" $PROXY_METRICS_PORT"
  SCHEDULER_PORT=$(pick_port); PICKED+=" $SCHEDULER_PORT"
  printf 'KUBELET_PORT=%s\nKUBELET_HEALTHZ_PORT=%s\nPROXY_HEALTHZ_PORT=%s\nPROXY_METRICS_PORT=%s\nSCHEDULER_PORT=%s\nPAUSE_IMAGE=%s\n' \
    "$KUBELET_PORT" "$KUBELET_HEALTHZ_PORT" "$PROXY_HEALTHZ_PORT" "$PROXY_METRICS_PORT" "$SCHEDULER_PORT" \
    "$PAUSE_IMAGE" >>"$S/ports.env"
}

write_node_config() {
  local n; n=$(N)
  mkdir -p "$n/cni" "$n/dns" "$n/volume-plugins"
  : >"$n/resolv.conf" # pods get only the cluster DNS, never the host's resolvers
  : >"$n/dns/hosts"
  # Any pull goes to a closed port on loopback: nothing leaves the machine for an image, not even
  # a DNS query. (containerd 1.6 refuses a hosts.toml without a host table; _default is for 1.7+.)
  local r
  for r in docker.io registry.k8s.io k8s.gcr.io quay.io ghcr.io gcr.io _default; do
    mkdir -p "$n/registry/$r"
    printf '%s\n' 'server = "http://127.0.0.1:1"' '[host."http://127.0.0.1:1"]' '  capabilities = ["pull", "resolve"]' \
      >"$n/registry/$r/hosts.toml"
  done
  cat >"$n/containerd.toml" <<EOF
version = 2
root = "$n/containerd"
state = "$n/containerd-run"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$n/containerd.sock"
[ttrpc]
  address = "$n/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # The sandbox lacks CAP_SYS_RESOURCE: without this every pod sandbox fails.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$n/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$n/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$n/registry"
EOF
  cat >"$n/cni/10-kubecoro.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "kubecoro",
  "plugins": [
    {
      "type": "bridge", "bridge": "$NODE_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$n/cni-ipam",
        "ranges": [[{"subnet": "$NODE_POD_CIDR", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  # What the node's facts require: cgroupfs without QoS cgroups or allocatable enforcement, no
  # eviction, no swap check; the API server authenticated by its client certificate.
  cat >"$n/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $S/pki/ca.crt}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
evictionHard: {}
failSwapOn: false
makeIPTablesUtilChains: false
oomScoreAdj: 0
clusterDNS: [$NODE_IP]
clusterDomain: $NODE_CLUSTER_DOMAIN
resolvConf: $n/resolv.conf
volumePluginDir: $n/volume-plugins
runtimeRequestTimeout: 5m
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 95
EOF
  write_kubeconfig "$S/kubelet.kubeconfig" "system:node:$NODE_NAME" "$S/pki/kubelet.crt" "$S/pki/kubelet.key"
  write_kubeconfig "$S/kube-proxy.kubeconfig" system:kube-proxy "$S/pki/kube-proxy.crt" "$S/pki/kube-proxy.key"
  write_kubeconfig "$S/scheduler.kubeconfig" system:kube-scheduler "$S/pki/scheduler.crt" "$S/pki/scheduler.key"
}

# ---- the machine: claim, network, rules ------------------------------------------------------
node_claim() {
  local owner
  exec 4>/run/kubecoro-node.lock
  flock 4
  if [[ -f $NODE_CLAIM/owner ]]; then
    owner=$(cat "$NODE_CLAIM/owner")
    if [[ -d $owner && -n $(procs "$owner") ]]; then
      die "the node is in use by the control plane in $owner (one node per machine)"
    fi
    log "node: cleaning up after $owner, which did not tear down"
    node_release_machine
  fi
  mkdir -p "$NODE_CLAIM"
  echo "$S" >"$NODE_CLAIM/owner"
  cat /proc/sys/net/ipv4/ip_forward >"$NODE_CLAIM/ip_forward"
  # Pod logs the kubelet writes outside its root dir: what is there now is not ours.
  ls -1 /var/log/pods 2>/dev/null >"$NODE_CLAIM/var-log-pods" || true
  flock -u 4
}

iptables_tagged() { # table: our rules, as `-A CHAIN ...` lines
  iptables -t "$1" -S 2>/dev/null | grep -F -- "--comment $NODE_TAG" || true
}

node_network_up() {
  ip link add "$NODE_BRIDGE" type bridge 2>/dev/null || die "cannot create bridge $NODE_BRIDGE (exists already?)"
  ip addr add "$NODE_IP/24" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  # Service addresses without a rule stay on the bridge instead of following the default route.
  ip route add "$NODE_SERVICE_CIDR" dev "$NODE_BRIDGE"
  # Forwarding only from the bridge to the bridge (pod -> Service -> pod); everything else that
  # would be forwarded is dropped before kube-proxy's filter rules see it.
  iptables -t mangle -A FORWARD -i "$NODE_BRIDGE" -o "$NODE_BRIDGE" -m comment --comment "$NODE_TAG" -j ACCEPT
  iptables -t mangle -A FORWARD -m comment --comment "$NODE_TAG" -j DROP
  echo 1 >/proc/sys/net/ipv4/ip_forward
}

# Removes every iptables rule and chain kube-proxy, the CNI plugins or this script made.
node_iptables_clean() {
  local t chain rule
  if [[ -x $BIN/kube-proxy ]]; then
    "$BIN/kube-proxy" --cleanup --proxy-mode iptables >/dev/null 2>&1 || true
  fi
  for t in filter nat mangle raw; do
    while read -r rule; do
      [[ -n $rule ]] || continue
      eval "iptables -t $t ${rule/-A /-D }" 2>/dev/null || true
    done < <(iptables -t "$t" -S 2>/dev/null | grep -E -- "--comment \"?$NODE_TAG|-j (KUBE|CNI)-" || true)
    for chain in $(iptables -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE|CNI)-/ { print $2 }'); do
      iptables -t "$t" -F "$chain" 2>/dev/null || true
    done
    for chain in $(iptables -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE|CNI)-/ { print $2 }'); do
      iptables -t "$t" -X "$chain" 2>/dev/null || true
    done
  done
}

# What the node that holds the claim left on the machine beyond its state dir, cleaned up.
node_release_machine() {
  local d link
  node_iptables_clean
  for link in $(ip -o link show master "$NODE_BRIDGE" 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
    ip link del "$link" 2>/dev/null || true
  done
  ip link del "$NODE_BRIDGE" 2>/dev/null || true
  [[ -f $NODE_CLAIM/ip_forward ]] && cat "$NODE_CLAIM/ip_forward" >/proc/sys/net/ipv4/ip_forward
  if [[ -f $NODE_CLAIM/volumes ]]; then
    while read -r d; do
      [[ $d == "$HOSTPATH_BASE"/* && -d $d ]] && rm -rf --one-file-system "$d"
    done <"$NODE_CLAIM/volumes"
  fi
  rmdir "$HOSTPATH_BASE" 2>/dev/null || true
  if [[ -d /var/log/pods ]]; then
    for d in /var/log/pods/*; do
      [[ -e $d ]] || continue
      grep -qxF "${d##*/}" "$NODE_CLAIM/var-log-pods" 2>/dev/null || rm -rf "$d"
    done
    find /var/log/containers -maxdepth 1 -xtype l -delete 2>/dev/null || true
  fi
  rm -rf "$NODE_CLAIM"
}

# ---- up and down -----------------------------------------------------------------------------
node_packages() {
  bash "$HERE/../ensure-packages.sh" "${NODE_PACKAGES[@]}" >&3 2>&3 || die "installing the node's packages failed"
}

containerd_ready() { ctr_ version; }
node_ready() {
  [[ $(kubectl --kubeconfig "$S/kubeconfig" get node "$NODE_NAME" \
    -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}') == True ]]
}
proxy_healthy() { curl -fsS --max-time 3 "http://127.0.0.1:$PROXY_HEALTHZ_PORT/healthz"; }
scheduler_healthy() { curl_ok -k "https://127.0.0.1:$SCHEDULER_PORT/healthz"; }
kubelet_healthy() { curl_ok "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz"; }
dns_started() { [[ -s $(N)/dnsmasq.pid ]]; }

start_containerd() {
  start_component containerd
  wait_for containerd containerd_ready
}
start_dns() { start_component dns; wait_for dns dns_started; }
start_node_agent() { start_component node-agent; }
start_scheduler() { start_component scheduler; wait_for scheduler scheduler_healthy; }
start_kube_proxy() { start_component kube-proxy; wait_for kube-proxy proxy_healthy; }
start_kubelet() {
  start_component kubelet
  wait_for kubelet kubelet_healthy
  wait_for kubelet node_ready
}

node_import_images() {
  local f t0=$SECONDS
  for f in "${NODE_ARCHIVES[@]}"; do
    ctr_ images import "$f" >>"$S/logs/images.log" 2>&1 ||
      fail_with_log images "importing $f into containerd failed"
  done
  log "node: imported ${#NODE_ARCHIVES[@]} images in $((SECONDS - t0))s: $(ctr_ images ls -q | grep -v '^sha256:' | tr '\n' ' ')"
}

node_storage_class() {
  kubectl --kubeconfig "$S/kubeconfig" apply -f - >/dev/null <<'EOF'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
EOF
}

# Called by `up` after the control plane is ready.
node_up() {
  local t0=$SECONDS
  node_packages
  PAUSE_IMAGE=localhost/kubecoro-pause:$(cat "${BIN%/bin}/pause.version" 2>/dev/null || echo 3.4)
  mapfile -t NODE_ARCHIVES < <(bash "$HERE/../images/build.sh") || die "building the node's images failed"
  ((${#NODE_ARCHIVES[@]} >= 3)) || die "test/images/build.sh produced no images"
  node_claim
  node_ports
  write_node_config
  node_network_up
  start_containerd
  node_import_images
  start_dns
  start_node_agent
  start_scheduler
  start_kube_proxy
  start_kubelet
  node_storage_class || die "creating the default StorageClass failed"
  log "node: $NODE_NAME ready in $((SECONDS - t0))s (pods $NODE_POD_CIDR on $NODE_BRIDGE, DNS $NODE_IP)"
}

# Stops every container (the kubelet first, so that it starts none), unmounts, tears the network
# down. Works from what is on disk, also when components already died.
node_down() {
  local n c id mp
  n=$(N)
  [[ -d $n ]] || return 0
  for c in kubelet kube-proxy scheduler node-agent dns; do stop_component "$c"; done
  if [[ -d $n/runc/k8s.io ]]; then
    for id in $(runc --root "$n/runc/k8s.io" list -q 2>/dev/null); do
      runc --root "$n/runc/k8s.io" kill --all "$id" KILL 2>/dev/null || true
    done
    for id in $(runc --root "$n/runc/k8s.io" list -q 2>/dev/null); do
      runc --root "$n/runc/k8s.io" delete --force "$id" 2>/dev/null || true
    done
  fi
  stop_component containerd
  # The shims outlive containerd; they exit when their container is gone, or are killed here.
  for id in $(procs "$S"); do
    [[ $(cat "/proc/$id/comm" 2>/dev/null) == containerd-shim ]] && kill -KILL "$id" 2>/dev/null
  done
  # Deepest first: overlay roots, /dev/shm, secrets, network namespaces.
  for _ in 1 2 3; do
    while read -r mp; do
      umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
    done < <(awk -v s="$S/" 'index($5, s) == 1 { print length($5), $5 }' /proc/self/mountinfo | sort -rn | cut -d' ' -f2-)
  done
  if [[ -f $NODE_CLAIM/owner && $(cat "$NODE_CLAIM/owner") == "$S" ]]; then
    node_release_machine
  fi
}

# node_leftovers STATEDIR: prints what a node of STATEDIR left behind (empty: nothing).
node_leftovers() {
  local d=$1 t
  [[ -z $(procs "$d") ]] || echo "processes: $(procs "$d" | tr '\n' ' ')"
  awk -v s="$d/" 'index($5, s) == 1 { print "mount: " $5 }' /proc/self/mountinfo
  ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && echo "bridge: $NODE_BRIDGE"
  for t in filter nat mangle raw; do
    iptables -t "$t" -S 2>/dev/null | grep -E -- "$NODE_TAG|KUBE-|CNI-" | sed "s/^/iptables $t: /" || true
  done
  [[ -e $NODE_CLAIM ]] && echo "claim: $NODE_CLAIM ($(cat "$NODE_CLAIM/owner" 2>/dev/null))"
  [[ ! -e $d ]] || echo "state dir: $d"
  return 0
}
