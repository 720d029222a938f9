#!/usr/bin/env bash
# The end-to-end cluster of tests/e2e/cluster.sh with docker (dockershim) as the nodes' runtime,
# as the seed runs Kubernetes 1.20: docker 20.10's static binaries come from the bundle (bare
# hosts), run by moby's units; images are loaded into it, the kubelet reaches it through dockershim.
exec env KF_E2E_RUNTIME=docker bash "$(dirname "$0")/cluster.sh"
