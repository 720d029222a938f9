// The bundle index: what a bundle holds, signed as exact canonical-JSON bytes.
//
// FORMAT.md section "Index" is the authority; this is its one implementation.
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bundlespec/json.hpp"
#include "bundlespec/result.hpp"

namespace bundlespec {

inline constexpr int k_format_version = 1;

// Limits every reader enforces (FORMAT.md "Limits").
inline constexpr uint64_t k_max_index_size = 64ull << 20;
inline constexpr size_t k_max_entries = 1'000'000;
// Paths and symlink targets: PATH_MAX (4096) with its terminating NUL, so that every path the
// reader accepts can be created by openat()/symlinkat() (FORMAT.md 3.4).
inline constexpr size_t k_max_path = 4095;
inline constexpr size_t k_max_component = 255;
inline constexpr uint64_t k_max_entry_size = 64ull << 30;
inline constexpr size_t k_max_label = 128;  // bytes of `name` and of `platform`

// Only file, directory and symlink may appear in a valid bundle; the others exist so that a
// reader can name what it refuses and so tests can build hostile bundles.
enum class EntryType { file, directory, symlink, hardlink, char_device, block_device, fifo };

std::string_view entry_type_name(EntryType type);

// Where an entry came from, when the builder knows (artifact of the manifest).
struct Origin {
  std::string artifact;
  std::string version;
  std::string url;
  std::string checksum;  // the pinned upstream checksum, "sha256:…" or "sha512:…"
  bool operator==(const Origin&) const = default;
};

struct IndexEntry {
  std::string path;  // relative, '/'-separated, normalised (FORMAT.md "Paths")
  EntryType type = EntryType::file;
  uint32_t mode = 0644;  // permission bits only
  uint64_t size = 0;     // files only
  std::string sha256;    // files only, lowercase hex
  std::string target;    // symlinks (and hardlinks) only
  std::optional<Origin> origin;
  bool operator==(const IndexEntry&) const = default;
};

// A byte range of the container and its digest.
struct Part {
  uint64_t offset = 0;
  uint64_t size = 0;
  std::string sha256;
  bool operator==(const Part&) const = default;
};

struct Compression {
  std::string algorithm = "zstd";
  int level = 19;
  int window_log = 27;
  bool operator==(const Compression&) const = default;
};

struct Index {
  int format_version = k_format_version;
  std::string name;
  std::string platform = "linux/amd64";
  int64_t created = 0;  // seconds since the epoch (SOURCE_DATE_EPOCH), not the clock
  std::string signer;   // fingerprint of the signing key
  Compression compression;
  std::optional<Part> installer;  // absent in a bare payload file
  Part payload;
  std::vector<IndexEntry> entries;  // sorted by path, bytewise
  bool operator==(const Index&) const = default;
};

// The canonical bytes that get signed.
std::string encode_index(const Index& index);

// Parses index bytes. Fails (verification) unless the bytes are exactly the canonical encoding
// of a well-formed index, so one index has one byte string. Does not check entry safety; that
// is validate_entries().
Result<Index> decode_index(std::string_view bytes);

// Checks the rules of FORMAT.md "Entries": sorted and unique paths, normalised relative paths
// within the limits, every parent folder listed before its children as a directory, only
// file/directory/symlink, symlink targets relative and resolving inside the bundle without
// passing through another symlink, sizes within max_entry_size. Fails naming the entry.
Status validate_entries(const std::vector<IndexEntry>& entries, uint64_t max_entry_size = k_max_entry_size);

// Checks one path against the rules ("" if fine, else the reason).
std::string path_problem(std::string_view path);

// FORMAT.md 3.2, so that a name or platform printed by a reader can never hold a control
// character or forge a line: why `name` is not a valid bundle name ("" if it is). A name is
// 1-128 bytes of ASCII letters, digits, '.', '-', '_' and '+', starting with a letter or digit.
std::string name_problem(std::string_view name);
// Why `platform` is not a valid platform ("" if it is): at most 128 bytes, "os/arch" or
// "os/arch/variant", each part one or more of the bytes a name may hold.
std::string platform_problem(std::string_view platform);

// `created` as people read it, ISO 8601 in UTC ("2025-06-17T00:00:00Z"); the bare number when
// it is outside the years 0000-9999 (FORMAT.md 3.2 allows any signed 64-bit value).
std::string created_text(int64_t created);

// Bytewise path order used for entries.
inline bool path_less(const IndexEntry& a, const IndexEntry& b) {
  return a.path < b.path;
}

// Index as JSON for `list --json` (same fields as the encoding).
Json index_to_json(const Index& index);

}  // namespace bundlespec
