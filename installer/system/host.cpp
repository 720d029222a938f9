#include "system/host.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <tuple>

#include "bundlespec/digest.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/handles.hpp"

namespace installer {

namespace bs = bundlespec;

namespace {

FileStat::Type type_of(mode_t mode) {
  if (S_ISREG(mode)) return FileStat::Type::file;
  if (S_ISDIR(mode)) return FileStat::Type::directory;
  if (S_ISLNK(mode)) return FileStat::Type::symlink;
  if (S_ISSOCK(mode)) return FileStat::Type::socket;
  return FileStat::Type::other;
}

}  // namespace

std::vector<std::string> path_prefixes(const std::string& path) {
  std::vector<std::string> out;
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    out.push_back(slash == std::string::npos ? path : path.substr(0, slash));
    if (slash == std::string::npos) break;
  }
  return out;
}

// ---------------------------------------------------------------- RealFs

RealFs::RealFs(std::string root) : m_root(std::move(root)) {
  while (m_root.size() > 1 && m_root.back() == '/') m_root.pop_back();
}

std::string RealFs::full(const std::string& path) const {
  return m_root == "/" ? path : m_root + path;
}

Result<std::optional<FileStat>> RealFs::stat(const std::string& path) {
  struct stat st {};
  if (::lstat(full(path).c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<FileStat>();
    return bs::errno_error("stat", full(path));
  }
  return std::optional<FileStat>(FileStat{type_of(st.st_mode), st.st_mode & 07777, static_cast<uint64_t>(st.st_size)});
}

Result<std::string> RealFs::read_file(const std::string& path) {
  return bs::read_file(full(path));
}

Result<std::string> RealFs::sha256(const std::string& path) {
  return bs::hash_file_hex(full(path), bs::DigestAlgorithm::sha256);
}

Result<std::string> RealFs::read_link(const std::string& path) {
  char buffer[4096];
  const ssize_t n = ::readlink(full(path).c_str(), buffer, sizeof buffer);
  if (n < 0) return bs::errno_error("readlink", full(path));
  return std::string(buffer, static_cast<size_t>(n));
}

namespace {

// An install killed (SIGKILL, power loss) between creating a temporary and renaming it leaves
// ".NAME.tmp-XXXXXX" beside NAME (bundlespec::AtomicFile). The next write of NAME removes it,
// so a resumed install leaves nothing of ours behind.
void remove_stale_temporaries(const std::string& target) {
  const size_t slash = target.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : target.substr(0, slash);
  const std::string prefix = "." + target.substr(slash + 1) + ".tmp-";
  const bs::Handle<DIR> folder(::opendir(dir.c_str()));
  if (!folder) return;
  while (const struct dirent* entry = ::readdir(folder.get())) {
    const std::string name = entry->d_name;
    if (name.size() == prefix.size() + 6 && name.compare(0, prefix.size(), prefix) == 0) {
      std::ignore = ::unlinkat(::dirfd(folder.get()), name.c_str(), 0);
    }
  }
}

}  // namespace

Status RealFs::write_file(const std::string& path, std::string_view content, mode_t mode) {
  remove_stale_temporaries(full(path));
  return bs::write_file_atomic(full(path), content, mode, bs::Overwrite::yes);
}

Status RealFs::copy_file(const std::string& source, const std::string& path, mode_t mode) {
  bs::Fd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return bs::errno_error("open", source);
  remove_stale_temporaries(full(path));
  TRY_ASSIGN(bs::AtomicFile out, bs::AtomicFile::create(full(path), mode, bs::Overwrite::yes));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(in.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return bs::errno_error("read", source);
    if (n == 0) break;
    TRY(out.write(std::string_view(buffer, static_cast<size_t>(n))));
  }
  return out.commit();
}

Status RealFs::symlink(const std::string& target, const std::string& path) {
  const std::string temp = full(parent_of(path)) + "/.kubeferry-link.tmp";
  ::unlink(temp.c_str());
  if (::symlink(target.c_str(), temp.c_str()) != 0) return bs::errno_error("symlink", temp);
  if (::rename(temp.c_str(), full(path).c_str()) != 0) {
    Status failed = bs::errno_error("rename " + temp + " to", full(path));
    ::unlink(temp.c_str());
    return failed;
  }
  return bs::sync_parent_dir(full(path));
}

Result<std::vector<std::string>> RealFs::make_dirs(const std::string& path, mode_t mode, ExistingMode existing) {
  std::vector<std::string> created;
  const auto parts = path_prefixes(path);
  for (size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    const std::string real = full(parts[i]);
    if (::mkdir(real.c_str(), last ? mode : 0755) == 0) {
      created.push_back(parts[i]);
      if (::chmod(real.c_str(), last ? mode : 0755) != 0) return bs::errno_error("chmod", real);  // umask
      continue;
    }
    if (errno != EEXIST) return bs::errno_error("mkdir", real);
    struct stat st {};
    if (::stat(real.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return bs::make_error("mkdir " + real + ": exists and is not a folder");
    }
    if (last && existing == ExistingMode::apply && (st.st_mode & 07777) != mode && ::chmod(real.c_str(), mode) != 0) {
      return bs::errno_error("chmod", real);
    }
  }
  return created;
}

Status RealFs::remove(const std::string& path) {
  struct stat st {};
  if (::lstat(full(path).c_str(), &st) != 0) {
    return errno == ENOENT ? bs::ok_status() : Status(bs::errno_error("stat", full(path)));
  }
  const int rc = S_ISDIR(st.st_mode) ? ::rmdir(full(path).c_str()) : ::unlink(full(path).c_str());
  if (rc != 0 && errno != ENOENT) return bs::errno_error("remove", full(path));
  return bs::ok_status();
}

Status RealFs::remove_tree(const std::string& path) {
  return bs::remove_tree(full(path));
}

Result<uint64_t> RealFs::free_bytes(const std::string& path) {
  std::string probe = path;
  for (;;) {
    struct statvfs vfs {};
    if (::statvfs(full(probe).c_str(), &vfs) == 0) return uint64_t{vfs.f_bavail} * vfs.f_frsize;
    if (errno != ENOENT || probe == "/") return bs::errno_error("statvfs", full(probe));
    probe = parent_of(probe);
  }
}

// ---------------------------------------------------------------- commands

Result<CommandResult> RealCommandRunner::run(const std::vector<std::string>& argv) {
  return run_process(argv);
}

}  // namespace installer
