#!/usr/bin/env bash
# kubeferry diff through the real binary, on bundles made by `pack` (a bundle.lock written into
# the packed folder stands for the one `build` writes; its checksums are digests of test bytes
# computed here): identical bundles exit 0; a changed, a re-moded and an added file, an artifact
# whose version and pinned checksum changed, an added and a removed one, an image with a new
# digest, another signer and the size change are each named, exit 1, and --json says the same.
set -euo pipefail
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
B="${KF_BIN_DIR:?}/kubeferry"
[[ -x "$B" ]] || { echo "skip: binaries not built"; exit 77; }
command -v openssl >/dev/null || { echo "skip: openssl not installed"; exit 77; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

d() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
lock() {  # lock ETCD_VERSION ETCD_SUM EXTRA_ARTIFACT IMAGE_DIGEST
  printf '{"artifacts":[{"name":"etcd","pinned":"sha256:%s","sha256":"%s","url":"https://example.invalid/etcd","version":"%s"},{"name":"%s","pinned":"sha256:%s","sha256":"%s","url":"https://example.invalid/x","version":"v1"}],"bundle":"rig","images":[{"digest":"sha256:%s","name":"pause","reference":"registry.k8s.io/pause:3.2"}]}' \
    "$2" "$2" "$1" "$3" "$(d "$3")" "$(d "$3")" "$4"
}
mkdir -p "$WORK/a/bin" "$WORK/b/bin"
echo one >"$WORK/a/bin/x"; echo two >"$WORK/b/bin/x"
echo same >"$WORK/a/bin/y"; echo same >"$WORK/b/bin/y"; chmod 0755 "$WORK/b/bin/y"
echo new >"$WORK/b/bin/z"
lock v3.4.9 "$(d etcd-3.4.9)" cni "$(d pause-a)" >"$WORK/a/bundle.lock"
lock v3.4.13 "$(d etcd-3.4.13)" cfssl "$(d pause-b)" >"$WORK/b/bundle.lock"
run k1 "$B" keygen --out "$WORK/k1"
run k2 "$B" keygen --out "$WORK/k2"
run pa "$B" -q pack --name rig --key "$WORK/k1" -o "$WORK/a.run" "$WORK/a"
run pb "$B" -q pack --name rig --key "$WORK/k2" -o "$WORK/b.run" "$WORK/b"
expect_rc pa 0
expect_rc pb 0
F1="$(fingerprint_of "$WORK/k1.pub")"
F2="$(fingerprint_of "$WORK/k2.pub")"
SA="$(stat -c %s "$WORK/a.run")"
SB="$(stat -c %s "$WORK/b.run")"

run same "$B" -q diff a.run a.run --fingerprint "$F1"
expect same 0 "A a.run: rig, $SA bytes, signed by $F1 (pinned)
B a.run: rig, $SA bytes, signed by $F1 (pinned)
identical: same entries, artifacts, images, signer and size
" ""

run differ "$B" -q diff a.run b.run
expect_rc differ 1
sa() { sha256_of "$WORK/$1"; }
cat >"$WORK/want" <<EOT
A a.run: rig, $SA bytes, signed by $F1 (NOT pinned)
B b.run: rig, $SB bytes, signed by $F2 (NOT pinned)
CHANGED bundle signer: $F1 -> $F2
CHANGED artifact etcd: version v3.4.9 -> v3.4.13, sha256 $(d etcd-3.4.9) -> $(d etcd-3.4.13), pinned sha256:$(d etcd-3.4.9) -> sha256:$(d etcd-3.4.13)
REMOVED artifact cni: v1 sha256:$(d cni)
ADDED artifact cfssl: v1 sha256:$(d cfssl)
CHANGED image pause: digest sha256:$(d pause-a) -> sha256:$(d pause-b)
CHANGED file bin/x: content sha256 $(sa a/bin/x) -> $(sa b/bin/x)
CHANGED file bin/y: mode 0644 -> 0755
ADDED file bin/z: file 0644 4 bytes sha256 $(sa b/bin/z)
CHANGED file bundle.lock: content sha256 $(sa a/bundle.lock) -> $(sa b/bundle.lock), size $(stat -c %s "$WORK/a/bundle.lock") -> $(stat -c %s "$WORK/b/bundle.lock")
CHANGED bundle size: $SA -> $SB bytes ($( ((SB > SA)) && echo +)$((SB - SA)))
EOT
# Sections in order (bundle, artifacts, images, files, size); within a section as listed.
diff -u <(sort "$WORK/want") <(sed '$d' "$WORK/differ.out" | sort) || fail "diff lines"
tail -1 "$WORK/differ.out" | grep -qx '10 differences (3 artifact, 2 bundle, 4 file, 1 image)' ||
  fail "diff summary: $(tail -1 "$WORK/differ.out")"
run json "$B" -q diff a.run b.run --json
expect_rc json 1
python3 - "$WORK/json.out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["identical"] is False and r["a"]["has_lock"] and r["b"]["signer"] != r["a"]["signer"]
got = {(x["section"], x["change"], x["name"]) for x in r["differences"]}
for want in [("artifact", "changed", "etcd"), ("artifact", "added", "cfssl"), ("artifact", "removed", "cni"),
             ("image", "changed", "pause"), ("file", "added", "bin/z"), ("bundle", "changed", "signer")]:
    assert want in got, (want, got)
PY
run pinned_one "$B" -q diff a.run b.run --pubkey "$WORK/k1.pub"
expect_rc pinned_one 3
echo "OK diff.sh"
