// Streaming SHA-256 and SHA-512 through OpenSSL EVP, and the "sha256:<hex>" notation.
//
// Upstream Kubernetes tarballs publish SHA-512 only, everything else SHA-256, so a Checksum
// names its algorithm. Thread-safety: a Hasher is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "bundlespec/handles.hpp"
#include "bundlespec/result.hpp"

namespace bundlespec {

enum class DigestAlgorithm { sha256, sha512 };

// "sha256" or "sha512".
std::string_view algorithm_name(DigestAlgorithm algorithm);
// Hex digits of a digest of this algorithm: 64 or 128.
size_t hex_length(DigestAlgorithm algorithm);

// A parsed "sha256:<64 hex>" or "sha512:<128 hex>"; hex is lowercase.
struct Checksum {
  DigestAlgorithm algorithm = DigestAlgorithm::sha256;
  std::string hex;

  std::string to_string() const;  // "sha256:<hex>"
  bool operator==(const Checksum&) const = default;
};

// Parses "sha256:<hex>" / "sha512:<hex>". Fails with a message naming what is wrong
// (unknown algorithm, wrong length, non-hex digit). Uppercase hex is accepted and lowered.
Result<Checksum> parse_checksum(std::string_view text);

// True if `hex` is exactly `length` lowercase hex digits.
bool is_lower_hex(std::string_view hex, size_t length);

class Hasher {
 public:
  explicit Hasher(DigestAlgorithm algorithm);
  Hasher(Hasher&&) = default;
  Hasher& operator=(Hasher&&) = default;

  DigestAlgorithm algorithm() const { return m_algorithm; }
  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Returns the lowercase hex digest. The hasher must not be used afterwards except reset().
  std::string finish_hex();
  // Returns the raw digest bytes.
  std::string finish_raw();
  void reset();

 private:
  DigestAlgorithm m_algorithm;
  Handle<EVP_MD_CTX> m_ctx;
};

// Digest of a whole in-memory string, as lowercase hex.
std::string sha256_hex(std::string_view data);
std::string sha512_hex(std::string_view data);

// Streams the file at `path` through a hasher; fails naming the path and strerror.
Result<std::string> hash_file_hex(const std::string& path, DigestAlgorithm algorithm);

// Lowercase hex of raw bytes.
std::string to_hex(std::string_view raw);

}  // namespace bundlespec
