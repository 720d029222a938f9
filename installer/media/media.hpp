// Media parts on the target: `verify-media` checks a signed parts manifest (bundlespec/parts.hpp,
// FORMAT.md 11) and every part it lists, and `join` writes the bundle from them.
//
//   1. open_media(): find DIR/*.parts (or take X.parts), check X.parts.sig against the pinned
//      key, only then decode the manifest;
//   2. check_media(): every part's presence, size and sha256, naming each part that is
//      missing, short, too long, unreadable, damaged or holding another part's bytes, and the
//      files that `cat X.part*` would wrongly join; nothing is written;
//   3. join_media(): only after check_media() found nothing, streams the parts into a
//      temporary beside the output, hashing every part and the whole file while writing, opens
//      the result as a bundle signed by the same key, and renames it into place.
// Memory does not grow with the bundle (1 MiB buffer). Thread-safety: one caller at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bundlespec/parts.hpp"
#include "bundlespec/progress.hpp"
#include "bundlespec/result.hpp"
#include "bundlespec/signing.hpp"

namespace installer {

using bundlespec::Result;
using bundlespec::Status;

struct MediaSet {
  std::string dir;            // the folder holding the manifest and its parts
  std::string manifest_path;  // DIR/FILE.parts
  bundlespec::PartsManifest manifest;
};

// `where` is a folder holding exactly one *.parts file, or a *.parts file. Fails (usage) when
// the folder holds none or several; (verification) when FILE.parts.sig is missing or does not
// verify with `key` ("the parts manifest was changed, or signed by another key"), or when the
// manifest is malformed or names a signer other than `key`.
Result<MediaSet> open_media(const std::string& where, const bundlespec::Key& key);

struct MediaReport {
  std::vector<std::string> problems;  // one line per bad file: "NAME: missing", "NAME: short: ..."
  std::vector<std::string> recopy;    // the files to copy again, in part order
  std::vector<std::string> notes;     // not problems: "NAME: not on the medium (not needed to join)"
  uint64_t bytes = 0;                 // bytes hashed
  bool ok() const { return problems.empty(); }
};

// Checks every part (and the installer, when present) against the manifest. I/O errors of a
// part are reported as that part's problem, so a bad medium names every bad part in one run.
// Fails only on an interrupt.
Result<MediaReport> check_media(const MediaSet& media, bundlespec::Progress& progress);

// The one-line failure of a report that is not ok(): "N of M parts are not good; copy these
// again: A B ...".
std::string media_failure(const MediaSet& media, const MediaReport& report);

// Joins the parts into `output` (mode 0755), which must not exist. REQUIRES: check_media()
// found no problem. Fails (verification) when a part or the whole file does not hash as the
// manifest says while it is written, or the result is not a bundle signed by `key`; nothing is
// left at `output` or beside it on any failure.
Status join_media(const MediaSet& media, const bundlespec::Key& key, const std::string& output,
                  bundlespec::Progress& progress);

}  // namespace installer
