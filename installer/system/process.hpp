// The one way the installer starts a program: host commands (RealCommandRunner: systemctl,
// modprobe, kubectl...) and image loading (`ctr images import -`, `docker load`, fed the image
// archive on stdin) both go through run_process().
// Thread-safety: run_process() may be called from several threads.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bundlespec/result.hpp"

namespace installer {

struct CommandResult {
  int exit_code = 0;   // 128 + signal when killed by one
  std::string output;  // stdout and stderr together
};

// Writes the child's stdin through the file descriptor it is given (a pipe; it is closed when
// the feed returns). A failure is returned once the child has exited.
using ProcessFeed = std::function<bundlespec::Status(int fd)>;

// Runs argv[0] (looked up in PATH) and waits for it.
//   stdin:  a pipe that `feed` writes, or /dev/null when there is no feed;
//   output: stdout and stderr, interleaved, into an anonymous memory file (memfd), so a child
//           that writes much while it is fed cannot block either side; the first `max_output`
//           bytes (and at most one 64 KiB read more) are kept.
// Fails with "run ARGV0: strerror" when the program cannot be started (the exec errno comes
// back through a close-on-exec pipe), "pipe for ARGV0: ...", "fork for ARGV0: ..." (nothing
// is left open then); a non-zero exit is a result, not a failure. REQUIRES: !argv.empty().
bundlespec::Result<CommandResult> run_process(const std::vector<std::string>& argv, const ProcessFeed& feed = {},
                                              size_t max_output = SIZE_MAX);

}  // namespace installer
