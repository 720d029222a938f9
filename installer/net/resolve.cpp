#include "net/resolve.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <sstream>

#include "bundlespec/fs.hpp"

namespace installer {

namespace bs = bundlespec;

namespace {

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

bool is_ip_address(std::string_view host) {
  const std::string text(host);
  unsigned char buffer[16];
  return ::inet_pton(AF_INET, text.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

std::vector<std::string> addresses_in_hosts(std::string_view hosts_text, std::string_view name) {
  std::vector<std::string> out;
  std::istringstream lines{std::string(hosts_text)};
  std::string line;
  while (std::getline(lines, line)) {
    line = line.substr(0, line.find('#'));
    std::istringstream fields(line);
    std::string address, alias;
    if (!(fields >> address) || !is_ip_address(address)) continue;
    while (fields >> alias) {
      if (same_name(alias, name)) {
        out.push_back(address);
        break;
      }
    }
  }
  return out;
}

bs::Result<std::vector<std::string>> resolve_host(const std::string& host, const std::string& hosts_file) {
  if (is_ip_address(host)) return std::vector<std::string>{host};
  auto text = bs::read_file(hosts_file, 16 << 20);
  std::vector<std::string> found = text.ok() ? addresses_in_hosts(*text, host) : std::vector<std::string>{};
  if (found.empty() && same_name(host, "localhost")) found = {"127.0.0.1", "::1"};
  if (found.empty()) {
    return bs::make_error("cannot resolve host '" + host + "': it is not an IP address and " + hosts_file +
                          " does not name it (kubeferry-install does no DNS lookups: add '" + host + "' to " +
                          hosts_file + " or use the registry's IP address)");
  }
  return found;
}

}  // namespace installer
