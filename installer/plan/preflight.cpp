#include "plan/preflight.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <sstream>

#include "bundlespec/text.hpp"

namespace installer {

namespace bs = bundlespec;

namespace {

std::string sysctl_path(const std::string& key) {
  std::string path = "/proc/sys/" + key;
  for (size_t i = 10; i < path.size(); ++i) {
    if (path[i] == '.') path[i] = '/';
  }
  return path;
}

std::string mib(uint64_t bytes) {
  return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB";
}

bool exists(Fs& fs, const std::string& path) {
  auto st = fs.stat(path);
  return st.ok() && st->has_value();
}

void check_swap(Fs& fs, std::vector<PreflightProblem>& out) {
  auto swaps = fs.read_file("/proc/swaps");
  if (!swaps.ok()) return;
  std::istringstream lines(*swaps);
  std::string line, devices;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    const std::string device = line.substr(0, line.find_first_of(" \t"));
    if (!device.empty()) devices += (devices.empty() ? "" : ", ") + device;
  }
  if (devices.empty()) return;
  out.push_back({"swap",
                 "swap is on (" + devices + "); kubelet needs it off. Run swapoff -a and remove it from /etc/fstab",
                 {"swapoff", "-a"}});
}

void check_sysctls(Fs& fs, const PreflightSpec& spec, std::vector<PreflightProblem>& out) {
  for (const auto& [key, want] : spec.sysctls) {
    auto value = fs.read_file(sysctl_path(key));
    if (!value.ok()) {
      const std::string hint = key.rfind("net.bridge.", 0) == 0 ? " (load br_netfilter first)" : "";
      out.push_back({"sysctl", key + " does not exist" + hint, {"sysctl", "-w", key + "=" + want}});
      continue;
    }
    const std::string have(bs::trim_end(*value));
    if (have != want)
      out.push_back({"sysctl", key + " is " + have + ", want " + want, {"sysctl", "-w", key + "=" + want}});
  }
}

// Modules compiled into the running kernel (/lib/modules/RELEASE/modules.builtin lists them as
// "kernel/net/bridge/br_netfilter.ko"): never loaded, always there, and not always visible in
// /sys/module. Names with '-' are the same module as with '_'.
std::set<std::string> builtin_modules(Fs& fs) {
  std::set<std::string> names;
  auto release = fs.read_file("/proc/sys/kernel/osrelease");
  if (!release.ok()) return names;
  std::string version = *release;
  while (!version.empty() && (version.back() == '\n' || version.back() == ' ')) version.pop_back();
  auto listing = fs.read_file("/lib/modules/" + version + "/modules.builtin");
  if (!listing.ok()) return names;
  std::istringstream lines(*listing);
  std::string line;
  while (std::getline(lines, line)) {
    std::string name = line.substr(line.rfind('/') + 1);
    if (name.size() > 3 && name.compare(name.size() - 3, 3, ".ko") == 0) name.resize(name.size() - 3);
    std::replace(name.begin(), name.end(), '-', '_');
    names.insert(name);
  }
  return names;
}

void check_modules(Fs& fs, const PreflightSpec& spec, std::vector<PreflightProblem>& out) {
  std::optional<std::set<std::string>> builtin;
  for (const auto& module : spec.modules) {
    if (exists(fs, "/sys/module/" + module)) continue;
    if (!builtin) builtin = builtin_modules(fs);
    if (builtin->count(module) != 0) continue;
    out.push_back({"module", "kernel module " + module + " is not loaded", {"modprobe", module}});
  }
}

// Listening TCP ports from /proc/net/tcp and tcp6 (state 0A).
std::set<int> listening_ports(Fs& fs) {
  std::set<int> ports;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    auto text = fs.read_file(table);
    if (!text.ok()) continue;
    std::istringstream lines(*text);
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      const size_t colon = local.rfind(':');
      if (state != "0A" || colon == std::string::npos) continue;
      ports.insert(static_cast<int>(std::strtol(local.c_str() + colon + 1, nullptr, 16)));
    }
  }
  return ports;
}

void check_ports(Fs& fs, const PreflightSpec& spec, const std::set<int>& own, std::vector<PreflightProblem>& out) {
  const std::set<int> busy = listening_ports(fs);
  for (int port : spec.ports) {
    if (busy.count(port) != 0 && own.count(port) == 0) {
      out.push_back({"port", "TCP port " + std::to_string(port) + " is already in use by another program", {}});
    }
  }
}

void check_space(Fs& fs, const PreflightSpec& spec, std::vector<PreflightProblem>& out) {
  for (const auto& [folder, bytes] : spec.space) {
    const uint64_t need = bytes + bytes / 10 + (uint64_t{16} << 20);  // 10% and 16 MiB of slack
    auto free = fs.free_bytes(folder);
    if (!free.ok()) {
      out.push_back({"disk", folder + ": " + free.error().message(), {}});
    } else if (*free < need) {
      out.push_back({"disk", folder + " has " + mib(*free) + " free, the install needs " + mib(need), {}});
    }
  }
}

void check_clock(const PreflightSpec& spec, std::time_t now, std::vector<PreflightProblem>& out) {
  if (spec.not_before == 0 || now >= spec.not_before) return;
  out.push_back({"clock",
                 "the clock (" + std::to_string(now) + ") is behind the certificates' notBefore (" +
                     std::to_string(spec.not_before) + "): they would be rejected. Set the time (a local NTP server)",
                 {}});
}

// Host programs the components exec: found in the directories of systemd's default PATH.
void check_tools(Fs& fs, const PreflightSpec& spec, std::vector<PreflightProblem>& out) {
  for (const auto& [tool, why] : spec.tools) {
    bool found = false;
    for (const char* dir : {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
      found = found || exists(fs, std::string(dir) + "/" + tool);
    }
    if (found) continue;
    const std::string package =
        tool == "conntrack" ? "package conntrack; CentOS/RHEL: conntrack-tools" : "package " + tool;
    out.push_back(
        {"tool",
         tool + " is not installed (needed by " + why + "): install it from the distribution's media (" + package + ")",
         {}});
  }
}

// The kubelet uses the cgroupfs driver (kubelet-config.yml) and, with dockershim, refuses to
// start when docker's differs. docker takes "native.cgroupdriver=..." from daemon.json, else
// systemd on a cgroup v2 host (docker >= 20.10) and cgroupfs on cgroup v1.
void check_docker_cgroup_driver(Fs& fs, std::vector<PreflightProblem>& out) {
  const auto config = fs.read_file("/etc/docker/daemon.json");
  const bool says_systemd = config.ok() && config->find("native.cgroupdriver=systemd") != std::string::npos;
  const bool says_cgroupfs = config.ok() && config->find("native.cgroupdriver=cgroupfs") != std::string::npos;
  const bool cgroup_v2 = exists(fs, "/sys/fs/cgroup/cgroup.controllers");
  if (says_cgroupfs || (!says_systemd && !cgroup_v2)) return;
  out.push_back({"runtime",
                 std::string("docker uses the systemd cgroup driver here (") +
                     (says_systemd ? "/etc/docker/daemon.json says so" : "its default on a cgroup v2 host") +
                     ") and the kubelet cgroupfs; they must agree. Set \"exec-opts\": "
                     "[\"native.cgroupdriver=cgroupfs\"] in /etc/docker/daemon.json and restart docker",
                 {}});
}

// The bundle's runtime is wanted: one that kubeferry did not install, running or laid out where
// the bundle's goes, would be taken over or shadowed. Both ways out are named.
void check_foreign_runtime(Fs& fs, const PreflightSpec& spec, const std::set<std::string>& own,
                           std::vector<PreflightProblem>& out) {
  const bool docker = *spec.runtime == ContainerRuntime::docker;
  const std::string name = docker ? "docker" : "containerd";
  if (own.count(name + ".service") != 0) return;  // ours, from an earlier install
  const std::vector<std::string> sockets =
      docker ? std::vector<std::string>{"/run/docker.sock", "/var/run/docker.sock"}
             : std::vector<std::string>{"/run/containerd/containerd.sock"};
  const std::vector<std::string> files =
      docker ? std::vector<std::string>{"/usr/bin/dockerd", "/usr/sbin/dockerd", "/usr/lib/systemd/system/docker.service",
                                        "/lib/systemd/system/docker.service"}
             : std::vector<std::string>{"/usr/local/bin/containerd", "/usr/local/lib/systemd/system/containerd.service",
                                        "/usr/bin/containerd"};
  std::string found;
  for (const auto& socket : sockets) {
    if (found.empty() && exists(fs, socket)) found = "is already running here (" + socket + ")";
  }
  for (const auto& file : files) {
    if (found.empty() && exists(fs, file)) found = "is already installed here (" + file + ")";
  }
  if (found.empty()) return;
  const std::string wanted = "the bundle's " + name + (spec.runtime_version.empty() ? "" : " " + spec.runtime_version);
  out.push_back({"runtime", name + " " + found + " and kubeferry did not install it, but the inventory wants " + wanted +
                                " (container_runtime_source: bundle). Either use the host's " + name +
                                ": set container_runtime_source: host; or remove it first (systemctl disable --now " +
                                name + ", then its package) so that " + wanted + " is installed",
                 {}});
}

void check_runtime(Fs& fs, const PreflightSpec& spec, const std::set<std::string>& own,
                   std::vector<PreflightProblem>& out) {
  if (!spec.runtime) return;
  if (spec.runtime_source == RuntimeSource::bundle) return check_foreign_runtime(fs, spec, own, out);
  if (*spec.runtime == ContainerRuntime::containerd) {
    if (exists(fs, "/run/containerd/containerd.sock")) return;
    const bool installed = exists(fs, "/usr/bin/containerd") || exists(fs, "/usr/local/bin/containerd");
    out.push_back({"runtime",
                   installed ? "containerd is installed but not running (no /run/containerd/containerd.sock): "
                               "systemctl enable --now containerd"
                             : "containerd is not installed (node roles need a running container runtime)",
                   {}});
    return;
  }
  if (exists(fs, "/run/docker.sock") || exists(fs, "/var/run/docker.sock")) {
    check_docker_cgroup_driver(fs, out);
    return;
  }
  const bool installed = exists(fs, "/usr/bin/dockerd") || exists(fs, "/usr/local/bin/dockerd");
  out.push_back({"runtime",
                 installed ? "docker is installed but not running (no /run/docker.sock): systemctl enable --now docker"
                           : "docker is not installed (node roles need a running container runtime)",
                 {}});
}

// The kubelet of 1.35+ refuses cgroup v1 (failCgroupV1, render/VERSIONS.md): the file system
// mounted at /sys/fs/cgroup must be cgroup2 (the last mount there wins, as in the kernel).
void check_cgroup(Fs& fs, const PreflightSpec& spec, std::vector<PreflightProblem>& out) {
  if (!spec.cgroup_v2) return;
  auto mounts = fs.read_file("/proc/self/mounts");
  if (!mounts.ok()) {
    out.push_back({"cgroup", "cannot read /proc/self/mounts: " + mounts.error().message(), {}});
    return;
  }
  std::string type;
  std::istringstream lines(*mounts);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string device, mount_point, fs_type;
    if (fields >> device >> mount_point >> fs_type && mount_point == "/sys/fs/cgroup") type = fs_type;
  }
  if (type == "cgroup2") return;
  out.push_back({"cgroup",
                 (type.empty() ? std::string("nothing is mounted at /sys/fs/cgroup")
                               : "/sys/fs/cgroup is " + type + ", i.e. cgroup v1") +
                     "; this Kubernetes version's kubelet refuses cgroup v1 (failCgroupV1): boot the host with the "
                     "unified hierarchy (kernel argument systemd.unified_cgroup_hierarchy=1)",
                 {}});
}

}  // namespace

std::vector<PreflightProblem> run_preflight(const PreflightSpec& spec, const PreflightContext& context) {
  std::vector<PreflightProblem> out;
  if (context.live) {
    check_swap(*context.system, out);
    check_sysctls(*context.system, spec, out);
    check_modules(*context.system, spec, out);
    check_ports(*context.system, spec, context.own_ports, out);
  }
  check_space(*context.target, spec, out);
  check_clock(spec, context.now, out);
  if (context.live) {
    check_runtime(*context.system, spec, context.own_units, out);
    check_cgroup(*context.system, spec, out);
    check_tools(*context.system, spec, out);
  }
  return out;
}

std::string format_preflight(const std::string& host, const std::vector<PreflightProblem>& problems) {
  std::string out = "preflight found " + std::to_string(problems.size()) +
                    (problems.size() == 1 ? " problem" : " problems") + " on " + host + ":";
  bool fixable = false;
  for (const auto& p : problems) {
    out += "\n  - " + p.check + ": " + p.message;
    fixable = fixable || !p.fix.empty();
  }
  if (fixable) out += "\nrun again with --fix to apply the safe fixes (swapoff, modprobe, sysctl)";
  return out;
}

}  // namespace installer
