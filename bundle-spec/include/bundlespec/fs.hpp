// Small file-system helpers shared by builder and installer: whole-file reads, full writes,
// and AtomicFile (temp file in the same folder, fsync, rename, fsync folder).
//
// Every failure names the operation, the path and strerror. Thread-safety: none needed;
// each object is used by one thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bundlespec/handles.hpp"
#include "bundlespec/result.hpp"

namespace bundlespec {

// "OP PATH: strerror(errno)" as a failure Error carrying errno and its Reason (ENOENT:
// not_found, ENOTEMPTY: not_empty, ...). Reads errno at the call.
Error errno_error(std::string_view op, std::string_view path);

// Reads the whole file. Fails if it is larger than max_size.
Result<std::string> read_file(const std::string& path, uint64_t max_size = UINT64_MAX);

// Writes all of `data` to fd, retrying on EINTR and short writes.
Status write_all(int fd, std::string_view data, std::string_view what);
// Reads exactly `size` bytes at `offset`; a short read is a failure naming `what`.
Status pread_exact(int fd, void* out, size_t size, uint64_t offset, std::string_view what);

enum class Overwrite { yes, no };

// A file that appears at its final path only when commit() succeeds.
// The temporary lives beside the target (".NAME.tmp-XXXXXX", mode 0600). If commit() never
// ran, the destructor removes the temporary.
class AtomicFile {
 public:
  // Creates the temporary. `mode` is applied at commit. With Overwrite::no, commit() fails if
  // the target exists (checked by link(2), so no race replaces an existing file).
  static Result<AtomicFile> create(const std::string& path, mode_t mode, Overwrite overwrite);

  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  ~AtomicFile();

  int fd() const { return m_fd.get(); }
  const std::string& path() const { return m_path; }
  const std::string& temp_path() const { return m_temp; }
  Status write(std::string_view data);
  // fsync, chmod, rename (or link+unlink for Overwrite::no), fsync the folder.
  Status commit();

 private:
  AtomicFile(std::string path, std::string temp, Fd fd, mode_t mode, Overwrite overwrite);

  std::string m_path;
  std::string m_temp;
  Fd m_fd;
  mode_t m_mode;
  Overwrite m_overwrite;
  bool m_committed = false;
};

// Convenience: the whole content through AtomicFile.
Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode, Overwrite overwrite);

// Creates `path` (which must not exist) with `data`, without fsync: for scratch files in a
// private folder that is thrown away after use. A failure removes what was written.
Status write_new_file(const std::string& path, std::string_view data, mode_t mode);

// fsync on the folder holding `path`.
Status sync_parent_dir(const std::string& path);

// Removes a tree (like rm -rf); missing is fine. Never follows symlinks.
Status remove_tree(const std::string& path);

// A fresh folder PARENT/PREFIX<pid>-XXXXXX (mkdtemp, mode 0700) for work that is renamed into
// place when it is done. The process id in the name lets a later run tell a folder left by a
// process that was killed (kill -9, power loss) from one a running process still uses.
Result<std::string> make_work_dir(const std::string& parent, const std::string& prefix);

// Removes the folders make_work_dir(parent, prefix) made whose process is gone: only
// directories (not symlinks) owned by this user, named exactly PREFIX<digits>-<6 characters>,
// whose process id no longer exists. Returns the names removed. Anything else is left alone,
// and problems (an unreadable parent) are ignored: this is housekeeping.
std::vector<std::string> remove_stale_work_dirs(const std::string& parent, const std::string& prefix);

}  // namespace bundlespec
