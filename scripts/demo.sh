#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine, as root: install the packages and build
# (scripts/setup.sh), then the whole flow of tests/e2e/cluster.sh on the embedded default:
#   loopback upstream mirror + loopback registry -> kubeferry build -> ONE signed .run ->
#   copied into three systemd-nspawn hosts (master01, node01, node02) -> pki init on master01
#   -> per-host kits -> install --host X on all three at once -> a real Kubernetes v1.20.2
#   cluster (built once from Debian's source by scripts/rig/k8s-build.sh, ~10 min the first time).
# Ends with `kubectl get nodes -o wide` and `kubectl get pods -A` from that cluster, the etcd
# health table (asked from inside a network namespace with the client certificate pki init
# made) and each host's install time next to a plain tar/zstd extraction of the same bundle.
# etcd, the CNI plugins, cfssl, pause and Kubernetes are real; flannel and coredns are
# stand-ins (Debian has neither; README: what the end-to-end test proves).
# Usage: scripts/demo.sh   (env: BUILD_DIR=build; KEEP=1 keeps the scratch folder)
# Exit: 0 the flow ran through; 77 it stopped early for the reason printed; else a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ "$(id -u)" == 0 ]] || { echo "demo.sh: run as root (network namespaces, systemd-nspawn, debootstrap)" >&2; exit 2; }
export BUILD_DIR="${BUILD_DIR:-build}"
scripts/setup.sh
summary=$(mktemp /tmp/kf-demo-summary-XXXXXX)
trap 'rm -f "$summary"' EXIT
echo
echo "demo: running the end-to-end flow (tests/e2e/cluster.sh)"
rc=0
KF_BIN_DIR="$PWD/$BUILD_DIR/bin" KF_SOURCE_DIR="$PWD" E2E_SUMMARY="$summary" bash tests/e2e/cluster.sh || rc=$?
echo
case "$rc" in
  0) echo "demo: done. Summary:"; cat "$summary" ;;
  77) echo "demo: the flow stopped early (the SKIP line above says why). What ran:"; cat "$summary" ;;
  *) echo "demo: the flow FAILED (exit $rc); the FAIL line above says where" ;;
esac
exit "$rc"
