// containerd for a Kubernetes node, offline. A distribution's containerd is set up for general
// use, not for the kubelet: Debian's /etc/containerd/config.toml points the CRI plugin's CNI at
// /usr/lib/cni (our plugins are in /opt/cni/bin), and every containerd takes its sandbox (pause)
// image from registry.k8s.io, which an air-gapped host cannot reach. So the node gets its own
// complete config and a systemd drop-in that starts containerd with it; the distribution's file
// is left as it was, and comes back into use when the drop-in goes (uninstall). Registry mirrors
// stay the site's business, in containerd's standard hosts.toml folder, which the config names.
#include "render/components.hpp"

namespace installer::render {

Result<RenderedFile> render_containerd_config(const RenderInput& in) {
  TRY_ASSIGN(const std::string pause, runtime_image(in, "pause"));
  const Paths& p = in.paths;
  const std::string cri = "[plugins.\"io.containerd.grpc.v1.cri\"";
  std::string out = "# containerd for the Kubernetes node " + in.host->name +
                    ". Written by kubeferry-install; changes are overwritten.\n"
                    "# containerd.service reads this file instead of /etc/containerd/config.toml because of\n"
                    "# " +
                    p.containerd_dropin +
                    ".\n"
                    "version = 2\n"
                    "\n" +
                    cri +
                    "]\n"
                    "  # The bundle's pause image, loaded by kubeferry-install: never pulled.\n"
                    "  sandbox_image = \"" +
                    pause +
                    "\"\n"
                    "  " +
                    cri +
                    ".containerd]\n"
                    "    default_runtime_name = \"runc\"\n"
                    "    " +
                    cri +
                    ".containerd.runtimes.runc]\n"
                    "      runtime_type = \"io.containerd.runc.v2\"\n"
                    "      " +
                    cri +
                    ".containerd.runtimes.runc.options]\n"
                    "        # The kubelet's cgroupDriver is cgroupfs (kubelet-config.yml); the two must agree.\n"
                    "        SystemdCgroup = false\n"
                    "  " +
                    cri +
                    ".cni]\n"
                    "    bin_dir = \"" +
                    p.cni_bin_dir +
                    "\"\n"
                    "    conf_dir = \"" +
                    p.cni_conf_dir +
                    "\"\n"
                    "  " +
                    cri +
                    ".registry]\n"
                    "    # Mirrors, private CAs and credentials for pulls: one hosts.toml per registry in\n"
                    "    # containerd's own layout (/etc/containerd/certs.d/REGISTRY/hosts.toml). kubeferry\n"
                    "    # writes nothing there, so the site's settings survive installs and uninstalls.\n"
                    "    config_path = \"/etc/containerd/certs.d\"\n"
                    "\n"
                    "# The opt plugin's folder inside containerd's own state (its default is /opt/containerd).\n"
                    "[plugins.\"io.containerd.internal.v1.opt\"]\n"
                    "  path = \"/var/lib/containerd/opt\"\n";
  return RenderedFile{p.containerd_config, std::move(out), 0644, false};
}

RenderedFile render_containerd_dropin(const RenderInput& in) {
  // The empty ExecStart= clears the packaged command. env finds containerd on systemd's PATH
  // (/usr/bin for distribution packages, /usr/local/bin for upstream tarballs) and execs it,
  // so containerd keeps the main PID that Type=notify needs.
  std::string out =
      "# Written by kubeferry-install; changes are overwritten. Removed by uninstall.\n"
      "[Service]\n"
      "ExecStart=\n"
      "ExecStart=/usr/bin/env containerd --config " +
      in.paths.containerd_config + "\n";
  return RenderedFile{in.paths.containerd_dropin, std::move(out), 0644, false};
}

}  // namespace installer::render
