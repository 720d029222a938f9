// The ASCII helpers the builder's and the installer's HTTP code share.
#include "bundlespec/text.hpp"

#include <gtest/gtest.h>

namespace bundlespec {
namespace {

TEST(Text, AsciiLowerMapsOnlyAsciiLetters) {
  EXPECT_EQ(ascii_lower("WWW-Authenticate: Bearer"), "www-authenticate: bearer");
  EXPECT_EQ(ascii_lower("\xC3\x84-Z9"), "\xC3\x84-z9");  // UTF-8 bytes pass through untouched
  EXPECT_EQ(ascii_lower(""), "");
}

TEST(Text, TrimSpaceRemovesOuterWhitespaceOnly) {
  EXPECT_EQ(trim_space(" \t chunked \r\n"), "chunked");
  EXPECT_EQ(trim_space("a b"), "a b");
  EXPECT_EQ(trim_space(" \r\n\t"), "");
}

// RFC 7617 section 2's example, and an empty password.
TEST(Text, BasicAuthorizationIsRfc7617) {
  EXPECT_EQ(basic_authorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(basic_authorization("u", ""), "Basic dTo=");
}

}  // namespace
}  // namespace bundlespec
