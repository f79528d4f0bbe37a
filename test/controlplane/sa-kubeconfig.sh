#!/usr/bin/env bash
# Usage: sa-kubeconfig.sh NAMESPACE SERVICEACCOUNT OUT-FILE
# Using the admin KUBECONFIG, writes a kubeconfig that authenticates as the given
# ServiceAccount (created if missing) with a long-lived token from a
# kubernetes.io/service-account-token Secret (works on 1.20, no `kubectl create token`).
# Env: KUBECORO_TOKEN_TIMEOUT (s, default 60).
set -euo pipefail

die() { echo "sa-kubeconfig: ERROR: $*" >&2; exit 1; }
[[ $# -eq 3 ]] || die "usage: $0 NAMESPACE SERVICEACCOUNT OUT-FILE"
NS=$1 SA=$2 OUT=$3
[[ -n ${KUBECONFIG:-} ]] || die "KUBECONFIG (admin) must be set"
K=(kubectl --request-timeout=10s)
SECRET=$SA-kubecoro-token

"${K[@]}" get namespace "$NS" >/dev/null || die "namespace $NS not found"
"${K[@]}" -n "$NS" get serviceaccount "$SA" >/dev/null 2>&1 ||
  "${K[@]}" -n "$NS" create serviceaccount "$SA" >/dev/null
"${K[@]}" -n "$NS" get secret "$SECRET" >/dev/null 2>&1 || "${K[@]}" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata:
  name: $SECRET
  namespace: $NS
  annotations:
    kubernetes.io/service-account.name: $SA
EOF

deadline=$((SECONDS + ${KUBECORO_TOKEN_TIMEOUT:-60}))
token=""
until [[ -n $token ]]; do
  token=$("${K[@]}" -n "$NS" get secret "$SECRET" -o 'jsonpath={.data.token}' 2>/dev/null || true)
  [[ -n $token ]] && break
  ((SECONDS < deadline)) || die "token controller did not fill secret $NS/$SECRET within ${KUBECORO_TOKEN_TIMEOUT:-60}s (is kube-controller-manager running?)"
  sleep 0.5
done
token=$(base64 -d <<<"$token")

server=$("${K[@]}" config view --minify -o 'jsonpath={.clusters[0].cluster.server}')
ca=$("${K[@]}" config view --minify --raw -o 'jsonpath={.clusters[0].cluster.certificate-authority-data}')
if [[ -z $ca ]]; then
  cafile=$("${K[@]}" config view --minify --raw -o 'jsonpath={.clusters[0].cluster.certificate-authority}')
  if [[ -n $cafile ]]; then ca=$(base64 -w0 <"$cafile")
  else ca=$("${K[@]}" -n "$NS" get secret "$SECRET" -o 'jsonpath={.data.ca\.crt}'); fi
fi
[[ -n $server && -n $ca ]] || die "cannot determine server URL / CA from KUBECONFIG"

umask 077
cat >"$OUT.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: cluster
  cluster:
    server: $server
    certificate-authority-data: $ca
users:
- name: $NS-$SA
  user:
    token: $token
contexts:
- name: $NS-$SA
  context: {cluster: cluster, user: $NS-$SA, namespace: $NS}
current-context: $NS-$SA
EOF
mv -f "$OUT.tmp" "$OUT"
echo "sa-kubeconfig: wrote $OUT for system:serviceaccount:$NS:$SA" >&2
