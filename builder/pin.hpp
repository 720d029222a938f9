// `kubeferry pin MANIFEST`: resolves the manifest's NOT-FOUND checksums and digests on a
// connected machine and writes them back, each marked as the user's.
//
// For every artifact whose checksum is NOT-FOUND, in manifest order:
//   1. the artifact is downloaded (mirror rules applied) and hashed, SHA-256 and SHA-512;
//   2. the checksum files upstream publishes beside it are asked for, in this order:
//      URL.sha256, URL.sha512, URL.sha256sum, and SHA256SUMS in the URL's folder. A file that
//      is there (HTTP 200) must name the download: one hash alone, or "HASH  NAME" lines of which
//      one is for the URL's file name. A hash that differs from the download's refuses the
//      whole run (ErrorCode::verification), and the manifest is left as it was;
//   3. with no checksum file found the value is unverified: refused unless
//      allow_unverified, and then the mark says so.
// For every image whose digest is NOT-FOUND: the registry's manifest (index) for NAME:TAG is
// fetched, its SHA-256 is the digest, and the registry is asked again for that digest, which
// must return the same bytes.
// Then the manifest's text is edited in place (comments and layout kept): the value replaces
// NOT-FOUND, and a `pinned_by_user: "YYYY-MM-DD how"` mark goes beside it, dated today (UTC).
// The new text is parsed as a manifest before it is written, atomically (AtomicFile).
// Nothing is written when any value could not be resolved.
//
// Thread-safety: one run at a time per thread; uses libcurl.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bundlespec/digest.hpp"
#include "bundlespec/progress.hpp"
#include "bundlespec/result.hpp"
#include "fetch.hpp"
#include "manifest.hpp"
#include "registry.hpp"

namespace builder {

// One value `pin` resolved.
struct Resolved {
  std::string name;
  bool image = false;
  bundlespec::Checksum value;
  std::string how;  // how it was checked, for the mark and the report
};

struct PinManifestOptions {
  std::string manifest_path;
  std::vector<MirrorRule> mirrors;
  std::string cacert;  // PEM CA bundle for downloads; "" = the system's
  RegistryAuth registry;
  bool allow_unverified = false;  // pin a download no checksum file confirms
  bool dry_run = false;           // resolve and report, write nothing
  std::string date;               // "YYYY-MM-DD" of the mark; "" = today (UTC)
};

struct PinReport {
  std::vector<Resolved> resolved;  // in manifest order
  bool written = false;            // false for a dry run or when nothing was NOT-FOUND
};

// Runs the whole job (see the file comment). Fails (verification) when a checksum file
// disagrees with the download, (failure) for a download or registry error or an unverified
// value without allow_unverified, (usage) for an unreadable or invalid manifest.
bundlespec::Result<PinReport> run_pin(const PinManifestOptions& options, bundlespec::Progress& progress);

// Reads a checksum file's body: the hash of `file_name`, or of the single entry when the file
// holds one hash with no name. Fails naming `url` when the body holds no usable hash for it
// (wrong length for `algorithm`, or lines for other files only).
bundlespec::Result<std::string> checksum_for(std::string_view body, std::string_view file_name,
                                             bundlespec::DigestAlgorithm algorithm, const std::string& url);

// The manifest text with every resolved value written in and marked (pure; see the file
// comment). `manifest` must be the parse of `text`; each Resolved names a NOT-FOUND entry of it.
// Fails when an entry's value is not where the manifest says (the file changed meanwhile).
bundlespec::Result<std::string> pin_text(std::string_view text, const Manifest& manifest,
                                         const std::vector<Resolved>& resolved, const std::string& date);

}  // namespace builder
