#!/usr/bin/env bash
# A handful of corruptions through the real binaries (the exhaustive sweep is the C++
# Corruption suite): a flipped payload, index or signature byte and a truncated file give
# exit 3 and the exact message, and a failed extract leaves no target and no staging folder.
set -euo pipefail

BIN="${KF_BIN_DIR:?}"
KF="$BIN/kubeferry"
KI="$BIN/kubeferry-install"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
NL=$'\n'

mkdir -p "$WORK/src/etc"
printf 'name = node-1\n' >"$WORK/src/etc/conf"
printf 'a longer file so that the payload has some body to it\n%.0s' {1..20} >"$WORK/src/etc/body"
"$KF" keygen --out "$WORK/key" >/dev/null 2>&1
(cd "$WORK" && "$KF" -q pack src --name bad --key key -o good.run --epoch 1 --level 3 >/dev/null)

SIZE="$(stat -c %s "$WORK/good.run")"
u64() { od -An -tu8 -j "$2" -N8 "$1" | tr -d ' '; }
PAYLOAD_AT="$(u64 "$WORK/good.run" $((SIZE - 64)))"
PAYLOAD_SIZE="$(u64 "$WORK/good.run" $((SIZE - 56)))"
INDEX_SIZE="$(u64 "$WORK/good.run" $((SIZE - 48)))"
INDEX_AT=$((PAYLOAD_AT + PAYLOAD_SIZE))
SIGNATURE_AT=$((INDEX_AT + INDEX_SIZE))
[[ "$PAYLOAD_AT" == "$(stat -c %s "$KI")" ]] || fail "payload offset $PAYLOAD_AT"
[[ $((SIGNATURE_AT + 96 + 64)) == "$SIZE" ]] || fail "parts do not tile the file"
WANT_PAYLOAD="$(tail -c +$((INDEX_AT + 1)) "$WORK/good.run" | head -c "$INDEX_SIZE" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["payload"]["sha256"])')"

# no_leftovers TARGET: the failed extract left neither TARGET nor a staging folder.
no_leftovers() {
  [[ ! -e "$WORK/$1" ]] || fail "$1 exists after a failed extract"
  if compgen -G "$WORK/*.kubeferry-staging-*" >/dev/null; then fail "staging folder left: $(ls "$WORK")"; fi
}

# --- a flipped payload byte ---------------------------------------------------------------
cp "$WORK/good.run" "$WORK/payload.run"
flip_byte "$WORK/payload.run" $((PAYLOAD_AT + PAYLOAD_SIZE / 2))
GOT="$(tail -c +$((PAYLOAD_AT + 1)) "$WORK/payload.run" | head -c "$PAYLOAD_SIZE" | sha256sum | cut -d' ' -f1)"
MISMATCH="payload: sha256 mismatch (want $WANT_PAYLOAD, got $GOT)"
# The signature is good, so the signer is accepted (and said to be unpinned) before the payload
# is found to be damaged.
FP="$(fingerprint_of "$WORK/key.pub")"
run p_verify "$KF" verify payload.run
expect p_verify 3 "" "$(unpinned_warning kubeferry "$FP")${NL}kubeferry: error: verify payload.run: $MISMATCH$NL"
run p_iverify ./payload.run verify
expect p_iverify 3 "" "$(unpinned_warning kubeferry-install "$FP" /etc/kubeferry/trusted.d)${NL}kubeferry-install: error: verify $WORK/payload.run: $MISMATCH$NL"
run p_extract ./payload.run -q extract --to p_out
expect_rc p_extract 3
grep -q "^kubeferry-install: error: extract $WORK/payload.run: " "$WORK/p_extract.err" || fail "p_extract: $(cat "$WORK/p_extract.err")"
no_leftovers p_out

# --- a flipped index byte and a flipped signature byte ------------------------------------
BROKEN="signature: the index was changed or the signature is corrupt: signature does not match"
cp "$WORK/good.run" "$WORK/index.run"
flip_byte "$WORK/index.run" $((INDEX_AT + 5))
run i_verify "$KF" verify index.run
expect i_verify 3 "" "kubeferry: error: verify index.run: $BROKEN$NL"
run i_iverify ./index.run verify
expect i_iverify 3 "" "kubeferry-install: error: verify $WORK/index.run: $BROKEN$NL"
run i_extract ./index.run -q extract --to i_out
expect i_extract 3 "" "kubeferry-install: error: extract $WORK/index.run: $BROKEN$NL"
no_leftovers i_out

cp "$WORK/good.run" "$WORK/sig.run"
flip_byte "$WORK/sig.run" $((SIGNATURE_AT + 95))
run s_verify "$KF" verify sig.run
expect s_verify 3 "" "kubeferry: error: verify sig.run: $BROKEN$NL"
run s_list ./sig.run list
expect s_list 3 "" "kubeferry-install: error: $BROKEN$NL"

# --- truncated by one byte, and cut at the start of the index ------------------------------
TRUNCATED="trailer: no kubeferry trailer at the end of the file (not a bundle, or truncated)"
head -c $((SIZE - 1)) "$WORK/good.run" >"$WORK/short.run"
run t_verify "$KF" verify short.run
expect t_verify 3 "" "kubeferry: error: verify short.run: $TRUNCATED$NL"
run t_bundle "$KI" --bundle short.run -q extract --to t_out
expect t_bundle 3 "" "kubeferry-install: error: extract short.run: $TRUNCATED$NL"
no_leftovers t_out
head -c "$INDEX_AT" "$WORK/good.run" >"$WORK/cut.run"
run c_verify "$KF" verify cut.run
expect c_verify 3 "" "kubeferry: error: verify cut.run: $TRUNCATED$NL"

# The good file still verifies (the flips were on copies).
run good "$KF" verify good.run
expect_rc good 0

echo "bundle_corruption: all checks passed"
