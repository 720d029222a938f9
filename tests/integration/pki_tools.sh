#!/usr/bin/env bash
# The PKI made by `kubeferry-install pki init`, checked by independent tools:
#   openssl verify -CAfile on every certificate (main set and every kit copy),
#   openssl x509 -ext for key usages and basic constraints (exact text),
#   cfssl certinfo for subjects and SANs (exact lists),
#   a real etcd 3.4 on 127.0.0.1 serving the generated etcd certificates with client-cert auth,
#   answering etcdctl endpoint health with the apiserver's etcd client cert and refusing others.
# Exit 77 (skipped) when a tool is missing; scripts/setup.sh installs them all.
set -euo pipefail

BIN="${KF_BIN_DIR:?}/kubeferry-install"
SRC="${KF_SOURCE_DIR:?}"
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
need_tools openssl cfssl etcd etcdctl python3

WORK="$(mktemp -d)"
ETCD_PID=""
cleanup() {
  if [[ -n "$ETCD_PID" ]]; then kill -KILL "$ETCD_PID" 2>/dev/null || true; wait "$ETCD_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PKI="$WORK/pki"
"$BIN" pki init --inventory "$SRC/installer/cluster.example.yaml" --out "$PKI" >"$WORK/init.out"
# Nothing secret on stdout: the token never appears.
TOKEN="$(cut -d, -f1 "$PKI/kubernetes/token.csv")"
[[ ${#TOKEN} -eq 32 ]] || fail "token length ${#TOKEN}"
grep -q "$TOKEN" "$WORK/init.out" && fail "pki init printed the bootstrap token"
grep -q "PRIVATE KEY" "$WORK/init.out" && fail "pki init printed a private key"

# A second init refuses and changes nothing.
before="$(cd "$PKI" && find . -type f -exec sha256sum {} + | sort)"
if "$BIN" pki init --inventory "$SRC/installer/cluster.example.yaml" --out "$PKI" 2>"$WORK/again.err"; then
  fail "second pki init succeeded"
fi
expect_eq "second init message" \
  "kubeferry-install: error: pki init: --out $PKI: already holds a PKI (kubernetes/ca.pem); pki init never replaces keys. Keep using it, or move it away to make a new one" \
  "$(cat "$WORK/again.err")"
expect_eq "PKI unchanged" "$before" "$(cd "$PKI" && find . -type f -exec sha256sum {} + | sort)"

# 1. openssl verify: every certificate against its CA, in the main set and in every kit.
count=0
while IFS= read -r cert; do
  case "$cert" in
    */etcd/*) ca="$PKI/etcd/ca.pem" ;;
    */kubernetes/*) ca="$PKI/kubernetes/ca.pem" ;;
    *) fail "unexpected certificate $cert" ;;
  esac
  out="$(openssl verify -CAfile "$ca" "$cert" 2>&1)" || fail "openssl verify $cert: $out"
  expect_eq "openssl verify" "$cert: OK" "$out"
  # The wrong CA must not verify it.
  other="$PKI/kubernetes/ca.pem"; [[ "$ca" == "$other" ]] && other="$PKI/etcd/ca.pem"
  openssl verify -CAfile "$other" "$cert" >/dev/null 2>&1 && fail "$cert verifies against the wrong CA"
  count=$((count + 1))
done < <(find "$PKI" -name '*.pem' ! -name '*-key.pem' | sort)
expect_eq "certificates verified" 25 "$count"   # 9 in the main set + 10 master01 + 3 node01 + 3 node02

# 2. Key usages, extended key usages and basic constraints as openssl prints them.
usages() { openssl x509 -in "$PKI/$1" -noout -ext basicConstraints,keyUsage,extendedKeyUsage | tr -s ' ' | tr '\n' '|'; }
CA_USAGE="X509v3 Basic Constraints: critical| CA:TRUE|X509v3 Key Usage: critical| Digital Signature, Certificate Sign, CRL Sign|"
LEAF="X509v3 Basic Constraints: critical| CA:FALSE|X509v3 Key Usage: critical| Digital Signature, Key Encipherment|X509v3 Extended Key Usage: |"
expect_eq "etcd CA usages" "$CA_USAGE" "$(usages etcd/ca.pem)"
expect_eq "k8s CA usages" "$CA_USAGE" "$(usages kubernetes/ca.pem)"
for c in etcd/server.pem kubernetes/apiserver.pem; do
  expect_eq "$c usages" "$LEAF TLS Web Server Authentication, TLS Web Client Authentication|" "$(usages $c)"
done
for c in etcd/apiserver-etcd-client.pem kubernetes/admin.pem kubernetes/kube-proxy.pem \
         kubernetes/kube-controller-manager.pem kubernetes/kube-scheduler.pem; do
  expect_eq "$c usages" "$LEAF TLS Web Client Authentication|" "$(usages $c)"
done

# 3. cfssl certinfo: subjects and SANs exactly.
certinfo() {  # certinfo FILE PYTHON-EXPR-ON-j
  cfssl certinfo -cert "$PKI/$1" | python3 -c "import json,sys; j=json.load(sys.stdin); print($2)"
}
expect_eq "etcd server SANs" "localhost 192.168.80.21 192.168.80.7 192.168.80.8 127.0.0.1" \
  "$(certinfo etcd/server.pem "' '.join(j['sans'])")"
expect_eq "apiserver SANs" \
  "kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster kubernetes.default.svc.cluster.local 10.0.0.1 127.0.0.1 192.168.80.21" \
  "$(certinfo kubernetes/apiserver.pem "' '.join(j['sans'])")"
expect_eq "admin subject" "admin system:masters" \
  "$(certinfo kubernetes/admin.pem "j['subject']['common_name'], j['subject']['organization']" | tr -d "(',)")"
for pair in "kubernetes/kube-proxy.pem system:kube-proxy" \
            "kubernetes/kube-controller-manager.pem system:kube-controller-manager" \
            "kubernetes/kube-scheduler.pem system:kube-scheduler" "kubernetes/apiserver.pem kubernetes"; do
  read -r -a words <<<"$pair"
  set -- "${words[@]}"
  expect_eq "$1 CN" "$2" "$(certinfo "$1" "j['subject']['common_name']")"
  expect_eq "$1 SANs of a client cert" "$([[ $1 == *apiserver* ]] && echo 8 || echo 0)" \
    "$(certinfo "$1" "len(j.get('sans') or [])")"
done
expect_eq "k8s CA issuer" "kubernetes-ca" "$(certinfo kubernetes/admin.pem "j['issuer']['common_name']")"

# 4. A real etcd with the node01 kit's certificates, client-cert auth on, on free loopback ports.
read -r CLIENT_PORT PEER_PORT < <(python3 -c '
import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
KIT="$PKI/hosts/node01/etcd"
ENDPOINT="https://127.0.0.1:$CLIENT_PORT"
etcd --name t1 --data-dir "$WORK/etcd-data" \
  --listen-client-urls "$ENDPOINT" --advertise-client-urls "$ENDPOINT" \
  --listen-peer-urls "https://127.0.0.1:$PEER_PORT" --initial-advertise-peer-urls "https://127.0.0.1:$PEER_PORT" \
  --initial-cluster "t1=https://127.0.0.1:$PEER_PORT" --initial-cluster-state new \
  --cert-file "$KIT/server.pem" --key-file "$KIT/server-key.pem" --trusted-ca-file "$KIT/ca.pem" \
  --client-cert-auth \
  --peer-cert-file "$KIT/server.pem" --peer-key-file "$KIT/server-key.pem" \
  --peer-trusted-ca-file "$KIT/ca.pem" --peer-client-cert-auth >"$WORK/etcd.log" 2>&1 &
ETCD_PID=$!

MASTER_ETCD="$PKI/hosts/master01/etcd"
health() {  # health CACERT CERT KEY
  ETCDCTL_API=3 etcdctl --endpoints "$ENDPOINT" --cacert "$1" --cert "$2" --key "$3" \
    --dial-timeout 2s --command-timeout 3s endpoint health 2>&1
}
ok=""
for _ in $(seq 1 60); do
  kill -0 "$ETCD_PID" 2>/dev/null || { cat "$WORK/etcd.log" >&2; fail "etcd exited"; }
  if out="$(health "$MASTER_ETCD/ca.pem" "$MASTER_ETCD/apiserver-etcd-client.pem" "$MASTER_ETCD/apiserver-etcd-client-key.pem")"; then
    ok=1; break
  fi
  sleep 0.5
done
[[ -n "$ok" ]] || { tail -20 "$WORK/etcd.log" >&2; fail "etcd never healthy: $out"; }
[[ "$out" == "$ENDPOINT is healthy: successfully committed proposal: took = "* ]] || fail "health output: $out"
# The member's own server cert also works as a client cert (serverAuth + clientAuth, as the seed).
health "$KIT/ca.pem" "$KIT/server.pem" "$KIT/server-key.pem" >/dev/null || fail "server cert as client refused"
# Refused: a Kubernetes-CA client cert, and no client cert at all.
if out="$(health "$KIT/ca.pem" "$PKI/kubernetes/admin.pem" "$PKI/kubernetes/admin-key.pem")"; then
  fail "etcd accepted a certificate of the Kubernetes CA: $out"
fi
if out="$(ETCDCTL_API=3 etcdctl --endpoints "$ENDPOINT" --cacert "$KIT/ca.pem" --dial-timeout 2s \
          --command-timeout 3s endpoint health 2>&1)"; then
  fail "etcd accepted a client without certificate: $out"
fi
# The CLI trusts only the etcd CA: the Kubernetes CA does not validate etcd's server cert.
if out="$(health "$PKI/kubernetes/ca.pem" "$MASTER_ETCD/apiserver-etcd-client.pem" "$MASTER_ETCD/apiserver-etcd-client-key.pem")"; then
  fail "etcd's server cert validated against the Kubernetes CA: $out"
fi

# 5. pki expiry reads every certificate back, soonest first.
"$BIN" pki expiry --dir "$PKI" --json >"$WORK/expiry.json"
python3 - "$WORK/expiry.json" <<'EOF'
import json, sys
entries = json.load(open(sys.argv[1]))
assert len(entries) == 25, len(entries)
assert [e["not_after"] for e in entries] == sorted(e["not_after"] for e in entries)
assert all(3649 <= e["days_left"] <= 3650 for e in entries), entries
subjects = {e["path"]: e["subject"] for e in entries}
assert subjects["kubernetes/admin.pem"] == "CN=admin,O=system:masters", subjects
EOF
echo "pki_tools: OK ($count certificates verified; etcd answered with client-cert auth)"
