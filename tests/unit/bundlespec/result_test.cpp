// Error reasons (bundlespec/result.hpp): what callers branch on instead of message text, kept
// through the context chain; and TRY_ASSIGN_CTX.
#include "bundlespec/result.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "bundlespec/fs.hpp"
#include "support/test_util.hpp"

namespace bundlespec {
namespace {

TEST(Reason, FromErrno) {
  EXPECT_EQ(reason_for_errno(ENOENT), Reason::not_found);
  EXPECT_EQ(reason_for_errno(ENOTDIR), Reason::not_found);
  EXPECT_EQ(reason_for_errno(ENOTEMPTY), Reason::not_empty);
  EXPECT_EQ(reason_for_errno(EEXIST), Reason::exists);
  EXPECT_EQ(reason_for_errno(EACCES), Reason::unspecified);
  EXPECT_EQ(reason_for_errno(0), Reason::unspecified);
}

TEST(Reason, ContextKeepsReasonErrnoAndStatus) {
  const Error error =
      make_error("GET x: HTTP 404 Not Found").with_http_status(404).context("image 'a'").context("build");
  EXPECT_EQ(error.message(), "build: image 'a': GET x: HTTP 404 Not Found");
  EXPECT_TRUE(error.is(Reason::http_status));
  EXPECT_EQ(error.http_status(), 404);
  EXPECT_EQ(error.sys_errno(), 0);
  const Error copied = make_error("remove d: Directory not empty").with_errno(ENOTEMPTY);
  const Error prefixed = copied.context("uninstall");
  EXPECT_EQ(prefixed.reason(), Reason::not_empty);
  EXPECT_EQ(prefixed.sys_errno(), ENOTEMPTY);
  EXPECT_EQ(copied.message(), "remove d: Directory not empty");
  EXPECT_EQ(make_error("plain").reason(), Reason::unspecified);
  EXPECT_STREQ(to_string(Reason::no_trailer), "no trailer");
}

// errno_error() is what every file operation returns: the reason comes from the real call.
TEST(Reason, ErrnoErrorOfRealCalls) {
  kftest::TempDir dir;
  auto missing = read_file(dir / "missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "open " + (dir / "missing") + ": No such file or directory");
  EXPECT_EQ(missing.error().reason(), Reason::not_found);
  EXPECT_EQ(missing.error().sys_errno(), ENOENT);

  kftest::write_file(dir / "full/file", "x");
  ASSERT_NE(::rmdir((dir / "full").c_str()), 0);
  const Error not_empty = errno_error("remove", dir / "full");
  EXPECT_EQ(not_empty.message(), "remove " + (dir / "full") + ": Directory not empty");
  EXPECT_EQ(not_empty.reason(), Reason::not_empty);

  ASSERT_NE(::mkdir((dir / "full").c_str(), 0755), 0);
  EXPECT_EQ(errno_error("mkdir", dir / "full").reason(), Reason::exists);
}

Result<int> half(int n) {
  if (n % 2 != 0) return make_error(std::to_string(n) + " is odd").with_reason(Reason::not_found);
  return n / 2;
}

int g_prefixes_built = 0;
std::string prefix(int n) {
  ++g_prefixes_built;
  return "halve " + std::to_string(n);
}

Result<int> quarter(int n) {
  TRY_ASSIGN_CTX(const int h, half(n), prefix(n));
  TRY_ASSIGN_CTX(const int q, half(h), prefix(h));
  return q;
}

TEST(TryAssignCtx, AddsThePrefixOnlyOnFailure) {
  g_prefixes_built = 0;
  auto ok = quarter(8);
  ASSERT_OK(ok);
  EXPECT_EQ(*ok, 2);
  EXPECT_EQ(g_prefixes_built, 0);
  auto odd = quarter(6);
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.error().message(), "halve 3: 3 is odd");
  EXPECT_EQ(odd.error().reason(), Reason::not_found);
  EXPECT_EQ(g_prefixes_built, 1);
}

}  // namespace
}  // namespace bundlespec
