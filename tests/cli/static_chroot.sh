#!/usr/bin/env bash
# The static installer in an empty chroot: no libraries, no /etc, nothing but the bundle.
#   1. `file` says "statically linked" (installer and .run).
#   2. A folder holding ONLY x.run (plus a proc mount, see below): `chroot DIR /x.run verify`
#      and `extract --to /out` succeed and the tree matches; a corrupted copy gives exit 3.
#   3. A folder holding ONLY the bare installer and a bare payload, no /proc at all:
#      `kubeferry-install --bundle /b.bin verify|extract` succeed.
# Why /proc in 2: a .run finds its payload through /proc/self/exe, which every real host has
# mounted; without it the installer cannot open itself (reported to the lead; `--bundle`
# does not need it, as 3 shows). Needs root for chroot and mount; exits 77 (skip) otherwise.
set -euo pipefail

BIN="${KF_BIN_DIR:?}"
KF="$BIN/kubeferry"
KI="$BIN/kubeferry-install"
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
if [[ "$(id -u)" != 0 ]] || ! command -v chroot >/dev/null; then
  skip "static_chroot: needs root and chroot"
fi
WORK="$(mktemp -d)"
ROOT="$WORK/root"
cleanup() {
  if mountpoint -q "$ROOT/proc" 2>/dev/null; then umount "$ROOT/proc"; fi
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
NL=$'\n'

# 1. Statically linked.
file -b "$KI" | grep -q 'statically linked' || fail "kubeferry-install: $(file -b "$KI")"

mkdir -p "$WORK/src/bin" "$WORK/src/etc/nested" "$WORK/src/empty"
printf '#!/bin/sh\necho hi\n' >"$WORK/src/bin/tool"
chmod 0755 "$WORK/src/bin/tool"
printf 'key = value\n' >"$WORK/src/etc/conf"
head -c 3000000 /dev/urandom >"$WORK/src/etc/nested/blob"
ln -s ../bin/tool "$WORK/src/etc/tool"
"$KF" keygen --out "$WORK/key" >/dev/null 2>&1
FP="$(fingerprint_of "$WORK/key.pub")"
(cd "$WORK" && "$KF" -q pack src --name chroot-test --key key -o x.run --epoch 0 --level 3 >/dev/null)
(cd "$WORK" && "$KF" -q pack src --name chroot-test --key key -o b.bin --epoch 0 --level 3 --bare >/dev/null)
file -b "$WORK/x.run" | grep -q 'statically linked' || fail "x.run: $(file -b "$WORK/x.run")"

tree() { (cd "$1" && find . -mindepth 1 -printf '%y %m %p %l\n' | sort); }
WANT_TREE="$(tree "$WORK/src")"

# 2. Only the .run in the chroot.
mkdir "$ROOT"
cp "$WORK/x.run" "$ROOT/x.run"
[[ "$(ls -A "$ROOT")" == x.run ]] || fail "the chroot holds more than x.run"
mkdir "$ROOT/proc"
if ! mount -t proc proc "$ROOT/proc" 2>/dev/null; then
  echo "static_chroot: cannot mount proc in the chroot; skipped"
  exit 77
fi
run verify chroot "$ROOT" /x.run verify --fingerprint "$FP"
expect verify 0 "OK /x.run: chroot-test, 8 entries, created 1970-01-01T00:00:00Z, signed by $FP (pinned)$NL" \
  "$(self_check_note /x.run)$NL"
run extract chroot "$ROOT" /x.run -q extract --to /out --fingerprint "$FP"
expect extract 0 "" ""
[[ "$(tree "$ROOT/out")" == "$WANT_TREE" ]] || fail "extracted tree differs: $(tree "$ROOT/out")"
diff -r --no-dereference "$WORK/src" "$ROOT/out" || fail "extracted content differs"
run list chroot "$ROOT" /x.run list
expect_rc list 0
[[ "$(wc -l <"$WORK/list.out")" == 8 ]] || fail "list: $(cat "$WORK/list.out")"
# A corrupted copy in the same chroot: exit 3, nothing extracted.
cp "$ROOT/x.run" "$ROOT/bad.run"
SIZE="$(stat -c %s "$ROOT/bad.run")"
flip_byte "$ROOT/bad.run" $((SIZE - 64 - 96 - 10))
run bad chroot "$ROOT" /bad.run -q extract --to /bad-out
expect bad 3 "" \
  "kubeferry-install: error: extract /bad.run: signature: the index was changed or the signature is corrupt: signature does not match$NL"
[[ ! -e "$ROOT/bad-out" ]] || fail "a failed extract left /bad-out"
umount "$ROOT/proc"

# 3. The bare installer and a bare payload, no /proc.
ROOT2="$WORK/root2"
mkdir "$ROOT2"
cp "$KI" "$ROOT2/kubeferry-install"
cp "$WORK/b.bin" "$ROOT2/b.bin"
run bverify chroot "$ROOT2" /kubeferry-install --bundle /b.bin verify --fingerprint "$FP"
expect bverify 0 "OK /b.bin: chroot-test, 8 entries, created 1970-01-01T00:00:00Z, signed by $FP (pinned)$NL" ""
run bextract chroot "$ROOT2" /kubeferry-install -q --bundle /b.bin extract --to /out --fingerprint "$FP"
expect bextract 0 "" ""
[[ "$(tree "$ROOT2/out")" == "$WANT_TREE" ]] || fail "bare extracted tree differs: $(tree "$ROOT2/out")"
diff -r --no-dereference "$WORK/src" "$ROOT2/out" || fail "bare extracted content differs"

echo "static_chroot: all checks passed"
