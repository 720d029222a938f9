// openssl_error_text (bundlespec/openssl_error.hpp) on errors real OpenSSL calls queue.
#include "bundlespec/openssl_error.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <string>

namespace bundlespec {
namespace {

TEST(OpensslError, ReasonsOfTheQueueThenEmpty) {
  ERR_clear_error();
  // Two errors as OpenSSL queues them (what a junk PEM gives depends on the OpenSSL version:
  // 3.0's decoders say "unsupported"), a repeat left out.
  ERR_raise(ERR_LIB_PEM, PEM_R_NO_START_LINE);
  ERR_raise(ERR_LIB_PEM, PEM_R_BAD_END_LINE);
  ERR_raise(ERR_LIB_PEM, PEM_R_NO_START_LINE);
  EXPECT_EQ(openssl_error_text(), "no start line; bad end line");
  EXPECT_EQ(ERR_peek_error(), 0u);
  EXPECT_EQ(openssl_error_text(), "unknown OpenSSL error");
  EXPECT_EQ(openssl_error("read key").message(), "read key: unknown OpenSSL error");
}

}  // namespace
}  // namespace bundlespec
