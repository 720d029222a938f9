#!/usr/bin/env bash
# kubeferry build with images: artifacts from the nginx mirror and images from a real
# docker-registry (scripts/rig/registry.sh), into one .run. Shared layers are stored once, the
# lock names every image by digest, and a warm rebuild gives the same bytes.
set -euo pipefail
K="${KF_BIN_DIR:?}"
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
need_tools nginx docker-registry skopeo umoci
T=$(mktemp -d /tmp/kf-build-images-XXXXXX)
cleanup() {
  mirror_down "$T/rig"
  registry_down "$T/reg"
  rm -rf "$T"
}
trap cleanup EXIT
mirror_up /tmp/kubeferry-test-mirror "$T/rig"
registry_up "$T/reg"
cd "$T"
cat >m.yaml <<YAML
bundle: test-images
kubernetes_version: v1.20.11
platforms: [linux/amd64]
epoch: 1631664000
artifacts:
$(mirror_artifact cfssl R1.2 file pkg.cfssl.org/R1.2/cfssl_linux-amd64)
    to: cfssl/bin/cfssl
    mode: 0755
images:
  - name: busybox
    ref: $REG_PLAIN/test/busybox:multi@$DIGEST_BUSYBOX_MULTI
    source: the test registry (an OCI index, amd64 + arm64)
  - name: tools
    ref: $REG_PLAIN/test/tools:1.0@$DIGEST_TOOLS_1_0
    source: the test registry (shares busybox's layer)
YAML
"$K/kubeferry" keygen --out key >/dev/null 2>&1
build() { "$K/kubeferry" -q build m.yaml --key key --mirror "https://=$MIRROR_URL/" --plain-http "$REG_PLAIN" --level 3 "$@" >/dev/null; }
build --cache cache -o a.run
build --cache cache -o b.run -j 1
cmp a.run b.run || fail "warm rebuild with images differs"
./a.run list >list.txt
grep -q ' images/images.json$' list.txt || fail "no images/images.json in the bundle"
# busybox (index + amd64 manifest + config + layer) and tools (manifest + config + its own
# layer + busybox's layer): 7 distinct blobs, the shared layer once.
[[ $(grep -c ' images/blobs/sha256/' list.txt) == 7 ]] || { cat list.txt; fail "expected 7 distinct blobs"; }
"$K/kubeferry" inspect a.run >inspect.txt
grep -q "^busybox  *$REG_PLAIN/test/busybox:multi@$DIGEST_BUSYBOX_MULTI\$" inspect.txt || { cat inspect.txt; fail "inspect: busybox"; }
grep -q "^tools  *$REG_PLAIN/test/tools:1.0@$DIGEST_TOOLS_1_0\$" inspect.txt || fail "inspect: tools"
# A wrong pinned digest is refused and leaves no output.
sed "s|$DIGEST_TOOLS_1_0|sha256:$(printf %064d 7)|" m.yaml >bad.yaml
rc=0; "$K/kubeferry" -q build bad.yaml --key key --cache cache --mirror "https://=$MIRROR_URL/" \
  --plain-http "$REG_PLAIN" --level 3 -o bad.run 2>err.txt || rc=$?
[[ $rc != 0 && ! -e bad.run ]] || fail "a wrong digest must fail without output (rc=$rc)"
grep -q "image 'tools'" err.txt || { cat err.txt; fail "the error must name the image"; }
echo "build_images: all checks passed"
