// Flag check against upstream (issue 13.7): every supported version set is rendered, and each
// component's flags, etcd's settings and the keys of the kubelet's and kube-proxy's config files
// must exist in that version's upstream source, as listed in tests/upstream/*.flags|*.keys
// (taken by tests/upstream/extract.py from the repo@tag each list names in its header).
// A flag that upstream does not have at that version fails the test.
//
// Kubernetes 1.37: only the staging repositories could be read at a 1.37 tag here. Flags that
// live in kubernetes/kubernetes itself are in tests/upstream/unverified-1.37.flags; each must at
// least exist in the 1.20 list, and the test prints them as not checked against 1.37.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "plan_fixtures.hpp"
#include "render/components.hpp"
#include "support/test_util.hpp"

namespace installer::render {
namespace {

using installer::testing::latest_inventory;
using installer::testing::render_input;
using installer::testing::seed_inventory;

using Names = std::set<std::string>;

// The names of a list: one per line, '#' lines are its source header. Fails the test if the
// list is missing or has no source header.
Names read_list(const std::string& file) {
  const std::string path = std::string(KF_SOURCE_DIR) + "/tests/upstream/" + file;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "missing upstream list " << path;
  Names names;
  bool sourced = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# source: ", 0) == 0) sourced = true;
    if (line.empty() || line[0] == '#') continue;
    names.insert(line.substr(0, line.find(' ')));
  }
  EXPECT_TRUE(sourced) << path << " does not say where it was taken from";
  EXPECT_FALSE(names.empty()) << path;
  return names;
}

// "component --flag" entries of unverified-1.37.flags.
std::set<std::pair<std::string, std::string>> read_unverified() {
  std::ifstream in(std::string(KF_SOURCE_DIR) + "/tests/upstream/unverified-1.37.flags");
  std::set<std::pair<std::string, std::string>> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string component, flag;
    words >> component >> flag;
    out.emplace(component, flag);
  }
  return out;
}

Names flag_names(const Flags& flags) {
  Names names;
  for (const auto& [flag, value] : flags) names.insert(flag);
  return names;
}

// ETCD_INITIAL_CLUSTER_STATE → --initial-cluster-state: etcd reads each flag from ETCD_<NAME>.
Names etcd_env_flags(const std::string& env_file) {
  Names names;
  std::istringstream lines(env_file);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("ETCD_", 0) != 0) continue;
    std::string name = line.substr(5, line.find('=') - 5);
    for (char& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    names.insert("--" + name);
  }
  return names;
}

// Every mapping key of a YAML document, at any depth, except under maps whose keys are data
// (evictionHard's signal names).
void collect_keys(const YAML::Node& node, Names& out) {
  if (!node.IsMap()) return;
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    if (key == "apiVersion" || key == "kind") continue;  // TypeMeta, not a field of the type
    out.insert(key);
    if (key != "evictionHard") collect_keys(entry.second, out);
  }
}

Names config_keys(const std::string& yaml) {
  Names keys;
  collect_keys(YAML::Load(yaml), keys);
  return keys;
}

struct VersionSet {
  std::string k8s;   // "1.20", "1.37": the list suffix
  std::string etcd;  // "3.4", "3.6"
  const Inventory* inventory;
};

// Checks `used` against `list` (component's list for the version); unknown names fail unless
// allowed as unverified (1.37 only), and those must exist in the 1.20 list.
void expect_known(const std::string& component, const std::string& version, const Names& used, const Names& list,
                  const std::set<std::pair<std::string, std::string>>& unverified, const Names& older) {
  for (const std::string& name : used) {
    if (list.contains(name)) continue;
    if (unverified.contains({component, name})) {
      EXPECT_TRUE(older.contains(name)) << component << " " << name << " is listed as unverified for " << version
                                        << " but does not exist in the 1.20 list either";
      std::printf("NOT CHECKED against %s: %s %s (kubernetes/kubernetes source at a %s tag is not available here)\n",
                  version.c_str(), component.c_str(), name.c_str(), version.c_str());
      continue;
    }
    ADD_FAILURE() << component << " " << version << ": " << name << " does not exist upstream (not in tests/upstream/"
                  << component << "-" << version << ")";
  }
}

TEST(UpstreamFlags, EveryRenderedFlagAndKeyExistsInItsVersion) {
  const std::vector<VersionSet> sets = {{"1.20", "3.4", &seed_inventory()}, {"1.37", "3.6", &latest_inventory()}};
  const auto unverified = read_unverified();
  for (const VersionSet& set : sets) {
    SCOPED_TRACE("Kubernetes " + set.k8s + ", etcd " + set.etcd);
    const auto versioned = [&](const std::string& component) {
      return read_list(component + "-" + set.k8s + ".flags");
    };
    const auto older = [&](const std::string& component) { return read_list(component + "-1.20.flags"); };
    const auto none = std::set<std::pair<std::string, std::string>>{};
    const auto& allowed = set.k8s == "1.37" ? unverified : none;
    const auto master = render_input(*set.inventory, "master01");
    const auto node = render_input(*set.inventory, "node01");

    // etcd: the unit's flags and the environment file's settings.
    const Names etcd_list = read_list("etcd-" + set.etcd + ".flags");
    Names etcd_used = flag_names(etcd_flags(node));
    for (const std::string& name : etcd_env_flags(render_etcd_env(node).content)) etcd_used.insert(name);
    EXPECT_GE(etcd_used.size(), 18u);
    expect_known("etcd", set.etcd, etcd_used, etcd_list, {}, {});

    expect_known("kube-apiserver", set.k8s, flag_names(apiserver_flags(master)), versioned("kube-apiserver"), allowed,
                 older("kube-apiserver"));
    expect_known("kube-controller-manager", set.k8s, flag_names(controller_manager_flags(master)),
                 versioned("kube-controller-manager"), allowed, older("kube-controller-manager"));
    expect_known("kube-scheduler", set.k8s, flag_names(scheduler_flags(master)), versioned("kube-scheduler"), allowed,
                 older("kube-scheduler"));
    auto kubelet = kubelet_flags(node);
    ASSERT_OK(kubelet);
    expect_known("kubelet", set.k8s, flag_names(*kubelet), versioned("kubelet"), allowed, older("kubelet"));
    expect_known("kube-proxy", set.k8s, flag_names(kube_proxy_flags(node)), versioned("kube-proxy"), allowed,
                 older("kube-proxy"));

    // The config files: every key a field of the upstream type at that version.
    const Names kubelet_keys = config_keys(render_kubelet_config(node).content);
    EXPECT_TRUE(kubelet_keys.contains("clusterDNS"));
    expect_known("kubelet-config", set.k8s, kubelet_keys, read_list("kubelet-config-" + set.k8s + ".keys"), {}, {});
    const Names proxy_keys = config_keys(render_kube_proxy_config(node).content);
    EXPECT_TRUE(proxy_keys.contains("mode"));
    expect_known("kube-proxy-config", set.k8s, proxy_keys, read_list("kube-proxy-config-" + set.k8s + ".keys"), {}, {});
  }
}

// The check can fail: flags and keys that upstream does not have are refused.
TEST(UpstreamFlags, RefusesWhatUpstreamLacks) {
  EXPECT_FALSE(read_list("kubelet-1.37.flags").contains("--pod-infra-container-image"));
  EXPECT_TRUE(read_list("kubelet-1.20.flags").contains("--pod-infra-container-image"));
  EXPECT_FALSE(read_list("kube-apiserver-1.20.flags").contains("--no-such-flag"));
  EXPECT_FALSE(read_list("kubelet-config-1.20.keys").contains("failCgroupV1"));
  EXPECT_TRUE(read_list("kubelet-config-1.37.keys").contains("failCgroupV1"));
  EXPECT_FALSE(read_list("etcd-3.6.flags").contains("--enable-v2"));
  EXPECT_TRUE(read_list("etcd-3.4.flags").contains("--enable-v2"));
  // The 1.37 rendering really drops what 1.37 lacks.
  const auto node = render_input(latest_inventory(), "node01");
  auto kubelet = kubelet_flags(node);
  ASSERT_OK(kubelet);
  EXPECT_FALSE(flag_names(*kubelet).contains("--pod-infra-container-image"));
  EXPECT_FALSE(flag_names(*kubelet).contains("--container-runtime-endpoint"));
}

}  // namespace
}  // namespace installer::render
