// The deterministic bundle writer: a tree of entries -> one signed container file.
//
// Output is a function of the entries' paths, types, modes, contents and targets, the
// options and the key; nothing else (not mtimes, owners, creation order, thread count).
// FORMAT.md "Payload" and "Reproducibility" are the authority.
// Thread-safety: write_bundle() uses zstd worker threads internally; call it from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bundlespec/index.hpp"
#include "bundlespec/result.hpp"
#include "bundlespec/signing.hpp"

namespace bundlespec {

// One entry to write: its index fields (sha256 is computed while writing) and, for files,
// where to read the bytes.
struct SourceEntry {
  IndexEntry entry;
  std::string source_path;  // files: the file on disk to copy
  // Files: the SHA-256 (lowercase hex) of source_path when the caller has already verified it,
  // e.g. a file in a content-addressed cache named by that digest. The writer then records it
  // without hashing the bytes again. A wrong value cannot make a bundle install wrong bytes:
  // every reader checks each file against the index (FORMAT.md 5), so it fails there by name.
  std::string known_sha256;
};

struct WriterOptions {
  std::string name;
  std::string platform = "linux/amd64";
  int64_t epoch = 0;           // mtime of every entry and the index's "created"
  Compression compression;     // level and window_log (long-distance matching is always on)
  int threads = 0;             // zstd workers; 0 = number of CPUs. Does not change the output.
  std::string installer_path;  // the static installer to put in front; empty = bare payload
  // Called with the number of input bytes consumed so far (for progress); may be empty.
  std::function<void(uint64_t)> on_bytes;
};

struct WriteResult {
  Index index;
  uint64_t file_size = 0;
  std::string file_sha256;  // of the whole output file
};

// Walks `dir` without following symlinks and returns its entries sorted by path, with modes
// normalised (folders 0755, files 0755 if any execute bit is set else 0644, symlinks 0777).
// Fails naming the path for anything but files, folders and symlinks, or an unreadable entry.
Result<std::vector<SourceEntry>> scan_directory(const std::string& dir);

// Writes the container to `output` through a temporary file renamed into place at the end, so
// a failure (or an interrupt, via `interrupted`) leaves nothing at `output`. The output is
// mode 0755. REQUIRES: entries sorted by path. Does not validate entry safety (tests use this
// to build hostile bundles); pack_directory() does.
Result<WriteResult> write_bundle(const std::vector<SourceEntry>& entries, const Key& key, const WriterOptions& options,
                                 const std::string& output);

// Writes OUTPUT.sha256 ("<hex>  <basename>\n", as sha256sum prints it) and OUTPUT.sha256.sig
// (raw Ed25519 signature of the .sha256 file's bytes, checkable with
// `openssl pkeyutl -verify -pubin -inkey KEY.pub -rawin -in OUTPUT.sha256 -sigfile OUTPUT.sha256.sig`).
Status write_checksum_files(const std::string& output, const std::string& file_sha256, const Key& key);

// scan_directory + validate_entries + write_bundle + write_checksum_files.
Result<WriteResult> pack_directory(const std::string& dir, const Key& key, const WriterOptions& options,
                                   const std::string& output);

}  // namespace bundlespec
