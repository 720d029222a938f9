// Host system files: sysctls, kernel modules loaded at boot, and the /etc/hosts block
// (manifests/SOURCES.md, "The procedure", step 1).
#include "render/components.hpp"

namespace installer::render {

std::vector<std::pair<std::string, std::string>> required_sysctls() {
  return {
      {"net.bridge.bridge-nf-call-ip6tables", "1"},
      {"net.bridge.bridge-nf-call-iptables", "1"},
      {"net.ipv4.ip_forward", "1"},
      {"net.ipv6.conf.all.disable_ipv6", "1"},
  };
}

RenderedFile render_sysctl(const RenderInput& in) {
  std::string out = "# Kubernetes networking sysctls. Written by kubeferry-install.\n";
  for (const auto& [key, value] : required_sysctls()) out += key + " = " + value + "\n";
  return {in.paths.sysctl_file, out, 0644, false};
}

std::vector<std::string> required_modules(const Host& host) {
  return required_modules(host, Version{1, 20, 0, "v1.20.0"});
}

std::vector<std::string> required_modules(const Host& host, const Version& k8s) {
  std::vector<std::string> out = {"br_netfilter", "overlay"};
  if (host.has(Role::node) && kube_proxy_ipvs(k8s)) {
    for (auto& module : ipvs_modules()) out.push_back(module);
  }
  return out;
}

RenderedFile render_modules_load(const RenderInput& in) {
  std::string out = "# Kernel modules for Kubernetes (bridge netfilter, overlayfs";
  const bool ipvs = in.host->has(Role::node) && kube_proxy_ipvs(in.versions.kubernetes);
  out += ipvs ? ", kube-proxy IPVS). Written by kubeferry-install.\n" : "). Written by kubeferry-install.\n";
  for (const auto& module : required_modules(*in.host, in.versions.kubernetes)) out += module + "\n";
  return {in.paths.modules_file, out, 0644, false};
}

std::string hosts_block_begin(const Inventory& inventory) {
  return "# BEGIN kubeferry cluster " + inventory.cluster_name;
}
std::string hosts_block_end(const Inventory& inventory) {
  return "# END kubeferry cluster " + inventory.cluster_name;
}

std::string hosts_block(const Inventory& inventory) {
  std::string out = hosts_block_begin(inventory) + "\n";
  for (const Host& host : inventory.hosts) out += host.address + " " + host.name + "\n";
  return out + hosts_block_end(inventory) + "\n";
}

}  // namespace installer::render
