#!/usr/bin/env bash
# Installs what is needed (scripts/setup.sh), builds, and runs every test under CTest.
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L cli
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Real Kubernetes for the tests, built once per machine before any test's clock starts (about
# 10 minutes the first time, then cached in /var/cache/kubeferry-e2e; scripts/rig/k8s-build.sh
# says why it is rebuilt). Without it the mirror falls back (scripts/rig/mirror.sh).
if [[ "$(id -u)" == 0 ]]; then
  bash scripts/rig/k8s-build.sh >/dev/null || echo "test.sh: scripts/rig/k8s-build.sh failed (above); the tests use the fallback"
fi
BUILD_DIR="${BUILD_DIR:-build}"
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 900 -j"$(nproc)" "$@"
