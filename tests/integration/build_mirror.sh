#!/usr/bin/env bash
# kubeferry build against a real nginx serving an upstream-shaped mirror (scripts/rig/mirror.sh):
# cold and warm builds give identical bytes, a warm build sends no request, the bundle verifies
# with stock tools and holds the upstream bytes, every refusal has its exact message and leaves
# no output, and Ctrl-C mid-download leaves no output and a cache that resumes.
set -euo pipefail
K="${KF_BIN_DIR:?}"
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
need_tools nginx

T=$(mktemp -d /tmp/kf-build-XXXXXX)
cleanup() { mirror_down "$T/rig"; rm -rf "$T"; }
trap cleanup EXIT; [[ -n "${KEEP:-}" ]] && trap - EXIT
RIG_SLOW_RATE=256k mirror_up /tmp/kubeferry-test-mirror "$T/rig"
cd "$T"

ETCD=github.com/etcd-io/etcd/releases/download/v3.4.23/etcd-v3.4.23-linux-amd64.tar.gz
K8S=dl.k8s.io/v1.20.11/kubernetes-server-linux-amd64.tar.gz
CFSSL=pkg.cfssl.org/R1.2/cfssl_linux-amd64

write_manifest() {  # $1 = file, $2 = cfssl checksum line, $3 = cfssl url path
  cat >"$1" <<YAML
bundle: test-k8s
kubernetes_version: v1.20.11
platforms: [linux/amd64]
epoch: 1631664000
artifacts:
$(mirror_artifact etcd v3.4.23 tarball $ETCD)
    members:
      - {from: etcd-v3.4.23-linux-amd64/etcd, to: etcd/bin/etcd, mode: 0755}
      - {from: etcd-v3.4.23-linux-amd64/etcdctl, to: etcd/bin/etcdctl, mode: 0755}
$(mirror_artifact kubernetes-server v1.20.11 tarball $K8S sha512 "SHA-512, as upstream publishes")
    members:
      - {from: kubernetes/server/bin/kube-apiserver, to: kubernetes/bin/kube-apiserver, mode: 0755}
      - {from: kubernetes/server/bin/kubelet, to: kubernetes/bin/kubelet, mode: 0755}
  - name: cfssl
    version: R1.2
    kind: file
    url: https://$3
    checksum: $2
    source: the test mirror's checksums.tsv
    to: cfssl/bin/cfssl
    mode: 0755
YAML
}
write_manifest good.yaml "sha256:$(mirror_sum $CFSSL)" "$CFSSL"
"$K/kubeferry" keygen --out key >/dev/null 2>&1
B=("$K/kubeferry" -q build --key key --mirror "https://=$MIRROR_URL/" --level 3)

# 1. Cold build, 4 jobs.
"${B[@]}" good.yaml --cache cache -o cold.run -j 4 >/dev/null
requests_after_cold=$(wc -l <"$ACCESS_LOG")
expect_eq "requests of a cold build" 3 "$requests_after_cold"
sha256sum -c cold.run.sha256 >/dev/null || fail "sha256sum -c"
openssl pkeyutl -verify -pubin -inkey key.pub -rawin -in cold.run.sha256 -sigfile cold.run.sha256.sig >/dev/null \
  || fail "openssl pkeyutl -verify"
./cold.run verify --pubkey key.pub >/dev/null || fail "./cold.run verify"
./cold.run extract --to out -q
cmp out/etcd/bin/etcd /usr/bin/etcd || fail "etcd in the bundle is not the upstream bytes"
cmp out/cfssl/bin/cfssl /usr/bin/cfssl || fail "cfssl in the bundle is not the upstream bytes"
expect_eq "etcdctl mode" 755 "$(stat -c %a out/etcd/bin/etcdctl)"
grep -q '"final_url"' out/bundle.lock || fail "bundle.lock has no final_url"
grep -q '"spdxVersion": "SPDX-2.3"' out/sbom.spdx.json || fail "SBOM is not SPDX 2.3"
"$K/kubeferry" inspect cold.run --json >inspect.json
grep -q '"sha512": "'"$(mirror_sum $K8S sha512)"'"' inspect.json || fail "inspect shows the sha512"

# 2. Warm build, 1 job: same bytes, no request reaches nginx.
"${B[@]}" good.yaml --cache cache -o warm.run -j 1 >/dev/null
cmp cold.run warm.run || fail "warm build differs from cold build"
expect_eq "requests of a warm build" "$requests_after_cold" "$(wc -l <"$ACCESS_LOG")"

# 3. Refusals: exact message, exit code, and no output file.
refuse() {  # $1 = exit code, $2 = expected stderr, rest = command
  local want_rc="$1" want_err="$2" rc=0
  shift 2
  "$@" 2>err.txt >/dev/null || rc=$?
  expect_eq "exit code of $*" "$want_rc" "$rc"
  expect_eq "stderr of $*" "$want_err" "$(cat err.txt)"
}
write_manifest nf.yaml "NOT-FOUND" "$CFSSL"
refuse 1 "kubeferry: error: build nf.yaml: manifest nf.yaml cannot be built (1 problem):
artifact cfssl R1.2: no checksum is pinned (NOT FOUND in nf.yaml:28:15)
resolve NOT-FOUND values on a connected machine with: kubeferry pin nf.yaml (or pass --checksum NAME=sha256:<hex> with a value read from upstream)" \
  "${B[@]}" nf.yaml --cache cache -o nf.run
[[ ! -e nf.run ]] || fail "nf.run exists"
"${B[@]}" nf.yaml --cache cache -o nf.run --checksum "cfssl=sha256:$(mirror_sum $CFSSL)" >/dev/null
"$K/kubeferry" inspect nf.run --json >nf.json
grep -q '"pinned_by": "command line"' nf.json || fail "the lock must say the cfssl checksum came from the command line"

bad="sha256:0000$(mirror_sum $CFSSL | cut -c5-)"
write_manifest bad.yaml "$bad" "$CFSSL"
refuse 3 "kubeferry: error: build bad.yaml: artifact 'cfssl': checksum mismatch for $MIRROR_URL/$CFSSL: expected $bad, got sha256:$(mirror_sum $CFSSL); the downloaded bytes were deleted" \
  "${B[@]}" bad.yaml -o bad.run --cache cache-bad
[[ ! -e bad.run && ! -e "cache-bad/sha256/${bad#sha256:}" ]] || fail "bad bytes reached the output or the cache"
[[ -z "$(ls cache-bad/partial)" ]] || fail "bad bytes left in cache-bad/partial"

write_manifest 404.yaml "sha256:$(mirror_sum $CFSSL)" "pkg.cfssl.org/R1.2/missing"
refuse 1 "kubeferry: error: build 404.yaml: artifact 'cfssl': GET $MIRROR_URL/pkg.cfssl.org/R1.2/missing: HTTP 404 Not Found" \
  "${B[@]}" 404.yaml --cache cache-404 -o 404.run
[[ ! -e 404.run ]] || fail "404.run exists"

# 4. Ctrl-C mid-download (throttled mirror): exit 130, no output, no staging folder; the next
#    build resumes the partial file and asks only for the missing bytes.
"$K/kubeferry" -q build good.yaml --key key --cache cache-int --mirror "https://=$MIRROR_URL/slow/" --level 3 \
  -o int.run 2>int.err &
pid=$!
for _ in $(seq 50); do
  [[ -n "$(find cache-int/partial -size +100k 2>/dev/null)" ]] && break
  sleep 0.1
done
kill -INT $pid
rc=0; wait $pid || rc=$?
expect_eq "exit code after SIGINT" 130 "$rc"
[[ ! -e int.run && -z "$(ls -d .kubeferry-build-* 2>/dev/null)" ]] || fail "output or staging left after SIGINT"
partial=$(find cache-int/partial -type f -size +0 | head -1)
[[ -n "$partial" ]] || fail "no partial download kept after SIGINT"
have=$(stat -c %s "$partial")
lines_before=$(wc -l <"$ACCESS_LOG")
"$K/kubeferry" -q build good.yaml --key key --cache cache-int --mirror "https://=$MIRROR_URL/" --level 3 -o int.run >/dev/null
# (Not byte-identical to cold.run: bundle.lock records the /slow/ URL the small files came from.)
./int.run verify --pubkey key.pub >/dev/null || fail "resumed build does not verify"
etcd_size=$(awk -v p="$ETCD" '$1 == p {print $2}' "$MIRROR/checksums.tsv")
tail -n +"$((lines_before + 1))" "$ACCESS_LOG" | grep -q " 206 $((etcd_size - have)) \"bytes=$have-\"" \
  || { tail -n 5 "$ACCESS_LOG"; fail "resume did not fetch only the missing $((etcd_size - have)) bytes"; }
echo "build_mirror: all checks passed"
