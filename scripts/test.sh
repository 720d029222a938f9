#!/usr/bin/env bash
# Installs what is needed (scripts/setup.sh), builds, and runs every test under CTest.
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L cli
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-build
# Real Kubernetes for the tests, built once per machine before any test's clock starts (about
# 10 minutes the first time, then cached in /var/cache/kubeferry-e2e; scripts/rig/k8s-build.sh
# says why it is rebuilt), beside kubeferry's own build: the Go build's generator phases leave
# a core idle. Without it the mirror falls back (scripts/rig/mirror.sh).
k8s_pid=""
if [[ "$(id -u)" == 0 ]]; then
  k8s_log="$(mktemp /tmp/kubeferry-k8s-build-XXXXXX.log)"
  bash scripts/rig/k8s-build.sh >"$k8s_log" 2>&1 &
  k8s_pid=$!
fi
scripts/setup.sh
if [[ -n "$k8s_pid" ]]; then
  wait "$k8s_pid" || echo "test.sh: scripts/rig/k8s-build.sh failed: $(tail -3 "$k8s_log"); the tests use the fallback"
  rm -f "$k8s_log"
fi
BUILD_DIR="${BUILD_DIR:-build}"
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 900 -j"$(nproc)" "$@"
