#!/usr/bin/env bash
# plan / install / uninstall through the real binaries, on a bundle made by `kubeferry pack`,
# installed below --root (no root privileges needed beyond file modes):
#   plan without and with --json; install refused for an unpinned signer (exact message);
#   install with --fingerprint writes every file with its mode and enables the unit with
#   systemctl --root; a second install changes nothing and says so; a key in trusted.d pins
#   too; --dry-run writes nothing; uninstall keeps data (and a later --purge removes it),
#   uninstall --purge leaves nothing; the installed-bundle record refuses an older bundle of the
#   same name and signer (exact message, exit 3, nothing written) unless --allow-downgrade.
# The host is etcd-only, so the bundle needs only etcd/bin/{etcd,etcdctl} (stub scripts).
set -euo pipefail
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
B="${KF_BIN_DIR:?}/kubeferry"
I="${KF_BIN_DIR:?}/kubeferry-install"
[[ -x "$B" && -x "$I" ]] || skip "binaries not built"
need_tools systemctl openssl
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cat >"$WORK/cluster.yaml" <<'YAML'
cluster_name: rig
kubernetes_version: v1.20.11
hosts:
  - {name: e1, address: 127.0.0.61, roles: [etcd]}
  - {name: m1, address: 127.0.0.62, roles: [master]}
YAML
mkdir -p "$WORK/payload/etcd/bin"
printf '#!/bin/sh\necho etcd stub\n' >"$WORK/payload/etcd/bin/etcd"
printf '#!/bin/sh\necho etcdctl stub\n' >"$WORK/payload/etcd/bin/etcdctl"
chmod 0755 "$WORK/payload/etcd/bin/"*
run keygen "$B" keygen --out "$WORK/key"
expect_rc keygen 0
run pack "$B" -q pack --name rig --key "$WORK/key" -o "$WORK/rig.run" --epoch 1750118400 "$WORK/payload"
expect_rc pack 0
FP="$(fingerprint_of "$WORK/key.pub")"
run pki "$I" pki init --inventory "$WORK/cluster.yaml" --out "$WORK/pki"
expect_rc pki 0

# plan: pure, no root, digests from the bundle's index.
run plan "$I" --bundle "$WORK/rig.run" plan --inventory "$WORK/cluster.yaml" --host e1 --pki "$WORK/pki"
expect_rc plan 0
head -1 "$WORK/plan.out" | grep -qx 'plan for e1 (etcd) of cluster rig, Kubernetes v1.20.11: 21 steps' ||
  fail "plan header: $(head -1 "$WORK/plan.out")"
run plan_json "$I" --bundle "$WORK/rig.run" plan --inventory "$WORK/cluster.yaml" --host e1 --pki "$WORK/pki" --json
expect_rc plan_json 0
python3 - "$WORK/plan_json.out" "$(sha256_of "$WORK/payload/etcd/bin/etcd")" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
steps = {s["id"]: s for s in plan["steps"]}
assert plan["host"] == "e1" and plan["roles"] == ["etcd"], plan["roles"]
etcd = steps["file /opt/etcd/bin/etcd"]
assert etcd["sha256"] == sys.argv[2] and etcd["mode"] == "0755" and etcd["source"] == "bundle:etcd/bin/etcd", etcd
key = steps["file /opt/etcd/ssl/server-key.pem"]
assert key["mode"] == "0600" and key["secret"] is True and len(key["sha256"]) == 64, key
assert [s["kind"] for s in plan["steps"]][:2] == ["preflight", "dir"]
assert "content" not in json.dumps(plan)
PY

# An unpinned signer is refused with its fingerprint and how to pin it.
mkdir "$WORK/root"
run unpinned "$I" --bundle "$WORK/rig.run" install --inventory "$WORK/cluster.yaml" --host e1 --pki "$WORK/pki" --root "$WORK/root"
expect unpinned 3 "" "kubeferry-install: error: the bundle is signed by $FP, which is not pinned on this host. Check the fingerprint with the bundle's publisher, then pin it with --fingerprint $FP, or --pubkey KEY.pub, or copy KEY.pub into $WORK/root/etc/kubeferry/trusted.d/ (or pass --allow-unpinned-signer)
"
[[ -z "$(ls -A "$WORK/root")" ]] || fail "the refused install wrote something"
# An empty pin (an unset shell variable) or a private key as --pubkey is a usage error, never
# "any signer".
INSTALL=("$I" --bundle "$WORK/rig.run" install --inventory "$WORK/cluster.yaml" --host e1 --pki "$WORK/pki" --root "$WORK/root")
run empty_fp "${INSTALL[@]}" --fingerprint ''
expect empty_fp 2 "" "kubeferry-install: error: --fingerprint is empty (an unset variable?): pass the signer's fingerprint, SHA256:<64 hex digits>, as kubeferry keygen and verify print it
"
run empty_pubkey "${INSTALL[@]}" --pubkey ''
expect empty_pubkey 2 "" "kubeferry-install: error: --pubkey is empty (an unset variable?): pass the signer's public key file (KEY.pub, written by kubeferry keygen)
"
run private_pubkey "${INSTALL[@]}" --pubkey "$WORK/key"
expect private_pubkey 2 "" "kubeferry-install: error: --pubkey $WORK/key is a private key: pass its public half (KEY.pub beside KEY, written by kubeferry keygen); the private key stays with the publisher
"
[[ -z "$(ls -A "$WORK/root")" ]] || fail "an install with a bad pin wrote something"
# --allow-unpinned-signer: the one NOT pinned warning, saying why it went ahead.
run allowed "${INSTALL[@]}" --allow-unpinned-signer --dry-run -q
expect_rc allowed 0
expect_err allowed "$(unpinned_warning kubeferry-install "$FP" "$WORK/root/etc/kubeferry/trusted.d" |
  sed 's/ (--require-pinned refuses unpinned bundles)$/ (--allow-unpinned-signer is set)/')
"
[[ -z "$(ls -A "$WORK/root")" ]] || fail "--dry-run wrote something"

# --dry-run writes nothing.
run dry "$I" -q --bundle "$WORK/rig.run" install --inventory "$WORK/cluster.yaml" --host e1 --pki "$WORK/pki" --root "$WORK/root" --fingerprint "$FP" --dry-run
expect dry 0 "install e1 (dry run): 16 steps would change, 0 unchanged, 4 skipped (--root: commands not run)
" ""
[[ -z "$(ls -A "$WORK/root")" ]] || fail "--dry-run wrote something"

run install "$I" -q --bundle "$WORK/rig.run" install --inventory "$WORK/cluster.yaml" --host e1 --pki "$WORK/pki" --root "$WORK/root" --fingerprint "$FP"
expect install 0 "made this host's receipt key $(fingerprint_of "$WORK/root/var/lib/kubeferry/host.key.pub"): $WORK/root/var/lib/kubeferry/host.key.pub (keep a copy of the fingerprint elsewhere)
install e1: 16 steps applied, 0 unchanged, 4 skipped (--root: commands not run)
" ""
modes="$(cd "$WORK/root" && stat -c '%a %n' opt/etcd/bin/etcd opt/etcd/ssl opt/etcd/ssl/server-key.pem opt/etcd/ssl/server.pem \
  opt/etcd/cfg/etcd.conf var/lib/etcd usr/lib/systemd/system/etcd.service var/lib/kubeferry/journal.json)"
[[ "$modes" == "755 opt/etcd/bin/etcd
700 opt/etcd/ssl
600 opt/etcd/ssl/server-key.pem
644 opt/etcd/ssl/server.pem
644 opt/etcd/cfg/etcd.conf
700 var/lib/etcd
644 usr/lib/systemd/system/etcd.service
600 var/lib/kubeferry/journal.json" ]] || fail "modes: $modes"
cmp "$WORK/root/opt/etcd/ssl/server-key.pem" "$WORK/pki/hosts/e1/etcd/server-key.pem" || fail "server key differs from the kit"
grep -qx 'ETCD_NAME="e1"' "$WORK/root/opt/etcd/cfg/etcd.conf" || fail "etcd.conf"
[[ "$(systemctl --root="$WORK/root" is-enabled etcd.service)" == enabled ]] || fail "etcd.service not enabled"
[[ ! -e "$WORK/root/var/lib/kubeferry/staging" ]] || fail "extraction staging folder left behind"

# Second run: converged, nothing written (the journal's mtime stays).
before="$(stat -c %Y.%s "$WORK/root/var/lib/kubeferry/journal.json")"
sleep 1
run again "$I" -q --bundle "$WORK/rig.run" install --inventory "$WORK/cluster.yaml" --host e1 --pki "$WORK/pki" --root "$WORK/root" --fingerprint "$FP"
expect again 0 "install e1: nothing to do, already converged (16 steps unchanged, 4 skipped (--root: commands not run))
" ""
[[ "$before" == "$(stat -c %Y.%s "$WORK/root/var/lib/kubeferry/journal.json")" ]] || fail "second run rewrote the journal"

# A key in trusted.d pins the signer without flags.
mkdir -p "$WORK/root/etc/kubeferry/trusted.d"
cp "$WORK/key.pub" "$WORK/root/etc/kubeferry/trusted.d/rig.pub"
run trusted "$I" -q --bundle "$WORK/rig.run" install --inventory "$WORK/cluster.yaml" --host e1 --pki "$WORK/pki" --root "$WORK/root"
expect_rc trusted 0
rm -r "$WORK/root/etc/kubeferry"

# uninstall keeps data, --purge removes everything of ours.
run keep "$I" -q uninstall --root "$WORK/root"
expect_rc keep 0
grep -qx 'kept /var/lib/etcd (data; --purge removes it)' "$WORK/keep.out" || fail "uninstall did not keep the data: $(cat "$WORK/keep.out")"
grep -qx "uninstall: $WORK/root/var/lib/kubeferry/journal.json still lists the kept folders; uninstall --purge removes them" "$WORK/keep.out" ||
  fail "uninstall did not say how to purge later: $(cat "$WORK/keep.out")"
left="$(cd "$WORK/root" && find . -mindepth 1 | sort | tr '\n' ' ')"
# The receipt goes (tests/cli/receipt.sh); the host's receipt key stays until --purge.
[[ "$left" == "./var ./var/lib ./var/lib/etcd ./var/lib/kubeferry ./var/lib/kubeferry/host.key ./var/lib/kubeferry/host.key.pub ./var/lib/kubeferry/journal.json " ]] || fail "after uninstall: $left"
# Purging later still removes the kept data (the journal remembers it), then nothing is left.
run later_purge "$I" -q uninstall --root "$WORK/root" --purge
expect_rc later_purge 0
left="$(cd "$WORK/root" && find . -mindepth 1 | sort | tr '\n' ' ')"
[[ -z "$left" ]] || fail "after a later uninstall --purge: $left"
run again_un "$I" -q uninstall --root "$WORK/root"
expect again_un 0 "uninstall: nothing to do: no journal at $WORK/root/var/lib/kubeferry/journal.json
" ""
# No silent downgrade: install the newer bundle, then the same name and signer built from an
# older epoch is refused before anything is written; --allow-downgrade installs it with a warning.
run pack_old "$B" -q pack --name rig --key "$WORK/key" -o "$WORK/old.run" --epoch 1631664000 "$WORK/payload"
expect_rc pack_old 0
mkdir "$WORK/root3"
INSTALL3=(-q install --inventory "$WORK/cluster.yaml" --host e1 --pki "$WORK/pki" --root "$WORK/root3" --fingerprint "$FP")
run new "$I" --bundle "$WORK/rig.run" "${INSTALL3[@]}"
expect_rc new 0
python3 - "$WORK/root3/var/lib/kubeferry/installed-bundles.json" "$FP" <<'PY'
import json, sys
record = json.load(open(sys.argv[1]))
assert record["version"] == 1, record
[b] = record["bundles"]
assert (b["name"], b["signer"], b["created"]) == ("rig", sys.argv[2], 1750118400), b
assert len(b["payload_sha256"]) == 64, b
PY
[[ "$(stat -c %a "$WORK/root3/var/lib/kubeferry/installed-bundles.json")" == 600 ]] || fail "record mode"
snapshot() { (cd "$WORK/root3" && find . -printf '%p %m %s %T@\n' | sort && find . -type f -exec sha256sum {} + | sort); }
before="$(snapshot)"
run old "$I" --bundle "$WORK/old.run" "${INSTALL3[@]}"
expect old 3 "" "kubeferry-install: error: bundle rig created 2021-09-15T00:00:00Z is older than the rig installed on this host (created 2025-06-17T00:00:00Z, same signer): refusing to go back (pass --allow-downgrade to install it anyway)
"
run old_dry "$I" --bundle "$WORK/old.run" "${INSTALL3[@]}" --dry-run
expect_rc old_dry 3
[[ "$before" == "$(snapshot)" ]] || fail "the refused downgrade changed the root"
run old_allowed "$I" --bundle "$WORK/old.run" "${INSTALL3[@]}" --allow-downgrade
expect old_allowed 0 "install e1: nothing to do, already converged (16 steps unchanged, 4 skipped (--root: commands not run))
" "kubeferry-install: warning: bundle rig created 2021-09-15T00:00:00Z is older than the rig installed on this host (created 2025-06-17T00:00:00Z, same signer) (--allow-downgrade is set)
"
grep -q '"created":1631664000' "$WORK/root3/var/lib/kubeferry/installed-bundles.json" || fail "the downgrade was not recorded"
# Back to the newer one: an upgrade needs no flag.
run upgrade "$I" --bundle "$WORK/rig.run" "${INSTALL3[@]}"
expect_rc upgrade 0
grep -q '"created":1750118400' "$WORK/root3/var/lib/kubeferry/installed-bundles.json" || fail "the upgrade was not recorded"
run purge3 "$I" -q uninstall --root "$WORK/root3" --purge
expect_rc purge3 0
left="$(cd "$WORK/root3" && find . -mindepth 1 | sort | tr '\n' ' ')"
[[ -z "$left" ]] || fail "after uninstall --purge of the downgrade root: $left"

# A data folder that existed before an install is never purged (it may not be ours): purge on
# a fresh root.
mkdir "$WORK/root2"
run install2 "$I" -q --bundle "$WORK/rig.run" install --inventory "$WORK/cluster.yaml" --host e1 --pki "$WORK/pki" --root "$WORK/root2" --fingerprint "$FP"
expect_rc install2 0
run purge "$I" -q uninstall --root "$WORK/root2" --purge
expect_rc purge 0
left="$(cd "$WORK/root2" && find . -mindepth 1 | sort | tr '\n' ' ')"
[[ -z "$left" ]] || fail "after uninstall --purge: $left"
echo "OK install.sh"
