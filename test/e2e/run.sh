#!/usr/bin/env bash
# Runs every end-to-end test file (test/e2e/*_test.sh) against the cluster in $KUBECONFIG
# (normally started by test/controlplane/with-controlplane.sh). Each prints PASS/FAIL lines.
#   KUBECORO_E2E_ONLY="helloworld database"  run only these files
# Files marked `# e2e: node` need the real node and run only on a control plane that has one
# (KUBECORO_NODE=1); the others write pod readiness by hand and run only on one without.
set -uo pipefail
cd "$(dirname "$0")"
export E2E_LOGS=${E2E_LOGS:-$(mktemp -d /tmp/kubecoro-e2e-logs.XXXXXX)}
mkdir -p "$E2E_LOGS"
rc=0
for t in *_test.sh; do
  name=${t%_test.sh}
  if [[ -n "${KUBECORO_E2E_ONLY:-}" && " $KUBECORO_E2E_ONLY " != *" $name "* ]]; then continue; fi
  needs_node=0; grep -qx '# e2e: node' "$t" && needs_node=1
  has_node=0; [[ -f ${KUBECORO_CONTROLPLANE_DIR:-/nonexistent}/node.enabled ]] && has_node=1
  ((needs_node == has_node)) || continue
  echo "---- e2e: $name"
  started=$SECONDS
  bash "$t" || { rc=1; echo "FAIL $name (exit status)"; }
  echo "INFO e2e: $name took $((SECONDS - started)) s"
done
# No Secret data or token in any operator log of the whole run.
if [[ -s "$E2E_LOGS/secrets.txt" ]]; then
  leaked=$(grep -rlFf "$E2E_LOGS/secrets.txt" "$E2E_LOGS"/*.log 2>/dev/null || true)
  if [[ -z "$leaked" ]]; then echo "PASS no password or token in operator logs"; else echo "FAIL secrets in logs: $leaked"; rc=1; fi
fi
# Under the ASan/UBSan build: no sanitizer report in any operator log.
if ls "$E2E_LOGS"/*.log >/dev/null 2>&1; then
  reports=$(grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$E2E_LOGS"/*.log || true)
  if [[ -z "$reports" ]]; then echo "PASS no sanitizer report in operator logs"; else echo "FAIL sanitizer reports in: $reports"; rc=1; fi
fi
echo "e2e logs: $E2E_LOGS"
exit $rc
