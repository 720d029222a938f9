// kube-controller-manager: options file and unit (manifests/SOURCES.md, "kube-controller-manager").
// It has its own kubeconfig (no insecure port) and signs kubelet certificates for the inventory's
// validity.
#include "render/components.hpp"

namespace installer::render {

std::string signing_duration(const Inventory& inventory) {
  return std::to_string(inventory.pki.validity.count()) + "h0m0s";
}

Flags controller_manager_flags(const RenderInput& in) {
  const Inventory& inv = *in.inventory;
  const Paths& p = in.paths;
  const std::string kubeconfig = p.k8s_cfg("kube-controller-manager.kubeconfig");
  Flags f = logging_flags(in);
  f.insert(f.end(), {
                        {"--leader-elect", "true"},
                        {"--kubeconfig", kubeconfig},
                        {"--authentication-kubeconfig", kubeconfig},
                        {"--authorization-kubeconfig", kubeconfig},
                        {"--bind-address", "127.0.0.1"},
                    });
  // Before 1.22 the insecure health port still exists; keep it on loopback.
  if (!in.versions.kubernetes.at_least(1, 22)) f.emplace_back("--address", "127.0.0.1");
  f.insert(f.end(), {
                        {"--cluster-name", inv.cluster_name},
                        {"--allocate-node-cidrs", "true"},
                        {"--cluster-cidr", inv.pod_cidr},
                        {"--service-cluster-ip-range", inv.service_cidr},
                        {"--cluster-signing-cert-file", p.k8s_ssl("ca.pem")},
                        {"--cluster-signing-key-file", p.k8s_ssl("ca-key.pem")},
                        // The 1.19+ name; --experimental-cluster-signing-duration is gone from 1.25.
                        {"--cluster-signing-duration", signing_duration(inv)},
                        {"--root-ca-file", p.k8s_ssl("ca.pem")},
                        {"--service-account-private-key-file", p.k8s_ssl("sa.key")},
                        {"--use-service-account-credentials", "true"},
                    });
  return f;
}

RenderedFile render_controller_manager_options(const RenderInput& in) {
  return component_options_file(in, "kube-controller-manager", "KUBE_CONTROLLER_MANAGER_OPTS",
                                controller_manager_flags(in));
}

RenderedFile render_controller_manager_unit(const RenderInput& in) {
  UnitSpec spec;
  spec.description = "Kubernetes Controller Manager";
  spec.after = {"network.target", "kube-apiserver.service"};
  spec.environment_file = "-" + in.paths.k8s_cfg("kube-controller-manager.conf");
  spec.exec_start = {in.paths.k8s_bin("kube-controller-manager"), "$KUBE_CONTROLLER_MANAGER_OPTS"};
  return {in.paths.unit("kube-controller-manager.service"), render_unit(spec), 0644, false};
}

}  // namespace installer::render
