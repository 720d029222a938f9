// The container: installer ELF | payload (tar, zstd) | index | signature block | trailer.
//
// FORMAT.md sections "Container", "Trailer" and "Signature" are the authority; this is their
// one implementation. BundleFile::open() checks everything that is cheap (trailer, signature,
// index, signer, layout); verify_parts() hashes the installer and payload bytes.
// Thread-safety: a BundleFile is used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "bundlespec/handles.hpp"
#include "bundlespec/index.hpp"
#include "bundlespec/result.hpp"

namespace bundlespec {

inline constexpr size_t k_trailer_size = 64;
inline constexpr std::string_view k_trailer_magic = "KFBUNDLE";
inline constexpr size_t k_signature_block_size = 96;  // raw Ed25519 public key | signature
// Prefix of the signed message: Ed25519 signs k_signature_context followed by the index bytes.
inline constexpr std::string_view k_signature_context = "kubeferry bundle index v1\n";

struct Trailer {
  uint64_t payload_offset = 0;
  uint64_t payload_size = 0;
  uint64_t index_size = 0;
  uint64_t signature_size = k_signature_block_size;
  uint32_t format_version = k_format_version;
};

std::string encode_trailer(const Trailer& trailer);
// Decodes the last k_trailer_size bytes of a file of `file_size` bytes and checks that the
// parts it names tile the file exactly. Fails (verification) naming what is wrong; a file too
// short for a trailer or without the magic fails with Reason::no_trailer (not a bundle).
Result<Trailer> decode_trailer(std::string_view bytes, uint64_t file_size);

// Who the reader trusts. Without a fingerprint, any valid signature is accepted and the caller
// decides what to do with the signer's fingerprint (bundlespec/trust.hpp: check_signer()).
// make_trust_policy() in bundlespec/trust.hpp makes one from the --pubkey/--fingerprint flags.
struct TrustPolicy {
  std::optional<std::string> fingerprint;  // canonical "SHA256:<hex>"
};

class BundleFile {
 public:
  // Opens `path` and checks trailer, signature, index encoding, signer and layout.
  // Fails with ErrorCode::verification for anything wrong with the bytes, and
  // ErrorCode::failure for I/O problems. Messages do not repeat the path; callers add it.
  // A file that carries no bundle at all fails with Reason::no_trailer.
  static Result<BundleFile> open(const std::string& path, const TrustPolicy& trust);

  // Hashes the installer part and the payload and compares them with the index.
  // `on_bytes` (may be empty) is told how many bytes were hashed so far, for progress.
  Status verify_parts(const std::function<void(uint64_t)>& on_bytes = {}) const;
  // Hashes the installer part only (extraction checks the payload as it streams).
  Status verify_parts_installer_only() const;

  const Index& index() const { return m_index; }
  const Trailer& trailer() const { return m_trailer; }
  const std::string& signer() const { return m_index.signer; }
  const std::string& path() const { return m_path; }
  int fd() const { return m_fd.get(); }
  uint64_t file_size() const { return m_file_size; }

 private:
  BundleFile() = default;
  Status hash_range(uint64_t offset, uint64_t size, const std::string& want, const std::string& what,
                    const std::function<void(uint64_t)>& on_bytes, uint64_t& done) const;

  std::string m_path;
  Fd m_fd;
  uint64_t m_file_size = 0;
  Trailer m_trailer;
  Index m_index;
};

}  // namespace bundlespec
