# The faults and measurements shared by failover_test.sh (PostgreSQL) and mariadb_failover_test.sh,
# sourced after lib.sh. The caller sets ns, db, members, label (the check lines' prefix), figure
# (the FIGURE lines' prefix) and operator (the name start_operator was given), and defines present_ids (the ids in table w on the current primary,
# one per line), pid_of POD (its server's process on this machine) and lost NAME (what it asserts
# about LAST_MISSING). The client pod logs "ack ID TIME", "err ID TIME" and
# "sample TIME member:t|f|x ...".

status_of() { kubectl get "db/$db" -n "$ns" -o "jsonpath=$1" 2>/dev/null; }
primary_is() { [[ $(status_of '{.status.currentPrimary}') == "$1" ]]; }
settled() { # every member ready, no switch in progress, the Services on the right pods
  local p; p=$(status_of '{.status.currentPrimary}')
  [[ $(status_of '{.status.ready}/{.status.phase}/{.status.replication.switch.from}') == $members/$members/Ready/ ]] || return 1
  [[ $(kubectl get endpoints -n "$ns" "$db" -o 'jsonpath={.subsets[*].addresses[*].targetRef.name}') == "$p" ]] || return 1
  local ro; ro=$(kubectl get endpoints -n "$ns" "$db-ro" -o 'jsonpath={.subsets[*].addresses[*].targetRef.name}')
  [[ $(wc -w <<<"$ro") == $((members - 1)) && " $ro " != *" $p "* ]]
}
# The operator has acted on the Database's latest spec and the StatefulSet controller on the
# latest template (until both have, the pods still match the old revision), every member is on
# the StatefulSet's update revision, and settled.
rolled() {
  local want
  [[ $(status_of '{.metadata.generation}/{.status.observedGeneration}') =~ ^([0-9]+)/([0-9]+)$ && ${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" ]] || return 1
  [[ $(kubectl get sts "$db" -n "$ns" -o 'jsonpath={.metadata.generation}/{.status.observedGeneration}') =~ ^([0-9]+)/([0-9]+)$ && ${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" ]] || return 1
  want=$(kubectl get sts "$db" -n "$ns" -o 'jsonpath={.status.updateRevision}')
  [[ -n $want && $(kubectl get pods -n "$ns" -l app.kubernetes.io/instance=$db -o 'jsonpath={range .items[*]}{.metadata.labels.controller-revision-hash} {end}') == "$want $want $want " ]] && settled
}
client_log() { kubectl logs -n "$ns" client 2>/dev/null; }
acks_after() { client_log | awk -v t="$1" '$1 == "ack" && $3 > t { n++ } END { print n + 0 }'; }

# report NAME FAULT-TIME: after the cluster settled again, the figures of one fault (LAST_MISSING,
# LAST_RESUMED), and never two members accepting writes in a sample.
report() {
  local name=$1 t=$2 log resumed missing doubles acked outage present
  log=$(client_log)
  # Writes resume at the first acknowledgement after the first failure since the fault.
  resumed=$(awk -v t="$t" '$3 > t && $1 == "err" && !f { f = 1 } $3 > t && $1 == "ack" && f { printf "%.1f", $3 - t; exit }' <<<"$log")
  [[ -n $resumed ]] || resumed=0.0
  # The longest time without an acknowledged write since the fault (what a client felt).
  outage=$(awk -v t="$t" 'BEGIN { last = t } $1 == "ack" && $3 > t { if ($3 - last > m) m = $3 - last; last = $3 } END { printf "%.1f", m }' <<<"$log")
  acked=$(awk '$1 == "ack" { print $2 }' <<<"$log" | sort -n)
  present=$(present_ids)
  missing=$(comm -23 <(sort <<<"$acked") <(sort <<<"$present") | grep -c . || true)
  doubles=$(awk '$1 == "sample" { n = 0; for (i = 3; i <= NF; i++) if ($i ~ /:t$/) n++; if (n > 1) d++ } END { print d + 0 }' <<<"$log")
  echo "FIGURE $figure$name: writes back after ${resumed} s (longest gap between acknowledged writes ${outage} s); acknowledged ids missing: $missing of $(grep -c . <<<"$acked"); samples with two writable members: $doubles"
  check "$label: $name: never two members accepting writes ($doubles samples)" test "$doubles" == 0
  LAST_MISSING=$missing
  LAST_RESUMED=$resumed
}
# settle NAME SECONDS: Ready again, the Services right, the old primary a replica.
settle() {
  if wait_until "$2" settled; then
    pass "$label: $1: settled again ($members/$members Ready, Services on $(status_of '{.status.currentPrimary}') and the replicas)"
  else
    fail "$label: $1: not settled ($(status_of '{.status.ready}/{.status.phase} switch={.status.replication.switch}') $(status_of '{.status.conditions[?(@.type=="PrimaryAvailable")].message}'))"
    kubectl get pods -n "$ns" -o wide 2>&1 | head
  fi
}

# The primary deleted, then frozen (SIGSTOP) past the failover delay and resumed: each settles
# again with its figures. FAULT_OLD is the primary that was frozen.
primary_pod_deleted() {
  local old uid t
  old=$(status_of '{.status.currentPrimary}')
  uid=$(kubectl get pod -n "$ns" "$old" -o 'jsonpath={.metadata.uid}')
  t=$(now_s)
  kubectl delete pod -n "$ns" "$old" --wait=false >/dev/null
  # Until the pod is gone (or recreated), the status and the Services may still show the state
  # before the fault: settling starts from there.
  wait_until 120 bash -c "[[ \$(kubectl get pod -n $ns $old -o jsonpath={.metadata.uid} 2>/dev/null) != $uid ]]" ||
    fail "$label: primary pod deleted: $old still there after 120 s"
  settle "primary pod deleted" 180
  report "primary pod deleted" "$t"
  lost "primary pod deleted"
  FAULT_OLD=$old
}
frozen_primary() {
  local old pid t
  old=$(status_of '{.status.currentPrimary}')
  pid=$(pid_of "$old")
  t=$(now_s)
  FAULT_OLD=$old
  if [[ -z $pid ]]; then
    fail "$label: frozen primary: the server process of $old found"
    return
  fi
  kill -STOP "$pid"
  if wait_until 150 bash -c "p=\$(kubectl get db $db -n $ns -o jsonpath={.status.currentPrimary}); [[ -n \$p && \$p != $old ]]"; then
    pass "$label: frozen primary: another member was promoted ($(status_of '{.status.currentPrimary}'))"
  else
    fail "$label: frozen primary: no other member promoted ($(status_of '{.status.conditions[?(@.type=="PrimaryAvailable")].message}'))"
  fi
  kill -CONT "$pid" 2>/dev/null || true
  sleep 2 # the resumed process gets its chance to accept a write; the sampler keeps asking
  settle "frozen primary" 180
  report "frozen primary" "$t"
  lost "frozen primary"
  check "$label: frozen primary: the frozen server never accepts writes again (its process is gone)" bash -c "! kill -0 $pid 2>/dev/null"
}

# KUBECORO_E2E_LONG: scaling down past the primary (switched over first), the primary's server
# killed (SIGKILL: the container restarts on its data), then the operator killed in the middle of a
# switchover and of a failover.
long_faults() {
  local old pid t target
  if ! primary_is "$db-2"; then
    kubectl annotate db "$db" -n "$ns" kubecoro.dev/switchover-to=$db-2 >/dev/null
    wait_until 120 settled && primary_is "$db-2" || fail "$label: scale down: moved the primary to $db-2 first"
  fi
  t=$(now_s)
  kubectl scale db "$db" -n "$ns" --replicas=2 >/dev/null
  members=2
  settle "scale down past the primary" 120
  check "$label: scaled to 2: the primary is $db-0 or $db-1 ($(status_of '{.status.currentPrimary}'))" \
    bash -c "[[ $(status_of '{.status.currentPrimary}') == $db-[01] ]]"
  report "scale down past the primary" "$t"
  check "$label: scale down past the primary: 0 acknowledged writes lost" test "$LAST_MISSING" == 0
  kubectl scale db "$db" -n "$ns" --replicas=3 >/dev/null
  members=3
  settle "scaled back to 3" 180

  old=$(status_of '{.status.currentPrimary}')
  pid=$(pid_of "$old")
  t=$(now_s)
  kill -KILL "$pid"
  sleep 5
  settle "primary server killed" 180
  report "primary server killed" "$t"
  lost "primary server killed"

  old=$(status_of '{.status.currentPrimary}')
  target=$(status_of '{.status.instances[?(@.role=="replica")].name}' | awk '{ print $1 }')
  t=$(now_s)
  kubectl annotate db "$db" -n "$ns" kubecoro.dev/switchover-to="$target" >/dev/null
  wait_until 30 bash -c "[[ -n \$(kubectl get db $db -n $ns -o jsonpath={.status.replication.switch.from}) ]]" ||
    fail "$label: operator killed in a switchover: the switch was recorded"
  stop_operator "$operator" KILL
  start_operator "$operator" --controllers=database || fail "$label: operator restarted"
  settle "operator killed in a switchover" 180
  check "$label: operator killed in a switchover: $target is the primary" primary_is "$target"
  report "operator killed in a switchover" "$t"
  check "$label: operator killed in a switchover: 0 acknowledged writes lost" test "$LAST_MISSING" == 0

  # (The primary frozen, not its pod deleted: a pod back within the failover delay, as MariaDB's
  # often is, makes no failover.)
  old=$(status_of '{.status.currentPrimary}')
  pid=$(pid_of "$old")
  t=$(now_s)
  kill -STOP "$pid"
  wait_until 60 bash -c "[[ -n \$(kubectl get db $db -n $ns -o jsonpath={.status.replication.switch.from}) ]]" ||
    fail "$label: operator killed in a failover: the switch was recorded"
  stop_operator "$operator" KILL
  start_operator "$operator" --controllers=database || fail "$label: operator restarted"
  kill -CONT "$pid" 2>/dev/null || true
  settle "operator killed in a failover" 180
  report "operator killed in a failover" "$t"
  lost "operator killed in a failover"
}
