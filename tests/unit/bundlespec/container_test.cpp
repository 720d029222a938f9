// The 64-byte trailer (FORMAT.md 2): exact layout, round trip, and every refusal.
#include "bundlespec/container.hpp"

#include <gtest/gtest.h>

#include <string>

#include "bundlespec/signing.hpp"
#include "support/test_util.hpp"

namespace bundlespec {
namespace {

Trailer sample() {
  Trailer t;
  t.payload_offset = 0x0102030405060708ull;
  t.payload_size = 1000;
  t.index_size = 500;
  return t;
}

uint64_t file_size_of(const Trailer& t) {
  return t.payload_offset + t.payload_size + t.index_size + t.signature_size + k_trailer_size;
}

std::string decode_error(const std::string& bytes, uint64_t file_size) {
  auto result = decode_trailer(bytes, file_size);
  if (result.ok()) return "<decoded>";
  EXPECT_EQ(result.error().code(), ErrorCode::verification);
  return result.error().message();
}

void put_u32(std::string& bytes, size_t at, uint32_t value) {
  for (size_t i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}
void put_u64(std::string& bytes, size_t at, uint64_t value) {
  for (size_t i = 0; i < 8; ++i) bytes[at + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

TEST(Trailer, ExactLayout) {
  Trailer t;
  t.payload_offset = 0x0102030405060708ull;
  t.payload_size = 0x11;
  t.index_size = 0x22;
  const std::string bytes = encode_trailer(t);
  ASSERT_EQ(bytes.size(), k_trailer_size);
  const std::string want = std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8) +  // payload_offset, LE
                           std::string("\x11\0\0\0\0\0\0\0", 8) +                // payload_size
                           std::string("\x22\0\0\0\0\0\0\0", 8) +                // index_size
                           std::string("\x60\0\0\0\0\0\0\0", 8) +                // signature_size 96
                           std::string(16, '\0') +                               // reserved
                           std::string("\x01\0\0\0", 4) +                        // format_version
                           std::string("\x40\0\0\0", 4) +                        // trailer_size 64
                           "KFBUNDLE";
  EXPECT_EQ(bytes, want);
}

TEST(Trailer, RoundTrip) {
  const Trailer t = sample();
  auto decoded = decode_trailer(encode_trailer(t), file_size_of(t));
  ASSERT_OK(decoded);
  EXPECT_EQ(decoded->payload_offset, t.payload_offset);
  EXPECT_EQ(decoded->payload_size, t.payload_size);
  EXPECT_EQ(decoded->index_size, t.index_size);
  EXPECT_EQ(decoded->signature_size, k_signature_block_size);
  EXPECT_EQ(decoded->format_version, 1u);
}

TEST(Trailer, SizeMismatch) {
  const Trailer t = sample();
  const uint64_t size = file_size_of(t);
  const std::string bytes = encode_trailer(t);
  EXPECT_EQ(decode_error(bytes, size - 1), "trailer: the parts it names do not add up to the file size " +
                                               std::to_string(size - 1) + " (truncated or appended to)");
  EXPECT_EQ(decode_error(bytes, size + 1), "trailer: the parts it names do not add up to the file size " +
                                               std::to_string(size + 1) + " (truncated or appended to)");
  // Sums that overflow 64 bits are refused, not wrapped around.
  std::string overflow = bytes;
  put_u64(overflow, 0, UINT64_MAX - 10);
  put_u64(overflow, 8, 11 + 500);
  EXPECT_EQ(decode_error(overflow, 500 + 96 + 64 - 1 - 500),
            "trailer: the parts it names do not add up to the file size 159 (truncated or appended to)");
}

TEST(Trailer, NewerFormatVersion) {
  std::string bytes = encode_trailer(sample());
  put_u32(bytes, 48, 2);
  EXPECT_EQ(decode_error(bytes, file_size_of(sample())),
            "trailer: bundle format version 2 is newer than this program supports (1); use a newer kubeferry");
  // The version is read before anything else of the layout, which a newer version may change.
  put_u32(bytes, 52, 128);
  put_u64(bytes, 24, 0);
  EXPECT_EQ(decode_error(bytes, 64),
            "trailer: bundle format version 2 is newer than this program supports (1); use a newer kubeferry");
  put_u32(bytes, 48, 0);
  EXPECT_EQ(decode_error(bytes, 64), "trailer: unknown bundle format version 0");
  // A trailer that is there but damaged or newer is no "no trailer".
  auto newer = decode_trailer(bytes, 64);
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.error().reason(), Reason::unspecified);
}

TEST(Trailer, RefusesDamagedFields) {
  const Trailer t = sample();
  const uint64_t size = file_size_of(t);
  const std::string good = encode_trailer(t);

  std::string magic = good;
  magic[63] = 'e';
  EXPECT_EQ(decode_error(magic, size),
            "trailer: no kubeferry trailer at the end of the file (not a bundle, or truncated)");
  std::string trailer_size = good;
  put_u32(trailer_size, 52, 65);
  EXPECT_EQ(decode_error(trailer_size, size), "trailer: wrong trailer size");
  for (size_t i = 32; i < 48; ++i) {
    std::string reserved = good;
    reserved[i] = 1;
    EXPECT_EQ(decode_error(reserved, size), "trailer: reserved bytes are not zero") << i;
  }
  std::string signature = good;
  put_u64(signature, 24, 95);
  EXPECT_EQ(decode_error(signature, size - 1), "trailer: wrong signature size");
  std::string no_index = good;
  put_u64(no_index, 16, 0);
  EXPECT_EQ(decode_error(no_index, size - 500), "trailer: index size 0 is out of range");
  std::string huge_index = good;
  put_u64(huge_index, 16, (64ull << 20) + 1);
  EXPECT_EQ(decode_error(huge_index, size), "trailer: index size 67108865 is out of range");
  EXPECT_EQ(decode_error(good.substr(1), size), "trailer: file is too short to be a kubeferry bundle");
  EXPECT_EQ(decode_error(good, 63), "trailer: file is too short to be a kubeferry bundle");
}

TEST(BundleFile, RefusesNonBundles) {
  kftest::TempDir dir;
  kftest::write_file(dir / "short", "tiny");
  auto short_file = BundleFile::open(dir / "short", {});
  ASSERT_FALSE(short_file.ok());
  EXPECT_EQ(short_file.error().code(), ErrorCode::verification);
  EXPECT_EQ(short_file.error().message(), "trailer: file is too short to be a kubeferry bundle");
  kftest::write_file(dir / "text", std::string(1000, 'x'));
  auto text = BundleFile::open(dir / "text", {});
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().message(),
            "trailer: no kubeferry trailer at the end of the file (not a bundle, or truncated)");
  // Both say "no bundle here" (installer: a bare kubeferry-install), which callers tell apart by
  // the reason, not by the text.
  EXPECT_EQ(short_file.error().reason(), Reason::no_trailer);
  EXPECT_EQ(text.error().reason(), Reason::no_trailer);
  auto folder = BundleFile::open(dir.path(), {});
  ASSERT_FALSE(folder.ok());
  EXPECT_EQ(folder.error().code(), ErrorCode::failure);
  EXPECT_EQ(folder.error().message(), dir.path() + ": not a regular file");
  auto missing = BundleFile::open(dir / "missing", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::failure);
  EXPECT_EQ(missing.error().message(), "open " + (dir / "missing") + ": No such file or directory");
}

}  // namespace
}  // namespace bundlespec
