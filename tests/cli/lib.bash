# Helpers for the tests/cli/*.sh scripts (sourced, not a test itself: CTest runs *.sh only).
#   run NAME CMD ARGS...     runs CMD in $WORK, keeping NAME.out, NAME.err and NAME.rc
#   expect NAME RC OUT ERR   compares exit code, stdout and stderr exactly
#   expect_rc NAME RC        compares the exit code only
#   expect_out NAME OUT      compares stdout exactly
#   expect_err NAME ERR      compares stderr exactly
#   flip_byte FILE OFFSET    XORs one byte of FILE with 0x01, in place
#   fingerprint_of KEY.pub   SHA256:<hex> of the DER SubjectPublicKeyInfo, computed by openssl
#   self_check_note LABEL    the note ./X.run verify prints on success, without its newline
#   unpinned_warning PROG FP [DIR]  the NOT pinned warning PROG prints, without its newline
#                            (DIR: the trusted.d folder it names)
# Needs $WORK (a scratch folder) set by the script.

fail() { echo "FAIL: $*" >&2; exit 1; }

run() {
  local name="$1"; shift
  set +e
  (cd "$WORK" && "$@" >"$WORK/$name.out" 2>"$WORK/$name.err")
  echo $? >"$WORK/$name.rc"
  set -e
}

expect_rc() {
  local got
  got="$(cat "$WORK/$1.rc")"
  [[ "$got" == "$2" ]] || fail "$1: exit $got, want $2; stderr: $(cat "$WORK/$1.err")"
}

expect_out() {
  diff -u <(printf '%s' "$2") "$WORK/$1.out" || fail "$1: stdout differs"
}

expect_err() {
  diff -u <(printf '%s' "$2") "$WORK/$1.err" || fail "$1: stderr differs"
}

expect() {
  expect_rc "$1" "$2"
  expect_out "$1" "$3"
  expect_err "$1" "$4"
}

flip_byte() {
  local file="$1" offset="$2" byte
  byte=$(od -An -tu1 -j "$offset" -N1 "$file" | tr -d ' ')
  printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$file" bs=1 seek="$offset" conv=notrunc status=none
}

fingerprint_of() {
  echo "SHA256:$(openssl pkey -pubin -in "$1" -outform DER | sha256sum | cut -d' ' -f1)"
}

sha256_of() {
  sha256sum "$1" | cut -d' ' -f1
}

unpinned_warning() {
  local trusted=""
  [[ -n "${3:-}" ]] && trusted=", or copy KEY.pub into $3/"
  printf '%s: warning: the bundle'"'"'s signer %s is NOT pinned: any valid signature was accepted. Check the fingerprint with the bundle'"'"'s publisher, then pin it with --fingerprint %s or --pubkey KEY.pub%s (--require-pinned refuses unpinned bundles)' \
    "$1" "$2" "$2" "$trusted"
}

# self_check_note LABEL: the note ./X.run verify prints after its OK line (LABEL: the file),
# without its newline.
self_check_note() {
  printf 'kubeferry-install: note: this check ran the very file it checked, so it proves nothing if that file was tampered with. Check it independently: openssl pkeyutl -verify -pubin -inkey KEY.pub -rawin -in %s.sha256 -sigfile %s.sha256.sig, then sha256sum -c %s.sha256 (in its folder); or with a kubeferry-install you trust: kubeferry-install --bundle %s verify --pubkey KEY.pub' \
    "$1" "$1" "$1" "$1"
}
