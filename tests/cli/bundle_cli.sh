#!/usr/bin/env bash
# keygen / pack / verify on the builder and verify / list / extract on the installer, run as
# the real binaries: exact stdout and stderr, exit codes 0/1/2/3, the checksum files checked
# with sha256sum and openssl, a bare payload opened with --bundle, and --help.
set -euo pipefail

BIN="${KF_BIN_DIR:?}"
KF="$BIN/kubeferry"
KI="$BIN/kubeferry-install"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"

EPOCH=1631664000
NL=$'\n'

# The tree to bundle: modes on disk that the writer normalises (0700 -> 0755, 0600 -> 0644).
mkdir -p "$WORK/src/bin" "$WORK/src/etc" "$WORK/src/empty"
printf '#!/bin/sh\necho hi\n' >"$WORK/src/bin/tool"
chmod 0700 "$WORK/src/bin/tool"
printf 'key = value\n' >"$WORK/src/etc/conf"
chmod 0600 "$WORK/src/etc/conf"
: >"$WORK/src/etc/empty"
ln -s ../bin/tool "$WORK/src/etc/tool"

# --- keygen -------------------------------------------------------------------------------
run keygen "$KF" keygen --out key
FP="$(fingerprint_of "$WORK/key.pub")"
expect keygen 0 "$FP$NL" "kubeferry: wrote key (private, 0600) and key.pub$NL"
[[ "$(stat -c %a "$WORK/key")" == 600 ]] || fail "key mode $(stat -c %a "$WORK/key")"
[[ "$(stat -c %a "$WORK/key.pub")" == 644 ]] || fail "key.pub mode $(stat -c %a "$WORK/key.pub")"
head -1 "$WORK/key" | grep -qx -- '-----BEGIN PRIVATE KEY-----' || fail "key is not PKCS#8 PEM"
openssl pkey -in "$WORK/key" -noout -text | grep -q '^ED25519 Private-Key:' || fail "key is not Ed25519"

KEY_SUM="$(sha256_of "$WORK/key")"
run keygen_again "$KF" keygen --out key
expect keygen_again 1 "" "kubeferry: error: keygen: refusing to overwrite existing key$NL"
[[ "$(sha256_of "$WORK/key")" == "$KEY_SUM" ]] || fail "keygen overwrote the key"

run keygen_other "$KF" keygen --out other
OTHER_FP="$(fingerprint_of "$WORK/other.pub")"
expect_out keygen_other "$OTHER_FP$NL"

# --- pack ---------------------------------------------------------------------------------
run pack "$KF" -q pack src --name demo --key key -o out.run --epoch "$EPOCH" --level 3
expect pack 0 "$(sha256_of "$WORK/out.run")  out.run$NL" ""
[[ -x "$WORK/out.run" ]] || fail "out.run is not executable"
(cd "$WORK" && sha256sum -c out.run.sha256) >"$WORK/sha256sum.out" || fail "sha256sum -c failed"
[[ "$(cat "$WORK/sha256sum.out")" == "out.run: OK" ]] || fail "sha256sum said $(cat "$WORK/sha256sum.out")"
run pkeyutl openssl pkeyutl -verify -pubin -inkey key.pub -rawin -in out.run.sha256 -sigfile out.run.sha256.sig
expect pkeyutl 0 "Signature Verified Successfully$NL" ""
# The .sha256.sig does not verify under another key.
run pkeyutl_other openssl pkeyutl -verify -pubin -inkey other.pub -rawin -in out.run.sha256 -sigfile out.run.sha256.sig
[[ "$(cat "$WORK/pkeyutl_other.rc")" != 0 ]] || fail "the checksum signature verified under another key"

# Without -q, progress and a summary go to stderr; the bytes are the same (reproducible).
run pack_loud "$KF" pack src --name demo --key key -o again.run --epoch "$EPOCH" --level 3 --threads 1
expect_rc pack_loud 0
expect_out pack_loud "$(sha256_of "$WORK/out.run")  again.run$NL"
head -1 "$WORK/pack_loud.err" | grep -qx 'kubeferry: pack again.run: started' || fail "pack stderr: $(cat "$WORK/pack_loud.err")"
tail -1 "$WORK/pack_loud.err" | grep -qE "^kubeferry: 7 entries, [0-9.]+ MiB, signed by $FP\$" ||
  fail "pack stderr: $(cat "$WORK/pack_loud.err")"
cmp -s "$WORK/out.run" "$WORK/again.run" || fail "two packs of the same tree differ"

run pack_nodir "$KF" pack missing --name demo --key key -o x.run
expect_rc pack_nodir 2
[[ ! -e "$WORK/x.run" ]] || fail "a failed pack left x.run"

# --- verify (builder) ---------------------------------------------------------------------
WARN_KF="$(unpinned_warning kubeferry "$FP")$NL"
WARN_KI="$(unpinned_warning kubeferry-install "$FP" /etc/kubeferry/trusted.d)$NL"
run verify "$KF" verify out.run
expect verify 0 "OK out.run: demo, 7 entries, created 2021-09-15T00:00:00Z, signed by $FP (NOT pinned)$NL" "$WARN_KF"
run verify_pubkey "$KF" verify out.run --pubkey key.pub
expect verify_pubkey 0 "OK out.run: demo, 7 entries, created 2021-09-15T00:00:00Z, signed by $FP (pinned)$NL" ""
run verify_fp "$KF" verify out.run --fingerprint "$FP" --deep
expect verify_fp 0 "OK out.run: demo, 7 entries, created 2021-09-15T00:00:00Z, signed by $FP (pinned)$NL" ""
UPPER_FP="sha256:$(echo "${FP#SHA256:}" | tr a-f A-F)"
run verify_fp_upper "$KF" verify out.run --fingerprint "$UPPER_FP"
expect verify_fp_upper 0 "OK out.run: demo, 7 entries, created 2021-09-15T00:00:00Z, signed by $FP (pinned)$NL" ""

run pinned_other "$KF" verify out.run --pubkey other.pub
expect pinned_other 3 "" "kubeferry: error: verify out.run: signer $FP is not the pinned key $OTHER_FP$NL"
run pinned_other_fp "$KF" verify out.run --fingerprint "$OTHER_FP"
expect pinned_other_fp 3 "" "kubeferry: error: verify out.run: signer $FP is not the pinned key $OTHER_FP$NL"
run both "$KF" verify out.run --pubkey key.pub --fingerprint "$FP"
expect both 2 "" "kubeferry: error: give --pubkey or --fingerprint, not both$NL"
run bad_fp "$KF" verify out.run --fingerprint SHA256:abc
expect bad_fp 2 "" "kubeferry: error: --fingerprint 'SHA256:abc' must look like SHA256:<64 hex digits>, as kubeferry keygen and verify print it$NL"
run not_bundle "$KF" verify key.pub
expect not_bundle 3 "" \
  "kubeferry: error: verify key.pub: trailer: no kubeferry trailer at the end of the file (not a bundle, or truncated)$NL"

# --- the installer on its own payload (./out.run) ----------------------------------------
run iverify ./out.run verify
expect iverify 0 "OK $WORK/out.run: demo, 7 entries, created 2021-09-15T00:00:00Z, signed by $FP (NOT pinned)$NL" "$WARN_KI$(self_check_note "$WORK/out.run")$NL"
run iverify_pinned ./out.run verify --pubkey key.pub
expect iverify_pinned 0 "OK $WORK/out.run: demo, 7 entries, created 2021-09-15T00:00:00Z, signed by $FP (pinned)$NL" \
  "$(self_check_note "$WORK/out.run")$NL"
run iverify_other ./out.run verify --fingerprint "$OTHER_FP"
expect iverify_other 3 "" \
  "kubeferry-install: error: verify $WORK/out.run: signer $FP is not the pinned key $OTHER_FP$NL"
run iverify_both ./out.run verify --pubkey key.pub --fingerprint "$FP"
expect iverify_both 2 "" \
  "kubeferry-install: error: give --pubkey or --fingerprint, not both$NL"

LIST="$(printf '%s %12s  %s\n' \
  drwxr-xr-x 0 bin \
  -rwxr-xr-x 18 bin/tool \
  drwxr-xr-x 0 empty \
  drwxr-xr-x 0 etc \
  -rw-r--r-- 12 etc/conf \
  -rw-r--r-- 0 etc/empty \
  lrwxrwxrwx 0 'etc/tool -> ../bin/tool')$NL"
run ilist ./out.run list
expect ilist 0 "$LIST" "$WARN_KI"

run ilist_json ./out.run list --json
expect_rc ilist_json 0
python3 - "$WORK/ilist_json.out" "$KI" "$FP" "$EPOCH" <<'PY' || fail "list --json does not describe the bundle"
import hashlib, json, os, sys
index = json.load(open(sys.argv[1]))
installer = open(sys.argv[2], "rb").read()
assert index["format_version"] == 1, index["format_version"]
assert index["name"] == "demo" and index["platform"] == "linux/amd64"
assert index["signer"] == sys.argv[3], index["signer"]
assert index["created"] == int(sys.argv[4])
assert index["compression"] == {"algorithm": "zstd", "level": 3, "window_log": 27}, index["compression"]
assert index["installer"] == {"offset": 0, "size": len(installer), "sha256": hashlib.sha256(installer).hexdigest()}
assert index["payload"]["offset"] == len(installer)
paths = [(e["path"], e["type"], e["mode"]) for e in index["entries"]]
assert paths == [("bin", "directory", 0o755), ("bin/tool", "file", 0o755), ("empty", "directory", 0o755),
                 ("etc", "directory", 0o755), ("etc/conf", "file", 0o644), ("etc/empty", "file", 0o644),
                 ("etc/tool", "symlink", 0o777)], paths
conf = index["entries"][4]
assert conf["size"] == 12 and conf["sha256"] == hashlib.sha256(b"key = value\n").hexdigest()
assert index["entries"][6]["target"] == "../bin/tool"
PY

# extract: the tree comes back with normalised modes and every mtime = the epoch.
tree() { (cd "$1" && find . -mindepth 1 -printf '%y %m %T@ %p %l\n' | sort); }
WANT_TREE="d 755 $EPOCH.0000000000 ./bin 
d 755 $EPOCH.0000000000 ./empty 
d 755 $EPOCH.0000000000 ./etc 
f 644 $EPOCH.0000000000 ./etc/conf 
f 644 $EPOCH.0000000000 ./etc/empty 
f 755 $EPOCH.0000000000 ./bin/tool 
l 777 $EPOCH.0000000000 ./etc/tool ../bin/tool"
WANT_TREE="$(echo "$WANT_TREE" | sort)"
run iextract ./out.run -q extract --to "$WORK/out"
expect iextract 0 "" "$WARN_KI"
[[ "$(tree "$WORK/out")" == "$WANT_TREE" ]] || fail "extracted tree: $(tree "$WORK/out")"
diff -r --no-dereference "$WORK/src" "$WORK/out" || fail "extracted content differs"
[[ "$(stat -c %a "$WORK/out")" == 755 ]] || fail "target mode $(stat -c %a "$WORK/out")"

run iextract_loud ./out.run extract --to loud
expect_rc iextract_loud 0
tail -1 "$WORK/iextract_loud.err" | grep -qxF "kubeferry-install: extracted 7 entries to loud (signed by $FP)" ||
  fail "extract stderr: $(cat "$WORK/iextract_loud.err")"

# Into a folder that is not empty: refused, the folder untouched, no staging folder left.
mkdir "$WORK/full"
echo keep >"$WORK/full/keep"
run full ./out.run -q extract --to full --pubkey key.pub
expect full 1 "" "kubeferry-install: error: extract $WORK/out.run: full exists and is not empty$NL"
[[ "$(ls -A "$WORK/full")" == keep && "$(cat "$WORK/full/keep")" == keep ]] || fail "full/ was changed"
# An empty folder is fine.
mkdir "$WORK/empty-target"
run empty_target ./out.run -q extract --to empty-target --pubkey key.pub
expect empty_target 0 "" ""
[[ "$(tree "$WORK/empty-target")" == "$WANT_TREE" ]] || fail "extract into an empty folder"
compgen -G "$WORK/*.kubeferry-staging-*" >/dev/null && fail "a staging folder was left behind"

# --- bare payload + the bare installer ---------------------------------------------------
run bare "$KF" -q pack src --name demo --key key -o bare.bin --epoch "$EPOCH" --level 3 --bare
expect bare 0 "$(sha256_of "$WORK/bare.bin")  bare.bin$NL" ""
[[ "$(stat -c %s "$WORK/bare.bin")" -lt 100000 ]] || fail "bare.bin holds an installer"
run bverify "$KI" --bundle bare.bin verify --pubkey key.pub
expect bverify 0 "OK bare.bin: demo, 7 entries, created 2021-09-15T00:00:00Z, signed by $FP (pinned)$NL" ""
run blist "$KI" --bundle bare.bin list --fingerprint "$FP"
expect blist 0 "$LIST" ""
run bextract "$KI" -q --bundle bare.bin extract --to bout --fingerprint "$FP"
expect bextract 0 "" ""
[[ "$(tree "$WORK/bout")" == "$WANT_TREE" ]] || fail "bare extract: $(tree "$WORK/bout")"
run kverify_bare "$KF" verify bare.bin
expect kverify_bare 0 "OK bare.bin: demo, 7 entries, created 2021-09-15T00:00:00Z, signed by $FP (NOT pinned)$NL" "$WARN_KF"
# The payload bytes are the same in the .run and the bare file.
PAYLOAD_SIZE="$(od -An -tu8 -j $(($(stat -c %s "$WORK/bare.bin") - 56)) -N8 "$WORK/bare.bin" | tr -d ' ')"
INSTALLER_SIZE="$(stat -c %s "$KI")"
cmp -s <(head -c "$PAYLOAD_SIZE" "$WORK/bare.bin") \
  <(tail -c +$((INSTALLER_SIZE + 1)) "$WORK/out.run" | head -c "$PAYLOAD_SIZE") || fail "payloads differ"

# The installer alone carries no bundle.
run nobundle "$KI" list
expect nobundle 2 "" \
  "kubeferry-install: error: this kubeferry-install carries no bundle; run a .run file, or pass --bundle FILE$NL"

# --- --help lists the exit codes ----------------------------------------------------------
CODES="Exit codes: 0 ok, 1 failure, 2 usage, 3 verification failed, 130 interrupted."
run help_kf "$KF" --help
expect_rc help_kf 0
grep -qxF "$CODES" "$WORK/help_kf.out" || fail "kubeferry --help lacks the exit codes"
run help_ki "$KI" --help
expect_rc help_ki 0
grep -qxF "$CODES" "$WORK/help_ki.out" || fail "kubeferry-install --help lacks the exit codes"
run help_run ./out.run --help
grep -qxF "$CODES" "$WORK/help_run.out" || fail "./out.run --help lacks the exit codes"
run usage "$KF" verify
expect_rc usage 2

echo "bundle_cli: all checks passed"
