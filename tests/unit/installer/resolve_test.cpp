// Name resolution without getaddrinfo (the static installer): numeric addresses, /etc/hosts,
// localhost, and the message for anything else.
#include "net/resolve.hpp"

#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace {

using installer::addresses_in_hosts;
using installer::resolve_host;
using kftest::TempDir;
using kftest::write_file;

constexpr std::string_view k_hosts =
    "127.0.0.1\tlocalhost\n"
    "# 10.0.0.9 commented.example\n"
    "10.0.0.5   registry.local reg   # the mirror\n"
    "fd00::5 Registry.Local\n"
    "not-an-ip registry.local\n"
    "10.0.0.6 other\n";

TEST(Hosts, Lookup) {
  EXPECT_EQ(addresses_in_hosts(k_hosts, "registry.local"), (std::vector<std::string>{"10.0.0.5", "fd00::5"}));
  EXPECT_EQ(addresses_in_hosts(k_hosts, "REG"), (std::vector<std::string>{"10.0.0.5"}));
  EXPECT_TRUE(addresses_in_hosts(k_hosts, "commented.example").empty());
  EXPECT_TRUE(addresses_in_hosts(k_hosts, "regi").empty());
}

TEST(Resolve, NumericHostsFileLocalhostAndRefusal) {
  TempDir dir;
  const std::string hosts = dir.path() + "/hosts";
  write_file(hosts, std::string(k_hosts));
  auto numeric = resolve_host("192.0.2.1", hosts);
  ASSERT_OK(numeric);
  EXPECT_EQ(*numeric, std::vector<std::string>{"192.0.2.1"});
  auto v6 = resolve_host("::1", hosts);
  ASSERT_OK(v6);
  EXPECT_EQ(*v6, std::vector<std::string>{"::1"});
  auto named = resolve_host("reg", hosts);
  ASSERT_OK(named);
  EXPECT_EQ(*named, std::vector<std::string>{"10.0.0.5"});
  write_file(hosts, "10.0.0.6 other\n");
  auto local = resolve_host("localhost", hosts);
  ASSERT_OK(local);
  EXPECT_EQ(*local, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(resolve_host("registry.example", hosts).error().message(),
            "cannot resolve host 'registry.example': it is not an IP address and " + hosts +
                " does not name it (kubeferry-install does no DNS lookups: add 'registry.example' to " + hosts +
                " or use the registry's IP address)");
  EXPECT_FALSE(resolve_host("1.2.3", hosts).ok());  // not a full IPv4 address, so a name
}

}  // namespace
