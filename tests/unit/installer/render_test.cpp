// Rendered files for the seed (1.20.11, docker) and a current version (1.30.14, containerd):
// the exact lines that matter, and the flags that must NOT appear where a version lacks them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "pki/pki.hpp"
#include "render/components.hpp"
#include "plan_fixtures.hpp"
#include "support/test_util.hpp"

namespace installer::render {
namespace {

using installer::testing::current_inventory;
using installer::testing::option_words;
using installer::testing::render_input;
using installer::testing::seed_inventory;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> words(const Flags& flags) {
  return flag_words(flags);
}

// True if some word starts with `prefix` (a flag name with or without "=").
bool has_flag(const std::vector<std::string>& all, const std::string& prefix) {
  return std::any_of(all.begin(), all.end(), [&](const std::string& w) { return w.rfind(prefix, 0) == 0; });
}

TEST(Version, ParsesAndCompares) {
  auto v = parse_version("v1.20.11");
  ASSERT_OK(v);
  EXPECT_EQ(v->major, 1);
  EXPECT_EQ(v->minor, 20);
  EXPECT_EQ(v->patch, 11);
  EXPECT_TRUE(v->at_least(1, 20));
  EXPECT_FALSE(v->at_least(1, 24));
  EXPECT_TRUE(parse_version("3.4.9").ok());
  EXPECT_EQ(parse_version("v1.20").error().message(), "version \"v1.20\": expected vMAJOR.MINOR.PATCH");
  EXPECT_EQ(parse_version("v1.x.3").error().message(), "version \"v1.x.3\": expected vMAJOR.MINOR.PATCH");
}

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
  EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
}

TEST(PinnedImage, RefusesMissingAndUnpinned) {
  ImageRefs images{{"flannel", "quay.io/coreos/flannel:v0.14.0"}};
  EXPECT_EQ(pinned_image(images, "coredns").error().message(), "image coredns: not in the bundle's image list");
  EXPECT_EQ(pinned_image(images, "flannel").error().message(),
            "image flannel: quay.io/coreos/flannel:v0.14.0 is not pinned by digest (want REPO@sha256:<64 hex>)");
  images["flannel"] = "quay.io/coreos/flannel@sha256:ABC";
  EXPECT_FALSE(pinned_image(images, "flannel").ok());
}

// containerd resolves digest references (the installer imports REPO@sha256 names too); docker
// only tags, so docker clusters get REPO:TAG, and a reference without a tag cannot serve docker.
TEST(RuntimeImage, DigestForContainerdTagForDocker) {
  const std::string digest = "sha256:927d98197ec1141a368550822d18fa1c60bdae27b78b0c004f705f548c07814f";
  Inventory containerd = current_inventory();
  Inventory docker = current_inventory();
  docker.container_runtime = ContainerRuntime::docker;
  auto in = render_input(containerd, "node02");
  in.images["pause"] = "127.0.0.1:5000/pause:3.2@" + digest;
  EXPECT_EQ(*runtime_image(in, "pause"), "127.0.0.1:5000/pause:3.2@" + digest);
  in.inventory = &docker;
  EXPECT_EQ(*runtime_image(in, "pause"), "127.0.0.1:5000/pause:3.2");
  in.images["pause"] = "127.0.0.1:5000/pause@" + digest;
  EXPECT_EQ(runtime_image(in, "pause").error().message(),
            "image pause: 127.0.0.1:5000/pause@" + digest + " has no tag, and docker finds loaded images by tag only");
  in.inventory = &containerd;
  EXPECT_EQ(*runtime_image(in, "pause"), "127.0.0.1:5000/pause@" + digest);
  in.images["pause"] = "127.0.0.1:5000/pause:3.2";
  EXPECT_EQ(runtime_image(in, "pause").error().message(),
            "image pause: 127.0.0.1:5000/pause:3.2 is not pinned by digest (want REPO@sha256:<64 hex>)");
}

TEST(Containerd, ConfigForTheKubeletOffline) {
  const auto in = render_input(current_inventory(), "node02");
  const auto config = render_containerd_config(in);
  ASSERT_OK(config);
  EXPECT_EQ(config->path, "/opt/kubernetes/cfg/containerd.toml");
  EXPECT_EQ(config->mode, 0644u);
  const std::string cri = "[plugins.\"io.containerd.grpc.v1.cri\"";
  const std::string body = config->content.substr(config->content.find("version = 2\n"));
  EXPECT_EQ(body, "version = 2\n\n" + cri +
                      "]\n"
                      "  # The bundle's pause image, loaded by kubeferry-install: never pulled.\n"
                      "  sandbox_image = \"registry.k8s.io/pause:3.6@sha256:"
                      "3d380ca8864549e74af4b29c10f9cb0956236dfb01c40ca076fb6c37253234db\"\n"
                      "  " +
                      cri +
                      ".containerd]\n"
                      "    default_runtime_name = \"runc\"\n"
                      "    " +
                      cri +
                      ".containerd.runtimes.runc]\n"
                      "      runtime_type = \"io.containerd.runc.v2\"\n"
                      "      " +
                      cri +
                      ".containerd.runtimes.runc.options]\n"
                      "        # The kubelet's cgroupDriver is cgroupfs (kubelet-config.yml); the two must agree.\n"
                      "        SystemdCgroup = false\n"
                      "  " +
                      cri +
                      ".cni]\n"
                      "    bin_dir = \"/opt/cni/bin\"\n"
                      "    conf_dir = \"/etc/cni/net.d\"\n"
                      "  " +
                      cri +
                      ".registry]\n"
                      "    # Mirrors, private CAs and credentials for pulls: one hosts.toml per registry in\n"
                      "    # containerd's own layout (/etc/containerd/certs.d/REGISTRY/hosts.toml). kubeferry\n"
                      "    # writes nothing there, so the site's settings survive installs and uninstalls.\n"
                      "    config_path = \"/etc/containerd/certs.d\"\n"
                      "\n"
                      "# The opt plugin's folder inside containerd's own state (its default is /opt/containerd).\n"
                      "[plugins.\"io.containerd.internal.v1.opt\"]\n"
                      "  path = \"/var/lib/containerd/opt\"\n");
  // The kubelet's driver is the one containerd is told to use.
  EXPECT_THAT(installer::testing::lines(render_kubelet_config(in).content), Contains("cgroupDriver: cgroupfs"));
  const RenderedFile dropin = render_containerd_dropin(in);
  EXPECT_EQ(dropin.path, "/etc/systemd/system/containerd.service.d/10-kubeferry.conf");
  EXPECT_EQ(dropin.content,
            "# Written by kubeferry-install; changes are overwritten. Removed by uninstall.\n"
            "[Service]\n"
            "ExecStart=\n"
            "ExecStart=/usr/bin/env containerd --config /opt/kubernetes/cfg/containerd.toml\n");
  auto no_pause = in;
  no_pause.images.erase("pause");
  EXPECT_EQ(render_containerd_config(no_pause).error().message(), "image pause: not in the bundle's image list");
}

TEST(Etcd, EnvFileHoldsMemberAndClusterSettings) {
  const auto in = render_input(seed_inventory(), "node01");
  const RenderedFile env = render_etcd_env(in);
  EXPECT_EQ(env.path, "/opt/etcd/cfg/etcd.conf");
  EXPECT_EQ(env.mode, 0644u);
  const auto got = installer::testing::lines(env.content);
  for (const std::string want : {
           "ETCD_NAME=\"node01\"",
           "ETCD_DATA_DIR=\"/var/lib/etcd/default.etcd\"",
           "ETCD_LISTEN_PEER_URLS=\"https://192.168.80.7:2380\"",
           "ETCD_LISTEN_CLIENT_URLS=\"https://192.168.80.7:2379\"",
           "ETCD_INITIAL_ADVERTISE_PEER_URLS=\"https://192.168.80.7:2380\"",
           "ETCD_ADVERTISE_CLIENT_URLS=\"https://192.168.80.7:2379\"",
           "ETCD_INITIAL_CLUSTER=\"master01=https://192.168.80.21:2380,node01=https://192.168.80.7:2380,"
           "node02=https://192.168.80.8:2380\"",
           "ETCD_INITIAL_CLUSTER_TOKEN=\"etcd-kubernetes\"",
           "ETCD_INITIAL_CLUSTER_STATE=\"new\"",
       }) {
    EXPECT_THAT(got, Contains(want));
  }
}

TEST(Etcd, UnitIsExactAndNoSettingIsGivenTwice) {
  const auto in = render_input(seed_inventory(), "master01");
  const RenderedFile unit = render_etcd_unit(in);
  EXPECT_EQ(unit.path, "/usr/lib/systemd/system/etcd.service");
  EXPECT_EQ(unit.content,
            "# Written by kubeferry-install; changes are overwritten.\n"
            "[Unit]\n"
            "Description=Etcd Server\n"
            "Documentation=https://github.com/etcd-io/etcd\n"
            "After=network.target network-online.target\n"
            "Wants=network-online.target\n"
            "\n"
            "[Service]\n"
            "Type=notify\n"
            "EnvironmentFile=/opt/etcd/cfg/etcd.conf\n"
            "ExecStart=/opt/etcd/bin/etcd \\\n"
            "  --cert-file=/opt/etcd/ssl/server.pem \\\n"
            "  --key-file=/opt/etcd/ssl/server-key.pem \\\n"
            "  --peer-cert-file=/opt/etcd/ssl/server.pem \\\n"
            "  --peer-key-file=/opt/etcd/ssl/server-key.pem \\\n"
            "  --trusted-ca-file=/opt/etcd/ssl/ca.pem \\\n"
            "  --peer-trusted-ca-file=/opt/etcd/ssl/ca.pem \\\n"
            "  --client-cert-auth \\\n"
            "  --peer-client-cert-auth \\\n"
            "  --logger=zap\n"
            "Restart=on-failure\n"
            "RestartSec=5\n"
            "LimitNOFILE=65536\n"
            "\n"
            "[Install]\n"
            "WantedBy=multi-user.target\n");
  // etcd 3.4 exits on `conflicting environment variable "ETCD_X" is shadowed by corresponding
  // command-line flag`: map every ETCD_X of the env file to its flag --x and look for it.
  const auto flags = words(etcd_flags(in));
  for (const std::string& line : installer::testing::lines(render_etcd_env(in).content)) {
    if (line.rfind("ETCD_", 0) != 0) continue;
    std::string flag = "--" + line.substr(5, line.find('=') - 5);
    std::transform(flag.begin(), flag.end(), flag.begin(), [](char c) { return c == '_' ? '-' : std::tolower(c); });
    EXPECT_FALSE(has_flag(flags, flag + "=") || has_flag(flags, flag)) << flag << " is set twice";
    EXPECT_THAT(unit.content, Not(HasSubstr(flag + "=")));
  }
}

TEST(Apiserver, SeedFlags120) {
  const auto in = render_input(seed_inventory(), "master01");
  const auto got = option_words(render_apiserver_options(in).content);
  for (const std::string want : {
           "--logtostderr=false",
           "--log-dir=/opt/kubernetes/logs",
           "--etcd-servers=https://192.168.80.21:2379,https://192.168.80.7:2379,https://192.168.80.8:2379",
           "--bind-address=192.168.80.21",
           "--secure-port=6443",
           "--advertise-address=192.168.80.21",
           "--insecure-port=0",
           "--service-cluster-ip-range=10.0.0.0/24",
           "--authorization-mode=RBAC,Node",
           "--enable-bootstrap-token-auth=true",
           "--token-auth-file=/opt/kubernetes/cfg/token.csv",
           "--client-ca-file=/opt/kubernetes/ssl/ca.pem",
           "--tls-cert-file=/opt/kubernetes/ssl/apiserver.pem",
           "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
           "--service-account-signing-key-file=/opt/kubernetes/ssl/sa.key",
           "--service-account-key-file=/opt/kubernetes/ssl/sa.pub",
           "--etcd-cafile=/opt/etcd/ssl/ca.pem",
           "--etcd-certfile=/opt/etcd/ssl/apiserver-etcd-client.pem",
           "--etcd-keyfile=/opt/etcd/ssl/apiserver-etcd-client-key.pem",
       }) {
    EXPECT_THAT(got, Contains(want));
  }
  // G1-only flags and the insecure port never appear.
  for (const std::string banned :
       {"--insecure-bind-address", "--kubelet-https", "--admission-control=", "--insecure-port=8080"}) {
    EXPECT_FALSE(has_flag(got, banned)) << banned;
  }
  EXPECT_EQ(render_apiserver_options(in).content.substr(0, render_apiserver_options(in).content.find('\n')),
            "# kube-apiserver v1.20.11 on master01");
}

TEST(Apiserver, CurrentFlags130DropRemovedFlags) {
  const auto in = render_input(current_inventory(), "master01");
  const auto got = option_words(render_apiserver_options(in).content);
  EXPECT_THAT(got, Contains("--service-account-issuer=https://kubernetes.default.svc.cluster.local"));
  EXPECT_THAT(got, Contains("--v=2"));
  for (const std::string removed : {"--insecure-port", "--logtostderr", "--log-dir"}) {
    EXPECT_FALSE(has_flag(got, removed)) << removed << " is gone in 1.30";
  }
  const RenderedFile unit = render_apiserver_unit(in);
  EXPECT_THAT(installer::testing::lines(unit.content),
              Contains("EnvironmentFile=-/opt/kubernetes/cfg/kube-apiserver.conf"));
  EXPECT_THAT(installer::testing::lines(unit.content), Contains("ExecStart=/opt/kubernetes/bin/kube-apiserver \\"));
  EXPECT_THAT(installer::testing::lines(unit.content), Contains("  $KUBE_APISERVER_OPTS"));
}

TEST(ControllerManager, OwnKubeconfigAndSigningDuration) {
  for (const Inventory* inv : {&seed_inventory(), &current_inventory()}) {
    const auto in = render_input(*inv, "master01");
    const auto got = option_words(render_controller_manager_options(in).content);
    EXPECT_THAT(got, Contains("--kubeconfig=/opt/kubernetes/cfg/kube-controller-manager.kubeconfig"));
    EXPECT_THAT(got, Contains("--cluster-signing-duration=87600h0m0s"));
    EXPECT_THAT(got, Contains("--cluster-cidr=10.244.0.0/16"));
    EXPECT_THAT(got, Contains("--allocate-node-cidrs=true"));
    EXPECT_THAT(got, Contains("--cluster-signing-key-file=/opt/kubernetes/ssl/ca-key.pem"));
    EXPECT_THAT(got, Contains("--service-account-private-key-file=/opt/kubernetes/ssl/sa.key"));
    EXPECT_FALSE(has_flag(got, "--master"));
    EXPECT_FALSE(has_flag(got, "--experimental-cluster-signing-duration"));
    EXPECT_EQ(has_flag(got, "--address=127.0.0.1"), inv == &seed_inventory());
  }
}

TEST(Scheduler, OwnKubeconfig) {
  const auto in = render_input(current_inventory(), "master01");
  const auto got = option_words(render_scheduler_options(in).content);
  EXPECT_THAT(got, Contains("--kubeconfig=/opt/kubernetes/cfg/kube-scheduler.kubeconfig"));
  EXPECT_THAT(got, Contains("--leader-elect=true"));
  EXPECT_THAT(got, Contains("--bind-address=127.0.0.1"));
  EXPECT_FALSE(has_flag(got, "--master"));
  EXPECT_FALSE(has_flag(got, "--address"));
}

TEST(Kubelet, Seed120DockerUsesDockershimFlags) {
  const auto in = render_input(seed_inventory(), "node01");
  auto file = render_kubelet_options(in);
  ASSERT_OK(file);
  const auto got = option_words(file->content);
  for (const std::string want : {
           "--hostname-override=node01",
           "--network-plugin=cni",
           "--cni-bin-dir=/opt/cni/bin",
           "--cni-conf-dir=/etc/cni/net.d",
           "--kubeconfig=/opt/kubernetes/cfg/kubelet.kubeconfig",
           "--bootstrap-kubeconfig=/opt/kubernetes/cfg/bootstrap.kubeconfig",
           "--config=/opt/kubernetes/cfg/kubelet-config.yml",
           "--cert-dir=/var/lib/kubelet/pki",
           // docker finds loaded images by tag only (runtime_image)
           "--pod-infra-container-image=registry.k8s.io/pause:3.2",
       }) {
    EXPECT_THAT(got, Contains(want));
  }
  EXPECT_FALSE(has_flag(got, "--container-runtime-endpoint"));
  EXPECT_FALSE(has_flag(got, "--experimental-bootstrap-kubeconfig"));
  EXPECT_THAT(installer::testing::lines(render_kubelet_unit(in).content),
              Contains("After=network-online.target docker.service"));
}

TEST(Kubelet, Current130ContainerdHasNoDockershimFlags) {
  const auto in = render_input(current_inventory(), "node02");
  auto file = render_kubelet_options(in);
  ASSERT_OK(file);
  const auto got = option_words(file->content);
  EXPECT_THAT(got, Contains("--container-runtime-endpoint=unix:///run/containerd/containerd.sock"));
  for (const std::string removed :
       {"--network-plugin", "--cni-bin-dir", "--cni-conf-dir", "--container-runtime=", "--logtostderr", "--log-dir"}) {
    EXPECT_FALSE(has_flag(got, removed)) << removed << " is gone in 1.30";
  }
  EXPECT_THAT(installer::testing::lines(render_kubelet_unit(in).content),
              Contains("After=network-online.target containerd.service"));
}

TEST(Kubelet, Containerd120UsesRemoteRuntime) {
  Inventory inv = seed_inventory();
  inv.container_runtime = ContainerRuntime::containerd;
  auto in = render_input(seed_inventory(), "node01");
  in.inventory = &inv;
  in.host = find_host(inv, "node01");
  auto flags = kubelet_flags(in);
  ASSERT_OK(flags);
  const auto got = words(*flags);
  EXPECT_THAT(got, Contains("--container-runtime=remote"));
  EXPECT_THAT(got, Contains("--container-runtime-endpoint=unix:///run/containerd/containerd.sock"));
  EXPECT_FALSE(has_flag(got, "--network-plugin"));
}

TEST(Kubelet, ConfigFile) {
  const auto in = render_input(seed_inventory(), "node01");
  const auto got = installer::testing::lines(render_kubelet_config(in).content);
  for (const std::string want :
       {"kind: KubeletConfiguration", "apiVersion: kubelet.config.k8s.io/v1beta1", "- 10.0.0.2",
        "clusterDomain: cluster.local", "    clientCAFile: /opt/kubernetes/ssl/ca.pem", "  mode: Webhook",
        "readOnlyPort: 0"}) {
    EXPECT_THAT(got, Contains(want));
  }
}

TEST(KubeProxy, IpvsModeAndModules) {
  const auto in = render_input(seed_inventory(), "node01");
  const auto got = installer::testing::lines(render_kube_proxy_config(in).content);
  for (const std::string want :
       {"kind: KubeProxyConfiguration", "mode: ipvs", "clusterCIDR: 10.244.0.0/16", "hostnameOverride: node01",
        "  kubeconfig: /opt/kubernetes/cfg/kube-proxy.kubeconfig"}) {
    EXPECT_THAT(got, Contains(want));
  }
  EXPECT_EQ(
      render_modules_load(in).content,
      "# Kernel modules for Kubernetes (bridge netfilter, overlayfs, kube-proxy IPVS). Written by kubeferry-install.\n"
      "br_netfilter\noverlay\nip_vs\nip_vs_rr\nip_vs_wrr\nip_vs_sh\nnf_conntrack\n");
  const auto master = render_input(seed_inventory(), "master01");
  EXPECT_EQ(render_modules_load(master).content,
            "# Kernel modules for Kubernetes (bridge netfilter, overlayfs). Written by kubeferry-install.\n"
            "br_netfilter\noverlay\n");
}

TEST(System, SysctlAndHosts) {
  const auto in = render_input(seed_inventory(), "node01");
  EXPECT_EQ(render_sysctl(in).content,
            "# Kubernetes networking sysctls. Written by kubeferry-install.\n"
            "net.bridge.bridge-nf-call-ip6tables = 1\n"
            "net.bridge.bridge-nf-call-iptables = 1\n"
            "net.ipv4.ip_forward = 1\n"
            "net.ipv6.conf.all.disable_ipv6 = 1\n");
  EXPECT_EQ(hosts_block(seed_inventory()),
            "# BEGIN kubeferry cluster kubernetes\n"
            "192.168.80.21 master01\n"
            "192.168.80.7 node01\n"
            "192.168.80.8 node02\n"
            "# END kubeferry cluster kubernetes\n");
}

TEST(Kubeconfig, EmbeddedCertificatesAndToken) {
  const auto in = render_input(seed_inventory(), "master01");
  auto admin = render_admin_kubeconfig(in);
  ASSERT_OK(admin);
  EXPECT_EQ(admin->path, "/root/.kube/config");
  EXPECT_EQ(admin->mode, 0600u);
  const auto got = installer::testing::lines(admin->content);
  EXPECT_THAT(got, Contains("    server: https://192.168.80.21:6443"));
  EXPECT_THAT(got, Contains("    certificate-authority-data: " + base64(in.kit.at(PkiPaths::k8s_ca))));
  EXPECT_THAT(got, Contains("    client-certificate-data: " + base64(in.kit.at(PkiPaths::admin))));
  EXPECT_THAT(got, Contains("- name: cluster-admin"));
  EXPECT_THAT(got, Contains("current-context: default"));

  const auto node = render_input(seed_inventory(), "node01");
  auto bootstrap = render_bootstrap_kubeconfig(node);
  ASSERT_OK(bootstrap);
  std::string token = node.kit.at(PkiPaths::bootstrap_token);
  while (!token.empty() && token.back() == '\n') token.pop_back();
  EXPECT_THAT(installer::testing::lines(bootstrap->content), Contains("    token: " + token));
  EXPECT_THAT(bootstrap->content, Not(HasSubstr("client-key-data")));
  auto proxy = render_kube_proxy_kubeconfig(node);
  ASSERT_OK(proxy);
  EXPECT_EQ(proxy->path, "/opt/kubernetes/cfg/kube-proxy.kubeconfig");
  // A node's kit has no admin certificate.
  EXPECT_EQ(render_admin_kubeconfig(node).error().message(), "PKI kit: missing kubernetes/admin.pem");
}

TEST(Rbac, BootstrapAndAutoApproval) {
  const auto in = render_input(seed_inventory(), "master01");
  const std::string rbac = render_rbac(in).content;
  EXPECT_THAT(rbac, HasSubstr("  name: kubelet-bootstrap\n"));
  EXPECT_THAT(rbac, HasSubstr("  name: system:node-bootstrapper\n"));
  EXPECT_THAT(rbac,
              HasSubstr("  name: system:certificates.k8s.io:certificatesigningrequests:nodeclient\n"
                        "subjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: User\n  name: kubelet-bootstrap\n"));
  EXPECT_THAT(rbac,
              HasSubstr("  name: system:certificates.k8s.io:certificatesigningrequests:selfnodeclient\n"
                        "subjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: Group\n  name: system:nodes\n"));
  EXPECT_THAT(rbac, HasSubstr("  kind: User\n  name: kubernetes\n"));
}

TEST(Flannel, VersionAwareNamespaceAndPsp) {
  const auto old = render_flannel(render_input(seed_inventory(), "master01"));
  ASSERT_OK(old);
  EXPECT_THAT(old->content, HasSubstr("kind: PodSecurityPolicy\n"));
  EXPECT_THAT(old->content, HasSubstr("  namespace: kube-system\n"));
  const auto now = render_flannel(render_input(current_inventory(), "master01"));
  ASSERT_OK(now);
  EXPECT_THAT(now->content, Not(HasSubstr("PodSecurityPolicy")));
  EXPECT_THAT(now->content, HasSubstr("  namespace: kube-flannel\n"));
  for (const auto* file : {&*old, &*now}) {
    EXPECT_THAT(file->content, HasSubstr("      \"Network\": \"10.244.0.0/16\",\n"));
    EXPECT_THAT(file->content, HasSubstr("        \"Type\": \"vxlan\"\n"));
    int images = 0;
    for (const auto& line : installer::testing::lines(file->content)) {
      if (line.find("image: ") == std::string::npos) continue;
      ++images;
      // The seed runs docker (by tag), the current set containerd (by digest).
      EXPECT_EQ(line, file == &*old ? "        image: quay.io/coreos/flannel:v0.15.1"
                                    : "        image: quay.io/coreos/flannel:v0.15.1@sha256:"
                                      "9a296fbb67790659adc3701e287adde3c59803b7fcefe354f1fc482840cdb3d9");
    }
    EXPECT_EQ(images, 2);
  }
}

// The apiserver does not store a PodSecurityPolicy's false booleans and empty lists; a file
// that names them is "configured" by every `kubectl apply` although nothing changed (seen with
// the real v1.20.2 apiserver, tests/integration/checks.sh). The policy stays flannel's.
TEST(Flannel, PspNamesNoFieldTheApiserverDrops) {
  const auto file = render_flannel(render_input(seed_inventory(), "master01"));
  ASSERT_OK(file);
  const size_t begin = file->content.find("kind: PodSecurityPolicy\n");
  ASSERT_NE(begin, std::string::npos);
  const std::string psp = file->content.substr(begin, file->content.find("---", begin) - begin);
  for (const auto& line : installer::testing::lines(psp)) {
    EXPECT_THAT(line, Not(HasSubstr(": []"))) << "an empty list is not stored";
    // *bool fields keep an explicit false; plain bool fields do not.
    if (line.find("allowPrivilegeEscalation: false") != std::string::npos ||
        line.find("AllowPrivilegeEscalation: false") != std::string::npos)
      continue;
    EXPECT_THAT(line, Not(HasSubstr(": false"))) << "a false bool is not stored";
  }
  EXPECT_THAT(psp, HasSubstr("  allowPrivilegeEscalation: false\n  defaultAllowPrivilegeEscalation: false\n"));
  EXPECT_THAT(psp, HasSubstr("  allowedCapabilities: [NET_ADMIN, NET_RAW]\n  hostNetwork: true\n"));
  EXPECT_THAT(psp, HasSubstr("  hostPorts:\n  - {min: 0, max: 65535}\n"));
}

// The install writes the node's CNI conflist itself, byte for byte what flannel's init
// container copies from kube-flannel-cfg (the e2e compares the two on every node), so that a
// re-install after flannel's copy finds nothing changed and uninstall removes the file.
TEST(Flannel, NodeConflistIsTheConfigMapsCniConf) {
  const auto in = render_input(seed_inventory(), "node01");
  const RenderedFile conflist = render_flannel_cni_conflist(in);
  EXPECT_EQ(conflist.path, "/etc/cni/net.d/10-flannel.conflist");
  EXPECT_EQ(conflist.mode, 0644u);
  const auto manifest = render_flannel(render_input(seed_inventory(), "master01"));
  ASSERT_OK(manifest);
  std::vector<YAML::Node> docs = YAML::LoadAll(manifest->content);
  std::string cni_conf;
  for (const auto& doc : docs) {
    if (doc["kind"] && doc["kind"].as<std::string>() == "ConfigMap")
      cni_conf = doc["data"]["cni-conf.json"].as<std::string>();
  }
  EXPECT_EQ(cni_conf, conflist.content);
  EXPECT_THAT(conflist.content, HasSubstr("\"type\": \"flannel\""));
}

TEST(Flannel, CniPluginInitContainerWhenTheImageIsThere) {
  auto in = render_input(current_inventory(), "master01");
  // A test reference: the digest is sha256("flannel-cni-plugin test image"), no real image's.
  in.images["flannel-cni-plugin"] =
      "ghcr.io/flannel-io/flannel-cni-plugin@sha256:" + bundlespec::sha256_hex("flannel-cni-plugin test image");
  const auto file = render_flannel(in);
  ASSERT_OK(file);
  EXPECT_THAT(
      file->content,
      HasSubstr("      - name: install-cni-plugin\n        image: ghcr.io/flannel-io/flannel-cni-plugin@sha256:"));
  in.images.erase("flannel");
  EXPECT_EQ(render_flannel(in).error().message(), "image flannel: not in the bundle's image list");
}

TEST(Coredns, ClusterIpDomainAndImage) {
  auto in = render_input(seed_inventory(), "master01");
  const auto file = render_coredns(in);
  ASSERT_OK(file);
  const auto got = installer::testing::lines(file->content);
  EXPECT_THAT(got, Contains("  clusterIP: 10.0.0.2"));
  EXPECT_THAT(got, Contains("        kubernetes cluster.local in-addr.arpa ip6.arpa {"));
  EXPECT_THAT(got, Contains("        image: registry.k8s.io/coredns/coredns:v1.7.0"));
  Inventory inv = seed_inventory();
  inv.dns_ip = "10.0.0.10";
  inv.domain = "example.internal";
  in.inventory = &inv;
  const auto other = render_coredns(in);
  ASSERT_OK(other);
  EXPECT_THAT(installer::testing::lines(other->content), Contains("  clusterIP: 10.0.0.10"));
  EXPECT_THAT(installer::testing::lines(other->content),
              Contains("        kubernetes example.internal in-addr.arpa ip6.arpa {"));
}

}  // namespace
}  // namespace installer::render
