// WWW-Authenticate parsing, shared by the builder (pull) and the installer (push).
#include "bundlespec/auth_challenge.hpp"

#include <gtest/gtest.h>

#include "support/test_util.hpp"

namespace {

using bundlespec::parse_auth_challenge;

TEST(AuthChallenge, PushScopeWithCommaInsideQuotes) {
  auto c = parse_auth_challenge(
      R"(Bearer realm="http://127.0.0.1:4000/token",service="rig-registry",scope="repository:a/b:pull,push",error="insufficient_scope")");
  ASSERT_OK(c);
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->params.size(), 4u);
  EXPECT_EQ(c->params.at("scope"), "repository:a/b:pull,push");
  EXPECT_EQ(c->params.at("error"), "insufficient_scope");
}

TEST(AuthChallenge, SchemeOnlyAndCase) {
  auto c = parse_auth_challenge("  BASIC   ");
  ASSERT_OK(c);
  EXPECT_EQ(c->scheme, "basic");
  EXPECT_TRUE(c->params.empty());
  auto spaced = parse_auth_challenge(R"(Basic Realm = "rig-realm" , charset=UTF-8)");
  ASSERT_OK(spaced);
  EXPECT_EQ(spaced->params.at("realm"), "rig-realm");
  EXPECT_EQ(spaced->params.at("charset"), "UTF-8");
}

TEST(AuthChallenge, Malformed) {
  EXPECT_EQ(parse_auth_challenge("").error().message(), "cannot parse WWW-Authenticate: ");
  EXPECT_EQ(parse_auth_challenge("Bearer realm").error().message(), "cannot parse WWW-Authenticate: Bearer realm");
  EXPECT_EQ(parse_auth_challenge(R"(Bearer realm="a" service="b")").error().message(),
            R"(cannot parse WWW-Authenticate: Bearer realm="a" service="b")");
}

}  // namespace
