// Plans for a node whose container runtime comes from the bundle (container_runtime_source:
// bundle): the runtime's files at upstream's paths, upstream's unit, its config, and its service
// started before images are loaded and before the kubelet; the refusals (a bundle without the
// runtime, containerd too old for the kubelet's CRI, docker after dockershim); and preflight's
// refusal of a foreign runtime where the bundle's is wanted.
#include <gtest/gtest.h>

#include <algorithm>

#include "fake_host.hpp"
#include "plan/plan.hpp"
#include "plan/preflight.hpp"
#include "plan_fixtures.hpp"

namespace installer {
namespace {

using installer::testing::current_inventory;
using installer::testing::host;
using installer::testing::plan_inputs;
using installer::testing::seed_bundle_inventory;

Inventory bundle(Inventory inv) {
  inv.container_runtime_source = RuntimeSource::bundle;
  return inv;
}

PlanInputs with_runtime(const Inventory& inv, const std::string& name, const std::string& containerd,
                        const std::string& docker) {
  PlanInputs inputs = plan_inputs(inv, host(inv, name));
  if (!containerd.empty()) inputs.versions.containerd = *render::parse_version(containerd);
  if (!docker.empty()) inputs.versions.docker = *render::parse_version(docker);
  return inputs;
}

size_t index_of(const Plan& plan, const std::string& id) {
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    if (plan.steps[i].id == id) return i;
  }
  ADD_FAILURE() << "no step " << id;
  return plan.steps.size();
}

bool has_step(const Plan& plan, const std::string& id) {
  return std::any_of(plan.steps.begin(), plan.steps.end(), [&](const Step& s) { return s.id == id; });
}

TEST(RuntimePlan, ContainerdFromTheBundleAtUpstreamsPathsBeforeImagesAndKubelet) {
  const Inventory inv = bundle(current_inventory());
  auto plan = make_plan(inv, host(inv, "node01"), with_runtime(inv, "node01", "v1.6.20", ""));
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  for (const char* id : {"file /usr/local/bin/containerd", "file /usr/local/bin/containerd-shim-runc-v2",
                         "file /usr/local/bin/ctr", "file /usr/local/sbin/runc", "file /etc/containerd/config.toml",
                         "file /usr/local/lib/systemd/system/containerd.service"}) {
    EXPECT_TRUE(has_step(*plan, id)) << id;
  }
  // Not the host runtime's way: no drop-in, no restart of a containerd that is not ours.
  EXPECT_FALSE(has_step(*plan, "file /etc/systemd/system/containerd.service.d/10-kubeferry.conf"));
  EXPECT_FALSE(has_step(*plan, std::string(k_restart_containerd_step)));
  const size_t reload = index_of(*plan, "command daemon-reload");
  const size_t service = index_of(*plan, "service containerd.service");
  EXPECT_LT(index_of(*plan, "file /usr/local/lib/systemd/system/containerd.service"), reload);
  EXPECT_LT(reload, service);
  EXPECT_LT(service, index_of(*plan, "images load"));
  EXPECT_LT(service, index_of(*plan, "service kubelet.service"));
  const Step& s = plan->steps[service];
  ASSERT_NE(s.as<ServiceStep>(), nullptr);
  EXPECT_EQ(s.as<ServiceStep>()->unit, "containerd.service");
  for (const char* input : {"/usr/local/bin/containerd", "/usr/local/sbin/runc", "/etc/containerd/config.toml",
                            "/usr/local/lib/systemd/system/containerd.service"}) {
    EXPECT_NE(std::find(s.inputs.begin(), s.inputs.end(), input), s.inputs.end()) << input;
  }
  // The unit is upstream's: containerd runs from /usr/local/bin.
  const auto* unit = plan->steps[index_of(*plan, "file /usr/local/lib/systemd/system/containerd.service")].as<FileStep>();
  ASSERT_NE(unit, nullptr);
  EXPECT_NE(unit->content.find("\nExecStart=/usr/local/bin/containerd\n"), std::string::npos);
  EXPECT_EQ(plan->preflight.runtime_source, RuntimeSource::bundle);
  EXPECT_EQ(plan->preflight.runtime_version, "v1.6.20");
  // Docker's files are not a containerd node's; its containerd keeps the opt folder in its state.
  EXPECT_FALSE(has_step(*plan, "file /usr/bin/dockerd"));
  EXPECT_FALSE(has_step(*plan, "dir /opt/containerd"));
}

TEST(RuntimePlan, DockerFromTheBundleWithMobysUnits) {
  const Inventory& inv = seed_bundle_inventory();  // the example as shipped: docker, source bundle
  auto plan = make_plan(inv, host(inv, "node02"), with_runtime(inv, "node02", "", "v20.10.8"));
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  for (const char* id : {"file /usr/bin/dockerd", "file /usr/bin/docker", "file /usr/bin/containerd",
                         "file /usr/bin/runc", "file /etc/docker/daemon.json",
                         "file /usr/lib/systemd/system/docker.service", "file /usr/lib/systemd/system/docker.socket"}) {
    EXPECT_TRUE(has_step(*plan, id)) << id;
  }
  EXPECT_FALSE(has_step(*plan, "file /usr/local/bin/containerd"));
  // The containerd that dockerd starts fills /opt/containerd: a data folder the install makes
  // before docker runs, so uninstall --purge takes it (and what containerd put there) away.
  const size_t opt = index_of(*plan, "dir /opt/containerd");
  const auto* opt_dir = plan->steps[opt].as<DirStep>();
  ASSERT_NE(opt_dir, nullptr);
  EXPECT_EQ(opt_dir->mode, 0711u);
  EXPECT_TRUE(opt_dir->data);
  EXPECT_LT(opt, index_of(*plan, "service docker.service"));
  const size_t group = index_of(*plan, "command docker-group");
  const size_t socket = index_of(*plan, "service docker.socket");
  const size_t service = index_of(*plan, "service docker.service");
  EXPECT_LT(group, socket);
  EXPECT_LT(socket, service);
  EXPECT_LT(service, index_of(*plan, "images load"));
  EXPECT_LT(service, index_of(*plan, "service kubelet.service"));
}

TEST(RuntimePlan, RefusesABundleWithoutTheRuntime) {
  const Inventory inv = bundle(current_inventory());
  PlanInputs inputs = with_runtime(inv, "node01", "v1.6.20", "");
  inputs.binaries.erase(std::remove_if(inputs.binaries.begin(), inputs.binaries.end(),
                                       [](const BundleBinary& b) { return b.bundle_path == "runtime/runc/runc"; }),
                        inputs.binaries.end());
  auto plan = make_plan(inv, host(inv, "node01"), inputs);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().message(),
            "bundle has no runtime/runc/runc (needed by role node with container_runtime containerd from the bundle; "
            "build it with the runtime's artifacts, manifests/README.md, or set container_runtime_source: host to use "
            "the host's own)");
  // A master needs no runtime.
  PlanInputs master = with_runtime(inv, "master01", "v1.6.20", "");
  master.binaries = inputs.binaries;
  EXPECT_TRUE(make_plan(inv, host(inv, "master01"), master).ok());
}

TEST(RuntimePlan, RefusesAContainerdWithoutCriV1ForKubernetes126) {
  const Inventory inv = bundle(current_inventory());  // v1.30.14
  auto plan = make_plan(inv, host(inv, "node01"), with_runtime(inv, "node01", "v1.5.5", ""));
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().message(),
            "Kubernetes v1.30.14 speaks only CRI v1, which containerd has from 1.6; the bundle's containerd is v1.5.5");
}

TEST(RuntimePlan, RefusesDockerAfterDockershim) {
  Inventory inv = seed_bundle_inventory();
  // The inventory names v1.20.11; the bundle (its kube-apiserver) says v1.30.14.
  PlanInputs inputs = with_runtime(inv, "node01", "", "v20.10.8");
  inputs.versions.kubernetes = *render::parse_version("v1.30.14");
  auto plan = make_plan(inv, host(inv, "node01"), inputs);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().message(),
            "container_runtime docker needs dockershim, removed in Kubernetes 1.24 (docker would need cri-dockerd, "
            "which kubeferry does not install); use containerd with v1.30.14");
}

TEST(RuntimePlan, PlanWithoutABundleHasUnknownRuntimeFiles) {
  const Inventory inv = bundle(current_inventory());
  auto plan = make_plan(inv, host(inv, "node01"), with_runtime(inv, "node01", "", ""));
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  for (const char* id : {"file /usr/local/lib/systemd/system/containerd.service", "file /etc/containerd/config.toml"}) {
    const auto* file = plan->steps[index_of(*plan, id)].as<FileStep>();
    ASSERT_NE(file, nullptr) << id;
    EXPECT_EQ(file->sha256, "") << id;
  }
}

// --- preflight ---

std::vector<PreflightProblem> runtime_problems(FakeFs& system, const PreflightSpec& spec,
                                               std::set<std::string> own = {}) {
  FakeFs target;
  PreflightContext context;
  context.system = &system;
  context.target = &target;
  context.own_units = std::move(own);
  std::vector<PreflightProblem> out;
  for (auto& p : run_preflight(spec, context)) {
    if (p.check == "runtime") out.push_back(p);
  }
  return out;
}

PreflightSpec bundle_spec(ContainerRuntime runtime, const std::string& version) {
  PreflightSpec spec;
  spec.runtime = runtime;
  spec.runtime_source = RuntimeSource::bundle;
  spec.runtime_version = version;
  return spec;
}

TEST(RuntimePreflight, AForeignRuntimeWhereTheBundlesIsWantedNamesBothChoices) {
  FakeFs system;
  system.add_file("/run/containerd/containerd.sock", "", 0755);
  auto problems = runtime_problems(system, bundle_spec(ContainerRuntime::containerd, "v1.6.20"));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message,
            "containerd is already running here (/run/containerd/containerd.sock) and kubeferry did not install it, "
            "but the inventory wants the bundle's containerd v1.6.20 (container_runtime_source: bundle). Either use "
            "the host's containerd: set container_runtime_source: host; or remove it first (systemctl disable --now "
            "containerd, then its package) so that the bundle's containerd v1.6.20 is installed");
  // The containerd of an earlier install is ours.
  EXPECT_TRUE(runtime_problems(system, bundle_spec(ContainerRuntime::containerd, "v1.6.20"), {"containerd.service"})
                  .empty());

  FakeFs docker_host;
  docker_host.add_file("/usr/sbin/dockerd", "", 0755);
  problems = runtime_problems(docker_host, bundle_spec(ContainerRuntime::docker, "v20.10.8"));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message.substr(0, 94),
            "docker is already installed here (/usr/sbin/dockerd) and kubeferry did not install it, but the");
}

TEST(RuntimePreflight, ABareHostIsReadyForTheBundlesRuntime) {
  FakeFs system;
  EXPECT_TRUE(runtime_problems(system, bundle_spec(ContainerRuntime::containerd, "v1.6.20")).empty());
  EXPECT_TRUE(runtime_problems(system, bundle_spec(ContainerRuntime::docker, "v20.10.8")).empty());
  // The host's own runtime must run (today's rule, unchanged).
  PreflightSpec host_spec;
  host_spec.runtime = ContainerRuntime::containerd;
  ASSERT_EQ(runtime_problems(system, host_spec).size(), 1u);
}

}  // namespace
}  // namespace installer
