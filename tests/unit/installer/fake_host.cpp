#include "fake_host.hpp"

#include <cerrno>
#include <cstdio>
#include <iterator>

#include "bundlespec/digest.hpp"

namespace installer {

namespace bs = bundlespec;

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
  const auto parts = path_prefixes(path);
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
      return bs::make_error("remove " + path + ": Directory not empty").with_errno(ENOTEMPTY);
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

// ---------------------------------------------------------------- FakeCommandRunner

Result<CommandResult> FakeCommandRunner::run(const std::vector<std::string>& argv) {
  std::string line = join_argv(argv);
  calls.push_back(line);
  for (const auto& [prefix, result] : script) {
    if (line.rfind(prefix, 0) == 0) return result;
  }
  return CommandResult{};
}

}  // namespace installer
