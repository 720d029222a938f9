#!/usr/bin/env bash
# Benchmark of verify-media against sha256sum of the same parts, side by side in one run.
#
#   scripts/bench/media.sh [SIZE_MB] [PART]      defaults: 1024 MB bundle, parts of 256M
#
# Packs SIZE_MB of incompressible bytes (level 1: packing is not what is measured) into a .run,
# cuts it with `kubeferry split`, then times, REPEAT times each (default 3, interleaved, medians):
#   verify-media   kubeferry-install verify-media DIR --pubkey KEY.pub (signature, every part's
#                  size and sha256, stray parts)
#   sha256sum      sha256sum -c X.parts in the folder (the same parts, no signature)
# and the peak RSS of verify-media and join (/usr/bin/time -v). The page cache is warm for both
# (the parts were just written). Prints a table with the ratio; nothing is asserted.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_MB="${1:-1024}"
PART="${2:-256M}"
REPEAT="${REPEAT:-3}"
BIN="${BUILD_DIR:-build}/bin"
W="${BENCH_DIR:-/tmp/kubeferry-bench-media}"
command -v /usr/bin/time >/dev/null || { echo "bench: needs /usr/bin/time (apt-get install time)"; exit 1; }
rm -rf "$W"; mkdir -p "$W/tree/data" "$W/media"
head -c "$((SIZE_MB * 1024 * 1024))" /dev/urandom >"$W/tree/data/blob"
"$BIN/kubeferry" keygen --out "$W/key" >/dev/null 2>&1
"$BIN/kubeferry" -q pack --name bench --key "$W/key" --level 1 -o "$W/media/bench.run" "$W/tree" >/dev/null
rm -rf "$W/tree"
"$BIN/kubeferry" -q split "$W/media/bench.run" "$PART" --key "$W/key" >/dev/null
rm "$W/media/bench.run"
parts=$(find "$W/media" -name "bench.run.part*" | wc -l)

seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ours=(); base=()
for ((i = 0; i < REPEAT; i++)); do
  ours+=("$(seconds "$BIN/kubeferry-install" -q verify-media "$W/media" --pubkey "$W/key.pub")")
  base+=("$(seconds bash -c "cd '$W/media' && sha256sum --quiet -c bench.parts")")
done
o=$(printf '%s\n' "${ours[@]}" | median)
b=$(printf '%s\n' "${base[@]}" | median)
rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | sed -n 's/^\tMaximum resident set size (kbytes): //p'; }
rss_verify=$(rss "$BIN/kubeferry-install" -q verify-media "$W/media" --pubkey "$W/key.pub")
rss_join=$(rss "$BIN/kubeferry-install" -q join "$W/media" --pubkey "$W/key.pub" --out "$W/joined.run")
printf '| measure | kubeferry | baseline | ratio |\n|---|---|---|---|\n'
# shellcheck disable=SC2016  # the backquotes are Markdown
printf '| verify-media vs `sha256sum -c` (%s MB, %s parts of %s, median of %s) | %.2f s | %.2f s | %.2f |\n' \
  "$SIZE_MB" "$parts" "$PART" "$REPEAT" "$o" "$b" "$(echo "$o / $b" | bc -l)"
printf '| peak RSS: verify-media, join | %s KiB, %s KiB | | |\n' "$rss_verify" "$rss_join"
rm -rf "$W"
