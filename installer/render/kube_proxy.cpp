// kube-proxy: options file, KubeProxyConfiguration (IPVS mode before 1.35, iptables from 1.35:
// kube_proxy_ipvs()), unit (manifests/SOURCES.md,
// "kube-proxy").
#include "render/components.hpp"

namespace installer::render {

std::vector<std::string> ipvs_modules() {
  return {"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", "nf_conntrack"};
}

Flags kube_proxy_flags(const RenderInput& in) {
  Flags f = logging_flags(in);
  f.emplace_back("--config", in.paths.k8s_cfg("kube-proxy-config.yml"));
  return f;
}

RenderedFile render_kube_proxy_options(const RenderInput& in) {
  return component_options_file(in, "kube-proxy", "KUBE_PROXY_OPTS", kube_proxy_flags(in));
}

RenderedFile render_kube_proxy_config(const RenderInput& in) {
  std::string out = "# KubeProxyConfiguration for " + in.host->name +
                    ". Written by kubeferry-install.\n"
                    "kind: KubeProxyConfiguration\n"
                    "apiVersion: kubeproxy.config.k8s.io/v1alpha1\n"
                    "bindAddress: 0.0.0.0\n"
                    "metricsBindAddress: 0.0.0.0:10249\n"
                    "clientConnection:\n"
                    "  kubeconfig: " +
                    in.paths.k8s_cfg("kube-proxy.kubeconfig") +
                    "\n"
                    "hostnameOverride: " +
                    in.host->name +
                    "\n"
                    "clusterCIDR: " +
                    in.inventory->pod_cidr + "\n";
  out += kube_proxy_ipvs(in.versions.kubernetes) ? "mode: ipvs\nipvs:\n  scheduler: rr\n" : "mode: iptables\n";
  return {in.paths.k8s_cfg("kube-proxy-config.yml"), out, 0644, false};
}

RenderedFile render_kube_proxy_unit(const RenderInput& in) {
  UnitSpec spec;
  spec.description = "Kubernetes Proxy";
  spec.after = {"network.target"};
  spec.environment_file = "-" + in.paths.k8s_cfg("kube-proxy.conf");
  spec.exec_start = {in.paths.k8s_bin("kube-proxy"), "$KUBE_PROXY_OPTS"};
  return {in.paths.unit("kube-proxy.service"), render_unit(spec), 0644, false};
}

}  // namespace installer::render
