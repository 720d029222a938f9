#include "bundlespec/digest.hpp"

#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace bundlespec {
namespace {

TEST(Digest, KnownVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha512_hex("abc"),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

TEST(Digest, StreamingEqualsOneShot) {
  Hasher hasher(DigestAlgorithm::sha256);
  hasher.update("a");
  hasher.update("bc");
  EXPECT_EQ(hasher.finish_hex(), sha256_hex("abc"));
}

TEST(Digest, ParseChecksum) {
  auto ok = parse_checksum("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
  ASSERT_OK(ok);
  EXPECT_EQ(ok->to_string(), "sha256:" + sha256_hex("abc"));
  EXPECT_EQ(parse_checksum("md5:abc").error().message(),
            "checksum algorithm 'md5' is not supported (expected sha256 or sha512)");
  EXPECT_EQ(parse_checksum("sha256:abc").error().message(), "sha256 checksum must have 64 hex digits, got 3");
  EXPECT_EQ(parse_checksum("deadbeef").error().message(),
            "checksum 'deadbeef' has no algorithm prefix (expected sha256:<hex> or sha512:<hex>)");
  EXPECT_EQ(parse_checksum("sha512:" + std::string(127, 'a') + "g").error().message(),
            "sha512 checksum has a non-hex digit");
}

TEST(Digest, HashFile) {
  kftest::TempDir dir;
  kftest::write_file(dir / "f", "abc");
  auto hex = hash_file_hex(dir / "f", DigestAlgorithm::sha256);
  ASSERT_OK(hex);
  EXPECT_EQ(*hex, sha256_hex("abc"));
  EXPECT_EQ(hash_file_hex(dir / "missing", DigestAlgorithm::sha256).error().message(),
            "open " + (dir / "missing") + ": No such file or directory");
}

}  // namespace
}  // namespace bundlespec
