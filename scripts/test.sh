#!/usr/bin/env bash
# Installs what is needed (scripts/setup.sh), builds, and runs every test under CTest.
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L cli
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR="${BUILD_DIR:-build}"
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 900 -j"$(nproc)" "$@"
