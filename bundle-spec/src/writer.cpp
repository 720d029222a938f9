#include "bundlespec/writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "bundlespec/container.hpp"
#include "bundlespec/digest.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/interrupt.hpp"
#include "bundlespec/text.hpp"

namespace bundlespec {

namespace {

constexpr size_t k_io_chunk = 1 << 20;

// Receives bytes in order and appends them to the output file, keeping digests of the whole
// file and of the current part.
class OutputSink {
 public:
  explicit OutputSink(AtomicFile& file) : m_file(file) {}

  Status write(const void* data, size_t size) {
    m_whole.update(data, size);
    m_part.update(data, size);
    m_offset += size;
    return write_all(m_file.fd(), std::string_view(static_cast<const char*>(data), size), m_file.temp_path());
  }
  // Starts a new part; returns the digest of the part that ended.
  std::string next_part() {
    std::string hex = m_part.finish_hex();
    m_part.reset();
    return hex;
  }
  uint64_t offset() const { return m_offset; }
  std::string whole_hex() { return m_whole.finish_hex(); }

 private:
  AtomicFile& m_file;
  Hasher m_whole{DigestAlgorithm::sha256};
  Hasher m_part{DigestAlgorithm::sha256};
  uint64_t m_offset = 0;
};

// libarchive writes tar blocks here; they are compressed with zstd into the sink.
class ZstdStream {
 public:
  ZstdStream(OutputSink& sink, const Compression& compression, int threads)
      : m_sink(sink), m_out(ZSTD_CStreamOutSize()) {
    m_cctx.reset(ZSTD_createCCtx());
    // Workers >= 1 always: zstd's multithreaded output does not depend on the worker count,
    // but differs from single-threaded mode, so never use 0 (FORMAT.md "Reproducibility").
    const int workers = threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
    set(ZSTD_c_compressionLevel, compression.level);
    set(ZSTD_c_windowLog, compression.window_log);
    set(ZSTD_c_enableLongDistanceMatching, 1);
    set(ZSTD_c_checksumFlag, 0);
    set(ZSTD_c_nbWorkers, workers);
  }

  Status status() const { return m_status; }

  bool write(const void* data, size_t size) {
    ZSTD_inBuffer in{data, size, 0};
    while (in.pos < in.size) {
      if (!drain(in, ZSTD_e_continue)) return false;
    }
    return true;
  }

  Status finish() {
    ZSTD_inBuffer in{nullptr, 0, 0};
    for (;;) {
      ZSTD_outBuffer out{m_out.data(), m_out.size(), 0};
      const size_t left = ZSTD_compressStream2(m_cctx.get(), &out, &in, ZSTD_e_end);
      if (ZSTD_isError(left)) return make_error(std::string("zstd: ") + ZSTD_getErrorName(left));
      TRY(m_sink.write(m_out.data(), out.pos));
      if (left == 0) return ok_status();
    }
  }

 private:
  void set(ZSTD_cParameter parameter, int value) {
    const size_t rc = ZSTD_CCtx_setParameter(m_cctx.get(), parameter, value);
    if (ZSTD_isError(rc) && m_status.ok())
      m_status = make_error(std::string("zstd parameter: ") + ZSTD_getErrorName(rc));
  }

  bool drain(ZSTD_inBuffer& in, ZSTD_EndDirective mode) {
    ZSTD_outBuffer out{m_out.data(), m_out.size(), 0};
    const size_t rc = ZSTD_compressStream2(m_cctx.get(), &out, &in, mode);
    if (ZSTD_isError(rc)) {
      m_status = make_error(std::string("zstd: ") + ZSTD_getErrorName(rc));
      return false;
    }
    if (out.pos > 0) {
      Status written = m_sink.write(m_out.data(), out.pos);
      if (!written.ok()) {
        m_status = std::move(written);
        return false;
      }
    }
    return true;
  }

  OutputSink& m_sink;
  Handle<ZSTD_CCtx> m_cctx;
  std::vector<char> m_out;
  Status m_status;
};

la_ssize_t archive_write_cb(struct archive*, void* client, const void* buffer, size_t length) {
  auto* stream = static_cast<ZstdStream*>(client);
  return stream->write(buffer, length) ? static_cast<la_ssize_t>(length) : -1;
}

mode_t normalised_mode(const struct stat& st) {
  if (S_ISDIR(st.st_mode)) return 0755;
  if (S_ISLNK(st.st_mode)) return 0777;
  return (st.st_mode & 0111) ? 0755 : 0644;
}

Error archive_failure(struct archive* a, const std::string& what) {
  const char* text = archive_error_string(a);
  return make_error(what + ": " + (text ? text : "libarchive error"));
}

unsigned tar_type(EntryType type) {
  switch (type) {
    case EntryType::file:
      return AE_IFREG;
    case EntryType::directory:
      return AE_IFDIR;
    case EntryType::symlink:
      return AE_IFLNK;
    case EntryType::hardlink:
      return AE_IFREG;
    case EntryType::char_device:
      return AE_IFCHR;
    case EntryType::block_device:
      return AE_IFBLK;
    case EntryType::fifo:
      return AE_IFIFO;
  }
  return AE_IFREG;
}

// Streams one file into the archive, hashing it unless the caller vouches for its digest; its
// size must not change while we read.
Status copy_file_data(struct archive* a, const SourceEntry& source, IndexEntry& entry, std::vector<char>& buffer,
                      const WriterOptions& options, uint64_t& consumed) {
  Fd fd(::open(source.source_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return errno_error("open", source.source_path);
  Hasher hasher(DigestAlgorithm::sha256);
  const bool hash = source.known_sha256.empty();
  uint64_t copied = 0;
  for (;;) {
    if (interrupt_requested()) return interrupted_error();
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read", source.source_path);
    }
    if (n == 0) break;
    copied += static_cast<uint64_t>(n);
    if (copied > entry.size) break;
    if (hash) hasher.update(buffer.data(), static_cast<size_t>(n));
    if (archive_write_data(a, buffer.data(), static_cast<size_t>(n)) != n) {
      return archive_failure(a, "write " + entry.path);
    }
    consumed += static_cast<uint64_t>(n);
    if (options.on_bytes) options.on_bytes(consumed);
  }
  if (copied != entry.size) return make_error(source.source_path + ": file changed size while being packed");
  entry.sha256 = hash ? hasher.finish_hex() : source.known_sha256;
  return ok_status();
}

Status write_entry(struct archive* a, const SourceEntry& source, IndexEntry& entry, std::vector<char>& buffer,
                   const WriterOptions& options, uint64_t& consumed) {
  const Handle<archive_entry> ae(archive_entry_new());
  // Raw bytes, not the *_utf8 setters: those convert through the process locale, which fails
  // for non-ASCII names under the C locale. The index already holds valid UTF-8 (FORMAT.md 3.1).
  archive_entry_set_pathname(ae.get(), entry.path.c_str());
  archive_entry_set_filetype(ae.get(), tar_type(entry.type));
  archive_entry_set_perm(ae.get(), entry.mode);
  archive_entry_set_mtime(ae.get(), options.epoch, 0);
  archive_entry_set_uid(ae.get(), 0);
  archive_entry_set_gid(ae.get(), 0);
  archive_entry_set_size(ae.get(), entry.type == EntryType::file ? static_cast<la_int64_t>(entry.size) : 0);
  if (entry.type == EntryType::symlink) archive_entry_set_symlink(ae.get(), entry.target.c_str());
  if (entry.type == EntryType::hardlink) archive_entry_set_hardlink(ae.get(), entry.target.c_str());
  if (archive_write_header(a, ae.get()) != ARCHIVE_OK) return archive_failure(a, "write header of " + entry.path);
  if (entry.type == EntryType::file) TRY(copy_file_data(a, source, entry, buffer, options, consumed));
  return ok_status();
}

Status copy_installer(const std::string& path, OutputSink& sink, std::vector<char>& buffer) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open installer", path);
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read installer", path);
    }
    if (n == 0) return ok_status();
    TRY(sink.write(buffer.data(), static_cast<size_t>(n)));
  }
}

// Writes every entry as pax-restricted tar through zstd; fills in sizes and digests.
Status write_payload(const std::vector<SourceEntry>& entries, std::vector<IndexEntry>& out, OutputSink& sink,
                     const WriterOptions& options) {
  ZstdStream zstd(sink, options.compression, options.threads);
  TRY(zstd.status());
  ArchiveWriter a;
  archive_write_set_format_pax_restricted(a.get());
  // Names go into pax headers as the bytes given, never through the locale's charset, so the
  // output is the same under any locale ("hdrcharset=BINARY" marks such headers).
  if (archive_write_set_format_option(a.get(), "pax", "hdrcharset", "BINARY") != ARCHIVE_OK) {
    return archive_failure(a.get(), "set pax hdrcharset");
  }
  archive_write_add_filter_none(a.get());
  archive_write_set_bytes_per_block(a.get(), static_cast<int>(k_io_chunk));
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open2(a.get(), &zstd, nullptr, archive_write_cb, nullptr, nullptr) != ARCHIVE_OK) {
    return archive_failure(a.get(), "start payload");
  }
  std::vector<char> buffer(k_io_chunk);
  uint64_t consumed = 0;
  out.clear();
  out.reserve(entries.size());
  for (const auto& source : entries) {
    out.push_back(source.entry);
    Status status = write_entry(a.get(), source, out.back(), buffer, options, consumed);
    if (!status.ok()) {
      a.fail();
      TRY(zstd.status());
      return status;
    }
  }
  Status finished = a.finish("finish payload");
  if (!finished.ok()) {
    TRY(zstd.status());
    return finished;
  }
  TRY(zstd.status());
  return zstd.finish();
}

Status scan_into(const std::filesystem::path& root, const std::string& relative, std::vector<SourceEntry>& out) {
  const std::string full = relative.empty() ? root.string() : (root / relative).string();
  std::error_code ec;
  std::filesystem::directory_iterator it(full, ec);
  if (ec) return make_error("read folder " + full + ": " + ec.message());
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::string rel = relative.empty() ? name : relative + "/" + name;
    const std::string path = it->path().string();
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return errno_error("stat", path);
    SourceEntry source;
    source.entry.path = rel;
    source.entry.mode = normalised_mode(st);
    if (S_ISDIR(st.st_mode)) {
      source.entry.type = EntryType::directory;
      out.push_back(source);
      TRY(scan_into(root, rel, out));
    } else if (S_ISREG(st.st_mode)) {
      source.entry.type = EntryType::file;
      source.entry.size = static_cast<uint64_t>(st.st_size);
      source.source_path = path;
      out.push_back(std::move(source));
    } else if (S_ISLNK(st.st_mode)) {
      source.entry.type = EntryType::symlink;
      std::vector<char> target(static_cast<size_t>(st.st_size) + 1);
      const ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      if (n < 0) return errno_error("readlink", path);
      source.entry.target.assign(target.data(), static_cast<size_t>(n));
      out.push_back(std::move(source));
    } else {
      return make_error(path + ": only files, folders and symlinks can be packed");
    }
  }
  if (ec) return make_error("read folder " + full + ": " + ec.message());
  return ok_status();
}

}  // namespace

Result<std::vector<SourceEntry>> scan_directory(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return errno_error("stat", dir);
  if (!S_ISDIR(st.st_mode)) return make_error(dir + ": not a folder");
  std::vector<SourceEntry> entries;
  TRY(scan_into(dir, "", entries));
  std::sort(entries.begin(), entries.end(),
            [](const SourceEntry& a, const SourceEntry& b) { return a.entry.path < b.entry.path; });
  return entries;
}

Result<WriteResult> write_bundle(const std::vector<SourceEntry>& entries, const Key& key, const WriterOptions& options,
                                 const std::string& output) {
  // FORMAT.md 3.2: a reader refuses any other name or platform, so never write one.
  if (const std::string problem = name_problem(options.name); !problem.empty()) {
    return usage_error("bundle name '" + printable(options.name) + "' " + problem);
  }
  if (const std::string problem = platform_problem(options.platform); !problem.empty()) {
    return usage_error("platform '" + printable(options.platform) + "' " + problem);
  }
  TRY_ASSIGN(AtomicFile file, AtomicFile::create(output, 0755, Overwrite::yes));
  OutputSink sink(file);
  std::vector<char> buffer(k_io_chunk);
  WriteResult result;
  Index& index = result.index;
  index.name = options.name;
  index.platform = options.platform;
  index.created = options.epoch;
  index.signer = fingerprint(key);
  index.compression = options.compression;

  // 1. The installer, byte for byte, so that running the file runs it.
  if (!options.installer_path.empty()) {
    TRY(copy_installer(options.installer_path, sink, buffer));
    // An installer of 0 bytes would make a bare payload with an "installer" object, which
    // readers refuse (FORMAT.md 3.2).
    if (sink.offset() == 0) {
      return make_error("installer " + options.installer_path + " is empty (leave it out to write a bare payload)");
    }
    index.installer = Part{0, sink.offset(), sink.next_part()};
  }
  // 2. The payload: tar entries in index order, compressed.
  const uint64_t payload_offset = sink.offset();
  TRY(write_payload(entries, index.entries, sink, options));
  index.payload = Part{payload_offset, sink.offset() - payload_offset, sink.next_part()};
  // 3. Index, signature block and trailer.
  const std::string index_bytes = encode_index(index);
  std::string message(k_signature_context);
  message += index_bytes;
  TRY_ASSIGN(std::string signature, sign(key, message));
  TRY(sink.write(index_bytes.data(), index_bytes.size()));
  const std::string block = raw_public_key(key) + signature;
  TRY(sink.write(block.data(), block.size()));
  Trailer trailer;
  trailer.payload_offset = payload_offset;
  trailer.payload_size = index.payload.size;
  trailer.index_size = index_bytes.size();
  const std::string trailer_bytes = encode_trailer(trailer);
  TRY(sink.write(trailer_bytes.data(), trailer_bytes.size()));
  if (interrupt_requested()) return interrupted_error();
  TRY(file.commit());
  result.file_size = sink.offset();
  result.file_sha256 = sink.whole_hex();
  return result;
}

Status write_checksum_files(const std::string& output, const std::string& file_sha256, const Key& key) {
  const std::string line = file_sha256 + "  " + std::filesystem::path(output).filename().string() + "\n";
  TRY_ASSIGN(std::string signature, sign(key, line));
  TRY(write_file_atomic(output + ".sha256", line, 0644, Overwrite::yes));
  return write_file_atomic(output + ".sha256.sig", signature, 0644, Overwrite::yes);
}

Result<WriteResult> pack_directory(const std::string& dir, const Key& key, const WriterOptions& options,
                                   const std::string& output) {
  TRY_ASSIGN(std::vector<SourceEntry> entries, scan_directory(dir));
  std::vector<IndexEntry> plain;
  plain.reserve(entries.size());
  for (const auto& source : entries) plain.push_back(source.entry);
  TRY_CTX(validate_entries(plain), "pack " + dir);
  TRY_ASSIGN(WriteResult result, write_bundle(entries, key, options, output));
  TRY(write_checksum_files(output, result.file_sha256, key));
  return result;
}

}  // namespace bundlespec
