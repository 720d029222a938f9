# Sourced by tests/e2e/cluster.sh and tests/e2e/ansible.sh (not a test itself: CTest runs *.sh):
# the shared preamble (skips, $T, cleanup, fail/say/node/netexec), then step 1, the bundle both
# install: the loopback mirror, the registry rig, the manifest, `kubeferry build`, a plain
# extraction of its payload (the bundle's kubectl: $KUBECTL), the node tree; and the cluster
# helpers kc, kin, wait_for, nodes_ready. E2E_EXTRA_TOOLS names more programs to skip without.
set -euo pipefail
RUNTIME="${KF_E2E_RUNTIME:-containerd}"
[[ "$RUNTIME" == containerd || "$RUNTIME" == docker ]] || { echo "KF_E2E_RUNTIME: containerd or docker, not $RUNTIME" >&2; exit 2; }
K="${KF_BIN_DIR:?}"
SRC="${KF_SOURCE_DIR:?}"
skip() { echo "SKIP: $*"; exit 77; }
SUMMARY=()  # lines for the summary, printed at the end (also when the flow stops early)
note() { SUMMARY+=("$*"); }
[[ "$(id -u)" == 0 ]] || skip "needs root (network namespaces and systemd-nspawn)"
for tool in systemd-nspawn debootstrap nginx nsenter ip etcdctl zstd tar docker-registry skopeo umoci ${E2E_EXTRA_TOOLS:-}; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/setup.sh installs it)"
done

T=$(mktemp -d /tmp/kf-e2e-XXXXXX)
MIRROR=/tmp/kubeferry-test-mirror
NODES=(bash "$SRC/scripts/rig/nodes.sh")
cleanup() {
  local c0; c0=$(date +%s)
  "${NODES[@]}" stop "$T/nodes" >/dev/null 2>&1 || true
  echo "e2e: nodes stopped in $(($(date +%s) - c0)) s"
  bash "$SRC/scripts/rig/mirror.sh" stop "$T/rig" >/dev/null 2>&1 || true
  bash "$SRC/scripts/rig/registry.sh" stop "$T/reg" >/dev/null 2>&1 || true
  if [[ -z "${KEEP:-}" ]]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT
cd "$T"
t0=$(date +%s.%N)
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [[ "$1" == "$2" ]] || fail "$3: expected [$2], got [$1]"; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'; }
say() { echo "e2e [$(elapsed "$t0") s] $*"; }
node() { "${NODES[@]}" exec "$T/nodes" "$@" </dev/null; }       # node NAME CMD...
netexec() { "${NODES[@]}" netexec "$T/nodes" "$@" </dev/null; }  # a client in the switch namespace

# 1. The node tree (debootstrap once, cached) while the mirror is built and a bundle made.
"${NODES[@]}" tree >tree.out 2>tree.err &
tree_pid=$!
flock "$MIRROR.lock" bash "$SRC/scripts/rig/mirror.sh" build "$MIRROR" >/dev/null
bash "$SRC/scripts/rig/mirror.sh" start "$MIRROR" "$T/rig" >/dev/null
# shellcheck disable=SC1091  # written at run time by scripts/rig/mirror.sh start (above)
source "$T/rig/env"
bash "$SRC/scripts/rig/registry.sh" build "$T/reg" >/dev/null 2>&1 || fail "registry.sh build"
bash "$SRC/scripts/rig/registry.sh" start "$T/reg" >reg.out 2>&1 || fail "registry.sh start: $(tail -3 reg.out)"
# shellcheck disable=SC1091  # written at run time by scripts/rig/registry.sh start (above)
source "$T/reg/env"
bash "$SRC/scripts/rig/cluster-images.sh" build "$T/cimg" >cimg.out 2>&1 || fail "cluster-images.sh build: $(tail -5 cimg.out)"
bash "$SRC/scripts/rig/cluster-images.sh" push "$T/cimg" "${REG_PLAIN##*:}" >cimg.env 2>>cimg.out ||
  fail "cluster-images.sh push: $(tail -5 cimg.out)"
# shellcheck disable=SC1091  # written at run time by scripts/rig/cluster-images.sh push (above)
source cimg.env
K8S_KIND="$(cat "$MIRROR/k8s-v1.20.2.kind")"
REAL=""
if [[ "$K8S_KIND" == real* ]]; then
  # shellcheck disable=SC2034  # REAL is read by the scripts that source this file (cluster.sh, ansible.sh)
  REAL=1
  note "Kubernetes: REAL v1.20.2 binaries (archive sha256 ${K8S_KIND#real })"
else
  echo "e2e: STAND-INS: the mirror serves stand-in scripts for the Kubernetes binaries (shared/k8s is absent); the cluster itself is not checked"
  note "Kubernetes: STAND-IN scripts (shared/k8s absent): argv and layout checked, no cluster"
fi
note "images: pause $PAUSE_KIND (Kubernetes' pause.c from Debian's source); flannel and coredns STAND-INS (scripts/rig/cluster-images.sh)"
note "container runtime: $RUNTIME from the bundle (Debian's binaries in upstream's release layouts; no crictl: Debian has none)"
sum() { awk -v p="$1" '$1 == p {print $3}' "$MIRROR/checksums.tsv"; }
sum512() { awk -v p="$1" '$1 == p {print $4}' "$MIRROR/checksums.tsv"; }
ETCD=github.com/etcd-io/etcd/releases/download/v3.4.23/etcd-v3.4.23-linux-amd64.tar.gz
K8S=dl.k8s.io/v1.20.2/kubernetes-server-linux-amd64.tar.gz
CNI=github.com/containernetworking/plugins/releases/download/v1.1.1/cni-plugins-linux-amd64-v1.1.1.tgz
CFSSL=pkg.cfssl.org/R1.2
CONTAINERD=github.com/containerd/containerd/releases/download/v1.6.20/containerd-1.6.20-linux-amd64.tar.gz
RUNC=github.com/opencontainers/runc/releases/download/v1.1.5/runc.amd64
DOCKER=download.docker.com/linux/static/stable/x86_64/docker-20.10.24.tgz
{
  cat <<YAML
bundle: k8s-e2e
kubernetes_version: v1.20.2
platforms: [linux/amd64]
epoch: 1631664000
artifacts:
  - name: etcd
    version: v3.4.23
    kind: tarball
    url: https://$ETCD
    checksum: sha256:$(sum $ETCD)
    source: the test mirror's checksums.tsv
    members:
      - {from: etcd-v3.4.23-linux-amd64/etcd, to: etcd/bin/etcd, mode: 0755}
      - {from: etcd-v3.4.23-linux-amd64/etcdctl, to: etcd/bin/etcdctl, mode: 0755}
  - name: kubernetes-server
    version: v1.20.2
    kind: tarball
    url: https://$K8S
    checksum: sha512:$(sum512 $K8S)
    source: the test mirror's checksums.tsv ($K8S_KIND)
    members:
YAML
  for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
    echo "      - {from: kubernetes/server/bin/$b, to: kubernetes/bin/$b, mode: 0755}"
  done
  cat <<YAML
  - name: cni-plugins
    version: v1.1.1
    kind: tarball
    url: https://$CNI
    checksum: sha256:$(sum $CNI)
    source: the test mirror's checksums.tsv
    members:
YAML
  for b in bridge flannel host-local loopback portmap; do echo "      - {from: ./$b, to: cni/bin/$b, mode: 0755}"; done
  for b in cfssl cfssljson; do
    cat <<YAML
  - name: $b
    version: R1.2
    kind: file
    url: https://$CFSSL/${b}_linux-amd64
    checksum: sha256:$(sum $CFSSL/${b}_linux-amd64)
    source: the test mirror's checksums.tsv
    to: cfssl/bin/$b
    mode: 0755
YAML
  done
  # The nodes' runtime, as upstream releases it (manifests/README.md, "The container runtime").
  if [[ "$RUNTIME" == docker ]]; then
    cat <<YAML
  - name: docker
    version: v20.10.24
    kind: tarball
    url: https://$DOCKER
    checksum: sha256:$(sum $DOCKER)
    source: the test mirror's checksums.tsv (Debian's docker.io 20.10.24 in docker's static tgz layout)
    members:
YAML
    for b in dockerd docker docker-init docker-proxy containerd containerd-shim containerd-shim-runc-v2 ctr runc; do
      echo "      - {from: docker/$b, to: runtime/docker/bin/$b, mode: 0755}"
    done
  else
    cat <<YAML
  - name: containerd
    version: v1.6.20
    kind: tarball
    url: https://$CONTAINERD
    checksum: sha256:$(sum $CONTAINERD)
    source: the test mirror's checksums.tsv (Debian's containerd 1.6.20 in upstream's tarball layout)
    members:
YAML
    for b in containerd containerd-shim containerd-shim-runc-v1 containerd-shim-runc-v2 ctr; do
      echo "      - {from: bin/$b, to: runtime/containerd/bin/$b, mode: 0755}"
    done
    cat <<YAML
  - name: runc
    version: v1.1.5
    kind: file
    url: https://$RUNC
    checksum: sha256:$(sum $RUNC)
    source: the test mirror's checksums.tsv (Debian's runc 1.1.5 as upstream's runc.amd64)
    to: runtime/runc/runc
    mode: 0755
YAML
  fi
  # The images the plans name (pause for the kubelet, coredns and flannel for the master's
  # add-ons), from the registry rig (scripts/rig/cluster-images.sh).
  cat <<YAML
images:
  - name: pause
    ref: $IMAGE_PAUSE
    source: the test registry (pause 3.4.1 built from Kubernetes' pause.c, $PAUSE_KIND)
  - name: coredns
    ref: $IMAGE_COREDNS
    source: the test registry (a stand-in for coredns)
  - name: flannel
    ref: $IMAGE_FLANNEL
    source: the test registry (a stand-in for flannel)
YAML
} >k8s-e2e.yaml
"$K/kubeferry" keygen --out key >/dev/null 2>&1
build_start=$(date +%s.%N)
"$K/kubeferry" -q build k8s-e2e.yaml --key key --cache cache --mirror "https://=$MIRROR_URL/" \
    --plain-http "$REG_PLAIN" --level 3 -o k8s-e2e.run >build.out 2>build.err ||
  fail "kubeferry build: $(cat build.err)"
build_s=$(elapsed "$build_start")
./k8s-e2e.run verify --pubkey key.pub >/dev/null || fail "./k8s-e2e.run verify"
./k8s-e2e.run list --json >index.json
say "bundle built in $build_s s: $(stat -c %s k8s-e2e.run) bytes"
note "kubeferry build (cold cache, zstd level 3): $build_s s, one .run of $(stat -c %s k8s-e2e.run) bytes"

# Plain extraction of the same payload with stock tools (the trailer names the payload's bytes).
read -r payload_offset payload_size < <(od -An -t u8 -N 16 -j "$(($(stat -c %s k8s-e2e.run) - 64))" k8s-e2e.run)
mkdir plain
plain_start=$(date +%s.%N)
head -c "$((payload_offset + payload_size))" k8s-e2e.run | tail -c "$payload_size" | zstd -dc | tar --warning=no-unknown-keyword -x -C plain
plain_s=$(elapsed "$plain_start")
cmp plain/etcd/bin/etcd /usr/bin/etcd || fail "plain extraction: etcd differs from the upstream bytes"
note "plain head | tail | zstd -d | tar -x of the same $payload_size-byte payload: $plain_s s"

grep -q '"path": "images/images.json"' index.json || fail "the bundle has no images/images.json"

wait "$tree_pid" || fail "nodes.sh tree: $(cat tree.err)"
say "node tree ready: $(cat tree.out)"

# Cluster helpers (real Kubernetes): kubectl from the switch namespace with the admin kubeconfig
# install wrote on master01 ($T/admin.kubeconfig), and from inside master01.
KUBECTL="$T/plain/kubernetes/bin/kubectl"
kc() { netexec "$KUBECTL" --kubeconfig "$T/admin.kubeconfig" --request-timeout=20s "$@"; }
kin() { node master01 /opt/kubernetes/bin/kubectl --request-timeout=20s "$@"; }
wait_for() {  # wait_for SECONDS WHAT CMD...: until CMD succeeds
  local secs="$1" what="$2" i
  shift 2
  for ((i = 0; i < secs; i += 2)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 2
  done
  fail "$what: not within $secs s: $("$@" 2>&1 | tail -5)"
}
nodes_ready() {  # every node role host is Ready with v1.20.2, and no other node is listed
  local want got
  want="$(printf '%s v1.20.2 True;' node01 node02)"
  got="$(kc get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.status.nodeInfo.kubeletVersion} {range .status.conditions[?(@.type=="Ready")]}{.status}{end};{end}')"
  [[ "$got" == "$want" ]] || { echo "nodes: [$got], want [$want]"; return 1; }
}
