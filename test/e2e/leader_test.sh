#!/usr/bin/env bash
# Leader election against a real control plane:
#   bash test/controlplane/with-controlplane.sh bash test/e2e/leader_test.sh
# Two probes with the default durations (lease 15 s, renew deadline 10 s, retry 2 s): exactly one
# leads; after SIGKILL the other takes over once the lease expires; SIGTERM releases the lease
# (holder emptied, exit 0) so that a third probe acquires at once; a foreign write to the lease
# makes the leader exit 1 with LOST. Prints one PASS or FAIL line per check and the measured times.
# Needs KUBECONFIG and kubectl; the probe is <build dir>/test/e2e/leader_probe (see below).
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
# The build directory: $KUBECORO_BUILD_DIR, else the one holding $KUBECORO_BIN (run-tests.sh), else build/.
build=${KUBECORO_BUILD_DIR:-$(dirname "${KUBECORO_BIN:-$root/build/kubecoro}")}
probe=$build/test/e2e/leader_probe
ns=${KUBECORO_E2E_NAMESPACE:-default}
lease=leader-e2e-$$-$RANDOM
lease_s=15
retry_s=2
work=$(mktemp -d "${TMPDIR:-/tmp}/kubecoro-leader-e2e.XXXXXX")
failures=0
declare -A pids=()

pass() { echo "PASS leader: $*"; }
fail() { echo "FAIL leader: $*"; failures=$((failures + 1)); }
check() { # description, command...
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

now_ns() { date +%s%N; }
seconds_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
at_most() { awk -v v="$1" -v max="$2" 'BEGIN { exit !(v <= max) }'; }

# Polls `command...` every 0.1 s until it succeeds (0) or `seconds` pass (1).
wait_until() { # seconds, command...
  local deadline=$(($(now_ns) + $1 * 1000000000)); shift
  until "$@"; do
    (($(now_ns) < deadline)) || return 1
    sleep 0.1
  done
}

start_probe() { # name, extra flags...
  local name=$1; shift
  "$probe" --identity "e2e-$name" --lease "$lease" --namespace "$ns" "$@" \
    >"$work/$name.out" 2>"$work/$name.err" &
  pids[$name]=$!
}
leads() { grep -qx "LEADER e2e-$1" "$work/$1.out" 2>/dev/null; }
printed() { grep -qx "$2" "$work/$1.out" 2>/dev/null; }
# A reaped or zombie process counts as gone.
alive() {
  local pid=${pids[$1]:-}
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && [[ $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) != Z ]]
}
gone() { ! alive "$1"; }
# Sets rc to the exit status of a probe that is gone (no subshell: only this shell can wait).
reap() { rc=0; wait "${pids[$1]}" 2>/dev/null || rc=$?; unset "pids[$1]"; }
sees_other_holder() { grep -q "lease held by another" "$work/$1.err" 2>/dev/null; }

lease_field() { kubectl -n "$ns" get lease "$lease" -o "jsonpath={.spec.$1}" 2>/dev/null; }
holder_is() { [[ $(lease_field holderIdentity) == "$1" ]]; }

cleanup() {
  trap - EXIT INT TERM HUP
  local name
  for name in "${!pids[@]}"; do kill -TERM "${pids[$name]}" 2>/dev/null || true; done
  for name in "${!pids[@]}"; do
    wait_until 10 gone "$name" || kill -KILL "${pids[$name]}" 2>/dev/null || true
    wait "${pids[$name]}" 2>/dev/null || true
  done
  if ((failures > 0)); then
    for f in "$work"/*.out "$work"/*.err; do
      [[ -s $f ]] && { echo "--- $(basename "$f")"; tail -n 20 "$f"; } >&2
    done
  fi
  kubectl -n "$ns" delete lease "$lease" --ignore-not-found >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap 'cleanup; exit $(( failures > 0 ))' EXIT
trap 'fail "interrupted"; exit 1' INT TERM HUP

if [[ -z ${KUBECONFIG:-} ]] || ! command -v kubectl >/dev/null || [[ ! -x $probe ]]; then
  fail "prerequisites: KUBECONFIG, kubectl and $probe (set KUBECORO_BUILD_DIR)"
  exit 1
fi

# 1. Two candidates: exactly one leads, the other follows.
start_probe a
start_probe b
if ! wait_until 30 bash -c "grep -sqx 'LEADER e2e-[ab]' '$work/a.out' '$work/b.out'"; then
  fail "one of two probes becomes leader within 30 s"
  exit 1
fi
if leads a; then first=a second=b; else first=b second=a; fi
# The follower has read the lease held by the leader, and did not take it.
wait_until 10 sees_other_holder "$second"
check "exactly one of two probes leads (e2e-$first); e2e-$second follows" \
  bash -c "grep -q 'lease held by another' '$work/$second.err' && ! grep -q '^LEADER' '$work/$second.out'"
check "the Lease names e2e-$first as holder" holder_is "e2e-$first"

# 2. SIGKILL the leader: nothing is released, the follower waits out the lease.
t0=$(now_ns)
kill -KILL "${pids[$first]}"
reap "$first"
if wait_until 40 leads "$second"; then
  failover=$(seconds_since "$t0")
  echo "leader failover after SIGKILL: ${failover} s (lease ${lease_s} s, retry ${retry_s} s)"
  # Expiry is judged from the follower's first sight of the last renewal, which trails the renewal
  # by up to one retry period: the bound is lease + 2 x retry (typically about lease + retry).
  limit=$((lease_s + 2 * retry_s + 1))
  check "e2e-$second takes over within ${limit} s of SIGKILL (took ${failover} s)" at_most "$failover" "$limit"
  check "failover is not before the lease could expire (took ${failover} s)" at_most $((lease_s - retry_s)) "$failover"
else
  fail "e2e-$second takes over within 40 s of SIGKILL"
fi
check "the Lease names e2e-$second as holder" wait_until 5 holder_is "e2e-$second"
check "leaseTransitions counts the change of holder" bash -c "(( \$(kubectl -n '$ns' get lease '$lease' -o 'jsonpath={.spec.leaseTransitions}') >= 1 ))"

# 3. SIGTERM the new leader: it releases the lease and exits 0.
kill -TERM "${pids[$second]}"
if wait_until 10 gone "$second"; then
  reap "$second"
  check "e2e-$second exits 0 after SIGTERM (status $rc)" test "$rc" = 0
  check "e2e-$second reports RELEASED" printed "$second" RELEASED
else
  fail "e2e-$second exits within 10 s of SIGTERM"
fi
check "the released Lease has no holder" wait_until 5 holder_is ""
check "the released Lease has leaseDurationSeconds 1" test "$(lease_field leaseDurationSeconds)" = 1

# 4. A new candidate acquires the released lease at once.
t0=$(now_ns)
start_probe c
if wait_until 10 leads c; then
  took=$(seconds_since "$t0")
  echo "acquisition after release: ${took} s"
  check "e2e-c acquires the released lease within 3 s (took ${took} s)" at_most "$took" 3
else
  fail "e2e-c acquires the released lease within 10 s"
fi

# 5. Someone else writes the lease: the leader notices at its next renewal and exits 1.
if leads c; then
  t0=$(now_ns)
  kubectl -n "$ns" patch lease "$lease" --type=merge -p '{"spec":{"holderIdentity":"e2e-intruder"}}' >/dev/null
  if wait_until 10 gone c; then
    took=$(seconds_since "$t0")
    reap c
    echo "lost leadership noticed after: ${took} s"
    check "e2e-c exits 1 with LOST when another holder appears (status $rc)" \
      bash -c "[[ $rc == 1 ]] && grep -qx LOST '$work/c.out'"
    check "e2e-c notices within $((retry_s + 2)) s (took ${took} s)" at_most "$took" $((retry_s + 2))
  else
    fail "e2e-c exits within 10 s after another holder appears"
  fi
  check "the Lease keeps the foreign holder" holder_is "e2e-intruder"
fi

echo "leader: ${failures} check(s) failed"
