// The version rules of installer/render/VERSIONS.md for the current lines (Kubernetes 1.37.1,
// etcd 3.6.14, containerd), and that the seed's 1.20 keeps its old output where they differ.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_host.hpp"
#include "plan/preflight.hpp"
#include "plan_fixtures.hpp"
#include "render/components.hpp"
#include "support/test_util.hpp"

namespace installer::render {
namespace {

using installer::testing::latest_inventory;
using installer::testing::render_input;
using installer::testing::seed_inventory;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(VersionRules, Predicates) {
  const Version v120 = *parse_version("v1.20.11");
  const Version v134 = *parse_version("v1.34.9");
  const Version v135 = *parse_version("v1.35.0");
  const Version v137 = *parse_version("v1.37.1");
  EXPECT_TRUE(kubelet_has_pod_infra_flag(v120));
  EXPECT_TRUE(kubelet_has_pod_infra_flag(v134));
  EXPECT_FALSE(kubelet_has_pod_infra_flag(v135));
  EXPECT_FALSE(kubelet_has_pod_infra_flag(v137));
  EXPECT_FALSE(requires_cgroup_v2(v134));
  EXPECT_TRUE(requires_cgroup_v2(v135));
  EXPECT_TRUE(kube_proxy_ipvs(v120));
  EXPECT_FALSE(kube_proxy_ipvs(v137));
  EXPECT_FALSE(apiserver_audit_policy(v120));
  EXPECT_TRUE(apiserver_audit_policy(v137));
}

TEST(VersionRules, KubeletOf137) {
  const auto in = render_input(latest_inventory(), "node01");
  auto flags = kubelet_flags(in);
  ASSERT_OK(flags);
  EXPECT_EQ(flag_words(*flags),
            (std::vector<std::string>{
                "--v=2", "--hostname-override=node01", "--kubeconfig=/opt/kubernetes/cfg/kubelet.kubeconfig",
                "--bootstrap-kubeconfig=/opt/kubernetes/cfg/bootstrap.kubeconfig",
                "--config=/opt/kubernetes/cfg/kubelet-config.yml", "--cert-dir=/var/lib/kubelet/pki"}));
  const std::string config = render_kubelet_config(in).content;
  EXPECT_THAT(config, HasSubstr("\ncontainerRuntimeEndpoint: unix:///run/containerd/containerd.sock\n"));
  EXPECT_THAT(config, HasSubstr("\nfailCgroupV1: true\n"));
  // 1.20 keeps its flags and its config file.
  const auto seed = render_input(seed_inventory(), "node01");
  auto old = kubelet_flags(seed);
  ASSERT_OK(old);
  EXPECT_THAT(flag_words(*old), Contains(HasSubstr("--pod-infra-container-image=")));
  EXPECT_THAT(render_kubelet_config(seed).content, Not(HasSubstr("failCgroupV1")));
}

TEST(VersionRules, KubeProxyIptablesFrom135) {
  const auto in = render_input(latest_inventory(), "node01");
  const std::string config = render_kube_proxy_config(in).content;
  EXPECT_THAT(config, HasSubstr("\nmode: iptables\n"));
  EXPECT_THAT(config, Not(HasSubstr("ipvs")));
  EXPECT_EQ(required_modules(*in.host, in.versions.kubernetes), (std::vector<std::string>{"br_netfilter", "overlay"}));
  EXPECT_EQ(render_modules_load(in).content,
            "# Kernel modules for Kubernetes (bridge netfilter, overlayfs). Written by kubeferry-install.\n"
            "br_netfilter\noverlay\n");
  const auto seed = render_input(seed_inventory(), "node01");
  EXPECT_THAT(render_kube_proxy_config(seed).content, HasSubstr("\nmode: ipvs\nipvs:\n  scheduler: rr\n"));
  EXPECT_THAT(required_modules(*seed.host, seed.versions.kubernetes), Contains("ip_vs"));
}

TEST(VersionRules, AuditPolicyThatLogs) {
  const auto in = render_input(latest_inventory(), "master01");
  EXPECT_THAT(flag_words(apiserver_flags(in)), Contains("--audit-policy-file=/opt/kubernetes/cfg/audit-policy.yaml"));
  const auto policy = render_audit_policy(in);
  ASSERT_TRUE(policy.has_value());
  EXPECT_EQ(policy->path, "/opt/kubernetes/cfg/audit-policy.yaml");
  EXPECT_THAT(policy->content, HasSubstr("apiVersion: audit.k8s.io/v1\nkind: Policy\n"));
  // The last rule catches everything the others did not: every request is logged.
  EXPECT_TRUE(policy->content.ends_with("- level: Metadata\n"));
  const auto seed = render_input(seed_inventory(), "master01");
  EXPECT_FALSE(render_audit_policy(seed).has_value());
  EXPECT_THAT(flag_words(apiserver_flags(seed)), Not(Contains(HasSubstr("--audit-policy-file"))));
}

// Preflight reads the file system type mounted at /sys/fs/cgroup (the last mount there wins).
TEST(VersionRules, PreflightRequiresCgroupV2) {
  PreflightSpec spec;
  spec.cgroup_v2 = true;
  FakeFs system;
  FakeFs target;
  PreflightContext context;
  context.system = &system;
  context.target = &target;
  const auto cgroup_problems = [&] {
    std::vector<std::string> out;
    for (const auto& problem : run_preflight(spec, context)) {
      if (problem.check == "cgroup") out.push_back(problem.message);
    }
    return out;
  };
  system.add_file("/proc/self/mounts",
                  "sysfs /sys sysfs rw 0 0\n"
                  "tmpfs /sys/fs/cgroup tmpfs ro,nosuid 0 0\n"
                  "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n");
  EXPECT_EQ(cgroup_problems(),
            (std::vector<std::string>{
                "/sys/fs/cgroup is tmpfs, i.e. cgroup v1; this Kubernetes version's kubelet refuses cgroup v1 "
                "(failCgroupV1): boot the host with the unified hierarchy (kernel argument "
                "systemd.unified_cgroup_hierarchy=1)"}));
  system.add_file("/proc/self/mounts", "sysfs /sys sysfs rw 0 0\n");
  EXPECT_EQ(cgroup_problems(),
            (std::vector<std::string>{
                "nothing is mounted at /sys/fs/cgroup; this Kubernetes version's kubelet refuses cgroup v1 "
                "(failCgroupV1): boot the host with the unified hierarchy (kernel argument "
                "systemd.unified_cgroup_hierarchy=1)"}));
  system.add_file("/proc/self/mounts", "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec 0 0\n");
  EXPECT_TRUE(cgroup_problems().empty());
  spec.cgroup_v2 = false;  // 1.20: not asked
  system.add_file("/proc/self/mounts", "tmpfs /sys/fs/cgroup tmpfs ro 0 0\n");
  EXPECT_TRUE(cgroup_problems().empty());
}

}  // namespace
}  // namespace installer::render
