// The text helpers both programs share: ASCII helpers for HTTP, and printable().
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

TEST(Printable, PlainTextAndUtf8PassThrough) {
  EXPECT_EQ(printable("registry.k8s.io/pause:3.2"), "registry.k8s.io/pause:3.2");
  EXPECT_EQ(printable("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3"),
            "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3");
  EXPECT_EQ(printable(""), "");
  EXPECT_EQ(printable("a\\b"), "a\\b");  // a backslash stays one
}

// Nothing a terminal acts on gets through: C0 (newline, tab, ESC), DEL, C1 (raw and as UTF-8),
// bidirectional overrides, and bytes that are not UTF-8.
TEST(Printable, EscapesControlsAndInvalidBytes) {
  EXPECT_EQ(printable("ok\nOK forged"), "ok\\x0aOK forged");
  EXPECT_EQ(printable("\x1b[2J\x1b]0;title\x07"), "\\x1b[2J\\x1b]0;title\\x07");
  EXPECT_EQ(printable(std::string("a\0b\tc\rd\x7f", 8)), "a\\x00b\\x09c\\x0dd\\x7f");
  EXPECT_EQ(printable("\x9b"
                      "31m"),
            "\\x9b31m");  // 8-bit CSI, not UTF-8
  EXPECT_EQ(printable("\xc2\x9b"
                      "31m"),
            "\\xc2\\x9b31m");                                           // U+009B, CSI as UTF-8
  EXPECT_EQ(printable("abc\xe2\x80\xaexyz"), "abc\\xe2\\x80\\xaexyz");  // U+202E right-to-left override
  EXPECT_EQ(printable("\xc0\xaf \xed\xa0\x80 \xe2\x82"),
            "\\xc0\\xaf \\xed\\xa0\\x80 \\xe2\\x82");  // overlong, surrogate, cut
}

TEST(Printable, CapsTheLengthWithAnEllipsis) {
  EXPECT_EQ(printable(std::string(200, 'a')), std::string(200, 'a'));
  EXPECT_EQ(printable(std::string(201, 'a')), std::string(200, 'a') + "...");
  EXPECT_EQ(printable(std::string(10, 'a'), 4), "aaaa...");
  EXPECT_EQ(printable("ab\n", 5), "ab...");                      // never half an escape
  EXPECT_EQ(printable("a\xc3\xa9\xc3\xa9", 4), "a\xc3\xa9...");  // never half a character
  EXPECT_EQ(printable(std::string(5000, 'a'), std::string::npos), std::string(5000, 'a'));
}

TEST(Printable, IsIdempotent) {
  const std::string once = printable("x\x1b[1m\n\\x41\x9b");
  EXPECT_EQ(printable(once), once);
}

TEST(Printable, LinesKeepsNewlinesOnly) {
  EXPECT_EQ(printable_lines("a.yaml:1:1: bad\na.yaml:2:1: \x1b[2Jworse"), "a.yaml:1:1: bad\na.yaml:2:1: \\x1b[2Jworse");
  EXPECT_EQ(printable_lines(std::string(300, 'x') + "\n"), std::string(300, 'x') + "\n");
}

}  // namespace
}  // namespace bundlespec
