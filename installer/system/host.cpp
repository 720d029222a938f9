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

std::string parent_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? std::string("/") : path.substr(0, slash);
}

FileStat::Type type_of(mode_t mode) {
  if (S_ISREG(mode)) return FileStat::Type::file;
  if (S_ISDIR(mode)) return FileStat::Type::directory;
  if (S_ISLNK(mode)) return FileStat::Type::symlink;
  if (S_ISSOCK(mode)) return FileStat::Type::socket;
  return FileStat::Type::other;
}

// "/a/b/c" → {"/a", "/a/b", "/a/b/c"}.
std::vector<std::string> prefixes(const std::string& path) {
  std::vector<std::string> out;
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    out.push_back(slash == std::string::npos ? path : path.substr(0, slash));
    if (slash == std::string::npos) break;
  }
  return out;
}

}  // namespace

std::string join_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& word : argv) out += (out.empty() ? "" : " ") + word;
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
  DIR* folder = ::opendir(dir.c_str());
  if (folder == nullptr) return;
  while (const struct dirent* entry = ::readdir(folder)) {
    const std::string name = entry->d_name;
    if (name.size() == prefix.size() + 6 && name.compare(0, prefix.size(), prefix) == 0) {
      std::ignore = ::unlinkat(::dirfd(folder), name.c_str(), 0);
    }
  }
  ::closedir(folder);
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
  const auto parts = prefixes(path);
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

// ---------------------------------------------------------------- FakeFs

void FakeFs::add_file(const std::string& path, std::string content, mode_t mode) {
  nodes[path] = Node{FileStat::Type::file, std::move(content), mode};
}

void FakeFs::add_dir(const std::string& path, mode_t mode) {
  nodes[path] = Node{FileStat::Type::directory, "", mode};
}

std::vector<std::string> FakeFs::list(const std::string& prefix) const {
  std::vector<std::string> out;
  for (const auto& [path, node] : nodes) {
    if (path.rfind(prefix, 0) != 0) continue;
    out.push_back(node.type == FileStat::Type::directory ? path + "/" : path);
  }
  return out;
}

Status FakeFs::record(std::string call) {
  const bool fail = (!fail_prefix.empty() && call.rfind(fail_prefix, 0) == 0) ||
                    (fail_at >= 0 && static_cast<long>(calls.size()) == fail_at);
  calls.push_back(std::move(call));
  if (fail) return bs::make_error(calls.back() + ": injected failure");
  return bs::ok_status();
}

Status FakeFs::need_parent(const std::string& path) const {
  const std::string parent = parent_of(path);
  if (parent == "/") return bs::ok_status();
  const auto it = nodes.find(parent);
  if (it == nodes.end() || it->second.type != FileStat::Type::directory) {
    return bs::make_error("write " + path + ": No such file or directory");
  }
  return bs::ok_status();
}

Result<std::optional<FileStat>> FakeFs::stat(const std::string& path) {
  const auto it = nodes.find(path);
  if (it == nodes.end()) return std::optional<FileStat>();
  return std::optional<FileStat>(FileStat{it->second.type, it->second.mode, it->second.content.size()});
}

Result<std::string> FakeFs::read_file(const std::string& path) {
  const auto it = nodes.find(path);
  if (it == nodes.end() || it->second.type != FileStat::Type::file) {
    return bs::make_error("open " + path + ": No such file or directory");
  }
  return it->second.content;
}

Result<std::string> FakeFs::sha256(const std::string& path) {
  TRY_ASSIGN(const std::string content, read_file(path));
  return bs::sha256_hex(content);
}

Result<std::string> FakeFs::read_link(const std::string& path) {
  const auto it = nodes.find(path);
  if (it == nodes.end() || it->second.type != FileStat::Type::symlink)
    return bs::make_error("readlink " + path + ": Invalid argument");
  return it->second.content;
}

Status FakeFs::write_file(const std::string& path, std::string_view content, mode_t mode) {
  char octal[8];
  std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
  TRY(record("write " + path + " " + octal));
  TRY(need_parent(path));
  nodes[path] = Node{FileStat::Type::file, std::string(content), mode};
  return bs::ok_status();
}

Status FakeFs::copy_file(const std::string& source, const std::string& path, mode_t mode) {
  char octal[8];
  std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
  TRY(record("copy " + source + " " + path + " " + octal));
  const auto it = sources.find(source);
  if (it == sources.end()) return bs::make_error("open " + source + ": No such file or directory");
  TRY(need_parent(path));
  nodes[path] = Node{FileStat::Type::file, it->second, mode};
  return bs::ok_status();
}

Status FakeFs::symlink(const std::string& target, const std::string& path) {
  TRY(record("symlink " + target + " " + path));
  TRY(need_parent(path));
  nodes[path] = Node{FileStat::Type::symlink, target, 0777};
  return bs::ok_status();
}

Result<std::vector<std::string>> FakeFs::make_dirs(const std::string& path, mode_t mode, ExistingMode existing) {
  std::vector<std::string> created;
  const auto parts = prefixes(path);
  for (size_t i = 0; i < parts.size(); ++i) {
    const mode_t want = i + 1 == parts.size() ? mode : 0755;
    const auto it = nodes.find(parts[i]);
    if (it != nodes.end()) {
      if (it->second.type != FileStat::Type::directory)
        return bs::make_error("mkdir " + parts[i] + ": exists and is not a folder");
      if (i + 1 == parts.size() && existing == ExistingMode::apply && it->second.mode != mode) {
        char octal[8];
        std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
        TRY(record("chmod " + parts[i] + " " + octal));
        it->second.mode = mode;
      }
      continue;
    }
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(want));
    TRY(record("mkdir " + parts[i] + " " + octal));
    nodes[parts[i]] = Node{FileStat::Type::directory, "", want};
    created.push_back(parts[i]);
  }
  return created;
}

Status FakeFs::remove(const std::string& path) {
  const auto it = nodes.find(path);
  if (it == nodes.end()) return bs::ok_status();
  if (it->second.type == FileStat::Type::directory) {
    const auto next = std::next(it);
    if (next != nodes.end() && next->first.rfind(path + "/", 0) == 0) {
      return bs::make_error("remove " + path + ": Directory not empty");
    }
  }
  TRY(record("remove " + path));
  nodes.erase(path);
  return bs::ok_status();
}

Status FakeFs::remove_tree(const std::string& path) {
  TRY(record("remove_tree " + path));
  for (auto it = nodes.begin(); it != nodes.end();) {
    if (it->first == path || it->first.rfind(path + "/", 0) == 0) {
      it = nodes.erase(it);
    } else {
      ++it;
    }
  }
  return bs::ok_status();
}

Result<uint64_t> FakeFs::free_bytes(const std::string&) {
  return free;
}

// ---------------------------------------------------------------- commands

Result<CommandResult> RealCommandRunner::run(const std::vector<std::string>& argv) {
  if (argv.empty()) return bs::make_error("run: empty command");
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return bs::errno_error("pipe", argv[0]);
  int report[2];  // carries the exec errno back to the parent
  if (::pipe2(report, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return bs::errno_error("pipe", argv[0]);
  }
  std::vector<char*> args;
  for (const auto& word : argv) args.push_back(const_cast<char*>(word.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return bs::errno_error("fork", argv[0]);
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::execvp(args[0], args.data());
    const int error = errno;
    (void)!::write(report[1], &error, sizeof error);
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(report[1]);
  CommandResult result;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(out[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buffer, static_cast<size_t>(n));
  }
  ::close(out[0]);
  int exec_error = 0;
  const ssize_t got = ::read(report[0], &exec_error, sizeof exec_error);
  ::close(report[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got == static_cast<ssize_t>(sizeof exec_error)) {
    return bs::make_error("run " + argv[0] + ": " + std::strerror(exec_error));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

Result<CommandResult> FakeCommandRunner::run(const std::vector<std::string>& argv) {
  std::string line = join_argv(argv);
  calls.push_back(line);
  for (const auto& [prefix, result] : script) {
    if (line.rfind(prefix, 0) == 0) return result;
  }
  return CommandResult{};
}

}  // namespace installer
