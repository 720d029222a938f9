// kube-scheduler: options file and unit (manifests/SOURCES.md, "kube-scheduler"), with its own kubeconfig.
#include "render/components.hpp"

namespace installer::render {

Flags scheduler_flags(const RenderInput& in) {
  const std::string kubeconfig = in.paths.k8s_cfg("kube-scheduler.kubeconfig");
  Flags f = logging_flags(in);
  f.insert(f.end(), {
                        {"--leader-elect", "true"},
                        {"--kubeconfig", kubeconfig},
                        {"--authentication-kubeconfig", kubeconfig},
                        {"--authorization-kubeconfig", kubeconfig},
                        {"--bind-address", "127.0.0.1"},
                    });
  if (!in.versions.kubernetes.at_least(1, 22)) f.emplace_back("--address", "127.0.0.1");
  return f;
}

RenderedFile render_scheduler_options(const RenderInput& in) {
  return component_options_file(in, "kube-scheduler", "KUBE_SCHEDULER_OPTS", scheduler_flags(in));
}

RenderedFile render_scheduler_unit(const RenderInput& in) {
  UnitSpec spec;
  spec.description = "Kubernetes Scheduler";
  spec.after = {"network.target", "kube-apiserver.service"};
  spec.environment_file = "-" + in.paths.k8s_cfg("kube-scheduler.conf");
  spec.exec_start = {in.paths.k8s_bin("kube-scheduler"), "$KUBE_SCHEDULER_OPTS"};
  return {in.paths.unit("kube-scheduler.service"), render_unit(spec), 0644, false};
}

}  // namespace installer::render
