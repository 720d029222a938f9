#!/usr/bin/env bash
# Hostile inputs cost bounded memory and never block (issue 12 item 8), through the real binaries:
#   a 9 MB inventory is refused before it is parsed (exact message), and so is a 2 MB manifest;
#   a FIFO or a device as --inventory is refused at once instead of blocking; a second YAML
#   document is an error; a validly signed 50 MB index is read with peak memory a few times its
#   size (measured with /usr/bin/time; it took 911 MB before the entries were decoded while
#   parsing); odd extract targets (--to "", ., out/) are refused with what to do, or work.
set -euo pipefail
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
KF="${KF_BIN_DIR:?}/kubeferry"
I="${KF_BIN_DIR:?}/kubeferry-install"
[[ -x "$KF" && -x "$I" ]] || { echo "skip: binaries not built"; exit 77; }
[[ -x /usr/bin/time ]] || { echo "skip: /usr/bin/time not installed (Debian package time)"; exit 77; }
if ! command -v openssl >/dev/null || ! command -v zstd >/dev/null; then echo "skip: openssl or zstd missing"; exit 77; fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Peak resident memory (KB) of a command, as GNU time reports it.
peak_kb() { /usr/bin/time -f '%M' -o "$WORK/time.txt" "$@" >/dev/null 2>&1 || true; tail -1 "$WORK/time.txt"; }

# 1. Inventory: over the cap, refused before yaml-cpp sees it.
python3 - "$WORK/big.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("cluster_name: big\nkubernetes_version: v1.20.11\nhosts:\n")
    i = 0
    while f.tell() < 9_000_000:
        f.write("  - {name: n%06d, address: 172.16.%d.%d, roles: [node]}\n" % (i, (i >> 8) & 255, i & 255))
        i += 1
PY
size=$(stat -c %s "$WORK/big.yaml")
run big "$I" plan --inventory big.yaml --host n000000
expect big 2 "" "kubeferry-install: error: big.yaml is $size bytes, more than an inventory may be (1048576 bytes): is it the right file?
"
kb=$(peak_kb "$I" plan --inventory "$WORK/big.yaml" --host n000000)
echo "plan with a 9 MB inventory: peak ${kb} KB"
((kb < 32768)) || fail "plan of a refused 9 MB inventory took ${kb} KB"

# 2. A FIFO (nobody writes to it) and a device: refused at once, not read.
mkfifo "$WORK/fifo"
run fifo timeout 20 "$I" plan --inventory fifo
expect fifo 2 "" "kubeferry-install: error: fifo is a FIFO, not a regular file: pass an inventory file itself (save a pipe's output to a file first)
"
run device "$I" plan --inventory /dev/zero
expect device 2 "" "kubeferry-install: error: /dev/zero is a character device, not a regular file: pass an inventory file itself (save a pipe's output to a file first)
"

# 3. A second YAML document is an error, in the inventory and in a manifest.
printf 'cluster_name: a\nhosts: []\n---\ncluster_name: b\n' >"$WORK/two.yaml"
run two "$I" plan --inventory two.yaml
expect two 2 "" "kubeferry-install: error: two.yaml:4:1: a second YAML document: an inventory is one document (remove the '---')
"
cp "${KF_SOURCE_DIR:-$(dirname "$0")/../..}/manifests/k8s-v1.20.11.yaml" "$WORK/m.yaml"
printf -- '---\nbundle: other\n' >>"$WORK/m.yaml"
run manifest_two "$KF" manifest check m.yaml
expect_rc manifest_two 1  # manifest problems exit 1, as every invalid manifest does
grep -q "a second YAML document: a manifest is one document (remove the '---')" "$WORK/manifest_two.err" ||
  fail "manifest with two documents: $(cat "$WORK/manifest_two.err")"
head -c 2000000 /dev/zero | tr '\0' '#' >"$WORK/huge.yaml"
run manifest_big "$KF" manifest check huge.yaml
expect manifest_big 2 "" "kubeferry: error: huge.yaml is 2000000 bytes, more than a manifest may be (1048576 bytes): is it the right file?
"

# 4. A validly signed 50 MB index (385,000 entries): read whole, refused at the payload, with
# peak memory a few times the index, not twenty.
run keygen "$KF" keygen --out key
expect_rc keygen 0
python3 "$(dirname "$0")/../support/big_index_bundle.py" "$WORK/key" "$WORK/big.bin" 385000
index_kb=$(( $(stat -c %s "$WORK/big.bin") / 1024 ))
kb=$(peak_kb "$I" --bundle "$WORK/big.bin" verify)
echo "verify with a ${index_kb} KB signed index: peak ${kb} KB"
((kb < 6 * index_kb)) || fail "verify of a ${index_kb} KB index took ${kb} KB (more than 6 times)"
run bigverify "$I" --bundle big.bin verify --require-pinned --fingerprint "$(fingerprint_of "$WORK/key.pub")"
expect_rc bigverify 3

# 5. Odd extract targets.
mkdir -p "$WORK/src/d" && echo hi >"$WORK/src/d/f"
run pack "$KF" -q pack src --name t --key key -o t.run --epoch 0 --level 3
expect_rc pack 0
FP="$(fingerprint_of "$WORK/key.pub")"
run to_empty "$WORK/t.run" extract --to "" --fingerprint "$FP"
expect to_empty 2 "" "kubeferry-install: error: --to is empty (an unset variable?): name a folder to create, e.g. --to ./bundle
"
for odd in . ./ .. /; do
  run to_odd "$WORK/t.run" extract --to "$odd" --fingerprint "$FP"
  expect to_odd 2 "" "kubeferry-install: error: --to $odd is an existing folder that extract cannot replace (it creates the folder it is given): name a new folder, e.g. --to ./bundle, or an empty one
"
done
run to_slash "$WORK/t.run" -q extract --to out/ --fingerprint "$FP"
expect to_slash 0 "" ""
[[ "$(cat "$WORK/out/d/f")" == hi ]] || fail "--to out/ did not extract into out"
left="$(cd "$WORK" && find . -maxdepth 2 -name '*kubeferry-staging*')"
[[ -z "$left" ]] || fail "staging left: $left"
echo "OK bounded_input.sh"
