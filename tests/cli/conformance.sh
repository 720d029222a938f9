#!/usr/bin/env bash
# FORMAT.md is enough to write a bundle byte for byte: tests/conformance/second_writer.py, a
# second writer written from FORMAT.md alone (Python stdlib + Debian's python3-zstandard), must
# produce the same .run, bare payload, .sha256 and .sha256.sig as `kubeferry pack` for a tree
# with long names and link targets (pax headers), non-ASCII names and odd modes on disk, at the
# default level 19 and at level 3. GNU tar, a third reader, lists the payload as the index does.
set -euo pipefail
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
KF="${KF_BIN_DIR:?}/kubeferry"
I="${KF_BIN_DIR:?}/kubeferry-install"
PY=/usr/bin/python3  # Debian's, which has python3-zstandard (scripts/setup.sh)
SECOND="$(cd "$(dirname "$0")/../conformance" && pwd)/second_writer.py"
[[ -x "$KF" && -x "$I" ]] || { echo "skip: binaries not built"; exit 77; }
"$PY" -c 'import zstandard' 2>/dev/null || { echo "skip: python3-zstandard not installed"; exit 77; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

T="$WORK/tree"
long_dir="$(printf 'd%.0s' $(seq 1 120))"       # a 120-byte folder name: its tar name needs pax
long_file="$(printf 'f%.0s' $(seq 1 250))"
mkdir -p "$T/$long_dir/sub" "$T/ünï/çødé" "$T/private"
printf 'long\n' >"$T/$long_dir/sub/$long_file"
printf 'ünïcødé\n' >"$T/ünï/çødé/fïlé"
head -c 70000 /dev/urandom >"$T/ünï/random.bin"   # several blocks, incompressible
seq 1 20000 >"$T/numbers"
printf '#!/bin/sh\n' >"$T/run-me"
chmod 0700 "$T/run-me" "$T/private"              # odd modes: pack normalises them (FORMAT.md 3.3)
chmod 0600 "$T/numbers"
chmod 0751 "$T/ünï/çødé/fïlé"
ln -s "$long_dir/sub/$long_file" "$T/long-link"  # a 372-byte target: linkpath record
ln -s "../numbers" "$T/ünï/short-link"
: >"$T/empty"

run keygen "$KF" keygen --out key
expect_rc keygen 0
mkdir "$WORK/kf" "$WORK/py"  # the same file names, since OUT.sha256 names its file
for level in 19 3; do
  run pack "$KF" -q pack tree --name conformance --key key -o "kf/$level.run" --epoch 1750118400 --level "$level" \
    --installer "$I"
  expect_rc pack 0
  run second "$PY" "$SECOND" tree key "py/$level.run" --name conformance --epoch 1750118400 --level "$level" \
    --installer "$I"
  expect_rc second 0
  for suffix in "" .sha256 .sha256.sig; do
    cmp "$WORK/kf/$level.run$suffix" "$WORK/py/$level.run$suffix" ||
      fail "level $level: $level.run$suffix of the second writer differs from kubeferry pack's"
  done
done
run pack_bare "$KF" -q pack tree --name conformance --key key -o kf/b.bin --epoch 0 --bare
expect_rc pack_bare 0
run second_bare "$PY" "$SECOND" tree key py/b.bin --name conformance --epoch 0
expect_rc second_bare 0
for suffix in "" .sha256 .sha256.sig; do
  cmp "$WORK/kf/b.bin$suffix" "$WORK/py/b.bin$suffix" || fail "bare b.bin$suffix differs from kubeferry pack's"
done

# The second writer's bundle verifies, and GNU tar reads its payload as the index lists it.
FP="$(fingerprint_of "$WORK/key.pub")"
run verify "$I" --bundle py/19.run verify --fingerprint "$FP"
expect_rc verify 0
"$PY" - "$WORK/py/b.bin" >"$WORK/payload.tar.zst" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
offset, size = struct.unpack("<QQ", data[-64:-48])
sys.stdout.buffer.write(data[offset:offset + size])
PY
zstd -q -dc --long=27 "$WORK/payload.tar.zst" | tar -tvf - --numeric-owner >"$WORK/tar.txt" 2>"$WORK/tar.err"  # it ignores hdrcharset, with a note
grep -q "^lrwxrwxrwx 0/0 .* long-link -> $long_dir/sub/$long_file\$" "$WORK/tar.txt" || fail "tar: long link: $(cat "$WORK/tar.txt")"
grep -q "^-rwxr-xr-x 0/0 .*1970-01-01 00:00 ünï/çødé/fïlé\$" "$WORK/tar.txt" || fail "tar: non-ASCII file: $(cat "$WORK/tar.txt")"
grep -q "^-rw-r--r-- 0/0 *5 .* $long_dir/sub/$long_file\$" "$WORK/tar.txt" || fail "tar: long name: $(cat "$WORK/tar.txt")"
[[ "$(wc -l <"$WORK/tar.txt")" == 13 ]] || fail "tar lists $(wc -l <"$WORK/tar.txt") members, the tree has 13 entries"
echo "OK conformance.sh"
