// Owning handles for C library objects and file descriptors.
//
// Each C type has one stateless deleter; Handle<T> is a move-only unique_ptr. Fd owns a POSIX
// file descriptor. Thread-safety: a handle is owned by one thread at a time.
#pragma once

#include <openssl/evp.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <utility>

namespace bundlespec {

template <typename T>
struct Deleter;

#define KF_DEFINE_DELETER(type, fn)           \
  template <>                                 \
  struct Deleter<type> {                      \
    void operator()(type* p) const { fn(p); } \
  }

KF_DEFINE_DELETER(EVP_MD_CTX, EVP_MD_CTX_free);
KF_DEFINE_DELETER(EVP_PKEY, EVP_PKEY_free);
KF_DEFINE_DELETER(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
KF_DEFINE_DELETER(BIO, BIO_free_all);
KF_DEFINE_DELETER(FILE, std::fclose);

template <typename T>
using Handle = std::unique_ptr<T, Deleter<T>>;

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
  void reset() {
    if (m_fd >= 0) {
      ::close(m_fd);
      m_fd = -1;
    }
  }
  // Closes and reports the result of close(2) (0 or -1 with errno).
  int close() { return m_fd >= 0 ? ::close(std::exchange(m_fd, -1)) : 0; }

 private:
  int m_fd = -1;
};

}  // namespace bundlespec
