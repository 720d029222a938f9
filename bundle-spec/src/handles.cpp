#include "bundlespec/handles.hpp"

#include <fcntl.h>

#include <cerrno>
#include <string>

#include "bundlespec/fs.hpp"

namespace bundlespec {

Status Fd::close(std::string_view path) {
  if (m_fd < 0) return ok_status();
  if (::close(std::exchange(m_fd, -1)) != 0) return errno_error("close", path);
  return ok_status();
}

Result<Pipe> Pipe::make(std::string_view what) {
  int fds[2] = {-1, -1};
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("pipe for", what);
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

}  // namespace bundlespec
