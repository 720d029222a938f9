#!/usr/bin/env bash
# Benchmark of `kubeferry build` against the plain tools on the same artifacts, in one run:
#   cold   kubeferry build (empty cache)  vs  curl (4 in parallel) + sha256sum + tar | zstd
#   warm   kubeferry build (full cache)   vs  kubeferry pack of the same tree (packing alone)
# Artifacts come from the loopback nginx mirror (scripts/rig/mirror.sh). Usage:
#   [REPEAT=3] scripts/bench/build.sh [LEVEL]      (default level 19, as the bundles use)
# Prints seconds and ratios; nothing is asserted. Needs build/bin (scripts/setup.sh) and nginx.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC="$PWD"
LEVEL="${1:-19}"
BIN="$SRC/${BUILD_DIR:-build}/bin"
W="${BENCH_DIR:-/tmp/kubeferry-bench-build}"
MIRROR=/tmp/kubeferry-test-mirror
rm -rf "$W"; mkdir -p "$W"
trap 'bash "$SRC/scripts/rig/mirror.sh" stop "$W/rig" >/dev/null 2>&1 || true' EXIT
flock "$MIRROR.lock" bash scripts/rig/mirror.sh build "$MIRROR" >/dev/null
bash scripts/rig/mirror.sh start "$MIRROR" "$W/rig" >/dev/null
# shellcheck source=/dev/null  # written by mirror.sh start
source "$W/rig/env"
cd "$W"

# The manifest: every tarball and file of the mirror, each kept whole under its own folder.
{
  echo "bundle: bench"; echo "kubernetes_version: v1.20.11"; echo "platforms: [linux/amd64]"; echo "epoch: 0"
  echo "artifacts:"
  i=0
  while read -r path _ sha256 _; do
    [[ "$path" == test/* ]] && continue
    i=$((i + 1))
    printf '  - name: a%d\n    version: "1"\n    kind: file\n    url: https://%s\n    checksum: sha256:%s\n' "$i" "$path" "$sha256"
    printf '    source: bench\n    to: files/%s\n    mode: 0644\n' "$(basename "$path")"
  done <"$MIRROR/checksums.tsv"
} >m.yaml
"$BIN/kubeferry" keygen --out key >/dev/null 2>&1
urls=$(awk '$1 !~ /^test\// {print "'"$MIRROR_URL"'/" $1}' "$MIRROR/checksums.tsv")
total=$(awk '$1 !~ /^test\// {s += $2} END {print s}' "$MIRROR/checksums.tsv")
t() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>&1; awk -v a="$(date +%s.%N)" -v b="$s" 'BEGIN { printf "%.3f", a - b }'; }

# Each measurement REPEAT times (default 3), the four interleaved so that a slow moment of the
# machine hits all of them alike; the median of each is reported.
REPEAT="${REPEAT:-3}"
cold_s=() base_s=() warm_s=() pack_s=()
for ((r = 0; r < REPEAT; r++)); do
  rm -rf cache dl tree base.tar.zst
  cold_s+=("$(t "$BIN/kubeferry" -q build m.yaml --key key --cache cache --mirror "https://=$MIRROR_URL/" --level "$LEVEL" -o cold.run)")
  base_s+=("$(t sh -c "mkdir -p dl && cd dl && echo '$urls' | xargs -P4 -n1 curl -sSfO && sha256sum * >../sums && tar -cf - . | zstd -q -$LEVEL --long=27 -T0 -o ../base.tar.zst")")
  warm_s+=("$(t "$BIN/kubeferry" -q build m.yaml --key key --cache cache --mirror "https://=$MIRROR_URL/" --level "$LEVEL" -o warm.run)")
  # Packing alone: the very tree the build packed (files and records), taken out of the bundle.
  ./warm.run extract --to tree >/dev/null 2>&1
  pack_s+=("$(t "$BIN/kubeferry" -q pack tree --name bench --key key --level "$LEVEL" --epoch 0 -o pack.run)")
  cmp -s cold.run warm.run || echo "bench: WARNING: warm build differs from cold build"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
cold=$(median "${cold_s[@]}") base=$(median "${base_s[@]}") warm=$(median "${warm_s[@]}") pack=$(median "${pack_s[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '%d artifacts, %d MB; zstd level %s; %d CPUs; median of %d runs\n' "$(echo "$urls" | wc -l)" $((total >> 20)) "$LEVEL" "$(nproc)" "$REPEAT"
printf '%-58s %8.2fs %8.2fs %6s\n' "cold build vs curl -P4 + sha256sum + tar|zstd" "$cold" "$base" "$(ratio "$cold" "$base")"
printf '%-58s %8.2fs %8.2fs %6s\n' "warm rebuild vs kubeferry pack of the same files" "$warm" "$pack" "$(ratio "$warm" "$pack")"
echo "targets: cold <= 1.1x baseline; warm <= the cost of packing alone"
