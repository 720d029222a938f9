#include "cluster/inventory.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string_view>
#include <tuple>

#include "bundlespec/fs.hpp"
#include "bundlespec/text.hpp"
#include "bundlespec/yaml_reader.hpp"

namespace installer {

using bundlespec::Error;

std::string_view to_string(Role role) {
  switch (role) {
    case Role::etcd:
      return "etcd";
    case Role::master:
      return "master";
    case Role::node:
      return "node";
  }
  return "?";
}

std::string_view to_string(KeyType type) {
  return type == KeyType::rsa ? "rsa" : "ecdsa";
}

std::string_view to_string(ContainerRuntime runtime) {
  return runtime == ContainerRuntime::containerd ? "containerd" : "docker";
}

std::string_view to_string(RuntimeSource source) {
  return source == RuntimeSource::bundle ? "bundle" : "host";
}

// ---------------------------------------------------------------- IPv4 helpers

std::optional<uint32_t> parse_ipv4(std::string_view text) {
  uint32_t value = 0;
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    size_t start = i;
    uint32_t part = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 3) {
      part = part * 10 + static_cast<uint32_t>(text[i] - '0');
      ++i;
    }
    const size_t digits = i - start;
    if (digits == 0 || part > 255 || (digits > 1 && text[start] == '0')) return std::nullopt;
    value = (value << 8) | part;
    ++parts;
    if (parts < 4) {
      if (i >= text.size() || text[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != text.size()) return std::nullopt;
  return value;
}

std::string format_ipv4(uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

static uint32_t prefix_mask(int prefix) {
  return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
}

std::optional<Ipv4Cidr> parse_cidr(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto address = parse_ipv4(text.substr(0, slash));
  const std::string_view bits = text.substr(slash + 1);
  if (!address || bits.empty() || bits.size() > 2) return std::nullopt;
  if (!std::all_of(bits.begin(), bits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const int prefix = std::stoi(std::string(bits));
  if (prefix > 32 || (bits.size() > 1 && bits[0] == '0')) return std::nullopt;
  if ((*address & ~prefix_mask(prefix)) != 0) return std::nullopt;
  return Ipv4Cidr{*address, prefix};
}

bool Ipv4Cidr::contains(uint32_t address) const {
  return (address & prefix_mask(prefix)) == network;
}

bool Ipv4Cidr::overlaps(const Ipv4Cidr& other) const {
  return contains(other.network) || other.contains(network);
}

// ---------------------------------------------------------------- query helpers

std::vector<const Host*> hosts_with(const Inventory& inventory, Role role) {
  std::vector<const Host*> out;
  for (const Host& host : inventory.hosts) {
    if (host.has(role)) out.push_back(&host);
  }
  return out;
}

const Host* find_host(const Inventory& inventory, std::string_view name) {
  for (const Host& host : inventory.hosts) {
    if (host.name == name) return &host;
  }
  return nullptr;
}

const Host* find_host_by_address(const Inventory& inventory, std::string_view address) {
  for (const Host& host : inventory.hosts) {
    if (host.address == address) return &host;
  }
  return nullptr;
}

std::string first_service_ip(const Inventory& inventory) {
  const auto cidr = parse_cidr(inventory.service_cidr);
  return cidr ? format_ipv4(cidr->network + 1) : std::string();
}

static std::string host_names(const Inventory& inventory) {
  std::string out;
  for (const Host& host : inventory.hosts) out += (out.empty() ? "" : ", ") + host.name;
  return out;
}

Result<std::string> select_host(const Inventory& inventory, const std::string& name,
                                const std::vector<std::string>& local_addresses) {
  if (!name.empty()) {
    if (find_host(inventory, name) != nullptr) return name;
    return bundlespec::usage_error("--host " + name + ": no such host in " + inventory.source +
                                   " (hosts: " + host_names(inventory) + ")");
  }
  std::vector<const Host*> matches;
  for (const Host& host : inventory.hosts) {
    if (std::find(local_addresses.begin(), local_addresses.end(), host.address) != local_addresses.end()) {
      matches.push_back(&host);
    }
  }
  if (matches.size() == 1) return matches[0]->name;
  std::string listed;
  if (matches.empty()) {
    for (const auto& a : local_addresses) listed += (listed.empty() ? "" : ", ") + a;
    return bundlespec::usage_error("none of this machine's addresses (" + listed + ") is a host address in " +
                                   inventory.source + "; pass --host NAME (one of: " + host_names(inventory) + ")");
  }
  for (const Host* h : matches) listed += (listed.empty() ? "" : ", ") + h->name + " " + h->address;
  return bundlespec::usage_error("this machine's addresses match several hosts in " + inventory.source + " (" + listed +
                                 "); pass --host NAME");
}

Result<std::vector<std::string>> local_ipv4_addresses() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return bundlespec::errno_error("getifaddrs", "(network interfaces)");
  const bundlespec::Handle<ifaddrs> owner(list);
  std::vector<std::string> out;
  for (const ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) continue;
    sockaddr_in in{};
    std::copy_n(reinterpret_cast<const char*>(it->ifa_addr), sizeof in, reinterpret_cast<char*>(&in));
    const std::string text = format_ipv4(ntohl(in.sin_addr.s_addr));
    if (std::find(out.begin(), out.end(), text) == out.end()) out.push_back(text);
  }
  return out;
}

// ---------------------------------------------------------------- loading

namespace {

struct Finding {
  int line;
  int column;
  std::string text;
};

// Collects every problem with its position, then reports them all at once.
class Diagnostics {
 public:
  explicit Diagnostics(std::string source) : m_source(std::move(source)) {}

  void error(const YAML::Mark& mark, std::string text) { add(m_errors, mark, std::move(text)); }
  // The problems the shared YAML reader found (bundlespec/yaml_reader.hpp).
  void errors_from(const bundlespec::Problems& problems) {
    for (const auto& item : problems.items()) {
      m_errors.push_back({std::max(item.at.line, 1), std::max(item.at.column, 1), item.message});
    }
  }
  void warning(const YAML::Mark& mark, std::string text) { add(m_warnings, mark, "warning: " + std::move(text)); }
  bool has_errors() const { return !m_errors.empty(); }
  std::string errors() { return render(m_errors); }
  std::vector<std::string> warnings() {
    std::vector<std::string> out;
    for (const std::string& line : lines(m_warnings)) out.push_back(line);
    return out;
  }
  std::string where(const YAML::Mark& mark) const {
    return m_source + ":" + std::to_string(line_of(mark)) + ":" + std::to_string(column_of(mark));
  }

 private:
  static int line_of(const YAML::Mark& m) { return m.line < 0 ? 1 : m.line + 1; }
  static int column_of(const YAML::Mark& m) { return m.column < 0 ? 1 : m.column + 1; }
  static void add(std::vector<Finding>& to, const YAML::Mark& mark, std::string text) {
    to.push_back({line_of(mark), column_of(mark), std::move(text)});
  }
  std::vector<std::string> lines(std::vector<Finding>& findings) const {
    std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
      return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    std::vector<std::string> out;
    for (const Finding& f : findings) {
      out.push_back(m_source + ":" + std::to_string(f.line) + ":" + std::to_string(f.column) + ": " + f.text);
    }
    return out;
  }
  std::string render(std::vector<Finding>& findings) const {
    std::string out;
    for (const std::string& line : lines(findings)) out += (out.empty() ? "" : "\n") + line;
    return out;
  }

  std::string m_source;
  std::vector<Finding> m_errors;
  std::vector<Finding> m_warnings;
};

using KeyHandler = std::function<void(const YAML::Node& key, const YAML::Node& value)>;

// A value of the inventory as messages show it: quoted, escaped and cut (bundlespec/text.hpp).
std::string quoted(const std::string& s) {
  return "\"" + bundlespec::printable(s) + "\"";
}

// Walks a mapping: each known key goes to its handler once; unknown, repeated and non-scalar
// keys are reported by the YAML reader the builder's manifests use too, in its words.
// `what` names the mapping in messages ("top level", "pki", "host \"x\"").
void walk_map(const YAML::Node& map, const std::string& what,
              const std::vector<std::pair<std::string, KeyHandler>>& handlers, Diagnostics& diag) {
  std::vector<std::string_view> allowed;
  for (const auto& handler : handlers) allowed.push_back(handler.first);
  bundlespec::Problems problems;
  bundlespec::MapReader(map, what + ": ", problems).check_keys(allowed);
  diag.errors_from(problems);
  std::set<std::string> done;
  for (const auto& entry : map) {
    const YAML::Node& key = entry.first;
    if (!key.IsScalar() || !done.insert(key.Scalar()).second) continue;  // reported above
    const auto handler =
        std::find_if(handlers.begin(), handlers.end(), [&](const auto& h) { return h.first == key.Scalar(); });
    if (handler != handlers.end()) handler->second(key, entry.second);
  }
}

// A scalar's text, or an error at the value, in the YAML reader's words ("KEY must not be
// empty", "KEY must be a string").
std::optional<std::string> scalar(const YAML::Node& key, const YAML::Node& value, Diagnostics& diag) {
  if (value.IsScalar() && !value.Scalar().empty()) return value.Scalar();
  if (value.IsNull() || value.IsScalar()) {
    diag.error(value.IsNull() ? key.Mark() : value.Mark(), bundlespec::empty_value_text(key.Scalar()));
  } else {
    diag.error(value.Mark(), bundlespec::not_a_string_text(key.Scalar()));
  }
  return std::nullopt;
}

// Where a check without a field of its own is reported, and the marks of checked fields.
struct Marks {
  YAML::Mark hosts;
  YAML::Mark service_cidr;
  YAML::Mark pod_cidr;
  YAML::Mark dns_ip;
  YAML::Mark container_runtime;
  YAML::Mark container_runtime_source;
  YAML::Mark key_bits;
  std::vector<YAML::Mark> host;          // each host's mapping
  std::vector<YAML::Mark> host_address;  // each host's address value
};

const std::regex& dns_name_pattern() {
  static const std::regex pattern("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*");
  return pattern;
}

bool is_dns_name(const std::string& s) {
  return s.size() <= 253 && std::regex_match(s, dns_name_pattern());
}

void parse_roles(const YAML::Node& key, const YAML::Node& value, const std::string& what, Host& host,
                 Diagnostics& diag) {
  if (!value.IsSequence() || value.size() == 0) {
    diag.error(value.IsNull() ? key.Mark() : value.Mark(),
               what + ": \"roles\" must be a non-empty list of etcd, master, node");
    return;
  }
  for (const auto& item : value) {
    const std::string text = item.IsScalar() ? item.Scalar() : std::string();
    std::optional<Role> role;
    for (Role r : {Role::etcd, Role::master, Role::node}) {
      if (text == to_string(r)) role = r;
    }
    if (!role) {
      diag.error(item.Mark(), what + ": unknown role " + quoted(text) + " (expected etcd, master or node)");
    } else if (!host.roles.insert(*role).second) {
      diag.error(item.Mark(), what + ": role " + quoted(text) + " listed twice");
    }
  }
}

void parse_host(const YAML::Node& node, size_t index, Inventory& inv, Marks& marks, Diagnostics& diag) {
  Host host;
  const std::string position = "hosts[" + std::to_string(index) + "]";
  marks.host.push_back(node.Mark());
  marks.host_address.push_back(node.Mark());
  if (!node.IsMap()) {
    diag.error(node.Mark(), position + ": a host must be a mapping with name, address and roles");
    inv.hosts.push_back(host);
    return;
  }
  if (node["name"] && node["name"].IsScalar()) host.name = node["name"].Scalar();
  const std::string what = host.name.empty() ? position : "host " + quoted(host.name);
  YAML::Node roles_node;
  walk_map(node, what,
           {{"name",
             [&](const YAML::Node& k, const YAML::Node& v) {
               const auto name = scalar(k, v, diag);
               if (name && !is_dns_name(*name)) {
                 diag.error(v.Mark(), what +
                                          ": invalid name (use lower-case letters, digits, "
                                          "'-' and '.', as a DNS name)");
               }
             }},
            {"address",
             [&](const YAML::Node& k, const YAML::Node& v) {
               marks.host_address.back() = v.Mark();
               const auto address = scalar(k, v, diag);
               if (!address) return;
               if (!parse_ipv4(*address)) {
                 diag.error(v.Mark(), what + ": invalid IPv4 address " + quoted(*address));
                 return;
               }
               host.address = *address;
             }},
            {"roles", [&](const YAML::Node& k, const YAML::Node& v) { parse_roles(k, v, what, host, diag); }}},
           diag);
  for (const char* required : {"name", "address", "roles"}) {
    if (!node[required]) diag.error(node.Mark(), what + ": " + bundlespec::missing_key_text(required));
  }
  inv.hosts.push_back(std::move(host));
}

void parse_pki(const YAML::Node& key, const YAML::Node& value, Inventory& inv, Marks& marks, Diagnostics& diag) {
  if (!value.IsMap()) {
    diag.error(value.IsNull() ? key.Mark() : value.Mark(), "\"pki\" must be a mapping");
    return;
  }
  bool bits_given = false;
  walk_map(value, "pki",
           {{"key_type",
             [&](const YAML::Node& k, const YAML::Node& v) {
               const auto text = scalar(k, v, diag);
               if (!text) return;
               if (*text == "rsa")
                 inv.pki.key_type = KeyType::rsa;
               else if (*text == "ecdsa")
                 inv.pki.key_type = KeyType::ecdsa;
               else
                 diag.error(v.Mark(), "pki: unknown key_type " + quoted(*text) + " (expected rsa or ecdsa)");
             }},
            {"key_bits",
             [&](const YAML::Node& k, const YAML::Node& v) {
               marks.key_bits = v.Mark();
               const auto text = scalar(k, v, diag);
               if (!text) return;
               if (!std::regex_match(*text, std::regex("[1-9][0-9]{0,4}"))) {
                 diag.error(v.Mark(), "pki: key_bits must be a number, not " + quoted(*text));
                 return;
               }
               inv.pki.key_bits = std::stoi(*text);
               bits_given = true;
             }},
            {"validity",
             [&](const YAML::Node& k, const YAML::Node& v) {
               const auto text = scalar(k, v, diag);
               if (!text) return;
               std::smatch m;
               if (!std::regex_match(*text, m, std::regex("([1-9][0-9]{0,6})h"))) {
                 diag.error(v.Mark(), "pki: validity must be hours like \"87600h\", not " + quoted(*text));
                 return;
               }
               inv.pki.validity = std::chrono::hours(std::stol(m[1].str()));
             }}},
           diag);
  if (inv.pki.key_type == KeyType::ecdsa && !bits_given) inv.pki.key_bits = 256;
  const int bits = inv.pki.key_bits;
  if (inv.pki.key_type == KeyType::rsa && bits != 2048 && bits != 3072 && bits != 4096) {
    diag.error(marks.key_bits,
               "pki: key_bits " + std::to_string(bits) + " is not a supported RSA size (2048, 3072 or 4096)");
  }
  if (inv.pki.key_type == KeyType::ecdsa && bits != 256 && bits != 384) {
    diag.error(marks.key_bits,
               "pki: key_bits " + std::to_string(bits) + " is not a supported ECDSA curve (256 or 384)");
  }
}

void parse_top(const YAML::Node& root, Inventory& inv, Marks& marks, Diagnostics& diag) {
  auto text_field = [&](std::string& out) {
    return [&diag, &out](const YAML::Node& k, const YAML::Node& v) {
      if (auto t = scalar(k, v, diag)) out = *t;
    };
  };
  auto marked_field = [&](std::string& out, YAML::Mark& mark) {
    return [&diag, &out, &mark](const YAML::Node& k, const YAML::Node& v) {
      mark = v.Mark();
      if (auto t = scalar(k, v, diag)) out = *t;
    };
  };
  std::string runtime, runtime_source;
  walk_map(root, "top level",
           {{"cluster_name", text_field(inv.cluster_name)},
            {"kubernetes_version", text_field(inv.kubernetes_version)},
            {"service_cidr", marked_field(inv.service_cidr, marks.service_cidr)},
            {"pod_cidr", marked_field(inv.pod_cidr, marks.pod_cidr)},
            {"dns_ip", marked_field(inv.dns_ip, marks.dns_ip)},
            {"domain", text_field(inv.domain)},
            {"container_runtime", marked_field(runtime, marks.container_runtime)},
            {"container_runtime_source", marked_field(runtime_source, marks.container_runtime_source)},
            {"pki", [&](const YAML::Node& k, const YAML::Node& v) { parse_pki(k, v, inv, marks, diag); }},
            {"hosts",
             [&](const YAML::Node& k, const YAML::Node& v) {
               marks.hosts = k.Mark();
               if (!v.IsSequence()) {
                 diag.error(v.IsNull() ? k.Mark() : v.Mark(), "\"hosts\" must be a list of hosts");
                 return;
               }
               for (size_t i = 0; i < v.size(); ++i) parse_host(v[i], i, inv, marks, diag);
             }}},
           diag);
  if (runtime == "docker")
    inv.container_runtime = ContainerRuntime::docker;
  else if (runtime == "containerd" || runtime.empty())
    inv.container_runtime = ContainerRuntime::containerd;
  else {
    diag.error(marks.container_runtime,
               "container_runtime: unknown runtime " + quoted(runtime) + " (expected containerd or docker)");
  }
  if (runtime_source == "host")
    inv.container_runtime_source = RuntimeSource::host;
  else if (runtime_source == "bundle" || runtime_source.empty())
    inv.container_runtime_source = RuntimeSource::bundle;
  else {
    diag.error(marks.container_runtime_source, "container_runtime_source: unknown source " + quoted(runtime_source) +
                                                   " (expected bundle: install the bundle's runtime, or host: use the "
                                                   "one already running on each node)");
  }
}

// Each field on its own: formats that do not depend on other fields.
void check_fields(const YAML::Node& root, const Inventory& inv, const Marks& marks, Diagnostics& diag) {
  auto mark_of = [&](const char* key) { return root[key] ? root[key].Mark() : root.Mark(); };
  if (!is_dns_name(inv.cluster_name)) {
    diag.error(mark_of("cluster_name"), "cluster_name " + quoted(inv.cluster_name) +
                                            " is not a DNS name (lower-case letters, digits, '-', '.')");
  }
  if (!is_dns_name(inv.domain)) {
    diag.error(mark_of("domain"), "domain " + quoted(inv.domain) + " is not a DNS name");
  }
  if (!inv.kubernetes_version.empty() &&
      !std::regex_match(inv.kubernetes_version, std::regex("v[0-9]+\\.[0-9]+\\.[0-9]+"))) {
    diag.error(mark_of("kubernetes_version"),
               "kubernetes_version " + quoted(inv.kubernetes_version) + " is not like \"v1.20.11\"");
  }
  for (const auto& [value, mark, key] : {std::tuple{inv.service_cidr, marks.service_cidr, "service_cidr"},
                                         std::tuple{inv.pod_cidr, marks.pod_cidr, "pod_cidr"}}) {
    if (!parse_cidr(value)) {
      diag.error(mark,
                 std::string(key) + ": invalid CIDR " + quoted(value) + " (expected A.B.C.D/N with no host bits set)");
    }
  }
  if (!parse_ipv4(inv.dns_ip)) diag.error(marks.dns_ip, "dns_ip: invalid IPv4 address " + quoted(inv.dns_ip));
}

// Relations between fields: CIDRs, the DNS IP, the runtime against the version.
void check_network(const Inventory& inv, const Marks& marks, Diagnostics& diag) {
  const auto service = parse_cidr(inv.service_cidr);
  const auto pod = parse_cidr(inv.pod_cidr);
  if (service && service->prefix > 29) {
    diag.error(marks.service_cidr, "service_cidr " + inv.service_cidr +
                                       " is too small (at most /29: it holds the API and DNS service IPs)");
  }
  if (service && pod && service->overlaps(*pod)) {
    diag.error(marks.pod_cidr, "pod_cidr " + inv.pod_cidr + " overlaps service_cidr " + inv.service_cidr);
  }
  const auto dns = parse_ipv4(inv.dns_ip);
  if (service && dns) {
    const uint32_t broadcast = service->network | ~prefix_mask(service->prefix);
    if (!service->contains(*dns)) {
      diag.error(marks.dns_ip, "dns_ip " + inv.dns_ip + " is outside service_cidr " + inv.service_cidr);
    } else if (*dns == service->network || *dns == broadcast || *dns == service->network + 1) {
      diag.error(marks.dns_ip,
                 "dns_ip " + inv.dns_ip + " cannot be used: " +
                     (*dns == service->network + 1 ? "it is the kubernetes API service IP"
                                                   : "it is the network or broadcast address of service_cidr"));
    }
  }
  if (inv.container_runtime == ContainerRuntime::docker && !inv.kubernetes_version.empty()) {
    std::smatch m;
    if (std::regex_match(inv.kubernetes_version, m, std::regex("v1\\.([0-9]+)\\.[0-9]+")) &&
        std::stoi(m[1].str()) >= 24) {
      diag.error(marks.container_runtime,
                 "container_runtime docker needs dockershim, removed in Kubernetes 1.24 (docker would need "
                 "cri-dockerd, which kubeferry does not install); use containerd with " +
                     inv.kubernetes_version);
    }
  }
}

// Why `address` can never be a host's address ("" if it can).
std::string not_a_host_address(uint32_t address) {
  if ((address >> 24) == 0) return "0.0.0.0/8 means this host on this network, a listen-anywhere address";
  if (address == 0xffffffffu) return "it is the limited broadcast address";
  if ((address >> 28) == 0xe) return "224.0.0.0/4 is multicast";
  return "";
}

// Across hosts: uniqueness, addresses against the cluster ranges, the roles present.
void check_hosts(const Inventory& inv, const Marks& marks, Diagnostics& diag) {
  const auto service = parse_cidr(inv.service_cidr);
  const auto pod = parse_cidr(inv.pod_cidr);
  std::map<std::string, size_t> names;
  std::map<std::string, size_t> addresses;
  for (size_t i = 0; i < inv.hosts.size(); ++i) {
    const Host& host = inv.hosts[i];
    if (!host.name.empty() && !names.emplace(host.name, i).second) {
      diag.error(marks.host[i], "duplicate host name " + quoted(host.name) + " (first at " +
                                    diag.where(marks.host[names[host.name]]) + ")");
    }
    if (host.address.empty()) continue;
    if (!addresses.emplace(host.address, i).second) {
      diag.error(marks.host_address[i], "host " + quoted(host.name) + ": address " + host.address +
                                            " is already used by host " +
                                            quoted(inv.hosts[addresses[host.address]].name));
    }
    const uint32_t address = *parse_ipv4(host.address);
    if (const std::string why = not_a_host_address(address); !why.empty()) {
      diag.error(marks.host_address[i], "host " + quoted(host.name) + ": address " + host.address +
                                            " cannot be a host's address (" + why +
                                            "): give the address the other hosts reach it at");
    }
    for (const auto& [cidr, key] : {std::pair{service, "service_cidr"}, std::pair{pod, "pod_cidr"}}) {
      if (cidr && cidr->contains(address)) {
        diag.error(marks.host_address[i],
                   "host " + quoted(host.name) + ": address " + host.address + " is inside " + key);
      }
    }
  }
  const size_t etcd = hosts_with(inv, Role::etcd).size();
  if (etcd == 0) diag.error(marks.hosts, "no host has the etcd role");
  if (hosts_with(inv, Role::master).empty()) diag.error(marks.hosts, "no host has the master role");
  if (etcd > 0 && etcd % 2 == 0) {
    diag.warning(marks.hosts, std::to_string(etcd) +
                                  " etcd members: an even count survives no more "
                                  "failures than one member fewer; use 1, 3 or 5");
  }
}

}  // namespace

Result<Inventory> parse_inventory(std::string_view text, const std::string& source,
                                  std::vector<std::string>& warnings) {
  Diagnostics diag(source);
  YAML::Node root;
  try {
    // All documents, so that a second one is an error rather than silently ignored.
    std::vector<YAML::Node> documents = YAML::LoadAll(std::string(text));
    if (documents.size() > 1) {
      diag.error(documents[1].Mark(), "a second YAML document: an inventory is one document (remove the '---')");
      return bundlespec::usage_error(diag.errors());
    }
    if (!documents.empty()) root = documents.front();
  } catch (const YAML::Exception& e) {
    diag.error(e.mark, "YAML: " + e.msg);
    return bundlespec::usage_error(diag.errors());
  }
  if (!root.IsMap()) {
    diag.error(root.Mark(), "expected a mapping with cluster settings and \"hosts\"");
    return bundlespec::usage_error(diag.errors());
  }
  Inventory inv;
  inv.source = source;
  Marks marks;
  marks.hosts = root.Mark();
  marks.service_cidr = marks.pod_cidr = marks.dns_ip = marks.container_runtime = marks.container_runtime_source =
      root.Mark();
  marks.key_bits = root.Mark();
  try {
    parse_top(root, inv, marks, diag);
  } catch (const YAML::Exception& e) {
    diag.error(e.mark, "YAML: " + e.msg);
  }
  if (!root["hosts"]) diag.error(root.Mark(), bundlespec::missing_key_text("hosts"));
  check_fields(root, inv, marks, diag);
  check_network(inv, marks, diag);
  check_hosts(inv, marks, diag);
  warnings = diag.warnings();
  if (diag.has_errors()) return bundlespec::usage_error(diag.errors());
  return inv;
}

Status check_real_addresses(const Inventory& inventory) {
  for (const auto& host : inventory.hosts) {
    const auto address = parse_ipv4(host.address);
    if (address && (*address >> 24) == 127) {
      return bundlespec::usage_error(
          inventory.source + ": host " + quoted(host.name) + " has the loopback address " + host.address +
          ", which the other hosts cannot reach: give its address on the cluster network (loopback addresses "
          "are for installs below --root, in tests)");
    }
  }
  return bundlespec::ok_status();
}

Result<Inventory> load_inventory(const std::string& path, std::vector<std::string>& warnings) {
  // yaml-cpp's tree takes about 70 times the text, so the size is capped well above any real
  // cluster (1 MiB holds some 10,000 hosts).
  TRY_ASSIGN(const std::string text, bundlespec::read_input_file(path, k_max_inventory_size, "an inventory"));
  return parse_inventory(text, path, warnings);
}

}  // namespace installer
