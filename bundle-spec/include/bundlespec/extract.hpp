// The verifying streaming reader and safe extraction.
//
// extract_bundle() decompresses the payload once, checks every tar entry against the next
// entry of the signed index (path, type, mode, size, sha256), writes it into a fresh staging
// folder beside the target, checks the payload digest at the end, and only then renames the
// staging folder to the target. On any failure the staging folder is removed and the target is
// untouched. FORMAT.md "Reading" is the authority.
// Thread-safety: one call per BundleFile at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "bundlespec/container.hpp"
#include "bundlespec/result.hpp"

namespace bundlespec {

struct ExtractOptions {
  uint64_t max_entry_size = k_max_entry_size;
  // Called with payload bytes (uncompressed) written so far, for progress; may be empty.
  std::function<void(uint64_t)> on_bytes;
};

// The staging folder is TARGET.kubeferry-staging-<pid>-XXXXXX beside the target.
inline constexpr const char* k_staging_infix = ".kubeferry-staging-";

// REQUIRES: `bundle` came from BundleFile::open (signature and index already checked).
// `target` must not exist, or be an empty folder. Also hashes the installer part first.
// Staging folders of this target left by an extract that was killed (their process is gone)
// are removed first (bundlespec/fs.hpp remove_stale_work_dirs), and only those.
Status extract_bundle(const BundleFile& bundle, const std::string& target, const ExtractOptions& options);

// Streams the payload and checks every entry against the index without writing anything.
Status verify_payload_entries(const BundleFile& bundle, const ExtractOptions& options);

// Reads one file entry of the bundle into memory (at most max_size bytes), checking its digest.
// Decompresses the payload only up to that entry.
Result<std::string> read_bundle_file(const BundleFile& bundle, const std::string& path, uint64_t max_size);

}  // namespace bundlespec
