#!/usr/bin/env bash
# The signed install receipt and verify-host, through the real binaries, installing below
# --root (files only; images are asked of the runtime on live hosts only):
#   install makes the host key (0600, public key beside it, fingerprint printed) and writes
#   receipt.json, receipt.sha256 and their signatures, which openssl and sha256sum -c check;
#   a re-install keeps the key; verify-host finds nothing on the untouched host; an edited
#   config, a replaced binary, a removed unit, a file added below /opt/etcd/bin and a
#   changed mode are each named (exit 1, --json too); a forged receipt and a replaced key are
#   refused (exit 3); uninstall removes the receipt, --purge the key too.
set -euo pipefail
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
B="${KF_BIN_DIR:?}/kubeferry"
I="${KF_BIN_DIR:?}/kubeferry-install"
[[ -x "$B" && -x "$I" ]] || { echo "skip: binaries not built"; exit 77; }
command -v systemctl >/dev/null || { echo "skip: systemctl not installed (Debian package systemd)"; exit 77; }
command -v openssl >/dev/null || { echo "skip: openssl not installed"; exit 77; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cat >"$WORK/cluster.yaml" <<'YAML'
cluster_name: rig
kubernetes_version: v1.20.11
hosts:
  - {name: m1, address: 127.0.0.62, roles: [etcd]}
  - {name: m2, address: 127.0.0.63, roles: [master]}
YAML
# An etcd host: a master also needs the add-on images in the bundle, which a packed folder of
# stubs does not carry; /opt/etcd/bin is watched as /opt/kubernetes/bin is on masters and nodes.
mkdir -p "$WORK/payload/etcd/bin"
for b in etcd/bin/etcd etcd/bin/etcdctl; do
  printf '#!/bin/sh\necho %s stub\n' "$b" >"$WORK/payload/$b"
  chmod 0755 "$WORK/payload/$b"
done
run keygen "$B" keygen --out "$WORK/key"
expect_rc keygen 0
run pack "$B" -q pack --name rig --key "$WORK/key" -o "$WORK/rig.run" --epoch 1750118400 "$WORK/payload"
expect_rc pack 0
FP="$(fingerprint_of "$WORK/key.pub")"
run pki "$I" pki init --inventory "$WORK/cluster.yaml" --out "$WORK/pki"
expect_rc pki 0
R="$WORK/root"
S="$R/var/lib/kubeferry"
mkdir "$R"
INSTALL=("$I" -q --bundle "$WORK/rig.run" install --inventory "$WORK/cluster.yaml" --host m1 --pki "$WORK/pki" --root "$R" --fingerprint "$FP")

run install "${INSTALL[@]}"
expect_rc install 0
[[ "$(stat -c %a "$S/host.key")" == 600 ]] || fail "host.key mode $(stat -c %a "$S/host.key")"
HK="$(fingerprint_of "$S/host.key.pub")"
grep -qx "made this host's receipt key $HK: $S/host.key.pub (keep a copy of the fingerprint elsewhere)" "$WORK/install.out" ||
  fail "install did not print the new host key: $(cat "$WORK/install.out")"
# Stock tools check the receipt and every installed file.
openssl pkeyutl -verify -pubin -inkey "$S/host.key.pub" -rawin -in "$S/receipt.json" -sigfile "$S/receipt.json.sig" >/dev/null ||
  fail "openssl does not verify receipt.json"
openssl pkeyutl -verify -pubin -inkey "$S/host.key.pub" -rawin -in "$S/receipt.sha256" -sigfile "$S/receipt.sha256.sig" >/dev/null ||
  fail "openssl does not verify receipt.sha256"
(cd "$R" && sha256sum --quiet --strict -c var/lib/kubeferry/receipt.sha256) || fail "sha256sum -c receipt.sha256"
python3 - "$S/receipt.json" "$S/receipt.sha256" "$FP" "$HK" "$WORK/pki/hosts/m1" <<'PY'
import hashlib, json, subprocess, sys
text = open(sys.argv[1], "rb").read()
r = json.loads(text)
assert json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() == text, "not canonical"
assert r["format"] == "kubeferry receipt v1" and r["host"] == "m1" and r["roles"] == ["etcd"], r["roles"]
assert r["bundle"]["name"] == "rig" and r["bundle"]["signer"] == sys.argv[3] and r["host_key"] == sys.argv[4]
assert r["files_sha256"] == hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
files = {f["path"]: f for f in r["files"]}
assert files["/opt/etcd/bin/etcd"]["mode"] == 0o755 and files["/opt/etcd/ssl/server-key.pem"]["mode"] == 0o600
assert files["/opt/etcd/bin"]["type"] == "directory" and files["/var/lib/etcd"]["data"] is True
assert r["watched"] == ["/opt/etcd/bin"], r["watched"]
units = {u["name"]: u["path"] for u in r["units"]}
assert units == {"etcd.service": "/usr/lib/systemd/system/etcd.service"}, units
assert r["preflight"]["result"] == "passed" and r["started"] <= r["finished"]
certs = {c["path"]: c for c in r["certificates"]}
server = certs["/opt/etcd/ssl/server.pem"]
# The serial and expiry openssl reads from the kit's certificate.
out = subprocess.run(["openssl", "x509", "-noout", "-serial", "-enddate", "-in", sys.argv[5] + "/etcd/server.pem"],
                     capture_output=True, text=True, check=True).stdout
assert "serial=" + server["serial"] in out.splitlines(), (out, server)
end = subprocess.run(["date", "-u", "-d", out.split("notAfter=")[1].strip(), "+%s"], capture_output=True, text=True,
                     check=True).stdout.strip()
assert int(end) == server["not_after"], (end, server)
PY

# A re-install keeps the key and signs a new receipt with it.
run again "${INSTALL[@]}"
expect again 0 "install m1: nothing to do, already converged ($(sed -n 's/^install m1: \([0-9]*\) steps applied, 0 unchanged\(.*\)$/\1 steps unchanged\2/p' "$WORK/install.out"))
" ""
[[ "$(fingerprint_of "$S/host.key.pub")" == "$HK" ]] || fail "the re-install made a new host key"

run clean "$I" verify-host --root "$R"
expect_rc clean 0
grep -qx "OK host m1 matches its receipt ([0-9]* files, 1 units, images not checked (--root); signed by host key $HK)" "$WORK/clean.out" ||
  fail "verify-host on an untouched host: $(cat "$WORK/clean.out")"
run pinned "$I" verify-host --root "$R" --fingerprint "$HK"
expect_rc pinned 0

# Drift: each change is named.
old_conf="$(sha256_of "$R/opt/etcd/cfg/etcd.conf")"
echo 'ETCD_DEBUG="true"' >>"$R/opt/etcd/cfg/etcd.conf"
old_bin="$(sha256_of "$R/opt/etcd/bin/etcd")"
cp "$WORK/payload/etcd/bin/etcdctl" "$R/opt/etcd/bin/etcd"
rm "$R/usr/lib/systemd/system/etcd.service"
printf '#!/bin/sh\n' >"$R/opt/etcd/bin/etcd-helper"
chmod 0644 "$R/opt/etcd/ssl/server-key.pem"
run drift "$I" verify-host --root "$R"
expect_rc drift 1
cat >"$WORK/want_drift" <<EOF
CHANGED file /opt/etcd/cfg/etcd.conf: content: sha256 $(sha256_of "$R/opt/etcd/cfg/etcd.conf"), was $old_conf
CHANGED file /opt/etcd/ssl/server-key.pem: mode 0644, was 0600
CHANGED file /opt/etcd/bin/etcd: content: sha256 $(sha256_of "$R/opt/etcd/bin/etcd"), was $old_bin
MISSING file /usr/lib/systemd/system/etcd.service
EXTRA file /opt/etcd/bin/etcd-helper: not installed by kubeferry
MISSING unit etcd.service: its unit file /usr/lib/systemd/system/etcd.service is gone
EOF
diff -u <(sort "$WORK/want_drift") <(grep -v '^DRIFT ' "$WORK/drift.out" | sort) || fail "verify-host drift lines"
grep -qx "DRIFT host m1: 6 differences from its receipt ([0-9]* files, 1 units, images not checked (--root); signed by host key $HK)" "$WORK/drift.out" ||
  fail "drift summary: $(tail -1 "$WORK/drift.out")"
expect_err drift "kubeferry-install: error: verify-host: 6 differences between this host and its receipt (listed above)
"
run drift_json "$I" verify-host --root "$R" --json
expect_rc drift_json 1
python3 - "$WORK/drift_json.out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ok"] is False and r["host"] == "m1" and r["images"] is None
got = sorted((d["change"], d["kind"], d["name"]) for d in r["drift"])
assert got == sorted([("changed", "file", "/opt/etcd/cfg/etcd.conf"), ("changed", "file", "/opt/etcd/ssl/server-key.pem"),
                      ("changed", "file", "/opt/etcd/bin/etcd"),
                      ("missing", "file", "/usr/lib/systemd/system/etcd.service"),
                      ("extra", "file", "/opt/etcd/bin/etcd-helper"),
                      ("missing", "unit", "etcd.service")]), got
PY

# A receipt edited to match the host, or a host key swapped for another, is refused.
cp "$S/receipt.json" "$WORK/receipt.saved"
sed -i "s/$old_conf/$(sha256_of "$R/opt/etcd/cfg/etcd.conf")/" "$S/receipt.json"
run forged "$I" verify-host --root "$R"
expect forged 3 "" "kubeferry-install: error: $S/receipt.json: signature does not match the host key $HK (the receipt was changed after the install)
"
cp "$WORK/receipt.saved" "$S/receipt.json"
run wrong_pin "$I" verify-host --root "$R" --fingerprint "$FP"
expect wrong_pin 3 "" "kubeferry-install: error: the receipt's host key is $HK, not the pinned $FP (the key was replaced)
"
run nothing "$I" verify-host --root "$WORK/pki"
expect nothing 1 "" "kubeferry-install: error: no receipt at $WORK/pki/var/lib/kubeferry/receipt.json: this host was not installed by kubeferry-install, or before receipts existed (install again to write one)
"

# uninstall removes the receipt (it no longer describes the host) and keeps the key; --purge
# removes the key as well. (The file added above is not ours: uninstall would keep its folder.)
rm "$R/opt/etcd/bin/etcd-helper"
run un "$I" -q uninstall --root "$R"
expect_rc un 0
[[ ! -e "$S/receipt.json" && ! -e "$S/receipt.sha256.sig" && -e "$S/host.key" ]] || fail "after uninstall: $(ls -A "$S")"
run purge "$I" -q uninstall --root "$R" --purge
expect_rc purge 0
left="$(cd "$R" && find . -mindepth 1 | sort | tr '\n' ' ')"
[[ -z "$left" ]] || fail "after uninstall --purge: $left"
echo "OK receipt.sh"
