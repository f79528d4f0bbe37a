#!/usr/bin/env bash
# The container image, end to end (run-tests.sh stage `image`): builds it offline
# (build-image.sh --rootfs), checks its configuration, then runs the image's OWN binary, inside
# the image's root filesystem (chroot, user 65532, the image's libraries), against a local control
# plane with the ServiceAccount of manifests/, and checks that it reconciles a HelloWorld.
# Prints PASS/FAIL lines (and INFO figures); exits non-zero when something failed. As root.
#   bash test/container/image_test.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
root=$PWD

if [[ ${1:-} != --in-controlplane ]]; then
    failed=0
    t0=$SECONDS
    out=$(mktemp)
    trap 'rm -f "$out"; bash test/container/build-image.sh --cleanup >/dev/null 2>&1' EXIT
    if KUBECORO_IMAGE_ARM64=1 bash test/container/build-image.sh --rootfs >"$out"; then
        echo "PASS image: build-image.sh builds the image ($((SECONDS - t0)) s)"
    else
        echo "FAIL image: build-image.sh (exit status)"
        exit 1
    fi
    eval "$(grep '^KUBECORO_IMAGE' "$out")"
    echo "INFO image: $KUBECORO_IMAGE size $KUBECORO_IMAGE_SIZE, built in $((SECONDS - t0)) s"
    bah() {
        local storage=()
        [[ -z ${KUBECORO_BUILDAH_ROOT:-} ]] ||
            storage=(--root "$KUBECORO_BUILDAH_ROOT" --runroot "$KUBECORO_BUILDAH_ROOT.run")
        buildah "${storage[@]}" --storage-driver vfs "$@"
    }
    check() { # name cmd...
        local name=$1
        shift
        if "$@" >/dev/null 2>&1; then echo "PASS $name"; else echo "FAIL $name"; failed=1; fi
    }
    user=$(bah inspect --type image --format '{{.OCIv1.Config.User}}' "$KUBECORO_IMAGE")
    entrypoint=$(bah inspect --type image --format '{{.OCIv1.Config.Entrypoint}}' "$KUBECORO_IMAGE")
    check "image: runs as user 65532:65532 (got $user)" test "$user" = 65532:65532
    check "image: ENTRYPOINT [\"/usr/local/bin/kubecoro\"] (got $entrypoint)" test "$entrypoint" = '[/usr/local/bin/kubecoro]'
    layers=$(bah inspect --type image --format '{{len .OCIv1.RootFS.DiffIDs}}' "$KUBECORO_IMAGE")
    check "image: FROM scratch: one layer, no shell (got $layers layers)" \
        bash -c '[[ $1 == 1 && ! -e $2/bin/sh && -x $2/usr/local/bin/kubecoro ]]' _ "$layers" "$KUBECORO_IMAGE_ROOTFS"
    # The SQL client libraries are opened when first needed (dlopen), so ldd of the binary does not
    # name them: the image must hold them and everything they need all the same.
    for lib in libpq.so.5 libmariadb.so.3; do
        check "image: holds $lib and every library it needs (resolved by the image's loader, user 65532)" \
            bash -c 'out=$(chroot --userspec=65532:65532 "$1" /lib64/ld-linux-x86-64.so.2 --list \
                "/usr/lib/x86_64-linux-gnu/$2" 2>&1) && ! grep -q "not found" <<<"$out"' _ "$KUBECORO_IMAGE_ROOTFS" "$lib"
    done
    mb=$(du -sm --apparent-size "$KUBECORO_IMAGE_ROOTFS" | cut -f1)
    echo "INFO image: root filesystem $mb MB"
    check "image: root filesystem under 30 MB (got $mb MB)" test "$mb" -lt 30
    # The release archive: tagged as the manifests' image, holding the binary.
    tags=$(tar -xOf "$KUBECORO_IMAGE_ARCHIVE" manifest.json 2>/dev/null |
        python3 -c 'import json,sys; print(" ".join(t for m in json.load(sys.stdin) for t in m["RepoTags"]))')
    want=docker.io/library/$(sed -n 's/^ *image: //p' manifests/deployment.yaml)
    echo "INFO image: archive $KUBECORO_IMAGE_ARCHIVE ($(du -m "$KUBECORO_IMAGE_ARCHIVE" | cut -f1) MB), tags: $tags"
    check "image: the archive is tagged as manifests/deployment.yaml's image ($want)" grep -qw "$want" <<<"$tags"
    check "image: the archive's layer holds the binary" bash -c '
        layer=$(tar -xOf "$1" manifest.json | python3 -c "import json,sys; print(json.load(sys.stdin)[0][\"Layers\"][0])") &&
        tar -xOf "$1" "$layer" | tar -t | grep -qx "usr/local/bin/kubecoro"' _ "$KUBECORO_IMAGE_ARCHIVE"
    version=$("$KUBECORO_IMAGE_RUN" version 2>&1)
    echo "INFO image: kubecoro version in the image: $version"
    check "image: \`kubecoro version\` from the image names a release build" \
        grep -qE '^kubecoro [0-9]+\.[0-9]+\.[0-9]+ \(commit [^,]+, release build\)$' <<<"$version"
    # arm64: cross-built; its binary ran in its own rootfs under qemu-user-static (build-image.sh).
    echo "INFO image: $KUBECORO_IMAGE_ARM64 size $KUBECORO_IMAGE_ARM64_SIZE; under qemu-aarch64: $KUBECORO_IMAGE_ARM64_VERSION"
    check "image: the arm64 binary (qemu-aarch64, its own rootfs) says the same version as the amd64 one" \
        test "$KUBECORO_IMAGE_ARM64_VERSION" = "$version"
    arm64_mb=$(python3 -c 'import re,sys; n,u=re.match(r"([0-9.]+)\s*([kMG]?B)",sys.argv[1]).groups(); print(int(float(n)*{"kB":1e-3,"MB":1,"GB":1e3,"B":1e-6}[u]))' "$KUBECORO_IMAGE_ARM64_SIZE")
    check "image: the arm64 image under 30 MB (got $KUBECORO_IMAGE_ARM64_SIZE)" test "$arm64_mb" -lt 30
    arm64_arch=$(bah inspect --type image --format '{{.OCIv1.Architecture}} {{.OCIv1.Config.User}}' "$KUBECORO_IMAGE_ARM64")
    check "image: the arm64 image says architecture arm64, user 65532 (got $arm64_arch)" test "$arm64_arch" = "arm64 65532:65532"
    # The multi-arch archive: one OCI index named as the manifests' image, an image per platform.
    platforms=$(python3 - "$KUBECORO_IMAGE_MULTIARCH_ARCHIVE" <<'PY' 2>&1
import json, sys, tarfile
t = tarfile.open(sys.argv[1])
blob = lambda d: json.load(t.extractfile("blobs/" + d.replace(":", "/")))
top = json.load(t.extractfile("index.json"))["manifests"]
for m in top:
    name = m.get("annotations", {}).get("org.opencontainers.image.ref.name", "")
    index = blob(m["digest"])
    print(name, " ".join(sorted(p["platform"]["os"] + "/" + p["platform"]["architecture"] for p in index["manifests"])))
PY
)
    echo "INFO image: multi-arch archive $KUBECORO_IMAGE_MULTIARCH_ARCHIVE: $platforms"
    check "image: the multi-arch archive is one index, $want, for linux/amd64 and linux/arm64" \
        test "$platforms" = "$want linux/amd64 linux/arm64"
    # ...which containerd imports whole, and whose amd64 image it runs from there.
    bash test/ensure-packages.sh containerd runc
    ctd=$(mktemp -d /tmp/kubecoro-image-containerd.XXXXXX)
    printf 'version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n' >"$ctd/config.toml"
    containerd --config "$ctd/config.toml" --root "$ctd/root" --state "$ctd/state" \
        --address "$ctd/sock" >"$ctd/log" 2>&1 &
    ctd_pid=$!
    ctr_() { ctr --address "$ctd/sock" --namespace kubecoro-image-test "$@"; }
    for _ in $(seq 100); do ctr_ version >/dev/null 2>&1 && break; sleep 0.1; done
    imported=$(ctr_ images import --all-platforms "$KUBECORO_IMAGE_MULTIARCH_ARCHIVE" >/dev/null 2>&1 &&
        ctr_ images ls | awk -v n="$want" '$1 == n { print $1, $(NF - 1) }')
    check "image: ctr images import --all-platforms of that archive gives $want for both (got $imported)" \
        test "$imported" = "$want linux/amd64,linux/arm64"
    from_list=$(ctr_ run --rm "$want" kubecoro-version /usr/local/bin/kubecoro version 2>&1)
    check "image: containerd runs this machine's image from it: kubecoro version (got $from_list)" \
        test "$from_list" = "$version"
    kill "$ctd_pid"
    wait "$ctd_pid" 2>/dev/null
    umount -R "$ctd/root" 2>/dev/null
    rm -rf "$ctd"
    bash test/controlplane/build.sh >/dev/null || { echo "FAIL image: control plane build"; exit 1; }
    KUBECORO_IMAGE_RUN=$KUBECORO_IMAGE_RUN KUBECORO_IMAGE_ROOTFS=$KUBECORO_IMAGE_ROOTFS \
        bash test/controlplane/with-controlplane.sh bash "$0" --in-controlplane || failed=1
    echo "INFO image: stage took $((SECONDS - t0)) s"
    exit $failed
fi

# --- inside with-controlplane.sh: the image's binary reconciles a sample -----------------------
E2E_LOGS=$(mktemp -d /tmp/kubecoro-image-logs.XXXXXX)
export E2E_LOGS
source "$root/test/e2e/lib.sh"
install_crds
install_manifests || fail "image: kubectl apply -k manifests/"
# The kubeconfig must be inside the image's rootfs, readable by its user.
kubeconfig=/tmp/kubecoro-sa.kubeconfig
bash "$root/test/controlplane/sa-kubeconfig.sh" kubecoro-system kubecoro "$KUBECORO_IMAGE_ROOTFS$kubeconfig" 2>/dev/null
chown 65532:65532 "$KUBECORO_IMAGE_ROOTFS$kubeconfig"
token=$(kubectl get secret -n kubecoro-system kubecoro-kubecoro-token -o jsonpath='{.data.token}' | base64 -d)
ns=$(new_namespace image)
KUBECORO_BIN=$KUBECORO_IMAGE_RUN start_operator image --kubeconfig="$kubeconfig" --namespace="$ns" ||
    fail "image: the image's binary became ready (log: $E2E_LOGS/image.log)"
kubectl apply -n "$ns" -f "$root/manifests/samples/helloworld.yaml" >/dev/null
expect_eventually "image: the image's binary reconciles a HelloWorld into its ConfigMap" 60 hw_converged "$ns" 1
check "image: the ConfigMap holds the sample's message" jsonpath_is "Hello from kubecoro!" \
    get configmap/hello -n "$ns" -o 'jsonpath={.data.message}'
stop_operator image TERM; rc=$?
check "image: SIGTERM exits 0 (got $rc)" test "$rc" -eq 0
check "image: no token in the operator log" test -z "$(grep -lF "$token" "$E2E_LOGS/image.log")"

# The system trust store: with a kubeconfig that names no CA, the image's binary verifies the API
# server against the image's bundle (/usr/lib/ssl/cert.pem, OpenSSL's default): refused while the
# bundle lacks the control plane's CA, accepted once it is added there.
bundle=$KUBECORO_IMAGE_ROOTFS/etc/ssl/certs/ca-certificates.crt
server=$(kubectl config view --raw --minify -o 'jsonpath={.clusters[0].cluster.server}')
trusting=/tmp/kubecoro-trust.kubeconfig
cat >"$KUBECORO_IMAGE_ROOTFS$trusting" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "$server"}}]
users: [{name: sa, user: {token: "$token"}}]
contexts: [{name: local, context: {cluster: local, user: sa}}]
current-context: local
KUBECONFIG
chown 65532:65532 "$KUBECORO_IMAGE_ROOTFS$trusting"
KUBECORO_BIN=$KUBECORO_IMAGE_RUN start_operator_nowait untrusted --kubeconfig="$trusting" --namespace="$ns"
expect_eventually "image: an API server whose CA is not in the image's bundle is refused (certificate verify failed)" 30 \
    grep -q 'certificate verify failed' "$E2E_LOGS/untrusted.log"
stop_operator untrusted KILL
cp "$bundle" "$bundle.orig"
kubectl config view --raw --minify -o 'jsonpath={.clusters[0].cluster.certificate-authority-data}' | base64 -d >>"$bundle"
if KUBECORO_BIN=$KUBECORO_IMAGE_RUN start_operator trusted --kubeconfig="$trusting" --namespace="$ns"; then
    pass "image: with the control plane's CA in the image's bundle, the binary connects and becomes ready"
else
    fail "image: with the control plane's CA in the image's bundle, the binary became ready (log: $E2E_LOGS/trusted.log)"
fi
stop_operator trusted TERM
mv "$bundle.orig" "$bundle"
rm -f "$KUBECORO_IMAGE_ROOTFS$kubeconfig" "$KUBECORO_IMAGE_ROOTFS$trusting"
exit $E2E_FAILED
