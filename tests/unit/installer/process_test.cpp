// run_process (system/process.hpp), the one way the installer starts programs: real programs,
// and a real fork() failure (RLIMIT_NPROC for an unprivileged user) to show nothing leaks.
#include "system/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "bundlespec/fs.hpp"
#include "support/test_util.hpp"

namespace installer {
namespace {

namespace bs = bundlespec;

TEST(RunProcess, OutputAndExitCode) {
  auto r = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_OK(r);
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->output, "out\nerr\n");
  auto stdin_null = run_process({"wc", "-c"});
  ASSERT_OK(stdin_null);
  EXPECT_EQ(stdin_null->output, "0\n");  // /dev/null without a feed
}

TEST(RunProcess, FeedWritesStdinWhileTheChildWritesMuch) {
  // cat writes 4 MiB while it is fed 4 MiB: more than a pipe holds, so output into a pipe that
  // nobody reads until the feed is done would block both sides.
  const std::string data(4 << 20, 'x');
  auto r = run_process({"sh", "-c", "cat; echo done >&2"}, [&](int fd) { return bs::write_all(fd, data, "stdin"); });
  ASSERT_OK(r);
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->output, data + "done\n");
  auto capped = run_process({"head", "-c", "1000000", "/dev/zero"}, {}, 1000);
  ASSERT_OK(capped);
  EXPECT_EQ(capped->output.size(), 65536u);  // one read past the cap at most
}

TEST(RunProcess, ProgramThatCannotStartIsAFailure) {
  auto r = run_process({"/nonexistent/kubeferry-no-such-program", "x"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "run /nonexistent/kubeferry-no-such-program: No such file or directory");
  // With a feed: the failure is the exec's, not a broken pipe.
  auto fed = run_process({"/nonexistent/kubeferry-no-such-program"},
                         [](int fd) { return bs::write_all(fd, "data", "stdin"); });
  ASSERT_FALSE(fed.ok());
  EXPECT_EQ(fed.error().message(), "run /nonexistent/kubeferry-no-such-program: No such file or directory");
}

int open_descriptors() {
  int count = 0;
  for (int fd = 0; fd < 1024; ++fd) count += ::fcntl(fd, F_GETFD) != -1 ? 1 : 0;
  return count;
}

// In a child that becomes the unprivileged user nobody with RLIMIT_NPROC 0, fork() fails with
// EAGAIN for real (root would ignore the limit): the error says so and no descriptor stays open.
TEST(RunProcess, ForkFailureLeaksNoDescriptor) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::getuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(2);
    const rlimit none{0, 0};
    if (::setrlimit(RLIMIT_NPROC, &none) != 0) ::_exit(3);
    for (int round = 0; round < 2; ++round) {
      const int before = open_descriptors();
      auto r = run_process(
          {"true"}, round == 0 ? ProcessFeed() : [](int) { return bs::ok_status(); });
      const int after = open_descriptors();
      if (r.ok()) ::_exit(4);
      if (r.error().message() != "fork for true: Resource temporarily unavailable") {
        std::fprintf(stderr, "unexpected: %s\n", r.error().message().c_str());
        ::_exit(5);
      }
      if (before != after) {
        std::fprintf(stderr, "descriptors: %d before, %d after\n", before, after);
        ::_exit(6);
      }
    }
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: setuid, 3: setrlimit, 4: fork succeeded, 5: message, 6: leak";
}

}  // namespace
}  // namespace installer
