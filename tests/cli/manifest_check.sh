#!/usr/bin/env bash
# `kubeferry manifest check` on the real binary: a valid manifest (exit 0, exact summary on
# stdout), an invalid one (exit 1, every problem as FILE:LINE:COL on stderr), a NOT-FOUND
# checksum refused and then accepted with --checksum, a bad --checksum (exit 2), and the
# real manifests/k8s-v1.20.11.yaml (its flannel digest is NOT FOUND).
set -euo pipefail

BIN="${KF_BIN_DIR:?}/kubeferry"
SRC="${KF_SOURCE_DIR:?}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"

# Test data: these hex strings are made up for the test, not checksums of anything.
A=$(printf 'a%.0s' {1..64})
B=$(printf 'b%.0s' {1..64})
C=$(printf 'c%.0s' {1..64})

cat >"$WORK/good.yaml" <<YAML
bundle: demo
kubernetes_version: v1.20.11
epoch: 1631664000
artifacts:
  - name: etcd
    version: v3.4.9
    kind: tarball
    url: http://127.0.0.1:1/etcd.tar.gz
    checksum: sha256:$A
    source: test data
    members:
      - {from: etcd-v3.4.9-linux-amd64/etcd, to: etcd/bin/etcd, mode: 0755}
      - {from: etcd-v3.4.9-linux-amd64/etcdctl, to: etcd/bin/etcdctl, mode: 0755}
  - name: cfssl
    version: R1.2
    kind: file
    url: http://127.0.0.1:1/cfssl
    checksum: sha256:$B
    source: test data
    to: cfssl/bin/cfssl
    mode: 0755
images:
  - name: pause
    ref: registry.k8s.io/pause:3.2@sha256:$C
    source: test data
YAML

run good "$BIN" manifest check good.yaml
expect good 0 "bundle demo kubernetes v1.20.11 epoch 1631664000
artifact etcd v3.4.9 tarball linux/amd64 sha256:$A http://127.0.0.1:1/etcd.tar.gz -> etcd/bin/etcd etcd/bin/etcdctl
artifact cfssl R1.2 file linux/amd64 sha256:$B http://127.0.0.1:1/cfssl -> cfssl/bin/cfssl
image pause registry.k8s.io/pause:3.2@sha256:$C
" ""

# Five problems in one file, all reported at once, in file order.
sed -e 's/^epoch: .*/epoch: tomorrow/' -e 's/kind: tarball/kind: zip/' \
    -e 's|to: cfssl/bin/cfssl|to: /usr/bin/cfssl|' -e 's/    mode: 0755/    mode: 4755/' \
    -e 's/@sha256:c*$//' -e 's/^  - name: etcd/  - name: etcd\n    sha256: x/' \
    "$WORK/good.yaml" >"$WORK/bad.yaml"
run bad "$BIN" manifest check bad.yaml
expect bad 1 "" "kubeferry: error: manifest bad.yaml is invalid (6 problems):
bad.yaml:3:8: epoch must be a whole number of seconds since 1970-01-01 UTC, got 'tomorrow'
bad.yaml:6:5: artifact etcd: unknown key 'sha256' (allowed: name, version, kind, url, checksum, source, pinned_by_user, platform, members, to, mode)
bad.yaml:8:11: artifact etcd: kind must be 'file' or 'tarball', got 'zip'
bad.yaml:21:9: artifact cfssl: destination '/usr/bin/cfssl' must be relative (a path inside the bundle), not absolute
bad.yaml:22:11: artifact cfssl: mode must be octal with a leading 0, like 0755, got '4755'
bad.yaml:25:10: image pause: ref 'registry.k8s.io/pause:3.2' has no @sha256: digest (pin NAME:TAG@sha256:<hex>, or write digest: NOT-FOUND with a source note)
"

# NOT-FOUND loads, is refused with a how-to, and is accepted with --checksum.
sed -e "s/checksum: sha256:$B/checksum: NOT-FOUND/" "$WORK/good.yaml" >"$WORK/gap.yaml"
run gap "$BIN" manifest check gap.yaml
expect gap 1 "" "kubeferry: error: manifest gap.yaml cannot be built (1 problem):
artifact cfssl R1.2: no checksum is pinned (NOT FOUND in gap.yaml:18:15)
resolve NOT-FOUND values on a connected machine with: kubeferry pin gap.yaml (or pass --checksum NAME=sha256:<hex> with a value read from upstream)
"
run filled "$BIN" manifest check gap.yaml --checksum "cfssl=sha256:$B"
expect filled 0 "bundle demo kubernetes v1.20.11 epoch 1631664000
artifact etcd v3.4.9 tarball linux/amd64 sha256:$A http://127.0.0.1:1/etcd.tar.gz -> etcd/bin/etcd etcd/bin/etcdctl
artifact cfssl R1.2 file linux/amd64 sha256:$B (--checksum) http://127.0.0.1:1/cfssl -> cfssl/bin/cfssl
image pause registry.k8s.io/pause:3.2@sha256:$C
" ""

run badflag "$BIN" manifest check gap.yaml --checksum cfssl
expect badflag 2 "" "kubeferry: error: --checksum 'cfssl': expected NAME=sha256:<hex> or NAME=sha512:<hex>
"
run unknown "$BIN" manifest check gap.yaml --checksum "cfsl=sha256:$B" --checksum "cfssl=sha256:$B"
expect unknown 1 "" "kubeferry: error: manifest gap.yaml cannot be built (1 problem):
--checksum cfsl: no artifact or image is named 'cfsl' in gap.yaml
"

# The real seed manifest: every artifact is pinned; the flannel v0.14.0 digest is NOT FOUND.
cp "$SRC/manifests/k8s-v1.20.11.yaml" "$WORK/k8s-v1.20.11.yaml"
run real "$BIN" manifest check k8s-v1.20.11.yaml
expect real 1 "" "kubeferry: error: manifest k8s-v1.20.11.yaml cannot be built (1 problem):
image flannel quay.io/coreos/flannel:v0.14.0: no digest is pinned (NOT FOUND in k8s-v1.20.11.yaml:165:13)
resolve NOT-FOUND values on a connected machine with: kubeferry pin k8s-v1.20.11.yaml (or pass --checksum NAME=sha256:<hex> with a value read from upstream)
"
run real_filled "$BIN" manifest check k8s-v1.20.11.yaml --checksum "flannel=sha256:$C"
[[ "$(cat "$WORK/real_filled.rc")" == 0 ]] || fail "real_filled: exit $(cat "$WORK/real_filled.rc")"
[[ "$(wc -l <"$WORK/real_filled.out")" == 14 ]] || fail "real_filled: $(wc -l <"$WORK/real_filled.out") lines"
grep -qx "artifact runc v1.0.2 file linux/amd64 sha256:44d1ba01a286aaf0b31b4be9c6abc20deab0653d44ecb0d93b4d0d20eac3e0b6 https://github.com/opencontainers/runc/releases/download/v1.0.2/runc.amd64 -> runtime/runc/runc" "$WORK/real_filled.out" \
  || fail "real_filled: no runc line: $(grep runc "$WORK/real_filled.out")"
grep -qx "artifact kubernetes-server v1.20.11 tarball linux/amd64 sha512:99bd926e7056784c212a7f1392e1f5e9b4c201aec45df142564ba246af77a638dc3c2374408142629162be7d5c5d2b370d4fd08b8e0873199469fd49313a55dd https://dl.k8s.io/v1.20.11/kubernetes-server-linux-amd64.tar.gz -> kubernetes/bin/kube-apiserver kubernetes/bin/kube-controller-manager kubernetes/bin/kube-scheduler kubernetes/bin/kubelet kubernetes/bin/kube-proxy kubernetes/bin/kubectl" "$WORK/real_filled.out" \
  || fail "real_filled: no kubernetes-server line"
echo "manifest_check: ok"
