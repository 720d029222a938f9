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
  const std::string junk = "not a key\n";
  BIO* bio = BIO_new_mem_buf(junk.data(), static_cast<int>(junk.size()));
  ASSERT_NE(bio, nullptr);
  EXPECT_EQ(PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr), nullptr);
  BIO_free(bio);
  EXPECT_EQ(openssl_error_text(), "no start line");
  EXPECT_EQ(ERR_peek_error(), 0u);
  EXPECT_EQ(openssl_error_text(), "unknown OpenSSL error");
  EXPECT_EQ(openssl_error("read key").message(), "read key: unknown OpenSSL error");
}

}  // namespace
}  // namespace bundlespec
