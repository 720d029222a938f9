// The cluster inventory (`cluster.yaml`): which hosts exist, what roles each holds, and the
// cluster-wide network, runtime and PKI settings every rendered file and certificate uses.
//
// load_inventory() parses and validates the file; every Inventory it returns is valid, so the
// helpers below may assume well-formed CIDRs and addresses. The format is documented field by
// field in installer/README.md, with installer/cluster.example.yaml as the example.
// Thread-safety: plain value types; the free functions are pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bundlespec/result.hpp"

namespace installer {

using bundlespec::Result;
using bundlespec::Status;

// What a host does. A host may hold any non-empty combination.
enum class Role { etcd, master, node };

enum class KeyType { rsa, ecdsa };
enum class ContainerRuntime { containerd, docker };
// Where a node's container runtime comes from: the bundle's static release files, installed
// and run by kubeferry (the default), or the host's own, already running.
enum class RuntimeSource { bundle, host };

// "etcd" / "master" / "node"; "rsa" / "ecdsa"; "containerd" / "docker".
std::string_view to_string(Role role);
std::string_view to_string(KeyType type);
std::string_view to_string(ContainerRuntime runtime);
std::string_view to_string(RuntimeSource source);  // "bundle" / "host"

struct Host {
  std::string name;      // unique; also the node name and the etcd member name
  std::string address;   // unique IPv4 address, dotted quad ("192.168.80.21")
  std::set<Role> roles;  // never empty

  bool has(Role role) const { return roles.count(role) != 0; }
};

// How `pki init` makes keys and certificates.
struct PkiSettings {
  KeyType key_type = KeyType::rsa;
  // RSA: modulus bits (2048, 3072 or 4096). ECDSA: curve size (256 = P-256, 384 = P-384).
  int key_bits = 2048;
  // notAfter - notBefore of every certificate (CAs included). The seed's 10 years.
  std::chrono::hours validity{87600};
};

struct Inventory {
  std::string source;  // the file it came from, for messages
  std::string cluster_name = "kubernetes";
  std::string kubernetes_version;  // "v1.20.11"; empty = take it from the bundle
  std::string service_cidr = "10.0.0.0/24";
  std::string pod_cidr = "10.244.0.0/16";
  std::string dns_ip = "10.0.0.2";       // inside service_cidr; coredns' clusterIP
  std::string domain = "cluster.local";  // cluster DNS domain
  ContainerRuntime container_runtime = ContainerRuntime::containerd;
  RuntimeSource container_runtime_source = RuntimeSource::bundle;
  PkiSettings pki;
  std::vector<Host> hosts;  // in file order
};

// The largest inventory load_inventory() reads.
inline constexpr uint64_t k_max_inventory_size = 1 << 20;

// Parses and validates `path` (a regular file of at most k_max_inventory_size bytes, one YAML
// document). On success `warnings` receives non-fatal findings (for example
// an even number of etcd members), each "FILE:LINE:COL: warning: message".
// Fails with every problem found, one per line, "FILE:LINE:COL: message" (ErrorCode::usage),
// or with a failure naming the file if it cannot be read.
Result<Inventory> load_inventory(const std::string& path, std::vector<std::string>& warnings);
// The same from text already in memory; `source` names it in messages.
Result<Inventory> parse_inventory(std::string_view text, const std::string& source, std::vector<std::string>& warnings);
// A real install (--root /) refuses loopback hosts, which the other hosts cannot reach (tests
// use them below --root). Fails (usage) naming the first such host. 0.0.0.0/8, 255.255.255.255
// and multicast addresses are refused by parse_inventory() for every use.
Status check_real_addresses(const Inventory& inventory);

// Hosts with that role, in file order. Pointers into `inventory`; they live as long as it.
std::vector<const Host*> hosts_with(const Inventory& inventory, Role role);
inline std::vector<const Host*> etcd_members(const Inventory& inv) {
  return hosts_with(inv, Role::etcd);
}
inline std::vector<const Host*> masters(const Inventory& inv) {
  return hosts_with(inv, Role::master);
}
inline std::vector<const Host*> nodes(const Inventory& inv) {
  return hosts_with(inv, Role::node);
}

// nullptr when no host has that name / address.
const Host* find_host(const Inventory& inventory, std::string_view name);
const Host* find_host_by_address(const Inventory& inventory, std::string_view address);

// The first usable address of service_cidr: the `kubernetes` Service IP ("10.0.0.1" for
// 10.0.0.0/24). REQUIRES: a validated inventory.
std::string first_service_ip(const Inventory& inventory);

// Which host of the inventory this machine is. With `name` non-empty: that host, or a usage
// error listing the known names. Otherwise the single host whose address is one of
// `local_addresses`; a usage error when none or several match (saying to pass --host NAME).
// Returns the host's name.
Result<std::string> select_host(const Inventory& inventory, const std::string& name,
                                const std::vector<std::string>& local_addresses);

// This machine's IPv4 addresses (getifaddrs), loopback included.
Result<std::vector<std::string>> local_ipv4_addresses();

// --- IPv4 helpers (shared with rendering) ---
struct Ipv4Cidr {
  uint32_t network = 0;  // host byte order, host bits zero
  int prefix = 0;        // 0..32
  bool contains(uint32_t address) const;
  bool overlaps(const Ipv4Cidr& other) const;
};
std::optional<uint32_t> parse_ipv4(std::string_view text);  // strict dotted quad
std::string format_ipv4(uint32_t address);
// "A.B.C.D/N" with no host bits set; nullopt otherwise.
std::optional<Ipv4Cidr> parse_cidr(std::string_view text);

}  // namespace installer
