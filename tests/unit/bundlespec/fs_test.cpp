// Work folders (bundlespec/fs.hpp make_work_dir, remove_stale_work_dirs): a later run removes
// the ones a killed process left, and nothing else.
#include "bundlespec/fs.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "support/test_util.hpp"

namespace bundlespec {
namespace {

// The id of a process that has exited and been reaped.
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

TEST(WorkDir, NamedWithThePidAndPrivate) {
  kftest::TempDir dir;
  auto made = make_work_dir(dir.path(), "out.kubeferry-staging-");
  ASSERT_OK(made);
  const std::string prefix = dir / ("out.kubeferry-staging-" + std::to_string(::getpid()) + "-");
  EXPECT_EQ(made->substr(0, prefix.size()), prefix);
  EXPECT_EQ(made->size(), prefix.size() + 6);
  struct stat st {};
  ASSERT_EQ(::stat(made->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  // Our own folder is never stale, even though its name matches.
  EXPECT_TRUE(remove_stale_work_dirs(dir.path(), "out.kubeferry-staging-").empty());
  EXPECT_TRUE(kftest::exists(*made));
}

TEST(WorkDir, RemovesOnlyTheFoldersOfProcessesThatAreGone) {
  kftest::TempDir dir;
  const std::string dead = std::to_string(dead_pid());
  const std::string live = std::to_string(::getppid());
  const std::string p = "out.kubeferry-staging-";
  kftest::write_file(dir / (p + dead + "-abcdef/key.pem"), "secret");
  for (const std::string& name : {p + live + "-abcdef", "other.kubeferry-staging-" + dead + "-abcdef", p + "notes",
                                  p + dead + "-abc", p + "x" + dead + "-abcdef"}) {
    ASSERT_EQ(::mkdir((dir / name).c_str(), 0700), 0) << name;
  }
  kftest::write_file(dir / "keep/file", "precious");
  ASSERT_EQ(::symlink("keep", (dir / (p + dead + "-symlnk")).c_str()), 0);
  kftest::write_file(dir / (p + dead + "-afile1"), "a file, not a folder");
  EXPECT_EQ(remove_stale_work_dirs(dir.path(), p), std::vector<std::string>{p + dead + "-abcdef"});
  EXPECT_FALSE(kftest::exists(dir / (p + dead + "-abcdef")));
  std::vector<std::string> want = {"keep",
                                   "other.kubeferry-staging-" + dead + "-abcdef",
                                   p + dead + "-abc",
                                   p + dead + "-afile1",
                                   p + dead + "-symlnk",
                                   p + live + "-abcdef",
                                   p + "notes",
                                   p + "x" + dead + "-abcdef"};
  std::sort(want.begin(), want.end());
  std::string want_listing;
  for (const auto& name : want) want_listing += name + "\n";
  std::string sorted_listing;
  ASSERT_EQ(kftest::run_command("cd " + dir.path() + " && ls -A | LC_ALL=C sort", &sorted_listing), 0);
  EXPECT_EQ(sorted_listing, want_listing);
  EXPECT_EQ(kftest::read_file(dir / "keep/file"), "precious");
  EXPECT_TRUE(remove_stale_work_dirs(dir / "missing", p).empty());
}

}  // namespace
}  // namespace bundlespec
