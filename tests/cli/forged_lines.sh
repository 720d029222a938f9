#!/usr/bin/env bash
# No forged lines (issue 12 item 3), through the real binaries:
#   - the writer refuses a bundle name or platform outside FORMAT.md 3.2 (pack: --name and
#     --platform, exit 2; build: the manifest's `bundle` field), writing nothing;
#   - a reader refuses a validly signed bundle whose index has such a name or platform (exit 3,
#     naming the field), extracting nothing;
#   - values from a bundle are printed escaped: list (paths, link targets), list --json, and
#     error messages built from entry paths.
set -euo pipefail

BIN="${KF_BIN_DIR:?}"
KF="$BIN/kubeferry"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
NL=$'\n'
ESC=$'\e'

mkdir -p "$WORK/src/etc"
printf 'key = value\n' >"$WORK/src/etc/conf"
"$KF" keygen --out "$WORK/key" >/dev/null 2>&1
FP="$(fingerprint_of "$WORK/key.pub")"
NAME_RULE="must be 1-128 bytes of ASCII letters, digits, '.', '-', '_' and '+', starting with a letter or digit"
PLATFORM_RULE="must be os/arch or os/arch/variant (at most 128 bytes), each part ASCII letters, digits, '.', '-', '_' or '+'"

# only_inputs: a refused pack or build wrote no bundle and no checksum files.
only_inputs() {
  local left
  left="$(find "$WORK" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort | grep -v -e '\.out$' -e '\.err$' -e '\.rc$' | tr '\n' ' ')"
  [[ "$left" == "key key.pub src " || "$left" == "bad.yaml key key.pub src " ]] || fail "$1 left: $left"
}

# --- the writer ---------------------------------------------------------------------------
run pack_nl "$KF" -q pack src --name $'demo\nOK demo: 1 entries' --key key -o x.run
expect pack_nl 2 "" "kubeferry: error: --name 'demo\\x0aOK demo: 1 entries' $NAME_RULE$NL"
run pack_esc "$KF" -q pack src --name "demo${ESC}[2J" --key key -o x.run
expect pack_esc 2 "" "kubeferry: error: --name 'demo\\x1b[2J' $NAME_RULE$NL"
run pack_long "$KF" -q pack src --name "$(printf 'n%.0s' {1..129})" --key key -o x.run
expect pack_long 2 "" "kubeferry: error: --name '$(printf 'n%.0s' {1..129})' $NAME_RULE$NL"
run pack_platform "$KF" -q pack src --name demo --platform 'linux amd64' --key key -o x.run
expect pack_platform 2 "" "kubeferry: error: --platform 'linux amd64' $PLATFORM_RULE$NL"
only_inputs pack
# 128 bytes is fine.
run pack_128 "$KF" -q pack src --name "$(printf 'n%.0s' {1..128})" --key key -o n128.run --epoch 1 --level 3
expect_rc pack_128 0
rm -f "$WORK/n128.run"*

# build: the manifest's `bundle` field.
cat >"$WORK/bad.yaml" <<YAML
bundle: "demo\\e[2J"
kubernetes_version: v1.20.11
epoch: 1
artifacts: []
YAML
run build_bad "$KF" -q build bad.yaml --key key -o x.run
expect build_bad 1 "" "kubeferry: error: build bad.yaml: manifest bad.yaml is invalid (2 problems):
bad.yaml:1:9: bundle 'demo\\x1b[2J' must match [A-Za-z0-9][A-Za-z0-9._-]* and be at most 128 bytes
bad.yaml:4:12: artifacts must list at least one artifact$NL"
only_inputs build
rm "$WORK/bad.yaml"

# --- the reader: a validly signed index with a forged name or platform ---------------------
(cd "$WORK" && "$KF" -q pack src --name demo --key key -o good.run --epoch 1 --level 3 >/dev/null)
# resign GOOD OUT FROM TO: OUT is GOOD with FROM replaced by TO in the index (JSON text),
# signed again with key, so only the reader's field rules can refuse it.
resign() {
  python3 - "$WORK/$1" "$WORK/$2" "$3" "$4" "$WORK/key" <<'PY'
import struct, subprocess, sys, tempfile
good, out, old, new, key = sys.argv[1:]
data = open(good, "rb").read()
payload_offset, payload_size, index_size = struct.unpack("<QQQ", data[-64:-40])
index_at = payload_offset + payload_size
index = data[index_at:index_at + index_size]
assert index.count(old.encode()) == 1, old
index = index.replace(old.encode(), new.encode())
pub = data[index_at + index_size:index_at + index_size + 32]
with tempfile.NamedTemporaryFile() as msg:
    msg.write(b"kubeferry bundle index v1\n" + index)
    msg.flush()
    sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", msg.name],
                         check=True, capture_output=True).stdout
trailer = struct.pack("<QQQ", payload_offset, payload_size, len(index)) + data[-40:]
open(out, "wb").write(data[:index_at] + index + pub + sig + trailer)
PY
  chmod +x "$WORK/$2"
}
resign good.run name.run '"name":"demo"' '"name":"demo\nOK demo, 1 entries, signed by SHA256:00 (pinned)"'
FORGED='"name" "demo\x0aOK demo, 1 entries, signed by SHA256:00 (pinned)"'
run r_verify "$KF" verify name.run --fingerprint "$FP"
expect r_verify 3 "" "kubeferry: error: verify name.run: index: $FORGED: $NAME_RULE$NL"
run r_iverify ./name.run verify --fingerprint "$FP"
expect r_iverify 3 "" "kubeferry-install: error: verify $WORK/name.run: index: $FORGED: $NAME_RULE$NL"
run r_extract ./name.run extract --to x --fingerprint "$FP"
expect r_extract 3 "" "kubeferry-install: error: extract $WORK/name.run: index: $FORGED: $NAME_RULE$NL"
[[ ! -e "$WORK/x" ]] || fail "a refused extract created x"
if compgen -G "$WORK/*.kubeferry-staging-*" >/dev/null; then fail "staging folder left: $(ls "$WORK")"; fi
resign good.run platform.run '"platform":"linux/amd64"' '"platform":"linux/\u001b[2Jamd64"'
run r_platform "$KF" verify platform.run --fingerprint "$FP"
expect r_platform 3 "" "kubeferry: error: verify platform.run: index: \"platform\" \"linux/\\x1b[2Jamd64\": $PLATFORM_RULE$NL"
run r_list ./platform.run list --fingerprint "$FP"
expect r_list 3 "" "kubeferry-install: error: index: \"platform\" \"linux/\\x1b[2Jamd64\": $PLATFORM_RULE$NL"

# --- values from a bundle are printed escaped ---------------------------------------------
# Any byte but NUL and '/' may name a file, so a bundle may hold these; they are shown escaped.
mkdir -p "$WORK/odd"
printf 'x' >"$WORK/odd/a${ESC}[2J"
printf 'y' >"$WORK/odd/b"$'\n''-rw-r--r--            1  forged'
ln -s "a${ESC}[2J" "$WORK/odd/l"
(cd "$WORK" && "$KF" -q pack odd --name odd --key key -o odd.run --epoch 1 --level 3 >/dev/null)
run odd_list ./odd.run list --fingerprint "$FP"
expect odd_list 0 "-rw-r--r--            1  a\\x1b[2J
-rw-r--r--            1  b\\x0a-rw-r--r--            1  forged
lrwxrwxrwx            0  l -> a\\x1b[2J
" ""
run odd_json ./odd.run list --json --fingerprint "$FP"
expect_rc odd_json 0
grep -qF '"path": "a\u001b[2J"' "$WORK/odd_json.out" || fail "list --json: $(cat "$WORK/odd_json.out")"
if grep -q "$ESC" "$WORK/odd_json.out" "$WORK/odd_list.out"; then fail "an ESC byte reached the output"; fi
# An error built from an entry path: a symlink that leaves the tree, refused by pack.
mkdir -p "$WORK/escape"
ln -s "../..${ESC}]0;owned"$'\a' "$WORK/escape/l"
run escape "$KF" -q pack escape --name escape --key key -o escape.run
expect escape 3 "" "kubeferry: error: pack escape.run: pack escape: entry l: symlink target '../..\\x1b]0;owned\\x07' leaves the bundle$NL"
[[ ! -e "$WORK/escape.run" ]] || fail "a refused pack wrote escape.run"

echo "forged_lines: all checks passed"
