#!/usr/bin/env bash
# Installs every Debian package kubeferry needs to build and test, then builds.
# Idempotent: packages already present are not fetched again; the build is incremental.
# Usage: scripts/setup.sh [--no-build]   (env: BUILD_DIR=build, KUBEFERRY_WERROR=OFF)
set -euo pipefail
cd "$(dirname "$0")/.."

# Build dependencies (static archives included, for the fully static installer).
BUILD_PACKAGES=(
  g++ cmake ninja-build pkg-config git file
  libarchive-dev libzstd-dev libssl-dev libcurl4-openssl-dev libcli11-dev libyaml-cpp-dev
  googletest libacl1-dev liblz4-dev libattr1-dev zlib1g-dev
  clang libclang-rt-14-dev
)
# Real components the tests drive (scripts/rig/README.md).
TEST_PACKAGES=(
  zstd tar coreutils openssl nginx-light curl etcd-server etcd-client golang-cfssl
  containernetworking-plugins busybox-static iproute2 util-linux procps python3
  time python3-zstandard  # tests/cli/bounded_input.sh (peak memory), tests/conformance (second writer)
  docker-registry skopeo containerd runc umoci apache2-utils docker.io
  systemd systemd-container debootstrap
  ansible-core ansible-lint openssh-client   # tests/e2e/ansible.sh, tests/cli/ansible.sh
  shellcheck  # tests/lint/shellcheck.sh
  # scripts/rig/k8s-build.sh: real Kubernetes v1.20.2 from Debian's source, reflect2 1.0.2
  golang-go golang-github-modern-go-reflect2-dev make patch rsync
)
if [[ -n "${KUBEFERRY_EXTRA_PACKAGES:-}" ]]; then
  read -r -a extra <<<"$KUBEFERRY_EXTRA_PACKAGES"
  TEST_PACKAGES+=("${extra[@]}")
fi

missing=()
for p in "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[[ "${1:-}" == "--no-build" ]] && exit 0

BUILD_DIR="${BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKUBEFERRY_WERROR="${KUBEFERRY_WERROR:-OFF}" -DKUBEFERRY_FUZZ="${KUBEFERRY_FUZZ:-OFF}" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
echo "setup: built $BUILD_DIR/bin/kubeferry and $BUILD_DIR/bin/kubeferry-install"
