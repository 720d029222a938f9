// images push, the pure parts: --registry parsing, where each image goes, token answers.
#include "images/push_protocol.hpp"

#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace {

using installer::parse_registry_target;
using installer::target_reference;

bundlespec::ImageRecord image(const std::string& full_name) {
  bundlespec::ImageRecord record;
  record.name = "img";
  record.full_name = full_name;
  return record;
}

std::string mapped(const std::string& full_name, const std::string& registry) {
  auto target = parse_registry_target(registry);
  EXPECT_OK(target);
  if (!target.ok()) return "";
  auto ref = target_reference(image(full_name), *target);
  EXPECT_OK(ref);
  return ref.ok() ? ref->str() + " repo=" + ref->repository + " tag=" + ref->tag : "";
}

TEST(PushTarget, PathAndTagKept) {
  EXPECT_EQ(mapped("registry.k8s.io/coredns/coredns:1.8.0", "reg.local:5000"),
            "reg.local:5000/coredns/coredns:1.8.0 repo=coredns/coredns tag=1.8.0");
  EXPECT_EQ(mapped("registry.k8s.io/pause:3.2", "10.0.0.5"), "10.0.0.5/pause:3.2 repo=pause tag=3.2");
}

TEST(PushTarget, PrefixGoesInFront) {
  EXPECT_EQ(mapped("registry.k8s.io/coredns/coredns:1.8.0", "reg:5000/mirror/k8s"),
            "reg:5000/mirror/k8s/coredns/coredns:1.8.0 repo=mirror/k8s/coredns/coredns tag=1.8.0");
  EXPECT_EQ(mapped("registry.k8s.io/pause:3.2", "reg/mirror/"), "reg/mirror/pause:3.2 repo=mirror/pause tag=3.2");
}

TEST(PushTarget, DockerHubLibraryAndPortedSource) {
  EXPECT_EQ(mapped("docker.io/library/busybox:1.0", "reg:5000"),
            "reg:5000/library/busybox:1.0 repo=library/busybox tag=1.0");
  EXPECT_EQ(mapped("127.0.0.1:5000/test/busybox:multi-v2s2", "[::1]:443"),
            "[::1]:443/test/busybox:multi-v2s2 repo=test/busybox tag=multi-v2s2");
}

TEST(PushTarget, RegistryRefusals) {
  EXPECT_EQ(parse_registry_target("https://reg:5000").error().message(),
            "--registry 'https://reg:5000': give the registry without a scheme; pass --plain-http for http "
            "(expected HOST[:PORT][/PREFIX])");
  EXPECT_EQ(parse_registry_target("reg:99999").error().message(),
            "--registry 'reg:99999': bad host or port (expected HOST[:PORT][/PREFIX])");
  EXPECT_EQ(parse_registry_target("/x").error().message(), "--registry '/x': no host (expected HOST[:PORT][/PREFIX])");
  EXPECT_EQ(
      parse_registry_target("reg/Mirror").error().message(),
      "--registry 'reg/Mirror': prefix 'Mirror' must be lower-case path components (expected HOST[:PORT][/PREFIX])");
  EXPECT_EQ(parse_registry_target("reg/a//b").error().message(),
            "--registry 'reg/a//b': prefix 'a//b' must be lower-case path components (expected HOST[:PORT][/PREFIX])");
  EXPECT_EQ(parse_registry_target("reg/").error().message(),
            "--registry 'reg/': empty prefix (expected HOST[:PORT][/PREFIX])");
  EXPECT_EQ(parse_registry_target("reg:x").error().code(), bundlespec::ErrorCode::usage);
  EXPECT_OK(parse_registry_target("reg:5000"));
}

TEST(PushTarget, ImageWithoutTagOrRegistry) {
  auto target = parse_registry_target("reg");
  ASSERT_OK(target);
  EXPECT_EQ(target_reference(image("reg.io/pause"), *target).error().message(),
            "image 'img': 'reg.io/pause' is not REGISTRY/REPOSITORY:TAG");
  EXPECT_EQ(target_reference(image("pause:3.2"), *target).error().message(),
            "image 'img': 'pause:3.2' is not REGISTRY/REPOSITORY:TAG");
}

}  // namespace
