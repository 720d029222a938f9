// Rendered files checked by independent tools (each test skips with a message when its tool
// is missing; scripts/setup.sh installs systemd and etcd, kubectl is optional):
//   systemd-analyze verify on every unit (ExecStart binaries are stubs under a scratch root),
//   kubectl config view --minify --flatten on every kubeconfig,
//   a real etcd started from the RENDERED env file and the unit's ExecStart line, with the
//   generated certificates on 127.0.0.63, answering etcdctl endpoint health with client certs.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "pki/pki.hpp"
#include "render/components.hpp"
#include "plan_fixtures.hpp"
#include "support/test_util.hpp"

namespace installer::render {
namespace {

using installer::testing::current_inventory;
using installer::testing::render_input;
using installer::testing::seed_inventory;

bool have(const std::string& tool) {
  return kftest::run_command("command -v " + tool + " >/dev/null 2>&1") == 0;
}

Paths paths_under(const std::string& root) {
  Paths p;
  p.etcd_dir = root + "/opt/etcd";
  p.etcd_data_dir = root + "/var/lib/etcd/default.etcd";
  p.k8s_dir = root + "/opt/kubernetes";
  p.cni_bin_dir = root + "/opt/cni/bin";
  p.cni_conf_dir = root + "/etc/cni/net.d";
  p.unit_dir = root + "/units";
  p.kubelet_dir = root + "/var/lib/kubelet";
  p.admin_kubeconfig = root + "/root/.kube/config";
  return p;
}

void write(const RenderedFile& file) {
  kftest::write_file(file.path, file.content, static_cast<int>(file.mode));
}

// The unit's ExecStart, continuation lines joined, split into words.
std::vector<std::string> exec_start(const std::string& unit) {
  std::string joined;
  bool in = false;
  for (const auto& line : installer::testing::lines(unit)) {
    if (line.rfind("ExecStart=", 0) == 0) {
      in = true;
      joined = line.substr(10);
    } else if (in) {
      joined += " " + line;
    } else {
      continue;
    }
    if (joined.size() >= 2 && joined.compare(joined.size() - 2, 2, " \\") == 0) {
      joined.resize(joined.size() - 2);
    } else {
      in = false;
    }
  }
  std::vector<std::string> words;
  std::istringstream split(joined);
  for (std::string word; split >> word;) words.push_back(word);
  return words;
}

TEST(RenderTools, SystemdAnalyzeVerifiesEveryUnit) {
  if (!have("systemd-analyze")) GTEST_SKIP() << "systemd-analyze not installed (Debian package systemd)";
  for (const Inventory* inventory : {&seed_inventory(), &current_inventory()}) {
    for (const char* name : {"master01", "node01"}) {
      kftest::TempDir root;
      auto in = render_input(*inventory, name);
      in.paths = paths_under(root.path());
      std::vector<RenderedFile> units = {render_etcd_unit(in)};
      if (in.host->has(Role::master)) {
        units.insert(units.end(),
                     {render_apiserver_unit(in), render_controller_manager_unit(in), render_scheduler_unit(in)});
      } else {
        units.insert(units.end(), {render_kubelet_unit(in), render_kube_proxy_unit(in)});
      }
      for (const auto& unit : units) {
        write(unit);
        const auto argv = exec_start(unit.content);
        ASSERT_FALSE(argv.empty()) << unit.path;
        kftest::write_file(argv.front(), "#!/bin/sh\nexit 0\n", 0755);  // the binary, as a stub
      }
      for (const auto& unit : units) {
        std::string output;
        const int rc = kftest::run_command("systemd-analyze verify " + unit.path, &output);
        EXPECT_EQ(rc, 0) << inventory->kubernetes_version << " " << unit.path << ":\n" << output;
        EXPECT_EQ(output.find("Unknown"), std::string::npos) << output;
      }
      // And it does fail when the binary is missing: the check can see a broken unit.
      const std::string binary = exec_start(units.front().content).front();
      ASSERT_EQ(::unlink(binary.c_str()), 0);
      EXPECT_NE(kftest::run_command("systemd-analyze verify " + units.front().path + " >/dev/null 2>&1"), 0);
    }
  }
}

TEST(RenderTools, KubectlAcceptsEveryKubeconfig) {
  if (!have("kubectl")) {
    GTEST_SKIP()
        << "kubectl not installed: kubeconfigs not checked (Debian's kubernetes-client, scripts/rig/README.md)";
  }
  kftest::TempDir root;
  std::vector<std::pair<RenderedFile, std::string>> files;
  auto master = render_input(seed_inventory(), "master01");
  master.paths = paths_under(root.path());
  auto node = render_input(seed_inventory(), "node01");
  node.paths = paths_under(root.path());
  for (auto made : {std::make_pair(render_admin_kubeconfig(master), "cluster-admin"),
                    std::make_pair(render_controller_manager_kubeconfig(master), "kube-controller-manager"),
                    std::make_pair(render_scheduler_kubeconfig(master), "kube-scheduler"),
                    std::make_pair(render_kube_proxy_kubeconfig(node), "kube-proxy"),
                    std::make_pair(render_bootstrap_kubeconfig(node), "kubelet-bootstrap")}) {
    ASSERT_OK(made.first);
    write(*made.first);
    std::string output;
    const int rc = kftest::run_command("kubectl config view --minify --flatten --kubeconfig " + made.first->path +
                                           " -o jsonpath='{.clusters[0].cluster.server} {.users[0].name}'",
                                       &output);
    EXPECT_EQ(rc, 0) << made.first->path << ": " << output;
    EXPECT_EQ(output, std::string("https://192.168.80.21:6443 ") + made.second);
  }
  // A broken one is refused, so the check can fail.
  kftest::write_file(root / "broken.kubeconfig", "apiVersion: v1\nkind: Config\ncurrent-context: missing\n");
  EXPECT_NE(kftest::run_command("kubectl config view --minify --flatten --kubeconfig " + (root / "broken.kubeconfig") +
                                " >/dev/null 2>&1"),
            0);
}

TEST(RenderTools, RealEtcdStartsFromTheRenderedConfig) {
  if (!have("etcd") || !have("etcdctl")) GTEST_SKIP() << "etcd/etcdctl not installed (Debian etcd-server, etcd-client)";
  std::vector<std::string> warnings;
  auto inventory = parse_inventory(
      "cluster_name: rig\nkubernetes_version: v1.20.11\nhosts:\n"
      "  - {name: etcd01, address: 127.0.0.63, roles: [etcd, master]}\n",
      "loopback.yaml", warnings);
  ASSERT_OK(inventory);
  const Host& host = inventory->hosts.front();
  auto pki = generate_pki(*inventory, std::time(nullptr));
  ASSERT_OK(pki);
  kftest::TempDir root;
  RenderInput in;
  in.inventory = &*inventory;
  in.host = &host;
  in.versions.kubernetes = *parse_version("v1.20.11");
  in.versions.etcd = *parse_version("v3.4.23");
  in.paths = paths_under(root.path());
  std::map<std::string, std::string> by_path;
  for (const auto& f : *pki) by_path[f.path] = f.content;
  kftest::write_file(in.paths.etcd_ssl("ca.pem"), by_path[PkiPaths::etcd_ca]);
  kftest::write_file(in.paths.etcd_ssl("server.pem"), by_path[PkiPaths::etcd_server]);
  kftest::write_file(in.paths.etcd_ssl("server-key.pem"), by_path[PkiPaths::etcd_server_key], 0600);
  kftest::write_file(root / "client.pem", by_path[PkiPaths::etcd_apiserver_client]);
  kftest::write_file(root / "client-key.pem", by_path[PkiPaths::etcd_apiserver_client_key], 0600);
  const RenderedFile env = render_etcd_env(in);
  const RenderedFile unit = render_etcd_unit(in);
  write(env);
  write(unit);
  std::string etcd_path;
  ASSERT_EQ(kftest::run_command("command -v etcd", &etcd_path), 0);
  etcd_path.erase(etcd_path.find_last_not_of('\n') + 1);
  kftest::write_file(in.paths.etcd_bin("etcd"), "", 0755);
  ASSERT_EQ(::unlink(in.paths.etcd_bin("etcd").c_str()), 0);
  ASSERT_EQ(::symlink(etcd_path.c_str(), in.paths.etcd_bin("etcd").c_str()), 0);

  // The environment systemd would give it: every KEY="VALUE" of the env file.
  std::string command = "env -i PATH=/usr/bin:/bin";
  for (const auto& line : installer::testing::lines(env.content)) {
    if (line.empty() || line[0] == '#') continue;
    command += " '" + line.substr(0, line.find('=')) + "=" +
               line.substr(line.find("=\"") + 2, line.size() - line.find("=\"") - 3) + "'";
  }
  for (const auto& word : exec_start(unit.content)) command += " '" + word + "'";
  const std::string log = root / "etcd.log";
  ASSERT_EQ(kftest::run_command("(" + command + " >" + log + " 2>&1 & echo $! >" + (root / "etcd.pid") + ")"), 0);
  const pid_t pid = static_cast<pid_t>(std::stol(kftest::read_file(root / "etcd.pid")));
  const std::string health = "ETCDCTL_API=3 etcdctl --cacert=" + in.paths.etcd_ssl("ca.pem") +
                             " --cert=" + (root / "client.pem") + " --key=" + (root / "client-key.pem") +
                             " --endpoints=https://127.0.0.63:2379 --dial-timeout=1s endpoint health";
  int rc = 1;
  std::string output;
  for (int i = 0; i < 40 && rc != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    rc = kftest::run_command(health, &output);
  }
  // Without a client certificate it is refused: client-cert auth is on.
  const int anonymous = kftest::run_command("ETCDCTL_API=3 etcdctl --cacert=" + in.paths.etcd_ssl("ca.pem") +
                                            " --endpoints=https://127.0.0.63:2379 --dial-timeout=1s endpoint health "
                                            ">/dev/null 2>&1");
  ::kill(pid, SIGKILL);
  kftest::run_command("sleep 0.2");
  EXPECT_EQ(rc, 0) << output << "\netcd log:\n" << kftest::read_file(log);
  EXPECT_NE(output.find("https://127.0.0.63:2379 is healthy"), std::string::npos) << output;
  EXPECT_NE(anonymous, 0);
  EXPECT_EQ(kftest::read_file(log).find("conflicting environment variable"), std::string::npos);
}

}  // namespace
}  // namespace installer::render
