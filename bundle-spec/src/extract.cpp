#include "bundlespec/extract.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
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

// Watches the decompressed tar stream block by block, before libarchive sees it, and refuses
// what FORMAT.md 4.1 leaves out of the dialect; libarchive would accept (or silently skip) all
// of it. Keeps one header and at most one pax header in memory, whatever the member sizes.
class TarGuard {
 public:
  Status feed(const char* data, size_t size) {
    while (size > 0) {
      if (m_zero_blocks == 2) {
        return verification_error("payload: bytes after the tar end marker (at offset " + std::to_string(m_offset) +
                                  ")");
      }
      size_t take = 0;
      if (m_skip > 0) {
        take = static_cast<size_t>(std::min<uint64_t>(m_skip, size));
        if (m_in_pax) {
          const uint64_t want = m_pax_size - std::min<uint64_t>(m_pax_size, m_pax.size());
          m_pax.append(data, static_cast<size_t>(std::min<uint64_t>(want, take)));
        }
        m_skip -= take;
        if (m_skip == 0 && m_in_pax) TRY(parse_pax());
      } else {
        if (m_filled == 0) m_this_header = m_offset;
        take = std::min(size, m_header.size() - m_filled);
        std::memcpy(m_header.data() + m_filled, data, take);
        m_filled += take;
        if (m_filled == m_header.size()) {
          m_filled = 0;
          TRY(check_header());
        }
      }
      data += take;
      size -= take;
      m_offset += take;
    }
    return ok_status();
  }

  // At the end of the decompressed stream.
  Status finish() const {
    if (m_zero_blocks == 2) return ok_status();
    if (m_skip > 0 || m_filled > 0 || m_after_pax)
      return verification_error("payload: the tar archive is truncated (it ends inside a header or a member's data)");
    if (m_zero_blocks == 1) return verification_error("payload: the tar end marker is partial (one zero block of two)");
    return verification_error("payload: the tar archive has no end marker (two zero blocks)");
  }

 private:
  static constexpr uint64_t k_max_pax = 64 * 1024;

  static uint64_t round_up(uint64_t n) { return (n + 511) / 512 * 512; }

  Error refuse(const std::string& why) const {
    return verification_error("payload: tar header at offset " + std::to_string(m_this_header) + ": " + why);
  }

  Status check_header() {
    const bool zero = std::all_of(m_header.begin(), m_header.end(), [](char c) { return c == '\0'; });
    if (zero) {
      if (m_after_pax) return refuse("a pax header is not followed by the member it describes");
      ++m_zero_blocks;
      m_skip = 0;
      return ok_status();
    }
    if (m_zero_blocks == 1) return verification_error("payload: the tar end marker is partial (one zero block of two)");
    const char type = m_header[156];
    if (type == 'g') return refuse("a pax global header (type 'g') is not allowed");
    if (type == 'S') return refuse("a GNU sparse file (type 'S') is not allowed");
    if (type == '7') return refuse("a contiguous file (type '7') is not allowed");
    if (std::memcmp(m_header.data() + 257,
                    "ustar\0"
                    "00",
                    8) != 0)
      return refuse("not a POSIX ustar header (magic \"ustar\\0\" \"00\")");
    TRY_ASSIGN(uint64_t size, header_size());
    if (type == 'x') {
      if (m_after_pax) return refuse("two pax headers in a row");
      if (size > k_max_pax) return refuse("a pax header larger than " + std::to_string(k_max_pax) + " bytes");
      m_in_pax = true;
      m_pax.clear();
      m_pax_size = size;
      m_skip = round_up(size);
      m_pax_header = m_this_header;
      if (m_skip == 0) TRY(parse_pax());
      return ok_status();
    }
    if (type != '0' && type != '2' && type != '5') {
      return refuse("tar type '" + printable(std::string(1, type)) + "' is not allowed (only '0', '2', '5' and 'x')");
    }
    if (m_pax_length) size = *m_pax_length;
    m_pax_length.reset();
    m_after_pax = false;
    if (type != '0' && size != 0) return refuse("a folder or symlink with data (" + std::to_string(size) + " bytes)");
    m_skip = round_up(size);
    return ok_status();
  }

  // The ustar size field: octal digits, then NUL or space (a base-256 size needs pax "size").
  Result<uint64_t> header_size() const {
    uint64_t value = 0;
    size_t i = 124;
    while (i < 136 && m_header[i] == ' ') ++i;
    for (; i < 136 && m_header[i] >= '0' && m_header[i] <= '7'; ++i) value = value * 8 + (m_header[i] - '0');
    for (; i < 136; ++i) {
      if (m_header[i] != '\0' && m_header[i] != ' ') return refuse("size field is not octal");
    }
    return value;
  }

  // Pax records "LENGTH key=value\n"; only the keys FORMAT.md 4.1 names.
  Status parse_pax() {
    m_in_pax = false;
    m_after_pax = true;
    m_this_header = m_pax_header;
    std::string_view rest(m_pax);
    while (!rest.empty()) {
      size_t length = 0;
      size_t i = 0;
      while (i < rest.size() && i < 8 && rest[i] >= '0' && rest[i] <= '9') length = length * 10 + (rest[i++] - '0');
      if (i == 0 || i >= rest.size() || rest[i] != ' ' || length <= i + 1 || length > rest.size() ||
          rest[length - 1] != '\n') {
        return refuse("malformed pax record");
      }
      const std::string_view record = rest.substr(i + 1, length - i - 2);
      rest.remove_prefix(length);
      const size_t equals = record.find('=');
      if (equals == std::string_view::npos) return refuse("malformed pax record");
      const std::string_view key = record.substr(0, equals);
      const std::string_view value = record.substr(equals + 1);
      if (key.substr(0, 11) == "GNU.sparse.")
        return refuse("a GNU sparse file (pax record " + printable(key) + ") is not allowed");
      if (key == "size") {
        uint64_t n = 0;
        if (value.empty() || value.size() > 19) return refuse("pax size is not a number");
        for (char c : value) {
          if (c < '0' || c > '9') return refuse("pax size is not a number");
          n = n * 10 + static_cast<uint64_t>(c - '0');
        }
        m_pax_length = n;
      } else if (key != "path" && key != "linkpath" && key != "hdrcharset" && key != "mtime") {
        return refuse("pax record " + printable(key) + " is not allowed");
      }
    }
    return ok_status();
  }

  std::array<char, 512> m_header{};
  size_t m_filled = 0;
  uint64_t m_offset = 0;       // of the next byte fed
  uint64_t m_this_header = 0;  // of the header being filled or checked, for messages
  uint64_t m_pax_header = 0;
  uint64_t m_skip = 0;
  int m_zero_blocks = 0;
  bool m_in_pax = false;
  bool m_after_pax = false;
  uint64_t m_pax_size = 0;
  std::string m_pax;
  std::optional<uint64_t> m_pax_length;
};

// Decompresses the payload on its own thread while the caller parses tar and writes files,
// so that extraction uses two cores the way `zstd -dc | tar -x` does. The producer reads the
// stored bytes, hashes them (for the payload digest), and hands 1 MiB blocks of tar through a
// bounded queue; memory stays at the zstd window plus a few blocks, whatever the bundle size.
class PayloadSource {
 public:
  explicit PayloadSource(const BundleFile& bundle)
      : m_fd(bundle.fd()),
        m_start(bundle.index().payload.offset),
        m_size(bundle.index().payload.size),
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

  // FORMAT.md 4.2: the payload is exactly one zstd frame (no skippable frames) whose header
  // declares a window of 2^window_log bytes, as the index says.
  Status check_frame_header() const {
    unsigned char head[6] = {};
    const size_t n = static_cast<size_t>(std::min<uint64_t>(m_left, sizeof head));
    TRY(pread_exact(m_fd, reinterpret_cast<char*>(head), n, m_offset, "payload"));
    const uint32_t magic = n >= 4 ? static_cast<uint32_t>(head[0] | head[1] << 8 | head[2] << 16 | head[3] << 24) : 0;
    if ((magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START)
      return verification_error("payload: a zstd skippable frame at byte 0 is not allowed");
    if (n < 6 || magic != ZSTD_MAGICNUMBER) return verification_error("payload: not a zstd frame");
    const unsigned descriptor = head[4];
    if ((descriptor & 0x20) != 0) {
      return verification_error(
          "payload: the zstd frame is single-segment (no window size) but the index says window_log " +
          std::to_string(m_window_log));
    }
    const unsigned window = head[5];
    const int log = 10 + static_cast<int>(window >> 3);
    if ((window & 7) != 0) {
      return verification_error("payload: the zstd frame's window is not a power of two (2^" + std::to_string(log) +
                                " + " + std::to_string(window & 7) + "/8) but the index says window_log " +
                                std::to_string(m_window_log));
    }
    if (log != m_window_log) {
      return verification_error("payload: the zstd frame's window is 2^" + std::to_string(log) +
                                " bytes but the index says window_log " + std::to_string(m_window_log));
    }
    return ok_status();
  }

  // Called when a frame ended `at` bytes into the payload with more bytes after it.
  Status second_frame(uint64_t at) const {
    unsigned char head[4] = {};
    uint32_t magic = 0;
    if (m_size - at >= 4) {
      TRY(pread_exact(m_fd, reinterpret_cast<char*>(head), 4, m_start + at, "payload"));
      magic = static_cast<uint32_t>(head[0] | head[1] << 8 | head[2] << 16 | head[3] << 24);
    }
    if ((magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START)
      return verification_error("payload: a zstd skippable frame at byte " + std::to_string(at) + " is not allowed");
    return verification_error("payload: more than one zstd frame (a second frame starts at byte " + std::to_string(at) +
                              ")");
  }

  Status decompress_all() {
    Handle<ZSTD_DCtx> dctx(ZSTD_createDCtx());
    // The signed index says how large a window the writer used; refuse anything larger.
    ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, m_window_log);
    TRY(check_frame_header());
    TarGuard guard;
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
        if (last == 0) return second_frame(m_size - m_left - (input.size - input.pos));
        if (out.capacity() < k_read_chunk) out.reserve(k_read_chunk);
        const size_t used = out.size();
        out.resize(k_read_chunk);
        ZSTD_outBuffer output{out.data() + used, k_read_chunk - used, 0};
        last = ZSTD_decompressStream(dctx.get(), &output, &input);
        out.resize(used + output.pos);
        if (ZSTD_isError(last)) return verification_error(std::string("payload: zstd: ") + ZSTD_getErrorName(last));
        TRY(guard.feed(out.data() + used, output.pos));
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
      TRY(guard.feed(out.data() + used, output.pos));
      if (out.size() == k_read_chunk && !push(out)) return ok_status();
    }
    TRY(guard.finish());
    if (!out.empty() && !push(out)) return ok_status();
    std::lock_guard<std::mutex> lock(m_mutex);
    m_hex = hasher.finish_hex();
    return ok_status();
  }

  int m_fd;
  uint64_t m_start;  // of the payload in the file
  uint64_t m_size;   // of the payload
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
      TRY(m_file.close(entry.path));
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
  ArchiveReader a;
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
