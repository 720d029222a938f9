// `kubeferry diff A.run B.run`: what changed between two bundles, from their signed indexes and
// their bundle.lock files, without extracting anything (the lock is read from the payload
// stream; nothing is written to disk).
//
// Sections, in this order: the bundles themselves (name, signer, platform, installer,
// compression), artifacts of the lock (added, removed, version, upstream checksum or URL
// changed), images of the lock (by digest), files of the index (added, removed, content, mode,
// type or link target changed), and the size change.
// Thread-safety: pure functions over two opened bundles.
#pragma once

#include <string>
#include <vector>

#include "bundlespec/container.hpp"
#include "bundlespec/json.hpp"
#include "bundlespec/result.hpp"

namespace builder {

struct DiffSide {
  std::string path;
  std::string name;
  std::string signer;
  bool pinned = false;
  uint64_t size = 0;
  bool has_lock = false;
};

struct Difference {
  std::string section;  // "bundle", "artifact", "image", "file"
  std::string change;   // "added", "removed", "changed"
  std::string name;     // field, artifact, image name or path
  std::string detail;   // "version v1.20.11 -> v1.20.12", "mode 0644 -> 0755"
};

struct BundleDiff {
  DiffSide a, b;
  std::vector<Difference> differences;
  bool identical() const { return differences.empty(); }
};

// The differences between two bundles' indexes and (when both carry one) their locks.
// `lock_a`/`lock_b` are the parsed bundle.lock files, or null JSON when a bundle has none.
BundleDiff diff_bundles(const bundlespec::BundleFile& a, const bundlespec::Json& lock_a,
                        const bundlespec::BundleFile& b, const bundlespec::Json& lock_b);

// One line per difference, after a header line per bundle, then the summary.
std::string format_diff(const BundleDiff& diff);
bundlespec::Json diff_json(const BundleDiff& diff);

}  // namespace builder
