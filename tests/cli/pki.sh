#!/usr/bin/env bash
# kubeferry-install pki init / renew / expiry from the outside: exit codes, exact stderr, nothing
# written on bad input, nothing secret on stdout; renewed certificates checked with openssl.
set -euo pipefail
BIN="${KF_BIN_DIR:?}/kubeferry-install"
SRC="${KF_SOURCE_DIR:?}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
cd "$WORK"

# An invalid inventory: every problem, each line prefixed, exit 2, no folder made.
cat > bad.yaml <<'YAML'
cluster_name: kubernetes
service_cidr: 10.0.0.0/24
pod_cidr: 10.0.0.0/16
dns_ip: 10.0.0.1
hosts:
  - name: master01
    address: 192.168.80.21
    roles: [master, etcd, boss]
  - name: node01
    address: 192.168.80.21
    roles: [node, etcd]
YAML
run init_invalid "$BIN" pki init --inventory bad.yaml --out pki
expect_rc init_invalid 2
expect_file init_invalid.err 'kubeferry-install: bad.yaml:5:1: warning: 2 etcd members: an even count survives no more failures than one member fewer; use 1, 3 or 5
kubeferry-install: error: bad.yaml:3:11: pod_cidr 10.0.0.0/16 overlaps service_cidr 10.0.0.0/24
kubeferry-install: error: bad.yaml:4:9: dns_ip 10.0.0.1 cannot be used: it is the kubernetes API service IP
kubeferry-install: error: bad.yaml:8:27: host "master01": unknown role "boss" (expected etcd, master or node)
kubeferry-install: error: bad.yaml:10:14: host "node01": address 192.168.80.21 is already used by host "master01"'
expect_file init_invalid.out ''
[[ ! -e pki ]] || fail "pki folder created for a bad inventory"
if find . -mindepth 1 -maxdepth 1 -printf '%f\n' | grep -q -v -e bad.yaml -e init_invalid.out -e init_invalid.err -e init_invalid.rc; then
  fail "left files: $(ls -A)"
fi

# Usage errors.
run init_no_out "$BIN" pki init --inventory bad.yaml
expect_rc init_no_out 2
expect_file init_no_out.err $'--out is required\nRun with --help for more information.'
run init_missing "$BIN" pki init --inventory missing.yaml --out pki
expect_rc init_missing 2
expect_file init_missing.err $'--inventory: File does not exist: missing.yaml\nRun with --help for more information.'

# A good run: names only on stdout.
run init "$BIN" pki init --inventory "$SRC/installer/cluster.example.yaml" --out pki
expect_rc init 0
expect_file init.out 'wrote the PKI of cluster kubernetes to pki
  kit pki/hosts/master01: 18 files
  kit pki/hosts/node01: 7 files
  kit pki/hosts/node02: 7 files'
expect_file init.err ''
[[ "$(stat -c %a pki pki/kubernetes/ca-key.pem pki/kubernetes/token.csv pki/kubernetes/ca.pem)" == $'700\n600\n600\n644' ]] \
  || fail "modes: $(stat -c '%a %n' pki pki/kubernetes/ca-key.pem pki/kubernetes/token.csv pki/kubernetes/ca.pem)"

# expiry: a table, soonest first; the kit of node02 holds exactly four certificates.
run expiry "$BIN" pki expiry --dir pki/hosts/node02
expect_rc expiry 0
[[ "$(head -1 expiry.out)" == "NOT AFTER (UTC)       DAYS LEFT  FILE                       SUBJECT" ]] || fail "header: $(head -1 expiry.out)"
[[ "$(tail -n +2 expiry.out | awk '{print $4, $5}' | sort)" == $'etcd/ca.pem CN=etcd-ca,O=kubeferry\netcd/server.pem CN=etcd\nkubernetes/ca.pem CN=kubernetes-ca,O=kubeferry\nkubernetes/kube-proxy.pem CN=system:kube-proxy' ]] \
  || fail "expiry rows: $(cat expiry.out)"
# --fail-within DAYS: the same listing, then exit 1 if a certificate has fewer days left (cron).
run expiry_within30 "$BIN" pki expiry --dir pki/hosts/node02 --fail-within 30
expect_rc expiry_within30 0
expect_file expiry_within30.err ''
cp expiry_within30.out listing.txt
run expiry_within_all "$BIN" pki expiry --dir pki/hosts/node02 --fail-within 36500
expect_rc expiry_within_all 1
cmp -s expiry_within_all.out listing.txt || fail "--fail-within changed the listing: $(cat expiry_within_all.out)"
read -r date _ days file subject_rest < <(sed -n 2p expiry_within_all.out)
expect_file expiry_within_all.err "kubeferry-install: error: 4 of 4 certificates expire within 36500 days; the soonest: $file ($subject_rest) on $date, $days days left; make new ones with \`pki renew\`"
run expiry_negative "$BIN" pki expiry --dir pki/hosts/node02 --fail-within -1
expect_rc expiry_negative 2
mkdir empty
run expiry_empty "$BIN" pki expiry --dir empty
expect_rc expiry_empty 1
expect_file expiry_empty.err 'kubeferry-install: error: no certificate (*.pem, *.crt) under empty'
# renew: new leaves from the same CAs into a new folder; openssl, not our code, checks the chain.
run renew "$BIN" pki renew --inventory "$SRC/installer/cluster.example.yaml" --pki pki --out renewed
expect_rc renew 0
expect_file renew.out 'renewed the certificates of cluster kubernetes from pki into renewed (same CAs, service-account keys and bootstrap token)
  kit renewed/hosts/master01: 18 files
  kit renewed/hosts/node01: 7 files
  kit renewed/hosts/node02: 7 files
next: install each host again with --pki renewed/hosts/NAME; services restart with their new certificates'
expect_file renew.err ''
for f in etcd/ca.pem etcd/ca-key.pem kubernetes/ca.pem kubernetes/ca-key.pem kubernetes/sa.key kubernetes/token.csv; do
  cmp -s "pki/$f" "renewed/$f" || fail "renew changed $f"
done
for f in etcd/server.pem etcd/apiserver-etcd-client.pem kubernetes/apiserver.pem kubernetes/admin.pem kubernetes/kube-proxy.pem; do
  ca=pki/kubernetes/ca.pem; [[ $f == etcd/* ]] && ca=pki/etcd/ca.pem
  openssl verify -CAfile "$ca" "renewed/$f" >/dev/null || fail "openssl does not trust renewed/$f"
  [[ "$(openssl x509 -noout -serial -in "pki/$f")" != "$(openssl x509 -noout -serial -in "renewed/$f")" ]] || fail "$f not reissued"
  [[ "$(openssl x509 -noout -subject -in "pki/$f")" == "$(openssl x509 -noout -subject -in "renewed/$f")" ]] || fail "$f subject changed"
done
cmp -s pki/hosts/node01/kubernetes/kube-proxy.pem renewed/hosts/node01/kubernetes/kube-proxy.pem && fail "node01's kit not renewed"
# From a host's kit (no CA key): refused by name, nothing made.
run renew_from_kit "$BIN" pki renew --inventory "$SRC/installer/cluster.example.yaml" --pki pki/hosts/node01 --out from-kit
expect_rc renew_from_kit 2
expect_file renew_from_kit.err 'kubeferry-install: error: pki renew: PKI pki/hosts/node01: missing etcd/ca-key.pem (pass the folder pki init wrote, not a host'"'"'s kit)'
[[ ! -e from-kit ]] || fail "a failed renew left from-kit"

# Ctrl-C during key generation (RSA 4096 takes seconds): exit 130, nothing left behind.
mkdir sig && cd sig
sed 's/key_bits: 2048/key_bits: 4096/' "$SRC/installer/cluster.example.yaml" > slow.yaml
"$BIN" pki init --inventory slow.yaml --out pki >out.txt 2>err.txt &
pid=$!
sleep 0.5
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[[ $rc == 130 ]] || fail "interrupted pki init exited $rc: $(cat err.txt)"
# Which PKI it was making depends on the machine's speed.
[[ "$(cat err.txt)" =~ ^kubeferry-install:\ error:\ pki\ init:\ (etcd|Kubernetes)\ PKI:\ interrupted$ ]] \
  || fail "interrupt message: $(cat err.txt)"
[[ "$(ls -A)" == $'err.txt\nout.txt\nslow.yaml' ]] || fail "left behind: $(ls -A)"
cd ..
echo "cli pki: OK"
