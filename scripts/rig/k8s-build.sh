#!/usr/bin/env bash
# Real Kubernetes v1.20.2 server binaries that survive Go 1.19, built once and cached.
#
#   k8s-build.sh [OUT_ARCHIVE]   build (or reuse) OUT_ARCHIVE (default
#                                $KF_E2E_CACHE/k8s/kubernetes-v1.20.2-debian-reflect2-linux-amd64.tar.zst)
#                                with SHA256SUMS beside it, and print its path
#
# Why: the binaries in shared/k8s are v1.20.2 compiled with Debian 12's Go 1.19 against the
# source's vendored github.com/modern-go/reflect2 v1.0.1, whose map iteration assumes the
# runtime's iterator layout of Go < 1.18. Under load the apiserver dies in
# reflect2.(*UnsafeMapType).UnsafeIterate -> runtime.mapiterinit ("fatal error: fault",
# SIGSEGV in aeshashbody) whenever json-iterator encodes a map with omitempty; the e2e saw it
# restart nine times in two minutes. reflect2 v1.0.2 fixed exactly this (and Kubernetes moved to
# it for Go 1.18), and Debian 12 packages it (golang-github-modern-go-reflect2-dev 1.0.2-2).
#
# So: the same Debian source package as shared/k8s/build-from-debian-source.sh
# (kubernetes 1.20.5+really1.20.2-1.1+deb12u1, orig sha256 checked, Debian's patches applied in
# their series order), with vendor/github.com/modern-go/reflect2 replaced by Debian's 1.0.2
# sources, built with Debian's Go, CGO off, -s -w, `make WHAT=cmd/<name>`. Nothing else
# changes. Needs apt access to Debian's mirror (binary and source packages); about 10 minutes
# on 2 cores the first time. The system's apt configuration is not changed (a private source
# list under the cache folder).
set -euo pipefail

: "${KF_E2E_CACHE:=/var/cache/kubeferry-e2e}"
OUT="${1:-$KF_E2E_CACHE/k8s/kubernetes-v1.20.2-debian-reflect2-linux-amd64.tar.zst}"
k_src="kubernetes=1.20.5+really1.20.2-1.1+deb12u1"
k_orig="kubernetes_1.20.5+really1.20.2.orig.tar.gz"
k_orig_sha="b83c0780efb182d928dc63d46488a847f161f04e40a94b96bf5247dd671ecdfc"
k_bins=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
die() { echo "k8s-build.sh: $*" >&2; exit 1; }

mkdir -p "$(dirname "$OUT")"
exec 6>"$OUT.lock"
flock 6
if [[ -f "$OUT" && -f "$(dirname "$OUT")/SHA256SUMS" ]] &&
   (cd "$(dirname "$OUT")" && grep " $(basename "$OUT")\$" SHA256SUMS | sha256sum -c --quiet -) 2>/dev/null; then
  echo "$OUT"
  exit 0
fi

W="$(dirname "$OUT")/work"
rm -rf "$W"
mkdir -p "$W/lists/partial" "$W/cache/archives/partial" "$W/home"
uri="$(awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
[[ -n "$uri" ]] || uri="$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
[[ -n "$uri" ]] || die "no Debian mirror in /etc/apt"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri bookworm main" >"$W/src.list"
O=(-o Dir::Etc::sourcelist="$W/src.list" -o Dir::Etc::sourceparts=/nonexistent
   -o Dir::State::Lists="$W/lists" -o Dir::Cache="$W/cache")
echo "k8s-build.sh: building Kubernetes v1.20.2 with reflect2 1.0.2 into $OUT (once, ~10 min)" >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  golang-go golang-github-modern-go-reflect2-dev make rsync patch zstd >"$W/apt.log" 2>&1 ||
  die "apt-get install golang-go golang-github-modern-go-reflect2-dev failed: $(tail -3 "$W/apt.log")"
apt-get "${O[@]}" update -q >>"$W/apt.log" 2>&1 || die "apt-get update (deb-src) failed: $(tail -3 "$W/apt.log")"
cd "$W"
apt-get "${O[@]}" source --download-only "$k_src" >>"$W/apt.log" 2>&1 || die "apt-get source $k_src failed: $(tail -3 "$W/apt.log")"
echo "$k_orig_sha  $k_orig" | sha256sum -c --quiet - || die "$k_orig: not the sha256 Debian's .dsc names"
tar -xzf "$k_orig"
tar -xJf kubernetes_*.debian.tar.xz -C kubernetes-1.20.2
cd kubernetes-1.20.2
if [[ -f debian/patches/series ]]; then
  while read -r p _; do
    [[ -z "$p" || "$p" == \#* ]] && continue
    patch -p1 -s <"debian/patches/$p" || die "Debian patch $p does not apply"
  done <debian/patches/series
fi
r2=/usr/share/gocode/src/github.com/modern-go/reflect2
[[ -f "$r2/unsafe_map.go" ]] || die "$r2 is missing (golang-github-modern-go-reflect2-dev)"
rm -rf vendor/github.com/modern-go/reflect2
mkdir -p vendor/github.com/modern-go/reflect2
find "$r2" -maxdepth 1 -name '*.go' ! -name '*_test.go' -exec cp {} vendor/github.com/modern-go/reflect2/ \;
[[ -f "$r2/LICENSE" ]] && cp "$r2/LICENSE" vendor/github.com/modern-go/reflect2/
export GOPATH="$PWD/.go" CGO_ENABLED=0 HOME="$W/home" GOFLAGS=-mod=vendor
mkdir -p .go/src/k8s.io && ln -sfn ../../.. .go/src/k8s.io/kubernetes
export KUBE_GIT_VERSION=v1.20.2 KUBE_GIT_TREE_STATE=clean KUBE_GIT_COMMIT=debian-1.20.5+really1.20.2-1.1+deb12u1-reflect2-1.0.2
what=""
for b in "${k_bins[@]}"; do what+="cmd/$b "; done
make WHAT="$what" GOLDFLAGS="-s -w" >"$W/make.log" 2>&1 || die "make failed: $(tail -5 "$W/make.log")"
mkdir -p "$W/pkg/kubernetes/server/bin"
for b in "${k_bins[@]}"; do install -m 0755 "_output/bin/$b" "$W/pkg/kubernetes/server/bin/$b"; done
"$W/pkg/kubernetes/server/bin/kubelet" --version | grep -qx 'Kubernetes v1.20.2' || die "kubelet --version is not v1.20.2"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1611187200 -C "$W/pkg" -cf - kubernetes |
  zstd -3 -T0 -q -f -o "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
{
  (cd "$(dirname "$OUT")" && sha256sum "$(basename "$OUT")")
  (cd "$W/pkg" && sha256sum kubernetes/server/bin/*)
} >"$(dirname "$OUT")/SHA256SUMS"
cd /
rm -rf "$W"
echo "$OUT"
