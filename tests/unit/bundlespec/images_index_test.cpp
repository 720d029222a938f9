// The images index (images/images.json): canonical round trip and exact refusals.
#include "bundlespec/images_index.hpp"

#include <gtest/gtest.h>

#include "bundlespec/digest.hpp"
#include "support/test_util.hpp"

namespace {

using namespace bundlespec;

std::string digest_of(const std::string& text) {
  return "sha256:" + sha256_hex(text);
}

ImagesIndex sample() {
  ImagePlatform amd64{"linux/amd64",
                      {std::string(k_media_oci_manifest), digest_of("m1"), 400},
                      {"application/vnd.oci.image.config.v1+json", digest_of("c1"), 500},
                      {{"application/vnd.oci.image.layer.v1.tar+gzip", digest_of("l1"), 1000}}};
  ImagePlatform arm64 = amd64;
  arm64.platform = "linux/arm64";
  arm64.manifest.digest = digest_of("m2");
  ImageRecord image{"busybox",
                    "127.0.0.1:5000/test/busybox:multi",
                    "127.0.0.1:5000/test/busybox:multi",
                    {std::string(k_media_oci_index), digest_of("i"), 300},
                    {amd64, arm64}};
  return ImagesIndex{k_images_index_version, {image}};
}

TEST(ImagesIndex, RoundTripIsCanonical) {
  const ImagesIndex index = sample();
  const std::string text = encode_images_index(index);
  auto decoded = decode_images_index(text);
  ASSERT_OK(decoded);
  EXPECT_EQ(*decoded, index);
  EXPECT_EQ(encode_images_index(*decoded), text);
  EXPECT_EQ(text.substr(0, 11), "{\"images\":[");
  EXPECT_EQ(text.back(), '\n');
}

TEST(ImagesIndex, BlobsOnceTargetFirst) {
  const auto blobs = image_blobs(sample().images[0]);
  ASSERT_EQ(blobs.size(), 5u);  // index, m1, c1, l1, m2 (c1 and l1 shared by both platforms)
  EXPECT_EQ(blobs[0].digest, digest_of("i"));
  EXPECT_EQ(blobs[4].digest, digest_of("m2"));
  EXPECT_EQ(image_blob_path(digest_of("i")), "images/blobs/sha256/" + sha256_hex("i"));
}

TEST(ImagesIndex, DigestNameDropsTheTagNotThePort) {
  ImageRecord image = sample().images[0];
  image.full_name = "127.0.0.1:5000/test/busybox:1.0";
  EXPECT_EQ(digest_name(image), "127.0.0.1:5000/test/busybox@" + digest_of("i"));
  image.full_name = "registry.k8s.io/pause:3.2";
  EXPECT_EQ(digest_name(image), "registry.k8s.io/pause@" + digest_of("i"));
  image.full_name = "docker.io/library/busybox:1.35.0-uclibc";
  EXPECT_EQ(digest_name(image), "docker.io/library/busybox@" + digest_of("i"));
  // No tag (outside the REQUIRES): the name is kept whole, the port untouched.
  image.full_name = "127.0.0.1:5000/test/busybox";
  EXPECT_EQ(digest_name(image), "127.0.0.1:5000/test/busybox@" + digest_of("i"));
}

TEST(ImagesIndex, Refusals) {
  EXPECT_EQ(decode_images_index(R"({"images":[],"version":2})").error().message(),
            "images index: version 2 is not supported (this installer reads 1)");
  ImagesIndex twice = sample();
  twice.images.push_back(twice.images[0]);
  EXPECT_EQ(decode_images_index(encode_images_index(twice)).error().message(),
            "images index: image #2: name 'busybox' is listed twice");
  ImagesIndex bad = sample();
  bad.images[0].platforms[1].layers[0].digest = "sha256:XYZ";
  EXPECT_EQ(decode_images_index(encode_images_index(bad)).error().message(),
            "images index: image #1 (busybox): platform #2 (linux/arm64): layer #1: \"digest\": not sha256:<64 hex>: "
            "sha256:XYZ");
  ImagesIndex none = sample();
  none.images[0].platforms.clear();
  EXPECT_EQ(decode_images_index(encode_images_index(none)).error().message(),
            "images index: image #1 (busybox): no platforms");
  EXPECT_EQ(decode_images_index(R"({"images":[{"name":"a"}],"version":1})").error().message(),
            "images index: image #1: missing \"reference\"");
}

}  // namespace
