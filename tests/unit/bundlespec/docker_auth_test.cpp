// Registry credentials from a docker config.json, as the builder's pulls and the installer's
// push read them.
#include "bundlespec/docker_auth.hpp"

#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace bundlespec {
namespace {

TEST(Creds, DockerConfig) {
  kftest::TempDir dir;
  // "dXNlcjpwYXNz" is base64 of "user:pass".
  kftest::write_file(dir / "config.json",
                     R"({"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},)"
                     R"("quay.io":{"username":"u2","password":"p2"},"ghcr.io":{}},"credsStore":"x"})");
  auto auths = load_docker_auths(dir / "config.json");
  ASSERT_OK(auths);
  ASSERT_EQ(auths->size(), 2u);
  EXPECT_EQ(auths->at("docker.io").username, "user");
  EXPECT_EQ(auths->at("docker.io").password, "pass");
  EXPECT_EQ(auths->at("quay.io").password, "p2");
  auto missing = load_docker_auths(dir / "none.json");
  ASSERT_OK(missing);
  EXPECT_TRUE(missing->empty());
  kftest::write_file(dir / "bad.json", R"({"auths":{"x.io":{"auth":"bm9jb2xvbg=="}}})");  // "nocolon"
  EXPECT_EQ(load_docker_auths(dir / "bad.json").error().message(),
            "docker config " + (dir / "bad.json") + ": auths[\"x.io\"].auth is not base64 of USER:PASSWORD");
}

TEST(Creds, DefaultConfigFollowsDockerConfigThenHome) {
  const char* saved_config = std::getenv("DOCKER_CONFIG");
  const std::string config = saved_config ? saved_config : "";
  ::setenv("DOCKER_CONFIG", "/etc/dc", 1);
  EXPECT_EQ(default_docker_config(), "/etc/dc/config.json");
  ::unsetenv("DOCKER_CONFIG");
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    EXPECT_EQ(default_docker_config(), std::string(home) + "/.docker/config.json");
  }
  if (saved_config) ::setenv("DOCKER_CONFIG", config.c_str(), 1);
}

}  // namespace
}  // namespace bundlespec
