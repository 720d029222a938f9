// Content-addressed download cache.
//
// Layout under the root (default $XDG_CACHE_HOME/kubeferry, else ~/.cache/kubeferry):
//   <root>/sha256/<hex>         a verified file whose SHA-256 is <hex> (pinned sha256)
//   <root>/sha512/<hex>         a verified file whose SHA-512 is <hex> (pinned sha512)
//   <root>/<algo>/<hex>.meta    its sidecar: size, sha256, sha512, final URL (key=value lines)
//   <root>/partial/<algo>-<hex> an unfinished download of that checksum (resumed next time)
// Only bytes whose pinned checksum was verified ever reach <algo>/<hex>, and they arrive by
// rename(2), so a reader never sees half a file. Partial files are keyed by the checksum, not
// the URL: a resumed download may come from another mirror, and the final check catches any
// wrong prefix (then the whole partial is deleted).
//
// Cache hits are trusted by name (the file could only get there verified) and checked cheaply:
// the file's size must equal the sidecar's. CacheCheck::full also re-hashes the file (costs a
// read of every byte). A hit whose sidecar is missing (a file copied in by hand) is re-hashed
// and gets a new sidecar; a hit that fails a check is deleted and counts as a miss.
//
// Thread-safety: a Cache holds only its root path; concurrent use is safe as far as the file
// system's rename atomicity goes. Two processes downloading the same partial are kept apart by
// the downloader's flock on the partial file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "bundlespec/digest.hpp"
#include "bundlespec/result.hpp"

namespace builder {

// What the cache knows about one stored file.
struct CacheEntry {
  std::string path;  // <root>/<algo>/<hex>
  uint64_t size = 0;
  std::string sha256_hex;  // always filled
  std::string sha512_hex;  // filled when the pinned checksum is sha512 (or the file was re-hashed)
  std::string final_url;   // where the bytes came from after redirects; "" if unknown
};

enum class CacheCheck {
  size,  // trust the name; compare the size with the sidecar (default)
  full,  // re-hash every hit against its name
};

// $XDG_CACHE_HOME/kubeferry if XDG_CACHE_HOME is an absolute path, else $HOME/.cache/kubeferry.
// Fails (usage) when neither variable helps, suggesting --cache.
bundlespec::Result<std::string> default_cache_dir();

class Cache {
 public:
  // Creates <root>, <root>/sha256, <root>/sha512 and <root>/partial as needed (mode 0755).
  static bundlespec::Result<Cache> open(const std::string& root);

  const std::string& root() const { return m_root; }
  std::string entry_path(const bundlespec::Checksum& checksum) const;
  std::string partial_path(const bundlespec::Checksum& checksum) const;
  std::string partial_dir() const { return m_root + "/partial"; }

  // The stored file for `checksum`, or nullopt on a miss (see the file comment for checks).
  // Fails only on I/O errors other than "not there".
  bundlespec::Result<std::optional<CacheEntry>> lookup(const bundlespec::Checksum& checksum, CacheCheck check) const;

  // Moves `verified_file` (whose bytes the caller has verified against `checksum`; it must be on
  // the same file system, e.g. partial_path()) to entry_path(), writing the sidecar first.
  // `entry.path` is filled in. On failure the file stays where it was.
  bundlespec::Result<CacheEntry> insert(const std::string& verified_file, const bundlespec::Checksum& checksum,
                                        CacheEntry entry) const;

 private:
  explicit Cache(std::string root) : m_root(std::move(root)) {}
  bundlespec::Result<std::optional<CacheEntry>> rehash(const bundlespec::Checksum& checksum, const std::string& path,
                                                       std::string final_url) const;

  std::string m_root;
};

}  // namespace builder
