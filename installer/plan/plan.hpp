// The pure planner: (inventory, this host, versions, bundle contents, PKI kit) → the ordered
// steps that turn a bare host into its roles. `plan --json` prints it; `install` applies it
// (apply/apply.hpp). Nothing here reads the clock, the disk or the network, so the same
// inputs always give the same plan, byte for byte.
//
// Step order (each kind only where the host's roles need it):
//   preflight · dir (layout) · file (sysctl, modules, /etc/hosts block) · command (modprobe,
//   sysctl --system) · file (binaries from the bundle, kubectl symlink) · file (PKI kit) ·
//   file (rendered configs, kubeconfigs, add-ons; nodes: the bundle's runtime, its files, config
//   and units) · file (units) · command (daemon-reload) · service (the bundle's runtime) ·
//   image (load into the runtime) · service (enable + restart, in dependency order, with
//   checks between: etcd health, apiserver ready, add-ons applied and read back) · check
//   (nodes: kubelet active, then its Node object registered).
// The steps are typed (steps/step.hpp: one struct per kind); plan.cpp's PlanBuilder makes them.
// Thread-safety: pure functions and value types.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bundlespec/images_index.hpp"
#include "bundlespec/index.hpp"
#include "bundlespec/json.hpp"
#include "bundlespec/result.hpp"
#include "cluster/inventory.hpp"
#include "render/common.hpp"
#include "steps/step.hpp"

namespace installer {

// The step that restarts containerd after its settings changed (nodes using containerd).
// Uninstall restarts containerd again once those settings are gone.
inline constexpr std::string_view k_restart_containerd_step = "command restart containerd.service";

// What preflight checks on this host (plan/preflight.hpp runs it).
struct PreflightSpec {
  std::vector<std::pair<std::string, std::string>> sysctls;  // key → wanted value
  std::vector<std::string> modules;
  std::vector<int> ports;                               // must be free
  std::vector<std::pair<std::string, uint64_t>> space;  // folder → bytes the plan writes below it
  std::optional<ContainerRuntime> runtime;              // node roles need one
  // bundle: none other may run (the install starts the bundle's); host: the host's must run.
  RuntimeSource runtime_source = RuntimeSource::host;
  std::string runtime_version;  // the bundle's runtime, for messages ("v1.6.20"); "" for the host's
  bool cgroup_v2 = false;                               // the kubelet refuses cgroup v1 (render::requires_cgroup_v2)
  // Host programs the components run (from the distribution, not the bundle): name → who needs it.
  std::vector<std::pair<std::string, std::string>> tools;
  int64_t not_before = 0;  // the latest notBefore of the kit's certificates (the clock must be past it)
};

struct Plan {
  std::string cluster;
  std::string host;
  std::vector<std::string> roles;
  std::string kubernetes_version;
  std::string etcd_version;
  PreflightSpec preflight;
  std::vector<Step> steps;
};

// A binary of the bundle and where it goes.
struct BundleBinary {
  std::string bundle_path;  // "etcd/bin/etcd"
  std::string target;       // "/opt/etcd/bin/etcd"
  std::string sha256;       // "" when planning without a bundle
  uint64_t size = 0;
  mode_t mode = 0755;
};

// An image of the bundle.
struct BundleImage {
  std::string name;     // "pause", "coredns", "flannel", "flannel-cni-plugin"
  std::string ref;      // "REPO:TAG@sha256:<hex>", the manifest's reference and pinned digest
  std::string archive;  // the bundle file that lists it: "images/images.json"
  std::string sha256;
  uint64_t size = 0;
};

struct PlanInputs {
  render::Versions versions;
  render::Paths paths;
  std::vector<BundleBinary> binaries;  // every binary the bundle has; the plan takes what the roles need
  std::vector<BundleImage> images;     // every image the bundle has
  std::optional<render::Kit> kit;      // nullopt: plan without a PKI (PKI-derived digests unknown)
};

// REQUIRES: `host` belongs to `inventory` (validated). Fails (usage) when the bundle lacks a
// binary a role needs ("bundle has no kubernetes/bin/kubelet (needed by role node)"), when the
// kit lacks a file, or when an image is not pinned by digest.
Result<Plan> make_plan(const Inventory& inventory, const Host& host, const PlanInputs& inputs);

// The bundle's binaries below etcd/bin/, kubernetes/bin/, cni/bin/ and runtime/, mapped into
// paths.etcd_dir/bin, paths.k8s_dir/bin, paths.cni_bin_dir and the runtime's upstream paths
// (runtime/containerd/bin/ and runtime/crictl/crictl → containerd_bin_dir, runtime/runc/runc →
// runc_path, runtime/docker/bin/ → docker_bin_dir).
std::vector<BundleBinary> binaries_from_index(const bundlespec::Index& index, const render::Paths& paths);
// The same names with unknown digests, for planning without a bundle.
std::vector<BundleBinary> default_binaries(const render::Paths& paths);
// The bundle's images (images/images.json), each named by its pinned digest.
std::vector<BundleImage> images_from_images_index(const bundlespec::ImagesIndex& index);
// Kubernetes, etcd, containerd and docker versions from the origins of
// kubernetes/bin/kube-apiserver (or kubelet), etcd/bin/etcd, runtime/containerd/bin/containerd
// and runtime/docker/bin/dockerd. Empty Version::text where the index does not say.
render::Versions versions_from_index(const bundlespec::Index& index);

// The plan as printed by `plan --json` (contents and secrets left out; digests kept).
bundlespec::Json plan_to_json(const Plan& plan);
// One line per step: "  12 file     /opt/etcd/cfg/etcd.conf 0644  (etcd member settings)".
std::string format_plan(const Plan& plan);

}  // namespace installer
