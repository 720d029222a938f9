// One renderer per component (installer/render/<component>.cpp). Each takes a RenderInput
// (inventory, this host, versions, paths, pinned images, PKI kit) and returns the exact
// contents of one file. Version-aware: a flag is rendered only for the Kubernetes versions that
// have it (see each *_flags() for the rules and manifests/SOURCES.md, "Components", for the sources).
// The *_flags() functions are exposed so tests can assert exact flags.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "render/common.hpp"

namespace installer::render {

// --- etcd (etcd.cpp) ---
// /opt/etcd/cfg/etcd.conf: ETCD_NAME, ETCD_DATA_DIR, listen/advertise URLs and the initial
// cluster, as environment variables. Everything else is a flag of the unit: etcd >= 3.4 exits
// when one setting is given both ways, so each setting lives in exactly one place.
RenderedFile render_etcd_env(const RenderInput& in);
// The flags of etcd.service's ExecStart (TLS only).
Flags etcd_flags(const RenderInput& in);
RenderedFile render_etcd_unit(const RenderInput& in);

// --- kube-apiserver (apiserver.cpp) ---
Flags apiserver_flags(const RenderInput& in);
RenderedFile render_apiserver_options(const RenderInput& in);  // cfg/kube-apiserver.conf
RenderedFile render_apiserver_unit(const RenderInput& in);
// k8s_cfg("audit-policy.yaml"): the policy --audit-policy-file names (apiserver_audit_policy()):
// metadata for every request, nothing for the health and version endpoints, no bodies of
// secrets, configmaps or token reviews. nullopt for versions that render none.
std::optional<RenderedFile> render_audit_policy(const RenderInput& in);

// --- kube-controller-manager (controller_manager.cpp) ---
Flags controller_manager_flags(const RenderInput& in);
RenderedFile render_controller_manager_options(const RenderInput& in);
RenderedFile render_controller_manager_unit(const RenderInput& in);
// "87600h0m0s" for 87600 hours: the signing duration of kubelet certificates.
std::string signing_duration(const Inventory& inventory);

// --- kube-scheduler (scheduler.cpp) ---
Flags scheduler_flags(const RenderInput& in);
RenderedFile render_scheduler_options(const RenderInput& in);
RenderedFile render_scheduler_unit(const RenderInput& in);

// --- kubelet (kubelet.cpp) ---
Result<Flags> kubelet_flags(const RenderInput& in);  // fails if the pause image is not pinned
Result<RenderedFile> render_kubelet_options(const RenderInput& in);
RenderedFile render_kubelet_config(const RenderInput& in);  // KubeletConfiguration
RenderedFile render_kubelet_unit(const RenderInput& in);

// --- kube-proxy (kube_proxy.cpp) ---
Flags kube_proxy_flags(const RenderInput& in);
RenderedFile render_kube_proxy_options(const RenderInput& in);
RenderedFile render_kube_proxy_config(const RenderInput& in);  // KubeProxyConfiguration
RenderedFile render_kube_proxy_unit(const RenderInput& in);
// Kernel modules IPVS mode needs.
std::vector<std::string> ipvs_modules();

// --- containerd on nodes whose runtime is containerd (containerd.cpp) ---
// True when the inventory says the node's runtime comes from the bundle (the default).
bool runtime_from_bundle(const RenderInput& in);
// A complete containerd config for the kubelet: the bundle's pause image as the CRI sandbox
// image, runc with the kubelet's cgroup driver, and the CNI folders the installer fills.
// Runtime from the bundle: paths.containerd_default_config, config version 2 for containerd 1.x
// and version 3 for 2.x (versions.runtime); the host's own: paths.containerd_config, version 2.
// Fails if the pause image is not pinned, or (bundle) for a containerd that is not 1.x or 2.x.
Result<RenderedFile> render_containerd_config(const RenderInput& in);
// paths.containerd_dropin: makes the host's containerd.service start containerd with that config.
RenderedFile render_containerd_dropin(const RenderInput& in);

// --- the runtime from the bundle (runtime.cpp) ---
// Upstream's containerd.service (ExecStart=/usr/local/bin/containerd) at version `v`, byte for
// byte; fails (usage) outside v1.5.0..v2.3.x, naming the range.
Result<std::string> upstream_containerd_unit(const Version& v);
// moby's contrib/init/systemd/docker.service and docker.socket at version `v`; fails (usage)
// outside v20.10.1..v20.10.27.
Result<std::pair<std::string, std::string>> upstream_docker_units(const Version& v);
// paths.containerd_unit_dir/containerd.service for versions.runtime.
Result<RenderedFile> render_containerd_unit(const RenderInput& in);
// paths.unit_dir/docker.service and docker.socket for versions.runtime.
Result<std::vector<RenderedFile>> render_docker_units(const RenderInput& in);
// paths.docker_daemon_json: docker's cgroup driver = the kubelet's.
RenderedFile render_docker_daemon_json(const RenderInput& in);
// paths.crictl_config: crictl's runtime and image endpoints, containerd's socket.
RenderedFile render_crictl_config(const RenderInput& in);

// --- kubeconfigs (kubeconfig.cpp), all 0600 with embedded certificate data ---
struct KubeconfigSpec {
  std::string cluster = "kubernetes";
  std::string server;  // https://ADDRESS:6443
  std::string ca_pem;
  std::string user;
  std::string cert_pem;  // client certificate, or empty with token
  std::string key_pem;
  std::string token;
};
std::string render_kubeconfig(const KubeconfigSpec& spec);
Result<RenderedFile> render_admin_kubeconfig(const RenderInput& in);  // /root/.kube/config
Result<RenderedFile> render_controller_manager_kubeconfig(const RenderInput& in);
Result<RenderedFile> render_scheduler_kubeconfig(const RenderInput& in);
Result<RenderedFile> render_kube_proxy_kubeconfig(const RenderInput& in);
Result<RenderedFile> render_bootstrap_kubeconfig(const RenderInput& in);  // token auth

// --- host system files (system.cpp) ---
RenderedFile render_sysctl(const RenderInput& in);  // /etc/sysctl.d/k8s.conf
// The sysctls render_sysctl sets, "key" → "value", in file order.
std::vector<std::pair<std::string, std::string>> required_sysctls();
// br_netfilter, overlay (+ IPVS on nodes while kube-proxy runs in IPVS mode: kube_proxy_ipvs()).
std::vector<std::string> required_modules(const Host& host, const Version& kubernetes);
std::vector<std::string> required_modules(const Host& host);  // as for Kubernetes 1.20
RenderedFile render_modules_load(const RenderInput& in);      // /etc/modules-load.d/k8s.conf
// The managed block of /etc/hosts: "# BEGIN kubeferry <cluster>" … "# END kubeferry <cluster>",
// one "ADDRESS NAME" line per host.
std::string hosts_block(const Inventory& inventory);
std::string hosts_block_begin(const Inventory& inventory);
std::string hosts_block_end(const Inventory& inventory);

// --- cluster add-ons, applied by the first master (rbac.cpp, flannel.cpp, coredns.cpp) ---
// kubelet-bootstrap → system:node-bootstrapper; automatic approval of node client CSRs
// (nodeclient for the bootstrap user, selfnodeclient for renewals by system:nodes); and the
// apiserver's access to the kubelet API (user "kubernetes", the apiserver certificate's CN).
RenderedFile render_rbac(const RenderInput& in);
// flannel: VXLAN over the pod CIDR. Images "flannel" (required) and "flannel-cni-plugin"
// (optional: an init container installing the flannel CNI binary, for flannel >= 0.15.1).
// A PodSecurityPolicy is rendered only for Kubernetes < 1.25 (the API is gone after).
Result<RenderedFile> render_flannel(const RenderInput& in);
// The node's CNI configuration, byte for byte what flannel's init container copies there
// (10-flannel.conflist): written by the install so that the node is network-ready on its own
// and the file is the install's (uninstall removes it).
RenderedFile render_flannel_cni_conflist(const RenderInput& in);
// CoreDNS: Service kube-dns at dns_ip, Corefile for the cluster domain. Image "coredns".
Result<RenderedFile> render_coredns(const RenderInput& in);

}  // namespace installer::render
