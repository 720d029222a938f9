#include "bundlespec/digest.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace bundlespec {

namespace {

const EVP_MD* md_for(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::sha256 ? EVP_sha256() : EVP_sha512();
}

}  // namespace

std::string_view algorithm_name(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::sha256 ? "sha256" : "sha512";
}

size_t hex_length(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::sha256 ? 64 : 128;
}

std::string Checksum::to_string() const {
  return std::string(algorithm_name(algorithm)) + ":" + hex;
}

bool is_lower_hex(std::string_view hex, size_t length) {
  if (hex.size() != length) return false;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<Checksum> parse_checksum(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return make_error("checksum '" + std::string(text) +
                      "' has no algorithm prefix (expected sha256:<hex> or sha512:<hex>)");
  }
  const std::string_view name = text.substr(0, colon);
  Checksum checksum;
  if (name == "sha256") {
    checksum.algorithm = DigestAlgorithm::sha256;
  } else if (name == "sha512") {
    checksum.algorithm = DigestAlgorithm::sha512;
  } else {
    return make_error("checksum algorithm '" + std::string(name) + "' is not supported (expected sha256 or sha512)");
  }
  std::string hex(text.substr(colon + 1));
  for (char& c : hex) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  const size_t want = hex_length(checksum.algorithm);
  if (hex.size() != want) {
    return make_error(std::string(name) + " checksum must have " + std::to_string(want) + " hex digits, got " +
                      std::to_string(hex.size()));
  }
  if (!is_lower_hex(hex, want)) {
    return make_error(std::string(name) + " checksum has a non-hex digit");
  }
  checksum.hex = std::move(hex);
  return checksum;
}

Hasher::Hasher(DigestAlgorithm algorithm) : m_algorithm(algorithm), m_ctx(EVP_MD_CTX_new()) {
  reset();
}

void Hasher::reset() {
  EVP_DigestInit_ex(m_ctx.get(), md_for(m_algorithm), nullptr);
}

void Hasher::update(const void* data, size_t size) {
  if (size > 0) EVP_DigestUpdate(m_ctx.get(), data, size);
}

std::string Hasher::finish_raw() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(m_ctx.get(), out, &length);
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::string Hasher::finish_hex() {
  return to_hex(finish_raw());
}

std::string to_hex(std::string_view raw) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    hex.push_back(k_digits[c >> 4]);
    hex.push_back(k_digits[c & 0xf]);
  }
  return hex;
}

std::string sha256_hex(std::string_view data) {
  Hasher hasher(DigestAlgorithm::sha256);
  hasher.update(data);
  return hasher.finish_hex();
}

std::string sha512_hex(std::string_view data) {
  Hasher hasher(DigestAlgorithm::sha512);
  hasher.update(data);
  return hasher.finish_hex();
}

Result<std::string> hash_file_hex(const std::string& path, DigestAlgorithm algorithm) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return make_error("open " + path + ": " + std::strerror(errno));
  Hasher hasher(algorithm);
  std::vector<char> buffer(1 << 20);
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error("read " + path + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    hasher.update(buffer.data(), static_cast<size_t>(n));
  }
  return hasher.finish_hex();
}

}  // namespace bundlespec
