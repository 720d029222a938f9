#!/usr/bin/env bash
# Runs shellcheck (Debian's package) over every shell script of scripts/ and tests/ (*.sh, *.bash),
# with `source` followed (-x). A warning that is wrong for one line is disabled on that line
# with its reason; nothing is disabled for the whole tree. Exit 77 (skipped) without shellcheck.
set -euo pipefail
# shellcheck source=tests/lib/common.bash
source "$(dirname "$0")/../lib/common.bash"
need_tools shellcheck
cd "${KF_SOURCE_DIR:?}"
mapfile -t files < <(find scripts tests \( -name '*.sh' -o -name '*.bash' \) -type f | LC_ALL=C sort)
(( ${#files[@]} > 20 )) || fail "only ${#files[@]} shell scripts found under scripts/ and tests/"
shellcheck --version | sed -n 2p
shellcheck -x "${files[@]}" || fail "shellcheck found problems in the scripts above"
echo "shellcheck: ${#files[@]} scripts, no warnings"
