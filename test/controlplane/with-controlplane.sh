#!/usr/bin/env bash
# Usage: with-controlplane.sh COMMAND [ARGS...]
# Starts a fresh local control plane, runs COMMAND with KUBECONFIG and
# KUBECORO_CONTROLPLANE_DIR exported, then ALWAYS stops it and removes its state
# (also on failure, Ctrl-C or SIGTERM). Exits with COMMAND's status (128+N on signal N).
# KUBECORO_USE_EXISTING_CLUSTER=1 (with KUBECONFIG set): just run COMMAND against that cluster.
# KUBECORO_NODE=1: with a real node (see controlplane.sh); KUBECORO_LOG_DIR=DIR keeps the
# components' logs there; KUBECORO_STATEDIR_FILE=FILE receives the state dir's path.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CP=$HERE/controlplane.sh
die() { echo "with-controlplane: ERROR: $*" >&2; exit 1; }
[[ $# -gt 0 ]] || die "usage: $0 COMMAND [ARGS...]"

if [[ ${KUBECORO_USE_EXISTING_CLUSTER:-} == 1 ]]; then
  [[ -n ${KUBECONFIG:-} ]] || die "KUBECORO_USE_EXISTING_CLUSTER=1 requires KUBECONFIG"
  echo "with-controlplane: using existing cluster from KUBECONFIG=$KUBECONFIG" >&2
  unset KUBECORO_CONTROLPLANE_DIR
  exec "$@"
fi

STATE=$(mktemp -d "${TMPDIR:-/tmp}/kubecoro-cp.XXXXXX")
# For a harness that checks afterwards what the teardown left (controlplane.sh leftovers).
if [[ -n ${KUBECORO_STATEDIR_FILE:-} ]]; then echo "$STATE" >"$KUBECORO_STATEDIR_FILE"; fi
child=""
cleanup() {
  local rc=$1
  trap - EXIT INT TERM HUP
  if [[ -n $child ]] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  "$CP" down "$STATE" || rm -rf "$STATE"
  exit "$rc"
}
trap 'cleanup $?' EXIT
trap 'cleanup 130' INT
trap 'cleanup 143' TERM
trap 'cleanup 129' HUP

# Background + wait everywhere, so that signals to this script are handled at once.
"$CP" up "$STATE" >/dev/null &
child=$!
wait "$child" || die "control plane failed to start"
child=""
export KUBECORO_CONTROLPLANE_DIR=$STATE
export KUBECONFIG=$STATE/kubeconfig

set +e
"$@" <&0 &
child=$!
wait "$child"
rc=$?
child=""
cleanup "$rc"
