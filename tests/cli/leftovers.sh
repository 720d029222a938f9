#!/usr/bin/env bash
# Nothing left behind after kill -9 or SIGHUP (issue 12 item 5), through the real binaries:
#   - extract and pki init name their temporary folders TARGET.kubeferry-staging-<pid>-XXXXXX and
#     .NAME.pki-<pid>-XXXXXX; a later run removes those whose process is gone (a killed run's,
#     private keys included), and nothing else: not a live process's, not another target's, not
#     a symlink, not a look-alike name;
#   - SIGHUP is handled like SIGTERM: exit 130, the temporary folder removed.
set -euo pipefail

BIN="${KF_BIN_DIR:?}"
KF="$BIN/kubeferry"
KI="$BIN/kubeferry-install"
SRC="${KF_SOURCE_DIR:?}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
cd "$WORK"

# A process id that is certainly gone: a child that has exited and been reaped.
sh -c 'exit 0' &
DEAD=$!
wait "$DEAD"
kill -0 "$DEAD" 2>/dev/null && fail "pid $DEAD is still alive"
LIVE=$$

mkdir -p src/etc keep
printf 'key = value\n' >src/etc/conf
"$KF" keygen --out key >/dev/null 2>&1
FP="$(fingerprint_of key.pub)"
"$KF" -q pack src --name demo --key key -o b.run --epoch 1 --level 3 >/dev/null

# --- extract ------------------------------------------------------------------------------
mkdir "out.kubeferry-staging-$DEAD-aB3dEf"
printf 'half-written\n' >"out.kubeferry-staging-$DEAD-aB3dEf/partial"
mkdir "out.kubeferry-staging-$LIVE-xYz123"             # a running process's: kept
mkdir "other.kubeferry-staging-$DEAD-aB3dEf"           # another target's: kept
mkdir "out.kubeferry-staging-notes"                    # not a staging name: kept
printf 'precious\n' >keep/file
ln -s keep "out.kubeferry-staging-$DEAD-sYmLnk"        # a symlink: kept, and keep/ untouched
run extract ./b.run -q extract --to out --fingerprint "$FP"
expect extract 0 "" ""
[[ "$(cat out/etc/conf)" == "key = value" ]] || fail "extract did not extract"
left="$(printf '%s\n' ./*.kubeferry-staging-* | sort | tr '\n' ' ')"
want="$(printf '%s\n' "./other.kubeferry-staging-$DEAD-aB3dEf" "./out.kubeferry-staging-$DEAD-sYmLnk" \
  "./out.kubeferry-staging-$LIVE-xYz123" ./out.kubeferry-staging-notes | sort | tr '\n' ' ')"
[[ "$left" == "$want" ]] || fail "after extract: $left"
[[ "$(cat keep/file)" == precious ]] || fail "extract followed the symlink"
rm -r ./*.kubeferry-staging-*

# A real kill -9 in the middle of an extract: its staging folder stays, and the next extract
# of that target removes it. (On a fast machine the extract may finish first; then only the
# second half is checked.)
head -c 40000000 /dev/urandom >src/big
"$KF" -q pack src --name demo --key key -o big.run --epoch 1 --level 1 >/dev/null
./big.run -q extract --to killed --fingerprint "$FP" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do compgen -G "killed.kubeferry-staging-$pid-*" >/dev/null && break; sleep 0.01; done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
rm -rf killed
run after_kill ./big.run -q extract --to killed --fingerprint "$FP"
expect after_kill 0 "" ""
cmp -s src/big killed/big || fail "the extract after kill -9 differs"
if compgen -G "killed.kubeferry-staging-*" >/dev/null; then fail "left after kill -9 and a new extract: $(ls -d killed.*)"; fi

# SIGHUP during an extract: handled like SIGTERM (exit 130), nothing left.
./big.run -q extract --to hup --fingerprint "$FP" >hup.out 2>hup.err &
pid=$!
for _ in $(seq 100); do compgen -G "hup.kubeferry-staging-$pid-*" >/dev/null && break; sleep 0.01; done
kill -HUP "$pid"
rc=0
wait "$pid" || rc=$?
if [[ $rc == 0 ]]; then
  echo "leftovers: the extract finished before SIGHUP arrived; SIGHUP checked with pki init only"
else
  [[ $rc == 130 ]] || fail "extract after SIGHUP exited $rc: $(cat hup.err)"
  [[ "$(cat hup.err)" == "kubeferry-install: error: extract $WORK/big.run: interrupted" ]] || fail "hup: $(cat hup.err)"
  [[ ! -e hup ]] || fail "an interrupted extract left hup"
  if compgen -G "hup.kubeferry-staging-*" >/dev/null; then fail "SIGHUP left a staging folder"; fi
fi

# --- pki init -----------------------------------------------------------------------------
mkdir pkitest && cd pkitest
mkdir ".pki.pki-$DEAD-aB3dEf" ".pki.pki-$LIVE-aB3dEf" ".other.pki-$DEAD-aB3dEf"
printf 'PRIVATE KEY\n' >".pki.pki-$DEAD-aB3dEf/ca-key.pem"
run pki_init "$KI" pki init --inventory "$SRC/installer/cluster.example.yaml" --out "$WORK/pkitest/pki"
expect_rc pki_init 0
[[ -f pki/etcd/ca.pem ]] || fail "pki init wrote no CA"
left="$(find . -mindepth 1 -maxdepth 1 -printf '%f\n' | grep -v -e '\.out$' -e '\.err$' -e '\.rc$' | sort | tr '\n' ' ')"
want="$(printf '%s\n' ".other.pki-$DEAD-aB3dEf" ".pki.pki-$LIVE-aB3dEf" pki | sort | tr '\n' ' ')"
[[ "$left" == "$want" ]] || fail "after pki init: $left"
rm -r ".pki.pki-$LIVE-aB3dEf" ".other.pki-$DEAD-aB3dEf" pki
# SIGHUP during key generation (RSA 4096 takes seconds): exit 130, no temporary with keys left.
sed 's/key_bits: 2048/key_bits: 4096/' "$SRC/installer/cluster.example.yaml" >slow.yaml
"$KI" pki init --inventory slow.yaml --out pki >hup.out 2>hup.err &
pid=$!
sleep 0.5
kill -HUP "$pid"
rc=0
wait "$pid" || rc=$?
[[ $rc == 130 ]] || fail "pki init after SIGHUP exited $rc: $(cat hup.err)"
[[ "$(cat hup.err)" =~ ^kubeferry-install:\ error:\ pki\ init:\ (etcd|Kubernetes)\ PKI:\ interrupted$ ]] ||
  fail "pki init after SIGHUP: $(cat hup.err)"
left="$(find . -mindepth 1 -maxdepth 1 -printf '%f\n' | grep -v -e '\.out$' -e '\.err$' -e '\.rc$' | sort | tr '\n' ' ')"
[[ "$left" == "slow.yaml " ]] || fail "left after SIGHUP: $left"

echo "leftovers: all checks passed"
