#include "bundlespec/container.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>
#include <vector>

#include "bundlespec/digest.hpp"
#include "bundlespec/fs.hpp"
#include "bundlespec/signing.hpp"

namespace bundlespec {

namespace {

void put_u64(std::string& out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}
void put_u32(std::string& out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}
uint64_t get_u64(std::string_view in, size_t at) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(in[at + static_cast<size_t>(i)]);
  return value;
}
uint32_t get_u32(std::string_view in, size_t at) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(in[at + static_cast<size_t>(i)]);
  return value;
}

bool add_overflows(uint64_t a, uint64_t b, uint64_t& sum) {
  return __builtin_add_overflow(a, b, &sum);
}

}  // namespace

std::string encode_trailer(const Trailer& trailer) {
  std::string out;
  out.reserve(k_trailer_size);
  put_u64(out, trailer.payload_offset);
  put_u64(out, trailer.payload_size);
  put_u64(out, trailer.index_size);
  put_u64(out, trailer.signature_size);
  out.append(16, '\0');  // reserved
  put_u32(out, trailer.format_version);
  put_u32(out, static_cast<uint32_t>(k_trailer_size));
  out.append(k_trailer_magic);
  return out;
}

Result<Trailer> decode_trailer(std::string_view bytes, uint64_t file_size) {
  if (file_size < k_trailer_size || bytes.size() != k_trailer_size) {
    return verification_error("trailer: file is too short to be a kubeferry bundle").with_reason(Reason::no_trailer);
  }
  if (bytes.substr(56, 8) != k_trailer_magic) {
    return verification_error("trailer: no kubeferry trailer at the end of the file (not a bundle, or truncated)")
        .with_reason(Reason::no_trailer);
  }
  Trailer trailer;
  trailer.format_version = get_u32(bytes, 48);
  // Only 1 exists: any other value is a newer writer's or damage, and the reader cannot tell
  // which (FORMAT.md 2).
  if (trailer.format_version != static_cast<uint32_t>(k_format_version)) {
    return verification_error("trailer: format version " + std::to_string(trailer.format_version) +
                              " is unknown (this program reads " + std::to_string(k_format_version) +
                              "): corrupted or newer format; check the file with its .sha256, or use a newer "
                              "kubeferry");
  }
  if (get_u32(bytes, 52) != k_trailer_size) return verification_error("trailer: wrong trailer size");
  for (size_t i = 32; i < 48; ++i) {
    if (bytes[i] != '\0') return verification_error("trailer: reserved bytes are not zero");
  }
  trailer.payload_offset = get_u64(bytes, 0);
  trailer.payload_size = get_u64(bytes, 8);
  trailer.index_size = get_u64(bytes, 16);
  trailer.signature_size = get_u64(bytes, 24);
  if (trailer.signature_size != k_signature_block_size) return verification_error("trailer: wrong signature size");
  if (trailer.index_size == 0 || trailer.index_size > k_max_index_size) {
    return verification_error("trailer: index size " + std::to_string(trailer.index_size) + " is out of range");
  }
  uint64_t end = 0;
  if (add_overflows(trailer.payload_offset, trailer.payload_size, end) || add_overflows(end, trailer.index_size, end) ||
      add_overflows(end, trailer.signature_size, end) || add_overflows(end, k_trailer_size, end) || end != file_size) {
    return verification_error("trailer: the parts it names do not add up to the file size " +
                              std::to_string(file_size) + " (truncated or appended to)");
  }
  return trailer;
}

Result<BundleFile> BundleFile::open(const std::string& path, const TrustPolicy& trust) {
  BundleFile file;
  file.m_path = path;
  file.m_fd = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.m_fd.valid()) return errno_error("open", path);
  struct stat st {};
  if (::fstat(file.m_fd.get(), &st) != 0) return errno_error("stat", path);
  if (!S_ISREG(st.st_mode)) return make_error(path + ": not a regular file");
  file.m_file_size = static_cast<uint64_t>(st.st_size);

  // 1. The trailer says where everything is.
  if (file.m_file_size < k_trailer_size)
    return verification_error("trailer: file is too short to be a kubeferry bundle").with_reason(Reason::no_trailer);
  std::string tail(k_trailer_size, '\0');
  TRY(pread_exact(file.m_fd.get(), tail.data(), tail.size(), file.m_file_size - k_trailer_size, "trailer"));
  TRY_ASSIGN(file.m_trailer, decode_trailer(tail, file.m_file_size));
  const Trailer& t = file.m_trailer;

  // 2. The signature covers the exact index bytes; check it before parsing them.
  // The signed message is the context prefix and the index bytes: read them in place, so a
  // large index is held once.
  std::string message(k_signature_context);
  message.resize(message.size() + t.index_size);
  const std::string_view index_bytes = std::string_view(message).substr(k_signature_context.size());
  const uint64_t index_offset = t.payload_offset + t.payload_size;
  TRY(pread_exact(file.m_fd.get(), message.data() + k_signature_context.size(), t.index_size, index_offset, "index"));
  std::string block(k_signature_block_size, '\0');
  TRY(pread_exact(file.m_fd.get(), block.data(), block.size(), index_offset + t.index_size, "signature"));
  TRY_ASSIGN_CTX(const Key key, public_key_from_raw(std::string_view(block).substr(0, k_ed25519_public_size)),
                 "signature");
  TRY_CTX(verify_signature(key, message, std::string_view(block).substr(k_ed25519_public_size)),
          "signature: the index was changed or the signature is corrupt");
  const std::string signer = fingerprint(key);

  // 3. The index, now known to be what the signer wrote.
  TRY_ASSIGN(file.m_index, decode_index(index_bytes));
  const Index& index = file.m_index;
  if (index.signer != signer) {
    return verification_error("signature: index names signer " + index.signer + " but was signed by " + signer);
  }
  if (trust.fingerprint && *trust.fingerprint != signer) {
    return verification_error("signer " + signer + " is not the pinned key " + *trust.fingerprint);
  }

  // 4. The unsigned trailer must agree with the signed layout. A bare payload has no installer
  // part, so its index has no "installer" object (FORMAT.md 1, 3.2).
  if (index.installer && t.payload_offset == 0) {
    return verification_error("index: a bare payload (payload_offset 0) must not have an \"installer\" object");
  }
  const uint64_t installer_size = index.installer ? index.installer->size : 0;
  if ((index.installer && index.installer->offset != 0) || index.payload.offset != installer_size ||
      index.payload.offset != t.payload_offset || index.payload.size != t.payload_size) {
    return verification_error("trailer: the layout does not match the signed index");
  }
  TRY(validate_entries(index.entries));
  return file;
}

Status BundleFile::hash_range(uint64_t offset, uint64_t size, const std::string& want, const std::string& what,
                              const std::function<void(uint64_t)>& on_bytes, uint64_t& done) const {
  Hasher hasher(DigestAlgorithm::sha256);
  std::vector<char> buffer(1 << 20);
  uint64_t left = size;
  while (left > 0) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(left, buffer.size()));
    TRY(pread_exact(m_fd.get(), buffer.data(), chunk, offset, what));
    hasher.update(buffer.data(), chunk);
    offset += chunk;
    left -= chunk;
    done += chunk;
    if (on_bytes) on_bytes(done);
  }
  const std::string got = hasher.finish_hex();
  if (got != want) return verification_error(what + ": sha256 mismatch (want " + want + ", got " + got + ")");
  return ok_status();
}

Status BundleFile::verify_parts(const std::function<void(uint64_t)>& on_bytes) const {
  uint64_t done = 0;
  if (m_index.installer) {
    TRY(hash_range(0, m_index.installer->size, m_index.installer->sha256, "installer", on_bytes, done));
  }
  return hash_range(m_index.payload.offset, m_index.payload.size, m_index.payload.sha256, "payload", on_bytes, done);
}

Status BundleFile::verify_parts_installer_only() const {
  uint64_t done = 0;
  if (!m_index.installer) return ok_status();
  return hash_range(0, m_index.installer->size, m_index.installer->sha256, "installer", {}, done);
}

}  // namespace bundlespec
