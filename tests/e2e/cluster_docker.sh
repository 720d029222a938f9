#!/usr/bin/env bash
# The end-to-end cluster of tests/e2e/cluster.sh with docker (dockershim) as the nodes' runtime,
# as the seed runs Kubernetes 1.20: docker is the hosts' own (started before the install),
# images are loaded into it, the kubelet reaches it through dockershim.
exec env KF_E2E_RUNTIME=docker bash "$(dirname "$0")/cluster.sh"
