// kubelet: options file, KubeletConfiguration and unit (manifests/SOURCES.md, "kubelet"), TLS bootstrap with
// bootstrap.kubeconfig. Runtime flags depend on the version: dockershim (docker,
// --network-plugin=cni) exists before 1.24 only; containerd is reached through
// --container-runtime-endpoint (plus --container-runtime=remote before 1.24).
#include "render/components.hpp"

namespace installer::render {

Result<Flags> kubelet_flags(const RenderInput& in) {
  const Paths& p = in.paths;
  const Version& k8s = in.versions.kubernetes;
  TRY_ASSIGN(const std::string pause, runtime_image(in, "pause"));
  Flags f = logging_flags(in);
  f.insert(f.end(), {
                        {"--hostname-override", in.host->name},
                        {"--kubeconfig", p.k8s_cfg("kubelet.kubeconfig")},  // written by TLS bootstrap
                        {"--bootstrap-kubeconfig", p.k8s_cfg("bootstrap.kubeconfig")},
                        {"--config", p.k8s_cfg("kubelet-config.yml")},
                        {"--cert-dir", p.kubelet_dir + "/pki"},
                    });
  const bool docker = in.inventory->container_runtime == ContainerRuntime::docker;
  if (!k8s.at_least(1, 24)) {
    if (docker) {
      f.insert(f.end(),
               {{"--network-plugin", "cni"}, {"--cni-bin-dir", p.cni_bin_dir}, {"--cni-conf-dir", p.cni_conf_dir}});
    } else {
      f.insert(f.end(),
               {{"--container-runtime", "remote"}, {"--container-runtime-endpoint", "unix://" + p.containerd_socket}});
    }
  } else if (!kubelet_settings_in_config(k8s)) {
    f.emplace_back("--container-runtime-endpoint", "unix://" + p.containerd_socket);
  }
  // The sandbox image as the runtime finds it offline (runtime_image): dockershim runs it; with
  // containerd the CRI sandbox image is containerd's (containerd.toml) and this only keeps the
  // kubelet's image garbage collection away from it. The flag is gone from 1.35.
  if (kubelet_has_pod_infra_flag(k8s)) f.emplace_back("--pod-infra-container-image", pause);
  return f;
}

Result<RenderedFile> render_kubelet_options(const RenderInput& in) {
  TRY_ASSIGN(const Flags flags, kubelet_flags(in));
  return component_options_file(in, "kubelet", "KUBELET_OPTS", flags);
}

RenderedFile render_kubelet_config(const RenderInput& in) {
  const Inventory& inv = *in.inventory;
  std::string out = "# KubeletConfiguration for " + in.host->name +
                    ". Written by kubeferry-install.\n"
                    "kind: KubeletConfiguration\n"
                    "apiVersion: kubelet.config.k8s.io/v1beta1\n"
                    "address: 0.0.0.0\n"
                    "port: 10250\n"
                    "readOnlyPort: 0\n"
                    "cgroupDriver: " +
                    std::string(cgroup_driver(in)) +
                    "\n"
                    "clusterDNS:\n"
                    "- " +
                    inv.dns_ip +
                    "\n"
                    "clusterDomain: " +
                    inv.domain +
                    "\n"
                    "failSwapOn: false\n"
                    "rotateCertificates: true\n"
                    "authentication:\n"
                    "  anonymous:\n"
                    "    enabled: false\n"
                    "  webhook:\n"
                    "    cacheTTL: 2m0s\n"
                    "    enabled: true\n"
                    "  x509:\n"
                    "    clientCAFile: " +
                    in.paths.k8s_ssl("ca.pem") +
                    "\n"
                    "authorization:\n"
                    "  mode: Webhook\n"
                    "  webhook:\n"
                    "    cacheAuthorizedTTL: 5m0s\n"
                    "    cacheUnauthorizedTTL: 30s\n"
                    "evictionHard:\n"
                    "  imagefs.available: 15%\n"
                    "  memory.available: 100Mi\n"
                    "  nodefs.available: 10%\n"
                    "  nodefs.inodesFree: 5%\n"
                    "maxOpenFiles: 1000000\n"
                    "maxPods: 110\n";
  if (kubelet_settings_in_config(in.versions.kubernetes)) {
    out += "containerRuntimeEndpoint: unix://" + in.paths.containerd_socket + "\n";
    out += "failCgroupV1: true\n";
  }
  return {in.paths.k8s_cfg("kubelet-config.yml"), out, 0644, false};
}

RenderedFile render_kubelet_unit(const RenderInput& in) {
  const std::string runtime =
      in.inventory->container_runtime == ContainerRuntime::docker ? "docker.service" : "containerd.service";
  UnitSpec spec;
  spec.description = "Kubernetes Kubelet";
  spec.after = {"network-online.target", runtime};
  spec.wants = {"network-online.target", runtime};
  spec.environment_file = "-" + in.paths.k8s_cfg("kubelet.conf");
  spec.exec_start = {in.paths.k8s_bin("kubelet"), "$KUBELET_OPTS"};
  return {in.paths.unit("kubelet.service"), render_unit(spec), 0644, false};
}

}  // namespace installer::render
