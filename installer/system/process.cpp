#include "system/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <tuple>

#include "bundlespec/fs.hpp"
#include "bundlespec/handles.hpp"

namespace installer {

namespace bs = bundlespec;
using bs::Result;
using bs::Status;

namespace {

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// In the child, after fork: only async-signal-safe calls, then exec or _exit.
[[noreturn]] void exec_child(char* const* args, int input, int output, int report) {
  ::signal(SIGPIPE, SIG_DFL);
  ::dup2(input, 0);
  ::dup2(output, 1);
  ::dup2(output, 2);
  ::execvp(args[0], args);
  const int error = errno;
  std::ignore = ::write(report, &error, sizeof error);
  ::_exit(127);
}

std::string read_output(int fd, size_t max_output) {
  std::string output;
  char buffer[65536];
  uint64_t offset = 0;
  ssize_t n = 0;
  while (output.size() < max_output && (n = ::pread(fd, buffer, sizeof buffer, static_cast<off_t>(offset))) > 0) {
    output.append(buffer, static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return output;
}

}  // namespace

Result<CommandResult> run_process(const std::vector<std::string>& argv, const ProcessFeed& feed, size_t max_output) {
  if (argv.empty()) return bs::make_error("run: empty command");
  // Every descriptor is owned before the fork, so each failure path closes all of them.
  bs::Fd output(::memfd_create("kubeferry-command", MFD_CLOEXEC));
  if (!output.valid()) return bs::errno_error("memfd_create for", argv[0]);
  bs::Fd input;
  bs::Fd feed_end;
  if (feed) {
    TRY_ASSIGN(bs::Pipe stdin_pipe, bs::Pipe::make(argv[0]));
    input = std::move(stdin_pipe.read);
    feed_end = std::move(stdin_pipe.write);
  } else {
    input = bs::Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!input.valid()) return bs::errno_error("open", "/dev/null");
  }
  TRY_ASSIGN(bs::Pipe report, bs::Pipe::make(argv[0]));  // carries the exec errno back
  std::vector<char*> args;
  for (const auto& word : argv) args.push_back(const_cast<char*>(word.c_str()));
  args.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) return bs::errno_error("fork for", argv[0]);
  if (pid == 0) exec_child(args.data(), input.get(), output.get(), report.write.get());

  input.reset();
  report.write.reset();
  // Blocks until the exec happened (the pipe closes) or failed (the errno arrives).
  int exec_error = 0;
  ssize_t got = 0;
  while ((got = ::read(report.read.get(), &exec_error, sizeof exec_error)) < 0 && errno == EINTR) {
  }
  if (got == static_cast<ssize_t>(sizeof exec_error)) {
    feed_end.reset();
    std::ignore = wait_for(pid);
    return bs::make_error("run " + argv[0] + ": " + std::strerror(exec_error));
  }
  Status fed = feed ? feed(feed_end.get()) : bs::ok_status();
  feed_end.reset();
  CommandResult result;
  result.exit_code = wait_for(pid);
  result.output = read_output(output.get(), max_output);
  if (!fed.ok()) return std::move(fed).error();
  return result;
}

}  // namespace installer
