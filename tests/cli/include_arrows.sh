#!/usr/bin/env bash
# The arrows point one way, builder -> bundle-spec <- installer (README.md, "Layout"); each unit
# test folder follows its library's arrows.
# Greps every #include of each library's sources (and of its unit tests) and resolves it the way
# the compiler would: the including file's folder, then the library's include roots. A header
# found outside the folders the library may use fails, and so does one the library cannot see
# but another library's include root (or the repository root) would give it; "../" paths too.
# Headers found nowhere in the tree are system headers and pass.
set -euo pipefail
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
SRC="$(realpath "${KF_SOURCE_DIR:?}")"
cd "$SRC"

# Every include root of the tree; a header resolving through one of these is ours.
all_roots=(bundle-spec/include builder installer tests .)

# check LABEL FOLDER "ROOTS..." "ALLOWED..."
#   FOLDER   the sources checked (*.cpp, *.hpp, recursively)
#   ROOTS    include roots the library's targets have, in compiler order (after the file's folder)
#   ALLOWED  folders whose headers it may include
bad=0
check() {
  local label="$1" folder="$2" roots allowed file line spec dir found where
  read -r -a roots <<<"$3"
  read -r -a allowed <<<"$4"
  while IFS= read -r -d '' file; do
    dir="$(dirname "$file")"
    while IFS= read -r line; do
      [[ "$line" =~ include[[:space:]]*[\"\<]([^\">]+)[\"\>] ]] || continue
      spec="${BASH_REMATCH[1]}"
      found=""
      for where in "$dir" "${roots[@]}"; do
        if [[ -f "$where/$spec" ]]; then found="$(realpath -m "$where/$spec")"; break; fi
      done
      if [[ -z "$found" ]]; then
        # Not visible to this library: is it a header of another one (or a repo-root path)?
        for where in "${all_roots[@]}"; do
          if [[ -f "$where/$spec" ]]; then found="$(realpath -m "$where/$spec")"; break; fi
        done
        [[ -z "$found" ]] && continue  # a system header
      fi
      local ok=no a
      for a in "${allowed[@]}"; do
        [[ "$found" == "$SRC/$a/"* ]] && ok=yes
      done
      if [[ "$ok" == no ]]; then
        echo "FAIL: $label: $file includes \"$spec\", which is ${found#"$SRC/"} (allowed: ${allowed[*]})" >&2
        bad=1
      fi
    done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]' "$file" || true)
  done < <(find "$folder" -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) -print0 | sort -z)
}

check bundle-spec bundle-spec "bundle-spec/include" "bundle-spec"
check builder builder "builder bundle-spec/include" "builder bundle-spec"
check installer installer "installer bundle-spec/include" "installer bundle-spec"
check tests/support tests/support "tests bundle-spec/include" "tests bundle-spec"
check tests/unit/bundlespec tests/unit/bundlespec "tests bundle-spec/include" "tests bundle-spec"
check tests/unit/builder tests/unit/builder "builder tests bundle-spec/include" "tests builder bundle-spec"
check tests/unit/installer tests/unit/installer "installer tests bundle-spec/include" "tests installer bundle-spec"

[[ "$bad" == 0 ]] || fail "includes against the arrows (above)"
echo "include arrows: ok"
