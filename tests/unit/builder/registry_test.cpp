// Registry client parsing: image references, WWW-Authenticate challenges, --creds, docker
// config.json auths. (The HTTP side runs against real registries in
// tests/integration/images_fetch.sh.)
#include "registry.hpp"

#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace {

using builder::parse_auth_challenge;
using builder::parse_image_name;

TEST(ImageName, RegistryRepositoryTag) {
  auto name = parse_image_name("registry.k8s.io/coredns/coredns:v1.7.0");
  ASSERT_OK(name);
  EXPECT_EQ(name->registry, "registry.k8s.io");
  EXPECT_EQ(name->repository, "coredns/coredns");
  EXPECT_EQ(name->tag, "v1.7.0");
  EXPECT_EQ(name->full(), "registry.k8s.io/coredns/coredns:v1.7.0");
}

TEST(ImageName, PortAndLocalhost) {
  auto name = parse_image_name("127.0.0.1:5000/test/busybox:1.0");
  ASSERT_OK(name);
  EXPECT_EQ(name->registry, "127.0.0.1:5000");
  EXPECT_EQ(name->repository, "test/busybox");
  auto local = parse_image_name("localhost/a:b");
  ASSERT_OK(local);
  EXPECT_EQ(local->registry, "localhost");
}

TEST(ImageName, DockerHubDefaults) {
  auto official = parse_image_name("busybox:1.0");
  ASSERT_OK(official);
  EXPECT_EQ(official->full(), "docker.io/library/busybox:1.0");
  auto user = parse_image_name("flannel/flannel:v0.14.0");
  ASSERT_OK(user);
  EXPECT_EQ(user->full(), "docker.io/flannel/flannel:v0.14.0");
}

TEST(ImageName, Refusals) {
  EXPECT_EQ(parse_image_name("busybox").error().message(), "image reference 'busybox': has no tag");
  EXPECT_EQ(parse_image_name("127.0.0.1:5000/busybox").error().message(),
            "image reference '127.0.0.1:5000/busybox': has no tag");
  EXPECT_EQ(parse_image_name("a/Busy:1").error().message(),
            "image reference 'a/Busy:1': repository 'a/Busy' must be non-empty lower case");
  EXPECT_EQ(parse_image_name("a:1@sha256:00").error().message(),
            "image reference 'a:1@sha256:00': must be NAME:TAG without spaces or a digest");
}

TEST(AuthChallenge, Bearer) {
  auto c = parse_auth_challenge(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  ASSERT_OK(c);
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->params.at("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(c->params.at("service"), "registry.docker.io");
  EXPECT_EQ(c->params.at("scope"), "repository:library/busybox:pull");
}

TEST(AuthChallenge, BasicUnquotedAndEscapes) {
  auto c = parse_auth_challenge(R"(Basic realm="a \"b\", c", charset=UTF-8)");
  ASSERT_OK(c);
  EXPECT_EQ(c->scheme, "basic");
  EXPECT_EQ(c->params.at("realm"), "a \"b\", c");
  EXPECT_EQ(c->params.at("charset"), "UTF-8");
  EXPECT_EQ(parse_auth_challenge(R"(Bearer realm="open)").error().message(),
            R"(cannot parse WWW-Authenticate: Bearer realm="open)");
}

TEST(Creds, Flag) {
  auto creds = builder::parse_creds_flag("127.0.0.1:5000=user:pa:ss");
  ASSERT_OK(creds);
  EXPECT_EQ(creds->first, "127.0.0.1:5000");
  EXPECT_EQ(creds->second.username, "user");
  EXPECT_EQ(creds->second.password, "pa:ss");
  EXPECT_EQ(builder::parse_creds_flag("host=user").error().message(), "--creds must look like REGISTRY=USER:PASSWORD");
}

}  // namespace
