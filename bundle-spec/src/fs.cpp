#include "bundlespec/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <tuple>
#include <vector>

#include "bundlespec/text.hpp"

namespace bundlespec {

Error errno_error(std::string_view op, std::string_view path) {
  const int saved = errno;
  return make_error(std::string(op) + " " + printable(path, k_printable_path_max) + ": " + std::strerror(saved))
      .with_errno(saved);
}

Result<std::string> read_file(const std::string& path, uint64_t max_size) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("stat", path);
  if (static_cast<uint64_t>(st.st_size) > max_size) {
    return make_error("read " + path + ": file is " + std::to_string(st.st_size) + " bytes, more than the limit of " +
                      std::to_string(max_size));
  }
  std::string data;
  data.reserve(static_cast<size_t>(st.st_size));
  std::vector<char> buffer(1 << 16);
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read", path);
    }
    if (n == 0) break;
    data.append(buffer.data(), static_cast<size_t>(n));
    if (data.size() > max_size) return make_error("read " + path + ": file grew past the limit");
  }
  return data;
}

Status write_all(int fd, std::string_view data, std::string_view what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write", what);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok_status();
}

Status pread_exact(int fd, void* out, size_t size, uint64_t offset, std::string_view what) {
  auto* p = static_cast<char*>(out);
  while (size > 0) {
    const ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read", what);
    }
    if (n == 0) return verification_error(std::string(what) + ": file is truncated");
    p += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return ok_status();
}

AtomicFile::AtomicFile(std::string path, std::string temp, Fd fd, mode_t mode, Overwrite overwrite)
    : m_path(std::move(path)), m_temp(std::move(temp)), m_fd(std::move(fd)), m_mode(mode), m_overwrite(overwrite) {}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : m_path(std::move(other.m_path)),
      m_temp(std::move(other.m_temp)),
      m_fd(std::move(other.m_fd)),
      m_mode(other.m_mode),
      m_overwrite(other.m_overwrite),
      m_committed(std::exchange(other.m_committed, true)) {}

AtomicFile::~AtomicFile() {
  if (!m_committed && !m_temp.empty()) {
    m_fd.reset();
    std::ignore = ::unlink(m_temp.c_str());
  }
}

Result<AtomicFile> AtomicFile::create(const std::string& path, mode_t mode, Overwrite overwrite) {
  if (overwrite == Overwrite::no && ::access(path.c_str(), F_OK) == 0) {
    return make_error("refusing to overwrite existing " + path);
  }
  const std::filesystem::path target(path);
  std::string dir = target.parent_path().string();
  if (dir.empty()) dir = ".";
  std::string pattern = dir + "/." + target.filename().string() + ".tmp-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  const int fd = ::mkostemp(buffer.data(), O_CLOEXEC);
  if (fd < 0) return errno_error("create temporary file for", path);
  ::fchmod(fd, 0600);
  return AtomicFile(path, std::string(buffer.data()), Fd(fd), mode, overwrite);
}

Status AtomicFile::write(std::string_view data) {
  return write_all(m_fd.get(), data, m_temp);
}

Status AtomicFile::commit() {
  if (::fsync(m_fd.get()) != 0) return errno_error("fsync", m_temp);
  if (::fchmod(m_fd.get(), m_mode) != 0) return errno_error("chmod", m_temp);
  TRY(m_fd.close(m_temp));
  if (m_overwrite == Overwrite::no) {
    // link(2) fails with EEXIST instead of replacing a file that appeared meanwhile.
    if (::link(m_temp.c_str(), m_path.c_str()) != 0) {
      if (errno == EEXIST) return make_error("refusing to overwrite existing " + m_path);
      return errno_error("link", m_path);
    }
    std::ignore = ::unlink(m_temp.c_str());
  } else if (::rename(m_temp.c_str(), m_path.c_str()) != 0) {
    return errno_error("rename to", m_path);
  }
  m_committed = true;
  return sync_parent_dir(m_path);
}

Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode, Overwrite overwrite) {
  TRY_ASSIGN(auto file, AtomicFile::create(path, mode, overwrite));
  TRY(file.write(data));
  return file.commit();
}

Status write_new_file(const std::string& path, std::string_view data, mode_t mode) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd.valid()) return errno_error("create", path);
  Status written = write_all(fd.get(), data, path);
  if (written.ok() && ::fchmod(fd.get(), mode) != 0) written = errno_error("chmod", path);
  if (written.ok()) written = fd.close(path);
  if (!written.ok()) std::ignore = ::unlink(path.c_str());
  return written;
}

Status sync_parent_dir(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open folder", dir);
  if (::fsync(fd.get()) != 0 && errno != EINVAL) return errno_error("fsync folder", dir);
  return ok_status();
}

Status remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return make_error("remove " + path + ": " + ec.message());
  return ok_status();
}

Result<std::string> make_work_dir(const std::string& parent, const std::string& prefix) {
  std::string pattern = parent + "/" + prefix + std::to_string(::getpid()) + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) return errno_error("create temporary folder in", parent);
  return pattern;
}

namespace {

// The process id in NAME = PREFIX<digits>-XXXXXX, or 0 when NAME is not such a name.
pid_t work_dir_pid(std::string_view name, std::string_view prefix) {
  if (name.size() <= prefix.size() + 7 || name.substr(0, prefix.size()) != prefix) return 0;
  const std::string_view rest = name.substr(prefix.size());
  const size_t dash = rest.size() - 7;
  if (rest[dash] != '-' || dash == 0 || dash > 10) return 0;
  long long pid = 0;
  for (const char c : rest.substr(0, dash)) {
    if (c < '0' || c > '9') return 0;
    pid = pid * 10 + (c - '0');
  }
  return pid > 0 && pid <= INT32_MAX ? static_cast<pid_t>(pid) : 0;
}

bool process_exists(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

}  // namespace

std::vector<std::string> remove_stale_work_dirs(const std::string& parent, const std::string& prefix) {
  std::vector<std::string> removed;
  const Handle<DIR> dir(::opendir(parent.c_str()));
  if (!dir) return removed;
  std::vector<std::string> candidates;
  while (const dirent* entry = ::readdir(dir.get())) {
    const pid_t pid = work_dir_pid(entry->d_name, prefix);
    if (pid != 0 && pid != ::getpid() && !process_exists(pid)) candidates.emplace_back(entry->d_name);
  }
  for (const std::string& name : candidates) {
    const std::string path = parent + "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) continue;
    if (remove_tree(path).ok()) removed.push_back(name);
  }
  return removed;
}

}  // namespace bundlespec
