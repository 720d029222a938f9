#!/usr/bin/env bash
# Image benchmark: kubeferry against skopeo/ctr on the same images and the same loopback registry.
#   fetch: `kubeferry images fetch` (empty cache) vs `skopeo copy docker://... oci:DIR` of each image
#   load:  `kubeferry-install images load --from` into containerd vs `ctr images import` of a
#          skopeo-made oci-archive (each into a fresh containerd namespace)
#   push:  `kubeferry-install images push --from` vs `skopeo copy oci:DIR docker://...` of each
#          image, into fresh repositories of the same registry (peak RSS of both, /usr/bin/time)
# Images: the rig's busybox:1.0, tools:1.0, busybox:multi (scripts/rig/registry.sh) plus "big":
# busybox + a layer of BENCH_MB (default 200) MiB of random bytes. Prints seconds and ratios.
# Usage: scripts/bench/images.sh [BUILD_BIN_DIR]   (default build/bin)
set -euo pipefail
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${1:-$SRC/build/bin}"
MB="${BENCH_MB:-200}"
WORK="$(mktemp -d)"
CTRD_PID=""
cleanup() {
  bash "$SRC/scripts/rig/registry.sh" stop "$WORK/rig" || true
  if [[ -n "$CTRD_PID" ]]; then kill "$CTRD_PID" 2>/dev/null || true; wait "$CTRD_PID" 2>/dev/null || true; fi
  grep -o " $WORK/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done || true
  rm -rf "$WORK"
}
trap cleanup EXIT
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

bash "$SRC/scripts/rig/registry.sh" start "$WORK/rig" >/dev/null
# shellcheck disable=SC1091
source "$WORK/rig/env"
R="$REG_PLAIN"
# The big image: busybox's layer + BENCH_MB MiB of random bytes.
(cd "$WORK/rig" && umoci unpack --rootless --image oci:1.0 big >/dev/null &&
  head -c "$((MB << 20))" /dev/urandom >big/rootfs/big.bin &&
  umoci repack --image oci:big big >/dev/null &&
  skopeo copy -q --dest-tls-verify=false oci:oci:big "docker://$R/test/big:1.0")
BIG=$(curl -sfI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$R/v2/test/big/manifests/1.0" |
  tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
REFS=("test/busybox:1.0@$DIGEST_BUSYBOX_1_0" "test/tools:1.0@$DIGEST_TOOLS_1_0"
      "test/busybox:multi@$DIGEST_BUSYBOX_MULTI" "test/big:1.0@$BIG")
{
  echo "bundle: bench"; echo "kubernetes_version: v1.20.11"; echo "epoch: 1600000000"; echo "artifacts:"
  echo "  - {name: bin, version: '1', kind: file, url: 'http://127.0.0.1/x', checksum: 'sha256:$(sha256sum /usr/bin/busybox | cut -d' ' -f1)', source: bench, to: bin/x, mode: 0755}"
  echo "images:"
  i=0; for r in "${REFS[@]}"; do i=$((i + 1)); echo "  - {name: img$i, ref: '$R/$r', source: bench}"; done
} >"$WORK/m.yaml"

# fetch
mkdir "$WORK/stage"
t0=$(now)
"$BIN/kubeferry" -q images fetch "$WORK/m.yaml" --out "$WORK/stage" --plain-http "$R" --cache "$WORK/cache" >/dev/null
t1=$(now)
for r in "${REFS[@]}"; do
  skopeo copy -q --src-tls-verify=false "docker://$R/${r%@*}" "oci:$WORK/skopeo-oci:${r%@*}" >/dev/null
done
t2=$(now)
KF_FETCH=$(secs "$t0" "$t1"); SK_FETCH=$(secs "$t1" "$t2")

# load
C="$WORK/containerd"; mkdir -p "$C"
printf 'version = 2\nroot = "%s/root"\nstate = "%s/state"\n[grpc]\n  address = "%s/sock"\n[ttrpc]\n  address = "%s/sock.ttrpc"\n' \
  "$C" "$C" "$C" "$C" >"$C/config.toml"
containerd --config "$C/config.toml" >"$C/log" 2>&1 &
CTRD_PID=$!
for _ in $(seq 1 100); do ctr -a "$C/sock" version >/dev/null 2>&1 && break; sleep 0.1; done
for r in "${REFS[@]}"; do
  skopeo copy -q "oci:$WORK/skopeo-oci:${r%@*}" "oci-archive:$WORK/$(echo "${r%@*}" | tr '/:' '__').tar:$R/${r%@*}" >/dev/null
done
t0=$(now)
"$BIN/kubeferry-install" -q images load --runtime containerd --address "$C/sock" --namespace bench-kf \
  --from "$WORK/stage" >/dev/null
t1=$(now)
for f in "$WORK"/*.tar; do ctr -a "$C/sock" -n bench-ctr images import "$f" >/dev/null; done
t2=$(now)
KF_LOAD=$(secs "$t0" "$t1"); CTR_LOAD=$(secs "$t1" "$t2")

# push: each side into an empty registry of its own (own storage, own port), so every blob is
# sent: in the rig's registry skopeo would mount the blobs it saw while fetching (its blob-info
# cache), and the registry would hold them already.
empty_registry() {  # empty_registry NAME: start docker-registry on a fresh folder, print HOST:PORT
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: 127.0.0.1:%s}\n' \
    "$WORK/$1-data" "$port" >"$WORK/$1.yml"
  docker-registry serve "$WORK/$1.yml" >"$WORK/$1.log" 2>&1 &
  echo $! >>"$WORK/rig/pids"  # stopped with the rig
  for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.05; done
  echo "127.0.0.1:$port"
}
KF_REG=$(empty_registry push-kf)
SK_REG=$(empty_registry push-sk)
rss_of() { sed -n 's/^\tMaximum resident set size (kbytes): //p' "$1"; }
t0=$(now)
/usr/bin/time -v -o "$WORK/kf.time" "$BIN/kubeferry-install" -q images push --from "$WORK/stage" \
  --registry "$KF_REG" --plain-http >/dev/null 2>"$WORK/kf.err"
t1=$(now)
SK_RSS=0
for r in "${REFS[@]}"; do
  /usr/bin/time -v -o "$WORK/sk.time" skopeo copy -q --dest-tls-verify=false "oci:$WORK/skopeo-oci:${r%@*}" \
    "docker://$SK_REG/${r%@*}" >/dev/null
  rss=$(rss_of "$WORK/sk.time"); if ((rss > SK_RSS)); then SK_RSS=$rss; fi
done
t2=$(now)
KF_PUSH=$(secs "$t0" "$t1"); SK_PUSH=$(secs "$t1" "$t2"); KF_RSS=$(rss_of "$WORK/kf.time")

printf 'images: %d (%s MiB of blobs)\n' "${#REFS[@]}" "$(du -sm "$WORK/stage/images" | cut -f1)"
printf 'fetch  kubeferry %6.2f s   skopeo copy  %6.2f s   ratio %.2f\n' "$KF_FETCH" "$SK_FETCH" "$(echo "$KF_FETCH / $SK_FETCH" | bc -l)"
printf 'load   kubeferry %6.2f s   ctr import   %6.2f s   ratio %.2f\n' "$KF_LOAD" "$CTR_LOAD" "$(echo "$KF_LOAD / $CTR_LOAD" | bc -l)"
printf 'push   kubeferry %6.2f s   skopeo copy  %6.2f s   ratio %.2f   peak RSS %d MiB vs %d MiB\n' "$KF_PUSH" "$SK_PUSH" \
  "$(echo "$KF_PUSH / $SK_PUSH" | bc -l)" "$((KF_RSS / 1024))" "$((SK_RSS / 1024))"
