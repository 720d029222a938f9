// Owning handles for C library objects and file descriptors: the one table of owners (BoringSSL
// base.h's BORINGSSL_MAKE_DELETER: one stateless deleter per type, move-only owners).
//
// Each C type has one stateless deleter, declared here beside the others; Handle<T> is a
// move-only unique_ptr (a shared owner uses the same deleter: std::shared_ptr<T>(p, Deleter<T>())).
// libarchive readers and writers are both `struct archive`, so they get their own types, and a
// writer's close, which writes the last blocks, is an explicit finish(). Fd owns a file
// descriptor, Pipe the two ends of a pipe. curl's handles are the builder's alone
// (builder/curl_handles.hpp): the installer never links libcurl.
// Thread-safety: a handle is owned by one thread at a time.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>
#include <zstd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "bundlespec/result.hpp"

namespace bundlespec {

template <typename T>
struct Deleter;

#define KF_DEFINE_DELETER(type, fn)           \
  template <>                                 \
  struct Deleter<type> {                      \
    void operator()(type* p) const { fn(p); } \
  }

// OpenSSL (libcrypto; SSL and SSL_CTX are libssl's, used by the installer's TLS client only).
KF_DEFINE_DELETER(EVP_MD_CTX, EVP_MD_CTX_free);
KF_DEFINE_DELETER(EVP_PKEY, EVP_PKEY_free);
KF_DEFINE_DELETER(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
KF_DEFINE_DELETER(BIO, BIO_free_all);
KF_DEFINE_DELETER(X509, X509_free);
KF_DEFINE_DELETER(X509_EXTENSION, X509_EXTENSION_free);
KF_DEFINE_DELETER(BIGNUM, BN_free);
KF_DEFINE_DELETER(SSL, SSL_free);
KF_DEFINE_DELETER(SSL_CTX, SSL_CTX_free);
// zstd.
KF_DEFINE_DELETER(ZSTD_CCtx, std::ignore = ZSTD_freeCCtx);
KF_DEFINE_DELETER(ZSTD_DCtx, std::ignore = ZSTD_freeDCtx);
// libarchive's entries (archives themselves: ArchiveReader, ArchiveWriter).
KF_DEFINE_DELETER(archive_entry, archive_entry_free);
// libc.
KF_DEFINE_DELETER(FILE, std::ignore = std::fclose);
KF_DEFINE_DELETER(DIR, std::ignore = ::closedir);
KF_DEFINE_DELETER(ifaddrs, ::freeifaddrs);

#undef KF_DEFINE_DELETER

template <typename T>
using Handle = std::unique_ptr<T, Deleter<T>>;

// Owns a libarchive reader (archive_read_new); frees it with archive_read_free.
class ArchiveReader {
 public:
  ArchiveReader() : m_archive(archive_read_new()) {}
  ~ArchiveReader() {
    if (m_archive != nullptr) std::ignore = archive_read_free(m_archive);
  }
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;

  // nullptr when archive_read_new failed (out of memory).
  struct archive* get() const {
    return m_archive;
  }

 private:
  struct archive* m_archive;
};

// Owns a libarchive writer (archive_write_new). finish() closes it, which writes the last
// blocks, and reports their errors; if finish() never ran, the destructor calls
// archive_write_fail() first, so an abandoned stream stays cut short on purpose instead of
// getting a valid end (archive.h: archive_write_fail, archive_write_free).
class ArchiveWriter {
 public:
  ArchiveWriter() : m_archive(archive_write_new()) {}
  ~ArchiveWriter() {
    if (m_archive == nullptr) return;
    if (!m_finished) std::ignore = archive_write_fail(m_archive);
    std::ignore = archive_write_free(m_archive);
  }
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;

  // nullptr when archive_write_new failed (out of memory).
  struct archive* get() const {
    return m_archive;
  }

  // archive_write_close(). Fails with "WHAT: <archive_error_string>". Runs at most once; later
  // calls succeed without doing anything. (Inline, like the rest of this header, so that code
  // using none of libarchive, such as the fuzz target, does not link it.)
  Status finish(std::string_view what) {
    if (m_finished || m_archive == nullptr) return ok_status();
    m_finished = true;
    if (archive_write_close(m_archive) == ARCHIVE_OK) return ok_status();
    const char* text = archive_error_string(m_archive);
    return make_error(std::string(what) + ": " + (text != nullptr ? text : "unknown libarchive error"));
  }
  // Marks the stream abandoned now (archive_write_fail); the destructor frees it.
  void fail() {
    if (m_archive != nullptr && !m_finished) std::ignore = archive_write_fail(m_archive);
    m_finished = true;
  }

 private:
  struct archive* m_archive;
  bool m_finished = false;
};

// Owns a file descriptor; closes it on destruction (errors ignored: call close() to see them).
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(Fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      m_fd = std::exchange(other.m_fd, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return m_fd; }
  bool valid() const { return m_fd >= 0; }
  int release() { return std::exchange(m_fd, -1); }
  // Closes without looking at the result: for descriptors only read from, and failure paths.
  void reset() {
    if (m_fd >= 0) {
      std::ignore = ::close(std::exchange(m_fd, -1));
    }
  }
  // Closes and reports close(2)'s result: "close PATH: strerror" (an NFS or quota error on a
  // file written through this descriptor shows here). The descriptor is gone either way. A
  // caller that wrote a file checks this. Succeeds on an Fd that holds nothing.
  [[nodiscard]] Status close(std::string_view path);

 private:
  int m_fd = -1;
};

// The two ends of a pipe(2), close-on-exec. read and write are closed by their Fds.
struct Pipe {
  Fd read;
  Fd write;

  // pipe2(O_CLOEXEC). Fails with "pipe for WHAT: strerror" (EMFILE, ENFILE).
  static Result<Pipe> make(std::string_view what);
};

}  // namespace bundlespec
