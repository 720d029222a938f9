// containerd for a Kubernetes node, offline. A distribution's containerd is set up for general
// use, not for the kubelet: Debian's /etc/containerd/config.toml points the CRI plugin's CNI at
// /usr/lib/cni (our plugins are in /opt/cni/bin), and every containerd takes its sandbox (pause)
// image from registry.k8s.io, which an air-gapped host cannot reach. So the node gets its own
// complete config:
// - containerd from the bundle (container_runtime_source: bundle) reads it where upstream's unit
//   makes it look, /etc/containerd/config.toml, which the install owns;
// - the host's own containerd (source: host) gets it as /opt/kubernetes/cfg/containerd.toml and a
//   systemd drop-in that starts containerd with it; the distribution's file is left as it was,
//   and comes back into use when the drop-in goes (uninstall).
// Registry mirrors stay the site's business, in containerd's standard hosts.toml folder, which
// the config names.
//
// The format follows the version (containerd's docs/cri/config.md at each tag):
//   1.x  version = 2, one CRI plugin "io.containerd.grpc.v1.cri" (sandbox_image, cni.bin_dir,
//        registry.config_path)                                     (v1.6.20 2806fc10)
//   2.0  version = 3, the CRI plugin split: "io.containerd.cri.v1.images" (pinned_images.sandbox,
//        registry.config_path) and "io.containerd.cri.v1.runtime" (runtimes, cni.bin_dir)
//                                                                   (v2.0.0 207ad711)
//   2.1+ the same with cni.bin_dirs, a list (bin_dir deprecated)    (v2.1.0 061792f0)
// The host's own containerd (version unknown to the plan) gets version 2, which 1.x reads.
#include "render/components.hpp"

namespace installer::render {

namespace {

std::string config_header(const RenderInput& in, bool from_bundle) {
  std::string out = "# containerd for the Kubernetes node " + in.host->name +
                    ". Written by kubeferry-install; changes are overwritten.\n";
  if (!from_bundle) {
    out += "# containerd.service reads this file instead of /etc/containerd/config.toml because of\n# " +
           in.paths.containerd_dropin + ".\n";
  }
  return out;
}

// Pulls: the site's registry settings, in containerd's own hosts.toml folder. `plugin` is the
// section of the CRI plugin that has them ("[plugins.\"...\"", without its closing bracket).
std::string registry_section(const std::string& plugin) {
  return "  " + plugin +
         ".registry]\n"
         "    # Mirrors, private CAs and credentials for pulls: one hosts.toml per registry in\n"
         "    # containerd's own layout (/etc/containerd/certs.d/REGISTRY/hosts.toml). kubeferry\n"
         "    # writes nothing there, so the site's settings survive installs and uninstalls.\n"
         "    config_path = \"/etc/containerd/certs.d\"\n";
}

// runc as the default runtime, with the kubelet's cgroup driver; `plugin` as above.
std::string runc_section(const RenderInput& in, const std::string& plugin) {
  const std::string driver(cgroup_driver(in));
  return "  " + plugin +
         ".containerd]\n"
         "    default_runtime_name = \"runc\"\n"
         "    " +
         plugin +
         ".containerd.runtimes.runc]\n"
         "      runtime_type = \"io.containerd.runc.v2\"\n"
         "      " +
         plugin +
         ".containerd.runtimes.runc.options]\n"
         "        # The kubelet's cgroupDriver is " +
         driver +
         " (kubelet-config.yml); the two must agree.\n"
         "        SystemdCgroup = " +
         (driver == "systemd" ? "true" : "false") + "\n";
}

constexpr const char* k_opt_section =
    "\n"
    "# The opt plugin's folder inside containerd's own state (its default is /opt/containerd).\n"
    "[plugins.\"io.containerd.internal.v1.opt\"]\n"
    "  path = \"/var/lib/containerd/opt\"\n";

// containerd 1.x: config version 2.
std::string config_v2(const RenderInput& in, const std::string& pause) {
  const Paths& p = in.paths;
  const std::string cri = "[plugins.\"io.containerd.grpc.v1.cri\"";
  return "version = 2\n"
         "\n" +
         cri +
         "]\n"
         "  # The bundle's pause image, loaded by kubeferry-install: never pulled.\n"
         "  sandbox_image = \"" +
         pause + "\"\n" + runc_section(in, cri) + "  " + cri +
         ".cni]\n"
         "    bin_dir = \"" +
         p.cni_bin_dir +
         "\"\n"
         "    conf_dir = \"" +
         p.cni_conf_dir + "\"\n" + registry_section(cri) + k_opt_section;
}

// containerd 2.x: config version 3.
std::string config_v3(const RenderInput& in, const std::string& pause) {
  const Paths& p = in.paths;
  const std::string images = "[plugins.\"io.containerd.cri.v1.images\"";
  const std::string runtime = "[plugins.\"io.containerd.cri.v1.runtime\"";
  const bool bin_dirs = in.versions.runtime.major > 2 || in.versions.runtime.minor >= 1;
  return "version = 3\n"
         "\n" +
         images +
         "]\n"
         "  " +
         images +
         ".pinned_images]\n"
         "    # The bundle's pause image, loaded by kubeferry-install: never pulled.\n"
         "    sandbox = \"" +
         pause + "\"\n" + registry_section(images) + "\n" + runtime + "]\n" + runc_section(in, runtime) + "  " +
         runtime + ".cni]\n" +
         (bin_dirs ? "    bin_dirs = [\"" + p.cni_bin_dir + "\"]\n" : "    bin_dir = \"" + p.cni_bin_dir + "\"\n") +
         "    conf_dir = \"" + p.cni_conf_dir + "\"\n" + k_opt_section;
}

}  // namespace

bool runtime_from_bundle(const RenderInput& in) {
  return in.inventory->container_runtime_source == RuntimeSource::bundle;
}

Result<RenderedFile> render_containerd_config(const RenderInput& in) {
  TRY_ASSIGN(const std::string pause, runtime_image(in, "pause"));
  const bool from_bundle = runtime_from_bundle(in);
  const Version& v = in.versions.runtime;
  if (from_bundle && (v.major < 1 || v.major > 2)) {
    return bundlespec::usage_error("containerd " + (v.text.empty() ? std::string("(no version)") : v.text) +
                                   ": kubeferry renders containerd config version 2 (1.x) or 3 (2.x) only");
  }
  std::string out =
      config_header(in, from_bundle) + (from_bundle && v.major == 2 ? config_v3(in, pause) : config_v2(in, pause));
  const std::string& path = from_bundle ? in.paths.containerd_default_config : in.paths.containerd_config;
  return RenderedFile{path, std::move(out), 0644, false};
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
