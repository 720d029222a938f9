// URLs of the installer's HTTP client: parsing, Location resolution (the upload URL a registry
// returns is relative or absolute), query escaping.
#include "net/url.hpp"

#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace {

using installer::parse_url;
using installer::resolve_location;

std::string resolved(const std::string& base, const std::string& location) {
  auto b = parse_url(base);
  EXPECT_OK(b);
  auto r = resolve_location(*b, location);
  EXPECT_OK(r);
  return r.ok() ? r->str() : "";
}

TEST(Url, Parse) {
  auto u = parse_url("https://Reg.Local:5000/v2/a/b?x=1#frag");
  ASSERT_OK(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "reg.local");
  EXPECT_EQ(u->port, 5000);
  EXPECT_EQ(u->target, "/v2/a/b?x=1");
  EXPECT_EQ(u->authority(), "reg.local:5000");
  auto plain = parse_url("http://10.0.0.1");
  ASSERT_OK(plain);
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->target, "/");
  EXPECT_EQ(plain->str(), "http://10.0.0.1/");
  auto v6 = parse_url("https://[::1]:8443/token?a=b");
  ASSERT_OK(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->authority(), "[::1]:8443");
  EXPECT_EQ(v6->str(), "https://[::1]:8443/token?a=b");
  auto query_only = parse_url("http://h:1?x");
  ASSERT_OK(query_only);
  EXPECT_EQ(query_only->target, "/?x");
}

TEST(Url, Refusals) {
  EXPECT_EQ(parse_url("ftp://h/").error().message(), "URL 'ftp://h/': not an http:// or https:// URL");
  EXPECT_EQ(parse_url("h:5000/v2/").error().message(), "URL 'h:5000/v2/': not an http:// or https:// URL");
  EXPECT_EQ(parse_url("http://u:p@h/").error().message(), "URL 'http://u:p@h/': user information in URLs is not accepted");
  EXPECT_EQ(parse_url("http://h:0/").error().message(), "URL 'http://h:0/': bad port");
  EXPECT_EQ(parse_url("http://h:65536/").error().message(), "URL 'http://h:65536/': bad port");
  EXPECT_EQ(parse_url("http://h:12a/").error().message(), "URL 'http://h:12a/': bad port");
  EXPECT_EQ(parse_url("http:///v2/").error().message(), "URL 'http:///v2/': no host");
  EXPECT_EQ(parse_url("http://[::1/").error().message(), "URL 'http://[::1/': unclosed '[' in the host");
}

TEST(Url, LocationAbsolutePathAsRegistriesSendIt) {
  // distribution 2.8 answers POST /v2/<name>/blobs/uploads/ with an absolute path.
  EXPECT_EQ(resolved("http://127.0.0.1:5000/v2/test/busybox/blobs/uploads/",
                     "/v2/test/busybox/blobs/uploads/5f1c?_state=abc%3D"),
            "http://127.0.0.1:5000/v2/test/busybox/blobs/uploads/5f1c?_state=abc%3D");
}

TEST(Url, LocationAbsoluteUrlAndNetworkPath) {
  EXPECT_EQ(resolved("https://reg:5000/v2/x/blobs/uploads/", "https://storage.local/upload/1?sig=2"),
            "https://storage.local/upload/1?sig=2");
  EXPECT_EQ(resolved("https://reg:5000/v2/x/blobs/uploads/", "//other:81/u"), "https://other:81/u");
  // A ':' in the path is not a scheme.
  EXPECT_EQ(resolved("http://reg/v2/x/blobs/uploads/", "/v2/x/blobs/uploads/a?digest=sha256://x"),
            "http://reg/v2/x/blobs/uploads/a?digest=sha256://x");
}

TEST(Url, LocationRelative) {
  EXPECT_EQ(resolved("http://reg/v2/x/blobs/uploads/", "abc?s=1"), "http://reg/v2/x/blobs/uploads/abc?s=1");
  EXPECT_EQ(resolved("http://reg/v2/x/blobs/uploads/?mount=1", "../other"), "http://reg/v2/x/blobs/other");
  EXPECT_EQ(resolved("http://reg/v2/x/blobs/uploads", "./y/./z/../w"), "http://reg/v2/x/blobs/y/w");
  EXPECT_EQ(resolved("http://reg/v2/a?old=1", "?new=2"), "http://reg/v2/a?new=2");
  EXPECT_EQ(resolved("http://reg/a/b", "/../../c"), "http://reg/c");
  auto base = parse_url("http://reg/");
  ASSERT_OK(base);
  EXPECT_EQ(resolve_location(*base, "").error().message(), "empty Location header");
}

TEST(Url, QueryEscape) {
  EXPECT_EQ(installer::query_escape("repository:a/b:pull,push"), "repository%3Aa%2Fb%3Apull%2Cpush");
  EXPECT_EQ(installer::add_query("/v2/x/blobs/uploads/u", "digest", "sha256:ab"),
            "/v2/x/blobs/uploads/u?digest=sha256%3Aab");
  EXPECT_EQ(installer::add_query("/u?_state=s", "digest", "sha256:ab"), "/u?_state=s&digest=sha256%3Aab");
}

}  // namespace
