// RealFs (system/host.hpp) on a real folder: the reasons uninstall branches on come from the
// real system calls.
#include "system/host.hpp"

#include <gtest/gtest.h>

#include <cerrno>

#include "support/test_util.hpp"

namespace installer {
namespace {

TEST(RealFsRemove, NonEmptyFolderFailsWithReasonNotEmpty) {
  kftest::TempDir root;
  kftest::write_file(root / "etc/kubernetes/manifests/extra.yaml", "kind: Pod\n");
  RealFs fs(root.path());
  const Status removed = fs.remove("/etc/kubernetes/manifests");
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().reason(), bundlespec::Reason::not_empty);
  EXPECT_EQ(removed.error().sys_errno(), ENOTEMPTY);
  EXPECT_EQ(removed.error().message(), "remove " + (root / "etc/kubernetes/manifests") + ": Directory not empty");
  EXPECT_TRUE(kftest::exists(root / "etc/kubernetes/manifests/extra.yaml"));
  // Missing is fine; an emptied folder goes.
  EXPECT_OK(fs.remove("/etc/kubernetes/manifests/extra.yaml"));
  EXPECT_OK(fs.remove("/etc/kubernetes/manifests/extra.yaml"));
  EXPECT_OK(fs.remove("/etc/kubernetes/manifests"));
  EXPECT_FALSE(kftest::exists(root / "etc/kubernetes/manifests"));
}

}  // namespace
}  // namespace installer
