#!/usr/bin/env bash
# Golden files (tests/golden/README.md): for every host of the golden inventories, with each
# container runtime, the real kubeferry-install's `plan --json` and text plan (with the committed
# PKI kit, without it, and without a bundle), and what `install --root DIR` writes there: every
# path with its type, mode and digest, the content of each non-secret rendered file, the journal
# and the install's summary line. Compared byte for byte with tests/golden/out/ (a mismatch
# prints the diff); KF_UPDATE_GOLDEN=1 rewrites tests/golden/out/ instead.
set -euo pipefail
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
B="${KF_BIN_DIR:?}/kubeferry"
I="${KF_BIN_DIR:?}/kubeferry-install"
SRC="${KF_SOURCE_DIR:?}"
G="$SRC/tests/golden"
[[ -x "$B" && -x "$I" ]] || { echo "skip: binaries not built"; exit 77; }
command -v systemctl >/dev/null || { echo "skip: systemctl not installed (Debian package systemd)"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 not installed"; exit 77; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# One bundle for every inventory: stub binaries with fixed content (their digests enter the
# plans), the nodes' runtime as stubs too (containerd 1.6.20 + runc 1.1.5 and docker 20.10.24,
# the e2e's, scripts/rig/mirror.sh; crictl 1.20.0, the seed manifest's), and images/images.json
# naming the fixtures' real pinned digests (manifests/SOURCES.md "Image digests", as in
# tests/unit/installer/plan_fixtures.hpp). `kubeferry build` makes it, offline, from a cache
# filled beforehand (the golden.invalid URLs are never asked): the installer takes the runtime's
# version from each file's origin in the index, which only build records. The other stubs' origins
# say version "stub", which names no version, so the inventories' kubernetes_version decides.
P="$WORK/payload"
M="$WORK/golden.yaml"
mkdir -p "$P/images" "$WORK/cache/sha256"
printf 'bundle: golden\nkubernetes_version: v1.20.11\nepoch: 1750118400\nartifacts:\n' >"$M"
# artifact NAME VERSION PATH MODE: $P/PATH into the cache and, as one file artifact, the manifest.
artifact() {
  local sum
  sum="$(sha256sum <"$P/$3" | cut -d' ' -f1)"
  cp "$P/$3" "$WORK/cache/sha256/$sum"
  printf '  - {name: %s, version: %s, kind: file, url: "https://golden.invalid/%s", checksum: "sha256:%s", source: golden stub, to: %s, mode: %s}\n' \
    "$1" "$2" "$3" "$sum" "$3" "$4" >>"$M"
}
stub() {  # stub NAME VERSION PATH
  mkdir -p "$(dirname "$P/$3")"
  printf '#!/bin/sh\necho "%s: golden stub" >&2\nexit 1\n' "$3" >"$P/$3"
  artifact "$1" "$2" "$3" 0755
}
for path in etcd/bin/etcd etcd/bin/etcdctl kubernetes/bin/kube-apiserver kubernetes/bin/kube-controller-manager \
  kubernetes/bin/kube-scheduler kubernetes/bin/kubectl kubernetes/bin/kubelet kubernetes/bin/kube-proxy \
  cni/bin/bridge cni/bin/host-local cni/bin/loopback cni/bin/portmap; do
  stub "${path##*/}" stub "$path"
done
for name in containerd containerd-shim-runc-v2 ctr; do stub "$name" v1.6.20 "runtime/containerd/bin/$name"; done
stub runc v1.1.5 runtime/runc/runc
stub crictl v1.20.0 runtime/crictl/crictl
for name in dockerd docker containerd containerd-shim-runc-v2 runc; do
  stub "docker-$name" v20.10.24 "runtime/docker/bin/$name"
done
python3 - "$P/images/images.json" <<'PY'
import json, sys
def desc(media, digest):
    return {"mediaType": media, "digest": digest, "size": 1024}
def image(name, ref, digest):
    z = "sha256:" + "0" * 63
    return {"name": name, "reference": ref, "fullName": ref,
            "target": desc("application/vnd.docker.distribution.manifest.list.v2+json", digest),
            "platforms": [{"platform": "linux/amd64",
                           "manifest": desc("application/vnd.docker.distribution.manifest.v2+json", z + "1"),
                           "config": desc("application/vnd.docker.container.image.v1+json", z + "2"),
                           "layers": [desc("application/vnd.docker.image.rootfs.diff.tar.gzip", z + "3")]}]}
index = {"version": 1, "images": [
    image("pause", "registry.k8s.io/pause:3.2",
          "sha256:927d98197ec1141a368550822d18fa1c60bdae27b78b0c004f705f548c07814f"),
    image("coredns", "registry.k8s.io/coredns/coredns:v1.7.0",
          "sha256:73ca82b4ce829766d4f1f10947c3a338888f876fbed0540dc849c89ff256e90c"),
    image("flannel", "quay.io/coreos/flannel:v0.15.1",
          "sha256:9a296fbb67790659adc3701e287adde3c59803b7fcefe354f1fc482840cdb3d9")]}
open(sys.argv[1], "w").write(json.dumps(index, sort_keys=True, separators=(",", ":")) + "\n")
PY
artifact images-index stub images/images.json 0644
"$B" keygen --out "$WORK/key" >/dev/null 2>&1 || fail "kubeferry keygen"
"$B" -q build --key "$WORK/key" --cache "$WORK/cache" --level 1 -o "$WORK/golden.run" "$M" >/dev/null 2>"$WORK/err" ||
  fail "kubeferry build: $(cat "$WORK/err")"
FP="$(fingerprint_of "$WORK/key.pub")"

# NAME SOURCE PKI RUNTIME...: the inventory SOURCE with container_runtime set to each RUNTIME.
INVENTORIES=(
  "example $SRC/installer/cluster.example.yaml example docker containerd"
  "current current example containerd"
  "e2e $G/inventories/e2e.yaml e2e docker containerd"
  "rig-install $G/inventories/rig-install.yaml rig-install docker containerd"
  "rig-checks $G/inventories/rig-checks.yaml rig-checks docker containerd"
)
# The unit tests' current_inventory(): the example on v1.30.14 with containerd, the host's own.
sed -e 's/^kubernetes_version: v1.20.11/kubernetes_version: v1.30.14/' \
  -e 's/^container_runtime_source: bundle/container_runtime_source: host/' "$SRC/installer/cluster.example.yaml" \
  >"$WORK/current.yaml"

# ROOT PLAN.JSON OUT: the tree below ROOT (type, mode, digest or link target) into OUT/files.txt,
# the content of each non-secret rendered file into OUT/files/, the journal into OUT/journal.json.
dump_root() {
  python3 - "$1" "$2" "$3" <<'PY'
import hashlib, json, os, stat, sys
root, plan_path, out = sys.argv[1:]
plan = json.load(open(plan_path))
rendered = {s["path"] for s in plan["steps"]
            if s["kind"] == "file" and s.get("source") == "render" and not s.get("secret")}
lines = []
for folder, dirs, files in os.walk(root):
    dirs.sort()
    for name in sorted(dirs + files):
        full = os.path.join(folder, name)
        rel = "/" + os.path.relpath(full, root)
        st = os.lstat(full)
        mode = "%04o" % stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            lines.append("link %s -> %s" % (rel, os.readlink(full)))
        elif stat.S_ISDIR(st.st_mode):
            lines.append("dir  %s %s" % (rel, mode))
        else:
            data = open(full, "rb").read()
            base = os.path.basename(rel)
            if os.path.dirname(rel) == "/var/lib/kubeferry" and base.startswith(("host.key", "receipt", "installed-bundles")):
                # The per-host receipt key is random, the receipt holds times, the installed-bundle record this run's signer: mode only.
                lines.append("file %s %s (differs per install)" % (rel, mode))
                continue
            lines.append("file %s %s %s" % (rel, mode, hashlib.sha256(data).hexdigest()))
            if rel in rendered:
                target = os.path.join(out, "files", rel.lstrip("/"))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                open(target, "wb").write(data)
            if rel == "/var/lib/kubeferry/journal.json":
                open(os.path.join(out, "journal.json"), "wb").write(data)
open(os.path.join(out, "files.txt"), "w").write("\n".join(lines) + "\n")
PY
}

ACTUAL="$WORK/out"
cases=0
for line in "${INVENTORIES[@]}"; do
  read -r name source pki runtimes <<<"$line"
  [[ "$source" == current ]] && source="$WORK/current.yaml"
  for runtime in $runtimes; do
    inv="$WORK/$name-$runtime.yaml"
    if grep -q '^container_runtime:' "$source"; then
      sed -e "s/^container_runtime: [a-z]*/container_runtime: $runtime/" "$source" >"$inv"
    else
      { cat "$source"; echo "container_runtime: $runtime"; } >"$inv"
    fi
    hosts="$(python3 -c 'import re,sys; print(" ".join(re.findall(r"name: *([A-Za-z0-9-]+)", sys.stdin.read().split("hosts:",1)[1])))' <"$inv")"
    for host in $hosts; do
      out="$ACTUAL/$name-$runtime/$host"
      mkdir -p "$out"
      plan=("$I" --bundle "$WORK/golden.run" plan --inventory "$inv" --host "$host")
      "${plan[@]}" --pki "$G/pki/$pki" --json >"$out/plan.json" 2>"$WORK/err" || fail "$name-$runtime $host: plan --json: $(cat "$WORK/err")"
      "${plan[@]}" --pki "$G/pki/$pki" >"$out/plan.txt" 2>"$WORK/err" || fail "$name-$runtime $host: plan: $(cat "$WORK/err")"
      "${plan[@]}" --json >"$out/plan-nokit.json" 2>"$WORK/err" || fail "$name-$runtime $host: plan --json without --pki: $(cat "$WORK/err")"
      "$I" plan --inventory "$inv" --host "$host" --json >"$out/plan-nobundle.json" 2>"$WORK/err" ||
        fail "$name-$runtime $host: plan --json without a bundle: $(cat "$WORK/err")"
      root="$WORK/root-$name-$runtime-$host"
      mkdir "$root"
      "$I" -q --bundle "$WORK/golden.run" install --inventory "$inv" --host "$host" --pki "$G/pki/$pki" \
        --root "$root" --fingerprint "$FP" >"$out/install.out" 2>"$WORK/err" ||
        fail "$name-$runtime $host: install --root: $(cat "$WORK/err")"
      # The receipt key's fingerprint is random, its path is this run's: both as placeholders.
      sed -i -e "s|^\(made this host's receipt key \)SHA256:[0-9a-f]*: $root/|\1SHA256:<random>: ROOT/|" "$out/install.out"
      dump_root "$root" "$out/plan.json" "$out"
      cases=$((cases + 1))
    done
  done
done

if [[ "${KF_UPDATE_GOLDEN:-}" == 1 ]]; then
  rm -rf "$G/out"
  cp -a "$ACTUAL" "$G/out"
  echo "golden: rewrote tests/golden/out/ ($cases host plans and installs)"
  exit 0
fi
[[ -d "$G/out" ]] || fail "no tests/golden/out/: make it with KF_UPDATE_GOLDEN=1"
if ! diff -ru "$G/out" "$ACTUAL" >"$WORK/golden.diff"; then
  cat "$WORK/golden.diff" >&2
  fail "output differs from tests/golden/out/ (diff above; if the change is meant, refresh with KF_UPDATE_GOLDEN=1 and say why in the commit)"
fi
echo "golden: $cases host plans and installs match tests/golden/out/"
