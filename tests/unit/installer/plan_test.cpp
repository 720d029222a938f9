// The pure plan for each of the seed's three hosts: which steps, in which order, with which
// modes; its JSON; and a table mapping every step of the seed tutorial
// (manifests/SOURCES.md, "The procedure") to the plan step that does it.
#include "plan/plan.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "bundlespec/json.hpp"
#include "pki/pki.hpp"
#include "plan_fixtures.hpp"
#include "support/test_util.hpp"

namespace installer {
namespace {

using installer::testing::current_inventory;
using installer::testing::host;
using installer::testing::plan_for;
using installer::testing::plan_inputs;
using installer::testing::seed_inventory;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;

// "file /opt/etcd/ssl/server-key.pem 0600", "service etcd.service", ...
std::vector<std::string> summary(const Plan& plan) {
  std::vector<std::string> out;
  for (const Step& s : plan.steps) {
    char mode[8] = "";
    if (const auto* d = s.as<DirStep>()) std::snprintf(mode, sizeof mode, " %04o", static_cast<unsigned>(d->mode));
    if (const auto* f = s.as<FileStep>()) std::snprintf(mode, sizeof mode, " %04o", static_cast<unsigned>(f->mode));
    out.push_back(s.id + mode);
  }
  return out;
}

const std::vector<std::string> k_master01 = {
    "preflight",
    "dir /opt/etcd 0755",
    "dir /opt/etcd/bin 0755",
    "dir /opt/etcd/cfg 0755",
    "dir /opt/etcd/ssl 0700",
    "dir /var/lib/etcd 0700",
    "dir /opt/kubernetes 0755",
    "dir /opt/kubernetes/bin 0755",
    "dir /opt/kubernetes/cfg 0755",
    "dir /opt/kubernetes/ssl 0700",
    "dir /opt/kubernetes/logs 0755",
    "dir /opt/kubernetes/addons 0755",
    "dir /root/.kube 0700",
    "dir /root/.kube/cache 0750",
    "file /etc/sysctl.d/k8s.conf 0644",
    "file /etc/modules-load.d/k8s.conf 0644",
    "hosts_block /etc/hosts",
    "command modprobe",
    "command sysctl",
    "file /opt/etcd/bin/etcd 0755",
    "file /opt/etcd/bin/etcdctl 0755",
    "file /opt/kubernetes/bin/kube-apiserver 0755",
    "file /opt/kubernetes/bin/kube-controller-manager 0755",
    "file /opt/kubernetes/bin/kube-scheduler 0755",
    "file /opt/kubernetes/bin/kubectl 0755",
    "symlink /usr/local/bin/kubectl",
    "file /opt/etcd/ssl/ca.pem 0644",
    "file /opt/etcd/ssl/server.pem 0644",
    "file /opt/etcd/ssl/server-key.pem 0600",
    "file /opt/etcd/ssl/apiserver-etcd-client.pem 0644",
    "file /opt/etcd/ssl/apiserver-etcd-client-key.pem 0600",
    "file /opt/kubernetes/ssl/ca.pem 0644",
    "file /opt/kubernetes/ssl/ca-key.pem 0600",
    "file /opt/kubernetes/ssl/apiserver.pem 0644",
    "file /opt/kubernetes/ssl/apiserver-key.pem 0600",
    "file /opt/kubernetes/ssl/sa.key 0600",
    "file /opt/kubernetes/ssl/sa.pub 0644",
    "file /opt/kubernetes/cfg/token.csv 0600",
    "file /opt/etcd/cfg/etcd.conf 0644",
    "file /opt/kubernetes/cfg/kube-apiserver.conf 0644",
    "file /opt/kubernetes/cfg/kube-controller-manager.conf 0644",
    "file /opt/kubernetes/cfg/kube-scheduler.conf 0644",
    "file /opt/kubernetes/cfg/kube-controller-manager.kubeconfig 0600",
    "file /opt/kubernetes/cfg/kube-scheduler.kubeconfig 0600",
    "file /root/.kube/config 0600",
    "file /opt/kubernetes/addons/rbac.yaml 0644",
    "file /opt/kubernetes/addons/kube-flannel.yml 0644",
    "file /opt/kubernetes/addons/coredns.yaml 0644",
    "file /usr/lib/systemd/system/etcd.service 0644",
    "file /usr/lib/systemd/system/kube-apiserver.service 0644",
    "file /usr/lib/systemd/system/kube-controller-manager.service 0644",
    "file /usr/lib/systemd/system/kube-scheduler.service 0644",
    "command daemon-reload",
    "service etcd.service",
    "check etcd-health",
    "service kube-apiserver.service",
    "check apiserver-ready",
    "service kube-controller-manager.service",
    "service kube-scheduler.service",
    "command apply-addons",
    "check addons-present",
};

const std::vector<std::string> k_node = {
    "preflight",
    "dir /opt/etcd 0755",
    "dir /opt/etcd/bin 0755",
    "dir /opt/etcd/cfg 0755",
    "dir /opt/etcd/ssl 0700",
    "dir /var/lib/etcd 0700",
    "dir /opt/kubernetes 0755",
    "dir /opt/kubernetes/bin 0755",
    "dir /opt/kubernetes/cfg 0755",
    "dir /opt/kubernetes/ssl 0700",
    "dir /opt/kubernetes/logs 0755",
    "dir /opt/cni/bin 0755",
    "dir /etc/cni/net.d 0755",
    "dir /var/lib/cni 0755",
    "dir /var/lib/kubelet 0700",
    "dir /var/lib/dockershim 0755",
    "file /etc/sysctl.d/k8s.conf 0644",
    "file /etc/modules-load.d/k8s.conf 0644",
    "hosts_block /etc/hosts",
    "command modprobe",
    "command sysctl",
    "file /opt/etcd/bin/etcd 0755",
    "file /opt/etcd/bin/etcdctl 0755",
    "file /opt/kubernetes/bin/kubelet 0755",
    "file /opt/kubernetes/bin/kube-proxy 0755",
    "file /opt/kubernetes/bin/kubectl 0755",
    "file /opt/cni/bin/bridge 0755",
    "file /opt/cni/bin/host-local 0755",
    "file /opt/cni/bin/loopback 0755",
    "file /opt/cni/bin/portmap 0755",
    "file /opt/etcd/ssl/ca.pem 0644",
    "file /opt/etcd/ssl/server.pem 0644",
    "file /opt/etcd/ssl/server-key.pem 0600",
    "file /opt/kubernetes/ssl/ca.pem 0644",
    "file /opt/etcd/cfg/etcd.conf 0644",
    "file /opt/kubernetes/cfg/kubelet.conf 0644",
    "file /opt/kubernetes/cfg/kubelet-config.yml 0644",
    "file /opt/kubernetes/cfg/bootstrap.kubeconfig 0600",
    "file /etc/cni/net.d/10-flannel.conflist 0644",
    "file /opt/kubernetes/cfg/kube-proxy.conf 0644",
    "file /opt/kubernetes/cfg/kube-proxy-config.yml 0644",
    "file /opt/kubernetes/cfg/kube-proxy.kubeconfig 0600",
    "file /usr/lib/systemd/system/etcd.service 0644",
    "file /usr/lib/systemd/system/kubelet.service 0644",
    "file /usr/lib/systemd/system/kube-proxy.service 0644",
    "command daemon-reload",
    "images load",
    "service etcd.service",
    "check etcd-health",
    "service kubelet.service",
    "service kube-proxy.service",
    "check kubelet-active",
    "check node-registered",
};

TEST(Plan, Master01StepsInOrderWithModes) {
  EXPECT_THAT(summary(plan_for(seed_inventory(), "master01")), ElementsAreArray(k_master01));
}

TEST(Plan, Node01AndNode02StepsInOrderWithModes) {
  EXPECT_THAT(summary(plan_for(seed_inventory(), "node01")), ElementsAreArray(k_node));
  EXPECT_THAT(summary(plan_for(seed_inventory(), "node02")), ElementsAreArray(k_node));
}

const Step& step_of(const Plan& plan, const std::string& id) {
  static const Step none;
  for (const Step& s : plan.steps) {
    if (s.id == id) return s;
  }
  ADD_FAILURE() << "no step " << id;
  return none;
}

// The step `id` as kind K (a failure if it is another kind).
template <class K>
const K& body_of(const Plan& plan, const std::string& id) {
  static const K none{};
  const K* body = step_of(plan, id).as<K>();
  if (body == nullptr) ADD_FAILURE() << id << " is not a " << K::k_name << " step";
  return body != nullptr ? *body : none;
}

// Each check reads from the API server what the steps before it should have made, with a
// client certificate, so that a server that has nothing cannot pass it.
TEST(Plan, ChecksReadTheClusterBack) {
  const Plan master = plan_for(seed_inventory(), "master01");
  const CheckStep& ready = body_of<CheckStep>(master, "check apiserver-ready");
  EXPECT_EQ(ready.argv,
            (std::vector<std::string>{"/opt/kubernetes/bin/kubectl", "--kubeconfig=/root/.kube/config", "get",
                                      "--raw=/readyz"}));
  EXPECT_EQ(ready.on_failure, OnFailure::stop);
  EXPECT_THAT(step_of(master, "check apiserver-ready").reason,
              HasSubstr("client-certificate request with /root/.kube/config"));
  EXPECT_EQ(step_of(master, "check addons-present").kind(), StepKind::check);
  const CheckStep& addons = body_of<CheckStep>(master, "check addons-present");
  EXPECT_EQ(addons.argv, (std::vector<std::string>{"/opt/kubernetes/bin/kubectl", "--kubeconfig=/root/.kube/config",
                                                   "get", "-f", "/opt/kubernetes/addons/rbac.yaml", "-f",
                                                   "/opt/kubernetes/addons/kube-flannel.yml", "-f",
                                                   "/opt/kubernetes/addons/coredns.yaml", "-o", "name"}));
  EXPECT_EQ(addons.attempts, 3);
  EXPECT_EQ(addons.interval_ms, 2000);
  EXPECT_EQ(addons.on_failure, OnFailure::stop);
  EXPECT_EQ(step_of(master, "check addons-present").inputs, step_of(master, "command apply-addons").inputs)
      << "changed add-ons are read back again";
  EXPECT_EQ(master.steps.back().id, "check addons-present") << "right after apply-addons, last";

  const Plan node = plan_for(seed_inventory(), "node02");
  EXPECT_EQ(node.steps.back().id, "check node-registered");
  const CheckStep& registered = body_of<CheckStep>(node, "check node-registered");
  EXPECT_EQ(registered.argv,
            (std::vector<std::string>{"/opt/kubernetes/bin/kubectl", "--kubeconfig=/opt/kubernetes/cfg/kubelet.kubeconfig",
                                      "get", "node", "node02", "-o", "name"}));
  EXPECT_EQ(registered.attempts, 60);
  EXPECT_EQ(registered.interval_ms, 2000);
  EXPECT_EQ(registered.on_failure, OnFailure::stop);
  EXPECT_THAT(node.steps.back().reason, HasSubstr("journalctl -u kubelet on node02"));
  EXPECT_THAT(node.steps.back().reason, HasSubstr("kubectl get csr"));
  // The kubelet registers under the inventory name, with the kubeconfig its bootstrap writes.
  const FileStep& kubelet_conf = body_of<FileStep>(node, "file /opt/kubernetes/cfg/kubelet.conf");
  EXPECT_THAT(kubelet_conf.content, HasSubstr("--hostname-override=node02"));
  EXPECT_THAT(kubelet_conf.content, HasSubstr("--kubeconfig=/opt/kubernetes/cfg/kubelet.kubeconfig"));
  // The check's kubectl is laid out on the node.
  EXPECT_EQ(body_of<FileStep>(node, "file /opt/kubernetes/bin/kubectl").source, "bundle:kubernetes/bin/kubectl");
}

TEST(Plan, EveryStepHasAReasonAndAUniqueIdAndSecretsAre0600) {
  for (const char* name : {"master01", "node01", "node02"}) {
    const Plan plan = plan_for(seed_inventory(), name);
    std::set<std::string> ids;
    for (const Step& s : plan.steps) {
      EXPECT_FALSE(s.reason.empty()) << s.id;
      EXPECT_TRUE(ids.insert(s.id).second) << "duplicate " << s.id;
      EXPECT_EQ(s.digest.size(), 64u) << s.id;
      if (const auto* f = s.as<FileStep>()) {
        EXPECT_EQ(f->sha256.size(), 64u) << s.id;
        if (f->secret) {
          EXPECT_EQ(f->mode, 0600u) << s.id;
        }
        if (f->content.find("PRIVATE KEY") != std::string::npos) {
          EXPECT_TRUE(f->secret) << s.id;
        }
      }
    }
  }
}

TEST(Plan, IsPureAndItsJsonHoldsNoSecret) {
  const Plan a = plan_for(seed_inventory(), "master01");
  const Plan b = plan_for(seed_inventory(), "master01");
  const std::string json = bundlespec::to_pretty_json(plan_to_json(a));
  EXPECT_EQ(json, bundlespec::to_pretty_json(plan_to_json(b)));
  EXPECT_THAT(json, Not(HasSubstr("PRIVATE KEY")));
  const auto kit = installer::testing::kit_for(seed_inventory(), host(seed_inventory(), "master01"));
  const std::string token = kit.at(PkiPaths::token_csv).substr(0, 32);
  EXPECT_THAT(json, Not(HasSubstr(token)));
  auto parsed = bundlespec::parse_json(json);
  ASSERT_OK(parsed);
  const auto& steps = parsed->find("steps")->as_array();
  ASSERT_EQ(steps.size(), a.steps.size());
  const bundlespec::Json& key = steps[28];
  EXPECT_EQ(key.find("id")->as_string(), "file /opt/etcd/ssl/server-key.pem");
  EXPECT_EQ(key.find("mode")->as_string(), "0600");
  EXPECT_EQ(key.find("owner"), nullptr);  // the installer writes as root and sets no owner
  EXPECT_EQ(key.find("source")->as_string(), "pki:etcd/server-key.pem");
  ASSERT_NE(a.steps[28].as<FileStep>(), nullptr);
  EXPECT_EQ(key.find("sha256")->as_string(), a.steps[28].as<FileStep>()->sha256);
  EXPECT_TRUE(key.find("secret")->as_bool());
  EXPECT_EQ(key.find("n")->as_integer(), 29);
  EXPECT_EQ(parsed->find("preflight")->find("ports")->as_array().size(), 5u);
}

TEST(Plan, WithoutKitOrBundleDigestsAreUnknown) {
  PlanInputs inputs;
  inputs.versions.kubernetes = *render::parse_version("v1.20.11");
  inputs.binaries = default_binaries(inputs.paths);
  auto plan = make_plan(seed_inventory(), host(seed_inventory(), "node01"), inputs);
  ASSERT_OK(plan);
  std::vector<std::string> want = k_node;
  std::erase_if(want, [](const std::string& id) { return id.rfind("images ", 0) == 0; });
  EXPECT_THAT(summary(*plan), ElementsAreArray(want)) << "the same steps, no images without a bundle";
  const std::string json = bundlespec::to_pretty_json(plan_to_json(*plan));
  EXPECT_THAT(json, HasSubstr("\"id\": \"file /opt/kubernetes/cfg/bootstrap.kubeconfig\""));
  for (const Step& s : plan->steps) {
    const auto* f = s.as<FileStep>();
    if (s.id == "file /opt/kubernetes/cfg/bootstrap.kubeconfig" || s.id == "file /opt/kubernetes/bin/kubelet") {
      ASSERT_NE(f, nullptr) << s.id;
      EXPECT_EQ(f->sha256, "") << s.id;
    }
    if (s.id == "file /opt/etcd/cfg/etcd.conf") {
      ASSERT_NE(f, nullptr) << s.id;
      EXPECT_EQ(f->sha256.size(), 64u);
    }
  }
}

TEST(Plan, RefusesABundleWithoutANeededBinary) {
  auto inputs = plan_inputs(seed_inventory(), host(seed_inventory(), "node01"));
  std::erase_if(inputs.binaries, [](const BundleBinary& b) { return b.bundle_path == "kubernetes/bin/kubelet"; });
  auto plan = make_plan(seed_inventory(), host(seed_inventory(), "node01"), inputs);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().message(), "bundle has no kubernetes/bin/kubelet (needed by role node)");
}

TEST(Plan, CurrentVersionLoadsImagesIntoContainerd) {
  const Plan plan = plan_for(current_inventory(), "node01");
  EXPECT_EQ(plan.kubernetes_version, "v1.30.14");
  int image_steps = 0;
  for (const Step& s : plan.steps) {
    const auto* load = s.as<ImageStep>();
    if (load == nullptr) continue;
    ++image_steps;
    EXPECT_EQ(load->commands.front(), (std::vector<std::string>{"/proc/self/exe", "images", "load", "--from", "{bundle}",
                                                            "--runtime", "containerd"}));
  }
  EXPECT_EQ(image_steps, 1);
}

// containerd gets the kubelet's settings (pause image, CNI folders) through a drop-in, and is
// restarted with them after systemd reloaded and before images are loaded into it.
TEST(Plan, ContainerdNodeConfiguresAndRestartsContainerdBeforeTheImages) {
  const Plan plan = plan_for(current_inventory(), "node01");
  const std::vector<std::string> steps = summary(plan);
  const auto at = [&](const std::string& id) { return std::find(steps.begin(), steps.end(), id) - steps.begin(); };
  const auto config = at("file /opt/kubernetes/cfg/containerd.toml 0644");
  const auto dropin = at("file /etc/systemd/system/containerd.service.d/10-kubeferry.conf 0644");
  const auto reload = at("command daemon-reload");
  const auto restart = at("command restart containerd.service");
  const auto images = at("images load");
  const auto n = static_cast<long>(steps.size());
  ASSERT_LT(images, n);
  EXPECT_LT(config, reload);
  EXPECT_LT(dropin, reload);
  EXPECT_EQ(restart, reload + 1);
  EXPECT_EQ(images, restart + 1);
  const Step& restart_step = plan.steps[static_cast<size_t>(restart)];
  ASSERT_NE(restart_step.as<CommandStep>(), nullptr);
  EXPECT_EQ(restart_step.as<CommandStep>()->commands,
            (std::vector<std::vector<std::string>>{{"systemctl", "restart", "containerd.service"}}));
  EXPECT_EQ(restart_step.inputs,
            (std::vector<std::string>{"/opt/kubernetes/cfg/containerd.toml",
                                      "/etc/systemd/system/containerd.service.d/10-kubeferry.conf"}));
  const Step& reload_step = plan.steps[static_cast<size_t>(reload)];
  EXPECT_EQ(reload_step.inputs.back(), "/etc/systemd/system/containerd.service.d/10-kubeferry.conf");
  // A master-only host and docker nodes leave containerd alone.
  for (const std::string& step : summary(plan_for(current_inventory(), "master01"))) {
    EXPECT_THAT(step, Not(HasSubstr("containerd")));
  }
  for (const std::string& step : summary(plan_for(seed_inventory(), "node01"))) {
    EXPECT_THAT(step, Not(HasSubstr("containerd")));
  }
}

TEST(Plan, ServiceDigestFollowsItsInputs) {
  auto inputs = plan_inputs(seed_inventory(), host(seed_inventory(), "node01"));
  const auto a = make_plan(seed_inventory(), host(seed_inventory(), "node01"), inputs);
  Inventory changed = seed_inventory();
  changed.dns_ip = "10.0.0.10";
  const auto b = make_plan(changed, *find_host(changed, "node01"), inputs);
  ASSERT_OK(a);
  ASSERT_OK(b);
  auto digest = [](const Plan& p, const std::string& id) {
    for (const Step& s : p.steps) {
      if (s.id == id) return s.digest;
    }
    return std::string();
  };
  EXPECT_NE(digest(*a, "service kubelet.service"), digest(*b, "service kubelet.service")) << "clusterDNS changed";
  EXPECT_EQ(digest(*a, "service kube-proxy.service"), digest(*b, "service kube-proxy.service"));
  EXPECT_EQ(digest(*a, "service etcd.service"), digest(*b, "service etcd.service"));
}

// The files each service reads, from its upstream flags and config fields (etcd's ETCD_*_FILE,
// the apiserver's --etcd-*file, --client-ca-file, --tls-*-file, --service-account-*-file,
// --token-auth-file; the controller-manager's --root-ca-file, --cluster-signing-*-file,
// --service-account-private-key-file, --kubeconfig; the kubelet's --bootstrap-kubeconfig,
// --config and its clientCAFile; kube-proxy's --config and kubeconfig), its binary, its
// EnvironmentFile and its unit: written out here as the independent answer to what the plan
// derives from the rendered files.
TEST(Plan, EveryServiceRestartsOnEveryFileItReads) {
  const std::map<std::string, std::set<std::string>> expected = {
      {"master01/etcd.service",
       {"/opt/etcd/bin/etcd", "/opt/etcd/cfg/etcd.conf", "/opt/etcd/ssl/ca.pem", "/opt/etcd/ssl/server.pem",
        "/opt/etcd/ssl/server-key.pem", "/usr/lib/systemd/system/etcd.service"}},
      {"master01/kube-apiserver.service",
       {"/opt/kubernetes/bin/kube-apiserver", "/opt/kubernetes/cfg/kube-apiserver.conf", "/opt/etcd/ssl/ca.pem",
        "/opt/etcd/ssl/apiserver-etcd-client.pem", "/opt/etcd/ssl/apiserver-etcd-client-key.pem",
        "/opt/kubernetes/ssl/ca.pem", "/opt/kubernetes/ssl/apiserver.pem", "/opt/kubernetes/ssl/apiserver-key.pem",
        "/opt/kubernetes/ssl/sa.key", "/opt/kubernetes/ssl/sa.pub", "/opt/kubernetes/cfg/token.csv",
        "/usr/lib/systemd/system/kube-apiserver.service"}},
      {"master01/kube-controller-manager.service",
       {"/opt/kubernetes/bin/kube-controller-manager", "/opt/kubernetes/cfg/kube-controller-manager.conf",
        "/opt/kubernetes/cfg/kube-controller-manager.kubeconfig", "/opt/kubernetes/ssl/ca.pem",
        "/opt/kubernetes/ssl/ca-key.pem", "/opt/kubernetes/ssl/sa.key",
        "/usr/lib/systemd/system/kube-controller-manager.service"}},
      {"master01/kube-scheduler.service",
       {"/opt/kubernetes/bin/kube-scheduler", "/opt/kubernetes/cfg/kube-scheduler.conf",
        "/opt/kubernetes/cfg/kube-scheduler.kubeconfig", "/usr/lib/systemd/system/kube-scheduler.service"}},
      {"node01/etcd.service",
       {"/opt/etcd/bin/etcd", "/opt/etcd/cfg/etcd.conf", "/opt/etcd/ssl/ca.pem", "/opt/etcd/ssl/server.pem",
        "/opt/etcd/ssl/server-key.pem", "/usr/lib/systemd/system/etcd.service"}},
      {"node01/kubelet.service",
       {"/opt/kubernetes/bin/kubelet", "/opt/kubernetes/cfg/kubelet.conf", "/opt/kubernetes/cfg/kubelet-config.yml",
        "/opt/kubernetes/cfg/bootstrap.kubeconfig", "/opt/kubernetes/ssl/ca.pem",
        "/usr/lib/systemd/system/kubelet.service"}},
      {"node01/kube-proxy.service",
       {"/opt/kubernetes/bin/kube-proxy", "/opt/kubernetes/cfg/kube-proxy.conf",
        "/opt/kubernetes/cfg/kube-proxy-config.yml", "/opt/kubernetes/cfg/kube-proxy.kubeconfig",
        "/usr/lib/systemd/system/kube-proxy.service"}},
  };
  std::map<std::string, std::set<std::string>> actual;
  for (const char* name : {"master01", "node01"}) {
    for (const Step& s : plan_for(seed_inventory(), name).steps) {
      if (s.kind() != StepKind::service) continue;
      actual[std::string(name) + "/" + s.id.substr(std::string("service ").size())] =
          std::set<std::string>(s.inputs.begin(), s.inputs.end());
    }
  }
  EXPECT_EQ(actual, expected);
}

// What "a changed file restarts its service" means on a host: replace one file of the host's
// PKI kit and plan again; exactly the services that read it (directly, or through a kubeconfig
// that embeds it) get a new digest, so install restarts them and nothing else.
TEST(Plan, AChangedKitFileRestartsExactlyTheServicesThatReadIt) {
  const std::map<std::string, std::set<std::string>> expected = {
      {"master01 etcd/ca.pem", {"etcd.service", "kube-apiserver.service"}},
      {"master01 etcd/server.pem", {"etcd.service"}},
      {"master01 etcd/server-key.pem", {"etcd.service"}},
      {"master01 etcd/apiserver-etcd-client.pem", {"kube-apiserver.service"}},
      {"master01 etcd/apiserver-etcd-client-key.pem", {"kube-apiserver.service"}},
      {"master01 kubernetes/ca.pem",
       {"kube-apiserver.service", "kube-controller-manager.service", "kube-scheduler.service"}},
      {"master01 kubernetes/ca-key.pem", {"kube-controller-manager.service"}},
      {"master01 kubernetes/apiserver.pem", {"kube-apiserver.service"}},
      {"master01 kubernetes/apiserver-key.pem", {"kube-apiserver.service"}},
      {"master01 kubernetes/admin.pem", {}},  // kubectl's credentials, no service's
      {"master01 kubernetes/admin-key.pem", {}},
      {"master01 kubernetes/kube-controller-manager.pem", {"kube-controller-manager.service"}},
      {"master01 kubernetes/kube-controller-manager-key.pem", {"kube-controller-manager.service"}},
      {"master01 kubernetes/kube-scheduler.pem", {"kube-scheduler.service"}},
      {"master01 kubernetes/kube-scheduler-key.pem", {"kube-scheduler.service"}},
      {"master01 kubernetes/sa.key", {"kube-apiserver.service", "kube-controller-manager.service"}},
      {"master01 kubernetes/sa.pub", {"kube-apiserver.service"}},
      {"master01 kubernetes/token.csv", {"kube-apiserver.service"}},
      {"node01 etcd/ca.pem", {"etcd.service"}},
      {"node01 etcd/server.pem", {"etcd.service"}},
      {"node01 etcd/server-key.pem", {"etcd.service"}},
      {"node01 kubernetes/ca.pem", {"kubelet.service", "kube-proxy.service"}},
      {"node01 kubernetes/kube-proxy.pem", {"kube-proxy.service"}},
      {"node01 kubernetes/kube-proxy-key.pem", {"kube-proxy.service"}},
      {"node01 kubernetes/bootstrap-token", {"kubelet.service"}},
  };
  auto service_digests = [](const Plan& plan) {
    std::map<std::string, std::string> out;
    for (const Step& s : plan.steps) {
      if (s.kind() == StepKind::service) out[s.id.substr(std::string("service ").size())] = s.digest;
    }
    return out;
  };
  std::map<std::string, std::set<std::string>> actual;
  for (const char* name : {"master01", "node01"}) {
    const Host& h = host(seed_inventory(), name);
    const PlanInputs base = plan_inputs(seed_inventory(), h);
    const auto before = make_plan(seed_inventory(), h, base);
    ASSERT_OK(before);
    for (const auto& [path, content] : *base.kit) {
      PlanInputs changed = base;
      (*changed.kit)[path] = content + (path == PkiPaths::bootstrap_token ? "0" : "\n");
      const auto after = make_plan(seed_inventory(), h, changed);
      ASSERT_TRUE(after.ok()) << path << ": " << after.error().message();
      std::set<std::string>& restarted = actual[std::string(name) + " " + path];
      const auto a = service_digests(*before), b = service_digests(*after);
      for (const auto& [unit, digest] : a) {
        if (b.at(unit) != digest) restarted.insert(unit);
      }
    }
  }
  EXPECT_EQ(actual, expected);
}

// Every step of the seed tutorial (manifests/SOURCES.md, "The procedure") and the plan step that
// does it, on the host the seed does it on. An empty step id means "not done by the plan", with
// the reason.
struct SeedStep {
  const char* seed;
  const char* host;
  const char* step;  // plan step id, or "" with `why`
  const char* why = "";
};

const SeedStep k_seed_map[] = {
    {"1 stop and disable firewalld; flush iptables", "", "", "site policy: kubeferry does not touch firewalls"},
    {"1 SELinux off", "", "", "site policy; the installed components need no SELinux change on Debian"},
    {"1 swap off now and in /etc/fstab", "node01", "preflight", "reported; --fix runs swapoff -a"},
    {"1 set the hostname", "", "", "kubelet uses --hostname-override=<inventory name>"},
    {"1 add every host to /etc/hosts", "node01", "hosts_block /etc/hosts"},
    {"1 /etc/sysctl.d/k8s.conf", "node01", "file /etc/sysctl.d/k8s.conf"},
    {"1 sysctl --system", "node01", "command sysctl"},
    {"1 time sync", "node01", "preflight", "clock checked against the certificates' notBefore"},
    {"2 etcd CA and server certificate", "master01", "file /opt/etcd/ssl/server.pem", "made by pki init"},
    {"2 Kubernetes CA, apiserver, admin, kube-proxy", "master01", "file /opt/kubernetes/ssl/apiserver.pem"},
    {"2 signing duration 87600h", "master01", "file /opt/kubernetes/cfg/kube-controller-manager.conf"},
    {"3 etcd and etcdctl to /opt/etcd/bin", "node02", "file /opt/etcd/bin/etcdctl"},
    {"3 certs to /opt/etcd/ssl", "node02", "file /opt/etcd/ssl/server-key.pem"},
    {"3 config /opt/etcd/cfg", "node02", "file /opt/etcd/cfg/etcd.conf"},
    {"3 unit etcd.service", "node02", "file /usr/lib/systemd/system/etcd.service"},
    {"3 start all members together", "node02", "service etcd.service"},
    {"3 etcdctl endpoint health", "node02", "check etcd-health"},
    {"4 container runtime on nodes", "node01", "preflight", "an existing docker or containerd must run"},
    {"5 layout /opt/kubernetes/{bin,cfg,ssl,logs}", "master01", "dir /opt/kubernetes/logs"},
    {"5 master binaries to bin/", "master01", "file /opt/kubernetes/bin/kube-apiserver"},
    {"5 kubectl symlinked into /usr/local/bin", "master01", "symlink /usr/local/bin/kubectl"},
    {"5 token.csv", "master01", "file /opt/kubernetes/cfg/token.csv"},
    {"5 start kube-apiserver", "master01", "service kube-apiserver.service"},
    {"5 start kube-scheduler", "master01", "service kube-scheduler.service"},
    {"5 start kube-controller-manager", "master01", "service kube-controller-manager.service"},
    {"5 admin kubeconfig", "master01", "file /root/.kube/config"},
    {"5 kubectl get cs healthy", "master01", "check apiserver-ready"},
    {"6 kubelet and kube-proxy binaries", "node01", "file /opt/kubernetes/bin/kubelet"},
    {"6 bootstrap.kubeconfig", "node01", "file /opt/kubernetes/cfg/bootstrap.kubeconfig"},
    {"6 kube-proxy.kubeconfig", "node01", "file /opt/kubernetes/cfg/kube-proxy.kubeconfig"},
    {"6 RBAC kubelet-bootstrap -> system:node-bootstrapper", "master01", "file /opt/kubernetes/addons/rbac.yaml"},
    {"6 start kubelet (TLS bootstrap)", "node01", "service kubelet.service"},
    {"6 kubectl certificate approve", "master01", "command apply-addons", "automatic: nodeclient binding"},
    {"6 the node then shows (NotReady)", "node01", "check node-registered"},
    {"6 load the ip_vs modules", "node01", "command modprobe"},
    {"6 start kube-proxy", "node01", "service kube-proxy.service"},
    {"7 CNI plugins into /opt/cni/bin", "node01", "file /opt/cni/bin/bridge"},
    {"7 flannel image loaded", "node01", "images load"},
    {"7 kubectl apply -f kube-flannel.yml", "master01", "command apply-addons"},
    {"7 coredns image loaded on every node", "node02", "images load"},
    {"7 kubectl apply -f coredns.yaml", "master01", "command apply-addons"},
    {"7 DNS test with busybox:1.28.4", "", "", "busybox's digest is NOT FOUND (manifests/SOURCES.md); left to the e2e"},
};

TEST(Plan, EverySeedStepMapsToAPlanStep) {
  std::map<std::string, Plan> plans;
  for (const char* name : {"master01", "node01", "node02"}) plans[name] = plan_for(seed_inventory(), name);
  int mapped = 0;
  for (const SeedStep& row : k_seed_map) {
    if (std::string(row.step).empty()) {
      EXPECT_STRNE(row.why, "") << row.seed << ": an unmapped step must say why";
      continue;
    }
    const Plan& plan = plans.at(row.host);
    const bool found =
        std::any_of(plan.steps.begin(), plan.steps.end(), [&](const Step& s) { return s.id == row.step; });
    EXPECT_TRUE(found) << row.seed << " -> " << row.host << ": " << row.step;
    ++mapped;
  }
  EXPECT_EQ(mapped, 38);
}

}  // namespace
}  // namespace installer
