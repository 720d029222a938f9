#!/usr/bin/env bash
# `kubeferry fetch` against the loopback nginx mirror (scripts/rig/mirror.sh): SIGINT in the
# middle of a throttled download exits 130 and keeps the partial file, the next run resumes it
# with a Range request for exactly the missing bytes, a third run is a cache hit that sends no
# request; 404 exits 1 and a wrong checksum exits 3, each with its exact message.
set -euo pipefail
: "${KF_BIN_DIR:?}" "${KF_SOURCE_DIR:?}"
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
need_tools nginx
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY

KF="$KF_BIN_DIR/kubeferry"
WORK="$(mktemp -d)"
cleanup() { mirror_down "$WORK/rig"; rm -rf "$WORK"; }
trap cleanup EXIT

mirror_up "$KF_BIN_DIR/../rig/mirror" "$WORK/rig"
read -r _ SIZE SHA256 _ < <(grep '^test/blob.bin ' "$MIRROR/checksums.tsv")
CACHE="$WORK/cache"
PARTIAL="$CACHE/partial/sha256-$SHA256"
log_count() { wc -l <"$ACCESS_LOG"; }

# 1. SIGINT while the throttled (64 KiB/s) download runs.
"$KF" fetch --cache "$CACHE" "$MIRROR_URL/slow/test/blob.bin#sha256:$SHA256" \
  >"$WORK/out1" 2>"$WORK/err1" &
pid=$!
for _ in $(seq 100); do [[ -s "$PARTIAL" ]] && break; sleep 0.05; done
sleep 0.3
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[[ $rc == 130 ]] || fail "SIGINT: exit $rc, want 130; stderr: $(cat "$WORK/err1")"
grep -qxF "kubeferry: error: interrupted: stopped 1 download; partial files are kept in $CACHE/partial and the next run resumes them" "$WORK/err1" \
  || fail "SIGINT message: $(cat "$WORK/err1")"
KEPT="$(stat -c %s "$PARTIAL")"
(( KEPT > 0 && KEPT < SIZE )) || fail "partial file has $KEPT bytes"
[[ -z "$(ls "$CACHE/sha256")" ]] || fail "an interrupted download reached the cache"
[[ ! -s "$WORK/out1" ]] || fail "stdout after SIGINT: $(cat "$WORK/out1")"

# 2. The next run resumes: nginx logs one 206 with exactly the missing bytes.
sleep 0.2
before="$(log_count)"
"$KF" fetch --cache "$CACHE" "$MIRROR_URL/test/blob.bin#sha256:$SHA256" >"$WORK/out2" 2>"$WORK/err2" \
  || fail "resume run failed: $(cat "$WORK/err2")"
[[ "$(cat "$WORK/out2")" == "blob.bin $SIZE sha256:$SHA256 $CACHE/sha256/$SHA256 $MIRROR_URL/test/blob.bin" ]] \
  || fail "resume stdout: $(cat "$WORK/out2")"
grep -qxF "kubeferry: blob.bin: started (4.0 MiB), resuming at $(awk -v k="$KEPT" 'BEGIN{ if (k < 1024) printf "%d B", k; else if (k < 1048576) printf "%.1f KiB", k/1024; else printf "%.1f MiB", k/1048576 }')" "$WORK/err2" \
  || fail "resume progress: $(cat "$WORK/err2")"
sleep 0.2
tail -n +"$((before + 1))" "$ACCESS_LOG" >"$WORK/log2"
[[ "$(cat "$WORK/log2")" == "GET /test/blob.bin 206 $((SIZE - KEPT)) \"bytes=$KEPT-\"" ]] \
  || fail "resume request: $(cat "$WORK/log2")"
[[ ! -e "$PARTIAL" ]] || fail "partial file left after success"

# 3. Warm cache: nothing reaches nginx.
before="$(log_count)"
"$KF" fetch --cache "$CACHE" "$MIRROR_URL/test/blob.bin#sha256:$SHA256" >"$WORK/out3" 2>"$WORK/err3"
[[ "$(cat "$WORK/err3")" == "kubeferry: blob.bin: cached" ]] || fail "warm stderr: $(cat "$WORK/err3")"
sleep 0.2
[[ "$(log_count)" == "$before" ]] || fail "a warm run sent a request"

# 4. 404: exit 1, artifact and URL named.
rc=0; "$KF" fetch --cache "$CACHE" "$MIRROR_URL/test/missing.bin#sha256:$(printf a%.0s {1..64})" \
  >/dev/null 2>"$WORK/err4" || rc=$?
[[ $rc == 1 ]] || fail "404: exit $rc"
[[ "$(tail -1 "$WORK/err4")" == "kubeferry: error: artifact 'missing.bin': GET $MIRROR_URL/test/missing.bin: HTTP 404 Not Found" ]] \
  || fail "404 message: $(cat "$WORK/err4")"

# 5. Wrong checksum: exit 3, nothing kept.
WRONG="$(printf 'not the file' | sha256sum | cut -d' ' -f1)"
read -r _ _ SMALL256 _ < <(grep '^test/small.txt ' "$MIRROR/checksums.tsv")
rc=0; "$KF" fetch --cache "$CACHE" "$MIRROR_URL/test/small.txt#sha256:$WRONG" >/dev/null 2>"$WORK/err5" || rc=$?
[[ $rc == 3 ]] || fail "mismatch: exit $rc"
[[ "$(tail -1 "$WORK/err5")" == "kubeferry: error: artifact 'small.txt': checksum mismatch for $MIRROR_URL/test/small.txt: expected sha256:$WRONG, got sha256:$SMALL256; the downloaded bytes were deleted" ]] \
  || fail "mismatch message: $(cat "$WORK/err5")"
[[ ! -e "$CACHE/sha256/$WRONG" && -z "$(ls "$CACHE/partial")" ]] || fail "bad bytes were kept"

# 6. A malformed --mirror is a usage error (exit 2).
rc=0; "$KF" fetch --cache "$CACHE" --mirror nonsense "$MIRROR_URL/x#sha256:$WRONG" >/dev/null 2>"$WORK/err6" || rc=$?
[[ $rc == 2 ]] || fail "--mirror nonsense: exit $rc"
[[ "$(cat "$WORK/err6")" == "kubeferry: error: --mirror 'nonsense' must look like FROM=TO (URL prefixes)" ]] \
  || fail "--mirror message: $(cat "$WORK/err6")"
echo "fetch_cli: OK"
