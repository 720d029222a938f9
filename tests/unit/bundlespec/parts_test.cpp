// The parts manifest's encoding (FORMAT.md 11) and the --split sizes.
#include "bundlespec/parts.hpp"

#include <gtest/gtest.h>

#include "bundlespec/digest.hpp"

namespace bundlespec {
namespace {

PartsManifest sample() {
  PartsManifest m;
  m.bundle = "rig";
  m.signer = "SHA256:" + sha256_hex("key");
  m.file = {"rig.run", 2500, sha256_hex("whole")};
  m.part_size = 1000;
  m.installer = MediaFile{"rig.run.installer", 700, sha256_hex("installer")};
  m.parts = {{"rig.run.part000", 1000, sha256_hex("0")},
             {"rig.run.part001", 1000, sha256_hex("1")},
             {"rig.run.part002", 500, sha256_hex("2")}};
  return m;
}

TEST(Parts, SplitSizesAndPresets) {
  EXPECT_EQ(parse_split_size("fat32").value(), 4294967295u);
  EXPECT_EQ(parse_split_size("dvd").value(), 4700000000u);
  EXPECT_EQ(parse_split_size("bd").value(), 25000000000u);
  EXPECT_EQ(parse_split_size("2M").value(), 2u << 20);
  EXPECT_EQ(parse_split_size("650k").value(), 650u << 10);
  EXPECT_EQ(parse_split_size("4G").value(), uint64_t{4} << 30);
  EXPECT_EQ(parse_split_size("123").value(), 123u);
  EXPECT_EQ(parse_split_size("0").error().message(), "size '0' is zero");
  EXPECT_EQ(parse_split_size("99999999999999999999G").error().code(), ErrorCode::usage);
  EXPECT_EQ(parse_split_size("M").error().code(), ErrorCode::usage);
  EXPECT_EQ(parse_split_size("17179869184G").error().message(), "size '17179869184G' is too large");
}

TEST(Parts, NamesAndCounts) {
  EXPECT_EQ(part_name("x.run", 7), "x.run.part007");
  EXPECT_EQ(part_count(2500, 1000), 3u);
  EXPECT_EQ(part_count(2000, 1000), 2u);
  EXPECT_EQ(parts_manifest_name("k8s-v1.20.11-linux-amd64.run"), "k8s-v1.20.11-linux-amd64.parts");
  EXPECT_EQ(media_name_problem("k8s.run"), "");
  EXPECT_EQ(media_name_problem("k8s.tar.zst"), "must end in .run");
  EXPECT_EQ(media_name_problem("a b.run"), "may hold only ASCII letters, digits, '.', '-', '_' and '+'");
}

TEST(Parts, RoundTripIsTheExactEncoding) {
  const std::string text = encode_parts_manifest(sample());
  EXPECT_EQ(text.substr(0, 41), "# kubeferry parts v1\n# bundle rig\n# signe");
  EXPECT_NE(text.find("\n# part rig.run.part002 500\n" + sha256_hex("2") + "  rig.run.part002\n"), std::string::npos);
  auto decoded = decode_parts_manifest(text);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(*decoded, sample());
}

TEST(Parts, RefusesWhatDoesNotAddUp) {
  PartsManifest m = sample();
  m.parts[1].size = 999;
  EXPECT_EQ(decode_parts_manifest(encode_parts_manifest(m)).error().message(),
            "parts manifest: rig.run.part001 must be 1000 bytes");
  m = sample();
  m.parts.pop_back();
  EXPECT_EQ(decode_parts_manifest(encode_parts_manifest(m)).error().message(),
            "parts manifest: a file of 2500 bytes in parts of 1000 needs 3 parts, not 2");
  m = sample();
  m.parts[2].name = "rig.run.part003";
  EXPECT_EQ(decode_parts_manifest(encode_parts_manifest(m)).error().message(),
            "parts manifest: part 2 must be named rig.run.part002");
}

TEST(Parts, RefusesOtherEncodings) {
  const std::string text = encode_parts_manifest(sample());
  std::string leading_zero = text;
  leading_zero.replace(leading_zero.find("# part-size 1000"), 16, "# part-size 01000");
  EXPECT_EQ(decode_parts_manifest(leading_zero).error().message(),
            "parts manifest line 5: want '# part-size SIZE', got '# part-size 01000'");
  EXPECT_EQ(decode_parts_manifest(text.substr(0, text.size() - 1)).error().message(),
            "parts manifest does not end with a newline");
  std::string upper = text;
  std::string digest = sha256_hex("1");
  upper.replace(upper.find(digest), 64, "ABCDEF" + digest.substr(6));
  EXPECT_EQ(decode_parts_manifest(upper).error().code(), ErrorCode::verification);
  EXPECT_EQ(decode_parts_manifest("# kubeferry parts v2\n").error().message(),
            "not a kubeferry parts manifest (the first line is not '# kubeferry parts v1')");
  EXPECT_EQ(decode_parts_manifest(text.substr(0, text.find("# part rig.run.part000"))).error().message(),
            "parts manifest: a file of 2500 bytes in parts of 1000 needs 3 parts, not 0");
}

}  // namespace
}  // namespace bundlespec
