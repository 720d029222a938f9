#!/usr/bin/env bash
# Media parts through the real binaries: `kubeferry split` and `pack --split`, then
# `kubeferry-install verify-media` and `join`, with stock tools checking the same files:
#   bad sizes and a foreign --key are refused before anything is written; the parts rejoin with
#   cat and check with sha256sum -c, the .sig and the parts manifest (sha256sum -c, openssl);
#   every single-part corruption, a missing part, a short part, a part from another bundle,
#   swapped parts, a renamed part, a forged or unsigned manifest: each named exactly, exit 3,
#   nothing written; join writes the bundle only when all is good, never over a file, and
#   leaves nothing behind when a part is bad.
set -euo pipefail
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
B="${KF_BIN_DIR:?}/kubeferry"
I="${KF_BIN_DIR:?}/kubeferry-install"
[[ -x "$B" && -x "$I" ]] || { echo "skip: binaries not built"; exit 77; }
command -v openssl >/dev/null || { echo "skip: openssl not installed"; exit 77; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# A bundle of incompressible bytes, so that it is several parts of 2 MiB with the installer.
mkdir -p "$WORK/payload/data" "$WORK/other/data"
head -c 3000000 /dev/urandom >"$WORK/payload/data/blob"
head -c 3000000 /dev/urandom >"$WORK/other/data/blob"
run keygen "$B" keygen --out "$WORK/key"
expect_rc keygen 0
run keygen2 "$B" keygen --out "$WORK/key2"
expect_rc keygen2 0
mkdir "$WORK/media" "$WORK/media2"
run pack "$B" -q pack --name rig --key "$WORK/key" -o "$WORK/media/rig.run" --epoch 1750118400 "$WORK/payload"
expect_rc pack 0
FP="$(fingerprint_of "$WORK/key.pub")"
RUN="$WORK/media/rig.run"
SIZE="$(stat -c %s "$RUN")"
PART=$((2 * 1024 * 1024))
COUNT=$(((SIZE + PART - 1) / PART))
((COUNT >= 4)) || fail "the test bundle is only $COUNT parts"

# Sizes and keys are checked before anything is written.
run zero "$B" split "$RUN" 0 --key "$WORK/key"
expect zero 2 "" "kubeferry: error: size '0' is zero
"
run badsize "$B" split "$RUN" 4X --key "$WORK/key"
expect badsize 2 "" "kubeferry: error: size '4X' is not a byte count (digits with an optional k, M or G suffix, powers of 1024) or one of fat32 (4 GiB - 1), dvd (4.7 GB), bd (25 GB)
"
run toomany "$B" split "$RUN" 1k --key "$WORK/key"
expect toomany 2 "" "kubeferry: error: split $RUN: parts of 1024 bytes would make $(((SIZE + 1023) / 1024)) parts, at most 1000: use a size of at least $(((SIZE + 999) / 1000)) bytes
"
run foreign "$B" split "$RUN" 2M --key "$WORK/key2"
expect foreign 2 "" "kubeferry: error: split $RUN: the bundle is signed by $FP, --key is $(fingerprint_of "$WORK/key2.pub"): parts are signed with the bundle's own key
"
[[ "$(ls "$WORK/media")" == "rig.run
rig.run.sha256
rig.run.sha256.sig" ]] || fail "a refused split wrote something: $(ls "$WORK/media")"

# First into smaller parts, then 2M: the extra parts of the first split are removed.
run split1 "$B" -q split "$RUN" 1M --key "$WORK/key"
expect_rc split1 0
run split "$B" split "$RUN" 2M --key "$WORK/key"
expect_rc split 0
[[ "$(grep -c '^kubeferry: removed .*rig.run.part[0-9]*, left by an earlier split into more parts$' "$WORK/split.err")" == \
  $(((SIZE + 1048575) / 1048576 - COUNT)) ]] || fail "stale parts: $(cat "$WORK/split.err")"
expected_out=""
for ((i = 0; i < COUNT; i++)); do
  p="$(printf 'rig.run.part%03d' "$i")"
  expected_out+="$(sha256_of "$WORK/media/$p")  $p"$'\n'
done
expected_out+="wrote $WORK/media/rig.parts: $COUNT parts of at most 2.0 MiB, signed by $FP"$'\n'
expect_out split "$expected_out"
[[ ! -e "$WORK/media/$(printf 'rig.run.part%03d' "$COUNT")" ]] || fail "a stale part is left"

# Stock tools: cat rejoins, sha256sum -c and the .sig work as for the whole file, and the parts
# manifest is both a sha256sum file and an openssl-verifiable signed message.
(cd "$WORK/media" && sha256sum --quiet --strict -c rig.parts) || fail "sha256sum -c rig.parts"
openssl pkeyutl -verify -pubin -inkey "$WORK/key.pub" -rawin -in "$WORK/media/rig.parts" \
  -sigfile "$WORK/media/rig.parts.sig" >/dev/null || fail "openssl does not verify the parts manifest"
mkdir "$WORK/joined"
cat "$WORK/media/rig.run.part"* >"$WORK/joined/rig.run"
cp "$WORK/media/rig.run.sha256" "$WORK/media/rig.run.sha256.sig" "$WORK/joined/"
(cd "$WORK/joined" && sha256sum --quiet -c rig.run.sha256) || fail "cat-joined file fails sha256sum -c"
openssl pkeyutl -verify -pubin -inkey "$WORK/key.pub" -rawin -in "$WORK/joined/rig.run.sha256" \
  -sigfile "$WORK/joined/rig.run.sha256.sig" >/dev/null || fail ".sha256.sig"
cmp "$WORK/media/rig.run.installer" <(head -c "$(stat -c %s "$WORK/media/rig.run.installer")" "$RUN") ||
  fail "rig.run.installer is not the bundle's first bytes"
[[ -x "$WORK/media/rig.run.installer" ]] || fail "rig.run.installer is not executable"
grep -qx "# file rig.run $SIZE $(sha256_of "$RUN")" "$WORK/media/rig.parts" || fail "manifest # file line"
rm "$RUN" "$WORK/media/rig.run.sha256" "$WORK/media/rig.run.sha256.sig"

# The installer beside the parts checks them, before anything is joined.
MI="$WORK/media/rig.run.installer"
run good "$MI" -q verify-media "$WORK/media" --pubkey "$WORK/key.pub"
expect good 0 "OK $WORK/media/rig.parts: $COUNT parts, $(numfmt --round=nearest --to=iec-i --suffix=B --format=%.1f "$SIZE" | sed 's/\([0-9]\)\([KMG]\)/\1 \2/'), bundle rig (rig.run), signed by $FP (pinned)
" ""

part() { printf '%s/rig.run.part%03d' "$1" "$2"; }
fresh() { rm -rf "$WORK/m"; cp -a "$WORK/media" "$WORK/m"; }
want_digest() { sed -n "s/^\([0-9a-f]\{64\}\)  $(basename "$1")\$/\1/p" "$WORK/media/rig.parts"; }
# verify-media NAME: exit 3, the BAD lines given, the error naming what to copy again.
expect_bad() {
  local name="$1" out="$2" recopy="$3" bad="$4"
  run "$name" "$MI" -q verify-media "$WORK/m" --pubkey "$WORK/key.pub"
  expect "$name" 3 "$out" "kubeferry-install: error: $WORK/m/rig.parts: $bad of $COUNT parts are not good; copy these again from the source:$recopy; nothing was joined
"
}

# Every single-part corruption: first and last byte of each part.
for ((i = 0; i < COUNT; i++)); do
  for where in first last; do
    fresh
    p="$(part "$WORK/m" "$i")"
    offset=0
    [[ "$where" == last ]] && offset=$(($(stat -c %s "$p") - 1))
    flip_byte "$p" "$offset"
    expect_bad "flip_${i}_$where" "BAD $(basename "$p"): damaged or from another bundle: sha256 $(sha256_of "$p"), want $(want_digest "$p")
" " $(basename "$p")" 1
  done
done

# A missing part, and a short one (a copy that stopped early).
fresh
rm "$(part "$WORK/m" 2)"
expect_bad missing "BAD rig.run.part002: missing
" " rig.run.part002" 1
fresh
truncate -s 1000 "$(part "$WORK/m" 1)"
expect_bad short "BAD rig.run.part001: short: 1000 of $PART bytes (the copy stopped early)
" " rig.run.part001" 1

# A part of another bundle with the same file name (another build of it).
run pack2 "$B" -q pack --name rig --key "$WORK/key" -o "$WORK/media2/rig.run" --epoch 1750118400 "$WORK/other" --split 2M
expect_rc pack2 0
[[ -f "$WORK/media2/rig.parts" ]] || fail "pack --split wrote no parts manifest"
# Its first parts are the same installer bytes: take a full part of the payload.
F=$((COUNT - 2))
FN="$(basename "$(part "$WORK/m" "$F")")"
fresh
cmp -s "$(part "$WORK/media2" "$F")" "$(part "$WORK/m" "$F")" && fail "part $F is the same in both bundles"
cp "$(part "$WORK/media2" "$F")" "$(part "$WORK/m" "$F")"
expect_bad foreign_part "BAD $FN: damaged or from another bundle: sha256 $(sha256_of "$(part "$WORK/media2" "$F")"), want $(want_digest "$(part "$WORK/m" "$F")")
" " $FN" 1

# Two parts swapped (renamed into each other's place).
fresh
mv "$(part "$WORK/m" 1)" "$WORK/m/tmp" && mv "$(part "$WORK/m" 2)" "$(part "$WORK/m" 1)" && mv "$WORK/m/tmp" "$(part "$WORK/m" 2)"
expect_bad swapped "BAD rig.run.part001: holds the bytes of rig.run.part002 (renamed or swapped)
BAD rig.run.part002: holds the bytes of rig.run.part001 (renamed or swapped)
" " rig.run.part001 rig.run.part002" 2

# A renamed part: missing under its name, and cat would join the stray file.
fresh
mv "$(part "$WORK/m" 0)" "$WORK/m/rig.run.part000.copy"
expect_bad renamed "BAD rig.run.part000: missing
BAD rig.run.part000.copy: not in the manifest; remove it (cat rig.run.part* would join it)
" " rig.run.part000; remove the files not in the manifest" 1

# A forged parts manifest (a part replaced and its line edited to match): the signature fails
# before any part is read; so does a manifest without its signature.
fresh
cp "$(part "$WORK/media2" "$F")" "$(part "$WORK/m" "$F")"
sed -i "s/^$(want_digest "$(part "$WORK/m" "$F")")  $FN\$/$(sha256_of "$(part "$WORK/m" "$F")")  $FN/" "$WORK/m/rig.parts"
cmp -s "$WORK/m/rig.parts" "$WORK/media/rig.parts" && fail "the manifest was not forged"
(cd "$WORK/m" && sha256sum --quiet -c rig.parts) || fail "the forged manifest should fool sha256sum alone"
run forged "$MI" -q verify-media "$WORK/m" --pubkey "$WORK/key.pub"
expect forged 3 "" "kubeferry-install: error: $WORK/m/rig.parts: signature does not match the key $FP (the parts manifest was changed, or signed by another key); nothing was checked or joined
"
run forged_join "$MI" -q join "$WORK/m" --pubkey "$WORK/key.pub" --out "$WORK/out.run"
expect_rc forged_join 3
fresh
rm "$WORK/m/rig.parts.sig"
run unsigned "$MI" -q verify-media "$WORK/m/rig.parts" --pubkey "$WORK/key.pub"
expect unsigned 3 "" "kubeferry-install: error: $WORK/m/rig.parts.sig is missing or unreadable: without it the parts cannot be trusted (copy it from the source medium)
"
fresh
run otherkey "$MI" -q verify-media "$WORK/m" --pubkey "$WORK/key2.pub"
expect otherkey 3 "" "kubeferry-install: error: $WORK/m/rig.parts: signature does not match the key $(fingerprint_of "$WORK/key2.pub") (the parts manifest was changed, or signed by another key); nothing was checked or joined
"

# join: only when every part is good; the result is the bundle, byte for byte, and verifies.
fresh
flip_byte "$(part "$WORK/m" 3)" 10
mkdir "$WORK/out"
run join_bad "$MI" -q join "$WORK/m" --pubkey "$WORK/key.pub" --out "$WORK/out/rig.run"
expect_rc join_bad 3
[[ -z "$(ls -A "$WORK/out")" ]] || fail "a refused join left: $(ls -A "$WORK/out")"
run join "$MI" -q join "$WORK/media" --pubkey "$WORK/key.pub" --out "$WORK/out/rig.run"
expect join 0 "$(sha256_of "$WORK/joined/rig.run")  $WORK/out/rig.run
" ""
cmp "$WORK/out/rig.run" "$WORK/joined/rig.run" || fail "join differs from cat"
[[ "$(stat -c %a "$WORK/out/rig.run")" == 755 ]] || fail "joined mode $(stat -c %a "$WORK/out/rig.run")"
run joined_verify "$WORK/out/rig.run" -q verify --pubkey "$WORK/key.pub"
expect_rc joined_verify 0
run join_again "$MI" -q join "$WORK/media" --pubkey "$WORK/key.pub" --out "$WORK/out/rig.run"
expect join_again 2 "" "kubeferry-install: error: $WORK/out/rig.run exists; remove it or pass another --out
"
[[ "$(ls -A "$WORK/out")" == rig.run ]] || fail "join left temporaries: $(ls -A "$WORK/out")"
echo "OK media.sh"
