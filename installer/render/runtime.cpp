// The container runtime from the bundle: upstream's systemd units, byte for byte, for the
// version the bundle carries, and the small settings files that tie the runtime to the kubelet.
//
// The units are not ours to design: each is the file upstream ships at that tag, so an operator
// who compares the host with upstream's install documents finds exactly what they describe
// (manifests/README.md, "The container runtime"). Where upstream's text changed between tags,
// the table below names the first tag of each variant, read in the repository at that tag:
//
//   containerd.service (containerd/containerd, file containerd.service at the repository root)
//     v1.5.0 .. v1.6.36   After=network.target local-fs.target          (v1.5.5 72cec4be, v1.6.20 2806fc10)
//     v1.6.37 .. v1.6.x   After=... local-fs.target dbus.service        (v1.6.37 cfc13b6d)
//     v1.7.0 .. v1.7.23   + the commented ENABLE_CRI_SANDBOXES lines    (v1.7.0 1fbd7037)
//     v1.7.24 .. v1.7.x   the same with dbus.service                    (v1.7.24 88bf19b2)
//     v2.0.x              no LimitNOFILE, blank lines around the limits (v2.0.0 207ad711)
//     v2.1.0 .. v2.3.x    After=network.target dbus.service             (v2.1.0 061792f0, v2.3.4 db880954)
//   docker.service, docker.socket (moby/moby contrib/init/systemd/)
//     v20.10.1 .. v20.10.27, one text                                   (v20.10.8 75249d88, v20.10.24 5d6db842)
// tests/unit/installer/runtime_render_test.cpp checks each variant's sha256 against the file at
// those commits. Versions outside the table are refused rather than guessed.
#include "render/components.hpp"

namespace installer::render {

namespace {

bool before(const Version& v, int major, int minor, int patch) {
  if (v.major != major) return v.major < major;
  if (v.minor != minor) return v.minor < minor;
  return v.patch < patch;
}

constexpr std::string_view k_containerd_license =
    "# Copyright The containerd Authors.\n"
    "#\n"
    "# Licensed under the Apache License, Version 2.0 (the \"License\");\n"
    "# you may not use this file except in compliance with the License.\n"
    "# You may obtain a copy of the License at\n"
    "#\n"
    "#     http://www.apache.org/licenses/LICENSE-2.0\n"
    "#\n"
    "# Unless required by applicable law or agreed to in writing, software\n"
    "# distributed under the License is distributed on an \"AS IS\" BASIS,\n"
    "# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.\n"
    "# See the License for the specific language governing permissions and\n"
    "# limitations under the License.\n"
    "\n";

}  // namespace

Result<std::string> upstream_containerd_unit(const Version& v) {
  if (before(v, 1, 5, 0) || !before(v, 2, 4, 0)) {
    return bundlespec::usage_error("containerd " + v.text +
                                   ": kubeferry knows upstream's containerd.service for v1.5.0 to v2.3.x only");
  }
  const bool v2 = v.major == 2;
  const bool sandboxes_comment = v.major == 1 && v.minor == 7;
  const bool dbus = v2 || (v.minor == 6 && !before(v, 1, 6, 37)) || (v.minor == 7 && !before(v, 1, 7, 24));
  const bool local_fs = before(v, 2, 1, 0);
  std::string after = "network.target";
  if (local_fs) after += " local-fs.target";
  if (dbus) after += " dbus.service";
  std::string out(k_containerd_license);
  out += "[Unit]\n"
         "Description=containerd container runtime\n"
         "Documentation=https://containerd.io\n"
         "After=" +
         after +
         "\n"
         "\n"
         "[Service]\n";
  if (sandboxes_comment) {
    out += "#uncomment to enable the experimental sbservice (sandboxed) version of containerd/cri integration\n"
           "#Environment=\"ENABLE_CRI_SANDBOXES=sandboxed\"\n";
  }
  out += "ExecStartPre=-/sbin/modprobe overlay\n"
         "ExecStart=/usr/local/bin/containerd\n"
         "\n"
         "Type=notify\n"
         "Delegate=yes\n"
         "KillMode=process\n"
         "Restart=always\n"
         "RestartSec=5\n";
  if (v2) out += "\n";
  out += "# Having non-zero Limit*s causes performance problems due to accounting overhead\n"
         "# in the kernel. We recommend using cgroups to do container-local accounting.\n"
         "LimitNPROC=infinity\n"
         "LimitCORE=infinity\n";
  out += v2 ? "\n" : "LimitNOFILE=infinity\n";
  out += "# Comment TasksMax if your systemd version does not supports it.\n"
         "# Only systemd 226 and above support this version.\n"
         "TasksMax=infinity\n"
         "OOMScoreAdjust=-999\n"
         "\n"
         "[Install]\n"
         "WantedBy=multi-user.target\n";
  return out;
}

Result<std::pair<std::string, std::string>> upstream_docker_units(const Version& v) {
  if (v.major != 20 || v.minor != 10 || v.patch < 1 || v.patch > 27) {
    return bundlespec::usage_error("docker " + v.text +
                                   ": kubeferry knows moby's docker.service and docker.socket for v20.10.1 to "
                                   "v20.10.27 only (the docker of dockershim, removed in Kubernetes 1.24)");
  }
  std::string service =
      "[Unit]\n"
      "Description=Docker Application Container Engine\n"
      "Documentation=https://docs.docker.com\n"
      "After=network-online.target docker.socket firewalld.service\n"
      "Wants=network-online.target\n"
      "Requires=docker.socket\n"
      "\n"
      "[Service]\n"
      "Type=notify\n"
      "# the default is not to use systemd for cgroups because the delegate issues still\n"
      "# exists and systemd currently does not support the cgroup feature set required\n"
      "# for containers run by docker\n"
      "ExecStart=/usr/bin/dockerd -H fd://\n"
      "ExecReload=/bin/kill -s HUP $MAINPID\n"
      "LimitNOFILE=1048576\n"
      "# Having non-zero Limit*s causes performance problems due to accounting overhead\n"
      "# in the kernel. We recommend using cgroups to do container-local accounting.\n"
      "LimitNPROC=infinity\n"
      "LimitCORE=infinity\n"
      "# Uncomment TasksMax if your systemd version supports it.\n"
      "# Only systemd 226 and above support this version.\n"
      "#TasksMax=infinity\n"
      "TimeoutStartSec=0\n"
      "# set delegate yes so that systemd does not reset the cgroups of docker containers\n"
      "Delegate=yes\n"
      "# kill only the docker process, not all processes in the cgroup\n"
      "KillMode=process\n"
      "# restart the docker process if it exits prematurely\n"
      "Restart=on-failure\n"
      "StartLimitBurst=3\n"
      "StartLimitInterval=60s\n"
      "\n"
      "[Install]\n"
      "WantedBy=multi-user.target\n";
  std::string socket =
      "[Unit]\n"
      "Description=Docker Socket for the API\n"
      "\n"
      "[Socket]\n"
      "# If /var/run is not implemented as a symlink to /run, you may need to\n"
      "# specify ListenStream=/var/run/docker.sock instead.\n"
      "ListenStream=/run/docker.sock\n"
      "SocketMode=0660\n"
      "SocketUser=root\n"
      "SocketGroup=docker\n"
      "\n"
      "[Install]\n"
      "WantedBy=sockets.target\n";
  return std::pair{std::move(service), std::move(socket)};
}

Result<RenderedFile> render_containerd_unit(const RenderInput& in) {
  TRY_ASSIGN(std::string unit, upstream_containerd_unit(in.versions.runtime));
  return RenderedFile{in.paths.containerd_unit_dir + "/containerd.service", std::move(unit), 0644, false};
}

Result<std::vector<RenderedFile>> render_docker_units(const RenderInput& in) {
  TRY_ASSIGN(auto units, upstream_docker_units(in.versions.runtime));
  return std::vector<RenderedFile>{{in.paths.unit("docker.service"), std::move(units.first), 0644, false},
                                   {in.paths.unit("docker.socket"), std::move(units.second), 0644, false}};
}

RenderedFile render_docker_daemon_json(const RenderInput& in) {
  // dockershim refuses to start when docker's cgroup driver differs from the kubelet's; docker's
  // own default depends on the host's cgroup version, so it is said here.
  std::string out = "{\n  \"exec-opts\": [\"native.cgroupdriver=" + std::string(cgroup_driver(in)) + "\"]\n}\n";
  return {in.paths.docker_daemon_json, std::move(out), 0644, false};
}

RenderedFile render_crictl_config(const RenderInput& in) {
  const std::string socket = "unix://" + in.paths.containerd_socket;
  std::string out = "# crictl talks to the node's containerd. Written by kubeferry-install.\n"
                    "runtime-endpoint: " +
                    socket + "\nimage-endpoint: " + socket + "\n";
  return {in.paths.crictl_config, std::move(out), 0644, false};
}

}  // namespace installer::render
