#include "bundlespec/writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
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

mode_t normalised_mode(const struct stat& st) {
  if (S_ISDIR(st.st_mode)) return 0755;
  if (S_ISLNK(st.st_mode)) return 0777;
  return (st.st_mode & 0111) ? 0755 : 0644;
}

// ------------------------------------------------------------------ tar (FORMAT.md 4.1)
// Every byte of the tar stream is decided here, as FORMAT.md 4.1 states it, so that a second
// implementation can match it from the document alone.

constexpr size_t k_block = 512;
constexpr uint64_t k_max_octal = 077777777777ull;  // 11 octal digits: 8 GiB - 1
constexpr size_t k_ustar_name = 100;

char type_flag(EntryType type) {
  switch (type) {
    case EntryType::file:
      return '0';
    case EntryType::hardlink:
      return '1';
    case EntryType::symlink:
      return '2';
    case EntryType::char_device:
      return '3';
    case EntryType::block_device:
      return '4';
    case EntryType::directory:
      return '5';
    case EntryType::fifo:
      return '6';
  }
  return '0';
}

// `width - 1` octal digits, zero-padded, then a NUL.
void put_octal(std::string& header, size_t offset, size_t width, uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(value));
  std::memcpy(&header[offset], text, width - 1);
  header[offset + width - 1] = '\0';
}

void put_text(std::string& header, size_t offset, size_t width, std::string_view text) {
  std::memcpy(&header[offset], text.data(), std::min(text.size(), width));
}

// One 512-byte ustar header (FORMAT.md 4.1.2).
std::string ustar_header(std::string_view name, char type, uint32_t mode, uint64_t size, uint64_t mtime,
                         std::string_view link) {
  std::string header(k_block, '\0');
  put_text(header, 0, k_ustar_name, name);
  put_octal(header, 100, 8, mode);
  put_octal(header, 108, 8, 0);
  put_octal(header, 116, 8, 0);
  put_octal(header, 124, 12, size);
  put_octal(header, 136, 12, mtime);
  std::memset(&header[148], ' ', 8);
  header[156] = type;
  put_text(header, 157, k_ustar_name, link);
  std::memcpy(&header[257],
              "ustar\0"
              "00",
              8);
  put_octal(header, 329, 8, 0);
  put_octal(header, 337, 8, 0);
  unsigned sum = 0;
  for (const char c : header) sum += static_cast<unsigned char>(c);
  char text[8];
  std::snprintf(text, sizeof text, "%06o", sum);
  std::memcpy(&header[148], text, 6);
  header[154] = '\0';  // header[155] stays ' '
  return header;
}

// "LEN KEY=VALUE\n", LEN counting the whole record, its own digits included.
std::string pax_record(std::string_view key, std::string_view value) {
  const size_t rest = key.size() + value.size() + 3;  // ' ', '=' and '\n'
  size_t length = rest + 1;
  while (std::to_string(length).size() + rest != length) length = std::to_string(length).size() + rest;
  return std::to_string(length) + " " + std::string(key) + "=" + std::string(value) + "\n";
}

// The pax records a member needs (FORMAT.md 4.1.3): none when ustar holds every value.
std::string pax_records(const std::string& name, const IndexEntry& entry, uint64_t size, uint64_t mtime) {
  const bool long_name = name.size() > k_ustar_name;
  const bool long_link = entry.target.size() > k_ustar_name;
  if (!long_name && !long_link && size <= k_max_octal && mtime <= k_max_octal) return "";
  std::string records = pax_record("hdrcharset", "BINARY");
  if (long_link) records += pax_record("linkpath", entry.target);
  if (mtime > k_max_octal) records += pax_record("mtime", std::to_string(mtime));
  if (long_name) records += pax_record("path", name);
  if (size > k_max_octal) records += pax_record("size", std::to_string(size));
  return records;
}

// Tar blocks into the zstd stream: members in index order, then the end marker.
class TarWriter {
 public:
  TarWriter(ZstdStream& zstd, uint64_t mtime) : m_zstd(zstd), m_mtime(mtime) {}

  // The header(s) of `entry`; its data follows with data() and end_data().
  Status header(const IndexEntry& entry) {
    const std::string name = entry.type == EntryType::directory ? entry.path + "/" : entry.path;
    const uint64_t size = entry.type == EntryType::file ? entry.size : 0;
    const std::string records = pax_records(name, entry, size, m_mtime);
    const uint64_t mtime_field = m_mtime > k_max_octal ? 0 : m_mtime;
    if (!records.empty()) {
      TRY(write(ustar_header("PaxHeader", 'x', 0644, records.size(), mtime_field, "")));
      TRY(write(records));
      TRY(pad(records.size()));
    }
    const bool linked = entry.type == EntryType::symlink || entry.type == EntryType::hardlink;
    return write(ustar_header(name, type_flag(entry.type), entry.mode, size > k_max_octal ? 0 : size, mtime_field,
                              linked ? std::string_view(entry.target) : std::string_view()));
  }
  Status data(const char* bytes, size_t size) { return write(std::string_view(bytes, size)); }
  Status end_data(uint64_t size) { return pad(size); }
  Status finish() { return write(std::string(2 * k_block, '\0')); }

 private:
  Status write(std::string_view bytes) {
    if (!m_zstd.write(bytes.data(), bytes.size())) return m_zstd.status();
    return ok_status();
  }
  Status pad(uint64_t size) {
    const size_t rest = static_cast<size_t>(size % k_block);
    return rest == 0 ? ok_status() : write(std::string(k_block - rest, '\0'));
  }

  ZstdStream& m_zstd;
  uint64_t m_mtime;
};

// Streams one file into the archive, hashing it unless the caller vouches for its digest; its
// size must not change while we read.
Status copy_file_data(TarWriter& tar, const SourceEntry& source, IndexEntry& entry, std::vector<char>& buffer,
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
    TRY_CTX(tar.data(buffer.data(), static_cast<size_t>(n)), "write " + entry.path);
    consumed += static_cast<uint64_t>(n);
    if (options.on_bytes) options.on_bytes(consumed);
  }
  if (copied != entry.size) return make_error(source.source_path + ": file changed size while being packed");
  entry.sha256 = hash ? hasher.finish_hex() : source.known_sha256;
  return tar.end_data(entry.size);
}

Status write_entry(TarWriter& tar, const SourceEntry& source, IndexEntry& entry, std::vector<char>& buffer,
                   const WriterOptions& options, uint64_t& consumed) {
  TRY_CTX(tar.header(entry), "write header of " + entry.path);
  if (entry.type == EntryType::file) TRY(copy_file_data(tar, source, entry, buffer, options, consumed));
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

// Writes every entry as tar (FORMAT.md 4.1) through zstd (4.2); fills in sizes and digests.
Status write_payload(const std::vector<SourceEntry>& entries, std::vector<IndexEntry>& out, OutputSink& sink,
                     const WriterOptions& options) {
  ZstdStream zstd(sink, options.compression, options.threads);
  TRY(zstd.status());
  TarWriter tar(zstd, static_cast<uint64_t>(options.epoch));
  std::vector<char> buffer(k_io_chunk);
  uint64_t consumed = 0;
  out.clear();
  out.reserve(entries.size());
  for (const auto& source : entries) {
    out.push_back(source.entry);
    TRY(write_entry(tar, source, out.back(), buffer, options, consumed));
  }
  TRY(tar.finish());
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
  if (options.epoch < 0) {
    return usage_error("creation time " + std::to_string(options.epoch) +
                       " is before 1970: it must be a non-negative number of seconds (FORMAT.md 3.2)");
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
