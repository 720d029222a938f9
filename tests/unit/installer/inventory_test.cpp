#include "cluster/inventory.hpp"

#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace installer {
namespace {

const std::string k_example = std::string(KF_SOURCE_DIR) + "/installer/cluster.example.yaml";

// A valid inventory whose lines the error tests below point into.
const char* const k_valid =
    "cluster_name: kubernetes\n"    // 1
    "service_cidr: 10.0.0.0/24\n"   // 2
    "pod_cidr: 10.244.0.0/16\n"     // 3
    "dns_ip: 10.0.0.2\n"            // 4
    "hosts:\n"                      // 5
    "  - name: master01\n"          // 6
    "    address: 192.168.80.21\n"  // 7
    "    roles: [master, etcd]\n";  // 8

std::string errors_of(const std::string& text, std::vector<std::string>* warnings = nullptr) {
  std::vector<std::string> w;
  auto result = parse_inventory(text, "c.yaml", w);
  if (warnings != nullptr) *warnings = w;
  if (result.ok()) return "OK";
  EXPECT_EQ(result.error().code(), bundlespec::ErrorCode::usage);
  return result.error().message();
}

TEST(Inventory, ExampleLoads) {
  std::vector<std::string> warnings;
  auto inv = load_inventory(k_example, warnings);
  ASSERT_OK(inv);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(inv->cluster_name, "kubernetes");
  EXPECT_EQ(inv->kubernetes_version, "v1.20.11");
  EXPECT_EQ(inv->service_cidr, "10.0.0.0/24");
  EXPECT_EQ(inv->pod_cidr, "10.244.0.0/16");
  EXPECT_EQ(inv->dns_ip, "10.0.0.2");
  EXPECT_EQ(inv->domain, "cluster.local");
  EXPECT_EQ(inv->container_runtime, ContainerRuntime::docker);
  EXPECT_EQ(inv->pki.key_type, KeyType::rsa);
  EXPECT_EQ(inv->pki.key_bits, 2048);
  EXPECT_EQ(inv->pki.validity, std::chrono::hours(87600));
  ASSERT_EQ(inv->hosts.size(), 3u);
  EXPECT_EQ(inv->hosts[0].name, "master01");
  EXPECT_EQ(inv->hosts[0].address, "192.168.80.21");
  EXPECT_EQ(inv->hosts[0].roles, (std::set<Role>{Role::master, Role::etcd}));
  EXPECT_EQ(inv->hosts[2].roles, (std::set<Role>{Role::node, Role::etcd}));
  EXPECT_EQ(first_service_ip(*inv), "10.0.0.1");

  auto names = [](const std::vector<const Host*>& hosts) {
    std::vector<std::string> out;
    for (const Host* h : hosts) out.push_back(h->name);
    return out;
  };
  EXPECT_EQ(names(etcd_members(*inv)), (std::vector<std::string>{"master01", "node01", "node02"}));
  EXPECT_EQ(names(masters(*inv)), (std::vector<std::string>{"master01"}));
  EXPECT_EQ(names(nodes(*inv)), (std::vector<std::string>{"node01", "node02"}));
  ASSERT_NE(find_host(*inv, "node02"), nullptr);
  EXPECT_EQ(find_host(*inv, "node02")->address, "192.168.80.8");
  EXPECT_EQ(find_host(*inv, "node03"), nullptr);
  ASSERT_NE(find_host_by_address(*inv, "192.168.80.7"), nullptr);
  EXPECT_EQ(find_host_by_address(*inv, "192.168.80.7")->name, "node01");
}

TEST(Inventory, DefaultsApplyWhenFieldsAreAbsent) {
  std::vector<std::string> warnings;
  auto inv = parse_inventory(k_valid, "c.yaml", warnings);
  ASSERT_OK(inv);
  EXPECT_EQ(inv->domain, "cluster.local");
  EXPECT_EQ(inv->kubernetes_version, "");
  EXPECT_EQ(inv->container_runtime, ContainerRuntime::containerd);
  EXPECT_EQ(inv->pki.validity, std::chrono::hours(87600));
  EXPECT_EQ(inv->pki.key_bits, 2048);
}

TEST(Inventory, MissingFileNamesIt) {
  std::vector<std::string> warnings;
  auto inv = load_inventory("/nonexistent/cluster.yaml", warnings);
  ASSERT_FALSE(inv.ok());
  EXPECT_EQ(inv.error().message(), "open /nonexistent/cluster.yaml: No such file or directory");
}

TEST(Inventory, YamlSyntaxErrorHasPosition) {
  EXPECT_EQ(errors_of("hosts: [a, b\n"), "c.yaml:2:1: YAML: end of sequence flow not found");
  EXPECT_EQ(errors_of("- a\n- b\n"), "c.yaml:1:1: expected a mapping with cluster settings and \"hosts\"");
}

TEST(Inventory, UnknownAndDuplicateKeys) {
  EXPECT_EQ(errors_of(std::string(k_valid) + "colour: blue\n"),
            "c.yaml:9:1: top level: unknown key 'colour' (allowed: cluster_name, kubernetes_version, "
            "service_cidr, pod_cidr, dns_ip, domain, container_runtime, container_runtime_source, pki, hosts)");
  EXPECT_EQ(errors_of(std::string(k_valid) + "    rolez: [node]\n"),
            "c.yaml:9:5: host \"master01\": unknown key 'rolez' (allowed: name, address, roles)");
  EXPECT_EQ(errors_of(std::string(k_valid) + "dns_ip: 10.0.0.3\n"),
            "c.yaml:9:1: top level: duplicate key 'dns_ip' (first at 4:1)");
  EXPECT_EQ(errors_of(std::string(k_valid) + "pki: {key_kind: rsa}\n"),
            "c.yaml:9:7: pki: unknown key 'key_kind' (allowed: key_type, key_bits, validity)");
}

// The mistakes a manifest can make too get the builder's words (bundlespec/yaml_reader.hpp;
// tests/unit/builder/manifest_test.cpp asserts the same texts for manifests).
TEST(Inventory, SameWordsAsManifestsForTheSameMistake) {
  EXPECT_EQ(errors_of(std::string(k_valid) + "domain:\n"), "c.yaml:9:1: domain must not be empty");
  EXPECT_EQ(errors_of(std::string(k_valid) + "domain: [a, b]\n"), "c.yaml:9:9: domain must be a string");
  EXPECT_EQ(errors_of(std::string(k_valid) + "? [a]\n: b\n"), "c.yaml:9:3: top level: keys must be plain names");
}

TEST(Inventory, HostProblems) {
  const std::string base = k_valid;
  EXPECT_EQ(errors_of(base + "  - name: master01\n    address: 192.168.80.22\n    roles: [node]\n"),
            "c.yaml:9:5: duplicate host name \"master01\" (first at c.yaml:6:5)");
  EXPECT_EQ(errors_of(base + "  - name: node01\n    address: 192.168.80.21\n    roles: [node]\n"),
            "c.yaml:10:14: host \"node01\": address 192.168.80.21 is already used by host \"master01\"");
  EXPECT_EQ(errors_of(base + "  - name: node01\n    address: 192.168.80.300\n    roles: [node]\n"),
            "c.yaml:10:14: host \"node01\": invalid IPv4 address \"192.168.80.300\"");
  EXPECT_EQ(errors_of(base + "  - name: node01\n    address: 192.168.80.7\n    roles: [node, worker]\n"),
            "c.yaml:11:19: host \"node01\": unknown role \"worker\" (expected etcd, master or node)");
  EXPECT_EQ(errors_of(base + "  - name: node01\n    roles: [node]\n"),
            "c.yaml:9:5: host \"node01\": missing required key 'address'");
  EXPECT_EQ(errors_of(base + "  - name: Node_1\n    address: 192.168.80.7\n    roles: [node]\n"),
            "c.yaml:9:11: host \"Node_1\": invalid name (use lower-case letters, digits, '-' and '.', "
            "as a DNS name)");
  EXPECT_EQ(errors_of(base + "  - name: node01\n    address: 10.0.0.9\n    roles: [node]\n"),
            "c.yaml:10:14: host \"node01\": address 10.0.0.9 is inside service_cidr");
}

// Addresses no host can have are refused for every use; loopback only for a real install.
TEST(Inventory, AddressesNoHostCanHave) {
  const std::string base = k_valid;
  EXPECT_EQ(errors_of(base + "  - name: node01\n    address: 0.0.0.0\n    roles: [node]\n"),
            "c.yaml:10:14: host \"node01\": address 0.0.0.0 cannot be a host's address (0.0.0.0/8 means this host "
            "on this network, a listen-anywhere address): give the address the other hosts reach it at");
  EXPECT_EQ(errors_of(base + "  - name: node01\n    address: 255.255.255.255\n    roles: [node]\n"),
            "c.yaml:10:14: host \"node01\": address 255.255.255.255 cannot be a host's address (it is the limited "
            "broadcast address): give the address the other hosts reach it at");
  EXPECT_EQ(errors_of(base + "  - name: node01\n    address: 239.1.2.3\n    roles: [node]\n"),
            "c.yaml:10:14: host \"node01\": address 239.1.2.3 cannot be a host's address (224.0.0.0/4 is "
            "multicast): give the address the other hosts reach it at");
  std::vector<std::string> warnings;
  auto loopback =
      parse_inventory(base + "  - name: node01\n    address: 127.0.0.5\n    roles: [node]\n", "c.yaml", warnings);
  ASSERT_TRUE(loopback.ok()) << loopback.error().message();  // below --root, tests use loopback
  const Status real = check_real_addresses(*loopback);
  ASSERT_FALSE(real.ok());
  EXPECT_EQ(real.error().code(), bundlespec::ErrorCode::usage);
  EXPECT_EQ(real.error().message(),
            "c.yaml: host \"node01\" has the loopback address 127.0.0.5, which the other hosts cannot reach: give "
            "its address on the cluster network (loopback addresses are for installs below --root, in tests)");
  auto example =
      parse_inventory(base + "  - name: node01\n    address: 192.168.80.7\n    roles: [node]\n", "c.yaml", warnings);
  ASSERT_TRUE(example.ok());
  EXPECT_TRUE(check_real_addresses(*example).ok());
}

// A host name with a terminal escape or a newline cannot forge a line of the message.
TEST(Inventory, ValuesInMessagesAreEscaped) {
  const std::string base = std::string(k_valid) + "  - name: \"n\\e[2J\\nc.yaml:1:1: fine\"\n";
  EXPECT_EQ(errors_of(base + "    address: 192.168.80.7\n    roles: [node]\n"),
            "c.yaml:9:11: host \"n\\x1b[2J\\x0ac.yaml:1:1: fine\": invalid name (use lower-case letters, digits, "
            "'-' and '.', as a DNS name)");
  EXPECT_EQ(errors_of(std::string(k_valid) + "  - name: node01\n    address: 192.168.80.7\n    roles: [" +
                      std::string(300, 'x') + "]\n"),
            "c.yaml:11:13: host \"node01\": unknown role \"" + std::string(200, 'x') +
                "...\" (expected etcd, master or node)");
}

TEST(Inventory, RolesMustBePresent) {
  EXPECT_EQ(errors_of("hosts:\n  - name: a\n    address: 192.168.1.1\n    roles: [node]\n"),
            "c.yaml:1:1: no host has the etcd role\n"
            "c.yaml:1:1: no host has the master role");
  EXPECT_EQ(errors_of("cluster_name: x\n"),
            "c.yaml:1:1: missing required key 'hosts'\n"
            "c.yaml:1:1: no host has the etcd role\n"
            "c.yaml:1:1: no host has the master role");
}

TEST(Inventory, EvenEtcdCountIsAWarning) {
  std::vector<std::string> warnings;
  EXPECT_EQ(errors_of(std::string(k_valid) + "  - name: node01\n    address: 192.168.80.7\n    roles: [node, etcd]\n",
                      &warnings),
            "OK");
  EXPECT_EQ(warnings, (std::vector<std::string>{"c.yaml:5:1: warning: 2 etcd members: an even count survives no more "
                                                "failures than one member fewer; use 1, 3 or 5"}));
}

TEST(Inventory, NetworkProblems) {
  auto with = [](const std::string& line2to4) {
    return "cluster_name: kubernetes\n" + line2to4 +
           "hosts:\n  - name: master01\n    address: 192.168.80.21\n    roles: [master, etcd]\n";
  };
  EXPECT_EQ(errors_of(with("service_cidr: 10.0.0.1/24\npod_cidr: 10.244.0.0/16\ndns_ip: 10.0.0.2\n")),
            "c.yaml:2:15: service_cidr: invalid CIDR \"10.0.0.1/24\" (expected A.B.C.D/N with no host "
            "bits set)");
  EXPECT_EQ(errors_of(with("service_cidr: 10.0.0.0/24\npod_cidr: 10.0.0.0/16\ndns_ip: 10.0.0.2\n")),
            "c.yaml:3:11: pod_cidr 10.0.0.0/16 overlaps service_cidr 10.0.0.0/24");
  EXPECT_EQ(errors_of(with("service_cidr: 10.0.0.0/24\npod_cidr: 10.244.0.0/16\ndns_ip: 10.0.1.2\n")),
            "c.yaml:4:9: dns_ip 10.0.1.2 is outside service_cidr 10.0.0.0/24");
  EXPECT_EQ(errors_of(with("service_cidr: 10.0.0.0/24\npod_cidr: 10.244.0.0/16\ndns_ip: 10.0.0.1\n")),
            "c.yaml:4:9: dns_ip 10.0.0.1 cannot be used: it is the kubernetes API service IP");
  EXPECT_EQ(errors_of(with("service_cidr: 10.0.0.0/24\npod_cidr: 10.244.0.0/16\ndns_ip: 10.0.0\n")),
            "c.yaml:4:9: dns_ip: invalid IPv4 address \"10.0.0\"");
}

TEST(Inventory, RuntimeVersionAndPki) {
  const std::string base = k_valid;
  EXPECT_EQ(errors_of(base + "container_runtime: cri-o\n"),
            "c.yaml:9:20: container_runtime: unknown runtime \"cri-o\" (expected containerd or docker)");
  EXPECT_EQ(errors_of(base + "container_runtime: docker\nkubernetes_version: v1.30.14\n"),
            "c.yaml:9:20: container_runtime docker needs dockershim, removed in Kubernetes 1.24 (docker would "
            "need cri-dockerd, which kubeferry does not install); use containerd with v1.30.14");
  EXPECT_EQ(errors_of(base + "container_runtime_source: usb\n"),
            "c.yaml:9:27: container_runtime_source: unknown source \"usb\" (expected bundle: install the bundle's "
            "runtime, or host: use the one already running on each node)");
  EXPECT_EQ(errors_of(base + "kubernetes_version: 1.20\n"),
            "c.yaml:9:21: kubernetes_version \"1.20\" is not like \"v1.20.11\"");
  EXPECT_EQ(errors_of(base + "pki:\n  key_bits: 1024\n"),
            "c.yaml:10:13: pki: key_bits 1024 is not a supported RSA size (2048, 3072 or 4096)");
  EXPECT_EQ(errors_of(base + "pki:\n  validity: 10y\n"),
            "c.yaml:10:13: pki: validity must be hours like \"87600h\", not \"10y\"");
  EXPECT_EQ(errors_of(base + "pki:\n  key_type: dsa\n"),
            "c.yaml:10:13: pki: unknown key_type \"dsa\" (expected rsa or ecdsa)");
  std::vector<std::string> warnings;
  auto ecdsa = parse_inventory(base + "pki:\n  key_type: ecdsa\n  validity: 8760h\n", "c.yaml", warnings);
  ASSERT_OK(ecdsa);
  EXPECT_EQ(ecdsa->pki.key_type, KeyType::ecdsa);
  EXPECT_EQ(ecdsa->pki.key_bits, 256);
  EXPECT_EQ(ecdsa->pki.validity, std::chrono::hours(8760));
}

TEST(Inventory, EveryProblemIsReportedAtOnceInFileOrder) {
  const char* text =
      "cluster_name: kubernetes\n"
      "service_cidr: 10.0.0.0/24\n"
      "pod_cidr: 10.0.0.0/8\n"
      "dns_ip: 10.1.0.2\n"
      "container_runtime: podman\n"
      "hosts:\n"
      "  - name: node01\n"
      "    address: 192.168.80.7\n"
      "    roles: [node, boss]\n"
      "  - name: node01\n"
      "    address: 192.168.80.7\n"
      "    roles: [node]\n";
  EXPECT_EQ(errors_of(text),
            "c.yaml:3:11: pod_cidr 10.0.0.0/8 overlaps service_cidr 10.0.0.0/24\n"
            "c.yaml:4:9: dns_ip 10.1.0.2 is outside service_cidr 10.0.0.0/24\n"
            "c.yaml:5:20: container_runtime: unknown runtime \"podman\" (expected containerd or docker)\n"
            "c.yaml:6:1: no host has the etcd role\n"
            "c.yaml:6:1: no host has the master role\n"
            "c.yaml:9:19: host \"node01\": unknown role \"boss\" (expected etcd, master or node)\n"
            "c.yaml:10:5: duplicate host name \"node01\" (first at c.yaml:7:5)\n"
            "c.yaml:11:14: host \"node01\": address 192.168.80.7 is already used by host \"node01\"");
}

TEST(Inventory, Ipv4Helpers) {
  EXPECT_EQ(parse_ipv4("192.168.80.21"), std::optional<uint32_t>(0xc0a85015u));
  EXPECT_FALSE(parse_ipv4("192.168.080.21"));
  EXPECT_FALSE(parse_ipv4("1.2.3.4.5"));
  EXPECT_FALSE(parse_ipv4("1.2.3."));
  EXPECT_FALSE(parse_ipv4(" 1.2.3.4"));
  EXPECT_EQ(format_ipv4(0x0a000001u), "10.0.0.1");
  ASSERT_TRUE(parse_cidr("0.0.0.0/0"));
  EXPECT_FALSE(parse_cidr("10.0.0.0/33"));
  EXPECT_FALSE(parse_cidr("10.0.0.0"));
  EXPECT_TRUE(parse_cidr("10.244.0.0/16")->contains(*parse_ipv4("10.244.255.255")));
  EXPECT_FALSE(parse_cidr("10.244.0.0/16")->contains(*parse_ipv4("10.245.0.0")));
}

class SelectHost : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> warnings;
    auto inv = load_inventory(k_example, warnings);
    ASSERT_OK(inv);
    m_inv = *inv;
    m_inv.source = "cluster.yaml";
  }
  Inventory m_inv;
};

TEST_F(SelectHost, ByName) {
  auto host = select_host(m_inv, "node01", {});
  ASSERT_OK(host);
  EXPECT_EQ(*host, "node01");
  auto missing = select_host(m_inv, "node09", {"192.168.80.7"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), bundlespec::ErrorCode::usage);
  EXPECT_EQ(missing.error().message(), "--host node09: no such host in cluster.yaml (hosts: master01, node01, node02)");
}

TEST_F(SelectHost, ByAddress) {
  auto host = select_host(m_inv, "", {"127.0.0.1", "192.168.80.8"});
  ASSERT_OK(host);
  EXPECT_EQ(*host, "node02");
}

TEST_F(SelectHost, NoneOrSeveralMatch) {
  auto none = select_host(m_inv, "", {"127.0.0.1", "10.9.9.9"});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message(),
            "none of this machine's addresses (127.0.0.1, 10.9.9.9) is a host address in "
            "cluster.yaml; pass --host NAME (one of: master01, node01, node02)");
  auto several = select_host(m_inv, "", {"192.168.80.7", "192.168.80.21"});
  ASSERT_FALSE(several.ok());
  EXPECT_EQ(several.error().message(),
            "this machine's addresses match several hosts in cluster.yaml (master01 192.168.80.21, "
            "node01 192.168.80.7); pass --host NAME");
}

TEST(LocalAddresses, IncludeLoopback) {
  auto addresses = local_ipv4_addresses();
  ASSERT_OK(addresses);
  EXPECT_NE(std::find(addresses->begin(), addresses->end(), "127.0.0.1"), addresses->end());
}

}  // namespace
}  // namespace installer
