// The installer's side effects, behind two injected interfaces (so tests can replace them):
//   Fs             files under a root folder (--root, default "/"); every write is atomic
//                  (AtomicFile: temp in the same folder, fsync, rename, fsync the folder).
//   CommandRunner  external programs (systemctl, modprobe, sysctl, ctr, docker, kubectl).
// Real* implementations touch the machine; the tests' Fake* (tests/unit/installer/fake_host.hpp)
// keep everything in memory, record every call and inject failures, so the executor is tested
// without root.
// Paths given to an Fs are absolute target paths ("/opt/etcd/bin/etcd"); RealFs puts them
// below its root. Thread-safety: one thread per object.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bundlespec/result.hpp"
#include "bundlespec/text.hpp"
#include "system/process.hpp"

namespace installer {

using bundlespec::Result;
using bundlespec::Status;

struct FileStat {
  enum class Type { file, directory, symlink, socket, other };
  Type type = Type::file;
  mode_t mode = 0;  // permission bits only
  uint64_t size = 0;
};

enum class ExistingMode { keep, apply };

class Fs {
 public:
  virtual ~Fs() = default;
  // lstat: nullopt when nothing is there; a failure for other errors (EACCES, ...).
  virtual Result<std::optional<FileStat>> stat(const std::string& path) = 0;
  virtual Result<std::string> read_file(const std::string& path) = 0;
  // Lowercase hex SHA-256 of a regular file's content (streamed).
  virtual Result<std::string> sha256(const std::string& path) = 0;
  virtual Result<std::string> read_link(const std::string& path) = 0;
  // Replaces `path` atomically with `content`, final mode `mode`, owner root:root when running
  // as root. REQUIRES: the parent folder exists.
  virtual Status write_file(const std::string& path, std::string_view content, mode_t mode) = 0;
  // The same with the content of `source`, a real path outside the root (the extracted
  // bundle), streamed.
  virtual Status copy_file(const std::string& source, const std::string& path, mode_t mode) = 0;
  // Makes `path` a symlink to `target`, replacing what was there (atomically).
  virtual Status symlink(const std::string& target, const std::string& path) = 0;
  // Creates `path` with `mode` and any missing parent with 0755. Returns the folders it created,
  // outermost first (empty if `path` existed). An existing `path` gets `mode` applied only with
  // ExistingMode::apply (a layout folder); parents of files keep theirs (ExistingMode::keep).
  virtual Result<std::vector<std::string>> make_dirs(const std::string& path, mode_t mode, ExistingMode existing) = 0;
  // Removes a file, symlink or EMPTY folder. Missing is fine. A non-empty folder: failure
  // with Reason::not_empty (its message ends in "Directory not empty").
  virtual Status remove(const std::string& path) = 0;
  // Removes a tree; missing is fine; never follows symlinks.
  virtual Status remove_tree(const std::string& path) = 0;
  // Bytes available to root in the file system holding `path` or its nearest existing parent.
  virtual Result<uint64_t> free_bytes(const std::string& path) = 0;
};

// The machine's files below `root` ("/" for the real host).
class RealFs final : public Fs {
 public:
  explicit RealFs(std::string root);
  const std::string& root() const { return m_root; }
  std::string full(const std::string& path) const;  // root + path

  Result<std::optional<FileStat>> stat(const std::string& path) override;
  Result<std::string> read_file(const std::string& path) override;
  Result<std::string> sha256(const std::string& path) override;
  Result<std::string> read_link(const std::string& path) override;
  Status write_file(const std::string& path, std::string_view content, mode_t mode) override;
  Status copy_file(const std::string& source, const std::string& path, mode_t mode) override;
  Status symlink(const std::string& target, const std::string& path) override;
  Result<std::vector<std::string>> make_dirs(const std::string& path, mode_t mode, ExistingMode existing) override;
  Status remove(const std::string& path) override;
  Status remove_tree(const std::string& path) override;
  Result<uint64_t> free_bytes(const std::string& path) override;

 private:
  std::string m_root;
};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Runs argv[0] (looked up in PATH) and waits. A program that cannot be started is a failure
  // "run ARGV0: strerror"; a non-zero exit is a result, not a failure.
  virtual Result<CommandResult> run(const std::vector<std::string>& argv) = 0;
};

// run_process() (system/process.hpp): stdout+stderr captured; stdin is /dev/null.
class RealCommandRunner final : public CommandRunner {
 public:
  Result<CommandResult> run(const std::vector<std::string>& argv) override;
};

// "a b c" — argv joined with single spaces, for messages and fakes; and the folder holding an
// absolute PATH ("/a/b" → "/a", "/a" → "/"): bundle-spec's text helpers.
using bundlespec::join_argv;
using bundlespec::parent_of;
// Every folder on the way to PATH and PATH itself: "/a/b/c" → {"/a", "/a/b", "/a/b/c"}.
std::vector<std::string> path_prefixes(const std::string& path);

}  // namespace installer
