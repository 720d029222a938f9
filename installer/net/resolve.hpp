// Host name resolution for the installer's HTTP client, without getaddrinfo.
//
// Why: kubeferry-install is a fully static glibc binary. getaddrinfo() there loads NSS
// modules (libnss_files, libnss_dns) with dlopen at run time, which needs the exact glibc
// version the binary was linked against; on another distribution (CentOS 7, Ubuntu) it fails
// or crashes. An air-gapped registry is named by an IP address or a line in /etc/hosts
// (there is rarely internal DNS), so we resolve exactly those two, deterministically:
//   1. a numeric IPv4 or IPv6 address;
//   2. the name (case-insensitive) in /etc/hosts, in file order;
//   3. "localhost" -> 127.0.0.1 and ::1 when /etc/hosts does not name it.
// Anything else fails with a message saying to add the name to /etc/hosts or use the address.
// Thread-safety: pure functions, except resolve_host, which reads /etc/hosts.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bundlespec/result.hpp"

namespace installer {

// The addresses a hosts(5) text gives `name`, in order (comments and bad lines ignored).
std::vector<std::string> addresses_in_hosts(std::string_view hosts_text, std::string_view name);

// True for a numeric IPv4 or IPv6 address (no brackets).
bool is_ip_address(std::string_view host);

// Numeric addresses for `host` (see the file comment). `hosts_file` is normally /etc/hosts.
// Fails (failure) naming the host and the file.
bundlespec::Result<std::vector<std::string>> resolve_host(const std::string& host,
                                                          const std::string& hosts_file = "/etc/hosts");

}  // namespace installer
