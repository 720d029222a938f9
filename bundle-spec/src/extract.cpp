#include "bundlespec/extract.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <zstd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include "bundlespec/digest.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/interrupt.hpp"
#include "bundlespec/text.hpp"

namespace bundlespec {

namespace {

constexpr size_t k_read_chunk = 1 << 20;

struct ArchiveReadDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

// Decompresses the payload on its own thread while the caller parses tar and writes files,
// so that extraction uses two cores the way `zstd -dc | tar -x` does. The producer reads the
// stored bytes, hashes them (for the payload digest), and hands 1 MiB blocks of tar through a
// bounded queue; memory stays at the zstd window plus a few blocks, whatever the bundle size.
class PayloadSource {
 public:
  explicit PayloadSource(const BundleFile& bundle)
      : m_fd(bundle.fd()),
        m_offset(bundle.index().payload.offset),
        m_left(bundle.index().payload.size),
        m_window_log(bundle.index().compression.window_log) {
    m_thread = std::thread([this] { produce(); });
  }
  PayloadSource(const PayloadSource&) = delete;
  PayloadSource& operator=(const PayloadSource&) = delete;
  ~PayloadSource() {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_stop = true;
    }
    m_not_full.notify_all();
    m_thread.join();
  }

  // Consumer side (libarchive's read callback): the next block of tar, 0 at the end, -1 on error.
  la_ssize_t read(const void** out) {
    std::unique_lock<std::mutex> lock(m_mutex);
    if (!m_current.empty()) m_spare.push_back(std::move(m_current));
    m_current.clear();
    m_consumer_waiting = true;
    m_not_empty.wait(lock, [this] { return !m_full.empty() || m_done; });
    m_consumer_waiting = false;
    if (m_full.empty()) return m_status.ok() ? 0 : -1;
    const bool was_full = m_full.size() >= k_queue_depth;
    m_current = std::move(m_full.front());
    m_full.pop_front();
    if (was_full) m_not_full.notify_one();
    *out = m_current.data();
    return static_cast<la_ssize_t>(m_current.size());
  }

  // Reads (and drops) whatever libarchive left (padding after the tar end marker), waits for
  // the producer, and returns the digest of all stored payload bytes.
  Result<std::string> finish() {
    const void* ignored = nullptr;
    la_ssize_t n = 0;
    while ((n = read(&ignored)) > 0) {
    }
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!m_status.ok()) return m_status.error();
    return m_hex;
  }

  Status status() {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_status;
  }

 private:
  // 16 blocks of 1 MiB let the decompressor run well ahead of the writer, so that the two
  // threads rarely wait for each other (a wake-up costs a scheduler slice on a busy machine).
  static constexpr size_t k_queue_depth = 16;

  void produce() {
    Status status = decompress_all();
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_status.ok()) m_status = std::move(status);
    m_done = true;
    m_not_empty.notify_all();
  }

  // Hands a full block to the consumer; false if the consumer went away.
  bool push(std::vector<char>& block) {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_not_full.wait(lock, [this] { return m_full.size() < k_queue_depth || m_stop; });
    if (m_stop) return false;
    m_full.push_back(std::move(block));
    // Wake the consumer only when it sleeps: each wake-up costs a context switch.
    if (m_consumer_waiting) m_not_empty.notify_one();
    block.clear();
    if (!m_spare.empty()) {
      block = std::move(m_spare.back());
      m_spare.pop_back();
      block.clear();  // keep the capacity, drop the consumer's old bytes
    }
    return true;
  }

  Status decompress_all() {
    std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
    // The signed index says how large a window the writer used; refuse anything larger.
    ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, m_window_log);
    Hasher hasher(DigestAlgorithm::sha256);
    std::vector<char> in(k_read_chunk);
    std::vector<char> out;
    size_t last = 1;
    while (m_left > 0) {
      const size_t chunk = static_cast<size_t>(std::min<uint64_t>(m_left, in.size()));
      TRY(pread_exact(m_fd, in.data(), chunk, m_offset, "payload"));
      hasher.update(in.data(), chunk);
      m_offset += chunk;
      m_left -= chunk;
      ZSTD_inBuffer input{in.data(), chunk, 0};
      while (input.pos < input.size) {
        if (out.capacity() < k_read_chunk) out.reserve(k_read_chunk);
        const size_t used = out.size();
        out.resize(k_read_chunk);
        ZSTD_outBuffer output{out.data() + used, k_read_chunk - used, 0};
        last = ZSTD_decompressStream(dctx.get(), &output, &input);
        out.resize(used + output.pos);
        if (ZSTD_isError(last)) return verification_error(std::string("payload: zstd: ") + ZSTD_getErrorName(last));
        if (out.size() == k_read_chunk && !push(out)) return ok_status();
      }
    }
    // Flush what the decoder still holds; `last` is 0 once a frame is decoded and flushed.
    while (last != 0) {
      const size_t used = out.size();
      out.resize(k_read_chunk);
      ZSTD_inBuffer input{nullptr, 0, 0};
      ZSTD_outBuffer output{out.data() + used, k_read_chunk - used, 0};
      last = ZSTD_decompressStream(dctx.get(), &output, &input);
      out.resize(used + output.pos);
      if (ZSTD_isError(last)) return verification_error(std::string("payload: zstd: ") + ZSTD_getErrorName(last));
      if (output.pos == 0 && last != 0) return verification_error("payload: the zstd stream is truncated");
      if (out.size() == k_read_chunk && !push(out)) return ok_status();
    }
    if (!out.empty() && !push(out)) return ok_status();
    std::lock_guard<std::mutex> lock(m_mutex);
    m_hex = hasher.finish_hex();
    return ok_status();
  }

  int m_fd;
  uint64_t m_offset;
  uint64_t m_left;
  int m_window_log;
  std::thread m_thread;
  std::mutex m_mutex;
  std::condition_variable m_not_empty;
  std::condition_variable m_not_full;
  bool m_consumer_waiting = false;
  std::deque<std::vector<char>> m_full;
  std::vector<std::vector<char>> m_spare;
  std::vector<char> m_current;
  bool m_done = false;
  bool m_stop = false;
  Status m_status;
  std::string m_hex;
};

la_ssize_t payload_read_cb(struct archive*, void* client, const void** buffer) {
  return static_cast<PayloadSource*>(client)->read(buffer);
}

EntryType type_of(struct archive_entry* ae) {
  if (archive_entry_hardlink(ae) != nullptr) return EntryType::hardlink;
  switch (archive_entry_filetype(ae)) {
    case AE_IFREG:
      return EntryType::file;
    case AE_IFDIR:
      return EntryType::directory;
    case AE_IFLNK:
      return EntryType::symlink;
    case AE_IFCHR:
      return EntryType::char_device;
    case AE_IFBLK:
      return EntryType::block_device;
    case AE_IFIFO:
      return EntryType::fifo;
    default:
      return EntryType::fifo;
  }
}

// Where extracted bytes go: a staging folder, or nowhere (verify only).
class EntrySink {
 public:
  virtual ~EntrySink() = default;
  virtual Status begin(const IndexEntry& entry) = 0;
  virtual Status data(const void* bytes, size_t size) = 0;
  virtual Status end(const IndexEntry& entry) = 0;
  // True when the sink needs no more entries; reading stops early (the entry digests already
  // checked what was read; the payload digest is then not checked).
  virtual bool done() const { return false; }
};

class NullSink : public EntrySink {
 public:
  Status begin(const IndexEntry&) override { return ok_status(); }
  Status data(const void*, size_t) override { return ok_status(); }
  Status end(const IndexEntry&) override { return ok_status(); }
};

class MemorySink : public EntrySink {
 public:
  MemorySink(std::string path, uint64_t max_size) : m_path(std::move(path)), m_max(max_size) {}
  Status begin(const IndexEntry& entry) override {
    m_active = entry.path == m_path;
    if (m_active && entry.size > m_max)
      return make_error(printable(m_path) + ": larger than " + std::to_string(m_max) + " bytes");
    return ok_status();
  }
  Status data(const void* bytes, size_t size) override {
    if (m_active) m_data.append(static_cast<const char*>(bytes), size);
    return ok_status();
  }
  Status end(const IndexEntry& entry) override {
    m_done = m_done || entry.path == m_path;
    m_active = false;
    return ok_status();
  }
  bool done() const override { return m_done; }
  std::string take() { return std::move(m_data); }

 private:
  std::string m_path;
  uint64_t m_max;
  bool m_active = false;
  bool m_done = false;
  std::string m_data;
};

// Writes entries below a folder we created, with openat() relative to it. Every parent is a
// folder created earlier in this run (validate_entries guarantees it), files are created with
// O_EXCL|O_NOFOLLOW, so nothing is written outside the folder or through a symlink. This is the
// protection libarchive's SECURE_* flags give, with the digest check added.
class DiskSink : public EntrySink {
 public:
  DiskSink(int dirfd, int64_t mtime) : m_dirfd(dirfd), m_mtime(mtime) {}

  Status begin(const IndexEntry& entry) override {
    m_path = entry.path;
    switch (entry.type) {
      case EntryType::directory:
        if (::mkdirat(m_dirfd, entry.path.c_str(), 0700) != 0) return errno_error("create folder", entry.path);
        return ok_status();
      case EntryType::symlink:
        if (::symlinkat(entry.target.c_str(), m_dirfd, entry.path.c_str()) != 0) {
          return errno_error("create symlink", entry.path);
        }
        return ok_status();
      case EntryType::file:
        m_file = Fd(::openat(m_dirfd, entry.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!m_file.valid()) return errno_error("create", entry.path);
        return ok_status();
      default:
        return verification_error("entry " + printable(entry.path) + ": unsupported type");
    }
  }

  Status data(const void* bytes, size_t size) override {
    return write_all(m_file.get(), std::string_view(static_cast<const char*>(bytes), size), m_path);
  }

  Status end(const IndexEntry& entry) override {
    const struct timespec times[2] = {{m_mtime, 0}, {m_mtime, 0}};
    if (entry.type == EntryType::file) {
      if (::fchmod(m_file.get(), entry.mode) != 0) return errno_error("chmod", entry.path);
      ::futimens(m_file.get(), times);
      if (m_file.close() != 0) return errno_error("close", entry.path);
    } else if (entry.type == EntryType::directory) {
      // Folders keep 0700 until the end so that a reader cannot see a half-filled tree;
      // their final modes are applied after every entry verified.
      m_dirs.push_back(&entry);
    } else if (entry.type == EntryType::symlink) {
      ::utimensat(m_dirfd, entry.path.c_str(), times, AT_SYMLINK_NOFOLLOW);
    }
    return ok_status();
  }

  Status finish() {
    const struct timespec times[2] = {{m_mtime, 0}, {m_mtime, 0}};
    for (auto it = m_dirs.rbegin(); it != m_dirs.rend(); ++it) {
      if (::fchmodat(m_dirfd, (*it)->path.c_str(), (*it)->mode, 0) != 0) return errno_error("chmod", (*it)->path);
      ::utimensat(m_dirfd, (*it)->path.c_str(), times, AT_SYMLINK_NOFOLLOW);
    }
    return ok_status();
  }

 private:
  int m_dirfd;
  int64_t m_mtime;
  std::string m_path;
  Fd m_file;
  std::vector<const IndexEntry*> m_dirs;
};

Error archive_failure(struct archive* a, const std::string& what) {
  const char* text = archive_error_string(a);
  return verification_error(what + ": " + (text ? text : "unreadable payload"));
}

// Checks a tar header against the index entry it must match.
Status check_header(struct archive_entry* ae, const IndexEntry& want) {
  const char* raw_path = archive_entry_pathname_utf8(ae);
  if (raw_path == nullptr) raw_path = archive_entry_pathname(ae);
  std::string path = raw_path ? raw_path : "";
  // Tar names folders with a trailing '/'; the index does not (FORMAT.md "Payload").
  if (type_of(ae) == EntryType::directory && path.size() > 1 && path.back() == '/') path.pop_back();
  const auto fail = [&](const std::string& why) {
    return verification_error("entry " + printable(want.path) + ": " + why);
  };
  if (path != want.path)
    return verification_error("payload entry '" + printable(path) + "' is not the indexed entry " +
                              printable(want.path));
  if (type_of(ae) != want.type) return fail("type in payload differs from the index");
  if ((archive_entry_perm(ae) & 07777) != want.mode) return fail("mode in payload differs from the index");
  if (want.type == EntryType::file) {
    const auto size = static_cast<uint64_t>(archive_entry_size(ae));
    if (size != want.size) {
      return fail("size in payload (" + std::to_string(size) + ") differs from the index (" +
                  std::to_string(want.size) + ")");
    }
  }
  if (want.type == EntryType::symlink) {
    const char* target = archive_entry_symlink_utf8(ae);
    if (target == nullptr) target = archive_entry_symlink(ae);
    if (target == nullptr || want.target != target) return fail("symlink target in payload differs from the index");
  }
  return ok_status();
}

Status copy_entry_data(struct archive* a, const IndexEntry& want, EntrySink& sink, uint64_t& done,
                       const ExtractOptions& options) {
  Hasher hasher(DigestAlgorithm::sha256);
  uint64_t seen = 0;
  for (;;) {
    if (interrupt_requested()) return interrupted_error();
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    const int rc = archive_read_data_block(a, &block, &size, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) return archive_failure(a, "entry " + printable(want.path));
    if (static_cast<uint64_t>(offset) != seen)
      return verification_error("entry " + printable(want.path) + ": sparse data is not allowed");
    seen += size;
    if (seen > want.size)
      return verification_error("entry " + printable(want.path) + ": more data than the index says");
    hasher.update(block, size);
    TRY(sink.data(block, size));
    done += size;
    if (options.on_bytes) options.on_bytes(done);
  }
  if (seen != want.size) return verification_error("entry " + printable(want.path) + ": payload data is short");
  const std::string got = hasher.finish_hex();
  if (got != want.sha256) {
    return verification_error("entry " + printable(want.path) + ": sha256 mismatch (want " + want.sha256 + ", got " +
                              got + ")");
  }
  return ok_status();
}

// One pass over the payload, entry by entry in index order.
Status stream_payload(const BundleFile& bundle, EntrySink& sink, const ExtractOptions& options) {
  const Index& index = bundle.index();
  TRY(validate_entries(index.entries, options.max_entry_size));
  PayloadSource source(bundle);
  std::unique_ptr<struct archive, ArchiveReadDeleter> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  if (archive_read_open(a.get(), &source, nullptr, payload_read_cb, nullptr) != ARCHIVE_OK) {
    TRY(source.status());
    return archive_failure(a.get(), "payload");
  }
  uint64_t done = 0;
  size_t next = 0;
  for (;;) {
    if (interrupt_requested()) return interrupted_error();
    struct archive_entry* ae = nullptr;
    const int rc = archive_read_next_header(a.get(), &ae);
    if (rc == ARCHIVE_EOF) break;
    TRY(source.status());
    if (rc != ARCHIVE_OK) return archive_failure(a.get(), "payload");
    if (next >= index.entries.size()) return verification_error("payload holds more entries than the index");
    const IndexEntry& want = index.entries[next++];
    TRY(check_header(ae, want));
    TRY(sink.begin(want));
    if (want.type == EntryType::file) {
      Status copied = copy_entry_data(a.get(), want, sink, done, options);
      if (!copied.ok()) {
        TRY(source.status());  // the decompressor's error explains libarchive's
        return copied;
      }
    }
    TRY(sink.end(want));
    if (sink.done()) return ok_status();
  }
  TRY(source.status());
  if (next != index.entries.size()) {
    return verification_error("entry " + printable(index.entries[next].path) +
                              ": listed in the index but missing from the payload");
  }
  TRY_ASSIGN(std::string got, source.finish());
  if (got != index.payload.sha256) {
    return verification_error("payload: sha256 mismatch (want " + index.payload.sha256 + ", got " + got + ")");
  }
  return ok_status();
}

Status check_target(const std::string& target) {
  struct stat st {};
  if (::lstat(target.c_str(), &st) != 0) {
    if (errno == ENOENT) return ok_status();
    return errno_error("stat", target);
  }
  if (!S_ISDIR(st.st_mode)) return make_error(target + " exists and is not a folder");
  std::error_code ec;
  if (!std::filesystem::is_empty(target, ec) || ec) return make_error(target + " exists and is not empty");
  return ok_status();
}

Status check_space(const std::string& folder, const Index& index) {
  uint64_t need = 0;
  for (const auto& entry : index.entries) need += entry.size + 4096;
  struct statvfs vfs {};
  if (::statvfs(folder.c_str(), &vfs) != 0) return errno_error("statvfs", folder);
  const uint64_t have = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (need > have) {
    return make_error("not enough space in " + folder + ": the bundle needs " + std::to_string(need >> 20) + " MiB, " +
                      std::to_string(have >> 20) + " MiB are free");
  }
  return ok_status();
}

}  // namespace

Status extract_bundle(const BundleFile& bundle, const std::string& target, const ExtractOptions& options) {
  TRY(check_target(target));
  std::string parent = std::filesystem::path(target).parent_path().string();
  if (parent.empty()) parent = ".";
  TRY(check_space(parent, bundle.index()));
  if (bundle.index().installer) TRY(bundle.verify_parts_installer_only());

  // Stage beside the target so the final rename stays on one file system, as
  // TARGET.kubeferry-staging-<pid>-XXXXXX; first remove those a killed extract left behind.
  std::filesystem::path normal = std::filesystem::path(target).lexically_normal();
  if (normal.filename().empty()) normal = normal.parent_path();
  const std::string prefix = normal.filename().string() + k_staging_infix;
  std::ignore = remove_stale_work_dirs(parent, prefix);
  auto made = make_work_dir(parent, prefix);
  if (!made.ok()) return errno_error("create staging folder for", target);
  const std::string staging = std::move(made).value();
  Status status = [&]() -> Status {
    Fd dirfd(::open(staging.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirfd.valid()) return errno_error("open", staging);
    DiskSink sink(dirfd.get(), bundle.index().created);
    TRY(stream_payload(bundle, sink, options));
    TRY(sink.finish());
    if (::fchmod(dirfd.get(), 0755) != 0) return errno_error("chmod", staging);
    if (::syncfs(dirfd.get()) != 0) return errno_error("sync", staging);
    if (::rename(staging.c_str(), target.c_str()) != 0) return errno_error("rename staging folder to", target);
    return sync_parent_dir(target);
  }();
  if (!status.ok()) std::ignore = remove_tree(staging);
  return status;
}

Status verify_payload_entries(const BundleFile& bundle, const ExtractOptions& options) {
  NullSink sink;
  return stream_payload(bundle, sink, options);
}

Result<std::string> read_bundle_file(const BundleFile& bundle, const std::string& path, uint64_t max_size) {
  bool found = false;
  for (const auto& entry : bundle.index().entries)
    found = found || (entry.path == path && entry.type == EntryType::file);
  if (!found) return make_error("the bundle has no file " + printable(path));
  MemorySink sink(path, max_size);
  TRY(stream_payload(bundle, sink, ExtractOptions{}));
  return sink.take();
}

}  // namespace bundlespec
