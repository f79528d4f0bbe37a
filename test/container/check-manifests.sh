#!/usr/bin/env bash
# Checks manifests/ against a real API server: `kubectl apply -k manifests/` installs, the
# operator's ServiceAccount may do exactly what rbac.yaml lists (and a sample of what it must not),
# and `kubecoro manifests` renders a set the server accepts. Prints PASS/FAIL lines.
#   bash test/controlplane/with-controlplane.sh bash test/container/check-manifests.sh [KUBECORO_BIN]
# KUBECORO_BIN (default build/kubecoro): skips the `kubecoro manifests` checks when missing.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
bin=${1:-${KUBECORO_BIN:-build/kubecoro}}
ns=kubecoro-system
sa=system:serviceaccount:$ns:kubecoro
passed=0
failed=0

check() { # description, command...
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then
        echo "PASS $what"; passed=$((passed + 1))
    else
        echo "FAIL $what"; failed=$((failed + 1))
    fi
}
can() { kubectl auth can-i --as="$sa" "$@" | grep -qx yes; }
cannot() { ! can "$@"; }

check "kubectl kustomize manifests/ renders" kubectl kustomize manifests/
check "kubectl apply -k manifests/" kubectl apply -k manifests/
check "CRDs established" kubectl wait --for=condition=Established --timeout=60s \
    crd/databases.kubecoro.dev crd/helloworlds.kubecoro.dev
check "re-apply is a no-op" bash -c '! kubectl apply -k manifests/ | grep -v unchanged'

# Everything rbac.yaml grants, in a user namespace and in the operator's.
for target in default "$ns"; do
    for v in get list watch patch update; do
        for r in databases.kubecoro.dev helloworlds.kubecoro.dev; do
            check "can $v $r in $target" can "$v" "$r" -n "$target"
        done
    done
    for r in databases.kubecoro.dev helloworlds.kubecoro.dev; do
        for v in get patch update; do
            check "can $v $r/status in $target" can "$v" "$r" --subresource=status -n "$target"
        done
        check "can update $r/finalizers in $target" can update "$r" --subresource=finalizers -n "$target"
    done
    for r in configmaps secrets services persistentvolumeclaims statefulsets.apps cronjobs.batch \
        poddisruptionbudgets.policy; do
        for v in get list watch create patch update delete; do
            check "can $v $r in $target" can "$v" "$r" -n "$target"
        done
    done
    for v in get list watch create patch delete; do
        check "can $v jobs.batch in $target" can "$v" jobs.batch -n "$target"
    done
    for v in get list patch delete; do
        check "can $v pods in $target" can "$v" pods -n "$target"
    done
    for r in events events.events.k8s.io; do
        for v in create patch; do
            check "can $v $r in $target" can "$v" "$r" -n "$target"
        done
    done
done
for v in get list watch; do
    check "can $v storageclasses" can "$v" storageclasses.storage.k8s.io
done
for v in list watch; do
    check "can $v nodes" can "$v" nodes
done
for v in get create update; do
    check "can $v leases in $ns" can "$v" leases.coordination.k8s.io -n "$ns"
done

# The webhook: its own configuration's caBundle, and nothing else of admission control.
for v in get patch; do
    check "can $v validatingwebhookconfigurations/kubecoro" can "$v" validatingwebhookconfigurations/kubecoro
done
check "cannot patch other validatingwebhookconfigurations" cannot patch validatingwebhookconfigurations/other
check "cannot create validatingwebhookconfigurations" cannot create validatingwebhookconfigurations
check "cannot delete validatingwebhookconfigurations" cannot delete validatingwebhookconfigurations/kubecoro
check "cannot patch mutatingwebhookconfigurations" cannot patch mutatingwebhookconfigurations/kubecoro
check "the webhook's Service selects the operator's pods" bash -c \
    "[[ \$(kubectl get service -n $ns kubecoro-webhook -o 'jsonpath={.spec.selector.app\.kubernetes\.io/name}') == kubecoro ]]"

# A sample of what it must not do.
check "cannot create databases" cannot create databases.kubecoro.dev -n default
check "cannot delete databases" cannot delete databases.kubecoro.dev -n default
check "cannot delete helloworlds" cannot delete helloworlds.kubecoro.dev -n default
check "cannot deletecollection secrets" cannot deletecollection secrets -n default
check "cannot delete namespaces" cannot delete namespaces
check "cannot create namespaces" cannot create namespaces
check "cannot get nodes (list and watch only)" cannot get nodes
check "cannot patch nodes" cannot patch nodes
check "cannot create pods" cannot create pods -n default
check "cannot watch pods" cannot watch pods -n default
check "cannot exec into pods" cannot create pods --subresource=exec -n default
check "cannot create deployments" cannot create deployments.apps -n default
check "cannot update jobs" cannot update jobs.batch -n default
check "cannot update storageclasses" cannot update storageclasses.storage.k8s.io
check "cannot update CRDs" cannot update customresourcedefinitions.apiextensions.k8s.io
check "cannot create clusterrolebindings" cannot create clusterrolebindings.rbac.authorization.k8s.io
check "cannot escalate its role" cannot update roles.rbac.authorization.k8s.io -n "$ns"
check "cannot impersonate" cannot impersonate serviceaccounts -n "$ns"
check "cannot get leases outside $ns" cannot get leases.coordination.k8s.io -n default
check "cannot delete leases" cannot delete leases.coordination.k8s.io -n "$ns"
check "cannot list leases" cannot list leases.coordination.k8s.io -n "$ns"
check "cannot get events" cannot get events -n default
check "cannot delete events" cannot delete events -n default
check "cannot create serviceaccount tokens" cannot create serviceaccounts --subresource=token -n "$ns"
# Inherent to watching all namespaces: Secrets everywhere (documented in rbac.yaml).
check "can get secrets in kube-system (cluster-wide by design)" can get secrets -n kube-system

# The same set, rendered by the binary, with another image and namespace.
if [[ -x $bin ]]; then
    # A server-side dry run does not create the Namespace the other objects need: create it first.
    # `y` is a YAML 1.1 boolean: it must come out quoted.
    for other in kc-test y; do
        kubectl create namespace "$other" >/dev/null 2>&1
        check "kubecoro manifests --namespace $other | kubectl apply --dry-run=server" bash -c \
            "'$bin' manifests --image registry.example/kubecoro:v1 --namespace $other |
             kubectl apply --dry-run=server -f -"
    done
    check "kubecoro manifests | kubectl apply (defaults, unchanged)" bash -c \
        "! '$bin' manifests | kubectl apply -f - | grep -v unchanged"
    check "kubecoro manifests (defaults) == kubectl kustomize manifests/" bash -c \
        "diff <('$bin' manifests | kubectl create --dry-run=client -o yaml -f - | sort) \
              <(kubectl kustomize manifests/ | kubectl create --dry-run=client -o yaml -f - | sort)"
else
    echo "SKIP kubecoro manifests checks: no $bin"
fi

echo "${passed} passed, ${failed} failed"
((failed == 0))
