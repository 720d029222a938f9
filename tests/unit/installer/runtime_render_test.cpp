// The container runtime from the bundle: upstream's units byte for byte (sha256 of the file at
// the tag, read in containerd/containerd and moby/moby at the commits installer/render/runtime.cpp
// names), the containerd config per version, and the config read back by the REAL containerd
// (`containerd config dump`, Debian's 1.6.20): every key the renderer writes must come back with
// the same value, so a misspelt or misplaced key (which containerd ignores) fails the test.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "bundlespec/digest.hpp"
#include "render/components.hpp"
#include "plan_fixtures.hpp"
#include "support/test_util.hpp"

namespace installer::render {
namespace {

using installer::testing::current_inventory;
using installer::testing::render_input;

std::string unit_sha(const std::string& version) {
  auto unit = upstream_containerd_unit(*parse_version(version));
  EXPECT_TRUE(unit.ok()) << version;
  return unit.ok() ? bundlespec::sha256_hex(*unit) : "";
}

TEST(RuntimeUnits, ContainerdUnitIsUpstreamsAtEachTag) {
  // sha256 of `git show TAG:containerd.service` in containerd/containerd.
  EXPECT_EQ(unit_sha("v1.5.5"), "16a9e9fed866ad36246239582a1d72eb2f815b6b10298a8ae493dca72af71b31");
  EXPECT_EQ(unit_sha("v1.6.20"), "16a9e9fed866ad36246239582a1d72eb2f815b6b10298a8ae493dca72af71b31");
  EXPECT_EQ(unit_sha("v1.6.37"), "8a484d80a87a42130559f05ba41d13d23cf2cd138ef39e098817d6379cc0b893");
  EXPECT_EQ(unit_sha("v1.7.0"), "4576c080ab8a3eec318b4ea9017aba47b929b6de148fa442d78b8b3d21e5479b");
  EXPECT_EQ(unit_sha("v1.7.24"), "68dc82b2e67ecb77c8ae7f49ce9681380e80977a1f261a8653e535932cf6400d");
  EXPECT_EQ(unit_sha("v2.0.0"), "12a76c13cad132222d2b3d2025e56212d205d37eca77508dbbfcdf6ababbf70a");
  EXPECT_EQ(unit_sha("v2.1.0"), "1941362cbaa89dd591b99c32b050d82c583d3cd2e5fa63085d7017457ec5fca8");
  EXPECT_EQ(unit_sha("v2.3.4"), "1941362cbaa89dd591b99c32b050d82c583d3cd2e5fa63085d7017457ec5fca8");
}

TEST(RuntimeUnits, VersionsOutsideTheTableAreRefused) {
  for (const char* version : {"v1.4.12", "v2.4.0", "v3.0.0"}) {
    auto unit = upstream_containerd_unit(*parse_version(version));
    ASSERT_FALSE(unit.ok()) << version;
    EXPECT_EQ(unit.error().message(), std::string("containerd ") + version +
                                          ": kubeferry knows upstream's containerd.service for v1.5.0 to v2.3.x only");
  }
  auto docker = upstream_docker_units(*parse_version("v24.0.9"));
  ASSERT_FALSE(docker.ok());
  EXPECT_EQ(docker.error().message(),
            "docker v24.0.9: kubeferry knows moby's docker.service and docker.socket for v20.10.1 to v20.10.27 only "
            "(the docker of dockershim, removed in Kubernetes 1.24)");
}

TEST(RuntimeUnits, DockerUnitsAreMobysContrib) {
  // sha256 of contrib/init/systemd/docker.service and docker.socket at moby/moby v20.10.8 and v20.10.24.
  for (const char* version : {"v20.10.8", "20.10.24"}) {
    auto units = upstream_docker_units(*parse_version(version));
    ASSERT_TRUE(units.ok()) << version;
    EXPECT_EQ(bundlespec::sha256_hex(units->first), "e47c8d28239f07ab481c1688786efe526533f1365bc00657c3e7e083fa6b56d4");
    EXPECT_EQ(bundlespec::sha256_hex(units->second),
              "96cd0d89474816ddfb03893b44c36e7d744254aed1bf6d30eca65ff396114656");
  }
}

Inventory bundle_inventory() {
  Inventory inv = current_inventory();
  inv.container_runtime_source = RuntimeSource::bundle;
  return inv;
}

TEST(ContainerdConfig, VersionFollowsTheBundlesContainerd) {
  const Inventory inv = bundle_inventory();
  auto in = render_input(inv, "node01");
  in.versions.runtime = *parse_version("v1.6.20");
  auto v2 = render_containerd_config(in);
  ASSERT_TRUE(v2.ok()) << v2.error().message();
  EXPECT_EQ(v2->path, "/etc/containerd/config.toml");
  EXPECT_NE(v2->content.find("\nversion = 2\n"), std::string::npos);
  EXPECT_NE(v2->content.find("[plugins.\"io.containerd.grpc.v1.cri\"]\n"), std::string::npos);
  EXPECT_EQ(v2->content.find("drop-in"), std::string::npos);

  in.versions.runtime = *parse_version("v2.0.5");
  auto v3 = render_containerd_config(in);
  ASSERT_TRUE(v3.ok()) << v3.error().message();
  const std::string pause = in.images.at("pause");
  for (const std::string& line :
       {std::string("version = 3\n"), std::string("  [plugins.\"io.containerd.cri.v1.images\".pinned_images]\n"),
        "    sandbox = \"" + pause + "\"\n", std::string("    config_path = \"/etc/containerd/certs.d\"\n"),
        std::string("    bin_dir = \"/opt/cni/bin\"\n"), std::string("        SystemdCgroup = false\n")}) {
    EXPECT_NE(v3->content.find(line), std::string::npos) << line << v3->content;
  }
  EXPECT_EQ(v3->content.find("grpc.v1.cri"), std::string::npos);
  in.versions.runtime = *parse_version("v2.1.4");
  auto v31 = render_containerd_config(in);
  ASSERT_TRUE(v31.ok());
  EXPECT_NE(v31->content.find("    bin_dirs = [\"/opt/cni/bin\"]\n"), std::string::npos);

  in.versions.runtime = *parse_version("v3.0.0");
  auto refused = render_containerd_config(in);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message(),
            "containerd v3.0.0: kubeferry renders containerd config version 2 (1.x) or 3 (2.x) only");
}

TEST(ContainerdConfig, HostRuntimeKeepsItsOwnFileAndGetsADropIn) {
  const Inventory& inv = current_inventory();  // container_runtime_source: host
  auto config = render_containerd_config(render_input(inv, "node01"));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->path, "/opt/kubernetes/cfg/containerd.toml");
  EXPECT_NE(config->content.find("10-kubeferry.conf"), std::string::npos);
}

// "[table]" headers and "key = value" lines of a TOML file as containerd writes it (and as the
// renderer does): table → key → value text. Comments and blank lines are skipped.
std::map<std::string, std::map<std::string, std::string>> toml_keys(const std::string& text) {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::istringstream lines(text);
  std::string line, table;
  while (std::getline(lines, line)) {
    const size_t start = line.find_first_not_of(' ');
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    if (line.front() == '[') {
      table = line.substr(1, line.rfind(']') - 1);
      out[table];
      continue;
    }
    const size_t eq = line.find(" = ");
    if (eq != std::string::npos) out[table][line.substr(0, eq)] = line.substr(eq + 3);
  }
  return out;
}

TEST(ContainerdConfig, RealContainerdReadsEveryRenderedKey) {
  if (kftest::run_command("command -v containerd >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "containerd is not installed (scripts/setup.sh installs Debian's containerd)";
  }
  std::string version;
  ASSERT_EQ(kftest::run_command("containerd --version", &version), 0);
  const Inventory inv = bundle_inventory();
  auto in = render_input(inv, "node01");
  // The config format of the containerd that runs this test (Debian 12: 1.6.20).
  const size_t at = version.find(" 1.");
  ASSERT_NE(at, std::string::npos) << "not a containerd 1.x: " << version;
  in.versions.runtime = *parse_version("v" + version.substr(at + 1, version.find_first_of("~ \n", at + 1) - at - 1));
  for (const auto& inventory : {&inv, &current_inventory()}) {
    in.inventory = inventory;
    auto config = render_containerd_config(in);
    ASSERT_TRUE(config.ok()) << config.error().message();
    kftest::TempDir dir;
    const std::string file = dir.path() + "/config.toml";
    kftest::write_file(file, config->content, 0644);
    std::string dump;
    ASSERT_EQ(kftest::run_command("containerd --config " + file + " config dump 2>&1", &dump), 0) << dump;
    const auto want = toml_keys(config->content);
    const auto got = toml_keys(dump);
    int checked = 0;
    for (const auto& [table, keys] : want) {
      for (const auto& [key, value] : keys) {
        const auto t = got.find(table);
        ASSERT_NE(t, got.end()) << "containerd has no table [" << table << "]:\n" << dump;
        const auto k = t->second.find(key);
        ASSERT_NE(k, t->second.end()) << "containerd dropped [" << table << "] " << key << ":\n" << dump;
        EXPECT_EQ(k->second, value) << "[" << table << "] " << key;
        ++checked;
      }
    }
    EXPECT_EQ(checked, 9) << config->content;  // version + 8 settings: nothing silently unparsed
  }
}

TEST(RuntimeFiles, DockerDaemonJsonAndCrictl) {
  const Inventory& inv = current_inventory();
  const auto in = render_input(inv, "node01");
  EXPECT_EQ(render_docker_daemon_json(in).content, "{\n  \"exec-opts\": [\"native.cgroupdriver=cgroupfs\"]\n}\n");
  EXPECT_EQ(render_crictl_config(in).content,
            "# crictl talks to the node's containerd. Written by kubeferry-install.\n"
            "runtime-endpoint: unix:///run/containerd/containerd.sock\n"
            "image-endpoint: unix:///run/containerd/containerd.sock\n");
}

}  // namespace
}  // namespace installer::render
