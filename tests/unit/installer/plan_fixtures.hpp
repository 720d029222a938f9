// Shared fixtures of the render / plan / apply tests: the seed's inventory (1.20.11, docker),
// the same hosts on 1.30.14 with containerd, a PKI made once per process, and image references
// whose digests are the real ones listed, with their sources, in manifests/SOURCES.md ("Image digests").
#pragma once

#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bundlespec/digest.hpp"
#include "cluster/inventory.hpp"
#include "pki/pki.hpp"
#include "plan/plan.hpp"
#include "render/common.hpp"

namespace installer::testing {

namespace fixtures_detail {

inline const std::string k_example = std::string(KF_SOURCE_DIR) + "/installer/cluster.example.yaml";
inline constexpr std::time_t k_now = 1800000000;

inline Inventory load_or_die(const std::string& text, const std::string& source) {
  std::vector<std::string> warnings;
  auto inventory = parse_inventory(text, source, warnings);
  if (!inventory.ok()) {
    ADD_FAILURE() << inventory.error().message();
    return Inventory{};
  }
  return *inventory;
}

inline std::string example_text() {
  std::ifstream in(k_example);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace fixtures_detail
using namespace fixtures_detail;

// The example's hosts with `container_runtime_source: host` (the runtime already running, as
// before kubeferry carried one): the fixtures most tests use.
inline std::string host_runtime_text() {
  std::string text = example_text();
  const std::string from = "container_runtime_source: bundle";
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), "container_runtime_source: host");
  return text;
}

inline const Inventory& seed_inventory() {
  static const Inventory inventory = load_or_die(host_runtime_text(), "cluster.yaml");
  return inventory;
}

// The example as shipped: docker from the bundle (the default source).
inline const Inventory& seed_bundle_inventory() {
  static const Inventory inventory = load_or_die(example_text(), "cluster.yaml");
  return inventory;
}

inline const Inventory& current_inventory() {
  static const Inventory inventory = [] {
    std::string text = host_runtime_text();
    auto replace = [&](const std::string& from, const std::string& to) {
      const size_t at = text.find(from);
      EXPECT_NE(at, std::string::npos) << from;
      if (at != std::string::npos) text.replace(at, from.size(), to);
    };
    replace("kubernetes_version: v1.20.11", "kubernetes_version: v1.30.14");
    replace("container_runtime: docker", "container_runtime: containerd");
    return load_or_die(text, "cluster.yaml");
  }();
  return inventory;
}

// The newest supported line: the hosts of the seed on 1.37.1 (manifests/k8s-v1.37.1.yaml) with containerd.
inline const Inventory& latest_inventory() {
  static const Inventory inventory = [] {
    std::string text = example_text();
    auto replace = [&](const std::string& from, const std::string& to) {
      const size_t at = text.find(from);
      EXPECT_NE(at, std::string::npos) << from;
      if (at != std::string::npos) text.replace(at, from.size(), to);
    };
    replace("kubernetes_version: v1.20.11", "kubernetes_version: v1.37.1");
    replace("container_runtime: docker", "container_runtime: containerd");
    return load_or_die(text, "cluster.yaml");
  }();
  return inventory;
}

inline const Host& host(const Inventory& inventory, const std::string& name) {
  const Host* found = find_host(inventory, name);
  EXPECT_NE(found, nullptr) << name;
  return *found;
}

inline render::ImageRefs seed_images() {
  return {
      {"pause", "registry.k8s.io/pause:3.2@sha256:927d98197ec1141a368550822d18fa1c60bdae27b78b0c004f705f548c07814f"},
      {"coredns",
       "registry.k8s.io/coredns/"
       "coredns:v1.7.0@sha256:73ca82b4ce829766d4f1f10947c3a338888f876fbed0540dc849c89ff256e90c"},
      {"flannel",
       "quay.io/coreos/flannel:v0.15.1@sha256:9a296fbb67790659adc3701e287adde3c59803b7fcefe354f1fc482840cdb3d9"},
  };
}

inline render::ImageRefs current_images() {
  return {
      {"pause", "registry.k8s.io/pause:3.6@sha256:3d380ca8864549e74af4b29c10f9cb0956236dfb01c40ca076fb6c37253234db"},
      {"coredns",
       "registry.k8s.io/coredns/"
       "coredns:v1.8.0@sha256:cc8fb77bc2a0541949d1d9320a641b82fd392b0d3d8145469ca4709ae769980e"},
      {"flannel",
       "quay.io/coreos/flannel:v0.15.1@sha256:9a296fbb67790659adc3701e287adde3c59803b7fcefe354f1fc482840cdb3d9"},
  };
}

// The images of manifests/k8s-v1.37.1.yaml, with the digests it cites.
inline render::ImageRefs latest_images() {
  return {
      {"pause", "registry.k8s.io/pause:3.10.1@sha256:278fb9dbcca9518083ad1e11276933a2e96f23de604a3a08cc3c80002767d24c"},
      {"coredns",
       "registry.k8s.io/coredns/"
       "coredns:v1.13.2@sha256:94caebb89dcfb9d2c4be45bfda34410a3e1092458fbbbc0284365c9e4c9a7818"},
      {"flannel",
       "ghcr.io/flannel-io/flannel:v0.28.4@sha256:cc44a1a8969c4f14b8dd45664546f14abc3fc7682b125399103e555f1ad2528b"},
      {"flannel-cni-plugin",
       "ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel1@sha256:"
       "7c3377e977b4b77b8efdad96e207ebee371537d6dcd7b9c40853cf0c0f0aade3"},
  };
}

inline std::vector<BundleImage> bundle_images(const render::ImageRefs& refs) {
  std::vector<BundleImage> out;
  for (const auto& [name, ref] : refs) {
    out.push_back({name, ref, "images/images.json", bundlespec::sha256_hex("image " + name), 1000});
  }
  return out;
}

inline render::Kit kit_for(const Inventory& inventory, const Host& h) {
  static std::map<const Inventory*, std::vector<PkiFile>> cache;
  auto it = cache.find(&inventory);
  if (it == cache.end()) {
    // ECDSA P-256 keys: the same certificates and SANs as RSA, generated in milliseconds.
    Inventory fast = inventory;
    fast.pki.key_type = KeyType::ecdsa;
    fast.pki.key_bits = 256;
    auto files = generate_pki(fast, k_now);
    EXPECT_TRUE(files.ok()) << (files.ok() ? "" : files.error().message());
    it = cache.emplace(&inventory, files.ok() ? *files : std::vector<PkiFile>{}).first;
  }
  render::Kit kit;
  for (const std::string& path : kit_files(h)) {
    for (const auto& file : it->second) {
      if (file.path == path) kit[path] = file.content;
    }
  }
  return kit;
}

inline render::RenderInput render_input(const Inventory& inventory, const std::string& host_name) {
  render::RenderInput in;
  in.inventory = &inventory;
  in.host = &host(inventory, host_name);
  const bool current = inventory.kubernetes_version == "v1.30.14";
  const bool latest = inventory.kubernetes_version == "v1.37.1";
  in.versions.kubernetes = *render::parse_version(inventory.kubernetes_version);
  in.versions.etcd = *render::parse_version(latest ? "v3.6.14" : current ? "v3.5.24" : "v3.4.9");
  in.images = latest ? latest_images() : current ? current_images() : seed_images();
  in.kit = kit_for(inventory, *in.host);
  return in;
}

inline PlanInputs plan_inputs(const Inventory& inventory, const Host& h) {
  const render::RenderInput in = render_input(inventory, h.name);
  PlanInputs inputs;
  inputs.versions = in.versions;
  inputs.binaries = default_binaries(inputs.paths);
  for (auto& binary : inputs.binaries) {
    binary.sha256 = bundlespec::sha256_hex(binary.bundle_path);
    binary.size = 1000;
  }
  inputs.images = bundle_images(in.images);
  inputs.kit = in.kit;
  return inputs;
}

// The plan of one host of an inventory, with the fixtures' PKI and images (a failure is a test failure).
inline Plan plan_for(const Inventory& inventory, const std::string& name) {
  auto plan = make_plan(inventory, host(inventory, name), plan_inputs(inventory, host(inventory, name)));
  EXPECT_TRUE(plan.ok()) << (plan.ok() ? "" : plan.error().message());
  return plan.ok() ? *plan : Plan{};
}

inline std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

inline std::vector<std::string> option_words(const std::string& options_file) {
  std::vector<std::string> out;
  for (std::string line : lines(options_file)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t quote = line.find("=\"");
    if (quote != std::string::npos && line.rfind("--", 0) != 0) line = line.substr(quote + 2);
    if (line.size() >= 2 && line.compare(line.size() - 2, 2, " \\") == 0) line.resize(line.size() - 2);
    if (!line.empty() && line.back() == '"') line.pop_back();
    out.push_back(line);
  }
  return out;
}

}  // namespace installer::testing
