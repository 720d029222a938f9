#!/usr/bin/env bash
# Pinning through the real binaries (bundlespec/trust.hpp), issue 12 items 1 and 2:
#   - an empty --fingerprint or --pubkey (an unset shell variable), and a --pubkey file that is
#     missing, empty, not a key or a private key, are usage errors (exit 2) naming the flag, in
#     kubeferry verify|inspect and in the installer's verify, list, extract and images load|push
#     (install: tests/cli/install.sh), and nothing is written;
#   - without a pin, verify, list, extract and images load|push print the one NOT pinned warning;
#     --require-pinned, or a trusted.d folder holding other keys, refuses (exit 3) before anything
#     is written; a key in the trusted folder pins its bundles.
set -euo pipefail

BIN="${KF_BIN_DIR:?}"
KF="$BIN/kubeferry"
KI="$BIN/kubeferry-install"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
NL=$'\n'
export TMPDIR="$WORK/tmp"  # images load|push extract into $TMPDIR: it must stay empty
mkdir "$TMPDIR"

mkdir -p "$WORK/src/etc"
printf 'key = value\n' >"$WORK/src/etc/conf"
"$KF" keygen --out "$WORK/key" >/dev/null 2>&1
"$KF" keygen --out "$WORK/other" >/dev/null 2>&1
FP="$(fingerprint_of "$WORK/key.pub")"
OTHER_FP="$(fingerprint_of "$WORK/other.pub")"
(cd "$WORK" && "$KF" -q pack src --name demo --key key -o out.run --epoch 1 --level 3 >/dev/null)
: >"$WORK/empty.pub"
printf 'not a key\n' >"$WORK/junk.pub"
: >"$WORK/fake.sock"  # images load only checks that the runtime's socket exists before it loads

# nothing_written: no extract target, no staging folder, nothing in $TMPDIR.
nothing_written() {
  [[ ! -e "$WORK/x" ]] || fail "$1: x was created"
  if compgen -G "$WORK/*.kubeferry-staging-*" >/dev/null; then fail "$1: staging folder left: $(ls "$WORK")"; fi
  [[ -z "$(ls -A "$TMPDIR")" ]] || fail "$1: left in TMPDIR: $(ls -A "$TMPDIR")"
}

PASS_KEY="pass the signer's public key file (KEY.pub, written by kubeferry keygen)"
EMPTY_FP="--fingerprint is empty (an unset variable?): pass the signer's fingerprint, SHA256:<64 hex digits>, as kubeferry keygen and verify print it"
EMPTY_PUBKEY="--pubkey is empty (an unset variable?): $PASS_KEY"
PRIVATE="--pubkey key is a private key: pass its public half (KEY.pub beside KEY, written by kubeferry keygen); the private key stays with the publisher"

# --- 1. every command: an empty or unusable pin is a usage error ---------------------------
# Each command once per bad pin; the messages are the same everywhere.
commands=(
  "kf_verify|$KF verify out.run"
  "kf_inspect|$KF inspect out.run"
  "verify|./out.run verify"
  "list|./out.run list"
  "extract|./out.run extract --to x"
  "load|./out.run images load --runtime containerd --address fake.sock"
  "push|./out.run images push --registry 127.0.0.1:1 --plain-http"
)
for entry in "${commands[@]}"; do
  name="${entry%%|*}"
  read -r -a cmd <<<"${entry#*|}"
  prog=kubeferry-install
  [[ "${cmd[0]}" == "$KF" ]] && prog=kubeferry
  run "${name}_fp" "${cmd[@]}" --fingerprint ''
  expect "${name}_fp" 2 "" "$prog: error: $EMPTY_FP$NL"
  run "${name}_pubkey" "${cmd[@]}" --pubkey ''
  expect "${name}_pubkey" 2 "" "$prog: error: $EMPTY_PUBKEY$NL"
  run "${name}_private" "${cmd[@]}" --pubkey key
  expect "${name}_private" 2 "" "$prog: error: $PRIVATE$NL"
  run "${name}_empty" "${cmd[@]}" --pubkey empty.pub
  expect "${name}_empty" 2 "" "$prog: error: --pubkey empty.pub is empty: $PASS_KEY$NL"
  run "${name}_junk" "${cmd[@]}" --pubkey junk.pub
  expect "${name}_junk" 2 "" \
    "$prog: error: --pubkey junk.pub is not an Ed25519 public key (PEM \"BEGIN PUBLIC KEY\"): $PASS_KEY$NL"
  run "${name}_missing" "${cmd[@]}" --pubkey nokey.pub
  expect "${name}_missing" 2 "" \
    "$prog: error: --pubkey nokey.pub cannot be read (No such file or directory): $PASS_KEY$NL"
  nothing_written "$name"
done

# A --fingerprint with a terminal escape in it is shown escaped.
run fp_escape ./out.run verify --fingerprint $'SHA256:\e[2Jabc'
expect fp_escape 2 "" "kubeferry-install: error: --fingerprint 'SHA256:\\x1b[2Jabc' must look like SHA256:<64 hex digits>, as kubeferry keygen and verify print it$NL"
# --from is an extracted folder: a pin has nothing to check there.
mkdir "$WORK/from"
run from_pin "$KI" images push --from from --registry 127.0.0.1:1 --plain-http --fingerprint "$FP"
expect from_pin 2 "" "kubeferry-install: error: --from DIR is an extracted folder, with no signature to check: pin the signer when extracting it (extract --pubkey or --fingerprint), and drop --pubkey, --fingerprint and --require-pinned here$NL"

# --- 2. unpinned: the same warning everywhere, or a refusal -----------------------------
WARN_KF="$(unpinned_warning kubeferry "$FP")$NL"
WARN_KI="$(unpinned_warning kubeferry-install "$FP" /etc/kubeferry/trusted.d)$NL"
run u_kf_verify "$KF" verify out.run
expect u_kf_verify 0 "OK out.run: demo, 2 entries, created 1970-01-01T00:00:01Z, signed by $FP (NOT pinned)$NL" "$WARN_KF"
run u_verify ./out.run verify
expect u_verify 0 "OK $WORK/out.run: demo, 2 entries, created 1970-01-01T00:00:01Z, signed by $FP (NOT pinned)$NL" \
  "$WARN_KI$(self_check_note "$WORK/out.run")$NL"
run u_list ./out.run list
expect_rc u_list 0
expect_err u_list "$WARN_KI"
# -q does not hide it: it is about trust, not progress.
run u_extract ./out.run -q extract --to u_out
expect u_extract 0 "" "$WARN_KI"
[[ "$(cat "$WORK/u_out/etc/conf")" == "key = value" ]] || fail "u_extract did not extract"
# images load|push warn as soon as the bundle is opened (this bundle has no images, so they
# then stop; what matters here is the warning and that the temporary folder is gone).
run u_load ./out.run images load --runtime containerd --address fake.sock
expect_rc u_load 2
head -1 "$WORK/u_load.err" | grep -qxF "${WARN_KI%"$NL"}" || fail "u_load: $(cat "$WORK/u_load.err")"
tail -1 "$WORK/u_load.err" | grep -qx "kubeferry-install: error: this bundle carries no images ($TMPDIR/kubeferry-images-.*/bundle/images/images.json is missing)" ||
  fail "u_load: $(cat "$WORK/u_load.err")"
run u_push ./out.run images push --registry 127.0.0.1:1 --plain-http
expect_rc u_push 2
head -1 "$WORK/u_push.err" | grep -qxF "${WARN_KI%"$NL"}" || fail "u_push: $(cat "$WORK/u_push.err")"
tail -1 "$WORK/u_push.err" | grep -qx "kubeferry-install: error: this bundle carries no images ($TMPDIR/kubeferry-images-.*/bundle/images/images.json is missing)" ||
  fail "u_push: $(cat "$WORK/u_push.err")"
nothing_written unpinned

# A pin (either flag) is silent.
run p_extract ./out.run -q extract --to p_out --fingerprint "$FP"
expect p_extract 0 "" ""
run p_list ./out.run list --pubkey key.pub
expect_rc p_list 0
expect_err p_list ""

# --require-pinned: refused before anything is written.
refusal() {  # refusal PROG [TRUSTED_DIR] NOTE
  local dir=""
  [[ -n "$2" ]] && dir=", or copy KEY.pub into $2/"
  echo "the bundle is signed by $FP, which is not pinned on this host. Check the fingerprint with the bundle's publisher, then pin it with --fingerprint $FP, or --pubkey KEY.pub$dir ($3)"
}
REQUIRED_KI="$(refusal kubeferry-install /etc/kubeferry/trusted.d "--require-pinned is set")"
run r_kf_verify "$KF" verify out.run --require-pinned
expect r_kf_verify 3 "" "kubeferry: error: verify out.run: $(refusal kubeferry "" "--require-pinned is set")$NL"
run r_kf_inspect "$KF" inspect out.run --require-pinned
expect r_kf_inspect 3 "" "kubeferry: error: inspect out.run: $(refusal kubeferry "" "--require-pinned is set")$NL"
run r_verify ./out.run verify --require-pinned
expect r_verify 3 "" "kubeferry-install: error: verify $WORK/out.run: $REQUIRED_KI$NL"
run r_list ./out.run list --require-pinned
expect r_list 3 "" "kubeferry-install: error: $REQUIRED_KI$NL"
run r_extract ./out.run extract --to x --require-pinned
expect r_extract 3 "" "kubeferry-install: error: extract $WORK/out.run: $REQUIRED_KI$NL"
run r_load ./out.run images load --runtime containerd --address fake.sock --require-pinned
expect r_load 3 "" "kubeferry-install: error: open bundle $WORK/out.run: $REQUIRED_KI$NL"
run r_push ./out.run images push --registry 127.0.0.1:1 --plain-http --require-pinned
expect r_push 3 "" "kubeferry-install: error: open bundle $WORK/out.run: $REQUIRED_KI$NL"
nothing_written require-pinned
# With a pin, --require-pinned is satisfied.
run r_pinned ./out.run verify --require-pinned --pubkey key.pub
expect r_pinned 0 "OK $WORK/out.run: demo, 2 entries, created 1970-01-01T00:00:01Z, signed by $FP (pinned)$NL" \
  "$(self_check_note "$WORK/out.run")$NL"

# A trusted folder that holds other keys: this host has said whom it trusts.
mkdir "$WORK/trusted"
cp "$WORK/other.pub" "$WORK/trusted/other.pub"
cp "$WORK/key" "$WORK/trusted/key.pub"  # a private key named .pub does not count
run t_extract ./out.run extract --to x --trusted-dir trusted
expect t_extract 3 "" \
  "kubeferry-install: error: extract $WORK/out.run: $(refusal kubeferry-install trusted "this host trusts only the keys in trusted/")$NL"
run t_push ./out.run images push --registry 127.0.0.1:1 --plain-http --trusted-dir trusted
expect t_push 3 "" \
  "kubeferry-install: error: open bundle $WORK/out.run: $(refusal kubeferry-install trusted "this host trusts only the keys in trusted/")$NL"
nothing_written trusted
# ... and a key in it pins the bundles it signed, with no warning.
cp "$WORK/key.pub" "$WORK/trusted/key.pub"
run t_verify ./out.run verify --trusted-dir trusted --require-pinned
expect t_verify 0 "OK $WORK/out.run: demo, 2 entries, created 1970-01-01T00:00:01Z, signed by $FP (pinned)$NL" \
  "$(self_check_note "$WORK/out.run")$NL"
run t_extract_ok ./out.run -q extract --to t_out --trusted-dir trusted
expect t_extract_ok 0 "" ""
# A pin that names another key still wins over the folder.
run t_other ./out.run verify --trusted-dir trusted --fingerprint "$OTHER_FP"
expect t_other 3 "" "kubeferry-install: error: verify $WORK/out.run: signer $FP is not the pinned key $OTHER_FP$NL"

echo "pinning: all checks passed"
