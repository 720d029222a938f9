# Helpers for every test script (tests/cli, tests/integration, tests/e2e). Sourced, not a test
# itself (CTest runs the folders' *.sh only):
#   source "$(dirname "$0")/../lib/common.bash"
#
# Failing and skipping
#   fail MESSAGE...          prints "FAIL: MESSAGE" on stderr, runs the script's on_fail
#                            function if it has one (to show its logs), exits 1
#   skip MESSAGE...          prints "SKIP: MESSAGE", exits 77 (CTest's skipped)
#   need_tools TOOL...       skips unless every TOOL is in PATH
#   expect_eq WHAT EXPECTED ACTUAL
#                            fails with "WHAT: expected [EXPECTED], got [ACTUAL]" unless equal
#   expect_file FILE TEXT    fails unless FILE holds TEXT (one trailing newline is ignored),
#                            showing the diff
# A command, its exit code and its exact output (needs $WORK, a scratch folder)
#   run NAME CMD ARGS...     runs CMD in $WORK, keeping $WORK/NAME.out, NAME.err and NAME.rc
#   expect NAME RC OUT ERR   compares exit code, stdout and stderr exactly
#   expect_rc NAME RC        compares the exit code only
#   expect_out NAME OUT      compares stdout exactly
#   expect_err NAME ERR      compares stderr exactly
# Bundles and keys
#   flip_byte FILE OFFSET    XORs one byte of FILE with 0x01, in place
#   fingerprint_of KEY.pub   SHA256:<hex> of the DER SubjectPublicKeyInfo, computed by openssl
#   sha256_of FILE           the file's SHA-256, hex, computed by sha256sum
#   unpinned_warning PROG FP [DIR]  the NOT pinned warning PROG prints, without its newline
#                            (DIR: the trusted.d folder it names)
#   self_check_note FILE     the note ./FILE verify prints after its OK line, without its newline
# The loopback rig (scripts/rig/, see scripts/rig/README.md)
#   mirror_up MIRROR RIG     builds the upstream-shaped mirror tree MIRROR once (under
#                            MIRROR.lock: tests share it), starts nginx on it with its state in
#                            RIG and sources RIG/env (MIRROR_URL, PROXY_URL, ACCESS_LOG); the
#                            caller's RIG_* settings (RIG_SLOW_RATE=...) pass through
#   mirror_down RIG          stops that nginx (quietly; for cleanup traps)
#   registry_up RIG          starts the four docker-registry instances (scripts/rig/registry.sh)
#                            and sources RIG/env (REG_PLAIN, ..., DIGEST_*)
#   registry_down RIG        stops them (quietly; for cleanup traps)
# Manifests written from the rig
#   mirror_sum PATH [sha256|sha512]
#                            the mirror's checksum of PATH (MIRROR/checksums.tsv, $MIRROR set
#                            by mirror_up); fails if the mirror has no such file
#   mirror_artifact NAME VERSION KIND PATH [ALGORITHM] [NOTE]
#                            the first lines of a manifest artifact fetched from the mirror:
#                            name, version, kind, url https://PATH, checksum ALGORITHM:<the
#                            mirror's> (sha256 by default), source (with NOTE in parentheses)
#   images_manifest FILE BUNDLE HOST [NAME=REPO:TAG@DIGEST]...
#                            writes a manifest holding busybox-static as its one artifact (only
#                            validated by `images fetch`, never downloaded) and the images
#                            HOST/REPO:TAG@DIGEST (registry_up's) under their NAMEs

KF_TESTS_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KF_RIG_DIR="$(cd "$KF_TESTS_LIB/../../scripts/rig" && pwd)"

fail() {
  echo "FAIL: $*" >&2
  if declare -F on_fail >/dev/null; then on_fail || true; fi
  exit 1
}

skip() { echo "SKIP: $*"; exit 77; }

need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/setup.sh installs it)"
  done
}

expect_eq() {  # expect_eq WHAT EXPECTED ACTUAL
  [[ "$2" == "$3" ]] || fail "$1: expected [$2], got [$3]"
}

expect_file() {  # expect_file FILE EXPECTED-TEXT
  [[ "$(cat "$1")" == "$2" ]] || { diff <(echo "$2") "$1" >&2 || true; fail "$1 differs"; }
}

run() {
  local name="$1"; shift
  set +e
  (cd "${WORK:?}" && "$@" >"$WORK/$name.out" 2>"$WORK/$name.err")
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
  # shellcheck disable=SC2059  # the format is the escape of the one byte to write
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

self_check_note() {
  printf 'kubeferry-install: note: this check ran the very file it checked, so it proves nothing if that file was tampered with. Check it independently: openssl pkeyutl -verify -pubin -inkey KEY.pub -rawin -in %s.sha256 -sigfile %s.sha256.sig, then sha256sum -c %s.sha256 (in its folder); or with a kubeferry-install you trust: kubeferry-install --bundle %s verify --pubkey KEY.pub' \
    "$1" "$1" "$1" "$1"
}

mirror_up() {
  MIRROR="$1"
  mkdir -p "$(dirname "$1")"
  flock "$1.lock" bash "$KF_RIG_DIR/mirror.sh" build "$1" >/dev/null
  bash "$KF_RIG_DIR/mirror.sh" start "$1" "$2" >/dev/null
  # shellcheck source=/dev/null  # written by mirror.sh start
  source "$2/env"
}

mirror_down() { bash "$KF_RIG_DIR/mirror.sh" stop "$1" >/dev/null 2>&1 || true; }

registry_up() {
  bash "$KF_RIG_DIR/registry.sh" start "$1" >/dev/null
  # shellcheck source=/dev/null  # written by registry.sh start
  source "$1/env"
}

registry_down() { bash "$KF_RIG_DIR/registry.sh" stop "$1" >/dev/null 2>&1 || true; }

mirror_sum() {
  local column=3 sum
  [[ "${2:-sha256}" == sha512 ]] && column=4
  sum="$(awk -v p="$1" -v c="$column" '$1 == p {print $c}' "${MIRROR:?}/checksums.tsv")"
  [[ -n "$sum" ]] || fail "the mirror $MIRROR has no $1 (checksums.tsv)"
  echo "$sum"
}

mirror_artifact() {
  local name="$1" version="$2" kind="$3" path="$4" algorithm="${5:-sha256}" note="${6:-}" sum
  sum="$(mirror_sum "$path" "$algorithm")" || exit 1
  printf '  - name: %s\n    version: %s\n    kind: %s\n    url: https://%s\n    checksum: %s:%s\n    source: %s\n' \
    "$name" "$version" "$kind" "$path" "$algorithm" "$sum" "the test mirror's checksums.tsv${note:+ ($note)}"
}

images_manifest() {
  local file="$1" bundle="$2" host="$3" spec busybox_sha
  shift 3
  busybox_sha="$(sha256_of /usr/bin/busybox)"
  {
    echo "bundle: $bundle"
    echo "kubernetes_version: v1.20.11"
    echo "epoch: 1600000000"
    echo "artifacts:"
    echo "  - {name: busybox-bin, version: '1.35', kind: file, url: 'http://127.0.0.1/busybox',"
    echo "     checksum: 'sha256:$busybox_sha', source: test, to: bin/busybox, mode: 0755}"
    echo "images:"
    for spec in "$@"; do
      echo "  - {name: ${spec%%=*}, ref: '$host/${spec#*=}', source: test}"
    done
  } >"$file"
}
