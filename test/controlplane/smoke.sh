#!/usr/bin/env bash
# shellcheck disable=SC2015 # `A && pass || fail`: pass never fails
# Smoke test of the local control plane.
#   smoke.sh            starts a control plane via with-controlplane.sh, runs the checks,
#                       then verifies that no process and no state dir is left behind.
#   with-controlplane.sh smoke.sh   (or KUBECORO_USE_EXISTING_CLUSTER=1) only the checks.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TIMEOUT=${KUBECORO_SMOKE_TIMEOUT:-120}

# ---- outer mode: run under with-controlplane.sh, then check for leftovers ----------
if [[ -z ${KUBECORO_CONTROLPLANE_DIR:-} && ${KUBECORO_USE_EXISTING_CLUSTER:-} != 1 ]]; then
  dirfile=$(mktemp)
  rc=0
  KUBECORO_SMOKE_DIRFILE=$dirfile "$HERE/with-controlplane.sh" "$0" "$@" || rc=$?
  dir=$(cat "$dirfile"); rm -f "$dirfile"
  if [[ -z $dir ]]; then echo "FAIL: control plane did not start"; exit 1; fi
  if [[ -e $dir ]]; then echo "FAIL: state dir $dir left behind"; rc=1
  else echo "PASS: state dir $dir removed"; fi
  left=$("$HERE/controlplane.sh" procs "$dir")
  if [[ -n $left ]]; then echo "FAIL: processes left behind: $left"; rc=1
  else echo "PASS: no etcd/kube-* process of $dir left"; fi
  ((rc == 0)) && echo "SMOKE PASSED" || echo "SMOKE FAILED"
  exit "$rc"
fi

# ---- inner mode: checks ----------------------------------------------------------------
[[ -n ${KUBECORO_SMOKE_DIRFILE:-} ]] && echo "${KUBECORO_CONTROLPLANE_DIR:-}" >"$KUBECORO_SMOKE_DIRFILE"
failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
K=(kubectl --request-timeout=15s)
NS=kubecoro-smoke-$RANDOM$RANDOM
WORK=$(mktemp -d)
trap '"${K[@]}" delete namespace "$NS" --wait=false >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

wait_gone() { # kind/name, polls until NotFound
  local deadline=$((SECONDS + TIMEOUT)) out
  while ((SECONDS < deadline)); do
    if ! out=$("${K[@]}" -n "$NS" get "$1" -o name 2>&1); then
      [[ $out == *NotFound* || $out == *"not found"* ]] && return 0
    fi
    sleep 1
  done
  return 1
}

# 1. readyz
[[ $("${K[@]}" get --raw /readyz 2>&1) == ok ]] && pass "/readyz ok" || fail "/readyz not ok"

# 2. version (only meaningful for our own control plane)
ver=$("${K[@]}" get --raw /version | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p')
if [[ ${KUBECORO_USE_EXISTING_CLUSTER:-} == 1 ]]; then pass "server version $ver (existing cluster)"
elif [[ $ver == v1.20.2 ]]; then pass "server gitVersion $ver"
else fail "server gitVersion '$ver', want v1.20.2"; fi

"${K[@]}" create namespace "$NS" >/dev/null
# serviceaccount controller creates "default" in new namespaces
deadline=$((SECONDS + TIMEOUT))
until "${K[@]}" -n "$NS" get serviceaccount default >/dev/null 2>&1 || ((SECONDS >= deadline)); do sleep 0.5; done
"${K[@]}" -n "$NS" get serviceaccount default >/dev/null 2>&1 &&
  pass "default ServiceAccount created in $NS" || fail "no default ServiceAccount in $NS"

# 3. garbage collection
cm() { # name [ownerName ownerUID]
  {
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\n' "$1" "$NS"
    [[ -n ${3:-} ]] && printf '  ownerReferences:\n  - {apiVersion: v1, kind: ConfigMap, name: %s, uid: %s}\n' "$2" "$3"
    printf 'data: {k: v}\n'
  } | "${K[@]}" create -f - >/dev/null
}
cm owner
uid=$("${K[@]}" -n "$NS" get configmap owner -o 'jsonpath={.metadata.uid}')
cm child owner "$uid"
sleep 1
"${K[@]}" -n "$NS" get configmap child >/dev/null 2>&1 && pass "GC: child with live owner kept" ||
  fail "GC: child with live owner vanished"
"${K[@]}" -n "$NS" delete configmap owner >/dev/null
t0=$SECONDS
wait_gone configmap/child && pass "GC: child of deleted owner collected ($((SECONDS - t0))s)" ||
  fail "GC: child of deleted owner still present after ${TIMEOUT}s"

ghost=$(cat /proc/sys/kernel/random/uuid)
cm orphan ghost "$ghost"
t0=$SECONDS
wait_gone configmap/orphan && pass "GC: child of nonexistent UID $ghost collected ($((SECONDS - t0))s)" ||
  fail "GC: child of nonexistent owner still present after ${TIMEOUT}s"

# 4. ServiceAccount kubeconfig
"${K[@]}" -n "$NS" create serviceaccount smoke-sa >/dev/null
"${K[@]}" -n "$NS" create rolebinding smoke-sa-view --clusterrole=view --serviceaccount="$NS:smoke-sa" >/dev/null
if "$HERE/sa-kubeconfig.sh" "$NS" smoke-sa "$WORK/sa.kubeconfig" 2>"$WORK/sa.err"; then
  SK=(kubectl --kubeconfig "$WORK/sa.kubeconfig" --request-timeout=15s)
  "${SK[@]}" get --raw /api >/dev/null 2>&1 && pass "SA kubeconfig authenticates (GET /api)" ||
    fail "SA kubeconfig: GET /api failed"
  [[ $("${SK[@]}" auth can-i list configmaps -n "$NS" 2>/dev/null) == yes ]] &&
    pass "SA can list configmaps in $NS (RoleBinding honoured)" || fail "SA cannot list configmaps in $NS"
  [[ $("${SK[@]}" auth can-i list secrets -n kube-system 2>/dev/null || true) == no ]] &&
    pass "SA cannot list secrets in kube-system (RBAC enforced)" || fail "SA unexpectedly allowed in kube-system"
  err=$("${SK[@]}" -n kube-system get configmaps 2>&1 || true)
  [[ $err == *"system:serviceaccount:$NS:smoke-sa"* ]] && pass "SA identity is system:serviceaccount:$NS:smoke-sa" ||
    fail "SA identity not reported as expected: $err"
else
  fail "sa-kubeconfig.sh failed: $(cat "$WORK/sa.err")"
fi

((failures == 0)) && echo "checks: all passed" || echo "checks: $failures failed"
exit $((failures > 0))
