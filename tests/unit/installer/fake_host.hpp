// In-memory fakes of the installer's side-effect interfaces (system/host.hpp), for tests only:
// they keep everything in memory, record every call and inject failures, so the executor is
// tested without root. Linked by the installer's unit tests, never by the product.
// Thread-safety: one thread per object.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "system/host.hpp"

namespace installer {

// In memory. Folders are implicit parents unless created; `calls` records each mutating call
// as "write PATH 0644", "copy SOURCE PATH 0755", "symlink TARGET PATH", "mkdir PATH 0755", "chmod PATH 0700",
// "remove PATH", "remove_tree PATH".
class FakeFs final : public Fs {
 public:
  struct Node {
    FileStat::Type type = FileStat::Type::file;
    std::string content;  // file content or symlink target
    mode_t mode = 0644;
  };

  std::map<std::string, Node> nodes;           // absolute path → node
  std::map<std::string, std::string> sources;  // copy_file sources: real path → content
  std::vector<std::string> calls;
  uint64_t free = uint64_t{100} << 30;  // what free_bytes answers
  // A mutating call whose record starts with this prefix fails with "injected failure".
  std::string fail_prefix;
  // The mutating call with this index in `calls` (0-based) fails the same way; -1 = none.
  long fail_at = -1;

  void add_file(const std::string& path, std::string content, mode_t mode = 0644);
  void add_dir(const std::string& path, mode_t mode = 0755);
  // Paths below `prefix` (or all), sorted, folders marked with a trailing '/'.
  std::vector<std::string> list(const std::string& prefix = "/") const;

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
  Status record(std::string call);
  Status need_parent(const std::string& path) const;
};

// Records each argv (joined with spaces) in `calls`; answers from `script`: the first entry
// whose key is a prefix of the joined command line wins, else exit 0 with no output.
class FakeCommandRunner final : public CommandRunner {
 public:
  std::vector<std::string> calls;
  std::vector<std::pair<std::string, CommandResult>> script;
  Result<CommandResult> run(const std::vector<std::string>& argv) override;
};

}  // namespace installer
