#!/usr/bin/env bash
# kubeferry pin against the loopback mirror (real nginx, scripts/rig/mirror.sh, which publishes
# FILE.sha256 and FILE.sha512 beside every file as upstream does) and the test registry (real
# docker-registry 2.8, scripts/rig/registry.sh):
#   - build refuses a NOT-FOUND value and prints the one command that resolves it;
#   - pin resolves every NOT-FOUND checksum and digest, checked against the published checksum
#     files and the registry (values compared with the rig's own records), keeps the manifest's
#     comments and layout, and marks each value pinned_by_user with today's date;
#   - the bundle built from it keeps the mark in bundle.lock and the SBOM;
#   - a checksum file that disagrees with the download (a real python3 http.server serving a
#     scratch folder) is refused with exit 3 and leaves the manifest byte for byte as it was;
#   - a download with no checksum file beside it is refused unless --allow-unverified.
set -euo pipefail
K="${KF_BIN_DIR:?}"
SRC="${KF_SOURCE_DIR:?}"
for tool in nginx docker-registry skopeo umoci python3 curl; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done

T=$(mktemp -d /tmp/kf-pin-XXXXXX)
MIRROR=/tmp/kubeferry-test-mirror
HTTP_PID=""
cleanup() {
  [[ -z "$HTTP_PID" ]] || kill "$HTTP_PID" 2>/dev/null || true
  bash "$SRC/scripts/rig/mirror.sh" stop "$T/rig" >/dev/null 2>&1 || true
  bash "$SRC/scripts/rig/registry.sh" stop "$T/reg" >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT; [[ -n "${KEEP:-}" ]] && trap - EXIT
flock "$MIRROR.lock" bash "$SRC/scripts/rig/mirror.sh" build "$MIRROR" >/dev/null
bash "$SRC/scripts/rig/mirror.sh" start "$MIRROR" "$T/rig" >/dev/null
bash "$SRC/scripts/rig/registry.sh" start "$T/reg" >/dev/null
# shellcheck disable=SC1091
source "$T/rig/env"
# shellcheck disable=SC1091
source "$T/reg/env"
cd "$T"

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [[ "$1" == "$2" ]] || fail "$3: expected [$2], got [$1]"; }
sum() { awk -v p="$1" '$1 == p {print $3}' "$MIRROR/checksums.tsv"; }
ETCD=github.com/etcd-io/etcd/releases/download/v3.4.23/etcd-v3.4.23-linux-amd64.tar.gz
CFSSL=pkg.cfssl.org/R1.2/cfssl_linux-amd64
TODAY=$(date -u +%F)

# The manifest a user starts from: two artifacts and two images NOT-FOUND, in block and in
# flow style, with comments that pin must keep.
cat >m.yaml <<YAML
# A version set with values nobody published.
bundle: pin-test
kubernetes_version: v1.20.11
epoch: 1631664000
artifacts:
  - name: etcd
    version: v3.4.23
    kind: tarball
    url: https://$ETCD
    checksum: NOT-FOUND   # no source found
    source: NOT FOUND - no public source for this checksum was found
    members:
      - {from: etcd-v3.4.23-linux-amd64/etcd, to: etcd/bin/etcd, mode: 0755}
  - {name: cfssl, version: R1.2, kind: file, url: 'https://$CFSSL', checksum: NOT-FOUND,
     source: NOT FOUND, to: cfssl/bin/cfssl, mode: 0755}
images:
  - name: busybox
    ref: $REG_PLAIN/test/busybox:1.0
    digest: NOT-FOUND
    source: NOT FOUND - the registry's digest was not published anywhere
  - {name: tools, ref: '$REG_PLAIN/test/tools:1.0', digest: NOT-FOUND, source: NOT FOUND}
YAML
cp m.yaml m.orig.yaml
"$K/kubeferry" keygen --out key >/dev/null 2>&1
B=("$K/kubeferry" -q build --key key --mirror "https://=$MIRROR_URL/" --plain-http "$REG_PLAIN" --level 3
   --cache cache)

# 1. build refuses, naming every gap and the one command that resolves them.
col() { awk -v n="$1" 'NR == n {print index($0, "NOT-FOUND")}' m.yaml; }  # column of NOT-FOUND on line N
rc=0; "${B[@]}" m.yaml -o m.run 2>err.txt >/dev/null || rc=$?
expect_eq "$rc" 1 "exit code of build with NOT-FOUND values"
expect_eq "$(cat err.txt)" "kubeferry: error: build m.yaml: manifest m.yaml cannot be built (4 problems):
artifact etcd v3.4.23: no checksum is pinned (NOT FOUND in m.yaml:10:$(col 10))
artifact cfssl R1.2: no checksum is pinned (NOT FOUND in m.yaml:14:$(col 14))
image busybox $REG_PLAIN/test/busybox:1.0: no digest is pinned (NOT FOUND in m.yaml:19:$(col 19))
image tools $REG_PLAIN/test/tools:1.0: no digest is pinned (NOT FOUND in m.yaml:21:$(col 21))
resolve NOT-FOUND values on a connected machine with: kubeferry pin m.yaml (or pass --checksum NAME=sha256:<hex> with a value read from upstream)" \
  "stderr of build with NOT-FOUND values"
[[ ! -e m.run ]] || fail "m.run exists after a refusal"

# 2. pin resolves all four, checked against the mirror's published checksum files and the registry.
P=("$K/kubeferry" -q pin --mirror "https://=$MIRROR_URL/" --plain-http "$REG_PLAIN")
"${P[@]}" m.yaml >pin.out
expect_eq "$(cut -d' ' -f1-4 pin.out)" "pinned artifact etcd sha256:$(sum $ETCD)
pinned artifact cfssl sha256:$(sum $CFSSL)
pinned image busybox $DIGEST_BUSYBOX_1_0
pinned image tools $DIGEST_TOOLS_1_0" "pin's report"
grep -q "^    checksum: sha256:$(sum $ETCD)   # no source found$" m.yaml || fail "etcd checksum not written in place"
grep -qF "    pinned_by_user: \"$TODAY downloaded https://$ETCD, matches etcd-v3.4.23-linux-amd64.tar.gz.sha256, etcd-v3.4.23-linux-amd64.tar.gz.sha512 published beside it\"" m.yaml \
  || fail "etcd mark: $(grep -n pinned_by_user m.yaml)"
grep -qF "checksum: sha256:$(sum $CFSSL), pinned_by_user: \"$TODAY downloaded https://$CFSSL, matches" m.yaml \
  || fail "cfssl (flow style) mark: $(grep -n cfssl m.yaml)"
grep -qF "    ref: \"$REG_PLAIN/test/busybox:1.0@$DIGEST_BUSYBOX_1_0\"" m.yaml || fail "busybox ref"
grep -qF "    pinned_by_user: \"$TODAY digest of the application/vnd.oci.image.manifest.v1+json the registry serves for $REG_PLAIN/test/busybox:1.0, served again by digest\"" m.yaml \
  || fail "busybox mark: $(grep -n pinned_by_user m.yaml)"
grep -qF "ref: \"$REG_PLAIN/test/tools:1.0@$DIGEST_TOOLS_1_0\", pinned_by_user: \"$TODAY digest of" m.yaml || fail "tools (flow style)"
grep -q "NOT-FOUND" m.yaml && fail "NOT-FOUND left in m.yaml"
grep -qx "# A version set with values nobody published." m.yaml || fail "pin dropped a comment"
expect_eq "$(stat -c %a m.yaml)" 644 "mode of the pinned manifest"
"$K/kubeferry" manifest check m.yaml >/dev/null || fail "the pinned manifest does not check"

# 3. A second pin has nothing to do and leaves the file as it is.
cp m.yaml m.pinned.yaml
"$K/kubeferry" pin --mirror "https://=$MIRROR_URL/" --plain-http "$REG_PLAIN" m.yaml >again.out 2>again.err
expect_eq "$(cat again.out)" "" "stdout of a second pin"
expect_eq "$(cat again.err)" "kubeferry: m.yaml has no NOT-FOUND value; nothing to pin" "stderr of a second pin"
cmp m.yaml m.pinned.yaml || fail "a second pin changed the manifest"

# 4. The bundle keeps the mark in its lock and SBOM.
"${B[@]}" m.yaml -o m.run >/dev/null
./m.run extract --to out -q --pubkey key.pub
cmp out/etcd/bin/etcd /usr/bin/etcd || fail "etcd in the bundle is not the mirror's bytes"
python3 - "$TODAY" <<'PY' || fail "lock/SBOM marks"
import json, sys
today = sys.argv[1]
lock = json.load(open("out/bundle.lock"))
for a in lock["artifacts"]:
    assert a["pinned_by"] == "user (kubeferry pin)", a
    assert a["pinned_by_user"].startswith(today + " downloaded "), a
for i in lock["images"]:
    assert i["pinned_by"] == "user (kubeferry pin)", i
    assert i["pinned_by_user"].startswith(today + " digest of "), i
sbom = json.load(open("out/sbom.spdx.json"))
comments = {p["name"]: p.get("comment", "") for p in sbom["packages"]}
for name in ("etcd", "cfssl"):
    assert comments[name].startswith("checksum resolved by the user with kubeferry pin on " + today), comments
    assert comments[name].endswith("; not read from a published source"), comments
for name in ("busybox", "tools"):
    assert comments[name].startswith("digest resolved by the user with kubeferry pin on " + today), comments
PY

# 5. A checksum file that disagrees with the download: refused, manifest untouched.
mkdir www
cp "$MIRROR/www/test/small.txt" www/a.txt
echo "$(sha256sum </usr/bin/etcd | cut -d' ' -f1)  a.txt" >www/a.txt.sha256
cp "$MIRROR/www/test/small.txt" www/plain.txt   # nothing published beside it
python3 -u -m http.server 0 --bind 127.0.0.1 --directory www >http.log 2>&1 &
HTTP_PID=$!
for _ in $(seq 100); do grep -q "port" http.log 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' http.log | head -1)
[[ -n "$PORT" ]] || fail "http.server did not start: $(cat http.log)"
one_artifact() {  # one_artifact FILE URL
  cat >"$1" <<YAML
bundle: pin-bad
kubernetes_version: v1.20.11
epoch: 1631664000
artifacts:
  - name: thing
    version: "1"
    kind: file
    url: $2
    checksum: NOT-FOUND
    source: NOT FOUND
    to: bin/thing
    mode: 0644
YAML
}
one_artifact bad.yaml "http://127.0.0.1:$PORT/a.txt"
cp bad.yaml bad.orig.yaml
touch err.txt out.txt
listing_before=$(find . -path ./cache -prune -o -path ./out -prune -o -print | sort)
rc=0; "$K/kubeferry" -q pin bad.yaml 2>err.txt >out.txt || rc=$?
expect_eq "$rc" 3 "exit code of pin with a disagreeing checksum file"
expect_eq "$(cat err.txt)" "kubeferry: error: pin bad.yaml: artifact thing: http://127.0.0.1:$PORT/a.txt.sha256 says sha256:$(sha256sum </usr/bin/etcd | cut -d' ' -f1), but the download of http://127.0.0.1:$PORT/a.txt has sha256:$(sha256sum <www/a.txt | cut -d' ' -f1); nothing was pinned and the manifest is unchanged" \
  "stderr of pin with a disagreeing checksum file"
expect_eq "$(cat out.txt)" "" "stdout of a refused pin"
cmp bad.yaml bad.orig.yaml || fail "a refused pin changed the manifest"
expect_eq "$(find . -path ./cache -prune -o -path ./out -prune -o -print | sort)" "$listing_before" \
  "files after a refused pin"

# 6. Nothing published beside the download: refused, unless --allow-unverified (and then said).
one_artifact plain.yaml "http://127.0.0.1:$PORT/plain.txt"
rc=0; "$K/kubeferry" -q pin plain.yaml 2>err.txt >/dev/null || rc=$?
expect_eq "$rc" 1 "exit code of pin without a checksum file"
expect_eq "$(cat err.txt)" "kubeferry: error: pin plain.yaml: artifact thing: no checksum file (.sha256, .sha512, .sha256sum, SHA256SUMS) is published beside http://127.0.0.1:$PORT/plain.txt, so the download cannot be verified; read the checksum from upstream's release page and pass it with --checksum, or pin the unverified download with --allow-unverified" \
  "stderr of pin without a checksum file"
grep -q "checksum: NOT-FOUND" plain.yaml || fail "a refused pin changed plain.yaml"
"$K/kubeferry" -q pin plain.yaml --allow-unverified >/dev/null
grep -qF "checksum: sha256:$(sha256sum <www/plain.txt | cut -d' ' -f1)" plain.yaml || fail "unverified value not written"
grep -qF "pinned_by_user: \"$TODAY downloaded http://127.0.0.1:$PORT/plain.txt, NOT verified: upstream publishes no checksum file beside it\"" plain.yaml \
  || fail "the unverified mark: $(cat plain.yaml)"
echo "pin: ok"
