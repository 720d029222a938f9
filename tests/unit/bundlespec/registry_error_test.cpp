// The registry's error document as text, as the builder's pulls and the installer's push show it.
#include "bundlespec/registry_error.hpp"

#include <gtest/gtest.h>

namespace bundlespec {
namespace {

TEST(RegistryError, FirstErrorOfTheDocument) {
  EXPECT_EQ(registry_error_text(R"({"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry",)"
                                R"("detail":"sha256:ab"},{"code":"X","message":"y"}]})"),
            " (MANIFEST_BLOB_UNKNOWN: blob unknown to registry)");
}

// The registry's words reach the terminal escaped and cut.
TEST(RegistryError, TextIsEscapedAndCapped) {
  EXPECT_EQ(registry_error_text(R"({"errors":[{"code":"DENIED\u001b[2J","message":"no\nkubeferry: OK pushed"}]})"),
            " (DENIED\\x1b[2J: no\\x0akubeferry: OK pushed)");
  EXPECT_EQ(registry_error_text(R"({"errors":[{"code":"X","message":")" + std::string(300, 'm') + R"("}]})"),
            " (X: " + std::string(200, 'm') + "...)");
}

TEST(RegistryError, AnythingElseIsNoText) {
  EXPECT_EQ(registry_error_text(""), "");
  EXPECT_EQ(registry_error_text("<html>502 Bad Gateway</html>"), "");
  EXPECT_EQ(registry_error_text(R"({"errors":[]})"), "");
  EXPECT_EQ(registry_error_text(R"({"errors":[{"code":"DENIED"}]})"), "");
}

}  // namespace
}  // namespace bundlespec
