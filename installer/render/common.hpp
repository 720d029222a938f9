// Shared vocabulary of the renderers (installer/render/*.cpp): target paths, versions, image
// references, the rendered-file record, and the text helpers every component uses (KEY="--flag"
// environment files, systemd units, YAML quoting, base64).
//
// Every renderer is a pure function of (Inventory, Host, Versions, Paths, images, PKI kit) to
// file contents: no clock, no file system, no randomness, so the planner can print a digest of
// every file before anything is written and tests can compare exact lines.
// Thread-safety: value types and pure functions.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bundlespec/result.hpp"
#include "cluster/inventory.hpp"

namespace installer::render {

using bundlespec::Result;

// "v1.20.11" → {1, 20, 11}. Comparisons use (major, minor) for Kubernetes decisions.
struct Version {
  int major = 0;
  int minor = 0;
  int patch = 0;
  std::string text;  // as given, "v1.20.11"
  // True if this version is >= major.minor.
  bool at_least(int want_major, int want_minor) const {
    return major != want_major ? major > want_major : minor >= want_minor;
  }
};
// Parses "vMAJOR.MINOR.PATCH" (the leading v optional). Fails (usage) naming the text.
Result<Version> parse_version(std::string_view text);

struct Versions {
  Version kubernetes;  // decides which flags exist
  Version etcd;        // 3.4, 3.5 and 3.6 take the same settings here (VERSIONS.md)
  // The bundle's runtime files' versions (their origins in the index); empty text: not in it.
  Version containerd;
  Version docker;
  // The node's runtime from the bundle (containerd or docker, by the inventory's
  // container_runtime; make_plan picks it): decides its unit and config format. Empty text: the
  // host's own runtime (version unknown to the plan).
  Version runtime;
};

// --- version rules: each checked against upstream at a tag, cited in installer/render/VERSIONS.md ---
// The rules for the current lines start at 1.35, the first minor they were checked at; the
// output for older versions (the seed's 1.20) is unchanged.
inline constexpr int k_current_line_minor = 35;
// kubelet --pod-infra-container-image is gone from 1.35 (kubernetes#133779): the sandbox image
// is the runtime's (containerd's sandbox setting).
inline bool kubelet_has_pod_infra_flag(const Version& k8s) {
  return !k8s.at_least(1, k_current_line_minor);
}
// From 1.35 the kubelet's settings that have a KubeletConfiguration field go there
// (containerRuntimeEndpoint) instead of deprecated flags, and failCgroupV1 (default true) is
// written out: the kubelet refuses cgroup v1, so preflight requires cgroup v2.
inline bool kubelet_settings_in_config(const Version& k8s) {
  return k8s.at_least(1, k_current_line_minor);
}
inline bool requires_cgroup_v2(const Version& k8s) {
  return k8s.at_least(1, k_current_line_minor);
}
// kube-proxy's ipvs mode is deprecated from 1.35; iptables (still the default) from then on.
inline bool kube_proxy_ipvs(const Version& k8s) {
  return !k8s.at_least(1, k_current_line_minor);
}
// An audit policy file, without which --audit-log-path logs nothing (the seed's 1.20 flags).
inline bool apiserver_audit_policy(const Version& k8s) {
  return k8s.at_least(1, k_current_line_minor);
}

// Where things go on the target host. Defaults are the seed's layout (manifests/SOURCES.md, "Target layout"); tests
// move them under a scratch folder to run real daemons from the rendered files.
struct Paths {
  std::string etcd_dir = "/opt/etcd";  // bin/ cfg/ ssl/
  std::string etcd_data_dir = "/var/lib/etcd/default.etcd";
  std::string k8s_dir = "/opt/kubernetes";  // bin/ cfg/ ssl/ logs/ addons/
  std::string cni_bin_dir = "/opt/cni/bin";
  std::string cni_conf_dir = "/etc/cni/net.d";
  std::string unit_dir = "/usr/lib/systemd/system";
  std::string kubelet_dir = "/var/lib/kubelet";
  std::string cni_state_dir = "/var/lib/cni";             // host-local's address leases
  std::string dockershim_dir = "/var/lib/dockershim";     // dockershim's sandbox checkpoints
  std::string admin_kubeconfig = "/root/.kube/config";
  std::string sysctl_file = "/etc/sysctl.d/k8s.conf";
  std::string modules_file = "/etc/modules-load.d/k8s.conf";
  std::string hosts_file = "/etc/hosts";
  std::string containerd_socket = "/run/containerd/containerd.sock";
  // containerd's settings for a node, and the drop-in that makes containerd.service read them.
  std::string containerd_config = "/opt/kubernetes/cfg/containerd.toml";
  std::string containerd_dropin = "/etc/systemd/system/containerd.service.d/10-kubeferry.conf";
  // The runtime from the bundle, where upstream's install documents put it (manifests/README.md,
  // "The container runtime"): containerd's tarball under /usr/local, its unit in
  // /usr/local/lib/systemd/system, runc in /usr/local/sbin, docker's static binaries in /usr/bin.
  std::string containerd_bin_dir = "/usr/local/bin";
  std::string containerd_unit_dir = "/usr/local/lib/systemd/system";
  std::string containerd_default_config = "/etc/containerd/config.toml";
  std::string runc_path = "/usr/local/sbin/runc";
  std::string crictl_config = "/etc/crictl.yaml";
  std::string docker_bin_dir = "/usr/bin";
  std::string docker_daemon_json = "/etc/docker/daemon.json";
  // The opt plugin's folder of the containerd that dockerd starts: dockerd writes that
  // containerd's config itself, so the plugin keeps its default (the bundle's own containerd
  // keeps it below /var/lib/containerd, render/containerd.cpp).
  std::string docker_containerd_opt_dir = "/opt/containerd";

  std::string etcd_bin(std::string_view name) const { return etcd_dir + "/bin/" + std::string(name); }
  std::string etcd_cfg(std::string_view name) const { return etcd_dir + "/cfg/" + std::string(name); }
  std::string etcd_ssl(std::string_view name) const { return etcd_dir + "/ssl/" + std::string(name); }
  std::string k8s_bin(std::string_view name) const { return k8s_dir + "/bin/" + std::string(name); }
  std::string k8s_cfg(std::string_view name) const { return k8s_dir + "/cfg/" + std::string(name); }
  std::string k8s_ssl(std::string_view name) const { return k8s_dir + "/ssl/" + std::string(name); }
  std::string k8s_addon(std::string_view name) const { return k8s_dir + "/addons/" + std::string(name); }
  std::string k8s_logs() const { return k8s_dir + "/logs"; }
  std::string unit(std::string_view name) const { return unit_dir + "/" + std::string(name); }
};

// Image name ("pause", "coredns", "flannel", "flannel-cni-plugin") → "REPO:TAG@sha256:<64 hex>"
// (or "REPO@sha256:<64 hex>").
using ImageRefs = std::map<std::string, std::string>;
// Looks up `name` and checks it is pinned by digest. Fails (usage) with
// "image NAME: not in the bundle's image list" or "image NAME: REF is not pinned by digest
// (want REPO@sha256:<64 hex>)".
Result<std::string> pinned_image(const ImageRefs& images, const std::string& name);

// The PKI files a host received (its kit): PkiPaths-relative path → content.
using Kit = std::map<std::string, std::string>;
// The kit file or a failure "PKI kit: missing PATH".
Result<std::string> kit_file(const Kit& kit, const std::string& path);

// One file a renderer produced.
struct RenderedFile {
  std::string path;  // absolute target path
  std::string content;
  mode_t mode = 0644;
  bool secret = false;  // holds a key or token: never printed, mode 0600
};

// Everything a renderer may read.
struct RenderInput {
  const Inventory* inventory = nullptr;
  const Host* host = nullptr;
  Versions versions;
  Paths paths;
  ImageRefs images;
  Kit kit;
};

// The cgroup driver of the kubelet, and so of the runtime it drives ("cgroupfs"): the kubelet
// config, containerd's SystemdCgroup and docker's native.cgroupdriver all take it from here.
std::string_view cgroup_driver(const RenderInput& in);

// How this cluster's runtime finds the pinned image `name` offline, for kubelet flags, the
// containerd config and pod specs. containerd: the digest-pinned reference; the installer
// imports every image also under REPO@sha256:<digest>, the name containerd's CRI looks up for
// it. docker: REPO:TAG, because docker keeps digests only for images it pulled itself, never for
// loaded ones (a digest reference would make the kubelet pull); `images load` checked that the
// tag holds the pinned image. Fails like pinned_image(), and for docker when the reference has
// no tag ("image NAME: REF has no tag, and docker finds loaded images by tag only").
Result<std::string> runtime_image(const RenderInput& in, const std::string& name);

// --- text helpers ---

// A command line kept as ordered (flag, value) pairs; value "" renders as a bare "--flag".
using Flags = std::vector<std::pair<std::string, std::string>>;
// "--a=1", "--b" ...
std::vector<std::string> flag_words(const Flags& flags);
// VAR="--a=1 <backslash-newline> --b": one flag per line; systemd's EnvironmentFile joins the
// continuation lines.
std::string options_env_file(std::string_view comment, std::string_view variable, const Flags& flags);
// A Kubernetes component's options file k8s_cfg("<component>.conf") (0644, not secret): the
// options_env_file() of `flags` as `variable`, headed "<component> <version> on <host>".
RenderedFile component_options_file(const RenderInput& in, const std::string& component, std::string_view variable,
                                    const Flags& flags);

struct UnitSpec {
  std::string description;
  std::string documentation = "https://github.com/kubernetes/kubernetes";
  std::vector<std::string> after;
  std::vector<std::string> wants;
  std::vector<std::string> requires_units;
  std::string type;                     // "" or "notify"
  std::string environment_file;         // "" = none; rendered with a leading '-' when optional
  std::vector<std::string> exec_start;  // argv; continuation lines after the first
  std::string restart = "on-failure";
  int restart_sec = 5;
  int limit_nofile = 65536;
};
// A systemd unit with [Unit], [Service] and [Install] WantedBy=multi-user.target.
std::string render_unit(const UnitSpec& spec);

// Standard base64 (RFC 4648, with padding), no line breaks.
std::string base64(std::string_view data);
// A YAML double-quoted scalar.
std::string yaml_quote(std::string_view text);
// klog's file flags (--logtostderr=false, --log-dir) exist before Kubernetes 1.26 only; from
// 1.26 the components log to stderr (journald). Always "--v=2".
Flags logging_flags(const RenderInput& in);

// "https://ADDRESS:6443" for the first master; what nodes and kubeconfigs talk to.
std::string apiserver_url(const Inventory& inventory);
// The etcd client endpoints of every member, "https://A:2379,https://B:2379".
std::string etcd_client_urls(const Inventory& inventory);

inline constexpr int k_apiserver_port = 6443;
inline constexpr int k_etcd_client_port = 2379;
inline constexpr int k_etcd_peer_port = 2380;

}  // namespace installer::render
