#!/usr/bin/env bash
# Benchmark of the bundle format against the standard tools, side by side in one run.
#
#   scripts/bench/bundle.sh [SIZE_MB] [LEVEL]      defaults: 1024 MB of real ELF binaries, level 19
#
# Corpus: real ELF executables from this machine (/usr/bin, /usr/sbin, /usr/lib, /usr/local/bin),
# copied until SIZE_MB. Compared in the same run, on the same files:
#   pack      kubeferry pack --bare (tar + zstd -LEVEL --long=27, multithreaded, + SHA-256 + signature)
#             vs  tar -c | zstd -LEVEL --long=27 -T0      (time and size)
#   extract   kubeferry-install --bundle B extract (signature, every digest, staging, rename)
#             vs  zstd -dc --long=27 | tar -x              vs  sha256sum of the same bytes
#   memory    peak RSS of extract on a 200 MB and a SIZE_MB corpus (/usr/bin/time -v)
# Prints a table with ratios; nothing is asserted. Needs build/bin (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE_MB="${1:-1024}"
LEVEL="${2:-19}"
BIN="${BUILD_DIR:-build}/bin"
W="${BENCH_DIR:-/tmp/kubeferry-bench}"
mkdir -p "$W"
command -v /usr/bin/time >/dev/null || { echo "bench: needs /usr/bin/time (apt-get install time)"; exit 1; }

make_corpus() {  # $1 = folder, $2 = MB
  local dir="$1" limit=$(($2 * 1024 * 1024)) total=0
  [[ -f "$dir.done" ]] && return
  rm -rf "$dir"; mkdir -p "$dir"
  while IFS= read -r f; do
    [[ -f "$f" && ! -L "$f" ]] || continue
    head -c 4 "$f" 2>/dev/null | grep -q $'\x7fELF' || continue
    local size; size=$(stat -c %s "$f")
    ((size > 4096)) || continue
    local rel="${f#/}"
    mkdir -p "$dir/$(dirname "$rel")"
    cp "$f" "$dir/$rel"
    total=$((total + size))
    ((total < limit)) || break
  done < <(find /usr/lib/google-cloud-sdk/bin /usr/local/bin /usr/bin /usr/sbin /usr/lib /usr/libexec -xdev -type f -size +4k 2>/dev/null | sort)
  touch "$dir.done"
}

# seconds and peak RSS (KiB) of a command: "SECONDS RSS"
measure() {
  local log="$W/time.log"
  /usr/bin/time -f "%e %M" -o "$log" "$@" >/dev/null 2>"$W/cmd.err" || { cat "$W/cmd.err" >&2; exit 1; }
  cat "$log"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

[[ -f "$W/key" ]] || "$BIN/kubeferry" keygen --out "$W/key" >/dev/null 2>&1
make_corpus "$W/corpus-$SIZE_MB" "$SIZE_MB"
make_corpus "$W/corpus-200" 200
C="$W/corpus-$SIZE_MB"
echo "corpus: $(du -sm "$C" | cut -f1) MB in $(find "$C" -type f | wc -l) ELF files; zstd level $LEVEL, window 2^27; $(nproc) CPUs"

sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
rm -f "$W/b.run" "$W/ref.tar.zst"
read -r pack_s _ < <(measure "$BIN/kubeferry" -q pack "$C" --bare --name bench --key "$W/key" -o "$W/b.run" --level "$LEVEL" --epoch 0)
read -r zstd_s _ < <(measure sh -c "tar -C '$C' --sort=name -cf - . | zstd -q -$LEVEL --long=27 -T0 -o '$W/ref.tar.zst' -f")
ours_size=$(stat -c %s "$W/b.run"); ref_size=$(stat -c %s "$W/ref.tar.zst")

rm -rf "$W/x1" "$W/x2"; mkdir -p "$W/x2"
read -r ext_s ext_rss < <(measure "$BIN/kubeferry-install" -q --bundle "$W/b.run" extract --to "$W/x1")
read -r tar_s _ < <(measure sh -c "zstd -dc --long=27 '$W/ref.tar.zst' | tar -x -C '$W/x2'")
read -r sum_s _ < <(measure sha256sum "$W/b.run")
diff -r "$C" "$W/x1" >/dev/null || { echo "bench: extracted tree differs from the corpus"; exit 1; }

# Peak RSS on the 200 MB corpus (the memory bound must not grow with the bundle).
rm -f "$W/s.run"; rm -rf "$W/x3"
"$BIN/kubeferry" -q pack "$W/corpus-200" --bare --name bench --key "$W/key" -o "$W/s.run" --level "$LEVEL" --epoch 0 >/dev/null
read -r _ small_rss < <(measure "$BIN/kubeferry-install" -q --bundle "$W/s.run" extract --to "$W/x3")
rm -rf "$W/x1" "$W/x2" "$W/x3"

printf '\n%-44s %10s %10s %8s\n' "measure" "kubeferry" "baseline" "ratio"
printf '%-44s %9ss %9ss %8s\n' "pack time vs tar|zstd -$LEVEL --long=27 -T0" "$pack_s" "$zstd_s" "$(ratio "$pack_s" "$zstd_s")"
printf '%-44s %10s %10s %8s\n' "pack size (bytes) vs the same" "$ours_size" "$ref_size" "$(ratio "$ours_size" "$ref_size")"
printf '%-44s %9ss %9ss %8s\n' "verify+extract vs zstd -dc | tar -x" "$ext_s" "$tar_s" "$(ratio "$ext_s" "$tar_s")"
printf '%-44s %9ss %9ss %8s\n' "verify+extract vs sha256sum alone" "$ext_s" "$sum_s" "$(ratio "$ext_s" "$sum_s")"
printf '%-44s %9sM %9sM %8s\n' "extract peak RSS: ${SIZE_MB} MB vs 200 MB corpus" "$((ext_rss / 1024))" "$((small_rss / 1024))" "$(ratio "$ext_rss" "$small_rss")"
echo "targets: extract <= 1.25x zstd|tar; pack <= 1.1x zstd time, size within 1% of zstd --long=27; RSS <= 128 MiB window + 32 MiB"
